"""The CL lexer: source text -> logical commands -> tokens. It knows no command.

Two steps, both from IBM's rules for CL source (continuation, comments, strings):

1. ``logical_lines`` joins continued lines. A line whose last non-blank character is
   ``+`` or ``-`` goes on in the next line; ``+`` drops that line's leading blanks, ``-``
   keeps them; blanks before the sign are kept. This works inside quoted strings too
   (``'CONT+`` / ``INUED'`` is ``CONTINUED``).
2. ``tokenize`` cuts one logical command into words, quoted strings and parentheses,
   dropping blanks and ``/* comments */``. A comment can only start where a token can:
   inside a word ``/*`` is part of it, so ``QGPL/*ALL`` is one word.
"""

from __future__ import annotations

# The C module itself: operator.py (which only re-exports it) costs every CL command's
# start a module more (bench/bench_cl.py).
from _operator import itemgetter

from qtsmtp.cl.charset import first_of
from qtsmtp.messages import CLError, Message

MAX_COMMAND_LENGTH = 32702

WORD, STRING, QNAME, LPAREN, RPAREN = "word", "string", "qname", "(", ")"

# What separates tokens; a word is a run of anything else but parentheses and quotes.
_BLANKS = " \t\f\v\r\n"
_NOT_IN_WORD = frozenset(_BLANKS + "()'\"")
# Refused anywhere in a command (CPD0018): C0 controls but the blanks above, and DEL.
_CONTROLS = "".join(map(chr, [*range(0x09), *range(0x0E, 0x20), 0x7F]))
# In a CL program a string may touch an operator (`'abc'||&B`, `&A||'x'`); a command
# outside a program has no expressions, so there the same text is CPD0020.
_OPERATOR_CHARS = frozenset("|<>=+-*/&\u00ac!")


class Token(tuple):
    """One token: (kind, text, pos, attached). A tuple, so that making one (13 for
    an ADDSMTPLE line, 130,000 for a 10,000-line script) costs no Python call;
    immutable, compared and hashed as its four values."""
    __slots__ = ()

    def __new__(cls, kind: str, text: str, pos: int, attached: bool):
        return tuple.__new__(cls, (kind, text, pos, attached))

    kind = property(itemgetter(0))       # WORD, STRING, QNAME, LPAREN or RPAREN
    text = property(itemgetter(1))       # a word as typed; a string's value with '' undone
    pos = property(itemgetter(2))
    attached = property(itemgetter(3))   # immediately followed by "(": a keyword, not a value

    @property
    def quoted(self) -> bool:
        return self[0] in (STRING, QNAME)

    def __repr__(self) -> str:
        return f"Token(kind={self[0]!r}, text={self[1]!r}, pos={self[2]!r}, attached={self[3]!r})"


# Made in tokenize's loop without a call of Token.__new__.
_token = tuple.__new__


def logical_lines(source: str):
    """Yield (first physical line number, logical command text) for each command."""
    pending: list[str] = []
    pending_plus = False
    start = 0
    for number, line in enumerate(source.splitlines(), 1):
        if not pending:
            start = number
        elif pending_plus:
            line = line.lstrip(" \t")
        body = line.rstrip(" \t\r")
        if body.endswith(("+", "-")):
            pending_plus = body.endswith("+")
            pending.append(body[:-1])
            continue
        pending.append(line)
        yield start, "".join(pending)
        pending = []
        pending_plus = False
    if pending:
        yield start, "".join(pending)


def tokenize(text: str, program: bool = False) -> list[Token]:
    """The tokens of one logical command; raises CLError for text that cannot be cut.

    ``program``: the command is in a CL program, where values may be expressions.

    A scanner by hand, not a regular expression: ``re`` (with enum and functools) would
    cost every CL command's start about 5 ms (bench/bench_cl.py). At each position, in
    this order: blanks; ``/*`` a comment to the first ``*/`` (CPD0017 without one); a
    quoted string (``''`` inside is one quote; without a closing quote, the string ends
    before its last doubled quote if it has one, else CPD0016); a parenthesis; else a
    word up to a blank, a parenthesis or a quote (``/*`` inside a word is part of it).
    tests/unit/test_lexer_scanner.py compares it with the regular expression it
    replaces."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise _syntax("CPD0040")
    bad = first_of(text, _CONTROLS)
    if bad is not None:
        raise _syntax("CPD0018", _shown(text, bad))
    tokens: list[Token] = []
    append = tokens.append
    end = len(text)
    depth = 0
    pos = 0
    blanks, not_in_word = _BLANKS, _NOT_IN_WORD
    while pos < end:
        char = text[pos]
        if char in blanks:
            pos += 1
        elif char == "(":
            depth += 1
            append(_token(Token, (LPAREN, "(", pos, False)))
            pos += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise _syntax("CPD0013")
            pos += 1
            append(_token(Token, (RPAREN, ")", pos - 1, pos < end and text[pos] == "(")))
        elif char == "'" or char == '"':
            nxt = _string_end(text, pos, char)
            if nxt < 0:
                raise _syntax("CPD0016", text[pos:pos + 20] + ("..." if end - pos > 20 else ""))
            value = text[pos + 1:nxt - 1].replace(char * 2, char)
            if nxt < end and text[nxt] not in " \t\f\v\r\n()/" and not (
                    program and text[nxt] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], text[pos:nxt])
            append(_token(Token, (STRING if char == "'" else QNAME, value, pos,
                                  nxt < end and text[nxt] == "(")))
            pos = nxt
        elif char == "/" and text.startswith("*", pos + 1):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise _syntax("CPD0017")
            pos = close + 2
        else:
            nxt = pos + 1
            while nxt < end and text[nxt] not in not_in_word:
                nxt += 1
            word = text[pos:nxt]
            if nxt < end and text[nxt] in "'\"" and not (program and word[-1] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], word)
            append(_token(Token, (WORD, word, pos, nxt < end and text[nxt] == "(")))
            pos = nxt
    if depth:
        raise _syntax("CPD0013")
    return tokens


def _string_end(text: str, start: int, quote: str) -> int:
    """The end (one past the closing quote) of the string that opens at ``start``; -1
    when there is none. A doubled quote is one quote of the value; a string left open
    ends before its last doubled quote (``'it''s`` is the string ``'it'``), as the
    regular expression ``'(?:[^']|'')*'`` matches."""
    at = start + 1
    last_pair = -1
    while True:
        close = text.find(quote, at)
        if close < 0:
            return last_pair + 1 if last_pair >= 0 else -1
        if not text.startswith(quote, close + 1):
            return close + 1
        last_pair = close
        at = close + 2


def _shown(text: str, at: int) -> str:
    # Show the neighbourhood of a bad character with the character itself made visible.
    around = text[max(0, at - 10):at + 10]
    return around.encode("unicode_escape").decode("ascii")


def _syntax(msgid: str, *data) -> CLError:
    return CLError([Message(msgid, *data)])
