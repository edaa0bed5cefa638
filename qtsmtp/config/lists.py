"""The SMTP lists as stored: one member of QUSRSYS/QATMADRLST per list type.

``ListMember`` reads a member into entries (naming member and record number when a line
does not parse) and keeps an index of entry identities (listindex: on disk beside the
member, kept up to date by every ADDSMTPLE and RMVSMTPLE), so that adding to a large list
costs the same as adding to an empty one, in a long batch script as in one command after
another: the index is read again only when the member changed under us (another writer
that did not update it, a hand edit).
"""
from __future__ import annotations

import os

from qtsmtp.messages import CLError, escape
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import Entry, not_valid_at, parse_record, read_back
from qtsmtp.config import listscan
from qtsmtp.store import journal
from qtsmtp.store.member import MemberFile, current_group
from qtsmtp.store.root import SYSTEM_LIBRARY

TYPE_CHECKING = False            # the CL commands pass str roots: no pathlib (store.root)
if TYPE_CHECKING:
    from pathlib import Path


def member_file(root: Path, list_type: lt.ListType) -> MemberFile:
    return _member_file(root, list_type.member, list_type.secret)


_member_files: dict[tuple, MemberFile] = {}


def _member_file(root: str | Path, member: str, secret: bool) -> MemberFile:
    # A MemberFile is only its names and paths: one per member, not one per command of a
    # script (making its paths was a tenth of a 10,000-line script's time). A dict, not
    # functools.lru_cache (functools costs a CL command's start): at most 64, as it was.
    key = (root, member, secret)
    found = _member_files.get(key)
    if found is None:
        if len(_member_files) >= 64:
            _member_files.clear()
        found = _member_files[key] = MemberFile(root, SYSTEM_LIBRARY, lt.ADDRESS_LIST_FILE,
                                                member, secret=secret)
    return found


