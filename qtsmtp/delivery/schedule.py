"""The retry schedule of CHGSMTPA: RTYMIN, then RTYHOUR, then RTYDAY.

RTYMIN(3 30) means three retries, thirty minutes apart; then RTYHOUR's retries, hours
apart; then RTYDAY's, days apart. When they are spent the recipient fails and its
sender gets a delivery status notification. KEEPUNTIL is the longest a message stays:
an attempt that would come later than KEEPUNTIL days after the first is not made, and
the recipients still waiting fail then, whatever retries are left.

QTSMTP_MINUTE_SECONDS (default 60) is how many real seconds one schedule minute lasts
(an hour is 60 such minutes, a day 1440). Tests and demonstrations set it to a fraction of
a second to run a whole schedule quickly; nothing else reads it.
"""

from __future__ import annotations

import os

MINUTE_ENV = "QTSMTP_MINUTE_SECONDS"


def minute_seconds() -> float:
    try:
        value = float(os.environ.get(MINUTE_ENV, "60"))
    except ValueError:
        return 60.0
    return value if value >= 0 else 60.0


def _pair(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return 0, 0


def retry_delays(values: dict) -> list[float]:
    """Seconds to wait before each retry, in order, from the SMTP attributes."""
    minute = minute_seconds()
    delays: list[float] = []
    for keyword, unit in (("RTYMIN", 1), ("RTYHOUR", 60), ("RTYDAY", 1440)):
        count, interval = _pair(values.get(keyword))
        delays += [interval * unit * minute] * count
    return delays


def next_delay(delays: list[float], attempts: int) -> float | None:
    """Seconds until the next attempt after ``attempts`` deferred attempts; None: spent."""
    if attempts < 1 or attempts > len(delays):
        return None
    return delays[attempts - 1]


def keep_seconds(values: dict) -> float | None:
    """KEEPUNTIL in seconds (days of 1440 schedule minutes); None for *NOMAX."""
    days = values.get("KEEPUNTIL")
    return days * 1440 * minute_seconds() if isinstance(days, int) else None


def past_keep(keep: float | None, first_attempt: float, next_at: float) -> bool:
    """Would an attempt at ``next_at`` keep the message longer than KEEPUNTIL allows?"""
    return keep is not None and first_attempt > 0 and next_at - first_attempt > keep
