"""What a mail filter needs to know of a message, read as the message arrives.

``MimeScanner`` is fed the message in chunks of any size (as the DATA phase delivers
them, or as a spooled file is read) and keeps only header blocks: the message's own and
each MIME part's, each parsed by Python's email package (RFC 2047 encoded words, RFC 2231
parameters and continuations, folded lines). Bodies are skipped line by line and never
kept, so memory stays bounded whatever the size of the message: one header block of at
most MAX_HEADER_BYTES, one partial line of at most MAX_LINE_KEPT, the boundary stack
(at most MAX_DEPTH of MAX_BOUNDARY bytes) and the facts (at most MAX_PARTS parts).

Only the structure is found by hand: a body line is a boundary when it is ``--`` and the
boundary of an enclosing multipart, with ``--`` after it for the last one (RFC 2046
5.1.1); a closing boundary of an outer multipart ends the inner ones too, as the email
package's own parser has it. A message/rfc822 part (a forwarded message) is scanned as a
message of its own, so an attachment cannot hide inside one.

The scanner runs on every message a server job receives while filters are on, so it
does per message only what it must: the ordinary lines of a header block are taken in
one slice (the block ends at an empty line, or at a boundary), the lines of a body in
which no line begins with ``--`` are skipped by one search, not one at a time, and a
plain header block (fields and continuation lines, nothing the email package would call
a defect) is split into fields by one regular expression and handed to the package's
Message as its parser would have handed it (``_fields``); anything else goes to the
parser itself. tests/unit/test_mimescan_fast.py compares both ways on generated input.

Pure: no sockets, no files.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

MAX_HEADER_BYTES = 256 * 1024    # a header block beyond this is read no further
MAX_LINE_KEPT = 1024             # a longer body line cannot be a boundary (RFC 2046: 70)
MAX_DEPTH = 1000                 # nested multiparts followed; deeper ones are bodies
MAX_BOUNDARY = 200               # RFC 2046 allows 70; a longer one is not followed
MAX_PARTS = 10_000               # parts recorded; ``parts_dropped`` counts the rest

# compat32: the header block is split into fields without building the header registry's
# objects (a fifth of the cost); RFC 2047 words are decoded by _decoded where they occur,
# RFC 2231 parameters by the Message methods themselves.
_PARSER = BytesHeaderParser(policy=email.policy.compat32)
_HEADERS, _BODY = 0, 1
_EMPTY_LINE = re.compile(rb"\r*\n")          # a line the scanner takes for an empty one
_LINE_THEN_EMPTY = re.compile(rb"\n\r*\n")   # a line's end, then an empty line
_EMBEDDED = ("message/rfc822", "message/global")


@dataclass(frozen=True)
class Part:
    """One MIME entity: its content type (lower case) and file name (decoded, or "")."""
    content_type: str
    filename: str
    depth: int


@dataclass
class MessageFacts:
    subject: str = ""
    from_addresses: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    parts_dropped: int = 0


class MimeScanner:
    def __init__(self, headers_only: bool = False):
        # headers_only: the caller needs Subject and From alone; the rest is not read.
        self.facts = MessageFacts()
        self._headers_only = headers_only
        self._state = _HEADERS
        self._block = bytearray()
        self._block_full = False
        self._partial = bytearray()
        self._long_line = False
        self._boundaries: list[bytes] = []     # b"--" + boundary, outermost first
        self._top_seen = False
        self._done = False

    # --- feeding ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._done or not data:
            return
        start, end = 0, len(data)
        while not self._done and start < end:
            if not self._partial and not self._long_line:
                # At the start of a line: whole runs of lines that cannot change the
                # state are taken (a header block's) or passed over (a body's) at once.
                start = (self._skip_body(data, start) if self._state == _BODY
                         else self._header_lines(data, start))
                if start >= end:
                    return
            newline = data.find(b"\n", start)
            if newline < 0:
                self._keep_partial(data[start:])
                return
            if self._partial or self._long_line:
                self._keep_partial(data[start:newline + 1])
                line = bytes(self._partial) if not self._long_line else b""
                self._partial.clear()
                self._long_line = False
            else:
                line = data[start:newline + 1]
            start = newline + 1
            self._line(line)

    def close(self) -> MessageFacts:
        if not self._done:
            if self._partial and not self._long_line:
                self._line(bytes(self._partial))
            if self._state == _HEADERS:
                self._end_of_headers()
            self._done = True
        return self.facts

    def _keep_partial(self, piece: bytes) -> None:
        if self._long_line:
            return
        self._partial += piece
        # In a header block a long line is kept (up to the block's limit); in a body
        # it can be no boundary, so it is dropped.
        limit = MAX_HEADER_BYTES if self._state == _HEADERS else MAX_LINE_KEPT
        if len(self._partial) > limit:
            self._partial.clear()
            self._long_line = True

    # --- runs of lines ------------------------------------------------------------------

    def _header_lines(self, data: bytes, start: int) -> int:
        """The complete lines from ``start`` that are neither empty nor (inside a
        multipart) the start of a boundary, added to the header block at once; returns
        where the line-by-line reading goes on: the line that may end the block."""
        if self._block_full or _EMPTY_LINE.match(data, start):
            return start
        found = _LINE_THEN_EMPTY.search(data, start)
        stop = found.start() + 1 if found else data.rfind(b"\n", start) + 1
        if self._boundaries:
            if data.startswith(b"--", start):
                return start
            dashes = data.find(b"\n--", start, stop)
            if dashes >= 0:
                stop = dashes + 1
        if stop <= start:
            return start
        if len(self._block) + (stop - start) <= MAX_HEADER_BYTES:
            self._block += data[start:stop]
        else:                                  # the block fills up within these lines
            for line in data[start:stop].splitlines(keepends=True):
                self._line(line)
        return stop

    def _skip_body(self, data: bytes, start: int) -> int:
        """Body lines are of no interest unless they begin with ``--`` (a boundary, in a
        multipart): the next such line is found by one search; returns where it
        begins, or the end of ``data`` (its last, unfinished line kept only if it could
        still become one)."""
        if data.startswith(b"--", start):
            return start
        dashes = data.find(b"\n--", start)
        if dashes >= 0:
            return dashes + 1
        last = data.rfind(b"\n", start) + 1
        tail = data[max(last, start):]
        if tail == b"-":
            self._keep_partial(tail)
        elif tail:
            self._long_line = True             # its end is passed over like a long line's
        return len(data)

    # --- one line -----------------------------------------------------------------------

    def _line(self, line: bytes) -> None:
        if line.startswith(b"--") and self._boundaries and self._boundary(line):
            return
        if self._state == _BODY:
            return
        if line in (b"\r\n", b"\n") or not line.strip(b"\r\n"):
            self._end_of_headers()
            return
        if not self._block_full:
            if len(self._block) + len(line) > MAX_HEADER_BYTES:
                self._block_full = True
            else:
                self._block += line

    def _boundary(self, line: bytes) -> bool:
        text = line.rstrip(b"\r\n").rstrip(b" \t")
        for level in range(len(self._boundaries) - 1, -1, -1):
            marker = self._boundaries[level]
            if not text.startswith(marker):
                continue
            rest = text[len(marker):]
            if rest == b"--":
                if self._state == _HEADERS:
                    self._end_of_headers()
                del self._boundaries[level:]
                self._state = _BODY            # the epilogue of the enclosing entity
                return True
            if rest == b"":
                if self._state == _HEADERS:
                    self._end_of_headers()
                del self._boundaries[level + 1:]
                self._start_headers()
                return True
        return False

    def _start_headers(self) -> None:
        self._state = _HEADERS
        self._block.clear()
        self._block_full = False

    def _end_of_headers(self) -> None:
        headers = bytes(self._block)
        self._block.clear()
        self._block_full = False
        self._state = _BODY
        entity = _parse(headers)
        depth = len(self._boundaries)
        if not self._top_seen:
            self._top_seen = True
            self.facts.subject = _text(entity, "subject")
            self.facts.from_addresses = _addresses(entity, "from")
            if self._headers_only:
                self._done = True
                return
        content_type = _content_type(entity)
        if len(self.facts.parts) < MAX_PARTS:
            self.facts.parts.append(Part(content_type, _filename(entity), depth))
        else:
            self.facts.parts_dropped += 1
        if content_type.startswith("multipart/") and depth < MAX_DEPTH:
            boundary = _boundary_of(entity)
            if boundary and len(boundary) <= MAX_BOUNDARY:
                self._boundaries.append(b"--" + boundary.encode("utf-8", "surrogateescape"))
        elif content_type in _EMBEDDED and _transfer_encoding(entity) in ("", "7bit", "8bit", "binary"):
            self._start_headers()      # the body is a message: its header block comes next
        if self._state == _BODY and not self._boundaries:
            self._done = True          # a body no boundary can end: no part follows


# --- reading one header block with the email package ------------------------------------

# A header block the email package's parser reads without a defect or a surprise: whole
# lines (CR LF or LF), each a field "name:value" (the name printable ASCII but the colon)
# or the continuation of one (a blank or tab first), nothing the parser would cut a line
# at in the middle (a lone CR) and no "From " envelope line. feedparser._parse_headers
# and compat32's header_source_parse give such a field's name and value as _fields does.
_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):([^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*)")


def _fields(text: str) -> list[tuple[str, str]] | None:
    """The fields of a plain header block, or None when the parser must read it."""
    fields, position, end = [], 0, len(text)
    match = _FIELD.match
    while position < end:
        found = match(text, position)
        if found is None:
            return None
        name, value = found.groups()
        fields.append((name, value.lstrip(" \t").rstrip("\r\n")))
        position = found.end()
    return fields


def _parse(block: bytes):
    text = block.decode("ascii", "surrogateescape")    # as BytesHeaderParser decodes
    fields = _fields(text)
    if fields is not None:
        entity = Message(policy=email.policy.compat32)
        for name, value in fields:
            entity.set_raw(name, value)
        return entity
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


def _decoded(text: str) -> str:
    """RFC 2047 encoded words decoded (a malformed one is left as written)."""
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _text(entity, name: str) -> str:
    return " ".join(_decoded(_get(entity, name)).split())


# A From: field as nearly every client writes it: one address, bare or in angle
# brackets after a plain display name (atoms, or a quoted string without escapes). For
# such a field getaddresses (some 10 us) finds just the address the pattern holds.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_ADDRESS = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_ONE_ADDRESS = re.compile(rf"[ \t]*(?:({_ADDRESS})|(?:{_ATEXT}+(?:[ \t]+{_ATEXT}+)*[ \t]*"
                          rf"|\"[^\"\\\r\n]*\"[ \t]*)?<({_ADDRESS})>)[ \t]*")


def _addresses(entity, name: str) -> list[str]:
    try:
        values = entity.get_all(name) or []
    except Exception:
        return []
    if len(values) == 1:
        simple = _ONE_ADDRESS.fullmatch(str(values[0]))
        if simple:
            return [simple.group(1) or simple.group(2)]
    return [address for _, address in getaddresses([str(v) for v in values]) if address]


def _content_type(entity) -> str:
    try:
        return entity.get_content_type().lower()
    except Exception:
        return "text/plain"


def _boundary_of(entity) -> str:
    try:
        return entity.get_boundary() or ""
    except Exception:
        return ""


def _transfer_encoding(entity) -> str:
    return _get(entity, "content-transfer-encoding").strip().lower()


def _filename(entity) -> str:
    try:
        name = entity.get_filename() or ""
    except Exception:
        name = ""
    return _decoded(str(name))
