"""What every server job knows about each client address: its sessions, its connection
rate and its AUTH failures, across ALL the server jobs (Postfix's anvil, without a
server to ask).

The kernel spreads a client's connections over the server jobs (SO_REUSEPORT), so a
limit a job keeps alone is a limit per job: one address held 15,000 idle sessions, and
a guesser with 100 sessions got ten times MAXAUTHFAIL. The jobs are processes forked by
QTSMTPSRVD, so they share what it mapped before the fork: ``ClientTable`` is one
anonymous shared mapping, made once by the supervisor, with one REGION per server job.

Why this and not an anvil process (a service every job asks over a socket, as Postfix
does): a question is a round trip, two system calls and a wake-up of another process for
every connection and every AUTH, on the path that bench/bench_throughput.py measures;
and the service is one more process to supervise, whose death would stop every job's
admissions. Reading shared memory costs a few microseconds and cannot fail.

Each job WRITES only its own region (one writer, its event loop: no lock), and READS all
of them to add up. A region is a hash table of SLOTS slots (open addressing, PROBES
slots probed, a slot never emptied again once used, only reused when stale), each:

    key       16 octets: the IPv6 address, an IPv4 one mapped (::ffff:a.b.c.d)
    sessions  this job's sessions of that address now
    window    the minute (monotonic seconds // 60) ``connections`` counts in
    connections  connections of that address to this job in that minute
    failures  AUTH failures of that address at this job since ``failed``, within PENALTY
    failed    monotonic second of the last of them (CLOCK_MONOTONIC is system-wide)

When a job dies, the supervisor clears its region before its replacement gets it, so a
killed job's sessions are not counted for ever. A reader may see another job's slot
half-written: a count off by one, for a moment; never a crash. When every slot a key
may take is in use, the job does not count it (the client is admitted: failing open
here is safer than refusing clients because an attacker filled the table); the overall
session cap still holds.
"""

from __future__ import annotations

import mmap
import socket
import struct
import time
import zlib

SLOTS = 16384                    # per region: 640 KiB
PROBES = 64
_SLOT = struct.Struct("<16s6i")  # key, sessions, window, connections, failures, failed, spare
_EMPTY_KEY = bytes(16)
RATE_WINDOW_SECONDS = 60         # connection rate: connections per minute, as Postfix
AUTH_PENALTY_SECONDS = 600       # an address with MAXAUTHFAIL failures waits this long


_MAPPED = bytes(10) + b"\xff\xff"


def address_key(address: str) -> bytes:
    """16 octets: the IPv6 address, an IPv4 one as ::ffff:a.b.c.d (the same key as the
    mapped form a dual-stack socket gives)."""
    try:
        if ":" in address:
            return socket.inet_pton(socket.AF_INET6, address.split("%")[0])
        return _MAPPED + socket.inet_pton(socket.AF_INET, address)
    except OSError:
        return zlib.crc32(address.encode()).to_bytes(16, "little")   # not an IP: rare


class ClientTable:
    """The shared mapping: ``regions`` regions of SLOTS slots. Made before the jobs are
    forked; ``job(index)`` is a job's view, ``clear(index)`` empties a dead job's region."""

    def __init__(self, regions: int):
        self.regions = max(1, regions)
        self.region_size = SLOTS * _SLOT.size
        self.map = mmap.mmap(-1, self.regions * self.region_size)   # MAP_SHARED, zeroed
        self.owners: dict[int, int] = {}        # supervisor's: pid -> region

    def claim(self) -> int:
        """A region no running job has (the supervisor, before it forks a job)."""
        used = set(self.owners.values())
        return next(i for i in range(self.regions) if i not in used)

    def owned(self, pid: int, index: int) -> None:
        self.owners[pid] = index

    def release(self, pid: int) -> None:
        """The job ``pid`` has ended: its region is emptied for the next one."""
        index = self.owners.pop(pid, None)
        if index is not None:
            self.clear(index)

    def clear(self, index: int) -> None:
        start = index * self.region_size
        self.map[start:start + self.region_size] = bytes(self.region_size)

    def job(self, index: int) -> ClientCounts:
        return ClientCounts(self, index)


