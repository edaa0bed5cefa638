"""CL expressions: the text of CHGVAR VALUE, IF COND, a command's parameter in a program.

An expression is checked and compiled once, when the program is checked, into a Python
closure that the program calls each time the statement runs. What is wrong with an
expression is found then: a variable not declared (CPD0727), an operand of the wrong
kind, a parenthesis missing (QTS0026). What can only be known on the run (a division by
zero, a %SST outside its value) is an escape message then.

Operators, by IBM's priority (first binds tightest):

1. ``*NOT`` (or ``¬``, ``!``), unary ``+`` and ``-``
2. ``*`` ``/``
3. ``+`` ``-``
4. ``*CAT`` ``||``, ``*BCAT`` ``|>``, ``*TCAT`` ``|<``
5. ``*EQ =``, ``*GT >``, ``*LT <``, ``*GE >=``, ``*LE <=``, ``*NE ¬= !=``, ``*NG ¬>``,
   ``*NL ¬<``
6. ``*AND`` ``&``
7. ``*OR`` ``|``

Built-in functions: %SST and %SUBSTRING, %TRIM, %TRIML, %TRIMR, %CHAR, %DEC, %INT, %UINT,
%LEN. Character comparisons pad the shorter value with blanks, as IBM's do; the
collating sequence is Unicode's, not EBCDIC's.
"""

from __future__ import annotations

import re
from decimal import Decimal, DivisionByZero, InvalidOperation

from qtsmtp.cl import variables as v
from qtsmtp.cl.parser import Keyword, Scalar, ValueList
from qtsmtp.cl.variables import C, L, N
from qtsmtp.messages import CLError, Message

_TOKEN = re.compile(r"""
    (?P<blank>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<var>&[A-Za-z$#@][A-Za-z0-9$#@_]*)
  | (?P<func>%[A-Za-z]+)
  | (?P<special>\*[A-Za-z][A-Za-z0-9]*)
  | (?P<number>\d+(?:[.,]\d*)?|[.,]\d+)
  | (?P<symbol>\|\||\|>|\|<|>=|<=|\u00ac=|\u00ac>|\u00ac<|!=|<>|[-+*/=<>()&|\u00ac!])
  | (?P<name>[A-Za-z$#@][A-Za-z0-9$#@_.]*)
""", re.VERBOSE)

_OR = {"*OR", "|"}
_AND = {"*AND", "&"}
_NOT = {"*NOT", "\u00ac", "!"}
_RELATIONS = {"*EQ": "=", "=": "=", "*GT": ">", ">": ">", "*LT": "<", "<": "<",
              "*GE": ">=", ">=": ">=", "*LE": "<=", "<=": "<=", "*NE": "!=", "\u00ac=": "!=",
              "!=": "!=", "<>": "!=", "*NG": "<=", "\u00ac>": "<=", "*NL": ">=", "\u00ac<": ">="}
_CATS = {"*CAT": "cat", "||": "cat", "*BCAT": "bcat", "|>": "bcat", "*TCAT": "tcat", "|<": "tcat"}
OPERATORS = _OR | _AND | _NOT | set(_RELATIONS) | set(_CATS) | {"+", "-", "*", "/", "(", ")"}
_FUNCTIONS = {"%SST", "%SUBSTRING", "%TRIM", "%TRIML", "%TRIMR", "%CHAR", "%DEC", "%INT",
              "%UINT", "%LEN"}
_TESTS = {"=": lambda c: c == 0, "!=": lambda c: c != 0, ">": lambda c: c > 0,
          "<": lambda c: c < 0, ">=": lambda c: c >= 0, "<=": lambda c: c <= 0}


class Expr:
    """A compiled expression: its kind (C, N or L) and the closure that computes it."""

    __slots__ = ("kind", "run", "constant", "variable")

    def __init__(self, kind: str, run, constant: bool = False, variable=None):
        self.kind, self.run, self.constant, self.variable = kind, run, constant, variable


def node_text(node) -> str:
    """A parsed parameter value written back as text (the expression's source)."""
    if isinstance(node, ValueList):
        return " ".join(str(item) for item in node.items)
    return str(node)


