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
"""

from __future__ import annotations

import errno
import itertools
import json
import os
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
        tmp = self.queue / TMP / queue_id
        final = self.queue / INCOMING / queue_id
        header = MAGIC + json.dumps(envelope, separators=(",", ":")).encode() + b"\n"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, header)
            _write_all(fd, content)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(tmp, final)
        _fsync_directory(final.parent)
        return final

    def notify(self) -> None:
        """Wake the delivery job. Never blocks, never fails the message: at worst the
        delivery job finds the file on its next scan."""
        if self._notify_fd is None:
            try:
                self._notify_fd = os.open(self.queue / NOTIFY,
                                          os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return          # ENXIO: no reader yet
        try:
            os.write(self._notify_fd, b"m")
        except OSError as exc:
            if exc.errno != errno.EAGAIN:       # EAGAIN: FIFO full, the reader is awake
                os.close(self._notify_fd)
                self._notify_fd = None


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
