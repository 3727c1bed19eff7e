"""The use cases that change state: submit a booking request, process it (the worker), cancel a booking.

Each public method is one use case; it takes domain values, talks to the ports and returns domain values.
What they read goes through `BookingQueries` (`queries.py`), the read side the API also uses.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.mail import publish_mail
from chalicelib.booking.ports import Bookings, Catalog, MailOutbox, RequestQueue
from chalicelib.booking.queries import BookingQueries, BookingView
from chalicelib.contracts.mail import MailKind

LOCAL_TZ = d.LOCAL_TZ
MAX_ALTERNATIVES = 5
# A worker tries a few second-dose slots and (when flexible) a few first slots before giving up:
# enough to ride out a race for the same slot, bounded so one message cannot hold a worker long.
SECOND_DOSE_ATTEMPTS = 3
FLEXIBLE_ATTEMPTS = 5


class BookingService:
    def __init__(
        self,
        queries: BookingQueries,
        catalog: Catalog,
        bookings: Bookings,
        queue: RequestQueue,
        outbox: MailOutbox,
        person_key_pepper: bytes,
        clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
    ):
        self._queries = queries
        self._catalog = catalog
        self._bookings = bookings
        self._queue = queue
        self._outbox = outbox
        self._pepper = person_key_pepper
        self._now = clock

    def submit(self, campaign_id: str, center_id: str, slot_id: str, flexible: bool, language: str,
               person: d.Person, channel: d.Channel = d.Channel.WEB, agent: str | None = None) -> str:
        """Check what can be checked cheaply now, then store and queue the request. Returns its id."""
        try:
            campaign = self._queries.campaign(campaign_id)
        except d.UnknownCampaign:
            raise d.InvalidInput("campaign_id", "unknown_campaign") from None
        try:
            center = self._queries.center(center_id)
        except d.UnknownCenter:
            raise d.InvalidInput("center_id", "unknown_center") from None
        if center.id not in campaign.center_ids:
            raise d.InvalidInput("center_id", "center_not_in_campaign")
        slot = self._catalog.slot(campaign.id, center.id, slot_id)
        if slot is None or campaign.booking_window.has_started(slot.start, self._now()):
            raise d.InvalidInput("slot_id", "unknown_slot")
        self._queries.require_eligible(campaign, person)
        request = d.BookingRequest(
            request_id=uuid.uuid4().hex,
            campaign_id=campaign.id,
            center_id=center.id,
            slot_id=slot.slot_id,
            flexible=flexible,
            language=language,
            person=person,
            channel=channel,
            agent=agent,
        )
        self._bookings.add_request(request, self._now())
        self._queue.send(request)
        return request.request_id

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

        campaign = self._queries.campaign(request.campaign_id)
        try:
            self._queries.require_eligible(campaign, request.person)
        except d.NotEligible:
            return self._reject(request, d.RejectReason.NOT_ELIGIBLE)
        # Checked first so that the answer is the true one even when the chosen slot is full as well;
        # the booking transaction still enforces it.
        if self._bookings.holds_booking(request.person.key(self._pepper), campaign.id):
            return self._reject(request, d.RejectReason.ALREADY_BOOKED)

        # Read once: it is the first candidate, and the day the alternatives start from.
        requested = self._catalog.slot(request.campaign_id, request.center_id, request.slot_id)
        for first in self._first_slot_candidates(campaign, request, requested):
            try:
                booking = self._reserve_pair(campaign, request, first)
            except d.FirstSlotTaken:
                continue
            except d.AlreadyBooked:
                return self._reject(request, d.RejectReason.ALREADY_BOOKED)
            except d.RequestAlreadyDecided:
                return self._bookings.request_state(request.request_id) or state
            self._publish_confirmation(booking)
            return d.RequestState(request.request_id, d.RequestStatus.BOOKED, booking_code=booking.code)
        if request.flexible:
            return self._reject(request, d.RejectReason.NO_CAPACITY)
        alternatives = self._queries.nearby_pairs(campaign, request.center_id, requested)[:MAX_ALTERNATIVES]
        reason = d.RejectReason.SLOT_TAKEN if alternatives else d.RejectReason.NO_CAPACITY
        return self._reject(request, reason, alternatives)

    def cancel(self, code: str, birth_date: date) -> BookingView:
        view = self._queries.lookup(code, birth_date)
        self._bookings.cancel(view.booking, view.booking.person.key(self._pepper))
        # Published again on a repeated cancel too: if the first publish was lost, this one is the mail;
        # if not, notify's idempotency drops it.
        publish_mail(self._outbox, MailKind.BOOKING_CANCELLED, view.booking, view.center)
        return BookingView(view.booking.cancelled(), view.center)

    # --- internals --------------------------------------------------------------------------------

    def _first_slot_candidates(self, campaign: d.Campaign, request: d.BookingRequest,
                               requested: d.Slot | None) -> Iterator[d.Slot]:
        """The chosen slot, then (if flexible) the nearest bookable ones, read only when the chosen one fails."""
        if requested is not None and requested.remaining > 0:
            yield requested
        if not request.flexible:
            return
        nearby = self._queries.nearby_pairs(campaign, request.center_id, requested)
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
                channel=request.channel,
                agent=request.agent,
            )
            try:
                self._bookings.reserve(booking, request.person.key(self._pepper))
                return booking
            except d.SecondSlotTaken:
                continue
        raise d.FirstSlotTaken()

    def _reject(self, request: d.BookingRequest, reason: d.RejectReason,
                alternatives: list[d.SlotPair] | None = None) -> d.RequestState:
        rejected = d.RequestState(request.request_id, d.RequestStatus.REJECTED, reason=reason,
                                  alternatives=tuple(alternatives or ()))
        if self._bookings.reject(request.request_id, reason, list(rejected.alternatives)):
            return rejected
        # Decided by another delivery in the meantime: its decision stands, so answer with it.
        state = self._bookings.request_state(request.request_id)
        assert state is not None  # the request existed a moment ago and requests are never deleted here
        return state

    def _publish_confirmation(self, booking: d.Booking) -> None:
        if booking.status is not d.BookingStatus.ACTIVE:
            return
        publish_mail(self._outbox, MailKind.BOOKING_CONFIRMED, booking, self._queries.center(booking.center_id))
