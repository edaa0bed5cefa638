"""CL program variables: what DCL declares, and how a value is stored in each type.

The rules are IBM's for CHGVAR and DCL:

* *CHAR is fixed length: a shorter value is padded with blanks on the right, a longer
  one is cut on the right. The blanks are part of the value (``&A *CAT &B`` keeps them).
* *DEC (digits, decimal positions) keeps at most that many digits: extra decimal
  positions are dropped (not rounded), and an integer part that does not fit is
  MCH1210. *INT and *UINT (2, 4 or 8 bytes) drop the fraction and must fit their range.
* *LGL is '0' or '1'.
* A number stored into *CHAR is right-adjusted and padded on the left with zeros, with
  a decimal point where it has decimal positions and a minus sign first when negative.
* Text stored into a number is read as one (blanks around it, a sign, '.' or ','),
  or the assignment fails with CPF0818.

Expression values, in Python: *CHAR and *LGL are str, numbers are Decimal or int.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from qtsmtp.messages import CLError, Message

CHAR, DEC, LGL, INT, UINT = "*CHAR", "*DEC", "*LGL", "*INT", "*UINT"
TYPES = (CHAR, DEC, LGL, INT, UINT)
NUMERIC = frozenset((DEC, INT, UINT))

# Expression kinds: character, number, logical.
C, N, L = "C", "N", "L"
KIND = {CHAR: C, DEC: N, INT: N, UINT: N, LGL: L}

DEFAULT_LENGTH = {CHAR: (32, 0), DEC: (15, 5), LGL: (1, 0), INT: (4, 0), UINT: (4, 0)}
MAX_CHAR = 32767
MAX_DIGITS, MAX_DECIMALS = 15, 9
INT_BYTES = (2, 4, 8)

_NUMBER = re.compile(r"\s*([+-]?)\s*(\d*)(?:[.,](\d*))?\s*([+-]?)\s*\Z")


class Variable:
    """One declared variable; ``value`` always holds a value valid for its type."""

    __slots__ = ("name", "type", "length", "decimals", "value", "kind", "_quantum", "_limit",
                 "_range")

    def __init__(self, name: str, type: str, length: int | None = None, decimals: int | None = None):
        self.name = name
        self.type = type
        dft_length, dft_decimals = DEFAULT_LENGTH[type]
        self.length = dft_length if length is None else length
        self.decimals = dft_decimals if decimals is None else decimals
        self.kind = KIND[type]
        self._quantum = Decimal(1).scaleb(-self.decimals)
        self._limit = Decimal(10) ** (self.length - self.decimals)
        if type in (INT, UINT):
            bits = self.length * 8
            self._range = (0, 2 ** bits - 1) if type == UINT else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
        else:
            self._range = None
        self.value = initial(self)

    def describe(self) -> str:
        if self.type == DEC:
            return f"{self.type} ({self.length} {self.decimals})"
        return f"{self.type} ({self.length})"

    def store(self, value) -> None:
        """Assign ``value`` (str or number) by the CHGVAR rules."""
        self.value = self.converted(value)

    def converted(self, value):
        kind = self.kind
        if kind == C:
            if not isinstance(value, str):
                value = number_as_char(value, self.length)
            length = self.length
            size = len(value)
            if size == length:
                return value
            return value + " " * (length - size) if size < length else value[:length]
        if kind == L:
            if isinstance(value, str) and value.strip() in ("0", "1"):
                return value.strip()
            raise CLError([Message("QTS0032", value)])
        number = value if not isinstance(value, str) else parse_number(value, self.name)
        if self._range is not None:
            number = int(number)
            low, high = self._range
            if not low <= number <= high:
                raise CLError([Message("MCH1210")])
            return number
        number = Decimal(number).quantize(self._quantum, rounding=ROUND_DOWN)
        if abs(number) >= self._limit:
            raise CLError([Message("MCH1210")])
        return number


def initial(var: Variable):
    if var.kind == C:
        return " " * var.length
    if var.kind == L:
        return "0"
    return 0 if var._range is not None else Decimal(0).quantize(var._quantum)


def check_declaration(type: str, length: int | None, decimals: int | None) -> str | None:
    """Why a DCL's TYPE and LEN are not valid, or None."""
    if type not in TYPES:
        return f"TYPE({type}) is not *CHAR, *DEC, *LGL, *INT or *UINT"
    if length is None:
        return None
    if type == CHAR and not 1 <= length <= MAX_CHAR:
        return f"LEN({length}) of *CHAR must be 1 to {MAX_CHAR}"
    if type == LGL and length != 1:
        return "LEN of *LGL must be 1"
    if type in (INT, UINT) and length not in INT_BYTES:
        return f"LEN({length}) of {type} must be 2, 4 or 8"
    if type == DEC:
        if not 1 <= length <= MAX_DIGITS:
            return f"LEN({length}) of *DEC must be 1 to {MAX_DIGITS} digits"
        if decimals is not None and not 0 <= decimals <= min(length, MAX_DECIMALS):
            return f"*DEC decimal positions {decimals} must be 0 to {min(length, MAX_DECIMALS)}"
    elif decimals:
        return f"decimal positions are for *DEC, not {type}"
    return None


def parse_number(text: str, name: str = "") -> Decimal:
    """Text as a number (CHGVAR's reading of *CHAR into *DEC); CPF0818 if it is none."""
    m = _NUMBER.match(text)
    if not m or not (m.group(2) or m.group(3)) or (m.group(1) and m.group(4)):
        raise CLError([Message("CPF0818", text.strip(), name or "*N")])
    number = Decimal((m.group(2) or "0") + "." + (m.group(3) or "0"))
    return -number if "-" in (m.group(1), m.group(4)) else number


def number_as_char(number, length: int) -> str:
    """A number stored into *CHAR of ``length``: right-adjusted, zero-filled, sign first."""
    digits = format(abs(Decimal(number)), "f")
    width = length - (1 if number < 0 else 0)
    if len(digits) > width:
        raise CLError([Message("MCH1210")])
    digits = digits.zfill(width)
    return "-" + digits if number < 0 else digits


def char_of(number) -> str:
    """%CHAR of a number: no leading zeros, its decimal positions kept, '-' when negative."""
    if isinstance(number, int):
        return str(number)
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0")
    if not fraction and not whole:
        whole = "0"
    text = whole + ("." + fraction if fraction else "")
    return "-" + text if number < 0 else text


def as_text(value) -> str:
    """A value as a command parameter receives it: *CHAR without its padding blanks."""
    if isinstance(value, str):
        return value.rstrip(" ")
    return char_of(value)


def to_number(value, name: str = "") -> Decimal | int:
    if isinstance(value, str):
        return parse_number(value, name)
    return value


def dec_of(value, length: int, decimals: int) -> Decimal:
    """%DEC(value length decimals)."""
    number = Decimal(to_number(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)
    if abs(number) >= Decimal(10) ** (length - decimals):
        raise CLError([Message("MCH1210")])
    return number


def is_number_text(text: str) -> bool:
    try:
        parse_number(text)
    except (CLError, InvalidOperation):
        return False
    return True
