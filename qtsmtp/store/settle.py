"""Is a member changed by hand finished, so that a reader may take it as it is?

The commands never leave a member half-written (a rename, or whole records appended
under the member's lock). An editor, ``cp`` or ``cat > member`` does: it truncates the
member and writes it again in place, and for a moment the member is empty or holds the
first part of the new text. A server job that read it then would take that part for
the whole policy. So a reader of a member changed by other means first asks whether a
process still has it open for writing (``open_for_writing``: the kernel knows, and says
so through a read lease, fcntl(2) F_SETLEASE, which cannot be taken on a file open for
writing); where that cannot be told (the reader neither owns the file nor has
CAP_LEASE, or the file system has no leases), whether its last change is less than
SETTLE_SECONDS old (``unfinished``). After reading, it checks that the member is
still the one it looked at (``fingerprint`` before and after, and no writer): else it
reads it again later, and keeps what it had meanwhile.

Used by the server jobs (config.policyload, server.filtering, server.exits,
config.credentials); never on the CL path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import time

# A change made by a writer we cannot see must be this old before it is read.
SETTLE_SECONDS = 2.0
# The lease-break signal, were a writer to open the member in the microseconds the probe
# holds its lease: one whose default action is to be ignored (SIGIO, the default, ends
# the process).
_BREAK_SIGNAL = signal.SIGURG


def open_for_writing(path) -> bool | None:
    """True when a process has ``path`` open for writing, False when none has (or there
    is no such file), None when this process cannot tell."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError as failure:
        if failure.errno == errno.EWOULDBLOCK:      # a writer holds a lease on it
            return True
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, _BREAK_SIGNAL)
        try:
            fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        except BlockingIOError:                     # EAGAIN: open for writing
            return True
        except OSError:                             # EACCES, EINVAL, ENOLCK: cannot tell
            return None
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def fingerprint(path) -> tuple | None:
    """What changes with any write, truncation or rename of ``path`` (None: no file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def recently_changed(ctime_ns: int, now: float) -> bool:
    """Is a change made at ``ctime_ns`` (the kernel's clock: a writer cannot set it)
    within SETTLE_SECONDS of ``now``? A change far in the future is a clock set back:
    not waited for."""
    return abs(now - ctime_ns / 1e9) < SETTLE_SECONDS


def unfinished(path, *, now: float | None = None) -> str | None:
    """Why a reader should leave ``path`` for now (a process has it open for writing,
    or, when that cannot be told, its last change is too recent to be known finished);
    None when it may be read."""
    writing = open_for_writing(path)
    if writing is not None:
        return "a program has it open for writing" if writing else None
    key = fingerprint(path)
    if key is not None and recently_changed(key[3], time.time() if now is None else now):
        return f"it changed less than {SETTLE_SECONDS:g} seconds ago"
    return None


def writer_seen(path) -> bool:
    """The lease probe alone (False when it cannot tell): for readers whose members the
    commands change without the change journal, which must not wait SETTLE_SECONDS for
    a command's own change."""
    return open_for_writing(path) is True
