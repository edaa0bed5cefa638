"""The guard of plain exit functions called on the event loop (qtsmtp.server.exitloop):
a call that blocks or spins is stopped with Overran, raised again if the function
swallows it; a call that returns keeps its answer; a signal that comes when no call is
on the loop changes nothing. Run on the main thread, as a server job's loop is."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from qtsmtp.server.exitevents import ExitEvent, ExitFailure
from qtsmtp.server.exitloop import GUARD_SIGNAL, Overran, loop_guard
from qtsmtp.server.exitprograms import PythonProgram

LONG = 30          # seconds a function would block if nothing stopped it


def test_a_call_that_sleeps_is_stopped():
    with pytest.raises(Overran):
        loop_guard().run(lambda event: time.sleep(LONG), None)


def test_a_call_that_waits_on_a_lock_is_stopped():
    lock = threading.Lock()
    lock.acquire()
    with pytest.raises(Overran):
        loop_guard().run(lambda event: lock.acquire(timeout=LONG), None)


def test_a_call_that_spins_is_stopped():
    def spin(event):
        deadline = time.monotonic() + LONG
        while time.monotonic() < deadline:
            pass
    with pytest.raises(Overran):
        loop_guard().run(spin, None)


def test_a_function_that_swallows_the_stop_is_stopped_again():
    stops = []

    def stubborn(event):
        while len(stops) < 3:
            try:
                time.sleep(LONG)
            except BaseException as stop:
                stops.append(stop)
        return "gave up"
    assert loop_guard().run(stubborn, None) == "gave up"
    assert [type(stop) for stop in stops] == [Overran] * 3


def test_except_exception_does_not_take_the_stop_for_an_error():
    def careful(event):
        try:
            time.sleep(LONG)
        except Exception:
            return "carried on"
    with pytest.raises(Overran):
        loop_guard().run(careful, None)


def test_a_fast_call_keeps_its_answer_and_a_stray_signal_changes_nothing():
    guard = loop_guard()
    assert guard.run(lambda event: ("REJECT", 550, event), "x") == ("REJECT", 550, "x")
    guard.target = guard.begun          # as if the guard had named the call just ended
    os.kill(os.getpid(), GUARD_SIGNAL)
    time.sleep(0.01)                    # the handler runs: nothing is raised
    assert signal.getsignal(GUARD_SIGNAL) == guard._stop_call
    assert guard.run(lambda event: event, 7) == 7


# --- through PythonProgram: what a function raises stays the program's --------------------

def leaves(event):
    raise SystemExit(3)


def test_sys_exit_in_a_plain_function_is_a_failure_of_the_call_not_the_job_s_end():
    program = PythonProgram(f"{__name__}:leaves", 2)
    event = ExitEvent("MAIL", "FROM:<a@b.example>", "127.0.0.1", 1, "s")

    async def call_twice():
        outcomes = []
        for _ in range(2):          # in a thread, then on the loop
            try:
                await program.call(event, 5.0)
            except Exception as failure:     # noqa: BLE001 - what the caller gets
                outcomes.append(failure)
            program.on_loop = loop_guard()
        await program.close()
        return outcomes
    outcomes = asyncio.run(call_twice())
    assert [type(outcome) for outcome in outcomes] == [RuntimeError, ExitFailure]
    assert all("SystemExit: 3" in str(outcome) for outcome in outcomes)


def test_no_guard_for_a_loop_off_the_main_thread():
    got = []
    thread = threading.Thread(target=lambda: got.append(loop_guard()))
    thread.start()
    thread.join()
    assert got == [None]


def test_a_child_forked_by_a_call_on_the_loop_is_not_stopped():
    # The child carries on inside the function, but not on the server job's loop: the
    # guard there must not take it for the parent's call that overstays.
    read_end, write_end = os.pipe()

    def forks(event):
        pid = os.fork()
        if pid:
            return pid
        try:
            time.sleep(0.2)              # ten looks of the child's guard
            os.write(write_end, b"slept")
        except BaseException:
            os.write(write_end, b"stopped")
        finally:
            os._exit(0)
    child = loop_guard().run(forks, None)
    os.close(write_end)
    try:
        assert os.read(read_end, 16) == b"slept"
    finally:
        os.close(read_end)
        os.waitpid(child, 0)
