"""Spare queue files: empty files kept in queue/spare/ for the next messages (qtsmtp-queue(5)).

Creating a file costs far more than writing one on ext4 without a journal: the inode
allocator skips, one by one, every inode of the block group freed in the last 30 to 60
seconds (``recently_deleted``), and a queue deletes a file for every message it
delivers. Measured here: about 200-500 us a create against 35 us for a rename of a
spare. So a delivered message's file is not deleted: it is emptied and put in
queue/spare/, and a commit process takes a spare for the next message instead of
creating one. While delivery does not keep the pool above LOW_WATER (a burst, a held
queue) a commit process makes, after a second with nothing else to do, as many spares
as it used.

The rules that make it safe:

- A spare is named by its slot, four digits below LIMIT: the pool never holds more than
  LIMIT files, each empty (an inode and a directory entry, no data block).
- A commit process takes a spare by renaming it into tmp/ under the message's queue
  ID: the rename is atomic, so two commit processes never take the same file, and from
  then on the file is a tmp/ file like any other (never acknowledged until it is
  renamed into incoming/, garbage after a crash). It is written only if it is still a
  spare: a regular file, empty, with one link, ours, private. Anything else is moved
  to corrupt/ for a person, never written into (after a crash of the whole system a
  directory entry of spare/ may come back pointing at a file that was since filled).
- Delivery gives a file back by renaming it out of its state directory into
  spare/.ID (a name no commit process takes), emptying it, then renaming it to a free
  slot: the message leaves the queue at the first rename, as it did when it was
  unlinked, and a file is visible as a spare only once it is empty. Leftover .ID names
  (a kill between the steps) are removed at the next start.
- Nothing that lists the queue (recovery, WRKSMTPQ, the client job) looks in spare/.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from qtsmtp.queue.format import CORRUPT, SPARE, TMP

LIMIT = 4096                     # spare files at most, in all (qtsmtp-queue(5))
# A commit process makes spares only while the pool holds fewer than this: above it,
# delivery's give-backs keep the pool (a relay whose delivery runs makes none at all).
LOW_WATER = LIMIT // 2
_COUNT_AGAIN_SECONDS = 1.0       # a commit process counts the pool at most this often
_DIGITS = 4
_LOOK_AGAIN_SECONDS = 1.0        # delivery: how long a full pool is taken as full
_WRITE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# An open of a taken spare that fails for one of these says nothing about the file.
_FAILURES_OF_THE_PROCESS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})


def slot_name(number: int) -> str:
    return f"{number:0{_DIGITS}d}"


def is_slot(name: str, limit: int = LIMIT) -> bool:
    return len(name) == _DIGITS and name.isdigit() and int(name) < limit


def is_spare(status: os.stat_result) -> bool:
    """An empty, private, single-link regular file of ours: nothing anyone could miss."""
    return (stat.S_ISREG(status.st_mode) and status.st_size == 0 and status.st_nlink == 1
            and status.st_uid == os.geteuid() and not status.st_mode & 0o077)


class SparePool:
    """A commit process's side: take spares, and make them while idle."""

    def __init__(self, queue: Path, limit: int = LIMIT):
        self.queue, self.limit = Path(queue), limit
        self._fd = os.open(self.queue / SPARE, _DIRECTORY_FLAGS)
        self._slots = [slot_name(n) for n in range(limit)]
        self._present: list[str] = []     # slots believed to hold a spare, taken last first
        self._free: list[str] = []        # slots believed free, filled last first
        self._look_after = 0.0            # an empty pool is not listed again before this
        self._count_after = 0.0           # when fill() may count the pool again
        self.low_water = min(LOW_WATER, limit)
        # Messages this process wrote since it last filled the pool, spare or not: as
        # many spares as were used are made again, never more (a small queue keeps a
        # small pool; delivery's give-backs fill it too).
        self.wanted = 0
        self.taken = self.made = self.set_aside = 0

    @property
    def short(self) -> bool:
        return self.wanted > 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _look(self) -> None:
        """List spare/ once: which slots hold a file, which are free."""
        names = set(os.listdir(self._fd))
        self._present = [slot for slot in reversed(self._slots) if slot in names]
        self._free = [slot for slot in reversed(self._slots) if slot not in names]

    def _looked(self) -> bool:
        """_look() where a failure must not end the commit process (it has nothing
        else to do then: out of descriptors, say, it makes spares at a later pause)."""
        try:
            self._look()
        except OSError:
            return False
        return True

    def take(self, queue_id: str, tmp_fd: int) -> int | None:
        """Rename a spare to tmp/``queue_id`` and open it for writing; None when the
        pool has none (the caller creates the file)."""
        self.wanted = min(self.wanted + 1, self.limit)
        looked = False
        while True:
            if not self._present:
                now = time.monotonic()
                if looked or now < self._look_after:
                    return None
                self._look()
                looked = True
                if not self._present:     # empty: not listed again for every message
                    self._look_after = now + _LOOK_AGAIN_SECONDS
                continue
            slot = self._present.pop()
            try:
                os.rename(slot, queue_id, src_dir_fd=self._fd, dst_dir_fd=tmp_fd)
            except FileNotFoundError:
                continue                  # another commit process took it
            except OSError:
                return None               # spare/ refuses (read-only, EIO...): create
            fd = self._open_taken(slot, queue_id, tmp_fd)
            if fd is not None:
                self.taken += 1
                return fd

    def _open_taken(self, slot: str, queue_id: str, tmp_fd: int) -> int | None:
        fd = -1
        try:
            fd = os.open(queue_id, _WRITE_FLAGS, dir_fd=tmp_fd)
            if is_spare(os.fstat(fd)):
                return fd
        except OSError as failure:
            # A directory, a symbolic link, a FIFO... or a spare this process could not
            # open for a reason of its own (out of descriptors, of memory): that one
            # goes back to its slot and the message fails as a create would have,
            # rather than every spare of the pool going to corrupt/ one after another.
            if failure.errno in _FAILURES_OF_THE_PROCESS:
                self._put_back(slot, queue_id, tmp_fd)
                raise
        if fd >= 0:
            os.close(fd)
        self._set_aside(slot, queue_id)
        return None

    def _put_back(self, slot: str, queue_id: str, tmp_fd: int) -> None:
        try:
            os.rename(queue_id, slot, src_dir_fd=tmp_fd, dst_dir_fd=self._fd)
            self._present.append(slot)
        except OSError:
            pass                          # stays in tmp/: swept at the next start

    def _set_aside(self, slot: str, queue_id: str) -> None:
        """Not a spare: kept for a person in corrupt/, never written into, under a
        name of its own (as recover() names them): one set aside never replaces
        another."""
        self.set_aside += 1
        try:
            os.rename(self.queue / TMP / queue_id,
                      self.queue / CORRUPT / f"spare-{slot}-{time.time_ns()}")
        except OSError:
            pass                          # stays in tmp/: swept at the next start

    def fill(self, stop) -> int:
        """Create spares in free slots, as many as ``wanted``, until the pool is full or
        ``stop()`` says work has arrived; how many were made. Nothing while the pool
        holds ``low_water`` spares or more."""
        if not self.wanted:
            return 0
        now = time.monotonic()
        if now >= self._count_after:
            self._count_after = now + _COUNT_AGAIN_SECONDS
            if not self._looked():
                return 0                  # spare/ not listed now: made at a later pause
            if len(self._present) >= self.low_water:
                self.wanted = 0           # delivery gives back enough
                return 0
        made = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        while made < self.wanted and not stop():
            if not self._free:
                if not self._looked():
                    break
                if not self._free:
                    self.wanted = made    # the pool is full: nothing more to make
                    break
            slot = self._free.pop()
            try:
                os.close(os.open(slot, flags, 0o600, dir_fd=self._fd))
            except FileExistsError:
                continue                  # made or given back by another meanwhile
            except OSError:
                self._free.append(slot)
                break                     # a full disk: the messages create their own
            made += 1
            self._present.append(slot)
        self.wanted -= made
        self.made += made
        self._look_after = 0.0
        return made


