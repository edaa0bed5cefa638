"""The mail queue: accepted messages, durable before the client hears 250.

Layout (qtsmtp-queue(5)), Postfix style, under the data root:

    queue/tmp/ID        being written; never read by anyone else; left-overs are garbage
    queue/incoming/ID   accepted: fsynced file, fsynced directory entry
    queue/.notify       a FIFO: one byte per message put in incoming/ wakes QTSMTPCLTD

A queue file is one header line, ``QTSMTPQ1 `` + a JSON envelope, then the message
exactly as it will be delivered (our Received: line first, then the client's data, CRLF
line ends). A message is written to tmp/, fsynced, renamed into incoming/ and the
directory fsynced: after a crash a file in incoming/ is whole, and one in tmp/ was never
acknowledged.

``QueueWriter.store`` does that for one message. A server job's commit process
(qtsmtp.server.committer) uses ``commit_batch``: the same steps for every message, but
one directory fsync for all the renames of a batch.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from pathlib import Path

from qtsmtp.queue.format import INCOMING, NOTIFY, TMP, header, queue_directory
from qtsmtp.queue.fsynccrew import FsyncCrew
from qtsmtp.queue.notifyfifo import HeldFifo, open_fifo
from qtsmtp.store.durable import fsync_directory, write_all

# This process's id, for new_id, without a getpid system call per message; a forked
# child (the supervisor forks the server jobs) has its own.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


class QueueWriter:
    """One per server job: queue IDs unique across jobs (pid inside), no lock needed."""

    def __init__(self, root: Path):
        self.queue = queue_directory(root)
        self._sequence = itertools.count(1)
        self._notify = HeldFifo(self.queue / NOTIFY)

    def new_id(self) -> str:
        # Time first so an ls of incoming/ is in arrival order; pid and a counter make
        # it unique without any coordination between server jobs.
        return f"{time.time_ns() // 1000:014X}{_pid[0]:07X}{next(self._sequence) % 0xFFFF:04X}"

    def store(self, queue_id: str, envelope: dict, content: bytes) -> Path:
        """Write one message durably. Blocking (fsync): run it in a thread."""
        fd = self.write_tmp(queue_id, (header(envelope), content))
        try:
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.discard_tmp(queue_id)
            raise
        os.close(fd)
        final = self.queue / INCOMING / queue_id
        os.rename(self.queue / TMP / queue_id, final)
        fsync_directory(final.parent)
        return final

    def write_tmp(self, queue_id: str, parts: tuple[bytes, ...],
                  tmp_fd: int | None = None) -> int:
        """Create tmp/ID and write the queue file (``parts``, in order) into it, not yet
        fsynced; returns the open descriptor. ``tmp_fd``: an open tmp/ to create in."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        if tmp_fd is None:
            fd = os.open(self.queue / TMP / queue_id, flags, 0o600)
        else:
            fd = os.open(queue_id, flags, 0o600, dir_fd=tmp_fd)
        try:
            write_all(fd, *parts)
        except BaseException:
            os.close(fd)
            self.discard_tmp(queue_id)
            raise
        return fd

    def discard_tmp(self, queue_id: str) -> None:
        try:
            os.unlink(self.queue / TMP / queue_id)
        except OSError:
            pass        # tmp/ left-overs are garbage by definition (qtsmtp-queue(5))

    def notify(self, messages: int = 1) -> None:
        """Wake the delivery job: one byte per message, in one write. Never blocks, never
        fails the message: at worst the delivery job finds the file on its next scan.

        The FIFO is opened once, for reading and writing (Linux lets a FIFO be opened
        so, without a reader and without blocking): write-only, the open fails with
        ENXIO while no delivery job reads (one is not started, or waits for the
        delivery lock that a queue runner holds), and was tried again for every batch.
        Held open so, the FIFO keeps the bytes until a delivery job opens it and reads
        them (it also lists incoming/ when it starts); a full FIFO (EAGAIN) already
        holds a byte to wake it. A writer that may not read the FIFO (a group member:
        qtsmtp-queue(5)) opens it write-only, as before.

        Held open, it is never EPIPE either: a FIFO removed or replaced at its path goes
        on taking the bytes, which the delivery job then never reads (it waits on the
        FIFO at the path). So each call (one a batch) first asks whether the FIFO at the
        path is still the one held: one stat (queue.notifyfifo)."""
        fifo = self._notify
        if fifo.fd >= 0 and fifo.moved():
            fifo.release()
        if fifo.fd < 0:
            fd = self._open_notify()
            if fd is None:
                return          # ENXIO: no reader yet (write-only); ENOENT: none there
            fifo.hold(fd)
        try:
            os.write(fifo.fd, b"m" * messages)
        except OSError as exc:
            if exc.errno != errno.EAGAIN:       # EAGAIN: FIFO full, the reader is awake
                fifo.release()

    def _open_notify(self) -> int | None:
        path = self.queue / NOTIFY
        try:
            return open_fifo(path, os.O_RDWR)
        except PermissionError:
            pass
        except OSError:
            return None
        try:
            return open_fifo(path, os.O_WRONLY)
        except OSError:
            return None

    def close(self) -> None:
        """Let go of the delivery job's FIFO (a job's writer lives as long as the job)."""
        self._notify.release()


