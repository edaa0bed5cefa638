"""Where plain Python exit functions run: each program's own threads, and its module.

``ExitThreads`` is one program's thread budget (ADDEXITPGM THREADS). A plain function
may block, so it runs here, not on the event loop, until it has shown it is fast (each
call is timed for that: qtsmtp.server.exitloop); a call is put on a queue that the
program's threads take from, and its result comes back to the loop with one
call_soon_threadsafe. That is all a call costs: concurrent.futures and
asyncio.wrap_future, which run_in_executor goes through, chain two futures with locks
and callbacks on both sides, and asyncio.wait_for adds a task. Measured in one process
on uvloop (a no-op function, 20,000 calls in a row): 40-44 us of CPU per call through
run_in_executor and wait_for, 25-26 us this way. A call that is told nothing back
(DISCONNECT) costs only the queue.

A thread cannot be stopped: a call past its time budget keeps its thread until the
function returns. Calls past their budget are counted; when they hold every thread
(``exhausted``), the caller gives the next calls the default action at once instead
of queueing them behind calls that may never return.

``load_function`` imports package.module:function. A module this job loaded before is
loaded again, as a new module object, when its source file changed since: a program
registered again after its code changed runs the new code for new connections, while
sessions already connected keep the function (and the module globals) they started
with: importlib.reload would change those under them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import queue
import sys
import threading
from time import perf_counter
from types import ModuleType


class _Call:
    __slots__ = ("function", "event", "deliver", "overdue", "finished", "seconds")

    def __init__(self, function, event, deliver):
        self.function = function
        self.event = event
        self.deliver = deliver        # callable(result, error) in the thread, or None
        self.overdue = False
        self.finished = False
        self.seconds = 0.0            # how long the function took (exitloop's probation)


class ExitThreads:
    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self.work: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.busy = 0          # calls queued or running
        self.overdue = 0       # calls past their time budget, still running

    @property
    def exhausted(self) -> bool:
        return self.overdue >= self.size

    def submit(self, function, event, deliver=None) -> _Call:
        call = _Call(function, event, deliver)
        with self.lock:
            self.busy += 1
            start = self.busy > len(self.threads) and len(self.threads) < self.size
            if start:
                thread = threading.Thread(target=self._run, daemon=True,
                                          name=f"{self.name}-{len(self.threads) + 1}")
                self.threads.append(thread)
        if start:
            thread.start()
        self.work.put(call)
        return call

    def past_budget(self, call: _Call) -> None:
        """The caller stopped waiting for ``call``: it counts as overdue until it returns."""
        with self.lock:
            if not call.finished and not call.overdue:
                call.overdue = True
                self.overdue += 1

    def _run(self) -> None:
        while True:
            call = self.work.get()
            if call is None:
                return
            result = error = None
            started = perf_counter()
            try:
                result = call.function(call.event)
            except Exception as failure:       # the program's, reported by the caller
                error = failure
            except BaseException as failure:   # sys.exit() in the function: not the thread's end
                error = RuntimeError(f"{type(failure).__name__}: {failure}")
            call.seconds = perf_counter() - started
            with self.lock:
                call.finished = True
                self.busy -= 1
                if call.overdue:
                    self.overdue -= 1
            if call.deliver is not None:
                call.deliver(result, error)
            call.event = call.deliver = None   # the event holds the session's state

    def close(self, wait_seconds: float) -> None:
        """Let queued calls (a DISCONNECT) run for up to ``wait_seconds``, then stop the
        threads that are free; one stuck in a function is a daemon and dies with the job."""
        for _ in self.threads:
            self.work.put(None)
        for thread in self.threads:
            thread.join(wait_seconds)


# --- loading the function -----------------------------------------------------------------

_loaded: dict[str, tuple] = {}        # module name -> source file's (mtime_ns, size, inode)
_load_lock = threading.Lock()


def _source_key(module: ModuleType) -> tuple | None:
    path = getattr(module, "__file__", None)
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino) if st else None


def load_module(name: str) -> tuple[ModuleType, bool]:
    """The module, loaded again as a new object when its source changed since this job
    loaded it (called off the event loop, when the registration is read); and whether
    it was loaded again."""
    again = False
    with _load_lock:
        module = sys.modules.get(name)
        if module is None or name not in _loaded:
            module = importlib.import_module(name)
        elif _source_key(module) != _loaded[name]:
            again = True
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                raise ImportError(f"module {name} no longer found")
            fresh = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(fresh)     # an error leaves sys.modules as it was
            sys.modules[name] = module = fresh
        _loaded[name] = _source_key(module)
        return module, again


def load_function(spec: str):
    """The callable, and whether its module's new code was loaded (load_module)."""
    module_name, _, name = spec.partition(":")
    target, again = load_module(module_name)
    for part in name.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target, again
