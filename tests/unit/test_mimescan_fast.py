"""The mail filters' short cuts give what the slow, sure ways give, on generated input.

config.mimescan takes a header block's ordinary lines in one slice and passes over body
lines by searching for the next one that begins with ``--``; config.headerblock splits a
plain header block into fields itself, answers from them as a Message would, and reads a
plain From: field without getaddresses. Each is checked here against the way it stands
for: the line-by-line reading (the same message fed a byte at a time, when every line
arrives in pieces and goes the long way), the email package's header parser and
Message, and email.utils.getaddresses.
"""

from __future__ import annotations

import email.policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from hypothesis import example, given, settings
from hypothesis import strategies as st

from qtsmtp.config import headerblock
from qtsmtp.config.mimescan import MimeScanner

PARSER = BytesHeaderParser(policy=email.policy.compat32)

# Lines a MIME message is made of, and lines made to trip a short cut: boundaries with
# and without their end mark or trailing blanks, folded fields, a lone "-", a line of
# CRs, an envelope "From " line, a name-less field, control and 8-bit octets.
LINES = [
    b"Content-Type: multipart/mixed; boundary=\"b1\"", b"Content-Type: multipart/alternative;",
    b" boundary=b2", b"--b1", b"--b1--", b"--b2", b"--b2--", b"--b1 \t", b"--b10",
    b"Content-Type: message/rfc822", b"Content-Type: text/plain",
    b"Content-Disposition: attachment; filename=\"a.EXE\"",
    b"Content-Type: application/octet-stream; name=x.scr", b"Subject: hi",
    b"Subject: =?utf-8?q?I_love_you?=", b"From: Joe <joe@x.test>", b"From: <a@b.test>",
    b"", b"", b"\r", b" folded", b"\tfolded", b"body text", b"-", b"--", b"---",
    b"From nobody", b": no name", b"X-A:", b"X-B: \x0b\x0c\x1c", b"X-8: \xe9\xff",
    b"no colon here", b"Content-Type: text/plain; charset=utf-8", b"Content-type: TEXT/HTML",
    b"Content-Type: text", b"Content-Type: a/b/c; name=q.exe", b"Content-Disposition: inline",
    b"Content-Type: application/pdf; NAME*0*=utf-8''a%20b; name*1=\".exe\"",
    b"Content-Transfer-Encoding: BASE64", b"Content-Type: multipart/mixed; boundary=\"b1\"; x=y",
]
ENDS = [b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r"]


@st.composite
def messages(draw) -> bytes:
    lines = draw(st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from(ENDS)),
                          max_size=40))
    return b"".join(line + end for line, end in lines) + draw(st.sampled_from([b"", b"x", b"-"]))


def facts_of(data: bytes, pieces: list[int], headers_only: bool = False):
    scanner = MimeScanner(headers_only=headers_only)
    start = 0
    for size in pieces:
        scanner.feed(data[start:start + size])
        start += size
    scanner.feed(data[start:])
    return scanner.close()


@settings(max_examples=400, deadline=None)
@given(messages(), st.lists(st.integers(1, 60), max_size=10), st.booleans())
@example(b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n"
         b"Content-Type: text/plain; name=a.exe\r\n\r\nx\r\n-", [], False)
def test_whole_runs_of_lines_read_as_line_by_line(data, pieces, headers_only):
    one_byte_at_a_time = facts_of(data, [1] * len(data), headers_only)
    assert facts_of(data, pieces, headers_only) == one_byte_at_a_time
    assert facts_of(data, [], headers_only) == one_byte_at_a_time


@st.composite
def header_blocks(draw) -> bytes:
    lines = draw(st.lists(st.tuples(st.sampled_from(LINES + [b"Subject: a: b", b"X-C:x "]),
                                    st.sampled_from(ENDS)), max_size=12))
    return b"".join(line + end for line, end in lines if line.strip(b"\r"))


