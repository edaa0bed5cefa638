"""The index of a list member: the identity of every record, kept on disk beside it.

ADDSMTPLE refuses an entry whose identity (network, domain, data) the list holds already,
and every console command is a new process: with an index that lived only in the process,
each ADDSMTPLE parsed the whole member again, 25 s for a million entries. The index is an
SQLite database beside the member (``.ACCEPTRLY.idx`` next to ``ACCEPTRLY``), read and
changed only by ListMember, under the member's lock.

It is a cache of the member, never a second truth:

- It says which member it describes: the stat key (inode, size, mtime, ctime), the
  CRC-32 and the line count of the content it was made from.
- It is used only while the member is still that: the same stat key; and when the member
  had changed so shortly before the index last looked at it that a later write may have
  left the stat key as it was (a timestamp tick, a coarse file system), the same CRC-32
  too (computed over the member mapped, not read into memory). So a hand edit is
  always seen, whatever the clock did; with one exception: a process trusts the stat
  key of its own last change, made under the member's lock, so that the commands of a
  script do not each read the whole member. Only a writer that ignores the lock, in
  the same timestamp tick, could go unseen then.
- A removal from a large member marks its records deleted where they are (config.lists,
  MemberFile.mark_removed): the index drops their rows and brings its CRC-32 forward
  from the bytes changed (crc32_overwritten), and counts the deleted records (table
  layout) until the member is written whole again. Each row also says where its line
  starts (records.at), so the record is found without searching the member; a member
  written whole again moves the lines, and the offsets are not used again until the
  index is next made (layout.offsets_valid).
- Records appended since (ours, a hand ``>>``, a writer killed between its append and
  its index update) are parsed and added; after any other change the index is made again
  from the member (about 6 s for a million records, once).
- ADDSMTPLE and RMVSMTPLE bring it up to date with their own change right after making
  it. A crash in between leaves an index that no longer matches the member: see above.
  A removal is written to the file at once; appends are kept in the process (``_Unwritten``)
  and written when it ends or the member changes otherwise: a transaction for every
  ADDSMTPLE of a script made the script 2.2 times slower. Meanwhile the file is a few
  records behind, which any other process reads as an append and indexes itself.
- A damaged, foreign or unwritable index is made again, or else kept in memory for this
  process only. Credentials (*HOSTAUTH) are indexed in memory only: the file would hold a
  copy of the passwords. What the commands decide never depends on the file being there.

Rows are (bucket, line): the bucket is a CRC-32 of the identity; the line is parsed again
(parse_record_fast, the same Entry as parse_record) when its bucket is asked for, and the
identities compared, so a collision costs one parse and decides nothing. Rows are in
member order (rowid), as the messages need: the entry a duplicate is reported against is
the last record of that identity, the one RMVSMTPLE returns is the first.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
import zlib
from collections.abc import Iterable, Iterator
from itertools import accumulate, repeat

from qtsmtp.messages import CLError, Message
from qtsmtp.config import listtypes as lt
from qtsmtp.config.entries import Entry, canonical_ip4_network, parse_record_fast
from qtsmtp.record import Record
from qtsmtp.store.member import MemberFile, current_group, deleted_record, is_deleted_record

INDEX_VERSION = 3          # 2: the passed_over table; 3: records.at (an older one is made again)

# A command names at most this many records that are not entries (TCP2671), and counts
# the others in one TCP2673: a member with 10,000 bad lines must not flood the job log.
NAMED_MOST = 3

# A write within this long after the index looked at the member might have kept the
# member's stat key (one timestamp tick: jiffies on Linux, up to 2 s on FAT): the content
# checksum decides then.
RACY_NS = 2_000_000_000

_RECORDS = ("CREATE TABLE IF NOT EXISTS records"
            " (bucket INTEGER NOT NULL, line BLOB NOT NULL, at INTEGER)")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL, list_type TEXT NOT NULL,
    stat_key TEXT, size INTEGER NOT NULL, crc INTEGER NOT NULL, lines INTEGER NOT NULL,
    whole INTEGER NOT NULL, changed_ns INTEGER NOT NULL, checked_ns INTEGER NOT NULL);
%s;
CREATE INDEX IF NOT EXISTS records_bucket ON records (bucket);
CREATE TABLE IF NOT EXISTS boot (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layout (one INTEGER PRIMARY KEY CHECK (one = 1),
    deleted INTEGER NOT NULL, offsets_valid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS passed_over (line BLOB NOT NULL, reason TEXT NOT NULL);
""" % _RECORDS

