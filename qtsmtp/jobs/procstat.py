"""What a job's process is doing, measured from /proc: alive?, CPU time, wait status.

WRKACTJOB's Status column is IBM i's (the values of its Work with Active Jobs display). We derive it from the
kernel's own account of the process: its state letter, and for a sleeping process the
kernel function it sleeps in (/proc/PID/wchan), else the system call it is blocked in
(/proc/PID/syscall). Nothing is taken from what the job says about itself.
"""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# x86_64 and aarch64 system call numbers a daemon waits in.
_SELECT_CALLS = {7, 23, 232, 270, 271, 281, 441,      # x86_64 poll select epoll_wait ...
                 20, 22, 72, 73}                        # aarch64 epoll_pwait pselect6 ppoll
_TIMER_CALLS = {35, 230, 101, 115}                     # nanosleep, clock_nanosleep
_READ_CALLS = {0, 63}                                   # read
_FUTEX_CALLS = {202, 98}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold blanks and parentheses: split after the last ")".
    close = raw.rfind(")")
    return [raw[: raw.find(" ")], raw[raw.find("(") + 1: close]] + raw[close + 2:].split()


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[21]) if fields else None


def owner(pid: int) -> int | None:
    """The real user id of ``pid`` (None when it is gone)."""
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def name(pid: int) -> str:
    """The process name (/proc/PID/comm): a job sets it to its job name."""
    fields = _stat_fields(pid)
    return fields[1] if fields else ""


def is_alive(pid: int, started: int) -> bool:
    """True when ``pid`` is the process that started at ``started`` and has not exited."""
    fields = _stat_fields(pid)
    if fields is None or fields[2] in ("Z", "X"):
        return False
    return not started or int(fields[21]) == started


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of the whole process (all threads), in clock ticks."""
    fields = _stat_fields(pid)
    return int(fields[13]) + int(fields[14]) if fields else None


def status(pid: int) -> str:
    """The WRKACTJOB status code of a process: RUN, SELW, DEQW, TIMW, HLD, ..."""
    fields = _stat_fields(pid)
    if fields is None:
        return ""
    state = fields[2]
    if state == "R":
        return "RUN"
    if state in ("T", "t"):
        return "HLD"            # stopped (SIGSTOP): IBM's held job
    if state in ("Z", "X"):
        return "END"
    if state == "D":
        return "LCKW" if "lock" in _wchan(pid) else "RUN"    # uninterruptible: I/O, mostly
    return _waiting(pid)


def _waiting(pid: int) -> str:
    wchan = _wchan(pid)
    if wchan and wchan != "0":
        if "epoll" in wchan or "select" in wchan or "poll" in wchan:
            return "SELW"
        if "nanosleep" in wchan or "hrtimer" in wchan:
            return "TIMW"
        if "pipe" in wchan or "fifo" in wchan:
            return "DEQW"
        if "futex" in wchan:
            return "CNDW"
        if "lock" in wchan:
            return "LCKW"
        if "wait" in wchan:
            return "EVTW"
    call = _syscall(pid)
    if call in _SELECT_CALLS:
        return "SELW"
    if call in _TIMER_CALLS:
        return "TIMW"
    if call in _READ_CALLS:
        return "DEQW"
    if call in _FUTEX_CALLS:
        return "CNDW"
    return "EVTW"


def _wchan(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip()
    except OSError:
        return ""


def _syscall(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/syscall") as f:
            first = f.read().split(" ", 1)[0]
    except OSError:
        return None
    return int(first) if first.lstrip("-").isdigit() else None


def threads(pid: int) -> int | None:
    """How many threads the process has (WRKACTJOB's Threads)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def nice(pid: int) -> int | None:
    """The process's nice value, -20 to 19 (behind WRKACTJOB's run priority)."""
    fields = _stat_fields(pid)
    return int(fields[18]) if fields else None


def io_bytes(pid: int) -> int | None:
    """Bytes the process made the storage devices read and write (/proc/PID/io), the
    ground of WRKACTJOB's AuxIO; None when the kernel does not tell (another user's)."""
    try:
        with open(f"/proc/{pid}/io") as f:
            values = dict(line.split(":", 1) for line in f if ":" in line)
        return int(values["read_bytes"]) + int(values["write_bytes"])
    except (OSError, KeyError, ValueError):
        return None
