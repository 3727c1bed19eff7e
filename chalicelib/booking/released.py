"""The catalogue as booking sees it: the slots of a scheduled contingent only from their release time on.

Filtered on read (no scheduler to wake up): availability, submit and the worker all read through this, so a
slot released "at 8:00" can be neither seen nor booked at 7:59. Ops read the catalogue itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog


class ReleasedCatalog(Catalog):
    def __init__(self, inner: Catalog, clock: Callable[[], datetime]):
        self._inner = inner
        self._now = clock

    def centers(self) -> list[d.Center]:
        return self._inner.centers()

    def campaigns(self) -> list[d.Campaign]:
        return self._inner.campaigns()

    def slots(self, campaign_id, center_id, start, end, max_age_s: float = 0) -> list[d.Slot]:
        now = self._now()
        return [s for s in self._inner.slots(campaign_id, center_id, start, end, max_age_s) if s.is_released(now)]

    def slot(self, campaign_id, center_id, slot_id) -> d.Slot | None:
        slot = self._inner.slot(campaign_id, center_id, slot_id)
        return slot if slot is not None and slot.is_released(self._now()) else None

    def add_center(self, center: d.Center) -> None:
        self._inner.add_center(center)

    def add_campaign(self, campaign: d.Campaign) -> None:
        self._inner.add_campaign(campaign)

    def release_slots(self, slots: list[d.Slot]) -> None:
        self._inner.release_slots(slots)