def parse_member(member: MemberFile, list_type: lt.ListType, text: str) -> list[tuple[int, Entry]]:
    """(record number, entry) for every record; raises TCP2670 naming the first bad one."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = parse_record(list_type, line)
        except CLError as bad:
            raise not_valid_at(member, number, bad) from None
        if entry is not None:
            out.append((number, entry))
    return out


def read_entries(root: Path, list_type: lt.ListType) -> list[Entry]:
    member = member_file(root, list_type)
    # Without a record torn by a command killed appending it: a server job or the
    # delivery job reads these lists without the lock (TCP2675).
    return [e for _, e in parse_member(member, list_type, member.read_records_text())]


def remove_record(root: Path, list_type: lt.ListType, number: int, record: str) -> None:
    """Take record ``number`` out of a member, when it still is ``record``: for a line
    that is not a valid entry (a hand edit), which RMVSMTPLE cannot name because it finds
    entries by what they mean. Every other line stays as it was; the list index sees the
    member changed and is made again on its next use; the journal says the member was
    replaced, so a server job compiles it again (now that it may parse)."""
    member = member_file(root, list_type)
    with member.locked():
        lines = member.read_text().splitlines(keepends=True)
        if not 0 < number <= len(lines) or lines[number - 1].rstrip("\r\n") != record:
            raise escape("TCP2651", list_type.name_in_text,
                         detail=f"Record {number} is no longer {record!r}.")
        del lines[number - 1]
        member.replace("".join(lines))


# (member, list type) -> its ListIndex, for the next command on it in this process (a
# script's): every use begins with its sync, which finds what changed since.
_indexes: dict = {}


class ListMember:
    """A list member opened for change. Use as ``with ListMember(root, t) as lst: ...``."""

    def __init__(self, root: Path, list_type: lt.ListType):
        self.list_type = list_type
        self.member = member_file(root, list_type)

    def __enter__(self) -> "ListMember":
        self._lock = self.member.locked()
        self._lock.__enter__()
        try:
            self.index = self._index()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def _index(self):
        """The member's index; for a small member outside a script, a scan of it
        (listscan: SQLite would cost more than reading it)."""
        if current_group() is None:
            st = self.member.stat()
            if (st.st_size if st is not None else 0) <= listscan.MOST_BYTES:
                return listscan.MemberScan(self.member, self.list_type)
        from qtsmtp.config.listindex import ListIndex
        key = (self.member, self.list_type.type)
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = ListIndex(self.member, self.list_type)
        return index

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def add(self, entry: Entry) -> None:
        self.index.sync()
        found = self.index.find(entry)
        if found:
            # The last record of that identity, as the member read into a dict would say.
            raise escape("TCP2650", self.list_type.name_in_text,
                         detail=f"The entry is {found[-1].entry.record.split(chr(9))[0]}.")
        read_back(entry)
        self.index.appended(self.member.append(entry.record), entry)

    def remove(self, entry: Entry) -> Entry:
        """Remove the entry with the same identity; keep every other line as it was.

        In a large member (IN_PLACE_BYTES or more) its records are marked deleted where
        they are (MemberFile.mark_removed: a page written, not the member); the member
        is written again whole, without its deleted records, once they are a
        sixteenth of its lines, and whenever a removal is not that simple."""
        index = self.index
        st = self.member.stat()
        if (st is not None and st.st_size >= IN_PLACE_BYTES and not self.list_type.secret
                and hasattr(index, "marked_removed")):
            index.sync(rowids=True)
            found = index.find(entry)
            if not found:
                raise escape("TCP2651", self.list_type.name_in_text)
            if index.deleted_records() * COMPACT_EVERY < index.state.lines:
                spans = [(match.at, match.line.encode("utf-8", "surrogateescape"))
                         for match in found]
                if any(at is None for at, _ in spans) or not _held(self.member.path, spans):
                    spans = locate_lines(self.member.path, found)      # searched for
                if spans is not None:
                    written = self.member.mark_removed(spans,
                                                       sorted({match.line for match in found}))
                    index.marked_removed(found, spans, written)
                    return found[0].entry
        data = index.sync(read=True)
        found = index.find(entry)
        if not found:
            raise escape("TCP2651", self.list_type.name_in_text)
        # Every line of that identity: the same text always parses to the same entry.
        text = data.decode("utf-8", "surrogateescape")
        new_text, removed = without_lines(text, {match.line for match in found})
        new_text, deleted = without_deleted_records(new_text)
        lines = index.state.lines - removed - deleted
        if new_text and not new_text.endswith("\n"):
            new_text += "\n"       # a hand edit left the last line open: close it
            lines = len(new_text.splitlines())
        elif "\r" in text:
            lines = len(new_text.splitlines())   # "\r" + "\n" may have met where a line went
        # The journal names the lines that went: a server job takes their entry out of
        # its policy without reading the member again.
        inode = self.member.replace(new_text, journal.REMOVE,
                                    records=sorted({match.line for match in found}))
        new_data = new_text.encode("utf-8", "surrogateescape")
        if len(data) >= IN_PLACE_BYTES and hasattr(index, "marked_removed"):
            index.replaced(found, new_data, lines, reindex=True, inode=inode)  # offsets
        else:
            index.replaced(found, new_data, lines, inode=inode)
        return found[0].entry


# A member this large has a removal made in place; a smaller one is written again whole
# (it costs little, and the member stays free of deleted records).
IN_PLACE_BYTES = 64 * 1024
# Deleted records are taken out (the member written again whole) once they are this
# fraction of its lines: the space and the reading they cost stay bounded, and the
# rewrite's cost, shared among the removals before it, stays constant per removal.
COMPACT_EVERY = 16

def without_deleted_records(text: str) -> tuple[str, int]:
    """``text`` without its deleted records' lines, "#" and blanks (MemberFile.
    mark_removed), each with its line break, "\n" or "\r\n"; and how many there were.
    (Without re, which costs a CL command's start: tests/unit/test_charset.py.)"""
    if not (text.startswith("#") or "\n#" in text):
        return text, 0
    # From one line that begins with "#" to the next, by str.find (a member of a million
    # records has few of them).
    kept: list[str] = []
    copied = deleted = 0                  # text[copied:] is still to be kept
    at = 0 if text.startswith("#") else text.find("\n#") + 1     # there is one (above)
    while True:
        end = text.find("\n", at)
        body = text[at:] if end < 0 else text[at:end].removesuffix("\r")
        if not body[1:].strip(" "):
            kept.append(text[copied:at])
            copied = len(text) if end < 0 else end + 1
            deleted += 1
        if end < 0:
            break
        at = text.find("\n#", end) + 1
        if not at:
            break
    kept.append(text[copied:])
    return "".join(kept), deleted


def locate_lines(path: Path, found: list) -> list[tuple[int, bytes]] | None:
    """(offset, bytes) of every line of the member that is the line of a match in
    ``found``, found without reading the member into memory (mmap). None unless each
    such line is there as many times as the index has it, each ending in "\n", "\r\n"
    or the end of the member (the line breaks the index splits at, str.splitlines,
    are more: a member with others is written again whole instead)."""
    import mmap
    from collections import Counter
    wanted = Counter(match.line for match in found)
    spans: list[tuple[int, bytes]] = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if not size:
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for line, count in wanted.items():
                record = line.encode("utf-8", "surrogateescape")
                if not record or b"\n" in record or b"\r" in record:
                    return None
                at = [0] if view[:len(record)] == record else []
                pattern, start = b"\n" + record, 0
                while (start := view.find(pattern, start)) >= 0:
                    at.append(start + 1)
                    start += 1
                at = [o for o in at if _line_ends(view, o + len(record), size)]
                if len(at) != count:
                    return None
                spans += [(offset, record) for offset in at]
    return spans


def _held(path: Path, spans: list[tuple[int, bytes]]) -> bool:
    """Does each (offset, record) of ``spans`` start a line that is that record?"""
    with open(path, "rb") as f:
        for at, record in spans:
            if at:                          # the line break before it, too
                found = os.pread(f.fileno(), len(record) + 3, at - 1)
                if found[:1] != b"\n":
                    return False
                found = found[1:]
            else:
                found = os.pread(f.fileno(), len(record) + 2, 0)
            ends = found[len(record):]
            if not found.startswith(record) or not (ends == b"" or ends[:1] == b"\n"
                                                      or ends[:2] == b"\r\n"):
                return False
    return True


def _line_ends(view, end: int, size: int) -> bool:
    return end == size or view[end:end + 1] == b"\n" or view[end:end + 2] == b"\r\n"


# What str.splitlines() ends a line at ("\r\n" is one break).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def without_lines(text: str, drop: set[str]) -> tuple[str, int]:
    """``text`` without the lines (as str.splitlines gives them) that are in ``drop``,
    each with its line break; every other character kept. Also: how many were dropped.

    The same as joining the splitlines(keepends=True) lines not in ``drop``, found with
    str.find instead: removing one entry from a million-line member splits nothing."""
    cuts = []
    for line in drop:
        start = text.find(line) if line else -1
        while start >= 0:
            end = start + len(line)
            if ((start == 0 or text[start - 1] in _BREAKS)
                    and (end == len(text) or text[end] in _BREAKS)):
                if text.startswith("\r\n", end):
                    end += 2
                elif end < len(text):
                    end += 1
                cuts.append((start, end))
            start = text.find(line, start + 1)
    if not cuts:
        return text, 0
    cuts.sort()
    pieces, at = [], 0
    for start, end in cuts:
        pieces.append(text[at:start])
        at = end
    pieces.append(text[at:])
    return "".join(pieces), len(cuts)
