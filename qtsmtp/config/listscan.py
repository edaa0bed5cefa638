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
    not_valid_at,
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
        self.lines: list[str] = []
        self.state = _Lines(0)
        self.passed_over: list[Message] = []     # TCP2671, as ListIndex gives them

    def sync(self, read: bool = False) -> bytes | None:
        data = self.member.read_bytes()
        self.lines = data.decode("utf-8", "surrogateescape").splitlines()
        self.state = _Lines(len(self.lines))
        return data if read else None

    def find(self, entry: Entry) -> list[Match]:
        """The records whose identity is the entry's, in member order (after sync)."""
        list_type = self.list_type
        network = entry.network
        # An IPv4 record in canonical form is compared as (network, prefix) first:
        # only the one that is the entry's is parsed.
        wanted = ((int(network.network_address), network.prefixlen)
                  if list_type.kind == lt.IP4 and network is not None else None)
        found = []
        self.passed_over = []
        for number, line in enumerate(self.lines, 1):
            fast = canonical_ip4_network(list_type, line)
            if fast is not None and fast != wanted:
                continue
            try:
                other = parse_record_fast(list_type, line)
            except CLError as bad:
                data = not_valid_at(self.member, number, bad).escape.data
                self.passed_over.append(Message("TCP2671", *data))
                continue
            if other is not None and other.identity == entry.identity:
                found.append(Match(None, line, other))
        return found

    def appended(self) -> None:
        """Nothing to keep up to date."""

    def replaced(self, removed, data: bytes, lines: int) -> None:
        """Nothing to keep up to date."""
