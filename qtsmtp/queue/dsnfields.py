"""The DSN parameters of RFC 3461 as the queue keeps them: one definition for the server
(which reads them from MAIL and RCPT) and the client job (which passes them on, or acts
on them).

In a queue file's envelope (qtsmtp-queue(5)): ``ret`` ("FULL", "HDRS" or absent),
``envid`` (decoded text), and ``dsn``: recipient -> {"notify": [...], "orcpt": "type;addr"}
(decoded); a recipient without an entry asked nothing, which RFC 3461 section 4.1 lets
the MTA treat as NOTIFY=FAILURE (plus DELAY: qtsmtp sends delay notices then).
"""

from __future__ import annotations

import re

NEVER, SUCCESS, FAILURE, DELAY = "NEVER", "SUCCESS", "FAILURE", "DELAY"
RET_VALUES = ("FULL", "HDRS")
MAX_ENVID = 100          # RFC 3461 4.4: at most 100 characters (encoded)
MAX_ORCPT = 500          # RFC 3461 4.2: at most 500 characters (encoded)
_XCHAR = re.compile(r"[!-~]*\Z")            # printable US-ASCII without SP
_HEXCHAR = re.compile(r"\+([0-9A-F]{2})")


class BadParameter(ValueError):
    """The text says what is wrong; the server answers 501 5.5.4 with it."""


def xtext_decode(text: str) -> str:
    """RFC 3461 4: "+XX" is the octet XX (upper-case hex); every other character is
    itself, printable ASCII without "=" and "+"."""
    if not _XCHAR.match(text) or "=" in text:
        raise BadParameter("not xtext")
    if re.search(r"\+(?![0-9A-F]{2})", text):
        raise BadParameter("a + not followed by two upper-case hex digits")
    raw = _HEXCHAR.sub(lambda m: chr(int(m.group(1), 16)), text)
    return raw.encode("latin-1").decode("utf-8", "replace")


def xtext_encode(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        out.append(char if 33 <= byte <= 126 and char not in "+=" else f"+{byte:02X}")
    return "".join(out)


def parse_notify(value: str) -> list[str]:
    words = [w.strip().upper() for w in value.split(",")]
    if not words or any(w not in (NEVER, SUCCESS, FAILURE, DELAY) for w in words):
        raise BadParameter("NOTIFY takes NEVER, or SUCCESS, FAILURE and DELAY")
    if NEVER in words and len(words) > 1:
        raise BadParameter("NOTIFY=NEVER goes alone")
    if len(set(words)) != len(words):
        raise BadParameter("NOTIFY names a value twice")
    return words


def parse_orcpt(value: str) -> str:
    """ORCPT=addr-type;xtext -> "addr-type;decoded address"."""
    if len(value) > MAX_ORCPT:
        raise BadParameter("ORCPT too long")
    kind, semicolon, address = value.partition(";")
    if not semicolon or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", kind) or not address:
        raise BadParameter("ORCPT is addr-type;address")
    decoded = xtext_decode(address) if kind.lower() != "utf-8" else address
    return f"{kind.lower()};{decoded}"


def parse_envid(value: str) -> str:
    if len(value) > MAX_ENVID:
        raise BadParameter("ENVID too long")
    return xtext_decode(value)


def parse_ret(value: str) -> str:
    if value.upper() not in RET_VALUES:
        raise BadParameter("RET takes FULL or HDRS")
    return value.upper()


def wants(notify: list[str] | None, what: str) -> bool:
    """Does a recipient's NOTIFY ask for ``what``? No NOTIFY: failures and delays."""
    if notify is None:
        return what in (FAILURE, DELAY)
    return what in notify


def orcpt_parameter(orcpt: str) -> str:
    """The stored "type;address" as an ORCPT parameter value, xtext again."""
    kind, _, address = orcpt.partition(";")
    return f"{kind};{address if kind == 'utf-8' else xtext_encode(address)}"
