"""The character-class checks of the CL path (qtsmtp.cl.charset, entries' labels,
messages.printable) against the regular expressions they replace (4733d95): the same
answer for a table of edge cases and for generated text."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qtsmtp import messages
from qtsmtp.cl import binder, charset
from qtsmtp.config import entries

REFERENCE = {
    "command name": re.compile(r"[A-Z$#@][A-Z0-9$#@_]{0,9}\Z"),
    "label": re.compile(r"([A-Za-z$#@][A-Za-z0-9$#@_]{0,9}):\Z"),
    "name": re.compile(r"[A-Z$#@][A-Z0-9$#@_.]*\Z"),
    "generic": re.compile(r"[A-Z$#@][A-Z0-9$#@_.]*\*?\Z"),
    "integer": re.compile(r"[+-]?\d+\Z"),
    "decimal": re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)\Z"),
    "dns label": re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z"),
}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check(kind: str, text: str) -> bool:
    return {
        "command name": lambda: charset.made_of(text, charset.NAME_START, charset.NAME_REST, 10),
        "label": lambda: text.endswith(":") and charset.made_of(
            text[:-1], charset.LABEL_START, charset.LABEL_REST, 10),
        "name": lambda: binder._is_name(text, generic=False),
        "generic": lambda: binder._is_name(text, generic=True),
        "integer": lambda: charset.is_integer(text),
        "decimal": lambda: charset.is_decimal(text),
        "dns label": lambda: entries._is_label(text),
    }[kind]()


def old_printable(text: str) -> str:
    def escaped(match):
        char = match.group()
        named = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}
        if char in named:
            return named[char]
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        if code < 0x100:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}"
    return UNSAFE.sub(escaped, text)


EDGES = ["", "A", "a", "A1", "1A", "$A", "#", "@@", "A_B", "A.B", "A*", "A**", "*", "A*B",
         "ABCDEFGHIJ", "ABCDEFGHIJK", "ABCDEFGHI:", "ABCDEFGHIJ:", "ABCDEFGHIJK:", "A:", ":",
         "a:", "A::", "A: ", "A\n", "A\n:", "Ä", "ÄB", "AÄ", "1", "+1", "-1", "+", "-", "1.",
         ".1", ",5", "1,5", "1.5", "1.5.", "1..5", "+.5", "-,", "١٢", "１２", "1 ", " 1", "1e5",
         "a-b", "-ab", "ab-", "a" * 63, "a" * 64, "xn--d1a", "é", "a_b", "\x00", "A\x7fB",
         "\t", "\x85", "\u00a0", "\u2028", "\ud800", "\udc80", "x\x9fy", "plain text"]
texts = st.one_of(st.text(max_size=14),
                  st.text(alphabet="AZaz09$#@_.*:+-,é١ \n\x00\x7f\x85", max_size=14))


@pytest.mark.parametrize("kind", sorted(REFERENCE))
def test_edges_match_the_regular_expressions(kind):
    for text in EDGES:
        assert check(kind, text) == bool(REFERENCE[kind].match(text)), (kind, text)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(sorted(REFERENCE)), texts)
def test_generated_text_matches_the_regular_expressions(kind, text):
    assert check(kind, text) == bool(REFERENCE[kind].match(text))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(max_size=30), st.sampled_from(EDGES)))
def test_controls_and_printable_as_before(text):
    found = CONTROL.search(text)
    assert charset.first_of(text, charset.C0_AND_DEL) == (found.start() if found else None)
    # As before, but that every other character str.isprintable refuses is escaped too
    # (U+2028, U+202E, U+00A0 ... went through before: a line break to str.splitlines,
    # text turned around on a terminal).
    shown = messages.printable(text)
    assert shown.isprintable() and len(shown.splitlines()) <= 1
    others = {c for c in old_printable(text) if not c.isprintable()}
    assert shown == old_printable(text).translate({ord(c): messages._escaped(c) for c in others})


@pytest.mark.parametrize(("text", "shown"), [
    ("a\u2028b", "a\\u2028b"), ("a\u2029b", "a\\u2029b"), ("x\u202ey", "x\\u202ey"),
    ("no\u00a0break", "no\\xa0break"), ("\U000e0001", "\\U000e0001"),
    ("\x85\r\n\t\x00", "\\x85\\r\\n\\t\\x00"), ("\udc80", "\\x80"), ("\ud800", "\\ud800"),
    ("Zürich 北京", "Zürich 北京")])
def test_printable_escapes_what_str_isprintable_refuses(text, shown):
    assert messages.printable(text) == shown
    assert messages.printable(text * 3) == shown * 3      # the second time from the table


def test_printable_keeps_a_bounded_table_whatever_a_client_sends():
    private_use = "".join(map(chr, range(0xE000, 0xF8FF)))
    for start in range(0, len(private_use), 100):
        text = private_use[start:start + 100] + "\x00"
        assert messages.printable(text) == text.encode("unicode_escape").decode()
    assert len(messages._ESCAPES) <= messages._ESCAPES_KEPT
    assert messages.printable("\u2028\t") == "\\u2028\\t"


def test_a_stream_of_distinct_characters_leaves_printable_as_cheap_as_before():
    # A server job lives long: what one client sent must not make every later line cost
    # more. Measured without a clock: the Python calls printable makes for a line of
    # 500 characters with CR LF in it, after a client sent 5,000 distinct characters
    # str.isprintable refuses (a table that kept the first 4,096 it saw then looked up
    # every other character of every line in Python, __missing__, one call each).
    program = """if True:
        import sys
        from qtsmtp import messages
        for start in range(0xE000, 0xE000 + 5000, 100):
            messages.printable("".join(map(chr, range(start, start + 100))))
        line = "HELO x\\r\\n" + "Zürich 北京 Grüße " * 30
        calls = []
        sys.setprofile(lambda frame, event, arg: calls.append(event) if event == "call" else None)
        shown = messages.printable(line)
        sys.setprofile(None)
        assert shown.isprintable() and "\\\\r\\\\n" in shown, shown
        print(len(calls))
    """
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 20, done.stdout


DELETED_LINE = re.compile(r"^# *(?:\r\n|\n|\Z)", re.MULTILINE)
member_text = st.lists(st.sampled_from(["#", "# ", "#   ", "#x", " #", "# \r", "#\r", "# \r\r",
                                        "10.1.1.1 255.255.255.255", "", "\r", "# a", "#\t"]),
                       max_size=12)


@settings(max_examples=3000, deadline=None)
@given(member_text, st.booleans())
def test_deleted_records_are_taken_out_as_before(lines, final_break):
    from qtsmtp.config.lists import without_deleted_records
    text = "\n".join(lines) + ("\n" if final_break and lines else "")
    assert without_deleted_records(text) == DELETED_LINE.subn("", text), text
