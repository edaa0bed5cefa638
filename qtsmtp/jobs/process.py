"""Linux process details of a job: its name in ps/top, and ending with its supervisor."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
except OSError:      # not glibc/musl: names and parent-death signals are a nicety
    _libc = None


def set_process_name(name: str) -> None:
    """Show the IBM job name (QTSMTPSRVD ...) in ps, top and /proc/PID/comm."""
    if _libc is not None:
        _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def end_with_parent() -> None:
    """Get SIGTERM when the supervisor dies, even by kill -9: no orphan server jobs keep
    the port after their QTSMTPSRVD is gone."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def describe_status(status: int) -> str:
    """A waitpid status in words: "exit status 1", "signal 9 (SIGKILL)"."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"signal {-code} ({signal.Signals(-code).name})"
    return f"exit status {code}"
