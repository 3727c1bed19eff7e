"""Where a queued booking request stands (contract §4's `position`): the length of the line it is in.

Every accepted request waits as one message in the booking queue until the worker has decided it and deleted the
message. So the queue's backlog (messages waiting, being handled, or delayed for a retry), this request's
included, is how many requests can still be decided before it, at most: the queue hands messages out roughly,
not strictly, in order, so it is the length of the line, not an exact place in it. One queue serves every
campaign, so the line is everyone's.

Cheap on purpose: nothing is written per request. One API instance asks the queue at most once every
BACKLOG_MAX_AGE_S, whoever polls; SQS itself calls its counts approximate (docs/waiting-room.md says how exact).

When the next poll is worth making (`Retry-After`): from the same reads. While the backlog falls, the fall per
second over the instance's last reads (DRAIN_WINDOW_S) is the *drain*: decisions minus new requests, so at most the
decision rate, and position / drain at least the time until this request is decided. That, within
[RETRY_AFTER_MIN_S, RETRY_AFTER_MAX_S], is the answer's Retry-After. A backlog that does not fall measures no rate:
then no Retry-After, and the site keeps its own schedule (1 s, growing to 2 s; 5 s after a minute).
"""

from __future__ import annotations

import abc
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.booking import domain as d

BACKLOG_MAX_AGE_S = 2.0  # the site polls every 1-5 s: a fresher count would only cost more calls
# The drain is measured between the oldest and the newest read of this window: long enough that SQS's approximate
# counts do not make it up, short enough that a queue that stopped draining stops being paced by it.
DRAIN_WINDOW_S = 30.0
DRAIN_MIN_SPAN_S = 2 * BACKLOG_MAX_AGE_S  # reads closer together than this measure no drain
# Not under the longest pause of the site's own first-minute schedule (request.js: 1 s growing to 2 s), so a
# Retry-After never makes it poll sooner than it would without one.
RETRY_AFTER_MIN_S = 2
RETRY_AFTER_MAX_S = 10  # a queued request is asked about at least this often: a faster queue is noticed soon


class Backlog(abc.ABC):
    @abc.abstractmethod
    def waiting(self) -> int | None:
        """Booking requests whose message is still in the queue; None if the queue could not be asked."""


@dataclass(frozen=True)
class Line:
    """A queued request's place in the line: its `position` and the seconds until the next poll is worth making,
    each None when not known (and always None once the request is decided)."""

    position: int | None = None
    retry_after_s: int | None = None


def retry_after_s(position: int, drain_per_s: float | None) -> int | None:
    """Seconds until the next poll: the time by which a request with `position` requests in its line (itself
    included) is decided at the latest, if the line drains at `drain_per_s` (at most the decision rate), within
    the bounds; None without a measured drain."""
    if drain_per_s is None or drain_per_s <= 0:
        return None
    return max(RETRY_AFTER_MIN_S, min(RETRY_AFTER_MAX_S, math.ceil(position / drain_per_s)))


class QueuePositions:
    """The `position` of a request's state, from the backlog read at most every `max_age_s` per process, and the
    answer's Retry-After from how fast those reads saw the backlog fall."""

    def __init__(
        self,
        backlog: Backlog,
        monotonic: Callable[[], float] = time.monotonic,
        max_age_s: float = BACKLOG_MAX_AGE_S,
    ):
        self._backlog = backlog
        self._monotonic = monotonic
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._read: tuple[float, int | None] | None = None
        self._known: deque[tuple[float, int]] = deque()  # (monotonic time, backlog) of the reads in the window

    def position(self, state: d.RequestState) -> int | None:
        """At most how many requests, this one included, are decided before it is; None once decided or unknown."""
        return self.line(state).position

    def line(self, state: d.RequestState) -> Line:
        if state.status is not d.RequestStatus.QUEUED:
            return Line()
        waiting, drain = self._waiting()
        if waiting is None:
            return Line()
        # Counts lag a little behind the queue; this request is in it until decided, so the line is never empty.
        position = max(1, waiting)
        return Line(position, retry_after_s(position, drain))

    def _waiting(self) -> tuple[int | None, float | None]:
        """The backlog (None if unknown) and its drain per second over the window (None if not falling)."""
        now = self._monotonic()
        with self._lock:
            if self._read is None or now - self._read[0] >= self._max_age_s:
                # Under the lock: concurrent polls of one instance share one call instead of each making it.
                # An unknown count is kept as long, so an unreachable queue does not slow every poll.
                self._read = (now, self._backlog.waiting())
                if self._read[1] is not None:
                    self._known.append((now, self._read[1]))
                while self._known and now - self._known[0][0] > DRAIN_WINDOW_S:
                    self._known.popleft()
            return self._read[1], self._drain()

    def _drain(self) -> float | None:
        if len(self._known) < 2:
            return None
        (t0, first), (t1, last) = self._known[0], self._known[-1]
        if t1 - t0 < DRAIN_MIN_SPAN_S or last >= first:
            return None
        return (first - last) / (t1 - t0)
