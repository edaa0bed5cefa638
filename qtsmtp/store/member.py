"""Members: text files of records, changed under a lock, durably, never torn.

A library is a directory, a file is a directory inside it, a member is a text file inside
that, one record per line (DESIGN.md section 4). Writers take an exclusive flock on a
lock file beside the member, so concurrent batch scripts serialise and lose nothing.
Whole-member changes go to a temporary file that is fsynced and renamed over the member,
then the directory is fsynced: a crash leaves the old or the new member. Appends write the
whole record in one O_APPEND write and fsync it. Readers take no lock: rename is atomic,
and an append is one write of a whole line.

Group commit: inside ``group_commit()`` (the script runner uses it) appends are written at
once but fsynced together when the group is flushed; the caller reports a change only
after the flush, so nothing is reported before it is durable. A whole-member replace
flushes the group first, so what survives a crash is always a prefix of what was run.
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from qtsmtp.messages import escape

_group: "SyncGroup | None" = None


class SyncGroup:
    """Appends waiting for one fsync each, made together at flush."""

    def __init__(self):
        self.fds: dict[str, int] = {}
        self.directories: set[Path] = set()
        self.count = 0

    def add(self, path: Path, fd: int, created: bool, directory: Path) -> None:
        key = str(path)
        if key in self.fds:
            os.close(fd)
        else:
            self.fds[key] = fd
        if created:
            self.directories.add(directory)
        self.count += 1

    def flush(self) -> None:
        try:
            for fd in self.fds.values():
                os.fsync(fd)
            for directory in self.directories:
                _fsync_directory(directory)
        finally:
            for fd in self.fds.values():
                os.close(fd)
            self.fds.clear()
            self.directories.clear()
            self.count = 0


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

    def __init__(self, root: Path, library: str, file: str, member: str, *, secret: bool = False):
        self.library, self.file, self.member = library, file, member
        self.directory = Path(root) / library / file
        self.path = self.directory / member
        # Credentials are for the owner only, whatever the umask says.
        self.mode = 0o600 if secret else 0o644

    def __str__(self) -> str:
        return f"{self.library}/{self.file}({self.member})"

    # --- reading: no lock ------------------------------------------------------------

    def read_text(self) -> str:
        with self._denied_as_message():
            try:
                with open(self.path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                    return f.read()
            except FileNotFoundError:
                return ""

    def read_lines(self) -> list[str]:
        return self.read_text().splitlines()

    def read_bytes(self) -> bytes:
        """The member as stored (b"" when there is none); read_text is this, decoded."""
        with self._denied_as_message():
            try:
                with open(self.path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return b""

    def stat(self) -> os.stat_result | None:
        """The member's stat result; None when there is no member."""
        with self._denied_as_message():
            try:
                return os.stat(self.path)
            except FileNotFoundError:
                return None

    def stat_key(self) -> tuple | None:
        """What changes whenever the member does (for readers that cache)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    # --- writing: under the lock -----------------------------------------------------

    @contextmanager
    def locked(self):
        """Hold the member's write lock; yields the member for chained calls."""
        with self._denied_as_message():
            self.directory.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(self.directory / f".{self.member}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            yield self
        finally:
            os.close(lock_fd)  # closing releases the flock

    def append(self, record: str) -> None:
        """Append one record durably. Call with the lock held."""
        data = record + "\n"
        with self._denied_as_message():
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, self.mode)
            try:
                if _lacks_final_newline(fd):
                    # A hand edit left the last line open; close it rather than join records.
                    data = "\n" + data
                created = os.fstat(fd).st_size == 0
                if self.mode == 0o600 and os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)  # a hand-made credentials member is closed too
                os.write(fd, data.encode("utf-8", "surrogateescape"))
                if _group is not None:
                    _group.add(self.path, fd, created, self.directory)
                    return
                os.fsync(fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            if created:
                _fsync_directory(self.directory)

    def replace(self, text: str) -> None:
        """Replace the whole member durably (temp file, fsync, rename). Call with the lock held."""
        tmp = self.directory / f".{self.member}.tmp{os.getpid()}"
        if _group is not None:
            _group.flush()  # earlier appends become durable before this change can
        with self._denied_as_message():
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.mode)
            try:
                os.write(fd, text.encode("utf-8", "surrogateescape"))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_directory(self.directory)

    @contextmanager
    def _denied_as_message(self):
        """Turn what the file system says into a message the user can act on."""
        try:
            yield
        except OSError as exc:
            where = f"{exc.filename or self.path}: {os.strerror(exc.errno) if exc.errno else exc}"
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise escape("TCP8051", self, where) from None
            if exc.errno in (errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.ENAMETOOLONG):
                raise escape("QTS0012", self.directory.parent.parent, where) from None
            raise escape("TCP8052", self, where) from None


def _lacks_final_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