# index path (or ":memory: " and the member's) -> (connection, inode of the index file)
_connections: dict[str, tuple] = {}


class Match(Record, frozen=True):
    rowid: int | None    # None: not yet in the index file (see _Unwritten)
    line: str            # the member line, as splitlines gives it
    entry: Entry
    at: int | None = None   # where the line starts in the member; None: not known


class _State(Record, frozen=True):
    stat_key: str | None     # None: there was no member
    size: int                # bytes the index was made from
    crc: int                 # their CRC-32
    lines: int               # their line count (str.splitlines), for record numbers
    whole: bool              # they end with "\n" (or are empty): an append starts a line
    changed_ns: int          # the member's latest mtime/ctime then
    checked_ns: int          # when the index last found the member to be that

    def __init__(self, stat_key: str | None, size: int, crc: int, lines: int, whole: bool,
                 changed_ns: int, checked_ns: int):
        # (Record's own __init__ also takes keywords and defaults: slower, and a state is
        # made after every append of a script.)
        put = object.__setattr__
        put(self, "stat_key", stat_key)
        put(self, "size", size)
        put(self, "crc", crc)
        put(self, "lines", lines)
        put(self, "whole", whole)
        put(self, "changed_ns", changed_ns)
        put(self, "checked_ns", checked_ns)

    def trusted_by_stat(self) -> bool:
        if self.changed_ns + RACY_NS <= self.checked_ns:
            return True
        # A member whose modification time lies RACY_NS before the look (the commands
        # set it so after each change: store.member.backdate) cannot be written again
        # without that time changing, however soon: any write sets it to its own time.
        # Unless the writer then sets it back (cp -p, rsync --inplace -t): the change
        # time catches that, but only when it is finer than whole seconds (a file
        # system with whole-second times, ext4's 128-byte inodes, FAT's 2 s, keeps it
        # for a write in the same second): there the content checksum decides.
        parts = (self.stat_key or "").split(":")
        return (len(parts) == 4 and int(parts[2]) + RACY_NS <= self.checked_ns
                and int(parts[3]) % 1_000_000_000 != 0)


def bucket(identity: tuple) -> int:
    if identity[0] != "ip":
        return zlib.crc32(repr(identity).encode("utf-8", "backslashreplace"))
    # The same buckets as index files written when an address identity held its
    # ipaddress network: b"ip <version> <prefix> " and the network's packed bytes.
    _, version, network, prefix = identity
    return zlib.crc32(b"ip %d %d " % (version, prefix)
                      + network.to_bytes(4 if version == 4 else 16, "big"))


def _ip4_bucket(network: int, prefix: int) -> int:
    # bucket(("ip", 4, network, prefix))
    return zlib.crc32(b"ip 4 %d " % prefix + network.to_bytes(4, "big"))


def _stat_key(st: os.stat_result | None) -> tuple[str | None, int]:
    if st is None:
        return None, 0
    return (f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}",
            max(st.st_mtime_ns, st.st_ctime_ns))


def passed_over_messages(member: MemberFile, list_type: lt.ListType,
                         found: list[tuple[int, str]]) -> list[Message]:
    """TCP2671 for the first NAMED_MOST of ``found`` (record number, reason: records of
    the member that are not entries), and TCP2673 counting the others."""
    messages = [Message("TCP2671", member.member, member.file, member.library, number, reason)
                for number, reason in found[:NAMED_MOST]]
    if len(found) > NAMED_MOST:
        messages.append(Message("TCP2673", len(found) - NAMED_MOST, member.member, member.file,
                                member.library, list_type.type))
    return messages


