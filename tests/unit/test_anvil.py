"""anvil.ClientTable: each job counts in its region, every job reads the sum; a dead job's
region is emptied; a full probe range fails open; stale slots are reused."""

from __future__ import annotations

import os

from qtsmtp.server import anvil
from qtsmtp.server.anvil import AUTH_PENALTY_SECONDS, ClientTable


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_every_job_sees_the_sessions_and_rate_of_all() -> None:
    table, clock = ClientTable(3), Clock()
    jobs = [anvil.ClientCounts(table, i, clock) for i in range(3)]
    assert jobs[0].connected("192.0.2.1") == (1, 1)
    assert jobs[1].connected("192.0.2.1") == (2, 2)
    assert jobs[2].connected("::ffff:192.0.2.1") == (3, 3)   # the same client
    assert jobs[2].connected("192.0.2.2") == (1, 1)
    jobs[1].disconnected("192.0.2.1")
    assert jobs[0].connected("192.0.2.1") == (3, 4)
    clock.now += anvil.RATE_WINDOW_SECONDS                 # a new minute: rate anew
    assert jobs[0].connected("192.0.2.1") == (4, 1)


def test_a_forked_job_counts_into_the_same_table() -> None:
    table = ClientTable(2)
    pid = os.fork()
    if pid == 0:
        table.job(1).connected("2001:db8::7")
        os._exit(0)
    os.waitpid(pid, 0)
    assert table.job(0).connected("2001:db8::7")[0] == 2


def test_a_dead_jobs_region_is_emptied() -> None:
    table = ClientTable(2)
    table.owned(4242, 1)
    table.job(1).connected("198.51.100.9")
    table.release(4242)
    assert table.claim() == 0 and table.job(0).connected("198.51.100.9") == (1, 1)


def test_auth_failures_add_up_and_expire() -> None:
    table, clock = ClientTable(2), Clock()
    one, two = (anvil.ClientCounts(table, i, clock) for i in range(2))
    assert one.auth_failed("203.0.113.5") == 1
    assert two.auth_failed("203.0.113.5") == 2
    assert one.auth_failures("203.0.113.5") == 2 and one.auth_failures("203.0.113.6") == 0
    clock.now += AUTH_PENALTY_SECONDS + 1
    assert two.auth_failures("203.0.113.5") == 0


def test_a_full_probe_range_fails_open_and_stale_slots_are_reused(monkeypatch) -> None:
    monkeypatch.setattr(anvil, "SLOTS", 4)
    monkeypatch.setattr(anvil, "PROBES", 4)
    table, clock = ClientTable(1), Clock()
    job = anvil.ClientCounts(table, 0, clock)
    for n in range(4):
        job.connected(f"10.0.0.{n}")
    assert job.connected("10.0.0.99") == (0, 0)       # not counted: admitted
    for n in range(4):
        job.disconnected(f"10.0.0.{n}")
    clock.now += anvil.RATE_WINDOW_SECONDS
    assert job.connected("10.0.0.99") == (1, 1)       # a stale slot reused


def test_an_auth_counted_before_its_check_is_forgiven_when_right() -> None:
    table, clock = ClientTable(1), Clock()
    job = anvil.ClientCounts(table, 0, clock)
    job.auth_failed("192.0.2.50")
    job.auth_failed("192.0.2.50")
    job.auth_forgiven("192.0.2.50")
    assert job.auth_failures("192.0.2.50") == 1
