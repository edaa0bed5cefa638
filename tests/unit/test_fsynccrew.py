"""queue.fsynccrew: the commit process's threads that fsync a batch's files at once.

What commit_batch relies on: every item of a batch is handled exactly once, at once
(up to the crew's size, the caller's thread included), and run() returns only after
the last call has returned, also when one raises."""

from __future__ import annotations

import threading

import pytest

from qtsmtp.queue.fsynccrew import FsyncCrew

PATIENCE = 60          # seconds a barrier waits before it calls the crew sequential


class Calls:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: list = []
        self.threads: set[int] = set()
        self.running = 0
        self.most_at_once = 0

    def enter(self, item) -> None:
        with self.lock:
            self.items.append(item)
            self.threads.add(threading.get_ident())
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


def test_every_item_once_and_run_returns_after_the_last_call() -> None:
    crew = FsyncCrew(16)
    calls = Calls()

    def sync(item) -> None:
        calls.enter(item)
        threading.Event().wait(0.001 * (item % 3))
        calls.leave()

    try:
        start = 0
        for size in (1, 2, 3, 16, 17, 40, 2, 1, 5):
            items = list(range(start, start + size))
            crew.run(items, sync)
            assert calls.running == 0, "run() returned while a call was still running"
            assert sorted(calls.items[start:]) == items
            start += size
    finally:
        crew.close()
    assert sorted(calls.items) == list(range(start))


def test_the_items_of_a_batch_are_handled_at_once_the_callers_thread_too() -> None:
    """A barrier for all the batch's items: run() returns only if they were all in
    sync() together (one after the other, the barrier breaks)."""
    crew = FsyncCrew(8)
    for size in (2, 5, 8):
        barrier = threading.Barrier(size)
        calls = Calls()

        def sync(item, calls=calls, barrier=barrier) -> None:
            calls.enter(item)
            barrier.wait(PATIENCE)
            calls.leave()

        crew.run(list(range(size)), sync)
        assert calls.most_at_once == size and len(calls.threads) == size
        assert threading.get_ident() in calls.threads
    crew.close()


def test_never_more_threads_at_once_than_the_crew_has() -> None:
    crew = FsyncCrew(4)
    barrier = threading.Barrier(4)
    calls = Calls()

    def sync(item) -> None:
        calls.enter(item)
        if item < 4:
            barrier.wait(PATIENCE)      # the first four wait for each other
        calls.leave()

    crew.run(list(range(30)), sync)
    crew.close()
    assert calls.most_at_once == 4 and sorted(calls.items) == list(range(30))
    assert len(calls.threads) == 4


def test_a_call_that_raises_is_raised_by_run_after_the_others_are_done() -> None:
    crew = FsyncCrew(6)
    calls = Calls()

    def sync(item) -> None:
        calls.enter(item)
        calls.leave()
        if item == 3:
            raise ZeroDivisionError("item 3")

    with pytest.raises(ZeroDivisionError):
        crew.run(list(range(10)), sync)
    assert sorted(calls.items) == list(range(10)) and calls.running == 0
    crew.run([20, 21, 22], sync)                 # the crew goes on
    assert sorted(calls.items[10:]) == [20, 21, 22]
    crew.close()


def test_close_ends_the_threads() -> None:
    before = threading.active_count()
    crew = FsyncCrew(5)
    crew.run(list(range(5)), lambda item: None)
    assert threading.active_count() == before + 4       # the caller's thread is the fifth
    crew.close()
    assert threading.active_count() == before


def test_a_crew_of_one_is_the_callers_thread_alone() -> None:
    crew = FsyncCrew(1)
    calls = Calls()

    def sync(item) -> None:
        calls.enter(item)
        calls.leave()

    crew.run(list(range(5)), sync)
    crew.close()
    assert calls.threads == {threading.get_ident()} and calls.items == list(range(5))
