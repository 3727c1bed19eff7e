"""A guardrail for launch day: do the slot counters still equal the bookings that hold them?

The booking transaction keeps them equal by construction; this check proves it in production and raises an
alarm (through two metrics) the moment something — a bug, a manual edit, a bad restore — breaks it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog

# Slots are checked from this far back (a booking can hold a slot that has already passed).
LOOK_BACK = timedelta(days=120)
LOOK_AHEAD = timedelta(days=365)


@dataclass(frozen=True)
class ReconciliationReport:
    slots_checked: int
    bookings_checked: int
    drift: int  # sum over slots of |counter − active bookings holding the slot|
    # Active bookings of two-dose campaigns without a second appointment (but for a first dose missed).
    second_dose_shortfall: int
    drifting_slots: tuple[str, ...] = field(default=())  # "campaign/centre/slot" of every drifting slot


class Reconciliation:
    def __init__(self, catalog: Catalog, bookings: Bookings, clock, retention: timedelta = d.DEFAULT_RETENTION):
        self._catalog = catalog
        self._bookings = bookings
        self._now = clock
        # Bookings are deleted a retention after their last appointment while slot counters stay: a slot
        # older than that may count bookings that no longer exist, so it is not compared.
        self._look_back = min(LOOK_BACK, retention)

    def run(self) -> ReconciliationReport:
        campaigns = {c.id: c for c in self._catalog.campaigns()}
        held: Counter[tuple[str, str, str]] = Counter()
        shortfall = checked = 0
        now = self._now()
        for booking in self._bookings.active_bookings():
            checked += 1
            for appointment in booking.appointments:
                if appointment.start >= now - self._look_back:  # the window of slots compared below
                    held[(booking.campaign_id, booking.center_id, appointment.slot_id)] += 1
            campaign = campaigns.get(booking.campaign_id)
            # A first dose missed needs no second here: its seat was given back (attendance).
            missed = booking.first_attendance is d.Attendance.NO_SHOW
            if campaign is not None and campaign.needs_second_dose and booking.second is None and not missed:
                shortfall += 1
        for hold in self._bookings.holds():  # a pair held after a centre-day cancel holds its seats too
            for appointment in hold.appointments:
                if appointment.start >= now - self._look_back:
                    held[(hold.campaign_id, hold.center_id, appointment.slot_id)] += 1
        counters: dict[tuple[str, str, str], int] = {}
        for campaign in campaigns.values():
            for center_id in campaign.center_ids:
                for slot in self._catalog.slots(campaign.id, center_id, now - self._look_back, now + LOOK_AHEAD):
                    counters[(campaign.id, center_id, slot.slot_id)] = slot.booked
        drifting = {key: abs(counters.get(key, 0) - held.get(key, 0)) for key in set(counters) | set(held)}
        drifting = {key: diff for key, diff in drifting.items() if diff}
        return ReconciliationReport(
            slots_checked=len(counters),
            bookings_checked=checked,
            drift=sum(drifting.values()),
            second_dose_shortfall=shortfall,
            drifting_slots=tuple(sorted("/".join(key) for key in drifting)),
        )
