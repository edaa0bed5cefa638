"""Reading DATA as it arrives: the end of the data, transparency, bare CR and LF, long
lines, the size limit; never the whole message in memory.

aiosmtpd's smtp_DATA collects every line of a message in a list before it calls the
handler, so a client that sends a gigabyte without the final dot grows a server job by
a gigabyte. ``read_data`` hands the message on in pieces as they arrive (to the job's
commit process, qtsmtp.server.committer) and keeps only a few bytes across pieces.

The end of the data is CR LF . CR LF (RFC 5321 4.1.1.4), and nothing else: not LF . LF,
not CR . CR LF, not LF . CR LF (the "SMTP smuggling" sequences, which a server that
takes them for the end would read the rest of as commands). What may be in between:

- a line that begins with a dot loses that dot (transparency, RFC 5321 4.5.2);
- a CR or LF that is not part of a CR LF pair (a bare CR or LF, RFC 5321 2.3.8): with
  ALWBARELF(*NO), as shipped, the message is read to its end and refused (550 5.6.2);
  with ALWBARELF(*YES) it is taken as the end of a line and stored as CR LF, so no
  next hop ever sees a bare CR or LF in what qtsmtp relays;
- a line of more than 998 octets (RFC 5321 4.5.3.1.6): accepted, and folded as
  Postfix's SMTP client folds it, by inserting CR LF SPACE after each 998 octets, so
  what qtsmtp stores and relays stays within the limit and nothing is lost;
- more than the size limit (MAXEMMSIZE): read to the end without being stored, then
  refused (552 5.3.4).

The reading uses the session's StreamReader only through ``readexactly``, ``readuntil``
and ``read``: nothing after the final dot is taken from it (pipelined commands stay
there for the command loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MAX_LINE = 998                 # octets of a text line, without its CR LF
FOLD = b"\r\n "                # what goes in after MAX_LINE octets of a longer line
_END = b"\n.\r\n"              # the end is CR + this; the CR is checked apart


@dataclass
class DataOutcome:
    size: int = 0              # octets the client sent, the final dot line not counted
    too_big: bool = False      # more than the limit: nothing more was stored
    bare_line_end: bool = False  # a bare CR or LF was seen (ALWBARELF(*NO): refused)
    folded: int = 0            # CR LF SPACE put in lines longer than MAX_LINE octets
    eight_bit: bool = False    # an octet above 127 was seen (8BITMIME, esmtp)

    def refusal(self, limit: int) -> str | None:
        """The reply that refuses the message, or None when it may be queued."""
        if self.too_big:
            return (f"552 5.3.4 Message size exceeds fixed maximum message size "
                    f"({limit} octets)")
        if self.bare_line_end:
            return ("550 5.6.2 Message refused: bare CR or LF in the data; lines end "
                    "with CR LF (RFC 5321 2.3.8)")
        return None


class DataText:
    """The message text between the 354 and the final dot, transformed piece by piece:
    transparency undone, bare line ends found (or made CR LF), long lines folded.

    A piece can end anywhere; a trailing CR or CR LF is kept back for the next piece,
    so that a CR LF pair, and a dot after a line end, are always seen whole. The data
    begins as if after a CR LF (its first line is a line too): that CR LF is made up
    here and never stored."""

    def __init__(self, allow_bare_line_ends: bool):
        self.allow_bare = allow_bare_line_ends
        self.bare = False
        self.folded = 0
        self._carry = b"\r\n"
        self._made_up = 2            # octets at the start of _carry the client never sent
        self._line = 0               # octets of the current line stored so far

    def take(self, piece: bytes, last: bool = False) -> bytes:
        """What to store of ``piece``; ``last``: it ends just before the final dot
        line (its CR LF included)."""
        text = self._carry + piece
        if last:
            self._carry = b""
        elif text.endswith(b"\r\n"):
            text, self._carry = text[:-2], b"\r\n"
        elif text.endswith(b"\r"):
            text, self._carry = text[:-1], b"\r"
        else:
            self._carry = b""
        pairs = text.count(b"\r\n")
        if text.count(b"\r") != pairs or text.count(b"\n") != pairs:
            self.bare = True
            if self.allow_bare:
                # Every bare CR and LF ends a line, stored as CR LF.
                text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        text = text.replace(b"\r\n.", b"\r\n")      # transparency, RFC 5321 4.5.2
        text = self._fold(text)
        if self._made_up:
            skip = min(self._made_up, len(text))
            text, self._made_up = text[skip:], self._made_up - skip
        return text

    def _fold(self, text: bytes) -> bytes:
        if self._line + len(text) <= MAX_LINE:         # no long line can be in it
            end = text.rfind(b"\r\n")
            self._line = self._line + len(text) if end < 0 else len(text) - end - 2
            return text
        lines = text.split(b"\r\n")
        if self._line + len(lines[0]) <= MAX_LINE and max(map(len, lines)) <= MAX_LINE:
            self._line = len(lines[-1]) + (self._line if len(lines) == 1 else 0)
            return text
        out = []
        for index, line in enumerate(lines):
            start = self._line if index == 0 else 0
            if start + len(line) > MAX_LINE:
                line, start = self._fold_line(line, start)
            else:
                start += len(line)
            out.append(line)
            self._line = start
        return b"\r\n".join(out)

    def _fold_line(self, line: bytes, start: int) -> tuple[bytes, int]:
        """``line`` continues a line of ``start`` octets: CR LF SPACE after each
        MAX_LINE octets. Returns the folded line and the length of its last part."""
        pieces = []
        room, position = MAX_LINE - start, 0
        while len(line) - position > room:
            pieces.append(line[position:position + room])
            position += room
            room = MAX_LINE - 1               # after CR LF SPACE, 997 more
        pieces.append(line[position:])
        self.folded += len(pieces) - 1
        last = start + len(line) if len(pieces) == 1 else 1 + len(pieces[-1])
        return FOLD.join(pieces), last


async def read_data(reader: asyncio.StreamReader, store: Callable[[bytes], Awaitable[None]],
                    *, limit: int, allow_bare_line_ends: bool) -> DataOutcome:
    """Read DATA from ``reader`` up to and with the final dot line; hand what is to be
    stored to ``store`` as it comes, while the message is within ``limit`` octets and
    (with ``allow_bare_line_ends`` False) has no bare CR or LF. The outcome says
    whether it may be queued."""
    outcome = DataOutcome()
    text = DataText(allow_bare_line_ends)
    storing = True
    line_start = True            # just after a CR LF the search below has used up
    previous = 0                 # the last octet before ``piece``
    while True:
        piece = b""
        if line_start:
            # ". CR LF" right after a CR LF that is behind us: the search for
            # CR LF . CR LF cannot see that end (at the start of the data, the CR LF
            # was the DATA command's; after a bare LF . CR LF, it was in that match).
            piece = await reader.readexactly(1)
            if piece == b".":
                piece += await reader.readexactly(2)
                if piece == b".\r\n":
                    piece, last = b"", True
        if piece != b"" or not line_start:
            try:
                piece += await reader.readuntil(_END)
                before = piece[-5] if len(piece) >= 5 else previous
                last = before == 0x0D         # CR LF . CR LF: the end
                line_start = not last         # LF . CR LF: data, and a line begins
            except asyncio.LimitOverrunError as more:
                # No end within the reader's limit: what cannot hold the start of one.
                piece += await reader.read(more.consumed)
                last = line_start = False
        content = piece[:-3] if last and piece else piece
        outcome.size += len(content)
        if not outcome.eight_bit and not content.isascii():
            outcome.eight_bit = True
        if storing and outcome.size > limit:
            outcome.too_big, storing = True, False
        if storing:
            stored = text.take(content, last)
            if text.bare and not allow_bare_line_ends:
                outcome.bare_line_end, storing = True, False
            elif stored:
                await store(stored)
        if last:
            outcome.folded = text.folded
            return outcome
        previous = piece[-1] if piece else previous
