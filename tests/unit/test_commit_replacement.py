"""A server job's loop never waits for a commit process to end.

The job (committer.CommitProcess, on uvloop as in a server job) replaces a commit
process that died for the next message, and ends its commit process at close(). Every
session of the job is served by that one loop: a wait for a process inside it (a
waitpid) stops them all. Here the process the job would wait for is held stopped
(SIGSTOP: a commit process still starting on a loaded machine, or in a fsync on a slow
disk) by a thread outside the loop, which lets it go only once the loop has shown that
it runs on meanwhile; a loop stuck in a wait for that process never shows it, and the
thread kills the process after a bound so that a failing test ends. The bound is not a
performance expectation: the loop shows it runs in microseconds, or never.

The sessions are modelled as aiosmtpd runs them: a task per session, cancelled when
its client goes away (aiosmtpd's connection_lost).
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import threading
from pathlib import Path

import pytest
import uvloop
from support import process_state
from test_queue_commit import envelope

from qtsmtp.jobs.joblog import JobLog
from qtsmtp.queue import format as qformat
from qtsmtp.queue.writer import QueueWriter
from qtsmtp.server import committer
from qtsmtp.server.committer import CommitProcess

DEADLOCK_BOUND_SECONDS = 60     # only so that a loop stuck for good fails the test


@pytest.fixture
def queue_root(tmp_path, monkeypatch) -> Path:
    # A wait for a process that the loop would make (waitpid with this timeout) now
    # never ends by itself: the thread below is what ends it.
    monkeypatch.setattr(committer, "END_TIMEOUT_SECONDS", 3600)
    qformat.prepare(tmp_path)
    return tmp_path


def own_children() -> set[int]:
    children = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            children.update(int(pid) for pid in f.read().split())
    return children


class HeldProcess:
    """A process stopped (SIGSTOP), and a thread outside the loop that has the loop run
    TURNS callbacks one after the other, then lets the process go (SIGCONT); if the loop
    does not run one of them, it kills the process after the bound instead (a loop
    stuck in a wait for the process then comes back, and the test fails)."""

    TURNS = 50

    def __init__(self, pid: int):
        self.pid = pid
        os.kill(pid, signal.SIGSTOP)
        self.loop_ran = None

    def release_once_the_loop_runs(self, loop: asyncio.AbstractEventLoop) -> None:
        self._thread = threading.Thread(target=self._hold, args=(loop,))
        self._thread.start()

    def _hold(self, loop) -> None:
        self.loop_ran = True
        for _ in range(self.TURNS):
            turn = threading.Event()
            loop.call_soon_threadsafe(turn.set)
            if not turn.wait(DEADLOCK_BOUND_SECONDS):
                self.loop_ran = False
                break
        os.kill(self.pid, signal.SIGCONT if self.loop_ran else signal.SIGKILL)

    def join(self) -> bool:
        """Did the loop run on while the process was held?"""
        self._thread.join()
        return self.loop_ran


async def a_replacement_starting(commit: CommitProcess, queue_id: str):
    """kill -9 of the job's commit process, then a session's message: the job starts a
    replacement. Returns the session's task and the replacement's pid, once it runs."""
    await commit.start()
    os.kill(commit._process.pid, signal.SIGKILL)
    await commit._answers.finished.wait()
    before = own_children()
    session = asyncio.create_task(commit.store(queue_id, envelope(queue_id), b"x\r\n"))
    for _ in range(10_000):                     # bounded: Popen runs in the task's first step
        await asyncio.sleep(0)
        started = own_children() - before
        if started:
            return session, started.pop()
    raise AssertionError("no replacement commit process was started")


def test_a_session_gone_while_its_job_replaces_a_commit_process_stops_no_one(
        queue_root, tmp_path) -> None:
    """The client of the session that started the replacement goes away meanwhile (its
    task is cancelled): the next session's message is queued, and the loop runs on while
    the replacement cannot end (was: that half-started process was waited for inside the
    loop, 30 s, before the next message could have a commit process)."""
    log = JobLog(tmp_path / "000003.QTSMTPSRVP.log")
    commit = CommitProcess(QueueWriter(queue_root), log)

    async def run():
        gone, replacement = await a_replacement_starting(commit, "0A1")
        held = HeldProcess(replacement)
        gone.cancel()                                   # the client went away
        await asyncio.gather(gone, return_exceptions=True)
        following = asyncio.create_task(commit.store("0A2", envelope("0A2"), b"x\r\n"))
        held.release_once_the_loop_runs(asyncio.get_running_loop())
        loop_ran_first = await asyncio.get_running_loop().run_in_executor(None, held.join)
        await asyncio.wait_for(following, DEADLOCK_BOUND_SECONDS)
        await commit.close()
        return loop_ran_first, replacement

    loop_ran_first, replacement = uvloop.run(run())
    log.close()
    assert loop_ran_first, "the job's loop stopped while a commit process could not end"
    assert os.listdir(queue_root / "queue" / "incoming") == ["0A2"]
    assert process_state(replacement) == "gone" and not own_children()
    assert "TCP3042" in (tmp_path / "000003.QTSMTPSRVP.log").read_text()


def test_close_while_a_replacement_starts_ends_it_without_stopping_the_loop(queue_root) -> None:
    """close() (the job ends) while a session's message has the job start a replacement:
    from close() on no message is taken, so that session hears 451 (never nothing), and
    the replacement, once started, ends and is reaped; the loop runs on while it cannot
    end yet (was: close() waited for it inside the loop, 30 s, killed it, and the
    session's start then went on with the process close() had taken away)."""
    commit = CommitProcess(QueueWriter(queue_root))

    async def run():
        session, replacement = await a_replacement_starting(commit, "0B1")
        held = HeldProcess(replacement)
        closing = asyncio.create_task(commit.close())
        held.release_once_the_loop_runs(asyncio.get_running_loop())
        loop_ran_first = await asyncio.get_running_loop().run_in_executor(None, held.join)
        results = await asyncio.wait_for(
            asyncio.gather(session, closing, return_exceptions=True), DEADLOCK_BOUND_SECONDS)
        with pytest.raises(OSError):
            await commit.store("0B2", envelope("0B2"), b"x\r\n")     # closed: 451
        return loop_ran_first, results, replacement

    loop_ran_first, results, replacement = uvloop.run(run())
    assert loop_ran_first, "the job's loop stopped while a commit process could not end"
    refused, closed = results
    assert isinstance(refused, OSError) and refused.errno == errno.ESHUTDOWN, refused
    assert closed is None
    assert os.listdir(queue_root / "queue" / "incoming") == []
    assert process_state(replacement) == "gone" and not own_children()


@pytest.mark.parametrize("pidfd", [True, False])
def test_a_child_is_reaped_by_the_loop_and_killed_only_after_its_time(pidfd, monkeypatch) -> None:
    """childexit.reap: a child that ends by itself says how; one that does not end in
    its time is killed; with pidfd_open refused (an older kernel), the same by polls."""
    import subprocess
    import sys

    from qtsmtp.server import childexit
    if not pidfd:
        def refused(pid):
            raise OSError(errno.ENOSYS, "Function not implemented")
        monkeypatch.setattr(os, "pidfd_open", refused)

    quick = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    async def run():
        return await asyncio.gather(childexit.reap(quick, 60), childexit.reap(stuck, 0.2))

    assert uvloop.run(run()) == ["exit status 3", "signal 9 (SIGKILL)"]
    assert not own_children()
