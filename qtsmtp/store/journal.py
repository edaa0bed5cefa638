"""A library's change journal: what every command changed in a member, in order.

Each library (``QUSRSYS``) has one journal, ``.journal`` in the library directory: one
JSON line per change, numbered by a generation that only grows. A server job keeps a
compiled policy of the members; rather than compare a member before and after to find
out what a command did (a million-entry list read again), it reads the journal from
where it left off and applies what each record says, then checks the members are what
the records said they would be (qtsmtp.config.policyload). The members stay the truth:
the journal only says how to get from one version of them to the next.

A record::

    {"gen": 7, "file": "QATMADRLST", "member": "ACCEPTRLY", "op": "add",
     "records": ["10.1.1.1 255.255.255.255"],
     "before": [inode, size, mtime_ns], "after": [inode, size]}

``op`` is "add" (records appended), "remove" (the member written again without
``records``, every line of one entry) or "replace" (anything else: CHGSMTPA's new
attributes, with ``changes``, or another command's whole member). ``before`` is the
member's stat key when the change was made (null: no member), ``after`` the inode and
size the member has once it is made, and for a change made in place (a "remove" that
marks records deleted where they are, same inode, same size: MemberFile.mark_removed)
its modification time too, which the writer sets last. The records of a member that holds credentials
are not written here: the journal would be a second copy of the passwords.
"cut" is the next command's cut of a record torn by a command killed in its append
(store.member, TCP2675): ``records`` the torn bytes that were cut off (no record of the
member's), ``after`` the size the member was cut back to. It is journaled after the cut,
under the journal lock (``made_then_journaled``), where every other change is journaled
before it is made: killed between the two, a cut journaled first would leave the torn
line with the cut as the member's last record, and the append that tells it from a hand
edit no longer the last (a cut made and not journaled is only read again, TCP3023).

Writing (``MemberFile``, under the member's lock): ``change()`` takes the journal's own
lock (inside the member lock, so every change of the library gets the next generation
in turn), appends the record with one O_APPEND write and fsyncs it, then lets the
caller write the member, and only then lets the next change have its turn. A reader
that holds the lock shared therefore sees the journal and the members agree, but for a
change whose writer died between the two writes: the member then is not what the
record said, and the reader compiles from the members. In a group commit (``qtsmtp
run``) the fsync waits for the group's, with the members'.

The journal stays small: past MAX_BYTES the writer replaces it by a file holding its
last KEEP_BYTES of records, headed by a "start" line naming the generation before them
(and by the last record of each member whose last line is open, should it be older:
what tells a record torn by a command killed in its append from a hand edit,
store.member.torn_append_start; its generation is below the start's, so a reader
passes over it as read).
A reader that had not read that far finds itself behind the cut and compiles from the
members; so does one that finds a journal of another ``journal`` id (the file was
deleted and made again). Files are made with mode 0600 whatever the umask.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from qtsmtp.store.context import contextmanager
from qtsmtp.store.durable import put_in_place, write_aside

# The writer's paths are str: a CL command starts without pathlib (store.root).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

JOURNAL, JOURNAL_LOCK = ".journal", ".journal.lock"
MAX_BYTES = 1 << 20              # the journal is cut back to KEEP_BYTES beyond this
KEEP_BYTES = 1 << 18             # about 1,500 records: a job further behind compiles
TAIL_BYTES = 1 << 16             # read from the end for the last generation
MODE = 0o600
ADD, REMOVE, REPLACE, START = "add", "remove", "replace", "start"
CUT = "cut"

# Test-only fault points, where a crash would hurt most: QTSMTP_TEST_FAULT=NAME kills
# (SIGKILL) the process that reaches fault point NAME; QTSMTP_TEST_FAULT=once:PATH kills
# the first process that reaches fault point NAME after the test made the file PATH.NAME
# (it takes the file away: one process of a server dies, once). after-journal: a writer
# between its journal record and its member write; in-place-written: a writer that has
# marked its records deleted in place, before it sets the time its record promised
# (store.member.MemberFile.mark_removed); job-apply: a server job that has applied
# records to a copy of its policy, before it uses it.
FAULT_ENV = "QTSMTP_TEST_FAULT"

# Read once: the environment of a process is set before it starts.
_FAULT = os.environ.get(FAULT_ENV, "")


class _Writer:
    """This process's hold on one library's journal: the lock and the journal open
    (a new one after a fork: a lock belongs to the open file, which a forked child
    would share with its parent), and where the journal was when this process last
    wrote to it, so the next change needs no read of its tail. A script makes
    thousands of changes: none of this is done again for each."""

    __slots__ = ("library", "path", "lock", "fd", "inode", "size", "generation",
                 "journal_id", "written")

    def __init__(self, library: str):
        self.library = library
        self.path = os.path.join(library, JOURNAL)
        self.lock = os.open(os.path.join(library, JOURNAL_LOCK),
                            os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, MODE)
        self.fd = -1
        self.inode = self.size = self.generation = -1
        self.journal_id = ""
        self.written: tuple[str, int] | None = None    # this process's last change

    def reopen(self) -> os.stat_result:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except FileNotFoundError:
            _start(self.library, os.urandom(8).hex(), 0, b"")
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        return os.fstat(self.fd)


_writers: dict[str, _Writer] = {}


def _writer(library) -> _Writer:
    writer = _writers.get(library)
    if writer is None:
        key = library if isinstance(library, str) else os.fspath(library)
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = _Writer(key)
        _writers[library] = writer
    return writer


def _forget_writers() -> None:
    # A forked child opens its own: the parent's locks are the parent's (see _Writer).
    _writers.clear()


os.register_at_fork(after_in_child=_forget_writers)


def journal_path(library: str | Path) -> Path:
    from pathlib import Path
    return Path(library) / JOURNAL


def last_written(library) -> tuple[str, int] | None:
    """(journal id, generation) of the last change this process made in ``library``."""
    writer = _writers.get(library if isinstance(library, str) else os.fspath(library))
    return writer.written if writer is not None else None


def fault_point(name: str) -> None:
    if not _FAULT:
        return
    if _FAULT.startswith("once:"):
        try:
            os.unlink(f"{_FAULT[5:]}.{name}")
        except OSError:
            return
    elif _FAULT != name:
        return
    import signal
    os.kill(os.getpid(), signal.SIGKILL)


def _lock_fd(library) -> int:
    return _writer(library).lock


# --- writing ------------------------------------------------------------------------

def begin(library, file: str, member: str, op: str, before: tuple | None,
          after: tuple, group=None, records: list | None = None,
          changes: dict | None = None) -> _Writer:
    """Take the library's journal lock and journal a change of member ``file(member)``:
    ``op`` (ADD, REMOVE, REPLACE) with its ``records`` or ``changes``, the member's stat
    key ``before`` and its (inode, size) ``after``. The caller then writes the member
    and calls ``end`` with what this returns, in a ``finally``: the next change of the
    library waits until then. ``group``: the store's SyncGroup, when the fsync is to be
    made with the group's. Raises OSError (the lock let go) when the record cannot be
    written durably: then the member must not be written."""
    writer = _writer(library)
    fcntl.flock(writer.lock, fcntl.LOCK_EX)
    try:
        _append(writer, file, member, op, before, after, records, changes, group)
    except BaseException:
        fcntl.flock(writer.lock, fcntl.LOCK_UN)
        raise
    if _FAULT:
        fault_point("after-journal")
    return writer


@contextmanager
def made_then_journaled(library, file: str, member: str, op: str, before: tuple | None,
                        after: tuple, records: list | None = None):
    """The journal lock held while the caller makes a change (the with block), then its
    record appended, durably: for the cut of a torn record only (see the module's
    docstring). A reader holding the lock shared sees neither or both."""
    writer = _writer(library)
    fcntl.flock(writer.lock, fcntl.LOCK_EX)
    try:
        yield
        _append(writer, file, member, op, before, after, records, None, None)
    finally:
        fcntl.flock(writer.lock, fcntl.LOCK_UN)


def end(writer: _Writer) -> None:
    """The member is written (or given up): the next change may be journaled."""
    fcntl.flock(writer.lock, fcntl.LOCK_UN)


@contextmanager
def change(library, file: str, member: str, op: str, before, after, group=None,
           records: list | None = None, changes: dict | None = None):
    """``begin`` ... ``end`` as a with statement: yields the generation."""
    writer = begin(library, file, member, op, before, after, group, records, changes)
    try:
        yield writer.generation
    finally:
        end(writer)


def _append(writer: _Writer, file, member, op, before, after, records, changes,
            group) -> None:
    st = os.fstat(writer.fd) if writer.fd >= 0 else None
    if st is None or st.st_nlink == 0:          # none yet, or cut back (renamed over)
        st = writer.reopen()
    torn = False
    if st.st_ino != writer.inode or st.st_size != writer.size:
        found = _last_generation(writer.fd, st.st_size)
        if found is None:
            # Not a journal we can number on (emptied or overwritten by hand): a new
            # one, under a new id, so that every reader compiles from the members.
            _start(writer.library, os.urandom(8).hex(), 0, b"")
            st = writer.reopen()
            found = _last_generation(writer.fd, st.st_size)
        writer.generation, writer.journal_id, torn = found
    generation = writer.generation + 1
    data = record_line(file, member, op, before, after, records, changes, generation)
    if torn:
        data = b"\n" + data
    if st.st_size + len(data) > MAX_BYTES:
        size, inode = _cut(writer.library, writer.journal_id, data)
        writer.reopen()
    else:
        if os.write(writer.fd, data) != len(data):
            raise OSError(errno.EIO, "short write", writer.path)   # a torn line: see above
        if group is None:
            os.fsync(writer.fd)
        elif not group.holds(key := f"{writer.path}@{st.st_ino}"):
            group.add(writer.path, os.dup(writer.fd), False, writer.library, key=key,
                      count=False)
        size, inode = st.st_size + len(data), st.st_ino
    writer.inode, writer.size, writer.generation = inode, size, generation
    writer.written = (writer.journal_id, generation)


# json.dumps's own C string encoder. json itself is loaded only where a record is read
# or a dict written: not by ADDSMTPLE or RMVSMTPLE, whose start-up it would cost
# (bench/bench_cl.py).
try:
    from _json import encode_basestring_ascii as _string
except ImportError:             # a Python without the C accelerator
    from json.encoder import encode_basestring_ascii as _string


_heads: dict[tuple[str, str, str], str] = {}
# An "after" of 2 or 3 numbers (every record's), formatted in one step.
_AFTER = {2: "[%d,%d]", 3: "[%d,%d,%d]"}


def _numbers(values: tuple) -> str:
    return "[" + ",".join("%d" % n for n in values) + "]"


def record_line(file: str, member: str, op: str, before, after, records, changes,
                generation: int) -> bytes:
    """The record as one line of JSON, ASCII only: a record of a hand-edited member may
    hold any bytes (as surrogates). Put together here, not by json.dumps of a dict:
    that was a tenth of what an ADDSMTPLE of a script costs."""
    head = _heads.get((file, member, op))
    if head is None:
        head = _heads[file, member, op] = (f'{{"file":{_string(file)},"member":'
                                           f'{_string(member)},"op":{_string(op)},"before":')
    after = tuple(after)
    line = (f'{head}{"null" if before is None else "[%d,%d,%d]" % tuple(before)},'
            f'"after":{_AFTER[len(after)] % after if len(after) in _AFTER else _numbers(after)}')
    if records is not None:
        line += f',"records":[{",".join(map(_string, records))}]'
    if changes is not None:
        import json
        line += ',"changes":' + json.dumps(changes, separators=(",", ":"))
    return f'{line},"gen":{generation:d}}}\n'.encode("ascii")


def start_line(generation: int, journal_id: str) -> bytes:
    """The start line of a journal file, as json.dumps would write it (_own_start reads
    it back without json)."""
    return f'{{"gen":{generation:d},"op":"start","journal":{_string(journal_id)}}}\n'.encode("ascii")


def _last_generation(fd: int, size: int) -> tuple[int, str, bool] | None:
    """(generation of the last whole record, journal id, whether the file ends in a
    torn line: a writer that died in its write); None when it has no start line."""
    tail = os.pread(fd, min(size, TAIL_BYTES), max(0, size - TAIL_BYTES))
    torn = bool(tail) and not tail.endswith(b"\n")
    generation = None
    for line in reversed(tail.split(b"\n")):
        if not line:
            continue
        own = _own_generation(line)
        if own is None and (start := _own_start(line)) is not None:
            own = start[0]
        if own is not None:
            generation = own
            break
        parsed = parse_line(line)
        if parsed is not None:
            generation = parsed["gen"]
            break
    head = os.pread(fd, 4096, 0).split(b"\n", 1)[0]
    start = _own_start(head)
    if start is None:
        parsed = parse_line(head)
        if parsed is None or parsed.get("op") != START or not parsed.get("journal"):
            return None
        start = parsed["gen"], parsed["journal"]
    return (start[0] if generation is None else generation), start[1], torn


# The lines record_line and _start write, read without json (the writer reads two in
# every new process); any other line, hand-made or torn, goes to parse_line.
_RECORD_HEAD, _RECORD_GEN = b'{"file":', b',"gen":'
_START_HEAD, _START_MIDDLE = b'{"gen":', b',"op":"start","journal":"'


def _own_generation(line: bytes) -> int | None:
    """The generation of a record line as record_line writes it, else None."""
    if line.startswith(_RECORD_HEAD) and line.endswith(b"}"):
        number = line[:-1].rpartition(_RECORD_GEN)[2]
        if number.isdigit() and number.isascii():
            return int(number)
    return None


def _own_start(line: bytes) -> tuple[int, str] | None:
    """(generation, journal id) of a start line as _start writes it, else None."""
    if line.startswith(_START_HEAD) and line.endswith(b'"}'):
        number, middle, journal_id = line[len(_START_HEAD):-2].partition(_START_MIDDLE)
        if middle and number.isdigit() and journal_id.isalnum() and line.isascii():
            return int(number), journal_id.decode("ascii")
    return None


def _start(library, journal_id: str, generation: int, records: bytes) -> tuple[int, int]:
    """A new journal file: a start line, then ``records``; written aside, fsynced and
    renamed into place. Returns its size and inode."""
    library = os.fspath(library)
    path = os.path.join(library, JOURNAL)
    head = start_line(generation, journal_id)
    tmp = os.path.join(library, f"{JOURNAL}.tmp{os.getpid()}")
    data = head + records
    inode = write_aside(tmp, (data,), MODE, exclusive=False)
    put_in_place(tmp, path)
    return len(data), inode


def _cut(library, journal_id: str, new: bytes) -> tuple[int, int]:
    """Replace the journal by its last KEEP_BYTES of whole records and ``new``, after
    the records _still_open carries over."""
    with open(os.path.join(library, JOURNAL), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - KEEP_BYTES))
        kept = f.read()
        if size > KEEP_BYTES:
            kept = kept[kept.find(b"\n") + 1:]      # from a line start
        dropped = size - len(kept)
        carried = _still_open(library, f.fileno(), dropped, kept + new)
    if kept and not kept.endswith(b"\n"):
        kept += b"\n"                           # a torn line stays a line of its own
    first = next((p for line in kept.split(b"\n")
                  if (p := parse_line(line)) is not None and p.get("op") != START), None)
    generation_before = (first or parse_line(new))["gen"] - 1
    return _start(library, journal_id, generation_before, carried + kept + new)


def _still_open(library, fd: int, dropped: int, later: bytes) -> bytes:
    """The lines of the journal's first ``dropped`` bytes (those a cut drops) that are
    the last record of a member whose last line is open, named by no line of ``later``:
    a record a command killed in its append may have left torn, which the next command
    tells from a hand edit by that record (store.member.torn_append_start). Carried over
    the cut, after the start line: their generations are below it, so a job following
    the journal passes over them as read before. Nearly always none: one stat and one
    byte read of each member, once a cut."""
    found = []
    try:
        files = [e for e in os.scandir(library) if e.is_dir() and not e.name.startswith(".")]
        for file in files:
            for entry in os.scandir(file.path):
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                with open(entry.path, "rb") as member:
                    end = os.fstat(member.fileno()).st_size
                    if end and os.pread(member.fileno(), 1, end - 1) != b"\n":
                        found.append((file.name, entry.name))
    except OSError:
        pass                    # a member it cannot read: nothing carried for it
    if not found:
        return b""
    head = os.pread(fd, min(dropped, SCAN_BYTES), max(0, dropped - SCAN_BYTES))
    if dropped > SCAN_BYTES:
        head = head[head.find(b"\n") + 1:]
    carried = []
    for file, member in found:
        named = f'"member":{_string(member)}'.encode("ascii")
        if _last_naming(later, named, file, member) is not _NONE_HERE:
            continue            # the journal kept names it still
        line = _last_line_naming(head, named, file, member)
        if line is not _NONE_HERE and (parse_line(line) or {}).get("op") == ADD:
            carried.append(line + b"\n")
    return b"".join(carried)


def parse_line(line: bytes) -> dict | None:
    """The record of a journal line; None for a line that is not one (torn, empty)."""
    if not line.strip():
        return None
    import json
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("gen"), int):
        return None
    return record


def last_change_of(library, file: str, member: str) -> dict | None:
    """The journal's last record that changed ``file(member)``, None when it holds none
    or that line is not a record (torn, hand-made). Read only when a member's last line
    is open (store.member.torn_append_start): its last TAIL_BYTES first, then, when no
    line there names the member, all of it (at most SCAN_BYTES from its end): a member
    left alone while a script changed others has its last record far from the end."""
    try:
        fd = os.open(os.path.join(os.fspath(library), JOURNAL), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        # None, or one this user may not read (the administrator's, 0600: TSTSMTPRLY
        # run by another user compiles the lists all may read): nothing to go by.
        return None
    named = f'"member":{_string(member)}'.encode("ascii")
    try:
        size = os.fstat(fd).st_size
        for length in (TAIL_BYTES, SCAN_BYTES):
            start = max(0, size - length)
            tail = os.pread(fd, size - start, start)
            if start:
                tail = tail[tail.find(b"\n") + 1:]    # from a line start: a part is no record
            found = _last_naming(tail, named, file, member)
            if found is not _NONE_HERE or not start or length == SCAN_BYTES:
                return None if found is _NONE_HERE else found
    finally:
        os.close(fd)
    return None


_NONE_HERE = object()
# How much of a journal last_change_of reads at most: all a journal the commands keep
# (MAX_BYTES, then cut back), whatever a hand made of it.
SCAN_BYTES = 2 * MAX_BYTES


def _last_naming(tail: bytes, named: bytes, file: str, member: str):
    """The record of the last line of ``tail`` that changed ``file(member)``; None when
    that line is not a record; _NONE_HERE when no line names the member."""
    line = _last_line_naming(tail, named, file, member)
    return line if line is _NONE_HERE else parse_line(line)


def _last_line_naming(tail: bytes, named: bytes, file: str, member: str):
    """The last line of ``tail`` that changed ``file(member)``, or that names it and is
    not a record; _NONE_HERE when no line names the member."""
    end = len(tail)
    while (at := tail.rfind(named, 0, end)) >= 0:
        line_start = tail.rfind(b"\n", 0, at) + 1
        line_end = tail.find(b"\n", at)
        line = tail[line_start:None if line_end < 0 else line_end]
        record = parse_line(line)
        if record is None:
            return line         # a torn or hand-made line naming it: nothing to go by
        if record.get("file") == file and record.get("member") == member:
            return line
        end = line_start
    return _NONE_HERE


# --- reading (the server jobs) --------------------------------------------------------

class Behind(Exception):
    """The journal cannot say what changed since this reader's generation: it is
    another journal, or it was cut back past it, or a line of it is torn."""


class JournalReader:
    """Follows a library's journal from a generation on. Not for several threads."""

    def __init__(self, library: str | Path):
        # The server's: a CL command does not read the journal.
        from pathlib import Path
        self.library = Path(library)
        self.path = journal_path(self.library)
        self.journal_id = ""          # "" before there was any journal
        self.generation = 0           # the last record read
        self._inode: int | None = None
        self._offset = 0              # bytes of that file read (whole lines)

    def has_news(self) -> bool:
        """Cheap (one stat): has the journal changed since it was last read?"""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._inode is not None
        return (st.st_ino, st.st_size) != (self._inode, self._offset)

    @contextmanager
    def shared(self, timeout: float):
        """Hold the journal lock shared: no change is half made meanwhile. Raises
        TimeoutError when a writer holds it longer than ``timeout`` seconds."""
        lock = _lock_fd(self.library)
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the change journal of {self.library} stays locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
        try:
            yield self
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def read_new(self) -> list[dict]:
        """The records after ``generation``, in order, and move past them. Raises
        Behind when the journal cannot say (the caller compiles, then ``skip_to_end``).
        Call under ``shared``."""
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            if self._inode is not None:
                raise Behind("the change journal was removed") from None
            return []
        with f:
            inode = os.fstat(f.fileno()).st_ino
            if inode != self._inode:
                self._follow(f, inode)
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1           # whole lines only
        records = []
        for line in data[:end].split(b"\n")[:-1]:
            record = parse_line(line)
            if record is None:
                raise Behind("a torn line in the change journal")
            if record["gen"] <= self.generation:
                continue                        # read before the journal was cut
            if record["gen"] != self.generation + 1:
                raise Behind(f"generation {record['gen']} follows {self.generation}")
            records.append(record)
            self.generation = record["gen"]
        self._offset += end
        return records

    def _follow(self, f, inode: int) -> None:
        """A new journal file: the same journal cut back (go on reading it from its
        start, skipping what was read), else Behind."""
        start = parse_line(f.readline())
        if start is None or start.get("op") != START:
            raise Behind("the change journal has no start line")
        same = start.get("journal") == self.journal_id or (
            self._inode is None and self.generation == 0 and not self.journal_id)
        if not same or start["gen"] > self.generation:
            raise Behind(f"the change journal starts after generation {self.generation}")
        self.journal_id = start["journal"]
        self._inode, self._offset = inode, f.tell()

    def unreadable(self) -> None:
        """The journal cannot be read (its mode, a disk error): take it as it is now as
        read, so that only its next change, not every look, sends the job to the
        members."""
        self.journal_id, self.generation, self._inode, self._offset = "", 0, None, 0
        try:
            st = os.stat(self.path)
        except OSError:
            return
        self._inode, self._offset = st.st_ino, st.st_size

    def skip_to_end(self) -> None:
        """Read nothing more of the journal as it is now: position after its last whole
        record, whatever it is. Call under ``shared``, before reading the members."""
        self.journal_id, self.generation, self._inode, self._offset = "", 0, None, 0
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return
        with f:
            inode = os.fstat(f.fileno()).st_ino
            start = parse_line(f.readline())
            if start is None or start.get("op") != START:
                return                           # not ours: the next change makes it again
            offset, generation = f.tell(), start["gen"]
            for line in f:
                if not line.endswith(b"\n"):
                    break
                offset += len(line)
                record = parse_line(line)
                if record is not None:
                    generation = record["gen"]
        self.journal_id, self.generation = start.get("journal", ""), generation
        self._inode, self._offset = inode, offset