class ListIndex:
    """The index of one member. Use under the member's lock, as ListMember does."""

    def __init__(self, member: MemberFile, list_type: lt.ListType):
        self.member, self.list_type = member, list_type
        self.path = member.directory / f".{member.member}.idx"
        self._file_name = str(self.path)
        # (the group's member lock, the connection) when the index file was last found
        # to be the one connected: while a script keeps holding that lock, no other
        # command can remove or replace the file, so its commands do not each look. The
        # very lock (``is``), not an equal one: a lock let go at a flush and taken again
        # is a tuple of the same path and, mostly, the same descriptor number, and in
        # between anyone may have deleted the index (qatmadrlst(5)).
        self._checked: tuple = (None, None)
        self.db = None
        self._name: str | None = None
        self.state: _State | None = None
        # TCP2671 for the records that are not entries (a hand edit): such a line is
        # passed over, so it does not stop every change to the list, and named by every
        # command that syncs the index (the lines are kept in the index's passed_over
        # table) until it is corrected or removed: not only by the first one after the
        # edit. At most NAMED_MOST, then a count (TCP2673).
        self.passed_over: list[Message] = []
        self._found_bad: list[tuple[bytes, str]] = []      # (line, reason), as _rows finds
        self._asked: tuple = (None, 0)     # (identity, its bucket) of the last find

    # --- bringing the index up to date -----------------------------------------------

    def sync(self, read: bool = False, rowids: bool = False) -> bytes | None:
        """Make the index describe the member as it is (a record that is not an entry
        passed over: ``passed_over``).
        With ``read``, returns the member's bytes, which the index then describes; with
        ``rowids``, every record found has its row id (for a removal)."""
        in_memory, fresh = self.list_type.secret, False
        while True:
            try:
                self._connect(in_memory)
                data = self._sync(read, rowids)
                self.passed_over = self._passed_over_messages(data)
                return data
            except (OSError, _sqlite().Error) as error:
                # (The member's own errors are CLErrors, for the user.) A damaged index
                # file is made again; one we cannot use is left alone, for memory.
                if in_memory:
                    raise
                damaged = _damaged(error) and not fresh
                self._forget(remove_file=damaged)
                in_memory, fresh = not damaged, True

    def _sync(self, read: bool, rowids: bool = False) -> bytes | None:
        checked_ns = time.time_ns()           # before the stat: see _State.trusted_by_stat
        key, changed_ns = _stat_key(self.member.stat())
        if read or rowids:
            self._write_unwritten()           # a removal needs every record's row id
        state = self.state = self._current_state()
        data = None
        if state is not None and key == state.stat_key:
            if (_own_keys.get(self._name) == key or state.trusted_by_stat()) and not read:
                return None
            if not read and _crc_of_member(self.member.path, state.size) == state.crc:
                # (Mapped, not read: a 28 MB member is not copied to check it.)
                self._keep_state(state.replace(checked_ns=checked_ns))
                return None
            data = self.member.read_bytes()
            if len(data) == state.size and zlib.crc32(data) == state.crc:
                if not state.trusted_by_stat():
                    self._keep_state(state.replace(checked_ns=checked_ns))
                return data
        # The member is not what the index says: from here on, in the index file.
        if self._write_unwritten():
            state = self.state = self._load_state()
        if data is None:
            data = self.member.read_bytes()
        if (state is not None and state.whole and key is not None
                and _same_inode(key, state.stat_key)
                and len(data) > state.size and zlib.crc32(data[:state.size]) == state.crc):
            self._add_lines(state, data[state.size:], key, changed_ns, checked_ns)
        else:
            self._rebuild(data, key, changed_ns, checked_ns)
        return data

    def _rebuild(self, data: bytes, key: str | None, changed_ns: int, checked_ns: int) -> None:
        lines = data.decode("utf-8", "surrogateescape").splitlines()
        with _transaction(self.db) as db:
            # Rows in bulk, then the bucket index: far faster than keeping it as we go.
            # Made again, not emptied: an index of an older version has other columns.
            db.execute("DROP TABLE IF EXISTS records")
            db.execute(_RECORDS)
            self._found_bad = []
            db.executemany("INSERT INTO records (bucket, line, at) VALUES (?, ?, ?)",
                           self._rows(lines, _line_offsets(data, len(lines), 0)))
            db.execute("CREATE INDEX records_bucket ON records (bucket)")
            db.execute("DELETE FROM passed_over")
            db.executemany("INSERT INTO passed_over (line, reason) VALUES (?, ?)", self._found_bad)
            self._write_state(_State(key, len(data), zlib.crc32(data), len(lines),
                                     _ends_whole(data), changed_ns, checked_ns))
            self._keep_layout(sum(1 for line in lines if is_deleted_record(line)), True)

    def _add_lines(self, state: _State, tail: bytes, key: str | None, changed_ns: int,
                   checked_ns: int) -> None:
        """Add the records of ``tail``, appended to what ``state`` describes (whole lines)."""
        self._found_bad = []
        rows, new_state = self._appended_rows(state, tail, key, changed_ns, checked_ns)
        with _transaction(self.db) as db:
            db.executemany("INSERT INTO records (bucket, line, at) VALUES (?, ?, ?)", rows)
            db.executemany("INSERT INTO passed_over (line, reason) VALUES (?, ?)", self._found_bad)
            self._write_state(new_state)

    def _appended_rows(self, state: _State, tail: bytes, key: str | None, changed_ns: int,
                       checked_ns: int, entry: Entry | None = None
                       ) -> tuple[list[tuple[int, bytes, int | None]], _State]:
        """The rows of ``tail``, appended to what ``state`` describes, and the state after.
        ``entry``: the entry whose record ``tail`` may be (ADDSMTPLE's, read back before
        it was written): then its row is made without parsing the line again."""
        lines = tail.decode("utf-8", "surrogateescape").splitlines()
        if (entry is not None and len(lines) == 1 and lines[0] == entry.record
                and len(tail) == len(lines[0].encode("utf-8", "surrogateescape")) + 1):
            asked, known = self._asked
            rows = [(known if asked is entry.identity else bucket(entry.identity), tail[:-1],
                     state.size)]
        else:
            rows = list(self._rows(lines, _line_offsets(tail, len(lines), state.size)))
        return rows, _State(key, state.size + len(tail), zlib.crc32(tail, state.crc),
                            state.lines + len(lines), _ends_whole(tail), changed_ns, checked_ns)

    def _rows(self, lines: list[str], offsets: Iterable[int | None]
              ) -> Iterator[tuple[int, bytes, int | None]]:
        """(bucket, line, where it starts in the member) of every record; a line that
        does not parse is not an entry and is left out, with its reason in ``_found_bad``."""
        list_type = self.list_type
        for line, at in zip(lines, offsets):
            fast = canonical_ip4_network(list_type, line)
            if fast is not None:
                yield _ip4_bucket(*fast), line.encode("utf-8", "surrogateescape"), at
                continue
            try:
                entry = parse_record_fast(list_type, line)
            except CLError as bad:
                self._found_bad.append((line.encode("utf-8", "surrogateescape"),
                                        bad.escape.text.rstrip(".")))
                continue
            if entry is not None:
                yield bucket(entry.identity), line.encode("utf-8", "surrogateescape"), at

    def _passed_over_messages(self, data: bytes | None) -> list[Message]:
        """TCP2671 for the first NAMED_MOST records of the member that are not entries,
        with their record numbers as the member is now, and TCP2673 counting the rest.
        The member is read only when it has such records."""
        if self.state is not None and _none_passed_over.get(self._name) is self.state:
            return []           # known since: a script's commands do not each ask again
        reasons = {bytes(line).decode("utf-8", "surrogateescape"): reason
                   for line, reason in self.db.execute("SELECT line, reason FROM passed_over")}
        if not reasons:
            _none_passed_over[self._name] = self.state
            return []
        if data is None:
            data = self.member.read_bytes()
        member, found = self.member, []
        for number, line in enumerate(data.decode("utf-8", "surrogateescape").splitlines(), 1):
            reason = reasons.get(line)
            if reason is not None:
                found.append((number, reason))
        return passed_over_messages(member, self.list_type, found)

    # --- questions ---------------------------------------------------------------------

    def find(self, entry: Entry) -> list[Match]:
        """The records whose identity is the entry's, in member order (after sync)."""
        query = "SELECT rowid, line, at FROM records WHERE bucket = ? ORDER BY rowid"
        wanted = bucket(entry.identity)
        self._asked = entry.identity, wanted      # for appended(): the same bucket
        try:
            rows = self.db.execute(query, (wanted,)).fetchall()
        except _sqlite().Error as error:
            # The file failed us between sync and now: ask an index in memory instead.
            self._forget(remove_file=_damaged(error))
            self._connect(in_memory=True)
            self._sync(read=False)
            rows = self.db.execute(query, (wanted,)).fetchall()
        unwritten = _unwritten.get(self._name)
        if unwritten is not None:          # after every row of the file, in member order
            rows += [(None, raw, None) for raw in unwritten.by_bucket.get(wanted, ())]
        found = []
        valid = bool(rows) and self._offsets_valid()
        for rowid, raw, at in rows:
            line = raw.decode("utf-8", "surrogateescape")
            other = parse_record_fast(self.list_type, line)   # it parsed when it was added
            if other is not None and other.identity == entry.identity:
                found.append(Match(rowid, line, other, at if valid else None))
        return found

    # --- our own changes ---------------------------------------------------------------

    def appended(self, written: tuple[int, bytes, int, os.stat_result] | None = None,
                 entry: Entry | None = None) -> None:
        """After an append to the member (under the lock), add what was appended:
        ``written`` as MemberFile.append returns it (where, the bytes, when the status
        after them was taken, and that status), or else read from the member;
        ``entry``: the entry whose record was appended, as read back before.

        Never fails the command, whose change is made: on any trouble the index is left
        describing the member before the append, and the next sync sees the difference."""
        state = self.state
        try:
            if state is None or not state.whole:
                return                      # the next sync reads the member
            if (written is not None and written[0] == state.size
                    and written[3].st_size == state.size + len(written[1])):
                tail, checked_ns, st = written[1], written[2], written[3]
                key, changed_ns = _stat_key(st)
                if not _same_inode(key, state.stat_key):
                    return
            else:
                checked_ns = time.time_ns()
                fd = os.open(self.member.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    st = os.fstat(fd)
                    key, changed_ns = _stat_key(st)
                    if not _same_inode(key, state.stat_key):
                        return
                    tail = os.pread(fd, max(0, st.st_size - state.size), state.size)
                finally:
                    os.close(fd)
            # Not checking the bytes before: we hold the lock, and a writer that ignores it
            # is the one exception the module docstring names (another process, whose
            # stat key is within RACY_NS of checked_ns, compares the CRC-32).
            self._found_bad = []
            rows, new_state = self._appended_rows(state, tail, key, changed_ns, checked_ns,
                                                  entry)
            if self._found_bad:     # another writer's line, not ours: the next sync reads all
                self._forget_state()
                return
            unwritten = _unwritten.get(self._name)
            if unwritten is None:
                unwritten = _unwritten[self._name] = _Unwritten(self.list_type, state, state, [], {})
            unwritten.rows += rows
            for found_bucket, line, _ in rows:
                unwritten.by_bucket.setdefault(found_bucket, []).append(line)
            if _none_passed_over.get(self._name) is state:
                _none_passed_over[self._name] = new_state    # our records are entries
            unwritten.state = self.state = new_state
            _own_keys[self._name] = key
            if len(unwritten.rows) >= UNWRITTEN_MOST:
                self._write_unwritten()
        except (CLError, OSError, _sqlite().Error):
            self._forget_state()

    def marked_removed(self, removed: list[Match], spans: list[tuple[int, bytes]],
                       written: tuple[int, os.stat_result]) -> None:
        """After MemberFile.mark_removed(spans) (under the lock), which returned
        ``written``: when it looked, and the status of the file it wrote. The records
        of ``removed`` are deleted records now, every other byte is as it was. The
        checksum is brought forward from the bytes changed (crc32_overwritten), not
        from a read of the member; the stat key is the file written's, not the path's
        (a file renamed over the member meanwhile, by a hand edit, is then seen by the
        next sync)."""
        state = self.state
        try:
            checked_ns, key, changed_ns = written[0], *_stat_key(written[1])
            crc = state.crc
            for offset, record in spans:
                crc = crc32_overwritten(crc, state.size, offset, record,
                                        deleted_record(len(record)))
            deleted = self.deleted_records() + len(spans)
            with _transaction(self.db) as db:
                db.executemany("DELETE FROM records WHERE rowid = ?", [(m.rowid,) for m in removed])
                self._write_state(state.replace(stat_key=key, crc=crc, changed_ns=changed_ns,
                                                checked_ns=checked_ns))
                self._keep_layout(deleted, self._offsets_valid())
            _own_keys[self._name] = key
        except (CLError, OSError, _sqlite().Error):
            self._forget_state()

    def deleted_records(self) -> int:
        """How many deleted records (mark_removed's) the member holds, as far as known."""
        return self._layout()[0]

    def _offsets_valid(self) -> bool:
        """Do the rows' offsets (records.at) still say where their lines are? Made with
        the rows, kept by appends and removals in place; a member written whole again
        moves every line after the first one taken out."""
        return self._layout()[1]

    def _layout(self) -> tuple[int, bool]:
        row = self.db.execute("SELECT deleted, offsets_valid FROM layout").fetchone()
        return (row[0], bool(row[1])) if row is not None else (0, False)

    def _keep_layout(self, deleted: int, offsets_valid: bool) -> None:
        self.db.execute("INSERT OR REPLACE INTO layout (one, deleted, offsets_valid)"
                        " VALUES (1, ?, ?)", (deleted, int(offsets_valid)))

    def replaced(self, removed: Iterable[Match], data: bytes, lines: int,
                 reindex: bool = False, inode: int | None = None) -> None:
        """After the member was replaced by ``data`` (``lines`` lines): the records of
        ``removed`` are gone, every other line is as it was. ``reindex``: make the
        index again from ``data``, rows and their offsets (a large member, whose
        removals find their records by offset). ``inode``: the file written
        (MemberFile.replace); another one there now (renamed over it by a hand edit)
        is not described: the next sync reads it."""
        try:
            checked_ns = time.time_ns()
            st = self.member.stat()
            if inode is not None and (st is None or st.st_ino != inode):
                self._forget_state()
                return
            key, changed_ns = _stat_key(st)
            if reindex:
                self._rebuild(data, key, changed_ns, checked_ns)
                _own_keys[self._name] = key
                return
            with _transaction(self.db) as db:
                db.executemany("DELETE FROM records WHERE rowid = ?", [(m.rowid,) for m in removed])
                self._write_state(_State(key, len(data), zlib.crc32(data), lines,
                                         _ends_whole(data), changed_ns, checked_ns))
                self._keep_layout(0, False)   # written whole: no deleted record left
            _own_keys[self._name] = key
            if self.passed_over:            # named with their record numbers as they are now
                self.passed_over = self._passed_over_messages(data)
        except (CLError, OSError, _sqlite().Error):
            self._forget_state()

    # --- the database ------------------------------------------------------------------

    def _connect(self, in_memory: bool) -> None:
        sqlite3 = _sqlite()
        name = self._name = f":memory: {self.member.path}" if in_memory else self._file_name
        cached = _connections.get(name)
        if cached is not None and not in_memory:
            group = current_group()
            lock = group.lock if group is not None else None
            if lock is None or self._checked[0] is not lock or self._checked[1] is not cached:
                if _inode(self.path) != cached[1]:
                    _close(name)            # removed or replaced since: open what is there
                    cached = None
                else:
                    self._checked = (lock, cached)
        if cached is None:
            # check_same_thread: every use is under the member's lock, whichever thread.
            if in_memory:
                db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                _connections[name] = (db, None)
            else:
                # Made with the member's mode (0600 for a secret one): SQLite gives its
                # -wal and -shm files the mode of the database.
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self.member.mode)
                try:
                    inode = os.fstat(fd).st_ino
                finally:
                    os.close(fd)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                _connections[name] = (db, inode)
                # Commits are atomic whatever happens to the process, with no fsync at
                # all: after a crash of the process the index may be older than the
                # member, which it then notices (stat key, CRC-32), but it is never torn.
                # Only a crash of the machine could tear it, and that is a new boot: an
                # index written in an earlier boot is made again (_read_state). The fsyncs
                # SQLite would make (the WAL, its checkpoint, the directory) were three,
                # more than the change itself (journal, member), in every ADDSMTPLE.
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = OFF" if BOOT_ID else "PRAGMA synchronous = NORMAL")
                db.execute("PRAGMA journal_size_limit = 4194304")
            db.executescript(_SCHEMA)
        self.db = _connections[name][0]

    def _forget(self, remove_file: bool) -> None:
        """Drop the connection; with ``remove_file``, the index file too (damaged?)."""
        if self._name is not None:
            _close(self._name)
        self.db, self._name, self.state = None, None, None
        if remove_file:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.unlink(f"{self.path}{suffix}")
                except OSError:
                    pass

    def _forget_state(self) -> None:
        """Make sure the index claims to describe no member (after a failed update)."""
        _unwritten.pop(self._name, None)
        _own_keys.pop(self._name, None)
        _none_passed_over.pop(self._name, None)
        try:
            self.db.execute("DELETE FROM state")
        except Exception:
            self._forget(remove_file=True)
        self.state = None

    def _load_state(self) -> _State | None:
        """What the index file describes."""
        return _read_state(self.db, self.list_type)

    def _write_state(self, state: _State) -> None:
        _store_state(self.db, self.list_type, state)
        self.state = state

    def _current_state(self) -> _State | None:
        """What the index describes: the file and this process's unwritten appends."""
        unwritten = _unwritten.get(self._name)
        return unwritten.state if unwritten is not None else self._load_state()

    def _keep_state(self, state: _State) -> None:
        """``state`` for what the index describes (after a check: a new checked_ns)."""
        unwritten = _unwritten.get(self._name)
        if unwritten is not None:
            unwritten.state = self.state = state
        else:
            self._write_state(state)

    def _write_unwritten(self) -> bool:
        """Write this process's appends to the index file; False when there were none."""
        unwritten = _unwritten.pop(self._name, None)
        if unwritten is None:
            return False
        _write(self.db, unwritten)
        return True


