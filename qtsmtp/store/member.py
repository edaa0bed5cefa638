"""Members: text files of records, changed under a lock, durably, never torn.

A library is a directory, a file is a directory inside it, a member is a text file inside
that, one record per line (qatmadrlst(5)). Writers take an exclusive flock on a
lock file beside the member, so concurrent batch scripts serialise and lose nothing.
Whole-member changes go to a temporary file that is fsynced and renamed over the member,
then the directory is fsynced: a crash leaves the old or the new member. Appends write the
whole record in one O_APPEND write and fsync it. Readers take no lock: rename is atomic,
and an append is one write of a whole line.

Every change is first recorded in the library's change journal (store.journal), under
the journal's lock taken inside the member's, and the member is written before that
lock is let go: the server jobs apply the journal instead of comparing members.

After each change a command sets the member's modification time 2.1 s in the past
(``backdate``): any later write moves it, so the next command can tell from the stat
alone that nobody wrote the member since, without reading it (config.listindex).

Group commit: inside ``group_commit()`` (the script runner uses it) appends are written at
once but fsynced together when the group is flushed; the caller reports a change only
after the flush, so nothing is reported before it is durable. A whole-member replace
syncs the group first, so what survives a crash is always a prefix of what was run.
What must wait until the changes are durable (telling the server jobs) is registered
with ``after_sync`` and runs once per flush, however many changes the group holds.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

from qtsmtp.messages import Message, escape
from qtsmtp.store import journal
from qtsmtp.store.context import contextmanager
from qtsmtp.store.durable import (
    fsync_directory,
    put_in_place,
    remove_quietly,
    write_all,
    write_aside,
)
from qtsmtp.store.permissions import make_directory
from qtsmtp.store.root import join, normal_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

LIBRARY_MODE = 0o755      # libraries and files: members are readable (0644), never writable

_group: "SyncGroup | None" = None

# Torn records cut back by this process (TCP2675), for the runner to send before the
# command's own messages: the lock that finds one has no message list of its own.
_cut_back: list[Message] = []


def take_cut_back() -> list[Message]:
    """TCP2675 for each torn record cut back since the last call."""
    taken = _cut_back[:]
    _cut_back.clear()
    return taken


def _torn_append_start(library, file: str, member: str, fd: int, inode: int,
                       size: int, secret: bool = False) -> int | None:
    """Where the record starts that a writer killed in its append left torn, in the
    member open as ``fd`` (file ``inode``, ``size`` bytes, its last line open); None
    when the open line is not that (a hand edit: a record like any other).

    An append is one write() of the record and its newline, but the kernel copies it a
    page at a time, and a SIGKILL between two pages ends the write there: "10.0.1.25"
    left as "10.0.1.2" is another address. The journal tells: its last record of the
    member is an append to this same file, the member is longer than before it and
    shorter than after it, and what lies past the size before it is the start of what
    the record says was written, short of more than its newline, starting where a line
    starts. A ``secret`` member (credentials), whose records the journal does not hold,
    by the sizes alone and that: the bytes past the size before are one line begun
    there (an editor that wrote the member in place without an earlier line moved the
    last record across that size: no line begins there).

    A hand edit can leave the same: the last record cut to a start of itself, with no
    newline, before any other command ran. It is then taken for torn, and TCP2675
    says so, where a torn record taken for an edit would be an address nobody added."""
    record = journal.last_change_of(library, file, member)
    if record is None or record.get("op") != journal.ADD:
        return None
    before, after = record.get("before"), record.get("after")
    if before is None:
        before = [inode, 0, 0]          # the first record of a member it made
    if not (_integers(before, 3) and _integers(after, 2)):
        return None
    start, end = before[1], after[1]
    # All of the record but its newline is the record: a hand edit that took away the
    # last newline leaves the same, and either way the next command closes the line.
    if not (before[0] == after[0] == inode and start < size < end - 1):
        return None
    # The byte before the record too: the append began a line there, or closed the
    # open line before it with a newline of its own.
    written = os.pread(fd, size - start + (start > 0), start - (start > 0))
    if start > 0:
        previous, written = written[:1], written[1:]
    else:
        previous = b"\n"
    opened = written.startswith(b"\n") and previous != b"\n"     # it closed an open line
    if not opened and previous != b"\n":
        return None
    records = record.get("records")
    if records is None:
        # Sizes alone, for credentials only (a list's record always names its records).
        return start if secret and b"\n" not in written[opened:] else None
    if not (isinstance(records, list) and len(records) == 1 and isinstance(records[0], str)):
        return None
    try:
        line = (records[0] + "\n").encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None
    expected = b"\n" + line if opened else line
    if len(expected) != end - start:
        return None
    return start if expected.startswith(written) else None


def _integers(value, count: int) -> bool:
    return (isinstance(value, list) and len(value) == count
            and all(type(n) is int for n in value))


class SyncGroup:
    """Appends waiting for one fsync each, made together at flush."""

    def __init__(self):
        self.fds: dict[str, int] = {}
        self.directories: set[str | Path] = set()
        self.count = 0
        self.after: dict[str, Callable[[], list[Message]]] = {}
        self.lock: tuple[str, int] | None = None    # (lock file, descriptor) kept: locked()
        # member path -> (the descriptor its appends go to, in ``fds`` too; the inode of
        # that file): a script's appends to a member open it once per group, not once
        # each (MemberFile.append).
        self.appending: dict[str, tuple[int, int]] = {}

    def add(self, path: str | Path, fd: int, created: bool, directory: str | Path, *,
            key: str | None = None, count: bool = True) -> None:
        """Take ``fd`` (the group closes it) to fsync at the next sync; one per ``key``
        (default: the path)."""
        key = key or str(path)
        if key in self.fds:
            os.close(fd)
        else:
            self.fds[key] = fd
        if created:
            self.directories.add(directory)
        self.count += count

    def appended(self, path: str, fd: int, inode: int, directory: str,
                 created: bool) -> None:
        """An append was written to member ``path`` through ``fd`` (which the group
        takes, to sync and close), to the file ``inode``."""
        key = f"{path}@{inode}"
        kept = self.fds.setdefault(key, fd)
        if kept != fd:                  # the group holds that file already
            os.close(fd)
        if created:
            self.directories.add(directory)
        self.appending[path] = kept, inode
        self.count += 1

    def holds(self, key: str) -> bool:
        return key in self.fds

    def has_after_sync(self, key: str) -> bool:
        return key in self.after

    def after_sync(self, key: str, callback: Callable[[], list[Message]]) -> None:
        """Call ``callback`` after the next flush's fsyncs (once per key and flush);
        its messages are what flush returns."""
        self.after[key] = callback

    def sync(self) -> None:
        """Make every change of the group durable."""
        try:
            for fd in self.fds.values():
                os.fsync(fd)
            for directory in self.directories:
                fsync_directory(directory)
        finally:
            for fd in self.fds.values():
                os.close(fd)
            self.fds.clear()
            self.appending.clear()
            self.directories.clear()
            self.count = 0

    def release_lock(self) -> None:
        """Let go of the member lock the group kept (MemberFile.locked)."""
        if self.lock is not None:
            fd, self.lock = self.lock[1], None
            os.close(fd)             # closing releases the flock

    def flush(self) -> list[Message]:
        """sync(), then the member lock let go, then the after_sync callbacks; returns
        their messages."""
        try:
            self.sync()
        finally:
            self.release_lock()
        callbacks, self.after = list(self.after.values()), {}
        messages: list[Message] = []
        for callback in callbacks:
            messages.extend(callback())
        return messages


def current_group() -> SyncGroup | None:
    """The group commit in progress in this process, if any."""
    return _group


@contextmanager
def group_commit():
    """Defer append fsyncs to ``flush()`` of the group yielded; flushes on the way out."""
    global _group
    outer, _group = _group, SyncGroup()
    group = _group
    try:
        yield group
    finally:
        _group = outer
        group.flush()


class MemberFile:
    """One member, e.g. QUSRSYS/QATMADRLST(ACCEPTRLY)."""

    def __init__(self, root: str | Path, library: str, file: str, member: str, *,
                 secret: bool = False):
        self.library, self.file, self.member = library, file, member
        # str paths, as pathlib would write them: a CL command starts without pathlib
        # (store.root); ``directory`` and ``path`` give them as Paths.
        self._directory = join(normal_path(os.fspath(root)), library, file)
        self._path = f"{self._directory}/{member}"
        self._lock_path = f"{self._directory}/.{member}.lock"
        self._denied_as_message = _DeniedAsMessage(self)
        self._library = f"{root}/{library}"      # its journal's: a str, cheap to look up
        # Credentials are for the owner only, whatever the umask says.
        self.mode = 0o600 if secret else 0o644

    @property
    def directory(self) -> Path:
        from pathlib import Path
        return Path(self._directory)

    @property
    def path(self) -> Path:
        from pathlib import Path
        return Path(self._path)

    def __str__(self) -> str:
        return f"{self.library}/{self.file}({self.member})"

    # --- reading: no lock ------------------------------------------------------------

    def read_text(self) -> str:
        with self._denied_as_message():
            try:
                with open(self._path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                    return f.read()
            except FileNotFoundError:
                return ""

    def read_records_text(self) -> str:
        """read_text without a record that a writer killed in its append left torn
        (torn_append_start): what a reader that takes no lock goes by, until the next
        command cuts it off. One more read, of the journal, only when the last line is
        open."""
        with self._denied_as_message():
            try:
                with open(self._path, "rb") as f:
                    data = f.read()
                    if data and not data.endswith(b"\n"):
                        start = self.torn_append_start(f.fileno(), os.fstat(f.fileno()).st_ino,
                                                       len(data))
                        if start is not None:
                            data = data[:start]
            except FileNotFoundError:
                return ""
        return data.decode("utf-8", "surrogateescape")

    def read_lines(self) -> list[str]:
        return self.read_text().splitlines()

    def read_bytes(self) -> bytes:
        """The member as stored (b"" when there is none); read_text is this, decoded."""
        with self._denied_as_message():
            try:
                with open(self._path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return b""

    def stat(self) -> os.stat_result | None:
        """The member's stat result; None when there is no member."""
        with self._denied_as_message():
            try:
                return os.stat(self._path)
            except FileNotFoundError:
                return None

    def stat_key(self) -> tuple | None:
        """What changes whenever the member does (for readers that cache)."""
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    # --- writing: under the lock -----------------------------------------------------

    def locked(self):
        """Hold the member's write lock; yields the member for chained calls.

        In a group commit the lock is kept after the block, until the group's next flush
        or a lock on another member: the commands of a script that change one member
        take its lock once per group, not once each. One lock at most is kept, and it is
        let go before another is waited for, so two processes never wait on each other."""
        group = _group
        if group is not None and group.lock is not None and group.lock[0] == self._lock_path:
            return _Kept(self)              # kept since this group's last change of it
        return self._locked(group)

    @contextmanager
    def _locked(self, group: SyncGroup | None):
        lock_path = self._lock_path
        if group is not None:
            group.release_lock()
        with self._denied_as_message():
            try:
                lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:
                # The first change of this file (or library): its directories, with
                # their modes. Tried only then: a script's commands do not each ask.
                make_directory(self._directory, LIBRARY_MODE)
                lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if group is not None:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                self._cut_back_torn_append()
            except BaseException:
                os.close(lock_fd)
                raise
            group.lock = (lock_path, lock_fd)
            yield self
            return
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            self._cut_back_torn_append()
            yield self
        finally:
            os.close(lock_fd)  # closing releases the flock

    def torn_append_start(self, fd: int, inode: int, size: int) -> int | None:
        """Where a record torn by a writer killed in its append starts, in the member
        open as ``fd`` (file ``inode``, ``size`` bytes, its last line open); None when
        that line is a record (a hand edit). For readers too: a policy is compiled
        without it."""
        return _torn_append_start(self._library, self.file, self.member, fd, inode, size,
                                  self.mode == 0o600)

    def _cut_back_torn_append(self) -> None:
        """With the lock just taken, before any change: a record that a writer killed in
        its append left torn is cut off (TCP2675; _torn_append_start), where closing its
        line, as a hand-edited open line is closed, would make it a record."""
        with self._denied_as_message():
            try:
                fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            try:
                st = os.fstat(fd)
                if not st.st_size or os.pread(fd, 1, st.st_size - 1) == b"\n":
                    return
                start = self.torn_append_start(fd, st.st_ino, st.st_size)
                if start is None:
                    return
                torn = os.pread(fd, st.st_size - start, start)
                writable = os.open(self._path, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    if os.fstat(writable).st_ino == st.st_ino:   # the file just read
                        # Not even part of a secret is shown: only its length.
                        text = (f"of {len(torn)} bytes" if self.mode == 0o600 else
                                torn.strip(b"\n").decode("utf-8", "surrogateescape"))
                        # A command's change like any other: the server jobs follow it
                        # in the journal, where a change without a record is a hand
                        # edit to them (TCP3023), also when this command then fails.
                        with journal.made_then_journaled(
                                self._library, self.file, self.member, journal.CUT,
                                (st.st_ino, st.st_size, st.st_mtime_ns), (st.st_ino, start),
                                None if self.mode == 0o600 else [text]):
                            os.ftruncate(writable, start)
                            os.fsync(writable)
                        _cut_back.append(Message("TCP2675", text, self.member, self.file,
                                                 self.library))
                finally:
                    os.close(writable)
            finally:
                os.close(fd)

    def append(self, record: str) -> tuple[int, bytes, int, os.stat_result]:
        """Append one record durably. Call with the lock held. Returns where the bytes
        went, the bytes (the record and its newline, after a newline that closes a last
        line left open), a time (time_ns) just before the member's status was taken,
        and that status, after them: what an index of the member needs to follow,
        without reading the member again.

        In a group commit the member stays open from one append to the next until the
        group's flush (SyncGroup.appending): each append then looks at the path (one
        stat) and writes to the file it holds while the path still names that file."""
        data = record + "\n"
        group = _group
        with self._denied_as_message():
            fd, st, before, opened = self._open_to_append(group)
            try:
                if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
                    # A hand edit left the last line open; close it rather than join records.
                    data = "\n" + data
                created = st.st_size == 0
                if self.mode == 0o600 and st.st_mode & 0o077:
                    os.fchmod(fd, 0o600)  # a hand-made credentials member is closed too
                encoded = data.encode("utf-8", "surrogateescape")
                writer = journal.begin(self._library, self.file, self.member, journal.ADD,
                                       before, (st.st_ino, st.st_size + len(encoded)),
                                       group, None if self.mode == 0o600 else [record])
                try:
                    try:
                        write_all(fd, encoded)
                        backdate(fd, st.st_mtime_ns)
                        if group is None:
                            os.fsync(fd)
                    except OSError:
                        _take_back(fd, st.st_size)
                        raise
                    after = os.fstat(fd)
                    appended = st.st_size, encoded, time.time_ns(), after
                    if group is not None:
                        group.appended(self._path, fd, after.st_ino, self._directory, created)
                        opened = False      # the group's to sync and close now
                        return appended
                finally:
                    journal.end(writer)
            except BaseException:
                if opened:
                    os.close(fd)
                raise
            os.close(fd)
            if created:
                fsync_directory(self._directory)
            return appended

    def _open_to_append(self, group: SyncGroup | None
                        ) -> tuple[int, os.stat_result, tuple | None, bool]:
        """(descriptor, its status, the stat key before the append or None when there
        was no member, whether the descriptor was opened now). The group's descriptor
        is used while the path names its file: the member renamed over, or moved away,
        is opened again (the group keeps the other one to sync: what was written to it
        is reported only after its fsync, as every change of the group)."""
        held = group.appending.get(self._path) if group is not None else None
        if held is not None:
            try:
                st = os.stat(self._path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino == held[1]:
                return held[0], st, (st.st_ino, st.st_size, st.st_mtime_ns), False
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            st = os.fstat(fd)
            return fd, st, (st.st_ino, st.st_size, st.st_mtime_ns), True  # as stat_key()
        except FileNotFoundError:
            fd = os.open(self._path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                         self.mode)
            return fd, os.fstat(fd), None, True

    def replace(self, text: str, op: str = journal.REPLACE, records: list | None = None,
                changes: dict | None = None) -> int:
        """Replace the whole member durably (temp file, fsync, rename). Call with the
        lock held. ``op`` says what changed, for the journal: REMOVE with ``records``
        (the lines taken out), or REPLACE, optionally with ``changes``. Returns the
        inode written (a file renamed over the member since is another)."""
        tmp = f"{self._directory}/.{self.member}.tmp{os.getpid()}"
        if _group is not None:
            _group.sync()  # earlier appends become durable before this change can
        with self._denied_as_message():
            data = text.encode("utf-8", "surrogateescape")
            inode = write_aside(tmp, (data,), self.mode, exclusive=False)
            os.utime(tmp, ns=(time.time_ns(), _past(None)))      # see backdate()
            try:
                secret = self.mode == 0o600   # credentials stay in their 0600 member
                # The journal record goes first; the member is renamed in under it.
                with journal.change(self._library, self.file, self.member, op,
                                    self.stat_key(), (inode, len(data)), None,
                                    None if secret else records, None if secret else changes):
                    put_in_place(tmp, self._path)
            except BaseException:
                remove_quietly(tmp)
                raise
            return inode

    def mark_removed(self, spans: list[tuple[int, bytes]], records: list[str]
                     ) -> tuple[int, os.stat_result]:
        """Mark records removed where they are: each ``(offset, record bytes)`` of
        ``spans`` is overwritten by a deleted record of the same length, TOMBSTONE and
        blanks (a comment, to every reader), and only that page is made durable, not
        the whole member. Call with the lock held. Raises TCP2651 (the member as it
        was) when a span no longer holds its record: the caller looked it up before.

        Journaled first as a REMOVE of ``records`` whose "after" also names the
        modification time the member is given once every record is overwritten
        (futimens, in the past: backdate): a job that finds another time (a writer
        killed before or during its writes) compiles from the member.

        Never torn: a record that lies in one 512-byte sector is overwritten by one
        write (one page, which a kill cannot cut, one sector, which a power cut does
        not tear); one that crosses a sector boundary gets its "#" first, made
        durable, then the rest, so that whatever part of the second write is lost,
        the line is a comment already.

        Returns a time (time_ns) just before the status of the file written was taken,
        and that status (fstat, not the path's: a file renamed over the member meanwhile
        is not the one written), as append() does."""
        if _group is not None:
            _group.sync()  # earlier appends become durable before this change can
        with self._denied_as_message():
            fd = os.open(self._path, os.O_RDWR | os.O_CLOEXEC)
            try:
                st = os.fstat(fd)
                for offset, record in spans:
                    if (offset + len(record) > st.st_size
                            or os.pread(fd, len(record), offset) != record):
                        raise escape("TCP2651", str(self), detail="The record moved meanwhile.")
                before = (st.st_ino, st.st_size, st.st_mtime_ns)
                # A time no earlier state of the member had: see the journal check
                # above; and in the past, as backdate() says.
                mtime = _past(st.st_mtime_ns)
                with journal.change(self._library, self.file, self.member, journal.REMOVE,
                                    before, (st.st_ino, st.st_size, mtime), None,
                                    None if self.mode == 0o600 else records):
                    done = []
                    try:
                        for offset, record in spans:
                            _overwrite(fd, offset, deleted_record(len(record)), st.st_size)
                            done.append((offset, record))
                        journal.fault_point("in-place-written")
                        os.utime(fd, ns=(st.st_atime_ns, mtime))
                        os.fdatasync(fd)
                        return time.time_ns(), os.fstat(fd)
                    except OSError as error:
                        for offset, record in done:      # as it was, as far as we can
                            _overwrite(fd, offset, record, st.st_size, quiet=True)
                        if isinstance(error, _SizeChanged):
                            raise escape("TCP2651", str(self),
                                         detail="The member changed meanwhile.") from None
                        raise
            finally:
                os.close(fd)


class _Kept:
    """``with member.locked():`` for a lock the group kept: nothing to take or let go."""

    __slots__ = ("member",)

    def __init__(self, member: MemberFile):
        self.member = member

    def __enter__(self) -> MemberFile:
        return self.member

    def __exit__(self, kind, exc, traceback) -> bool:
        return False


class _DeniedAsMessage:
    """``with member._denied_as_message():`` turns what the file system says into a
    message the user can act on. (A class, not a generator: every command of a script
    enters it twice, and it holds no state, so one serves each member.)"""

    __slots__ = ("member",)

    def __init__(self, member: MemberFile):
        self.member = member

    def __call__(self) -> _DeniedAsMessage:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        if kind is None or not issubclass(kind, OSError):
            return False
        member = self.member
        where = f"{exc.filename or member._path}: {os.strerror(exc.errno) if exc.errno else exc}"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise escape("TCP8051", member, where) from None
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
            raise escape("TCP2691", member, where) from None
        if exc.errno in (errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.ENAMETOOLONG):
            raise escape("QTS0012", member.directory.parent.parent, where) from None
        raise escape("TCP8052", member, where) from None


# A deleted record (RMVSMTPLE on a large member, MemberFile.mark_removed): "#" and
# blanks, as long as the record it replaces; removed when the member is next written
# whole (config.lists). Also what a reader skips: it is a comment.
TOMBSTONE = b"#"
SECTOR = 512
# How far in the past a command sets the member's modification time (backdate): the
# longest timestamp tick of a file system (FAT's 2 s, config.listindex.RACY_NS), and a
# tenth more: the kernel's file times lag time.time_ns() by up to a clock tick, and the
# index takes a change's own time (ctime) as the moment it looked (listindex.appended).
BACKDATE_NS = 2_100_000_000


def backdate(fd: int, before_ns: int | None) -> None:
    """Set the member's modification time BACKDATE_NS in the past (and not to
    ``before_ns``, what it was), after a command changed it under the lock: any later
    write of the member sets it to the time of that write, whoever makes it, however
    soon, so the next command may trust the member's stat key (config.listindex:
    a write in the same timestamp tick as the command's own would otherwise keep it)
    without reading the whole member to check it."""
    now = time.time_ns()
    os.utime(fd, ns=(now, _past(before_ns, now)))


def _past(before_ns: int | None, now: int | None = None) -> int:
    mtime = (time.time_ns() if now is None else now) - BACKDATE_NS
    return mtime - 1 if mtime == before_ns else mtime


def deleted_record(length: int) -> bytes:
    return TOMBSTONE + b" " * (length - 1)


def is_deleted_record(line: str) -> bool:
    return line.startswith("#") and not line[1:].strip(" ")


class _SizeChanged(OSError):
    """The member is no longer the size it was under the lock: a writer that ignores
    the lock rewrote it in place (``cat new > member``) meanwhile."""


def _overwrite(fd: int, offset: int, data: bytes, size: int, quiet: bool = False) -> None:
    """``data`` at ``offset`` of a member of ``size`` bytes, never torn (see
    MemberFile.mark_removed). Each write is made only while the member is still that
    size: a write past the end of a member cut short meanwhile would fill the gap with
    NUL bytes."""
    try:
        if offset // SECTOR != (offset + len(data) - 1) // SECTOR and len(data) > 1:
            _write_if_size(fd, offset, data[:1], size)
            os.fdatasync(fd)
            _write_if_size(fd, offset + 1, data[1:], size)
        else:
            _write_if_size(fd, offset, data, size)
    except OSError:
        if not quiet:
            raise


def _write_if_size(fd: int, offset: int, data: bytes, size: int) -> None:
    if os.fstat(fd).st_size != size:
        raise _SizeChanged(errno.ESTALE, "the member changed size meanwhile")
    write_at(fd, offset, data)


def write_at(fd: int, offset: int, data: bytes) -> None:
    if os.pwrite(fd, data, offset) != len(data):
        raise OSError(errno.EIO, "short write")


def _take_back(fd: int, size: int) -> None:
    """An append that failed part-way (a short write, ENOSPC, EIO) leaves the member as it
    was: the bytes that did reach it are cut off again, before anyone reads a torn
    record (a reader of "10.3.148.0 " would take a /24 asked for as a /32)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass      # the write's own error is the one to report; the reader names the line
