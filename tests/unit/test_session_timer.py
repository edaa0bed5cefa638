"""A session's timeout: a command moves its deadline; a timer runs only as needed.

RelaySMTP._reset_timeout (protocol.py) does not start a new timer per command as
aiosmtpd's does. These tests drive it on a clock of their own (the loop's time() and
call_at), so that what fires when is exact:

- commands that keep coming never time the session out, and start no new timer;
- once they stop, the session times out at the last command's deadline, not before
  (the timer that fired early starts one for what was left) and only once;
- a shorter duration (DTATIMEOUT in DATA, the stress timeout) brings the timer nearer,
  and the timer it replaces never fires;
- the job log's TCP3063 names the duration that ran out;
- a connection that ends cancels the timer.
"""

from __future__ import annotations

import asyncio

from qtsmtp.server import protocol
from qtsmtp.server.protocol import RelaySMTP, SessionRegistry

OPTIONS = {"hostname": "relay.example", "ident": "ESMTP qtsmtp", "data_size_limit": 1024,
           "timeout": 300}


class Clock:
    """The loop's time() and call_at(), with time moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[Timer] = []
        self.started = 0

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback):
        self.started += 1
        timer = Timer(when, callback)
        self.timers.append(timer)
        return timer

    def advance_to(self, moment: float) -> None:
        while True:
            due = sorted((t for t in self.timers if not t.cancelled and t.at <= moment),
                         key=lambda t: t.at)
            if not due:
                break
            timer = due[0]
            self.timers.remove(timer)
            self.now = max(self.now, timer.at)
            timer.callback()
        self.now = moment


class Timer:
    def __init__(self, at: float, callback) -> None:
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self) -> None:
        self.cancelled = True

    def when(self) -> float:
        return self.at


class Session(RelaySMTP):
    def _timeout_cb(self) -> None:
        self.timed_out.append((self.loop.now, self._timeout_seconds))


def session(registry: SessionRegistry | None = None, max_sessions: int = 10) -> Session:
    async def make():
        return Session(object(), registry or SessionRegistry(), max_sessions,
                       connection_checks=(), loop=asyncio.get_running_loop(), **OPTIONS)

    made = asyncio.run(make())
    made.loop, made.timed_out = Clock(), []
    return made


def test_commands_that_keep_coming_move_the_deadline_and_start_no_timer() -> None:
    smtp = session()
    clock = smtp.loop
    smtp._reset_timeout()
    assert clock.started == 1
    for _ in range(50):                  # a command every 100 s, for 5000 s
        clock.advance_to(clock.now + 100)
        smtp._reset_timeout()
    assert smtp.timed_out == []
    # The first timer fired at 300 s and started the next for what was left (200 s, the
    # last command being 100 s old), and so on: a timer per 200 s of session, not one per
    # command (51): the first, then one as each fired, at 300, 500, ..., 4900 s.
    assert clock.started == 1 + len(range(300, 5000, 200))
    last_command = clock.now
    clock.advance_to(last_command + 299.5)
    assert smtp.timed_out == []
    clock.advance_to(last_command + 400)
    assert smtp.timed_out == [(last_command + 300, 300)]


def test_a_shorter_duration_brings_the_timer_nearer_and_the_old_one_never_fires() -> None:
    smtp = session()
    clock = smtp.loop
    smtp._reset_timeout()                            # 300 s
    clock.advance_to(clock.now + 10)
    smtp._reset_timeout(180)                         # DTATIMEOUT in DATA
    started = clock.now
    clock.advance_to(started + 179)
    assert smtp.timed_out == []
    clock.advance_to(started + 1000)
    assert smtp.timed_out == [(started + 180, 180)]  # once: the 300 s timer was cancelled


def test_a_longer_duration_after_a_shorter_one_waits_the_longer() -> None:
    smtp = session()
    clock = smtp.loop
    smtp._reset_timeout(30)                          # before the greeting
    clock.advance_to(clock.now + 5)
    smtp._reset_timeout()                            # greeted: the command timeout
    greeted = clock.now
    clock.advance_to(greeted + 299)
    assert smtp.timed_out == []
    clock.advance_to(greeted + 1000)
    assert smtp.timed_out == [(greeted + 300, 300)]


def test_under_stress_a_session_waits_the_stress_timeout() -> None:
    registry = SessionRegistry()
    smtp = session(registry, max_sessions=2)
    for _ in range(2):
        registry.add(object())                       # above half of the job's cap
    clock = smtp.loop
    smtp._reset_timeout()
    start = clock.now
    clock.advance_to(start + 1000)
    assert smtp.timed_out == [(start + protocol.STRESS_TIMEOUT_SECONDS,
                               protocol.STRESS_TIMEOUT_SECONDS)]


def test_a_timer_a_hair_early_counts_as_the_deadline() -> None:
    smtp = session()
    clock = smtp.loop
    smtp._reset_timeout()
    timer = clock.timers[-1]
    clock.now = timer.at - protocol.TIMER_SLACK_SECONDS / 2    # the loop's milliseconds
    clock.timers.remove(timer)
    timer.callback()
    assert smtp.timed_out == [(clock.now, 300)] and clock.started == 1


def test_the_timer_is_the_one_aiosmtpd_cancels_when_the_connection_is_lost() -> None:
    smtp = session()
    clock = smtp.loop
    smtp._reset_timeout()
    clock.advance_to(clock.now + 100)
    smtp._reset_timeout()
    running = [t for t in clock.timers if not t.cancelled]
    assert running == [smtp._timeout_handle]
    smtp._timeout_handle.cancel()            # what aiosmtpd's connection_lost does
    clock.advance_to(clock.now + 10_000)
    assert smtp.timed_out == []