class _Unwritten(Record):
    """Records this process appended to a member, not yet in its index file."""
    list_type: lt.ListType
    base: _State                      # what the index file described then
    state: _State                     # the member with them
    rows: list[tuple[int, bytes]]     # (bucket, line), in member order
    by_bucket: dict[int, list[bytes]]  # bucket -> their lines


# index name (as _connections) -> this process's appends not yet in the file
_unwritten: dict[str, _Unwritten] = {}

# index name -> the member's stat key right after this process's own last change
_own_keys: dict[str, str | None] = {}

# index name -> the state of the index when this process found no record passed over
# (its appends, all entries, keep that true): the table is not read again until the
# member changes otherwise.
_none_passed_over: dict[str, "_State"] = {}

# Written at the latest when this many are waiting (memory, and a process killed loses
# no more than the time to index them again).
UNWRITTEN_MOST = 20_000


def _boot_id() -> str:
    """This boot of the machine (Linux); "" where it cannot be told."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


BOOT_ID = _boot_id()


def _read_state(db, list_type: lt.ListType) -> _State | None:
    row = db.execute(
        "SELECT version, list_type, stat_key, size, crc, lines, whole, changed_ns,"
        " checked_ns FROM state").fetchone()
    if row is None or row[0] != INDEX_VERSION or row[1] != list_type.type:
        return None
    boot = db.execute("SELECT id FROM boot").fetchone()
    if BOOT_ID and (boot is None or boot[0] != BOOT_ID):
        return None             # written before the machine last started: see _connect
    return _State(row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8])


def _store_state(db, list_type: lt.ListType, state: _State) -> None:
    db.execute(
        "INSERT OR REPLACE INTO state (one, version, list_type, stat_key, size, crc,"
        " lines, whole, changed_ns, checked_ns) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (INDEX_VERSION, list_type.type, state.stat_key, state.size, state.crc,
         state.lines, int(state.whole), state.changed_ns, state.checked_ns))
    db.execute("INSERT OR REPLACE INTO boot (one, id) VALUES (1, ?)", (BOOT_ID,))


def _write(db, unwritten: _Unwritten) -> None:
    """Unwritten appends into the index file, unless another process changed the file
    meanwhile (it indexed the member as it found it: these records are then in it, or
    the member is no longer what they extend)."""
    with _transaction(db):
        if _read_state(db, unwritten.list_type) == unwritten.base:
            db.executemany("INSERT INTO records (bucket, line, at) VALUES (?, ?, ?)",
                           unwritten.rows)
            _store_state(db, unwritten.list_type, unwritten.state)


# --- CRC-32 of a member with bytes overwritten, without reading it ----------------------
# CRC-32 is linear: for messages of one length, crc(a) ^ crc(b) is the bare remainder
# (no initial value, no final xor) of a ^ b, which is zeros but where a and b differ.
# Leading zeros leave a bare remainder as it is; trailing ones multiply it by x^(8n)
# modulo the polynomial (zlib's crc32_combine: multmodp, x2nmodp).

_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected, as zlib keeps it)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x8nmodp(n: int) -> int:
    """x^(8n) modulo the polynomial: the effect of n zero bytes."""
    p, square = 1 << 31, 1 << 23        # x^0; x^8 (reflected: x^k is bit 31 - k)
    while n:
        if n & 1:
            p = _multmodp(square, p)
        n >>= 1
        square = _multmodp(square, square)
    return p


def crc32_overwritten(crc: int, size: int, offset: int, old: bytes, new: bytes) -> int:
    """The CRC-32 of ``size`` bytes whose CRC-32 was ``crc``, once the bytes ``old`` at
    ``offset`` are overwritten by ``new`` (as long): a few hundred steps, whatever the
    size (a removal in place must not read a 28 MB member to keep its checksum)."""
    delta = bytes(a ^ b for a, b in zip(old, new))
    bare = zlib.crc32(delta) ^ zlib.crc32(bytes(len(delta)))
    return crc ^ _multmodp(_x8nmodp(size - offset - len(delta)), bare)


def _crc_of_member(path, size: int) -> int | None:
    """CRC-32 of the member's bytes, mapped; None when it is not ``size`` bytes."""
    import mmap
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size != size:
                return None
            if not size:
                return 0
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return zlib.crc32(view)
    except (OSError, ValueError):
        return None


