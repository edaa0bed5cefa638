"""A plain Python exit function that has shown it is fast runs on the event loop, under
a guard that stops it if it overstays.

Why: a call handed to a thread and back costs two wake-ups across threads and the GIL
passed twice; with five calls a session that was a quarter of a no-op exit's messages a
second (bench/bench_security.py). A function that answered PROBATION_CALLS calls in a
row within FAST_SECONDS each, in its threads, is called directly instead
(exitprograms.PythonProgram), for about what an async function costs.

The risk is that such a function blocks one day (a lock, a file on a hung disk, a
server that stops answering) and stalls every session of the job. So every call made on
the loop is watched: a guard thread looks every LIMIT_SECONDS / 2, and a call it finds
running on two looks in a row (LIMIT_SECONDS at most, beside the time to get the GIL)
is stopped. The guard sends the loop's thread (the main thread) a signal; its handler
raises ``Overran`` inside the function. A system call blocked in the function returns
on the signal (time.sleep, socket and pipe I/O, lock and queue waits, subprocess
waits), pure Python code is stopped at its next instruction. What a signal cannot stop,
and so still stalls the loop until it returns: a C extension that waits without
looking for signals (getaddrinfo in name resolution, some database drivers), I/O on a
file system that does not return (an NFS hard mount), and a function that catches
BaseException and carries on (the guard raises again at each look). A function that
may do these should set ``may_block = True`` on itself: it then always runs in its
threads. The caller (exitprograms.PythonProgram) sends a function that overstayed, or
that took longer than LIMIT_SECONDS / 2, back to its threads for good.

The guard costs nothing per call but two attribute writes; it looks only while calls
are made on the loop, and sleeps on an event when there have been none for a second.
"""

from __future__ import annotations

import os
import signal
import threading
import time

PROBATION_CALLS = 100        # calls in a row, in the program's threads...
FAST_SECONDS = 0.001         # ...each answered within this, before it runs on the loop
LIMIT_SECONDS = 0.02         # a call on the loop is stopped after this at most
SLOW_SECONDS = LIMIT_SECONDS / 2   # a call that took longer goes back to the threads
GUARD_SIGNAL = signal.SIGUSR2
IDLE_LOOKS = 100             # looks with no call on the loop before the guard sleeps


class Overran(BaseException):
    """Raised inside a function that overstayed on the event loop. BaseException: the
    function's own ``except Exception`` must not take it for one of its errors."""


class LoopGuard:
    """One per process: watches the calls made on the main thread's event loop."""

    def __init__(self):
        self.begun = 0            # calls begun on the loop
        self.running = 0          # the number of the call in progress, 0 for none
        self.target = 0           # the call the guard asked to stop
        signal.signal(GUARD_SIGNAL, self._stop_call)
        self._start()

    def _start(self) -> None:
        """The guard's thread (again in a child process: a fork copies no thread)."""
        self.parked = False
        self.wake = threading.Event()
        self.main = threading.main_thread().ident
        threading.Thread(target=self._watch, daemon=True, name="exit-loop-guard").start()

    def run(self, function, event):
        """``function(event)`` on this thread, stopped (Overran) if it overstays."""
        self.begun += 1
        self.running = self.begun
        if self.parked:
            self.wake.set()
        try:
            return function(event)
        finally:
            self.running = 0

    def _stop_call(self, signum, frame) -> None:
        # The signal may come after the call it was meant for has returned, or for
        # another reason: stop only the call the guard named, and only once.
        if self.running and self.running == self.target:
            self.target = 0
            raise Overran()

    def _watch(self) -> None:
        look = LIMIT_SECONDS / 2
        seen = begun = idle = 0
        while True:
            time.sleep(look)
            running = self.running
            if running and running == seen:
                self.target = running
                signal.pthread_kill(self.main, GUARD_SIGNAL)
            seen = running
            idle = idle + 1 if not running and self.begun == begun else 0
            begun = self.begun
            if idle >= IDLE_LOOKS:
                self.parked = True
                # A call begun after this look sees ``parked`` and wakes the guard.
                if not self.running and self.begun == begun:
                    self.wake.wait()
                self.wake.clear()
                self.parked = False
                idle = seen = 0


_guard: LoopGuard | None = None


def _after_fork() -> None:
    if _guard is not None:
        # A child forked inside a call on the loop carries on in that call, but it is not
        # the server job's loop: nothing in it is the guard's to stop.
        _guard.running = _guard.target = 0
        _guard._start()


os.register_at_fork(after_in_child=_after_fork)


def loop_guard() -> LoopGuard | None:
    """The process's guard (made at the first call); None when the event loop does not
    run on the main thread, where alone a signal handler runs: no call goes on the loop."""
    global _guard
    if threading.current_thread() is not threading.main_thread():
        return None
    if _guard is None:
        _guard = LoopGuard()
    return _guard
