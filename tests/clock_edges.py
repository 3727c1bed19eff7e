"""Keeping a test's steps on one side of a day's edge that the server reads on its own clock.

The local stack reads the real time, a little later than the test does. A test whose steps straddle the local
midnight (Berlin: 23:00 UTC in winter, 22:00 in summer) would see the server count "today" as tomorrow, and fail
for the clock, not for the code. Like `within_one_window` (tests/e2e/test_limits_api.py) for the limits' windows.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from chalicelib.contracts.local_time import LOCAL_TZ


def seconds_left_in_local_day(now: datetime) -> float:
    """Seconds from `now` to the next Berlin midnight (a 23- or 25-hour day counts as it is)."""
    local = now.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return (
        midnight.astimezone(UTC) - now.astimezone(UTC)
    ).total_seconds()  # in UTC: the same zone would subtract wall times


def within_one_local_day(needed_s: float) -> None:
    """Wait for the next Berlin day if fewer than `needed_s` seconds are left in this one, so that what the
    test does next and what the server decides all fall on one day."""
    left = seconds_left_in_local_day(datetime.now(UTC))
    if left < needed_s:
        time.sleep(left + 0.5)


def utc_today() -> date:
    """The audit's day (it keeps UTC days): a test reads it before and after its actions and asks for both."""
    return datetime.now(UTC).date()
