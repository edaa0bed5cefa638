"""Character-class checks of CL values, without regular expressions.

``re`` (with enum and functools) costs every CL command's start about 5 ms
(bench/bench_cl.py), so the checks on the CL path are made with str methods, which run
in C: ``str.strip(chars)`` is empty exactly when every character is one of ``chars``;
``str.isdecimal`` is exactly what ``\\d`` matches in a str pattern (Unicode digits
too, which ``int`` and ``float`` take). tests/unit/test_charset.py compares each with
the regular expression it replaces.
"""

from __future__ import annotations

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
_DIGITS = "0123456789"
NAME_START = _UPPER + "$#@"                                  # [A-Z$#@]
NAME_REST = NAME_START + _DIGITS + "_"                       # [A-Z0-9$#@_]
LABEL_START = NAME_START + _LOWER                           # [A-Za-z$#@]
LABEL_REST = NAME_REST + _LOWER                             # [A-Za-z0-9$#@_]
# C0 control characters and DEL: [\x00-\x1f\x7f]
C0_AND_DEL = "".join(map(chr, [*range(0x20), 0x7F]))


def first_of(text: str, chars: str) -> int | None:
    """The position of the first of ``chars`` in ``text``; None when there is none."""
    if text.isprintable():       # no control character (nor any of ours) can be in it
        return None
    found = [at for at in map(text.find, chars) if at >= 0]
    return min(found) if found else None


def made_of(text: str, first: str, rest: str, longest: int | None = None) -> bool:
    """``[first][rest]*`` (at most ``longest`` characters in all), the whole text."""
    return (bool(text) and text[0] in first and not text[1:].strip(rest)
            and (longest is None or len(text) <= longest))


def is_ascii_digits(text: str) -> bool:
    """ASCII digits only, the whole text: str.isdigit alone also passes "²" and "①",
    which int() refuses (a value read from a person or a file, then given to int)."""
    return text.isascii() and text.isdigit()


def is_integer(text: str) -> bool:
    """``[+-]?\\d+``, the whole text."""
    return (text[1:] if text[:1] in ("+", "-") else text).isdecimal()


def is_decimal(text: str) -> bool:
    """``[+-]?(\\d+([.,]\\d*)?|[.,]\\d+)``, the whole text (a decimal comma or point)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    point = body.find(".")
    if point < 0:
        point = body.find(",")
    if point < 0:
        return body.isdecimal()
    whole, fraction = body[:point], body[point + 1:]
    if whole:
        return whole.isdecimal() and (not fraction or fraction.isdecimal())
    return fraction.isdecimal()
