"""Use cases of hotline agents and the audit of every staff action that changes a booking or capacity.

`StaffService` sits beside `BookingService` and `OperationsService` (it calls them, never the other way):
agents find a caller (by code + birth date, or by name + birth date + postal code through the person's lock
items), book for them (through the same submit as the site), and cancel without the birth date; ops
actions are recorded after they happened. Each method takes the acting `Actor` and writes one audit record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from chalicelib.booking import domain as d
from chalicelib.booking.audit import (
    OPS_CHANNEL,
    Actor,
    AuditAction,
    AuditPage,
    AuditTrail,
    new_record,
    summary_of_booking,
    summary_of_campaign,
)
from chalicelib.booking.mail import publish_mail
from chalicelib.booking.mail_status import BookingMails, booking_mails
from chalicelib.booking.ports import Bookings, CallerIndex, MailOutbox, MailRecords
from chalicelib.booking.queries import BookingQueries, BookingView
from chalicelib.contracts.mail import MailKind


class StaffService:
    def __init__(
        self,
        queries: BookingQueries,
        bookings: Bookings,
        callers: CallerIndex,
        outbox: MailOutbox,
        audit: AuditTrail,
        person_key: Callable[[d.Person], str],
        clock: Callable[[], datetime],
        mail_records: MailRecords | None = None,
    ):
        self._mail_records = mail_records
        self._queries = queries
        self._bookings = bookings
        self._callers = callers
        self._outbox = outbox
        self._audit = audit
        self._person_key = person_key
        self._now = clock

    # --- finding a caller -------------------------------------------------------------------------

    def lookup(self, code: str, birth_date: date) -> BookingView:
        """As the citizen looks up (a wrong birth date answers like an unknown code), with the pair held for a
        booking a centre-day cancel cancelled while the hold lasts: the agent accepts it or chooses another
        pair for the caller through the staff rebook, the same swap as the citizen's."""
        return self._queries.lookup(code, birth_date, with_hold=True)

    def find(self, given_name: str, family_name: str, birth_date: date, postal_code: str) -> list[BookingView]:
        """The caller's active bookings, and those a centre-day cancel cancelled with a pair still held for them,
        by who they are (the lock's person key), checked against the postal code they give: without the code, a
        name and a birth date alone would be enough to read a booking."""
        probe = d.Person(given_name, family_name, birth_date, postal_code, None)
        views = []
        for code in dict.fromkeys(self._callers.booking_codes(self._person_key(probe))):  # a code once, in order
            booking = self._bookings.booking(code)
            if booking is None or booking.person.postal_code != postal_code:
                continue
            hold = None
            if booking.status is not d.BookingStatus.ACTIVE:
                hold = self._bookings.hold(code)
                if hold is None or not hold.is_live(self._now()):
                    continue  # cancelled, nothing held: nothing for the agent to do with it
            views.append(BookingView(booking, self._queries.center(booking.center_id), hold))
        return views

    def mails(self, view: BookingView) -> BookingMails | None:
        """What became of the booking's mails (None: the person has no e-mail), so the agent can answer "was my
        mail sent?": a few key reads per booking."""
        assert self._mail_records is not None
        return booking_mails(view, self._mail_records, self._now())

    # --- changing bookings ------------------------------------------------------------------------

    def booking_requested(
        self, actor: Actor, request_id: str, campaign_id: str, center_id: str, slot_id: str, has_email: bool
    ) -> None:
        """Audit an agent's booking request (stored and queued before: not one transaction with it)."""
        self._audit.record(
            new_record(
                actor,
                AuditAction.BOOKING_REQUESTED,
                request_id,
                self._now(),
                after={"campaign_id": campaign_id, "center_id": center_id, "slot_id": slot_id, "mail": has_email},
            )
        )

    def cancel(self, actor: Actor, code: str) -> BookingView:
        """An agent cancels for a caller: no birth date asked (the agent has identified the caller); the
        audit record is written in the cancel's own transaction."""
        booking = self._bookings.booking(d.normalise_booking_code(code))
        if booking is None:
            raise d.BookingNotFound()
        center = self._queries.center(booking.center_id)
        if booking.status is d.BookingStatus.CANCELLED:
            return BookingView(booking, center)  # nothing changes, so nothing to audit
        cancelled = booking.cancelled()
        record = new_record(
            actor,
            AuditAction.BOOKING_CANCELLED,
            booking.code,
            self._now(),
            before=summary_of_booking(booking),
            after=summary_of_booking(cancelled),
        )
        if self._bookings.cancel(booking, self._person_key(booking.person), audit=record):
            publish_mail(self._outbox, MailKind.BOOKING_CANCELLED, booking, center)
        return BookingView(cancelled, center)

    def change_contact(
        self, actor: Actor, code: str, birth_date: date, email: str | None, phone: str | None
    ) -> BookingView:
        """An agent corrects the caller's e-mail address and phone (found by code and birth date, as the look-up):
        an active booking only. The change and its audit record (which fields changed, no values) are one write;
        a new address is sent the confirmation again, once per correction (its own mail: the contact revision).
        The same correction again changes, records and sends nothing; no address (None) sends nothing."""
        view = self._queries.lookup(code, birth_date)
        booking = view.booking
        if booking.status is not d.BookingStatus.ACTIVE:
            raise d.BookingNotActive()
        now = self._now()
        changed = booking.with_contact(email, phone, now)
        fields = booking.contact_fields_changed(changed)
        if not fields:
            return view
        resent = changed.contact_revision != booking.contact_revision
        record = new_record(
            actor,
            AuditAction.BOOKING_CONTACT_CHANGED,
            booking.code,
            now,
            before=_contact_summary(booking),
            after={**_contact_summary(changed), "changed": fields, "confirmation_sent_again": resent},
        )
        self._bookings.change_contact(booking, changed, record)
        if resent:  # after the write: a mail to an address that was not stored must not go out
            publish_mail(self._outbox, MailKind.BOOKING_CONFIRMED, changed, view.center)
        return BookingView(changed, view.center)

    def letters_listed(self, actor: Actor, operation_id: str, codes: list[str]) -> None:
        """Audit that an agent read the notices (names, postal addresses, phone numbers) of these bookings of a
        centre-day operation: written before the answer leaves, so no address is read without a record. The codes
        only, nothing about the people."""
        self._audit.record(
            new_record(actor, AuditAction.LETTERS_LISTED, operation_id, self._now(), after={"codes": codes})
        )

    # --- ops actions (audited after they happened) -------------------------------------------------

    def campaign_or_none(self, campaign_id: str) -> d.Campaign | None:
        """The campaign as it was before ops change it (the audit's "before")."""
        try:
            return self._queries.campaign(campaign_id)
        except d.UnknownCampaign:
            return None

    def campaign_put(self, actor: Actor, before: d.Campaign | None, after: d.Campaign) -> None:
        self._audit.record(
            new_record(
                actor,
                AuditAction.CAMPAIGN_PUT,
                after.id,
                self._now(),
                before=summary_of_campaign(before),
                after=summary_of_campaign(after),
                channel=OPS_CHANNEL,
            )
        )

    def contingent_released(
        self, actor: Actor, campaign_id: str, center_id: str, slots: list[d.Slot], added_capacity: int
    ) -> None:
        self._audit.record(
            new_record(
                actor,
                AuditAction.CONTINGENT_RELEASED,
                campaign_id,
                self._now(),
                after={
                    "center_id": center_id,
                    "slot_ids": [s.slot_id for s in slots],
                    "added_capacity": added_capacity,
                    # A scheduled contingent: when each slot becomes bookable (no later action to audit then).
                    "release_at": {s.slot_id: s.release_at.isoformat() for s in slots if s.release_at is not None},
                },
                channel=OPS_CHANNEL,
            )
        )

    def waiting_room_put(self, actor: Actor, campaign_id: str, before: dict, after: dict) -> None:
        self._audit.record(
            new_record(
                actor,
                AuditAction.WAITING_ROOM_PUT,
                campaign_id,
                self._now(),
                before=before,
                after=after,
                channel=OPS_CHANNEL,
            )
        )

    # --- the audit --------------------------------------------------------------------------------

    def audit(
        self, first: date, last: date, actor: str | None, limit: int, cursor: tuple[date, str] | None = None
    ) -> AuditPage:
        return self._audit.list(first, last, actor, limit, cursor)


def _contact_summary(booking: d.Booking) -> dict:
    """The contact as the audit shows it: whether there is an address and a phone, and the revision; no values."""
    person = booking.person
    return {
        "has_email": bool(person.email),
        "has_phone": bool(person.phone),
        "contact_revision": booking.contact_revision,
    }
