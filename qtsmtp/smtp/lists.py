"""The SMTP lists as stored: one member of QUSRSYS/QATMADRLST per list type.

``ListMember`` reads a member into entries (naming member and record number when a line
does not parse) and keeps an index of entry identities, so that adding to a large list in
a long batch script costs the same as adding to an empty one: the index is re-read only
when the member changed under us (another writer, a hand edit).
"""

from __future__ import annotations

from pathlib import Path

from qtsmtp.cl.messages import CLError, escape
from qtsmtp.smtp import listtypes as lt
from qtsmtp.smtp.entries import Entry, parse_record
from qtsmtp.store.member import MemberFile
from qtsmtp.store.root import SYSTEM_LIBRARY


def member_file(root: Path, list_type: lt.ListType) -> MemberFile:
    return MemberFile(root, SYSTEM_LIBRARY, lt.ADDRESS_LIST_FILE, list_type.member,
                      secret=list_type.secret)


def parse_member(member: MemberFile, list_type: lt.ListType, text: str) -> list[tuple[int, Entry]]:
    """(record number, entry) for every record; raises TCP2670 naming the first bad one."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = parse_record(list_type, line)
        except CLError as bad:
            raise escape("TCP2670", member.member, member.file, member.library, number,
                         bad.escape.text.rstrip(".")) from None
        if entry is not None:
            out.append((number, entry))
    return out


def read_entries(root: Path, list_type: lt.ListType) -> list[Entry]:
    member = member_file(root, list_type)
    return [e for _, e in parse_member(member, list_type, member.read_text())]


class ListMember:
    """A list member opened for change. Use as ``with ListMember(root, t) as lst: ...``."""

    _index_cache: dict[Path, tuple[tuple, dict]] = {}   # path -> (stat key, identities)

    def __init__(self, root: Path, list_type: lt.ListType):
        self.list_type = list_type
        self.member = member_file(root, list_type)

    def __enter__(self) -> "ListMember":
        self._lock = self.member.locked()
        self._lock.__enter__()
        return self

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def _identities(self) -> dict:
        key = self.member.stat_key()
        cached = self._index_cache.get(self.member.path)
        if cached and cached[0] == key:
            return cached[1]
        text = self.member.read_text()
        index = {e.identity: e for _, e in parse_member(self.member, self.list_type, text)}
        self._index_cache[self.member.path] = (key, index)
        return index

    def add(self, entry: Entry) -> None:
        index = self._identities()
        if entry.identity in index:
            raise escape("TCP2650", self.list_type.name_in_text,
                         detail=f"The entry is {index[entry.identity].record.split(chr(9))[0]}.")
        self.member.append(entry.record)
        index[entry.identity] = entry
        self._index_cache[self.member.path] = (self.member.stat_key(), index)

    def remove(self, entry: Entry) -> Entry:
        """Remove the entry with the same identity; keep every other line as it was."""
        text = self.member.read_text()
        records = parse_member(self.member, self.list_type, text)
        found = [number for number, e in records if e.identity == entry.identity]
        if not found:
            raise escape("TCP2651", self.list_type.name_in_text)
        drop = set(found)
        lines = text.splitlines(keepends=True)
        kept = [line for number, line in enumerate(lines, 1) if number not in drop]
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        self.member.replace("".join(kept))
        self._index_cache.pop(self.member.path, None)
        return dict(records)[found[0]]