def is_dynamic(node) -> bool:
    """Does a parsed value hold a variable, a built-in function or an operator?"""
    if isinstance(node, Scalar):
        return not node.quoted and (node.text[:1] in "&%" or _has_operator(node.text))
    if isinstance(node, Keyword):
        return node.name.startswith("%") or is_dynamic(node.value)
    return any(is_dynamic(item) for item in node.items)


def _has_operator(word: str) -> bool:
    return word.upper() in OPERATORS or "||" in word or "|>" in word or "|<" in word or "&" in word


def compile_expression(text: str, variables: dict) -> Expr:
    return _Parser(text, variables).whole()


def compile_logical(text: str, variables: dict) -> Expr:
    expr = compile_expression(text, variables)
    if expr.kind == N:
        raise _bad(f"{text.strip()} is a number, not a logical condition")
    return expr


def truth(value) -> bool:
    if value == "1":
        return True
    if value == "0":
        return False
    raise CLError([Message("QTS0032", value)])


def _bad(reason: str) -> CLError:
    return CLError([Message("QTS0026", reason)])


class _Parser:
    def __init__(self, text: str, variables: dict):
        self.text = text
        self.variables = variables
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise _bad(f"character {text[pos]!r} in {text.strip()}")
            if m.lastgroup != "blank":
                word = m.group()
                if m.lastgroup in ("special", "func", "var", "name"):
                    word = word.upper()
                self.tokens.append((m.lastgroup, word))
            pos = m.end()
        self.i = 0

    def whole(self) -> Expr:
        if not self.tokens:
            raise _bad("no value")
        expr = self.expression()
        if self.i < len(self.tokens):
            raise _bad(f"{self.tokens[self.i][1]} not expected in {self.text.strip()}")
        return expr

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise _bad(f"{self.text.strip()} ends too soon")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    # --- the priorities, loosest first ---------------------------------------------------

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.peek() in _OR:
            self.i += 1
            left = _logical(left, self.conjunction(), any)
        return left

    def conjunction(self) -> Expr:
        left = self.relation()
        while self.peek() in _AND:
            self.i += 1
            left = _logical(left, self.relation(), all)
        return left

    def relation(self) -> Expr:
        left = self.concatenation()
        op = self.peek()
        if op in _RELATIONS:
            self.i += 1
            left = _compare(left, self.concatenation(), _RELATIONS[op])
        return left

    def concatenation(self) -> Expr:
        left = self.sum()
        while self.peek() in _CATS:
            op = _CATS[self.take()[1]]
            left = _concatenate(left, self.sum(), op)
        return left

    def sum(self) -> Expr:
        left = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            left = _arithmetic(left, self.product(), op)
        return left

    def product(self) -> Expr:
        left = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            left = _arithmetic(left, self.unary(), op)
        return left

    def unary(self) -> Expr:
        op = self.peek()
        if op in _NOT:
            self.i += 1
            operand = _logical_operand(self.unary())
            return Expr(L, lambda: "0" if operand() else "1")
        if op in ("+", "-"):
            self.i += 1
            operand = self.unary()
            _need(operand, N, f"{op} needs a number")
            run = operand.run
            return Expr(N, (lambda: -run()) if op == "-" else run)
        return self.primary()

    def primary(self) -> Expr:
        kind, word = self.take()
        if kind == "var":
            var = self.variables.get(word)
            if var is None:
                raise CLError([Message("CPD0727", word)])
            return Expr(var.kind, lambda: var.value, variable=var)
        if kind == "string":
            value = word[1:-1].replace("''", "'")
            return Expr(C, lambda: value, constant=True)
        if kind == "number":
            number = Decimal(word.replace(",", "."))
            number = int(number) if "." not in word and "," not in word else number
            return Expr(N, lambda: number, constant=True)
        if kind == "func":
            return self.function(word)
        if word == "(":
            inner = self.expression()
            if self.take()[1] != ")":
                raise _bad(f"closing parenthesis missing in {self.text.strip()}")
            return inner
        if kind in ("special", "name") and word not in OPERATORS:
            return Expr(C, lambda: word, constant=True)     # an unquoted name is text
        raise _bad(f"{word} not expected in {self.text.strip()}")

    def function(self, name: str) -> Expr:
        if name not in _FUNCTIONS:
            raise _bad(f"built-in function {name} not known")
        if self.take()[1] != "(":
            raise _bad(f"{name} needs its arguments in parentheses")
        args: list[Expr] = []
        while self.peek() != ")":
            if self.peek() is None:
                raise _bad(f"closing parenthesis missing after {name}")
            args.append(self.expression())
        self.i += 1
        return _FUNCTION_BUILDERS[name.replace("%SUBSTRING", "%SST")](name, args)


