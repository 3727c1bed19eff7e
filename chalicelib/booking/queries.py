"""The read side of the citizen API: catalogue, eligibility, availability, request state and look-up.

Nothing here changes state; the use cases that do are in `services.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog

LOCAL_TZ = d.LOCAL_TZ


@dataclass(frozen=True)
class DayPairs:
    day: date
    pairs: tuple[d.SlotPair, ...]


@dataclass(frozen=True)
class BookingView:
    booking: d.Booking
    center: d.Center
    # The pair held for a booking a centre-day operation cancelled, while it lasts; only `lookup(with_hold=True)`
    # reads it, so every other use of a booking view costs no extra read.
    hold: d.Hold | None = None


class BookingQueries:
    def __init__(
        self,
        catalog: Catalog,
        bookings: Bookings,
        clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
        availability_max_age_s: float = 0,
    ):
        self._catalog = catalog
        self._bookings = bookings
        self._now = clock
        self._availability_max_age_s = availability_max_age_s

    # --- catalogue and eligibility ----------------------------------------------------------------

    def centers(self, postal_code: str | None = None) -> list[d.Center]:
        centers = sorted(self._catalog.centers(), key=lambda c: c.name)
        if postal_code is None:
            return centers
        return [c for c in centers if c.serves(postal_code)]

    def campaigns(self) -> list[tuple[d.Campaign, d.CampaignStatus]]:
        now = self._now()
        return [(c, c.status(now)) for c in sorted(self._catalog.campaigns(), key=lambda c: c.opens_at)]

    def center(self, center_id: str) -> d.Center:
        for center in self._catalog.centers():
            if center.id == center_id:
                return center
        raise d.UnknownCenter(center_id)

    def campaign(self, campaign_id: str) -> d.Campaign:
        for campaign in self._catalog.campaigns():
            if campaign.id == campaign_id:
                return campaign
        raise d.UnknownCampaign(campaign_id)

    def eligibility(self, birth_date: date, postal_code: str) -> d.Eligibility:
        region = d.region_of(self._catalog.centers(), postal_code)
        return d.decide_eligibility(self._catalog.campaigns(), region, birth_date, self._now())

    def require_eligible(self, campaign: d.Campaign, person: d.Person) -> None:
        eligibility = self.eligibility(person.birth_date, person.postal_code)
        if campaign.id not in {c.id for c in eligibility.campaigns}:
            raise d.NotEligible((eligibility.reason or d.IneligibleReason.NOT_YET_ELIGIBLE).value)

    # --- availability -----------------------------------------------------------------------------

    def availability(
        self, center_id: str, campaign_id: str, from_day: date | None, days: int, at: datetime | None = None
    ) -> list[DayPairs]:
        """`at`: the answer's one instant, shared with `availability_page` (now if None), so that an answer given
        across midnight does not list one day's pairs on the next day's page."""
        center = self.center(center_id)
        campaign = self.campaign(campaign_id)
        if center.id not in campaign.center_ids:
            return []
        first_from, first_until = campaign.booking_window.first_dose_range(at or self._now(), from_day, days)
        pairs = self.pairs(campaign, center.id, first_from, first_until, self._availability_max_age_s)
        by_day: dict[date, list[d.SlotPair]] = {}
        for pair in pairs:
            by_day.setdefault(pair.first.day, []).append(pair)
        return [DayPairs(day, tuple(p)) for day, p in sorted(by_day.items())]

    def availability_page(
        self, campaign_id: str, from_day: date | None, days: int, at: datetime | None = None
    ) -> d.AvailabilityPage:
        """Where the days `availability` lists sit in the campaign's booking horizon."""
        return self.campaign(campaign_id).booking_window.page(at or self._now(), from_day, days)

    def pairs(
        self, campaign: d.Campaign, center_id: str, first_from: datetime, first_until: datetime, max_age_s: float = 0
    ) -> list[d.SlotPair]:
        """Bookable pairs whose first dose starts in [first_from, first_until); max_age_s as in `Catalog.slots`."""
        if first_until <= first_from:
            return []  # a page beyond the booking horizon (or a day already over): nothing to read
        horizon = first_until + timedelta(days=campaign.interval_max_days + 1)
        # Read from the start of the day, not from "now": the same read for everyone that day (cacheable);
        # slots already past are left out by bookable_pairs.
        day_start = datetime.combine(first_from.astimezone(LOCAL_TZ).date(), time(0), LOCAL_TZ)
        slots = self._catalog.slots(campaign.id, center_id, day_start, horizon, max_age_s)
        return d.bookable_pairs(campaign, slots, first_from, first_until)

    def nearby_pairs(self, campaign: d.Campaign, center_id: str, requested: d.Slot | None) -> list[d.SlotPair]:
        """Bookable pairs at the centre from the day of the chosen slot (or today) on, earliest first."""
        first_from, first_until = campaign.booking_window.first_dose_range(
            self._now(), requested.day if requested else None
        )
        return self.pairs(campaign, center_id, first_from, first_until)

    # --- requests and bookings --------------------------------------------------------------------

    def request_state(self, request_id: str) -> tuple[d.RequestState, BookingView | None]:
        state = self._bookings.request_state(request_id)
        if state is None:
            raise d.UnknownRequest(request_id)
        view = None
        if state.booking_code is not None:
            booking = self._bookings.booking(state.booking_code)
            if booking is not None:
                view = BookingView(booking, self.center(booking.center_id))
        return state, view

    def lookup(self, code: str, birth_date: date, with_hold: bool = False) -> BookingView:
        """The booking for its code and the person's birth date. `with_hold` (the citizen look-up) adds the
        pair held for a cancelled booking while the hold lasts: one more read by key, for cancelled ones only."""
        booking = self._bookings.booking(d.normalise_booking_code(code))
        # A wrong birth date must look exactly like an unknown code: no oracle for guessed codes.
        if booking is None or booking.person.birth_date != birth_date:
            raise d.BookingNotFound()
        hold = None
        if with_hold and booking.status is d.BookingStatus.CANCELLED:
            hold = self._bookings.hold(booking.code)
            if hold is not None and not hold.is_live(self._now()):
                hold = None  # lapsed: the sweep gives its seats back; it can no longer be confirmed
        return BookingView(booking, self.center(booking.center_id), hold)
