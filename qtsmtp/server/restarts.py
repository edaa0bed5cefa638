"""When QTSMTPSRVD replaces a job that died, and when it gives up (qtsmtp-server(8)).

The supervisor never sits alive and useless. A job that dies is replaced: at once while
few have died lately, then after a pause that doubles with each further death (back-off,
so a job that dies as it starts does not make the supervisor fork in a tight loop), up
to MAX_DELAY. A job that stays up STABLE_SECONDS ends the crash loop: the next death is
replaced at once again. When no job of a kind has stayed up STABLE_SECONDS for
GIVE_UP_SECONDS while replacements were tried, something outside the jobs is wrong (the
port taken, a disk gone): the supervisor then ends every job and exits with a non-zero
status (TCP9001), so that a service manager (systemd's Restart=on-failure) starts the
server again, from its start checks, which say what is wrong.

Pure: no clock of its own (``now`` is given), no processes; unit-tested alone.
"""

from __future__ import annotations

FREE_RESTARTS, FREE_WINDOW_SECONDS = 10, 60.0   # replaced at once while under this
FIRST_DELAY, MAX_DELAY = 1.0, 30.0              # then 1, 2, 4 ... 30 seconds
STABLE_SECONDS = 30.0                           # a job up this long ends a crash loop
GIVE_UP_SECONDS = 600.0                         # a crash loop this long: exit non-zero


class Restarts:
    """The deaths of one kind of job (the server jobs, or the client job)."""

    def __init__(self, now: float, *, free: int | None = None, window: float | None = None,
                 first: float | None = None, most: float | None = None,
                 stable: float | None = None, give_up: float | None = None):
        # The module's values as they are now (a test may have changed them).
        self.free = FREE_RESTARTS if free is None else free
        self.window = FREE_WINDOW_SECONDS if window is None else window
        self.first = FIRST_DELAY if first is None else first
        self.most = MAX_DELAY if most is None else most
        self.stable = STABLE_SECONDS if stable is None else stable
        self.give_up = GIVE_UP_SECONDS if give_up is None else give_up
        self.deaths: list[float] = []       # the last ``window`` seconds' deaths
        self.delayed = 0                    # deaths replaced after a pause, in a row
        self.loop_deaths = 0                # deaths since the crash loop began
        self.loop_since: float | None = None   # when the crash loop began (a death)
        self.last_stable = now

    def died(self, now: float, lived: float) -> float:
        """A job died after ``lived`` seconds: the seconds to wait before replacing it."""
        if lived >= self.stable:
            self.seen_stable(now)
        if self.loop_since is None:
            self.loop_since = now
        self.loop_deaths += 1
        self.deaths = [t for t in self.deaths if now - t < self.window]
        self.deaths.append(now)
        if not self.delayed and len(self.deaths) <= self.free:
            return 0.0                  # once pausing, pause until a job stays up
        delay = min(self.most, self.first * 2 ** self.delayed)
        self.delayed += 1
        return delay

    def serving(self, now: float) -> None:
        """A job of this kind is up ``stable`` seconds or more: the server is not useless,
        whatever another job of the kind does (no give-up; its pause stays)."""
        self.last_stable = now

    def seen_stable(self, now: float) -> None:
        """A job that died had been up ``stable`` seconds: no crash loop."""
        self.last_stable = now
        self.loop_since = None
        self.delayed = 0
        self.loop_deaths = 0
        self.deaths.clear()

    def recent(self) -> int:
        """Deaths counted in the current window or crash loop."""
        return len(self.deaths)

    def must_give_up(self, now: float) -> bool:
        """True when jobs of this kind have kept dying for ``give_up`` seconds without
        one staying up ``stable`` seconds."""
        return self.loop_since is not None and now - self.last_stable >= self.give_up \
            and now - self.loop_since >= self.give_up
