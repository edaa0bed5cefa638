"""A small list member searched by reading it, in place of its index.

The index (listindex) spares ADDSMTPLE and RMVSMTPLE reading a large member, at a
price every command pays whatever the list's size: loading SQLite (and datetime with
it) and opening the index file, some milliseconds of a command that otherwise takes a
few more than ``python -c pass`` (bench/bench_cl.py). A member of MOST_BYTES or less is
read and searched whole in less time, so ListMember asks ``MemberScan`` instead, which
answers the same questions as ListIndex (sync, find, appended, replaced, passed_over)
from the member's text. The index file, if there is one, is neither read nor changed:
it is a cache that sees the member changed and catches up when it is next used.

A script (a group commit) always uses the index: it keeps the index in the process,
where a scan would read the member once per command.
"""

from __future__ import annotations

from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import (
    Entry,
    canonical_ip4_network,
    parse_record_fast,
)
from qtsmtp.messages import CLError, Message
from qtsmtp.record import Record
from qtsmtp.store.member import MemberFile

# About 300 IPv4 records: the time to search them stays below SQLite's import alone.
MOST_BYTES = 8192


class Match(Record, frozen=True):
    rowid: int | None    # None: no index row (ListIndex's rows have one)
    line: str            # the member line, as splitlines gives it
    entry: Entry


class _Lines(Record, frozen=True):
    lines: int           # the member's line count (str.splitlines), as _State.lines


class MemberScan:
    """ListIndex's answers for a small member, from its text. Under the member's lock."""

    def __init__(self, member: MemberFile, list_type: lt.ListType):
        self.member, self.list_type = member, list_type
        self.state = _Lines(0)
        # TCP2671/TCP2673 for the records that are not entries, as ListIndex names them.
        self.passed_over: list[Message] = []
        # (line, (network, prefix)) of a canonical IPv4 record, else (line, its Entry)
        self._records: list[tuple[str, object]] = []

    def sync(self, read: bool = False) -> bytes | None:
        data = self.member.read_bytes()
        self._scan(data)
        return data if read else None

    def _scan(self, data: bytes) -> None:
        list_type, records, bad = self.list_type, [], []
        lines = data.decode("utf-8", "surrogateescape").splitlines()
        for number, line in enumerate(lines, 1):
            # A canonical IPv4 record is valid: kept as (network, prefix), parsed only
            # when it is the one asked for.
            fast = canonical_ip4_network(list_type, line)
            if fast is not None:
                records.append((line, fast))
                continue
            try:
                entry = parse_record_fast(list_type, line)
            except CLError as error:
                bad.append((number, error.escape.text.rstrip(".")))
                continue
            if entry is not None:
                records.append((line, entry))
        self._records, self.state = records, _Lines(len(lines))
        self.passed_over = []
        if bad:
            from qtsmtp.config.listindex import passed_over_messages
            self.passed_over = passed_over_messages(self.member, list_type, bad)

    def find(self, entry: Entry) -> list[Match]:
        """The records whose identity is the entry's, in member order (after sync)."""
        identity = entry.identity
        wanted = (identity[2:] if self.list_type.kind == lt.IP4 and identity[0] == "ip"
                  else None)
        found = []
        for line, known in self._records:
            if isinstance(known, tuple):
                if known != wanted:
                    continue
                known = parse_record_fast(self.list_type, line)
            if known.identity == entry.identity:
                found.append(Match(None, line, known))
        return found

    def appended(self, written=None, entry=None) -> None:
        """Nothing to keep up to date."""

    def replaced(self, removed, data: bytes, lines: int, inode: int | None = None) -> None:
        """The records passed over, numbered as they are now."""
        if self.passed_over:
            self._scan(data)
