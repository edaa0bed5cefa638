"""The CL parser: tokens -> Statement (label, command, positional values, keywords).

Still command-agnostic: it knows the shape of CL (``LABEL: CMD pos1 pos2 KWD(v) KWD(a (b c))``)
but not which keywords a command has. That is the binder's work.
"""

from __future__ import annotations

from qtsmtp.cl.charset import LABEL_REST, LABEL_START, NAME_REST, NAME_START, made_of
from qtsmtp.cl.lexer import LPAREN, QNAME, RPAREN, STRING, WORD, Token, tokenize
from qtsmtp.messages import CLError, Message
from qtsmtp.record import Record

MAX_LIST_DEPTH = 3
# In a CL program a value may be an expression, with parentheses of its own, and a
# command may sit inside another's parameter (IF ... THEN(CHGVAR &A (&A + 1))).
MAX_PROGRAM_DEPTH = 8


# Records with __slots__ and their own __init__: made for every value of every command.
class Scalar(Record):
    __slots__ = ("text", "quoted")
    text: str
    quoted: bool

    def __init__(self, text: str, quoted: bool = False):
        self.text, self.quoted = text, quoted

    def __str__(self) -> str:
        return "'" + self.text.replace("'", "''") + "'" if self.quoted else self.text

    @property
    def is_n(self) -> bool:
        """``*N``: "no value here, use the default" (only unquoted)."""
        return not self.quoted and self.text.upper() == "*N"


class ValueList(Record):
    __slots__ = ("items",)
    items: list  # of Scalar | ValueList

    def __init__(self, items: list):
        self.items = items

    def __str__(self) -> str:
        return "(" + " ".join(str(i) for i in self.items) + ")"


class Keyword(Record):
    """``KWD(...)`` written inside a list (only a command-string value may hold one)."""
    __slots__ = ("name", "value")
    name: str
    value: ValueList

    def __init__(self, name: str, value: ValueList):
        self.name, self.value = name, value

    def __str__(self) -> str:
        return f"{self.name}{self.value}"


class Statement(Record):
    __slots__ = ("command", "label", "library", "positional", "keywords", "prompt", "line")
    command: str | None                 # upper case; None for a line that is only a label
    label: str | None
    library: str | None                 # LIB/CMD qualifier, upper case
    positional: list
    keywords: list                      # (KEYWORD, ValueList) in order written
    prompt: bool                        # ?CMD: prompt before running (selective prompting)
    line: int

    def __init__(self, command: str | None, label: str | None = None, library: str | None = None,
                 positional: list | None = None, keywords: list | None = None,
                 prompt: bool = False, line: int = 0):
        self.command, self.label, self.library = command, label, library
        self.positional = [] if positional is None else positional
        self.keywords = [] if keywords is None else keywords
        self.prompt, self.line = prompt, line

    def __str__(self) -> str:
        parts = [f"{self.label}:"] if self.label else []
        if self.command:
            parts.append(self.command)
        parts += [str(v) for v in self.positional]
        parts += [f"{k}{v}" for k, v in self.keywords]
        return " ".join(parts)


def parse(text: str, line: int = 0, program: bool = False) -> Statement | None:
    """The statement in one logical command, or None when it holds only blanks/comments.

    ``program``: the command is in a CL program (expressions allowed in values)."""
    tokens = tokenize(text, program)
    if not tokens:
        return None
    return _Parser(tokens, line, MAX_PROGRAM_DEPTH if program else MAX_LIST_DEPTH, program).statement()


class _Parser:
    def __init__(self, tokens: list[Token], line: int, max_depth: int = MAX_LIST_DEPTH,
                 program: bool = False):
        self.tokens = tokens
        self.program = program
        self.i = 0
        self.line = line
        self.max_depth = max_depth
        self.diagnostics: list[Message] = []

    def statement(self) -> Statement:
        stmt = Statement(None, line=self.line)
        first = self.tokens[0]
        if first.kind == WORD and not first.attached and first.text.endswith(":"):
            # A word ending in a colon can only be a label: a bad one is a label error,
            # not an unknown command named "TOOLONGLABEL1:".
            if not made_of(first.text[:-1], LABEL_START, LABEL_REST, 10):
                raise CLError([Message("QTS0020", first.text[:-1])])
            stmt.label = first.text[:-1].upper()
            self.i = 1
            if self.i == len(self.tokens):
                return stmt
        self._command_name(stmt)
        self._parameters(stmt)
        if self.diagnostics:
            raise CLError(self.diagnostics + [Message("CPF0001", stmt.command)])
        return stmt

    def _command_name(self, stmt: Statement) -> None:
        tok = self.tokens[self.i]
        if tok.kind != WORD or tok.attached:
            raise CLError([Message("CPD0031")])
        name = tok.text.upper()
        if name.startswith("?"):
            stmt.prompt, name = True, name[1:]
        library, _, command = name.rpartition("/")
        if not made_of(command, NAME_START, NAME_REST, 10):
            raise CLError([Message("CPD0030", command or name, library or "*LIBL")])
        stmt.command, stmt.library = command, library or None
        self.i += 1

    def _parameters(self, stmt: Statement) -> None:
        seen_keyword = False
        tokens = self.tokens
        while self.i < len(tokens):
            tok = tokens[self.i]
            if tok.kind == WORD and tok.attached and not (self.program and tok.text[:1] == "%"):
                self.i += 2  # the keyword and its "("
                stmt.keywords.append((tok.text.upper(), self._list_body(1)))
                seen_keyword = True
                continue
            value = self._value(0)
            if seen_keyword:
                self.diagnostics.append(Message("CPD0004", value))
            else:
                stmt.positional.append(value)

    def _value(self, depth: int):
        tok = self.tokens[self.i]
        if tok.kind == LPAREN:
            self.i += 1
            return self._list_body(depth + 1)
        if tok.kind == RPAREN:  # the lexer balances parentheses; defensive only
            raise CLError([Message("CPD0013")])
        if tok.kind == WORD and tok.attached:     # %SST(...) as a value, in a program
            self.i += 2
            return Keyword(tok.text.upper(), self._list_body(depth + 1))
        self.i += 1
        return Scalar(tok.text, tok.kind in (STRING, QNAME))

    def _list_body(self, depth: int) -> ValueList:
        """Values up to the closing parenthesis (the opening one is already consumed)."""
        if depth > self.max_depth:
            raise CLError([Message("CPD0015")])
        items = []
        tokens = self.tokens
        while tokens[self.i].kind != RPAREN:
            tok = tokens[self.i]
            if tok.kind == WORD and tok.attached:
                # KWD(...) inside a value, as in a command string: keep it whole.
                self.i += 2
                items.append(Keyword(tok.text.upper(), self._list_body(depth + 1)))
                continue
            items.append(self._value(depth))
        self.i += 1
        return ValueList(items)
