"""The queue's FIFO (queue/.notify) held open, and met again when it is replaced.

The writers (a server job's commit process: QueueWriter.notify) and the reader (the
delivery job) each open the FIFO once and keep it open: the bytes then wait in it for
the reader, and a writer never gets EPIPE (qtsmtp-queue(5)). So nothing fails when
someone removes the FIFO, or puts another at its path (an operator's clean-up, a
restore, a delivery job that found none and made one): each side just goes on with
the FIFO it holds, and a message's byte may go into one that nobody reads any more.
``moved`` asks, with one stat, whether the FIFO at the path is still the one held;
the writers ask once per batch, the delivery job on every wake-up (at least every
few seconds), and each opens the one at the path when it is not.

Only a FIFO is opened there (``open_fifo``): a regular file, a symlink or a device put
at the path would take the bytes for ever (through a symlink, over another file's first
bytes), and a regular file reads as end-of-file at once (the delivery job would spin).
"""

from __future__ import annotations

import errno
import os
import stat


def open_fifo(path, flags: int) -> int:
    """Open the FIFO at ``path`` (never through a symlink, never blocking in open);
    OSError (ENXIO with no reader for O_WRONLY, ELOOP for a symlink, EINVAL for
    anything else) when there is none to open."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        is_fifo = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        is_fifo = False
    if not is_fifo:
        os.close(fd)
        raise OSError(errno.EINVAL, "not a FIFO", os.fspath(path))
    return fd


class HeldFifo:
    __slots__ = ("_identity", "fd", "path")

    def __init__(self, path):
        self.path = os.fspath(path)
        self.fd = -1
        self._identity: tuple[int, int] | None = None

    def hold(self, fd: int) -> None:
        """Keep ``fd``, opened on the FIFO at the path, and remember which FIFO it is."""
        self.fd = fd
        try:
            found = os.fstat(fd)
        except OSError:
            self._identity = None            # then moved() says so, and it is opened again
        else:
            self._identity = (found.st_dev, found.st_ino)

    def moved(self) -> bool:
        """Is another FIFO at the path than the one held? With none there, no: the one
        held may still be the one the other side holds (the delivery job makes a new
        one, and the writers then see it)."""
        try:
            found = os.stat(self.path)
        except OSError:
            return False
        return (found.st_dev, found.st_ino) != self._identity

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd, self._identity = -1, None