def _line_offsets(data: bytes, count: int, base: int) -> Iterable[int | None]:
    """Where each of the ``count`` lines (str.splitlines of ``data``) starts, ``data``
    starting at ``base`` in the member; all None when splitlines breaks lines at more
    than "\n" (a "\r", a form feed ...): then the index keeps no offsets."""
    pieces = data.split(b"\n")
    if data.endswith(b"\n"):
        pieces.pop()
    if len(pieces) != count:
        return repeat(None)
    return accumulate(map((1).__add__, map(len, pieces)), initial=base)


def _same_inode(key: str, before: str | None) -> bool:
    """The member of ``key`` is the file of ``before`` (or before there was none)."""
    return before is None or key.split(":")[0] == before.split(":")[0]


def _damaged(error: Exception) -> bool:
    """Not a database, or a malformed one (not: locked, read-only, cannot open)."""
    return type(error) is _sqlite().DatabaseError


@contextlib.contextmanager
def _transaction(db):
    """One write transaction: committed when the block ends, rolled back if it raises.
    IMMEDIATE: the write lock at once (we hold the member's lock anyway)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:       # SQLite may have rolled back already (a full disk)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _ends_whole(data: bytes) -> bool:
    return not data or data.endswith(b"\n")


def _sqlite():
    import sqlite3        # only ADDSMTPLE and RMVSMTPLE need it: the others start sooner
    return sqlite3


def _inode(path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _close(name: str) -> None:
    _unwritten.pop(name, None)      # the index it was for is gone: nothing to extend
    _own_keys.pop(name, None)
    _none_passed_over.pop(name, None)
    cached = _connections.pop(name, None)
    if cached is not None:
        try:
            cached[0].close()
        except Exception:
            pass


@atexit.register
def _close_all() -> None:
    for name, unwritten in list(_unwritten.items()):
        try:
            _write(_connections[name][0], unwritten)
        except Exception:
            pass                    # a cache: the next command indexes the records again
    # Closing checkpoints the write-ahead log into the index and removes it.
    for name in list(_connections):
        _close(name)