class Commit:
    """One message on its way into incoming/: the whole queue file, and how it fared.
    ``data`` None: the file is in tmp/ already, written and open as ``fd`` (a message
    spooled as it arrived, qtsmtp.server.committer)."""

    __slots__ = ("queue_id", "data", "error", "fd")

    def __init__(self, queue_id: str, data: bytes | None, fd: int = -1):
        self.queue_id, self.data = queue_id, data
        self.error: BaseException | None = None
        self.fd = fd


def commit_batch(writer: QueueWriter, batch: list[Commit], tmp_fd: int, incoming_fd: int,
                 fsync=os.fsync, crew: FsyncCrew | None = None) -> int:
    """Make every message of ``batch`` durable in incoming/, with ONE directory fsync
    for them all; sets ``error`` on each message that is not. Returns how many are
    (the caller wakes the delivery job for them, ``QueueWriter.notify``, once it has
    answered: the sessions wait for the answers, the delivery job for nothing).

    Every fsync waits for the disk (a journal commit, on a journalling file system), and
    with one file fsync and one directory fsync per message they are most of a message's
    cost; the messages that arrive while one batch is on the disk make the next batch.
    Each file is written into tmp/, fsynced, renamed into incoming/ only after its own
    fsync, and incoming/ is fsynced once after the renames: a message is acknowledged
    only once the fsync that covers its directory entry has returned, as with
    ``QueueWriter.store``. ``fsync`` is injectable so a test can record the steps.

    ``crew``: the files of a batch are fsynced at once, by the crew's threads and the
    caller's (fsync lets go of the interpreter lock; queue.fsynccrew), and renamed once
    all have returned: the file system serves the fsyncs together (one journal commit
    for several files, or their writes queued at once), where one after the other each
    waits for the one before."""
    for message in batch:
        if message.data is None:
            continue                        # spooled: written already
        try:
            message.fd = writer.write_tmp(message.queue_id, (message.data,), tmp_fd)
        except OSError as failure:
            message.error = failure
    written = [message for message in batch if message.fd >= 0]

    def sync(message: Commit) -> None:
        try:
            fsync(message.fd)
        except OSError as failure:
            message.error = failure

    if crew is not None:
        crew.run(written, sync)
    else:
        for message in written:
            sync(message)
    renamed = []
    for message in written:
        os.close(message.fd)
        message.fd = -1
        try:
            if message.error is None:
                os.rename(message.queue_id, message.queue_id, src_dir_fd=tmp_fd,
                          dst_dir_fd=incoming_fd)
                renamed.append(message)
        except OSError as failure:
            message.error = failure
        if message.error is not None:
            writer.discard_tmp(message.queue_id)
    if not renamed:
        return 0
    try:
        fsync(incoming_fd)
    except OSError as failure:
        # As QueueWriter.store: the client hears 451 and may send the message again;
        # the file stays (a duplicate is better than a loss).
        for message in renamed:
            message.error = failure
        return 0
    return len(renamed)
