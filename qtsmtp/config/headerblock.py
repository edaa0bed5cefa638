"""One header block of a message or MIME part, read for the mail filters (config.mimescan).

What a filter asks of a block: Subject (RFC 2047 words decoded), the From addresses, the
content type, the file name (RFC 2231 parameters and continuations, RFC 2047 words), the
multipart boundary and the transfer encoding. The answers are the email package's
(compat32, as the package's parser reads a block), found the cheap way when the block is
plain, since a server job asks them of every message while filters are on:

- a plain block (ASCII, whole lines, each a field "name:value" or the continuation of
  one, nothing the parser calls a defect) is split into fields by one regular expression,
  as the parser would split it (feedparser._parse_headers and compat32's
  header_source_parse); anything else goes to the parser itself;
- a plain block's fields are looked up by lower-case name in a dict (``PlainBlock``),
  and the content type is read as Message.get_content_type reads it; only a question
  that needs the parameters decoded (a file name, where one can be; a boundary) is put
  to a Message made of the same fields;
- a From: field holding one plain address (bare, or in <> after atoms or a quoted
  string) is read by a pattern, where getaddresses finds the same address in ten times
  the time.

tests/unit/test_mimescan_fast.py compares each short cut with the package on generated
blocks. Pure: no sockets, no files.
"""

from __future__ import annotations

import email.policy
import re
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from qtsmtp.config import mimeparams

# A client's Content-Type and Content-Disposition values: split in linear time.
mimeparams.install()

# compat32: the block is split into fields without building the header registry's
# objects (a fifth of the cost); RFC 2047 words are decoded by _decoded where they occur,
# RFC 2231 parameters by the Message methods themselves.
_PARSER = BytesHeaderParser(policy=email.policy.compat32)

# A field of a plain block: its name (printable ASCII but the colon), its first line's
# value and its continuation lines; every line ends with CR LF or LF, none holds a lone
# CR (where the parser would cut it).
_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):([^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*)")


def fields(text: str) -> list[tuple[str, str]] | None:
    """The (name, value) fields of a plain block, as the parser gives them; None when
    the block is not plain and the parser must read it."""
    found_fields, position, end = [], 0, len(text)
    match = _FIELD.match
    while position < end:
        found = match(text, position)
        if found is None:
            return None
        name, value = found.groups()
        found_fields.append((name, value.lstrip(" \t").rstrip("\r\n")))
        position = found.end()
    return found_fields


class PlainBlock:
    """A plain block's fields, answering as a compat32 Message of them answers. ASCII
    only: so no value is a Header object (Message.get makes one of 8-bit values)."""

    __slots__ = ("_by_name", "_fields", "_message")

    def __init__(self, block_fields: list[tuple[str, str]]):
        self._fields = block_fields
        self._by_name: dict[str, list[str]] = {}
        for name, value in block_fields:
            self._by_name.setdefault(name.lower(), []).append(value)
        self._message: Message | None = None

    def get(self, name: str, failobj=None):
        values = self._by_name.get(name.lower())
        return values[0] if values else failobj

    def get_all(self, name: str, failobj=None):
        values = self._by_name.get(name.lower())
        return list(values) if values else failobj

    def get_content_type(self) -> str:
        value = self.get("content-type")
        if value is None:
            return "text/plain"          # a block read alone: the default type
        main = value.partition(";")[0].strip().lower()
        return main if main.count("/") == 1 else "text/plain"     # RFC 2045 5.2

    def get_filename(self, failobj=None):
        # A file name comes from Content-Disposition's filename or Content-Type's name
        # parameter (RFC 2231 names included: name*0*=...): with neither, there is none.
        if "content-disposition" not in self._by_name:
            value = self.get("content-type")
            if value is None or "name" not in value.lower():
                return failobj
        return self.message().get_filename(failobj)

    def get_boundary(self, failobj=None):
        return self.message().get_boundary(failobj)

    def message(self) -> Message:
        if self._message is None:
            self._message = Message(policy=email.policy.compat32)
            for name, value in self._fields:
                self._message.set_raw(name, value)
        return self._message


def parse(block: bytes):
    """The block as a PlainBlock, or as the parser's Message when it is not plain."""
    if block.isascii():
        plain = fields(block.decode("ascii"))
        if plain is not None:
            return PlainBlock(plain)
    try:
        return _PARSER.parsebytes(block)
    except Exception:              # the email package on input it was never meant for
        return _PARSER.parsebytes(b"")


def _get(entity, name: str) -> str:
    try:
        value = entity.get(name)
    except Exception:
        return ""
    return "" if value is None else str(value)


def _decoded(value: str) -> str:
    """RFC 2047 encoded words decoded (a malformed one is left as written)."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def text(entity, name: str) -> str:
    """A text field (Subject): decoded, folding and runs of blanks made one blank."""
    return " ".join(_decoded(_get(entity, name)).split())


# A From: field as nearly every client writes it: one address, bare or in angle
# brackets after a plain display name (atoms, or a quoted string without escapes). For
# such a field getaddresses (some 10 us) finds just the address the pattern holds.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_ADDRESS = rf"{_DOT_ATOM}@{_DOT_ATOM}"
ONE_ADDRESS = re.compile(rf"[ \t]*(?:({_ADDRESS})|(?:{_ATEXT}+(?:[ \t]+{_ATEXT}+)*[ \t]*"
                         rf"|\"[^\"\\\r\n]*\"[ \t]*)?<({_ADDRESS})>)[ \t]*")


def addresses(entity, name: str) -> list[str]:
    """The addresses of an address field (From), as getaddresses finds them."""
    try:
        values = entity.get_all(name) or []
    except Exception:
        return []
    if len(values) == 1:
        simple = ONE_ADDRESS.fullmatch(str(values[0]))
        if simple:
            return [simple.group(1) or simple.group(2)]
    return [address for _, address in getaddresses([str(v) for v in values]) if address]


def content_type(entity) -> str:
    try:
        return entity.get_content_type().lower()
    except Exception:
        return "text/plain"


def boundary(entity) -> str:
    try:
        return entity.get_boundary() or ""
    except Exception:
        return ""


def transfer_encoding(entity) -> str:
    return _get(entity, "content-transfer-encoding").strip().lower()


def file_name(entity) -> str:
    try:
        name = entity.get_filename() or ""
    except Exception:
        name = ""
    return _decoded(str(name))