# --- operators -------------------------------------------------------------------------------

def _need(expr: Expr, kind: str, reason: str) -> None:
    if expr.kind != kind and not (kind == C and expr.kind == L):
        raise _bad(reason)


def _logical_operand(expr: Expr):
    if expr.kind == N:
        raise _bad("a number is not a logical value")
    run = expr.run
    return lambda: truth(run())


def _logical(left: Expr, right: Expr, combine) -> Expr:
    a, b = _logical_operand(left), _logical_operand(right)
    if combine is any:
        return Expr(L, lambda: "1" if a() or b() else "0")
    return Expr(L, lambda: "1" if a() and b() else "0")


def _compare(left: Expr, right: Expr, op: str) -> Expr:
    test = _TESTS[op]
    a, b = left.run, right.run
    if (left.kind == N) != (right.kind == N):
        raise _bad("a character value cannot be compared with a number")
    if left.kind == N:
        return Expr(L, lambda: "1" if test(_ncmp(a(), b())) else "0")

    def chars():
        x, y = a(), b()
        if len(x) != len(y):               # the shorter is padded with blanks
            width = max(len(x), len(y))
            x, y = x.ljust(width), y.ljust(width)
        return "1" if test((x > y) - (x < y)) else "0"
    return Expr(L, chars)


def _ncmp(x, y) -> int:
    return (x > y) - (x < y)


def _concatenate(left: Expr, right: Expr, op: str) -> Expr:
    if N in (left.kind, right.kind):
        raise _bad(f"*{op.upper()} joins character values; use %CHAR for a number")
    a, b = left.run, right.run
    if op == "cat":
        return Expr(C, lambda: a() + b())
    if op == "tcat":
        return Expr(C, lambda: a().rstrip(" ") + b())
    return Expr(C, lambda: a().rstrip(" ") + " " + b())


def _arithmetic(left: Expr, right: Expr, op: str) -> Expr:
    if left.kind != N or right.kind != N:
        raise _bad(f"{op} needs numbers; a character value is not one")
    a, b = left.run, right.run
    if op == "+":
        return Expr(N, lambda: a() + b())
    if op == "-":
        return Expr(N, lambda: a() - b())
    if op == "*":
        return Expr(N, lambda: a() * b())

    def divide():
        divisor = b()
        if not divisor:
            raise CLError([Message("MCH1211")])
        try:
            return Decimal(a()) / Decimal(divisor)
        except (DivisionByZero, InvalidOperation):
            raise CLError([Message("MCH1211")]) from None
    return Expr(N, divide)


# --- built-in functions ----------------------------------------------------------------------

