"""The supervisor's restart policy (server/restarts.py), on a clock the test turns."""

from __future__ import annotations

from qtsmtp.server.restarts import Restarts


def test_a_crash_loop_is_replaced_forever_with_a_growing_pause() -> None:
    kind = Restarts(0.0, free=10, window=60, first=1, most=30, stable=30, give_up=600)
    now, delays = 0.0, []
    for _ in range(20):                  # a job that dies as it starts, 20 times
        now += 0.1
        delay = kind.died(now, lived=0.1)
        delays.append(delay)
        now += delay
    assert delays[:10] == [0.0] * 10
    assert delays[10:16] == [1, 2, 4, 8, 16, 30]
    assert delays[16:] == [30] * 4       # never "not replaced": the pause stops growing
    assert not kind.must_give_up(now)


def test_a_job_that_stays_up_ends_the_pause() -> None:
    kind = Restarts(0.0, free=2, window=60, first=1, most=30, stable=30, give_up=600)
    for t in (1, 2, 3):
        kind.died(t, lived=0.5)
    assert kind.died(4, lived=0.5) == 2
    assert kind.died(100, lived=40) == 0          # it lived: a new start
    kind.seen_stable(200)
    assert kind.died(201, lived=1) == 0


def test_another_job_serving_keeps_the_pause_but_prevents_giving_up() -> None:
    kind = Restarts(0.0, free=1, window=60, first=1, most=30, stable=30, give_up=100)
    now = 0.0
    for _ in range(30):                     # one slot dies at once, the other serves
        now += 1
        kind.serving(now)
        now += kind.died(now, lived=0.2)
    assert kind.died(now, lived=0.2) == 30
    assert not kind.must_give_up(now + 1)


def test_the_pause_does_not_reset_while_jobs_keep_dying() -> None:
    kind = Restarts(0.0, free=2, window=10, first=1, most=4, stable=30, give_up=600)
    now = 0.0
    for _ in range(3):
        now += 1
        kind.died(now, lived=0.5)
    now += 25                              # the window is past, but no job stayed up
    assert kind.died(now, lived=5) == 2


def test_give_up_only_after_a_crash_loop_as_long_as_the_limit() -> None:
    kind = Restarts(0.0, free=10, window=60, first=1, most=30, stable=30, give_up=600)
    assert not kind.must_give_up(10_000)       # no death, no loop
    now = 1000.0
    kind.died(now, lived=0.1)
    while now < 1000 + 599:
        assert not kind.must_give_up(now)
        now += kind.died(now, lived=0.1) or 0.5
    now = 1000 + 600
    assert kind.must_give_up(now)
    kind.serving(now)
    assert not kind.must_give_up(now + 1)
