"""How often the simulated citizens and agents ask again: the site's own pace (site/js/views/waiting.js for the
waiting room, site/js/views/request.js for a booking request), bounded by the run's remaining time.

Plain functions (no locust import, so the unit tests can check them without gevent's monkey-patching).
"""

from __future__ import annotations

ROOM_FIRST_DELAY_S = 2.0  # waiting.js: `delay = 2` until the first answer says otherwise
ROOM_TROUBLE_MAX_S = 30.0  # waiting.js MAX_DELAY_S: its own backoff when an answer is not usable
REQUEST_FIRST_DELAY_S = 1.0  # request.js FIRST_DELAY: the first poll after 1 s, then 1.25 x as long each time, …
REQUEST_SOON_MAX_S = 2.0  # … at most 2 s apart in the first minute (SOON_MAX, SOON_MS) …
REQUEST_LATER_MAX_S = 5.0  # … and 5 s after it (LATER_MAX)
REQUEST_SOON_S = 60.0
REQUEST_TROUBLE_MAX_S = 15.0  # request.js: doubling up to 15 s on trouble without Retry-After


def room_poll_delay(previous: float, answered: bool, retry_after: float | None) -> float:
    """Seconds until the next poll of a waiting-room entry. A usable answer's Retry-After is followed as given
    (before opening it points past the opening, later at the ETA), at least 1 s; without a usable answer, its
    Retry-After if it has one (at most 30 s), else twice the last delay up to 30 s."""
    if answered:
        return max(1.0, retry_after if retry_after is not None else previous)
    if retry_after is not None:
        return min(ROOM_TROUBLE_MAX_S, max(1.0, retry_after))
    return min(ROOM_TROUBLE_MAX_S, previous * 2)


def request_poll_delay(previous: float, waited_s: float, answered: bool, retry_after: float | None) -> float:
    """Seconds until the next poll of a queued booking request, `waited_s` after the first: a usable answer's
    Retry-After if it has one (site/js/api.js nextPollDelay: it wins over the schedule), at least 1 s."""
    if answered and retry_after is not None:
        return max(1.0, retry_after)
    if answered:
        return min(previous * 1.25, REQUEST_SOON_MAX_S if waited_s < REQUEST_SOON_S else REQUEST_LATER_MAX_S)
    if retry_after is not None:
        return max(1.0, retry_after)
    return min(previous * 2, REQUEST_TROUBLE_MAX_S)


def bounded(seconds: float, time_left: float) -> float:
    """A wait cut at the end of the run (nothing after it is done), never negative."""
    return max(0.0, min(seconds, time_left))
