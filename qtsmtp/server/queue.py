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

``QueueWriter.store`` does that for one message. A server job uses ``GroupCommit``: the
same steps for every message, but one directory fsync for all the renames of a batch.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import os
import threading
import time
from pathlib import Path

MAGIC = b"QTSMTPQ1 "
TMP, INCOMING = "tmp", "incoming"
NOTIFY = ".notify"


def queue_directory(root: Path) -> Path:
    return Path(root) / "queue"


def prepare(root: Path) -> Path:
    """Create the queue directories and the FIFO; returns the queue directory."""
    queue = queue_directory(root)
    for name in (TMP, INCOMING):
        (queue / name).mkdir(parents=True, exist_ok=True)
    try:
        os.mkfifo(queue / NOTIFY, 0o600)
    except FileExistsError:
        pass
    return queue


class QueueWriter:
    """One per server job: queue IDs unique across jobs (pid inside), no lock needed."""

    def __init__(self, root: Path):
        self.queue = queue_directory(root)
        self._sequence = itertools.count(1)
        self._notify_fd: int | None = None

    def new_id(self) -> str:
        # Time first so an ls of incoming/ is in arrival order; pid and a counter make
        # it unique without any coordination between server jobs.
        return f"{time.time_ns() // 1000:014X}{os.getpid():07X}{next(self._sequence) % 0xFFFF:04X}"

    def store(self, queue_id: str, envelope: dict, content: bytes) -> Path:
        """Write one message durably. Blocking (fsync): run it in a thread."""
        fd = self.write_tmp(queue_id, envelope, content)
        try:
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self.discard_tmp(queue_id)
            raise
        os.close(fd)
        final = self.queue / INCOMING / queue_id
        os.rename(self.queue / TMP / queue_id, final)
        _fsync_directory(final.parent)
        return final

    def write_tmp(self, queue_id: str, envelope: dict, content: bytes,
                  tmp_fd: int | None = None) -> int:
        """Create tmp/ID and write the whole queue file into it (not yet fsynced);
        returns the open descriptor. ``tmp_fd``: an open tmp/ directory to create in."""
        header = MAGIC + json.dumps(envelope, separators=(",", ":")).encode() + b"\n"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        if tmp_fd is None:
            fd = os.open(self.queue / TMP / queue_id, flags, 0o600)
        else:
            fd = os.open(queue_id, flags, 0o600, dir_fd=tmp_fd)
        try:
            _write_all(fd, header, content)
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
        fails the message: at worst the delivery job finds the file on its next scan."""
        if self._notify_fd is None:
            try:
                self._notify_fd = os.open(self.queue / NOTIFY,
                                          os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return          # ENXIO: no reader yet
        try:
            os.write(self._notify_fd, b"m" * messages)
        except OSError as exc:
            if exc.errno != errno.EAGAIN:       # EAGAIN: FIFO full, the reader is awake
                os.close(self._notify_fd)
                self._notify_fd = None


class _Message:
    __slots__ = ("queue_id", "envelope", "content", "future", "error", "fd")

    def __init__(self, queue_id: str, envelope: dict, content: bytes, future: asyncio.Future):
        self.queue_id, self.envelope, self.content, self.future = queue_id, envelope, content, future
        self.error: BaseException | None = None
        self.fd = -1


class GroupCommit:
    """The durable queue of one server job: every message's file fsynced, and ONE
    directory fsync for all the messages renamed into incoming/ meanwhile.

    Every fsync waits for the disk (a journal commit, on a journalling file system), and
    with one file fsync and one directory fsync per message they are most of its cost.
    So one thread does the disk work in batches, off the event loop: while it commits
    one batch, the messages whose DATA ends in the other sessions gather for the next.
    For a batch it writes each file into tmp/, fsyncs each, renames each into incoming/
    only after its own fsync, then fsyncs incoming/ once for them all. ``store`` returns
    only after that directory fsync: a session says 250 for a message only once the
    fsync that covers its directory entry has returned, as with ``QueueWriter.store``.
    One thread rather than a pool: the file work is a handful of system calls a message,
    and each extra thread would only contend for the GIL with the event loop.

    ``fsync`` is injectable so a test can record the order of the steps.
    """

    def __init__(self, writer: QueueWriter, fsync=os.fsync):
        self.writer = writer
        self._fsync = fsync
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[_Message] = []
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tmp_fd = self._incoming_fd = -1

    def new_id(self) -> str:
        return self.writer.new_id()

    async def store(self, queue_id: str, envelope: dict, content: bytes) -> None:
        """Return once the message is durable in incoming/; raise OSError if it is not."""
        if self._thread is None:
            self._start(asyncio.get_running_loop())
        message = _Message(queue_id, envelope, content, self._loop.create_future())
        with self._lock:
            if self._closing:
                raise OSError(errno.ESHUTDOWN, "the queue writer has ended")
            self._pending.append(message)
            self._wake.notify()
        # A session that goes away meanwhile cancels only its wait: the thread never
        # touches the future, and the commit of the file goes on (at worst a duplicate,
        # never a loss, as with QueueWriter.store).
        await message.future

    def close(self) -> None:
        """Commit what is pending, then end the thread. Called after the last session."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for fd in (self._tmp_fd, self._incoming_fd):
            if fd >= 0:
                os.close(fd)
        self._tmp_fd = self._incoming_fd = -1

    # --- the commit thread -----------------------------------------------------------

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        self._tmp_fd = os.open(self.writer.queue / TMP, flags)
        self._incoming_fd = os.open(self.writer.queue / INCOMING, flags)
        self._thread = threading.Thread(target=self._run, name="queue-commit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._wake.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closing:
                    return
            try:
                self._commit(batch)
            except BaseException as failure:          # a bug must not hang the sessions
                for message in batch:
                    message.error = message.error or failure
            try:
                self._loop.call_soon_threadsafe(_settle, batch)
            except RuntimeError:
                pass            # the loop has ended: nobody waits for these any more

    def _commit(self, batch: list[_Message]) -> None:
        writer = self.writer
        for message in batch:
            try:
                message.fd = writer.write_tmp(message.queue_id, message.envelope,
                                              message.content, self._tmp_fd)
            except Exception as failure:        # OSError; or an envelope JSON refuses
                message.error = failure
        renamed = []
        for message in batch:
            if message.fd < 0:
                continue
            try:
                self._fsync(message.fd)
            except OSError as failure:
                message.error = failure
            finally:
                os.close(message.fd)
                message.fd = -1
            try:
                if message.error is None:
                    os.rename(message.queue_id, message.queue_id, src_dir_fd=self._tmp_fd,
                              dst_dir_fd=self._incoming_fd)
                    renamed.append(message)
            except OSError as failure:
                message.error = failure
            if message.error is not None:
                writer.discard_tmp(message.queue_id)
        if not renamed:
            return
        try:
            self._fsync(self._incoming_fd)
        except OSError as failure:
            # As QueueWriter.store: the client hears 451 and may send the message again;
            # the file stays (a duplicate is better than a loss).
            for message in renamed:
                message.error = failure
            return
        writer.notify(len(renamed))


def _settle(batch: list[_Message]) -> None:
    """In the event loop: tell each waiting session how its message fared."""
    for message in batch:
        if message.future.done():
            continue
        if message.error is None:
            message.future.set_result(None)
        else:
            message.future.set_exception(message.error)


def read_envelope(path: Path) -> dict:
    """The envelope of a queue file (for the delivery job and for tests)."""
    with open(path, "rb") as f:
        first = f.readline()
    if not first.startswith(MAGIC):
        raise ValueError(f"{path} is not a queue file")
    return json.loads(first[len(MAGIC):])


def read_message(path: Path) -> tuple[dict, bytes]:
    with open(path, "rb") as f:
        first = f.readline()
        if not first.startswith(MAGIC):
            raise ValueError(f"{path} is not a queue file")
        return json.loads(first[len(MAGIC):]), f.read()


def _write_all(fd: int, *parts: bytes) -> None:
    """Write every part, in one writev when the kernel takes it all (it does, for a
    regular file, short of a full disk)."""
    views = [memoryview(p) for p in parts if p]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
