"""The use cases that change state: submit a booking request, process it (the worker), cancel or rebook a booking.

Each public method is one use case; it takes domain values, talks to the ports and returns domain values.
What they read goes through `BookingQueries` (`queries.py`), the read side the API also uses.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction, new_record, summary_of_booking, summary_of_hold
from chalicelib.booking.mail import publish_mail, rejection_mail
from chalicelib.booking.ports import Admission, Bookings, Catalog, MailOutbox, RequestQueue
from chalicelib.booking.queries import BookingQueries, BookingView
from chalicelib.contracts.mail import MailKind

LOCAL_TZ = d.LOCAL_TZ
MAX_ALTERNATIVES = 5
# A worker tries a few second-dose slots and (when flexible) a few first slots before giving up:
# enough to ride out a race for the same slot, bounded so one message cannot hold a worker long.
SECOND_DOSE_ATTEMPTS = 3
FLEXIBLE_ATTEMPTS = 5
# ... and draws those second-dose slots at random from the best few (d.spread_second_doses).
SECOND_DOSE_SPREAD = 8


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
        slots_max_age_s: float = 0,
        rng: random.Random | None = None,
        admission: Callable[[d.Person], Admission | None] = lambda person: None,
    ):
        self._queries = queries
        self._catalog = catalog
        self._bookings = bookings
        self._queue = queue
        self._outbox = outbox
        self._pepper = person_key_pepper
        self._now = clock
        # How old the copy of the slots may be that submit checks the chosen slot against and takes the
        # second dose from: the worker's transaction re-checks both, so this only saves reads.
        self._slots_max_age_s = slots_max_age_s
        self._rng = rng or random.Random()  # the worker's second-dose draw; seeded in tests
        # The per-person request limit (limits package), counted by the write that stores the request.
        self._admission = admission

    def submit(
        self,
        campaign_id: str,
        center_id: str,
        slot_id: str,
        flexible: bool,
        language: str,
        person: d.Person,
        channel: d.Channel = d.Channel.WEB,
        agent: str | None = None,
        submission: d.Submission | None = None,
        second_slot_id: str | None = None,
    ) -> str:
        """Check what can be checked cheaply now, then store and queue the request. Returns its id.

        With a submission (Idempotency-Key or body hash), the same submission answers the same request id.
        """
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
        first, second = self._submitted_pair(campaign, center.id, slot_id, second_slot_id)
        if first is None or campaign.booking_window.has_started(first.start, self._now()):
            raise d.InvalidInput("slot_id", "unknown_slot")
        if campaign.booking_window.beyond_horizon(first.start, self._now()):
            raise d.InvalidInput("slot_id", "beyond_booking_horizon")
        self._queries.require_eligible(campaign, person)
        center.require_serves(person.postal_code)
        request = d.BookingRequest(
            request_id=uuid.uuid4().hex,
            campaign_id=campaign.id,
            center_id=center.id,
            slot_id=first.slot_id,
            flexible=flexible,
            language=language,
            person=person,
            channel=channel,
            agent=agent,
            first=first.ref,
            second=second.ref if second else None,
        )
        try:
            self._bookings.add_request(request, self._now(), submission, self._admission(person))
        except d.DuplicateSubmission as duplicate:
            if duplicate.status is d.RequestStatus.QUEUED:
                # The earlier call may have stored the request and then failed to queue it (it answered 503):
                # queue it again. If it was queued, the worker decides the first copy and drops the second.
                self._queue.send(replace(request, request_id=duplicate.request_id))
            return duplicate.request_id
        self._queue.send(request)
        return request.request_id

    def process(self, request: d.BookingRequest) -> d.RequestState:
        """The worker's use case: book the request's pair (or a nearby one if flexible), or reject it.

        The transaction is tried first with the pair submit saw; its conditions check the request is still
        queued, the person holds no booking and both slots have room. Only when it fails are the request,
        the lock and the slots read, to give the true reason, a second-dose alternative or alternatives.
        Safe to run twice for the same request: a decided request is left as it is, and its mail only
        published again (notify sends it once).
        """
        campaign = self._queries.campaign(request.campaign_id)
        try:
            self._queries.require_eligible(campaign, request.person)
        except d.NotEligible:
            return self._reject(request, d.RejectReason.NOT_ELIGIBLE)
        if not self._queries.center(request.center_id).serves(request.person.postal_code):
            # The catchment may change while the request is queued.
            return self._reject(request, d.RejectReason.NOT_ELIGIBLE)
        first, second = request.first, request.second
        if (
            first is not None
            and not campaign.booking_window.has_started(first.start, self._now())
            and (second is not None or not campaign.needs_second_dose)
        ):
            try:
                return self._book(campaign, request, first, second)
            except d.RequestAlreadyDecided:
                return self._already_decided(request)
            except d.AlreadyBooked:
                return self._reject(request, d.RejectReason.ALREADY_BOOKED)
            except (d.FirstSlotTaken, d.SecondSlotTaken):
                pass  # read what is left, below
        return self._decide_after_reading(campaign, request)

    def give_up(self, request: d.BookingRequest) -> d.RequestState:
        """A request the worker could not decide (its message reached the dead-letter queue): reject it with
        not_processed if it is still queued, so that nobody waits for ever; a decided one stays as it is."""
        rejected = d.RequestState(request.request_id, d.RequestStatus.REJECTED, reason=d.RejectReason.NOT_PROCESSED)
        if self._bookings.reject(request.request_id, d.RejectReason.NOT_PROCESSED, []):
            self._publish_rejection(request, rejected)
            return rejected
        state = self._bookings.request_state(request.request_id)
        if state is None:
            raise d.UnknownRequest(request.request_id)
        return state

    def cancel(self, code: str, birth_date: date) -> BookingView:
        view = self._queries.lookup(code, birth_date)
        try:
            self._bookings.cancel(view.booking, view.booking.person.key(self._pepper))
        except d.BookingChanged:  # rebooked between the read and the cancel: cancel what it is now
            view = self._queries.lookup(code, birth_date)
            self._bookings.cancel(view.booking, view.booking.person.key(self._pepper))
        # Published again on a repeated cancel too: if the first publish was lost, this one is the mail;
        # if not, notify's mail marker drops it.
        publish_mail(self._outbox, MailKind.BOOKING_CANCELLED, view.booking, view.center)
        return BookingView(view.booking.cancelled(), view.center)

    def rebook(
        self, code: str, birth_date: date, slot_id: str, flexible: bool, actor: Actor | None = None
    ) -> BookingView:
        """Move an active booking to the pair starting at `slot_id` (or, if flexible, the nearest bookable pair
        at the same centre from that day on) in one transaction; the code and the person lock stay.

        Raises NoPairAvailable with alternatives when no pair could be had; the old booking is then untouched.
        Rebooking to the pair one holds changes nothing (and publishes the last change mail again, which
        notify drops if it was sent: a client that retries after a lost answer gets one mail).
        A booking a centre-day operation cancelled with a pair held for it is confirmed on that pair when
        `slot_id` is the held first slot, and swapped from the held pair to another one otherwise (see
        `_rebook_held`). An agent's rebook (`actor`) is audited in the swap's own transaction.
        """
        view = self._queries.lookup(code, birth_date)
        booking, center = view.booking, view.center
        now = self._now()
        if booking.status is not d.BookingStatus.ACTIVE:
            return self._rebook_held(view, slot_id, flexible, actor)
        if booking.has_started(now):
            raise d.AppointmentStarted()
        campaign, requested = self._rebook_target(booking, center, slot_id, now)

        first_from, first_until = campaign.booking_window.first_dose_range(now, requested.day)

        def swap_to(pair: d.SlotPair) -> BookingView:
            moved = booking.rebooked(pair.first.ref, pair.second.ref if pair.second else None)
            if moved.appointments == booking.appointments:
                if booking.version > 0:
                    publish_mail(self._outbox, MailKind.BOOKING_CHANGED, booking, center)
                return view
            record = None
            if actor is not None:
                record = new_record(
                    actor,
                    AuditAction.BOOKING_REBOOKED,
                    booking.code,
                    now,
                    before=summary_of_booking(booking),
                    after=summary_of_booking(moved),
                )
            try:
                self._bookings.rebook(booking, moved, booking.person.key(self._pepper), audit=record)
            except d.BookingChanged:
                current = self._bookings.booking(booking.code)
                if current is None or current.status is not d.BookingStatus.ACTIVE:
                    raise d.BookingNotActive() from None
                raise
            publish_mail(self._outbox, MailKind.BOOKING_CHANGED, moved, center)
            return BookingView(moved, center)

        return self._first_pair_taken(campaign, booking, slot_id, first_from, first_until, flexible, swap_to)

    # --- internals --------------------------------------------------------------------------------

    def _rebook_target(
        self, booking: d.Booking, center: d.Center, slot_id: str, now: datetime
    ) -> tuple[d.Campaign, d.Slot]:
        """The campaign and the slot a rebook asks for, if the person may still book there and it can be booked."""
        campaign = self._queries.campaign(booking.campaign_id)
        self._queries.require_eligible(campaign, booking.person)
        center.require_serves(booking.person.postal_code)
        requested = self._catalog.slot(campaign.id, booking.center_id, slot_id)
        if requested is None or campaign.booking_window.has_started(requested.start, now):
            raise d.InvalidInput("slot_id", "unknown_slot")
        if campaign.booking_window.beyond_horizon(requested.start, now):
            raise d.InvalidInput("slot_id", "beyond_booking_horizon")
        return campaign, requested

    def _first_pair_taken(
        self,
        campaign: d.Campaign,
        seated: d.Booking,
        slot_id: str,
        first_from: datetime,
        first_until: datetime,
        flexible: bool,
        take: Callable[[d.SlotPair], BookingView],
    ) -> BookingView:
        """`take` the rebook candidates for `seated` (the booking on the seats a swap gives back) one after the
        other until one is had; a candidate whose first slot was found full is not tried again. NoPairAvailable,
        with what is bookable now, when none could be had."""
        slots = d.freeing(self._rebook_slots(campaign, seated.center_id, first_from, first_until), seated)
        full_firsts: set[str] = set()
        for pair in d.rebook_candidates(
            campaign,
            slots,
            seated,
            slot_id,
            first_from,
            first_until,
            flexible,
            SECOND_DOSE_ATTEMPTS,
            FLEXIBLE_ATTEMPTS,
        ):
            if pair.first.slot_id in full_firsts:
                continue
            try:
                return take(pair)
            except d.FirstSlotTaken:
                full_firsts.add(pair.first.slot_id)
            except d.SecondSlotTaken:
                continue
        raise self._no_pair(campaign, seated, slot_id, first_from, first_until)

    def _no_pair(
        self, campaign: d.Campaign, booking: d.Booking, slot_id: str, first_from: datetime, first_until: datetime
    ) -> d.NoPairAvailable:
        """What a rebook that got no pair answers: the pairs bookable now, read again (what was seen before the
        attempts is stale), with the booking's own seats counted free."""
        slots = d.freeing(self._rebook_slots(campaign, booking.center_id, first_from, first_until), booking)
        alternatives = [
            p for p in d.bookable_pairs(campaign, slots, first_from, first_until) if p.first.slot_id != slot_id
        ]
        return d.NoPairAvailable(tuple(alternatives[:MAX_ALTERNATIVES]))

    def _rebook_held(self, view: BookingView, slot_id: str, flexible: bool, actor: Actor | None) -> BookingView:
        """A booking a centre-day operation cancelled, with a pair held for it: the held first slot keeps the
        held pair (`_confirm_hold`); any other slot is a rebook from the held pair, as `rebook` does from a
        booked one: the new pair is taken, the held seats given back and the booking made active again in one
        write, so the person keeps the held pair until then (NoPairAvailable: nothing changed, still held).
        Without a live hold the booking stays cancelled (BookingNotActive: a new booking is the way)."""
        booking, center = view.booking, view.center
        now = self._now()
        hold = self._bookings.hold(booking.code)
        if hold is None or not hold.is_live(now):
            raise d.BookingNotActive()
        if hold.first.slot_id == slot_id:
            return self._confirm_hold(view, hold, None, actor)
        campaign, requested = self._rebook_target(booking, center, slot_id, now)
        # The booking as if on the held pair: its seats are the ones the swap gives back.
        on_hold = replace(booking, first=hold.first, second=hold.second)
        first_from, first_until = campaign.booking_window.first_dose_range(now, requested.day)
        return self._first_pair_taken(
            campaign,
            on_hold,
            slot_id,
            first_from,
            first_until,
            flexible,
            lambda pair: self._confirm_hold(view, hold, pair, actor),
        )

    def _confirm_hold(
        self, view: BookingView, hold: d.Hold, pair: d.SlotPair | None, actor: Actor | None
    ) -> BookingView:
        """Make the booking active again, same code, one change mail: on the held pair (`pair` None), or on
        `pair` with the held seats given back in the same write (FirstSlotTaken / SecondSlotTaken: nothing
        changed). If the person booked again meanwhile, the held seats are given back now rather than when the
        hold lapses."""
        booking, center = view.booking, view.center
        refs = (hold.first, hold.second) if pair is None else (pair.first.ref, pair.second.ref if pair.second else None)
        record = None
        if actor is not None:
            after = replace(booking.rebooked(*refs), status=d.BookingStatus.ACTIVE)
            record = new_record(
                actor,
                AuditAction.HOLD_CONFIRMED if pair is None else AuditAction.BOOKING_REBOOKED,
                booking.code,
                self._now(),
                before={**summary_of_booking(booking), "held": summary_of_hold(hold)},
                after=summary_of_booking(after),
            )
        try:
            confirmed = self._bookings.confirm_hold(
                booking, hold, booking.person.key(self._pepper), audit=record, pair=None if pair is None else refs
            )
        except d.AlreadyBooked:
            self._bookings.release_hold(hold, lapsed_only=False)
            raise d.BookingNotActive() from None
        except d.HoldLapsed:
            raise d.BookingNotActive() from None
        publish_mail(self._outbox, MailKind.BOOKING_CHANGED, confirmed, center)
        return BookingView(confirmed, center)

    def _submitted_pair(
        self, campaign: d.Campaign, center_id: str, slot_id: str, second_slot_id: str | None
    ) -> tuple[d.Slot | None, d.Slot | None]:
        """The chosen slot and a second dose for it, from a copy of the centre's slots at most
        `slots_max_age_s` old (one read shared by everyone who picks that day); a slot too new for the copy
        is read on its own. No second dose if the copy has none free: the worker then reads the window."""
        day = d.slot_day(slot_id)
        if day is None:
            return None, None
        day_start = datetime.combine(day, time(0), LOCAL_TZ)
        horizon = day_start + timedelta(days=(campaign.interval_max_days if campaign.needs_second_dose else 0) + 1)
        slots = self._catalog.slots(campaign.id, center_id, day_start, horizon, self._slots_max_age_s)
        first = next((s for s in slots if s.slot_id == slot_id), None)
        if first is None:
            first = self._catalog.slot(campaign.id, center_id, slot_id)
        if first is None or not campaign.needs_second_dose:
            return first, None
        seconds = d.second_dose_candidates(campaign, first, slots)
        chosen = next((s for s in seconds if s.slot_id == second_slot_id), None)
        return first, chosen or (seconds[0] if seconds else None)

    def _decide_after_reading(self, campaign: d.Campaign, request: d.BookingRequest) -> d.RequestState:
        """The read-after-failure path (and the only path of a request without a submitted pair)."""
        state = self._bookings.request_state(request.request_id)
        if state is None:
            raise d.UnknownRequest(request.request_id)
        if state.status is not d.RequestStatus.QUEUED:
            return self._already_decided(request, state)
        # Checked first so that the answer is the true one even when the chosen slot is full as well;
        # the booking transaction still enforces it.
        if self._bookings.holds_booking(request.person.key(self._pepper), campaign.series):
            return self._reject(request, d.RejectReason.ALREADY_BOOKED)

        # Read once: it is the first candidate, and the day the alternatives start from.
        requested = self._catalog.slot(request.campaign_id, request.center_id, request.slot_id)
        started = requested is not None and campaign.booking_window.has_started(requested.start, self._now())
        for first in self._first_slot_candidates(campaign, request, None if started else requested):
            try:
                booking = self._reserve_pair(campaign, request, first)
            except d.FirstSlotTaken:
                continue
            except d.AlreadyBooked:
                return self._reject(request, d.RejectReason.ALREADY_BOOKED)
            except d.RequestAlreadyDecided:
                return self._already_decided(request)
            self._publish_confirmation(booking)
            return d.RequestState(request.request_id, d.RequestStatus.BOOKED, booking_code=booking.code)
        if started:
            # Never book a slot that has begun; a flexible request found no other pair either.
            return self._reject(request, d.RejectReason.SLOT_STARTED)
        if request.flexible:
            return self._reject(request, d.RejectReason.NO_CAPACITY)
        alternatives = self._queries.nearby_pairs(campaign, request.center_id, requested)[:MAX_ALTERNATIVES]
        reason = d.RejectReason.SLOT_TAKEN if alternatives else d.RejectReason.NO_CAPACITY
        return self._reject(request, reason, alternatives)

    def _rebook_slots(
        self, campaign: d.Campaign, center_id: str, first_from: datetime, first_until: datetime
    ) -> list[d.Slot]:
        """Every slot a pair starting in [first_from, first_until) could use, read consistently."""
        day_start = datetime.combine(first_from.astimezone(LOCAL_TZ).date(), time(0), LOCAL_TZ)
        horizon = first_until + timedelta(days=campaign.interval_max_days + 1)
        return self._catalog.slots(campaign.id, center_id, day_start, horizon)

    def _first_slot_candidates(
        self, campaign: d.Campaign, request: d.BookingRequest, requested: d.Slot | None
    ) -> Iterator[d.Slot]:
        """The chosen slot, then (if flexible) the nearest bookable ones, read only when the chosen one fails.

        `requested` is None when the chosen slot does not exist or has started: then only the nearby ones,
        which start after now."""
        if requested is not None and requested.remaining > 0:
            yield requested
        if not request.flexible:
            return
        nearby = self._queries.nearby_pairs(campaign, request.center_id, requested)
        others = (p.first for p in nearby if p.first.slot_id != request.slot_id)
        yield from itertools.islice(others, FLEXIBLE_ATTEMPTS)

    def _book(
        self,
        campaign: d.Campaign,
        request: d.BookingRequest,
        first: d.SlotRef,
        second: d.SlotRef | None,
    ) -> d.RequestState:
        """One transaction for this pair; raises what `Bookings.reserve` raises."""
        booking = self._new_booking(campaign, request, first, second)
        self._bookings.reserve(booking, request.person.key(self._pepper))
        self._publish_confirmation(booking)
        return d.RequestState(request.request_id, d.RequestStatus.BOOKED, booking_code=booking.code)

    def _reserve_pair(self, campaign: d.Campaign, request: d.BookingRequest, first: d.Slot) -> d.Booking:
        """Try the first slot with a few second-dose slots drawn from the best ones; FirstSlotTaken if no pair
        could be had."""
        seconds: list[d.Slot | None] = [None]
        if campaign.needs_second_dose:
            window_start, window_end = campaign.second_dose_window(first.day)
            window = self._catalog.slots(
                campaign.id,
                first.center_id,
                datetime.combine(window_start, time(0), LOCAL_TZ),
                datetime.combine(window_end + timedelta(days=1), time(0), LOCAL_TZ),
            )
            seconds = list(
                d.spread_second_doses(
                    d.second_dose_candidates(campaign, first, window),
                    self._rng,
                    SECOND_DOSE_ATTEMPTS,
                    SECOND_DOSE_SPREAD,
                )
            )
            if not seconds:
                raise d.FirstSlotTaken()
        for second in seconds:
            booking = self._new_booking(campaign, request, first.ref, second.ref if second else None)
            try:
                self._bookings.reserve(booking, request.person.key(self._pepper))
                return booking
            except d.SecondSlotTaken:
                continue
        raise d.FirstSlotTaken()

    def _new_booking(
        self, campaign: d.Campaign, request: d.BookingRequest, first: d.SlotRef, second: d.SlotRef | None
    ) -> d.Booking:
        """The booking a request makes on a pair (a new code each attempt; the request's transaction decides)."""
        return d.Booking(
            code=d.new_booking_code(),
            request_id=request.request_id,
            campaign_id=campaign.id,
            center_id=request.center_id,
            first=first,
            second=second,
            person=request.person,
            language=request.language,
            created_at=self._now(),
            channel=request.channel,
            agent=request.agent,
            series=campaign.series,
        )

    def _reject(
        self,
        request: d.BookingRequest,
        reason: d.RejectReason,
        alternatives: list[d.SlotPair] | None = None,
    ) -> d.RequestState:
        rejected = d.RequestState(
            request.request_id, d.RequestStatus.REJECTED, reason=reason, alternatives=tuple(alternatives or ())
        )
        if self._bookings.reject(request.request_id, reason, list(rejected.alternatives)):
            self._publish_rejection(request, rejected)
            return rejected
        # Decided by another delivery in the meantime: its decision stands, so answer with it.
        return self._already_decided(request)

    def _already_decided(self, request: d.BookingRequest, state: d.RequestState | None = None) -> d.RequestState:
        """A duplicate delivery: publish the decision's mail again (in case the first publish was lost;
        notify sends each mail once) and answer with the decision."""
        state = state or self._bookings.request_state(request.request_id)
        if state is None:
            raise d.UnknownRequest(request.request_id)
        if state.status is d.RequestStatus.BOOKED and state.booking_code:
            booking = self._bookings.booking(state.booking_code)
            if booking is not None:
                self._publish_confirmation(booking)
        elif state.status is d.RequestStatus.REJECTED:
            self._publish_rejection(request, state)
        return state

    def _publish_confirmation(self, booking: d.Booking) -> None:
        if booking.status is not d.BookingStatus.ACTIVE:
            return
        center = self._queries.center(booking.center_id)
        publish_mail(self._outbox, MailKind.BOOKING_CONFIRMED, booking, center)

    def _publish_rejection(self, request: d.BookingRequest, state: d.RequestState) -> None:
        message = rejection_mail(request, state, self._queries.center(request.center_id))
        if message is not None:
            self._outbox.publish(message)
