"""A short-lived in-memory copy of centres and campaigns.

At launch every API call reads them (eligibility, availability, submit): ~700 requests/s on one
partition each would throttle DynamoDB. They change a few times a day, so each Lambda instance keeps
them for a few seconds. Slots are cached only when the caller accepts a copy of a given age (what is
shown, never what is decided): availability stays true to within that age, and the booking transaction
re-checks every slot anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog


class CachedCatalog(Catalog):
    def __init__(self, inner: Catalog, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str | tuple, tuple[float, list]] = {}

    def _read(self, name: str, load: Callable[[], list]) -> list:
        if self._ttl_s <= 0:
            return load()
        now = self._clock()
        with self._lock:
            hit = self._cached.get(name)
            if hit is not None and now - hit[0] < self._ttl_s:
                return hit[1]
        value = load()
        with self._lock:
            self._cached[name] = (now, value)
        return value

    def _forget(self) -> None:
        with self._lock:
            self._cached.clear()

    def centers(self) -> list[d.Center]:
        return self._read("centers", self._inner.centers)

    def campaigns(self) -> list[d.Campaign]:
        return self._read("campaigns", self._inner.campaigns)

    def slots(self, campaign_id, center_id, start, end, max_age_s: float = 0):
        if max_age_s <= 0:
            return self._inner.slots(campaign_id, center_id, start, end)
        key = ("slots", campaign_id, center_id, start, end)
        now = self._clock()
        with self._lock:
            hit = self._cached.get(key)
            if hit is not None and now - hit[0] < max_age_s:
                return hit[1]
            # Keep the cache small: drop copies that are too old to be served anyway.
            for old in [k for k, (at, _) in self._cached.items() if k[0] == "slots" and now - at >= max_age_s]:
                del self._cached[old]
        value = self._inner.slots(campaign_id, center_id, start, end, max_age_s)
        with self._lock:
            self._cached[key] = (now, value)
        return value

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
