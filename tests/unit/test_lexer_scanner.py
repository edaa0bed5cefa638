"""The CL lexer's scanner against the regular expression it replaced (the lexer of 4733d95,
kept here as the reference): the same tokens (kind, text, position, attached) or the same
CL error (message IDs and texts), for a corpus of CL and for generated text."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qtsmtp.cl.lexer import (
    LPAREN,
    MAX_COMMAND_LENGTH,
    QNAME,
    RPAREN,
    STRING,
    WORD,
    logical_lines,
    tokenize,
)
from qtsmtp.messages import CLError, Message

ROOT = Path(__file__).resolve().parents[2]

# --- the reference: the lexer as it was, with its regular expression -----------------

_TOKEN = re.compile(r"""
    (?P<blank>[ \t\f\v\r\n]+)
  | (?P<comment>/\*.*?\*/)
  | (?P<open_comment>/\*)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qname>"(?:[^"]|"")*")
  | (?P<open_quote>['"])
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<word>[^ \t\f\v\r\n()'"]+)
""", re.VERBOSE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_OPERATOR_CHARS = frozenset("|<>=+-*/&\u00ac!")


def _syntax(msgid, *data):
    return CLError([Message(msgid, *data)])


def _shown(text, at):
    around = text[max(0, at - 10):at + 10]
    return around.encode("unicode_escape").decode("ascii")


def reference_tokenize(text: str, program: bool = False) -> list[tuple]:
    if len(text) > MAX_COMMAND_LENGTH:
        raise _syntax("CPD0040")
    bad = _CONTROL.search(text)
    if bad:
        raise _syntax("CPD0018", _shown(text, bad.start()))
    tokens = []
    end = len(text)
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "blank" or kind == "comment":
            continue
        pos, nxt = m.span()
        if kind == "word":
            word = m.group()
            if nxt < end and text[nxt] in "'\"" and not (program and word[-1] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], word)
            tokens.append((WORD, word, pos, nxt < end and text[nxt] == "("))
        elif kind == "string" or kind == "qname":
            quote = text[pos]
            value = text[pos + 1:nxt - 1].replace(quote * 2, quote)
            if nxt < end and text[nxt] not in " \t\f\v\r\n()/" and not (
                    program and text[nxt] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], m.group())
            tokens.append((STRING if quote == "'" else QNAME, value, pos,
                           nxt < end and text[nxt] == "("))
        elif kind == "lparen":
            depth += 1
            tokens.append((LPAREN, "(", pos, False))
        elif kind == "rparen":
            depth -= 1
            if depth < 0:
                raise _syntax("CPD0013")
            tokens.append((RPAREN, ")", pos, nxt < end and text[nxt] == "("))
        elif kind == "open_quote":
            raise _syntax("CPD0016", text[pos:pos + 20] + ("..." if end - pos > 20 else ""))
        elif kind == "open_comment":
            raise _syntax("CPD0017")
    if depth:
        raise _syntax("CPD0013")
    return tokens


def outcome(lex, text, program):
    try:
        return "tokens", [tuple(t) for t in lex(text, program)]
    except CLError as error:
        return "error", [(m.id, m.text) for m in error.messages]


def assert_same(text, program=False):
    assert outcome(tokenize, text, program) == outcome(reference_tokenize, text, program), text


# --- a corpus: every CL text in the repository, and cases that try the edges ----------

EDGES = [
    "", " ", "ADDSMTPLE", "ADDSMTPLE TYPE(*ACCEPT) INTNETADR('10.1.1.1')",
    "A B(C) D('x''y') E(\"q\"\"n\")", "QGPL/*ALL", "/* c */ A", "A /* c */", "A /* open",
    "/*", "/*/", "/**/", "A/*B*/C", "A /*B*/C", "'it''s", "'a''b''c", "''", "'''", "''''",
    "'abc'd", "'abc'(", "'abc'/", "'abc'+", "A'B'", "A+'B'", "'x'||&B", "&A||'x'", "'x'|",
    "(", ")", "())", "(()", "A(B(C)D)E", ")(", "A)(", "\"", "\"x", "\"x\"\"", "'x' 'y'",
    "A\tB\fC\vD\rE\nF", "A\x00B", "A\x1fB\x7fC", "\x08", "\x0e", "x" * 30 + "\x01",
    "A\x85B\u00a0C\u2028D", "é(ü)", "'" + "x" * 40, "A(" * 5 + ")" * 5, "A(" + ")" * 2,
    "CHGVAR &X VALUE('a' *CAT 'b')", "IF COND(&A *EQ 'x') THEN(DO)", "A=('x')", "'x'=",
    "x" * (MAX_COMMAND_LENGTH + 1), "'" + "x" * MAX_COMMAND_LENGTH,
]


def corpus() -> list[str]:
    texts = list(EDGES)
    for pattern in ("commands/*.cmd", "tests/**/*.clp", "tests/**/*.cl", "man/src/*.in"):
        for path in sorted(ROOT.glob(pattern)):
            source = path.read_text(encoding="utf-8", errors="surrogateescape")
            texts += [logical for _, logical in logical_lines(source)]
    return texts


@pytest.mark.parametrize("program", [False, True])
def test_the_corpus_cuts_the_same(program):
    texts = corpus()
    assert len(texts) > 200          # the definitions alone hold more
    for text in texts:
        assert_same(text, program)


# --- generated text ----------------------------------------------------------------------

piece = st.one_of(
    st.sampled_from(["(", ")", "'", "''", '"', '""', "/*", "*/", "/", "*", " ", "\t", "\n",
                     "+", "-", "|", "&", "=", "¬", "!", "\x00", "\x0b", "\x1f", "\x7f",
                     "\x85", "A", "*ACCEPT", "TYPE(", "'10.1.1.1'", "QGPL/*ALL", "'it''s"]),
    st.text(alphabet="ab'\"()/* \t|+", max_size=8),
    st.text(max_size=4),
)
cl_text = st.lists(piece, max_size=30).map("".join)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cl_text, st.booleans())
@example("'a''b'' c", False)
@example("A /* x */ 'y''", True)
def test_generated_text_cuts_the_same(text, program):
    assert_same(text, program)


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=120), st.booleans())
def test_any_unicode_cuts_the_same(text, program):
    assert_same(text, program)
