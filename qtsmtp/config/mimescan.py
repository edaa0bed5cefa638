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
one slice (the block ends at an empty line, or at a boundary), and the lines of a body
in which no line begins with ``--`` are passed over by one search, not one at a time.
Each header block is read by config.headerblock (the email package's answers, found the
cheap way for a plain block). tests/unit/test_mimescan_fast.py checks the short cuts.

Pure: no sockets, no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qtsmtp.config.headerblock import (
    addresses,
    boundary,
    content_type,
    file_name,
    parse,
    text,
    transfer_encoding,
)

MAX_HEADER_BYTES = 256 * 1024    # a header block beyond this is read no further
MAX_LINE_KEPT = 1024             # a longer body line cannot be a boundary (RFC 2046: 70)
MAX_DEPTH = 1000                 # nested multiparts followed; deeper ones are bodies
MAX_BOUNDARY = 200               # RFC 2046 allows 70; a longer one is not followed
MAX_PARTS = 10_000               # parts recorded; ``parts_dropped`` counts the rest

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
        # How many levels hold each marker: a "--" line that is none of them (or none
        # followed by "--") is let go without a look at each of up to MAX_DEPTH levels.
        self._marker_count: dict[bytes, int] = {}
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
        limit = len(data)
        if self._boundaries:
            if data.startswith(b"--", start):
                return start
            # The empty line is looked for only up to the next line that begins with
            # "--": many such lines in a block must not each cost a search to its end.
            dashes = data.find(b"\n--", start)
            if dashes >= 0:
                limit = dashes + 1
        found = _LINE_THEN_EMPTY.search(data, start, limit)
        stop = found.start() + 1 if found else data.rfind(b"\n", start, limit) + 1
        if stop <= start:
            return start
        if len(self._block) + (stop - start) <= MAX_HEADER_BYTES:
            self._block += data[start:stop]
        else:                                  # the block fills up within these lines
            for line in data[start:stop - 1].split(b"\n"):
                self._line(line + b"\n")
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
        counts = self._marker_count
        if text not in counts and (text[-2:] != b"--" or text[:-2] not in counts):
            return False
        for level in range(len(self._boundaries) - 1, -1, -1):
            marker = self._boundaries[level]
            if not text.startswith(marker):
                continue
            rest = text[len(marker):]
            if rest == b"--":
                if self._state == _HEADERS:
                    self._end_of_headers()
                self._cut_boundaries(level)
                self._state = _BODY            # the epilogue of the enclosing entity
                return True
            if rest == b"":
                if self._state == _HEADERS:
                    self._end_of_headers()
                self._cut_boundaries(level + 1)
                self._start_headers()
                return True
        return False

    def _cut_boundaries(self, level: int) -> None:
        """The boundaries of ``level`` and the levels inside it forgotten."""
        counts = self._marker_count
        for marker in self._boundaries[level:]:
            counts[marker] -= 1
            if not counts[marker]:
                del counts[marker]
        del self._boundaries[level:]

    def _start_headers(self) -> None:
        self._state = _HEADERS
        self._block.clear()
        self._block_full = False

    def _end_of_headers(self) -> None:
        headers = bytes(self._block)
        self._block.clear()
        self._block_full = False
        self._state = _BODY
        entity = parse(headers)
        depth = len(self._boundaries)
        if not self._top_seen:
            self._top_seen = True
            self.facts.subject = text(entity, "subject")
            self.facts.from_addresses = addresses(entity, "from")
            if self._headers_only:
                self._done = True
                return
        part_type = content_type(entity)
        if len(self.facts.parts) < MAX_PARTS:
            self.facts.parts.append(Part(part_type, file_name(entity), depth))
        else:
            self.facts.parts_dropped += 1
        if part_type.startswith("multipart/") and depth < MAX_DEPTH:
            marker = boundary(entity)
            if marker and len(marker) <= MAX_BOUNDARY:
                marker = b"--" + marker.encode("utf-8", "surrogateescape")
                self._boundaries.append(marker)
                self._marker_count[marker] = self._marker_count.get(marker, 0) + 1
        elif part_type in _EMBEDDED and transfer_encoding(entity) in ("", "7bit", "8bit", "binary"):
            self._start_headers()      # the body is a message: its header block comes next
        if self._state == _BODY and not self._boundaries:
            self._done = True          # a body no boundary can end: no part follows