def _arity(name: str, args: list, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise _bad(f"{name} takes {wanted} arguments, not {len(args)}")


def _substring(name, args):
    _arity(name, args, 3, 3)
    text, start, length = args
    _need(text, C, f"{name} takes a character value first")
    _need(start, N, f"{name} start position must be a number")
    _need(length, N, f"{name} length must be a number")
    s, n, t = start.run, length.run, text.run
    return Expr(C, lambda: substring(t(), s(), n()))


def substring(value: str, start, length) -> str:
    first, count = int(start), int(length)
    if first < 1 or count < 1 or first + count - 1 > len(value):
        raise CLError([Message("QTS0031", start, length, len(value))])
    return value[first - 1:first - 1 + count]


def _trim(name, args):
    _arity(name, args, 1, 2)
    _need(args[0], C, f"{name} takes a character value")
    value = args[0].run
    if len(args) == 2:
        _need(args[1], C, f"{name} takes the characters to trim as a character value")
    chars = args[1].run if len(args) == 2 else (lambda: " ")
    strip = {"%TRIM": str.strip, "%TRIML": str.lstrip, "%TRIMR": str.rstrip}[name]
    return Expr(C, lambda: strip(value(), chars()))


def _char(name, args):
    _arity(name, args, 1, 1)
    value = args[0].run
    if args[0].kind == N:
        return Expr(C, lambda: v.char_of(value()))
    return Expr(C, value)


def _constant_int(expr: Expr, what: str) -> int:
    if not expr.constant or expr.kind != N:
        raise _bad(f"{what} must be a number written in the program")
    return int(expr.run())


def _dec(name, args):
    _arity(name, args, 1, 3)
    length = _constant_int(args[1], "%DEC length") if len(args) > 1 else 15
    decimals = _constant_int(args[2], "%DEC decimal positions") if len(args) > 2 else 5
    reason = v.check_declaration(v.DEC, length, decimals)
    if reason:
        raise _bad(reason)
    value = args[0].run
    if args[0].kind == L:
        raise _bad("%DEC takes a number or a character value")
    return Expr(N, lambda: v.dec_of(value(), length, decimals))


def _int(name, args):
    _arity(name, args, 1, 1)
    if args[0].kind == L:
        raise _bad(f"{name} takes a number or a character value")
    value = args[0].run
    low = 0 if name == "%UINT" else -2 ** 31

    def run():
        number = int(v.to_number(value()))
        if not low <= number < 2 ** (32 if low == 0 else 31):
            raise CLError([Message("MCH1210")])
        return number
    return Expr(N, run)


def _len(name, args):
    _arity(name, args, 1, 1)
    var = args[0].variable
    if var is not None:
        size = var.length
        return Expr(N, lambda: size)
    value = args[0].run
    if args[0].kind == N:
        raise _bad("%LEN takes a variable or a character value")
    return Expr(N, lambda: len(value()))


_FUNCTION_BUILDERS = {"%SST": _substring, "%TRIM": _trim, "%TRIML": _trim, "%TRIMR": _trim,
                      "%CHAR": _char, "%DEC": _dec, "%INT": _int, "%UINT": _int, "%LEN": _len}


# --- CHGVAR's receiver -----------------------------------------------------------------------

def compile_target(text: str, variables: dict):
    """CHGVAR VAR: ``&X`` or ``%SST(&X start length)``; returns (variable, store(value))."""
    parser = _Parser(text, variables)
    kind, word = parser.take()
    if kind == "var":
        if parser.peek() is not None:
            raise _bad(f"VAR takes one variable, not {text.strip()}")
        var = variables.get(word)
        if var is None:
            raise CLError([Message("CPD0727", word)])
        return var, var.store
    if word in ("%SST", "%SUBSTRING"):
        parser.function(word)               # checks the arguments
        if parser.peek() is not None:
            raise _bad(f"VAR takes one variable, not {text.strip()}")
        inner = _Parser(text, variables)
        inner.i = 2
        target = inner.take()
        var = variables.get(target[1]) if target[0] == "var" else None
        if var is None or var.kind != C:
            raise _bad(f"{word} as a receiver takes a *CHAR variable")
        start, length = inner.expression(), inner.expression()

        def store(value):
            first, count = int(start.run()), int(length.run())
            substring(var.value, first, count)     # the same range check as %SST
            piece = value if isinstance(value, str) else v.char_of(value)
            piece = piece[:count].ljust(count)
            var.value = var.value[:first - 1] + piece + var.value[first - 1 + count:]
        return var, store
    raise _bad(f"VAR must name a variable, not {text.strip()}")


def check_assignable(var, expr: Expr) -> None:
    """CHGVAR's rule on kinds: a number or text into a number, anything into *CHAR."""
    if var.kind == N and expr.kind == L:
        raise _bad(f"a logical value cannot be stored in {var.type} variable {var.name}")
    if var.kind == L and expr.kind == N:
        raise _bad(f"a number cannot be stored in *LGL variable {var.name}")