@settings(max_examples=400, deadline=None)
@given(header_blocks())
@example(b"Subject:\n\tfolded\r\n")
@example(b"From nobody\r\nSubject: x\r\n")
def test_a_plain_header_block_is_read_as_the_email_package_reads_it(block):
    text = block.decode("ascii", "surrogateescape")
    plain_fields = headerblock.fields(text)
    if plain_fields is not None:
        assert plain_fields == list(PARSER.parsebytes(block).raw_items())
    read, parsed = headerblock.parse(block), PARSER.parsebytes(block)
    for name in ("subject", "from", "content-type", "content-disposition", "x-a"):
        assert read.get(name) == parsed.get(name)
        assert read.get_all(name) == parsed.get_all(name)
    assert headerblock.text(read, "subject") == headerblock.text(parsed, "subject")
    assert headerblock.addresses(read, "from") == headerblock.addresses(parsed, "from")
    assert headerblock.content_type(read) == headerblock.content_type(parsed)
    assert headerblock.file_name(read) == headerblock.file_name(parsed)
    assert headerblock.boundary(read) == headerblock.boundary(parsed)
    assert headerblock.transfer_encoding(read) == headerblock.transfer_encoding(parsed)


ATOMS = st.sampled_from(["a", "Joe", "x.y", "o'neil", "b+c", "q", "CEO", "{t}"])
DOMAINS = st.sampled_from(["b.test", "Evil.Example", "x", "a.b.c", "[1.2.3.4]", "b..c", ""])


@st.composite
def from_values(draw) -> str:
    address = f"{draw(ATOMS)}@{draw(DOMAINS)}"
    form = draw(st.sampled_from(["{a}", "<{a}>", "{n} <{a}>", "\"{n}\" <{a}>", "\"{n}\"<{a}>",
                                 "{n} {n} <{a}>", "{a} ({n})", "{n} <{a}>, {a}", "{n}: {a};",
                                 "<{a}", "\"{n}\\\" x\" <{a}>"]))
    blanks = draw(st.sampled_from(["", " ", "\t", "  "]))
    return blanks + form.format(a=address, n=draw(ATOMS)) + blanks


@settings(max_examples=400, deadline=None)
@given(from_values())
def test_a_plain_from_field_gives_what_getaddresses_gives(value):
    entity = headerblock.parse(b"From: " + value.encode() + b"\r\n")
    expected = [address for _, address in getaddresses([value]) if address]
    assert headerblock.addresses(entity, "from") == expected


def test_short_cuts_are_taken_for_the_usual_message():
    # The property tests above would pass if the short cuts were never taken.
    assert headerblock.fields("From: <a@b.test>\r\nSubject: x\r\n\ty\r\n") == [
        ("From", "<a@b.test>"), ("Subject", "x\r\n\ty")]
    block = headerblock.parse(b"Content-Type: text/plain; charset=utf-8\r\nFrom: <a@b.test>\r\n")
    assert isinstance(block, headerblock.PlainBlock)
    assert block.get_filename() is None and block._message is None      # no Message made
    assert headerblock.ONE_ADDRESS.fullmatch("Joe <joe@x.test>")
    scanner = MimeScanner()
    scanner._line = None             # a line-by-line step would fail here
    scanner.feed(b"From: <a@b.test>\r\nTo: <c@d.test>\r\nSubject: s\r\n")
    assert bytes(scanner._block).count(b"\r\n") == 3


def test_a_header_block_that_fills_up_reads_as_line_by_line():
    # Header lines with a CR before their CR LF (a line ends at LF only: "a\r\r\n" is
    # one line, not "a\r" and an empty one) that pass MAX_HEADER_BYTES together; what
    # comes after the block is full is dropped, "--b1" there included.
    junk = b"X-Junk: a\r\r\n" * 25_000
    data = (b"From: a@b.test\r\nContent-Type: multipart/mixed; boundary=b1\r\n" + junk
            + b"--b1\r\nContent-Type: application/x-evil; name=e.exe\r\n" + junk
            + b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nx\r\n--b1--\r\n")
    whole = facts_of(data, [])
    assert whole == facts_of(data, [1] * len(data))
    assert [p.content_type for p in whole.parts] == ["multipart/mixed", "text/plain"]
