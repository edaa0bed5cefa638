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

import re
from operator import itemgetter

from qtsmtp.messages import CLError, Message

MAX_COMMAND_LENGTH = 32702

WORD, STRING, QNAME, LPAREN, RPAREN = "word", "string", "qname", "(", ")"

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

    ``program``: the command is in a CL program, where values may be expressions."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise _syntax("CPD0040")
    bad = _CONTROL.search(text)
    if bad:
        raise _syntax("CPD0018", _shown(text, bad.start()))
    tokens: list[Token] = []
    append = tokens.append
    end = len(text)
    depth = 0
    # Every character starts one of _TOKEN's alternatives (control characters are refused
    # above), so its matches follow one another with no gap: the whole text, cut.
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "blank" or kind == "comment":
            continue
        pos, nxt = m.span()
        if kind == "word":
            word = m.group()
            if nxt < end and text[nxt] in "'\"" and not (program and word[-1] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], word)
            append(_token(Token, (WORD, word, pos, nxt < end and text[nxt] == "(")))
        elif kind == "string" or kind == "qname":
            quote = text[pos]
            value = text[pos + 1:nxt - 1].replace(quote * 2, quote)
            if nxt < end and text[nxt] not in " \t\f\v\r\n()/" and not (
                    program and text[nxt] in _OPERATOR_CHARS):
                raise _syntax("CPD0020", text[nxt], m.group())
            append(_token(Token, (STRING if quote == "'" else QNAME, value, pos,
                                  nxt < end and text[nxt] == "(")))
        elif kind == "lparen":
            depth += 1
            append(_token(Token, (LPAREN, "(", pos, False)))
        elif kind == "rparen":
            depth -= 1
            if depth < 0:
                raise _syntax("CPD0013")
            append(_token(Token, (RPAREN, ")", pos, nxt < end and text[nxt] == "(")))
        elif kind == "open_quote":
            raise _syntax("CPD0016", text[pos:pos + 20] + ("..." if end - pos > 20 else ""))
        elif kind == "open_comment":
            raise _syntax("CPD0017")
    if depth:
        raise _syntax("CPD0013")
    return tokens


def _shown(text: str, at: int) -> str:
    # Show the neighbourhood of a bad character with the character itself made visible.
    around = text[max(0, at - 10):at + 10]
    return around.encode("unicode_escape").decode("ascii")


def _syntax(msgid: str, *data) -> CLError:
    return CLError([Message(msgid, *data)])
