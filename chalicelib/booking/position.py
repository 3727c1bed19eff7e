"""Where a queued booking request stands (contract §4's `position`): the length of the line it is in.

Every accepted request waits as one message in the booking queue until the worker has decided it and deleted the
message. So the queue's backlog (messages waiting, being handled, or delayed for a retry), this request's
included, is how many requests can still be decided before it, at most: the queue hands messages out roughly,
not strictly, in order, so it is the length of the line, not an exact place in it. One queue serves every
campaign, so the line is everyone's.

Cheap on purpose: nothing is written per request. One API instance asks the queue at most once every
BACKLOG_MAX_AGE_S, whoever polls; SQS itself calls its counts approximate (docs/waiting-room.md says how exact).
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable

from chalicelib.booking import domain as d

BACKLOG_MAX_AGE_S = 2.0  # the site polls every 1-5 s: a fresher count would only cost more calls


class Backlog(abc.ABC):
    @abc.abstractmethod
    def waiting(self) -> int | None:
        """Booking requests whose message is still in the queue; None if the queue could not be asked."""


class QueuePositions:
    """The `position` of a request's state, from the backlog read at most every `max_age_s` per process."""

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

    def position(self, state: d.RequestState) -> int | None:
        """At most how many requests, this one included, are decided before it is; None once decided or unknown."""
        if state.status is not d.RequestStatus.QUEUED:
            return None
        waiting = self._waiting()
        # Counts lag a little behind the queue; this request is in it until decided, so the line is never empty.
        return None if waiting is None else max(1, waiting)

    def _waiting(self) -> int | None:
        now = self._monotonic()
        with self._lock:
            if self._read is None or now - self._read[0] >= self._max_age_s:
                # Under the lock: concurrent polls of one instance share one call instead of each making it.
                # An unknown count is kept as long, so an unreachable queue does not slow every poll.
                self._read = (now, self._backlog.waiting())
            return self._read[1]