class ClientCounts:
    """One server job's view: it counts in its own region, it adds up all of them."""

    def __init__(self, table: ClientTable, index: int, clock=time.monotonic):
        self.table, self.index, self.clock = table, index, clock
        self.map = table.map
        self.base = index * table.region_size

    # --- the questions ------------------------------------------------------------

    def connected(self, address: str) -> tuple[int, int]:
        """A connection from ``address``: counted (a session and a connection of this
        minute); returns the sessions and the connections of this minute of that
        address in every job, this one included."""
        key, now = address_key(address), int(self.clock())
        window = now // RATE_WINDOW_SECONDS
        offset = self._own_slot(key, now)
        if offset is not None:
            _, sessions, slot_window, connections, failures, failed, _ = _SLOT.unpack_from(
                self.map, offset)
            connections = connections + 1 if slot_window == window else 1
            _SLOT.pack_into(self.map, offset, key, sessions + 1, window, connections,
                            failures, failed, 0)
        sessions = connections = 0
        for index in range(self.table.regions):
            found = self._find(index * self.table.region_size, key)
            if found is not None:
                slot = _SLOT.unpack_from(self.map, found)
                sessions += slot[1]
                connections += slot[3] if slot[2] == window else 0
        return sessions, connections

    def disconnected(self, address: str) -> None:
        key = address_key(address)
        offset = self._find(self.base, key)
        if offset is not None:
            values = list(_SLOT.unpack_from(self.map, offset))
            values[1] = max(0, values[1] - 1)
            _SLOT.pack_into(self.map, offset, *values)

    def auth_failed(self, address: str) -> int:
        """An AUTH failure of ``address``; returns its failures within the penalty
        time in every job."""
        key, now = address_key(address), int(self.clock())
        offset = self._own_slot(key, now)
        if offset is not None:
            values = list(_SLOT.unpack_from(self.map, offset))
            values[4] = (values[4] if now - values[5] <= AUTH_PENALTY_SECONDS else 0) + 1
            values[5] = now
            _SLOT.pack_into(self.map, offset, *values)
        return self.auth_failures(address)

    def auth_forgiven(self, address: str) -> None:
        """An AUTH counted as failed before its password was checked succeeded."""
        offset = self._find(self.base, address_key(address))
        if offset is not None:
            values = list(_SLOT.unpack_from(self.map, offset))
            values[4] = max(0, values[4] - 1)
            _SLOT.pack_into(self.map, offset, *values)

    def auth_failures(self, address: str) -> int:
        key, now = address_key(address), int(self.clock())
        return self._sum(key, lambda s: s[4] if now - s[5] <= AUTH_PENALTY_SECONDS else 0)

    # --- the table ----------------------------------------------------------------------

    def _probe(self, key: bytes):
        first = zlib.crc32(key) % SLOTS
        for step in range(PROBES):
            yield (first + step) % SLOTS * _SLOT.size

    def _find(self, base: int, key: bytes) -> int | None:
        for offset in self._probe(key):
            found = self.map[base + offset:base + offset + 16]
            if found == key:
                return base + offset
            if found == _EMPTY_KEY:
                return None
        return None

    def _own_slot(self, key: bytes, now: int) -> int | None:
        """This job's slot of ``key``: found, or a new one (an empty slot, or a stale
        one reused); None when every slot it may take is in use."""
        spare = None
        for offset in self._probe(key):
            at = self.base + offset
            slot = _SLOT.unpack_from(self.map, at)
            if slot[0] == key:
                return at
            if slot[0] == _EMPTY_KEY:
                spare = at if spare is None else spare
                break
            if spare is None and _stale(slot, now):
                spare = at
        if spare is not None:
            _SLOT.pack_into(self.map, spare, key, 0, 0, 0, 0, 0, 0)
        return spare

    def _sum(self, key: bytes, value) -> int:
        total = 0
        for index in range(self.table.regions):
            offset = self._find(index * self.table.region_size, key)
            if offset is not None:
                total += value(_SLOT.unpack_from(self.map, offset))
        return total


def _stale(slot: tuple, now: int) -> bool:
    """Nothing of it counts any more: no session, no connection this minute, no AUTH
    failure within the penalty time."""
    return (slot[1] == 0 and slot[2] != now // RATE_WINDOW_SECONDS
            and (slot[4] == 0 or now - slot[5] > AUTH_PENALTY_SECONDS))


class LocalCounts(ClientCounts):
    """A job without a supervisor's table (tests, a job run alone): a table of its own."""

    def __init__(self, clock=time.monotonic):
        super().__init__(ClientTable(1), 0, clock)
