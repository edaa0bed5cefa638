"""The one durable write: whole or not at all, on disk before anyone is told.

Members (store.member), queue files and their state (qtsmtp.queue) and Maildir files
(qtsmtp.delivery) are all written this way: to a temporary name, every byte checked
written, fsynced, renamed into place, and the directory fsynced. After a crash the final
name holds the old file or the whole new one, never a torn one.
"""

from __future__ import annotations

import os

# Paths are str or os.PathLike (pathlib.Path): the CL commands use str, without pathlib.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def write_all(fd: int, *parts: bytes) -> None:
    """Write every part, whatever the kernel takes per call: ``os.write`` may write less
    than asked (a signal, a nearly full disk), and the rest must follow or fail loudly."""
    if len(parts) == 1 and parts[0]:
        # One part (a script's every append): one write, and the loop only for the rest.
        written = os.write(fd, parts[0])
        if written == len(parts[0]):
            return
        parts = (memoryview(parts[0])[written:],)
    views = [memoryview(p) for p in parts if p]
    while views:
        written = os.writev(fd, views)
        if written == 0:
            raise OSError(f"short write: the file system took 0 of {sum(map(len, views))} bytes")
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def fsync_directory(directory: Path) -> None:
    """Make a rename or a creation in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_aside(tmp: Path, parts: tuple[bytes, ...], mode: int, *, exclusive: bool = True) -> int:
    """The first half of a durable write: ``parts`` in ``tmp``, every byte, fsynced, with
    ``mode`` whatever the umask says. Returns the file's inode (what the journal records);
    on failure ``tmp`` is gone. ``exclusive``: ``tmp`` must not exist yet (unique names);
    otherwise a left-over ``tmp`` of a crashed writer is overwritten."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(tmp, flags, mode)
    try:
        os.fchmod(fd, mode)
        write_all(fd, *parts)
        os.fsync(fd)
        return os.fstat(fd).st_ino
    except BaseException:
        remove_quietly(tmp)
        raise
    finally:
        os.close(fd)


def put_in_place(tmp: Path, final: Path) -> None:
    """The second half: rename ``tmp`` over ``final`` and fsync the directory."""
    try:
        os.rename(tmp, final)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_directory(os.path.dirname(os.fspath(final)) or ".")


def remove_quietly(path: str | Path) -> None:
    """Remove ``path`` if it is there (Path.unlink(missing_ok=True), for a str too)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_file(tmp: Path, final: Path, parts: tuple[bytes, ...], mode: int, *,
               exclusive: bool = True) -> None:
    """Write ``parts`` to ``tmp``, fsync, rename to ``final`` and fsync its directory
    (write_aside, then put_in_place)."""
    write_aside(tmp, parts, mode, exclusive=exclusive)
    put_in_place(tmp, final)