class Returns:
    """Delivery's side: a delivered message's file goes back to the pool (or is
    removed when the pool is full). Paths are plain strings: this runs once for every
    message delivered, and pathlib's joins cost as much as a system call here."""

    def __init__(self, queue: Path, limit: int = LIMIT):
        self.queue, self.limit = Path(queue), limit
        self._queue = f"{os.fspath(queue)}/"
        self._spare = f"{self._queue}{SPARE}/"
        self._slots = [slot_name(n) for n in range(limit)]
        self._euid = os.geteuid()
        self._free: list[str] = []
        self._look_after = 0.0
        self.returned = self.removed = 0

    def give_back(self, where: str, queue_id: str) -> bool:
        """Take ``where``/ID out of the queue; False when it was not there."""
        hidden = f"{self._spare}.{queue_id}"
        try:
            os.rename(f"{self._queue}{where}/{queue_id}", hidden)
        except FileNotFoundError:
            return False
        except OSError:
            # spare/ refuses the name (no room for a directory entry on a full disk, a
            # read-only spare/): the file is removed where it is, as before the pool,
            # never left in the queue to be delivered again.
            try:
                (self.queue / where / queue_id).unlink()
            except FileNotFoundError:
                return False
            self.removed += 1
            return True
        # From here on the message is out of the queue, as once it was unlinked.
        try:
            fd = os.open(hidden, _WRITE_FLAGS)
            try:
                reusable = self._reusable(os.fstat(fd))
                if reusable:
                    os.ftruncate(fd, 0)
            finally:
                os.close(fd)
            slot = self._free_slot() if reusable else None
            if slot is not None:
                os.rename(hidden, self._spare + slot)
                self.returned += 1
                return True
        except OSError:
            pass
        try:
            os.unlink(hidden)
        except FileNotFoundError:
            pass
        self.removed += 1
        return True

    def _reusable(self, status: os.stat_result) -> bool:
        return (stat.S_ISREG(status.st_mode) and status.st_nlink == 1
                and status.st_uid == self._euid and not status.st_mode & 0o077)

    def _free_slot(self) -> str | None:
        if not self._free:
            now = time.monotonic()
            if now < self._look_after:
                return None
            try:
                present = set(os.listdir(self._spare))
            except OSError:
                return None
            self._free = [slot for slot in reversed(self._slots) if slot not in present]
            if not self._free:
                self._look_after = now + _LOOK_AGAIN_SECONDS
                return None
        # A commit process may have filled this slot meanwhile: the rename then
        # replaces one empty spare by another (an inode freed, nothing else lost).
        return self._free.pop()


def recover(queue: Path, slots: bool = True) -> tuple[int, int]:
    """At start, under the delivery lock: remove what delivery left half given back
    (spare/.ID: delivered messages); ``slots``: also move to corrupt/ what is in a slot
    but is not a spare (the server's start, before any commit process runs). Returns
    (removed, set aside)."""
    directory = Path(queue) / SPARE
    removed = set_aside = 0
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0, 0
    for name in names:
        path = directory / name
        try:
            if name.startswith("."):
                path.unlink()
                removed += 1
            elif slots and is_slot(name) and not is_spare(path.lstat()):
                os.rename(path, Path(queue) / CORRUPT / f"spare-{name}-{time.time_ns()}")
                set_aside += 1
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue
    return removed, set_aside
