"""The one limiter mechanism: a hit is accepted while its window's counter is below the limit, else
`TooManyRequests` with the seconds left in the window. What is limited, and how much, is in `abuse.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.booking.ports import Admission
from chalicelib.limits.domain import Limit, TooManyRequests, Window, shard_of, window_of
from chalicelib.limits.ports import Counters

# Counters are kept a day past their window for whoever reads metrics or debugs; TTL removes them after.
KEEP_AFTER_WINDOW_S = 24 * 3600


@dataclass(frozen=True)
class Ticket:
    """An accepted hit, so that it can be given back."""

    key: str
    window: Window
    expires_at: int


class Limiter:
    def __init__(
        self,
        counters: Counters,
        pepper: bytes,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        draw: Callable[[], float] = random.random,
    ):
        self._counters = counters
        self._pepper = pepper
        self._now = clock
        self._draw = draw

    def _key(self, limit: Limit, subject: str, shard: int) -> str:
        # Keyed like domain.Person.key: the stored key says nothing about the code, address or person.
        digest = hmac.new(self._pepper, f"{limit.name}|{subject}".encode(), hashlib.sha256).hexdigest()[:40]
        return f"{limit.name}#{digest}#{shard}"

    def hit(self, limit: Limit, subject: str, anchor: float | None = None) -> Ticket | None:
        """Count one hit, or raise TooManyRequests (and count nothing) if the window is full."""
        if not limit.enabled:
            return None
        now = self._now().timestamp()
        window = window_of(limit, now, anchor)
        key = self._key(limit, subject, shard_of(limit, self._draw()))
        expires_at = window.end + KEEP_AFTER_WINDOW_S
        if not self._counters.add(key, window.start, expires_at, 1, limit.max_per_shard):
            raise TooManyRequests(window.retry_after_s(now))
        return Ticket(key, window, expires_at)

    def hit_in_write(self, limit: Limit, subject: str) -> Admission | None:
        """The hit, to be counted by the write that stores what it admits (see Counters.add_in_write): that
        write raises TooManyRequests, and stores nothing, if the window is full."""
        if not limit.enabled:
            return None
        now = self._now().timestamp()
        window = window_of(limit, now)
        key = self._key(limit, subject, shard_of(limit, self._draw()))
        refusal = TooManyRequests(window.retry_after_s(now))
        return self._counters.add_in_write(
            key, window.start, window.end + KEEP_AFTER_WINDOW_S, 1, limit.max_per_shard, refusal
        )

    def give_back(self, ticket: Ticket | None) -> None:
        if ticket is not None:
            self._counters.add(ticket.key, ticket.window.start, ticket.expires_at, -1, None)
