"""Use cases of the citizen API and the booking worker.

Each public method is one use case; it takes domain values, talks to the ports and returns domain values.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog, MailOutbox, RequestQueue
from chalicelib.notify.messages import Appointment, MailKind, MailMessage

LOCAL_TZ = d.LOCAL_TZ
MAX_DAYS = 28
MAX_ALTERNATIVES = 5
# A worker tries a few second-dose slots and (when flexible) a few first slots before giving up:
# enough to ride out a race for the same slot, bounded so one message cannot hold a worker long.
SECOND_DOSE_ATTEMPTS = 3
FLEXIBLE_ATTEMPTS = 5


@dataclass(frozen=True)
class DayPairs:
    day: date
    pairs: tuple[d.SlotPair, ...]


@dataclass(frozen=True)
class BookingView:
    booking: d.Booking
    center: d.Center


class BookingService:
    def __init__(
        self,
        catalog: Catalog,
        bookings: Bookings,
        queue: RequestQueue,
        outbox: MailOutbox,
        person_key_pepper: bytes,
        clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
        availability_max_age_s: float = 0,
    ):
        self._catalog = catalog
        self._bookings = bookings
        self._queue = queue
        self._outbox = outbox
        self._pepper = person_key_pepper
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

    def eligibility(self, birth_date: date, postal_code: str) -> d.Eligibility:
        region = d.region_of(self._catalog.centers(), postal_code)
        return d.decide_eligibility(self._catalog.campaigns(), region, birth_date, self._now())

    def availability(self, center_id: str, campaign_id: str, from_day: date | None, days: int) -> list[DayPairs]:
        center = self._center(center_id)
        campaign = self._campaign(campaign_id)
        if center.id not in campaign.center_ids:
            return []
        start_day = from_day or self._now().date()
        first_from = max(datetime.combine(start_day, time(0), LOCAL_TZ), self._now())
        first_until = datetime.combine(start_day + timedelta(days=min(days, MAX_DAYS)), time(0), LOCAL_TZ)
        pairs = self._pairs(campaign, center.id, first_from, first_until, self._availability_max_age_s)
        by_day: dict[date, list[d.SlotPair]] = {}
        for pair in pairs:
            by_day.setdefault(pair.first.day, []).append(pair)
        return [DayPairs(day, tuple(p)) for day, p in sorted(by_day.items())]

    # --- booking requests -------------------------------------------------------------------------

    def submit(self, campaign_id: str, center_id: str, slot_id: str, flexible: bool, language: str,
               person: d.Person) -> str:
        """Check what can be checked cheaply now, then store and queue the request. Returns its id."""
        try:
            campaign = self._campaign(campaign_id)
        except d.UnknownCampaign:
            raise d.InvalidInput("campaign_id", "unknown_campaign") from None
        try:
            center = self._center(center_id)
        except d.UnknownCenter:
            raise d.InvalidInput("center_id", "unknown_center") from None
        if center.id not in campaign.center_ids:
            raise d.InvalidInput("center_id", "center_not_in_campaign")
        slot = self._catalog.slot(campaign.id, center.id, slot_id)
        if slot is None or slot.start <= self._now():
            raise d.InvalidInput("slot_id", "unknown_slot")
        self._require_eligible(campaign, person)
        request = d.BookingRequest(
            request_id=uuid.uuid4().hex,
            campaign_id=campaign.id,
            center_id=center.id,
            slot_id=slot.slot_id,
            flexible=flexible,
            language=language,
            person=person,
        )
        self._bookings.add_request(request, self._now())
        self._queue.send(request)
        return request.request_id

    def request_state(self, request_id: str) -> tuple[d.RequestState, BookingView | None]:
        state = self._bookings.request_state(request_id)
        if state is None:
            raise d.UnknownRequest(request_id)
        view = None
        if state.booking_code is not None:
            booking = self._bookings.booking(state.booking_code)
            if booking is not None:
                view = BookingView(booking, self._center(booking.center_id))
        return state, view

    def process(self, request: d.BookingRequest) -> d.RequestState:
        """The worker's use case: book the request's pair (or a nearby one if flexible), or reject it.

        Safe to run twice for the same request: a decided request is left as it is, and a booked one only
        has its confirmation mail published again (notify sends it once).
        """
        state = self._bookings.request_state(request.request_id)
        if state is None:
            raise d.UnknownRequest(request.request_id)
        if state.status is not d.RequestStatus.QUEUED:
            booking = self._bookings.booking(state.booking_code) if state.booking_code else None
            if booking is not None:
                self._publish_confirmation(booking)
            return state

        campaign = self._campaign(request.campaign_id)
        try:
            self._require_eligible(campaign, request.person)
        except d.NotEligible:
            return self._reject(request, d.RejectReason.NOT_ELIGIBLE)
        # Checked first so that the answer is the true one even when the chosen slot is full as well;
        # the booking transaction still enforces it.
        if self._bookings.holds_booking(request.person.key(self._pepper), campaign.id):
            return self._reject(request, d.RejectReason.ALREADY_BOOKED)

        candidates = self._first_slot_candidates(campaign, request)
        for first in candidates:
            try:
                booking = self._reserve_pair(campaign, request, first)
            except d.FirstSlotTaken:
                continue
            except d.AlreadyBooked:
                return self._reject(request, d.RejectReason.ALREADY_BOOKED)
            except d.RequestAlreadyDecided:
                return self._bookings.request_state(request.request_id) or state
            self._publish_confirmation(booking)
            return self._bookings.request_state(request.request_id) or state
        if request.flexible:
            return self._reject(request, d.RejectReason.NO_CAPACITY)
        alternatives = self._alternatives(campaign, request)
        reason = d.RejectReason.SLOT_TAKEN if alternatives else d.RejectReason.NO_CAPACITY
        return self._reject(request, reason, alternatives)

    # --- look up and cancel -----------------------------------------------------------------------

    def lookup(self, code: str, birth_date: date) -> BookingView:
        booking = self._bookings.booking(d.normalise_booking_code(code))
        # A wrong birth date must look exactly like an unknown code: no oracle for guessed codes.
        if booking is None or booking.person.birth_date != birth_date:
            raise d.BookingNotFound()
        return BookingView(booking, self._center(booking.center_id))

    def cancel(self, code: str, birth_date: date) -> BookingView:
        view = self.lookup(code, birth_date)
        self._bookings.cancel(view.booking, view.booking.person.key(self._pepper))
        # Published again on a repeated cancel too: if the first publish was lost, this one is the mail;
        # if not, notify's idempotency drops it.
        self._outbox.publish(self._mail(MailKind.BOOKING_CANCELLED, view.booking, view.center))
        return BookingView(view.booking.cancelled(), view.center)

    # --- internals --------------------------------------------------------------------------------

    def _center(self, center_id: str) -> d.Center:
        for center in self._catalog.centers():
            if center.id == center_id:
                return center
        raise d.UnknownCenter(center_id)

    def _campaign(self, campaign_id: str) -> d.Campaign:
        for campaign in self._catalog.campaigns():
            if campaign.id == campaign_id:
                return campaign
        raise d.UnknownCampaign(campaign_id)

    def _require_eligible(self, campaign: d.Campaign, person: d.Person) -> None:
        eligibility = self.eligibility(person.birth_date, person.postal_code)
        if campaign.id not in {c.id for c in eligibility.campaigns}:
            raise d.NotEligible((eligibility.reason or d.IneligibleReason.NOT_YET_ELIGIBLE).value)

    def _pairs(self, campaign: d.Campaign, center_id: str, first_from: datetime,
               first_until: datetime, max_age_s: float = 0) -> list[d.SlotPair]:
        horizon = first_until + timedelta(days=campaign.interval_max_days + 1)
        # Read from the start of the day, not from "now": the same read for everyone that day (cacheable);
        # slots already past are left out by bookable_pairs.
        day_start = datetime.combine(first_from.astimezone(LOCAL_TZ).date(), time(0), LOCAL_TZ)
        slots = self._catalog.slots(campaign.id, center_id, day_start, horizon, max_age_s)
        return d.bookable_pairs(campaign, slots, first_from, first_until)

    def _first_slot_candidates(self, campaign: d.Campaign, request: d.BookingRequest) -> Iterator[d.Slot]:
        """The chosen slot, then (if flexible) the nearest bookable ones, read only when the chosen one fails."""
        requested = self._catalog.slot(request.campaign_id, request.center_id, request.slot_id)
        if requested is not None and requested.remaining > 0:
            yield requested
        if not request.flexible:
            return
        nearby = self._nearby_pairs(campaign, request, requested)
        others = (p.first for p in nearby if p.first.slot_id != request.slot_id)
        yield from itertools.islice(others, FLEXIBLE_ATTEMPTS)

    def _reserve_pair(self, campaign: d.Campaign, request: d.BookingRequest,
                      first: d.Slot) -> d.Booking:
        """Try the first slot with the best few second-dose slots; FirstSlotTaken if no pair could be had."""
        seconds: list[d.Slot | None] = [None]
        if campaign.needs_second_dose:
            window_start, window_end = campaign.second_dose_window(first.day)
            window = self._catalog.slots(
                campaign.id,
                first.center_id,
                datetime.combine(window_start, time(0), LOCAL_TZ),
                datetime.combine(window_end + timedelta(days=1), time(0), LOCAL_TZ),
            )
            seconds = list(d.second_dose_candidates(campaign, first, window)[:SECOND_DOSE_ATTEMPTS])
            if not seconds:
                raise d.FirstSlotTaken()
        for second in seconds:
            booking = d.Booking(
                code=d.new_booking_code(),
                request_id=request.request_id,
                campaign_id=campaign.id,
                center_id=request.center_id,
                first=first.ref,
                second=second.ref if second else None,
                person=request.person,
                language=request.language,
                created_at=self._now(),
            )
            try:
                self._bookings.reserve(booking, request.person.key(self._pepper))
                return booking
            except d.SecondSlotTaken:
                continue
        raise d.FirstSlotTaken()

    def _alternatives(self, campaign: d.Campaign, request: d.BookingRequest) -> list[d.SlotPair]:
        requested = self._catalog.slot(request.campaign_id, request.center_id, request.slot_id)
        return self._nearby_pairs(campaign, request, requested)[:MAX_ALTERNATIVES]

    def _nearby_pairs(self, campaign: d.Campaign, request: d.BookingRequest,
                      requested: d.Slot | None) -> list[d.SlotPair]:
        """Bookable pairs at the request's centre from the day of the chosen slot (or today) on, earliest first."""
        day = requested.day if requested else self._now().date()
        first_from = max(datetime.combine(day, time(0), LOCAL_TZ), self._now())
        return self._pairs(campaign, request.center_id, first_from, first_from + timedelta(days=MAX_DAYS))

    def _reject(self, request: d.BookingRequest, reason: d.RejectReason,
                alternatives: list[d.SlotPair] | None = None) -> d.RequestState:
        self._bookings.reject(request.request_id, reason, alternatives or [])
        state = self._bookings.request_state(request.request_id)
        assert state is not None  # the request existed a moment ago and requests are never deleted here
        return state

    def _publish_confirmation(self, booking: d.Booking) -> None:
        if booking.status is not d.BookingStatus.ACTIVE:
            return
        self._outbox.publish(self._mail(MailKind.BOOKING_CONFIRMED, booking, self._center(booking.center_id)))

    @staticmethod
    def _mail(kind: MailKind, booking: d.Booking, center: d.Center) -> MailMessage:
        return MailMessage(
            kind=kind,
            booking_code=booking.code,
            language=booking.language,
            recipient=booking.person.email,
            given_name=booking.person.given_name,
            family_name=booking.person.family_name,
            center_name=center.name,
            center_address=center.address,
            appointments=[
                Appointment(dose=i, start=s.start, end=s.end) for i, s in enumerate(booking.appointments, start=1)
            ],
        )
