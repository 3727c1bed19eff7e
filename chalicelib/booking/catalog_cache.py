"""A short-lived in-memory copy of centres and campaigns.

At launch every API call reads them (eligibility, availability, submit): ~700 requests/s on one
partition each would throttle DynamoDB. They change a few times a day, so each Lambda instance keeps
them for a few seconds. Slots are cached only when the caller accepts a copy of a given age (what is
shown, never what is decided): availability stays true to within that age, and the booking transaction
re-checks every slot anyway.

A refill is single-flight: when a copy expires under load, the first caller reads and every concurrent
caller for the same key waits for that read instead of sending its own (no stampede on one partition).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog

Key = str | tuple


class CachedCatalog(Catalog):
    def __init__(self, inner: Catalog, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[Key, tuple[float, Any]] = {}
        # key → (when its read began, the generation it began in, its answer)
        self._flights: dict[Key, tuple[float, int, Future]] = {}
        # Bumped by every write through the cache: a read that began before a write must not store its
        # (possibly older) answer after it.
        self._generation = 0

    def _read(self, key: Key, max_age_s: float, load: Callable[[], Any]) -> Any:
        """The copy of `key` if younger than max_age_s, else one shared read of it."""
        now = self._clock()
        with self._lock:
            hit = self._cached.get(key)
            if hit is not None and now - hit[0] < max_age_s:
                return hit[1]
            generation = self._generation
            running = self._flights.get(key)
            # Join a read under way only if its answer is young enough for this caller (it is as old as the
            # read's start) and began after the last write through the cache.
            joined = running is not None and now - running[0] < max_age_s and running[1] == generation
            leader = running is None
            if leader:
                flight: Future = Future()
                self._flights[key] = (now, generation, flight)
        if joined:
            assert running is not None
            return running[2].result()
        if not leader:  # a read too old to share is under way: read on our own, without storing
            return load()
        try:
            value = load()
        except BaseException as error:
            with self._lock:
                del self._flights[key]
            flight.set_exception(error)  # the waiters see the leader's error; the next call reads again
            raise
        with self._lock:
            del self._flights[key]
            if generation == self._generation:
                self._cached[key] = (now, value)
        flight.set_result(value)
        return value

    def _forget(self) -> None:
        with self._lock:
            self._cached.clear()
            self._generation += 1

    def centers(self) -> list[d.Center]:
        if self._ttl_s <= 0:
            return self._inner.centers()
        return self._read("centers", self._ttl_s, self._inner.centers)

    def campaigns(self) -> list[d.Campaign]:
        if self._ttl_s <= 0:
            return self._inner.campaigns()
        return self._read("campaigns", self._ttl_s, self._inner.campaigns)

    def slots(self, campaign_id, center_id, start, end, max_age_s: float = 0):
        if max_age_s <= 0:
            return self._inner.slots(campaign_id, center_id, start, end)
        now = self._clock()
        with self._lock:
            # Keep the cache small: drop copies that are too old to be served anyway.
            for old in [k for k, (at, _) in self._cached.items() if k[0] == "slots" and now - at >= max_age_s]:
                del self._cached[old]
        return self._read(
            ("slots", campaign_id, center_id, start, end),
            max_age_s,
            lambda: self._inner.slots(campaign_id, center_id, start, end, max_age_s),
        )

    def slot(self, campaign_id, center_id, slot_id):
        return self._inner.slot(campaign_id, center_id, slot_id)

    def add_center(self, center: d.Center) -> None:
        self._inner.add_center(center)
        self._forget()

    def add_campaign(self, campaign: d.Campaign) -> None:
        self._inner.add_campaign(campaign)
        self._forget()

    def release_slots(self, slots: list[d.Slot]) -> None:
        self._inner.release_slots(slots)
