"""A data subject's rights on request (GDPR Art. 15 access, Art. 17 erasure), as use cases for operations staff.

A person is found by booking code + birth date (as on the site), or by name + birth date through the person
key (only active bookings hold a lock). Export gathers everything stored about them; erasure cancels an active
booking first with the ordinary cancel use case (its slots go back, the lock goes), then leaves a tombstone
without personal data and forgets the suppressed address.

What cannot be linked to a person is not gathered: rejected requests hold no personal data, and queue messages
(up to 4 days, 14 in a dead-letter queue) are not searched. docs/operations.md ("Privacy") says so too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings
from chalicelib.booking.queries import BookingQueries, BookingView
from chalicelib.booking.services import BookingService
from chalicelib.notify.ports import SuppressionList


@dataclass(frozen=True)
class PersonQuery:
    """Who asks: a booking code + birth date, or given name + family name + birth date (the person key)."""

    birth_date: date
    code: str | None = None
    given_name: str | None = None
    family_name: str | None = None

    def __post_init__(self):
        if (self.code is None) == (self.given_name is None or self.family_name is None):
            raise ValueError("give a booking code, or given and family name (not both)")

    def person_key(self, pepper: bytes) -> str | None:
        """The lock's key when asked by name (the postal code and e-mail are not part of it); None by code."""
        if self.given_name is None or self.family_name is None:
            return None
        return d.Person(self.given_name, self.family_name, self.birth_date, "", "").key(pepper)


@dataclass(frozen=True)
class Erasure:
    code: str
    cancelled: bool  # it was active: cancelled first (slots back, cancellation mail queued)
    suppression_erased: bool


class PrivacyService:
    def __init__(
        self,
        queries: BookingQueries,
        booking_service: BookingService,
        bookings: Bookings,
        suppressions: SuppressionList,
        person_key_pepper: bytes,
        retention: timedelta,
        clock: Callable[[], datetime],
    ):
        self._queries = queries
        self._booking_service = booking_service
        self._bookings = bookings
        self._suppressions = suppressions
        self._pepper = person_key_pepper
        self._retention = retention
        self._now = clock

    def export(self, who: PersonQuery) -> dict:
        """Everything stored about the person, as JSON-ready data. BookingNotFound if nothing is found."""
        views = self._find(who)
        # A hotline caller may have no e-mail address: nothing can be suppressed for them.
        emails = sorted({v.booking.person.email for v in views if v.booking.person.email})
        locks = self._bookings.person_locks(who.person_key(self._pepper) or views[0].booking.person.key(self._pepper))
        return {
            "exported_at": self._now().isoformat(),
            "retention_days_after_last_appointment": self._retention.days,
            "bookings": [self._booking_record(v) for v in views],
            "requests": [self._request_record(v.booking.request_id) for v in views],
            "locks": [{"series": series, "booking_code": code} for series, code in sorted(locks.items())],
            "mail_suppressions": [self._suppression_record(email) for email in emails],
        }

    def erase(self, who: PersonQuery) -> list[Erasure]:
        """Cancel (if active) and erase every booking found; forget their addresses' suppressions."""
        erased = []
        for view in self._find(who):
            booking, cancelled = view.booking, False
            if booking.status is d.BookingStatus.ACTIVE:
                booking = self._booking_service.cancel(booking.code, booking.person.birth_date).booking
                cancelled = True
            self._bookings.erase(booking)
            email = booking.person.email
            erased.append(Erasure(booking.code, cancelled, self._suppressions.forget(email) if email else False))
        return erased

    # --- internals --------------------------------------------------------------------------------

    def _find(self, who: PersonQuery) -> list[BookingView]:
        if who.code is not None:
            return [self._queries.lookup(who.code, who.birth_date)]
        locks = self._bookings.person_locks(who.person_key(self._pepper) or "")
        views = [self._queries.lookup(code, who.birth_date) for _, code in sorted(locks.items())]
        if not views:
            raise d.BookingNotFound()
        return views

    def _booking_record(self, view: BookingView) -> dict:
        b = view.booking
        return {
            "code": b.code,
            "status": b.status.value,
            "campaign_id": b.campaign_id,
            "center": {"id": view.center.id, "name": view.center.name, "address": view.center.address},
            "appointments": [
                # Whether the dose was given is stored about the person too (centre staff's marks).
                {
                    "slot_id": a.slot_id,
                    "start": a.start.isoformat(),
                    "end": a.end.isoformat(),
                    "attendance": b.attendance(dose).value,
                }
                for dose, a in enumerate(b.appointments, start=1)
            ],
            "person": {
                "given_name": b.person.given_name,
                "family_name": b.person.family_name,
                "birth_date": b.person.birth_date.isoformat(),
                "postal_code": b.person.postal_code,
                "email": b.person.email,
                "phone": b.person.phone,
                "postal_address": b.person.postal_address,
            },
            "language": b.language,
            "created_at": b.created_at.isoformat() if b.created_at else None,
            "personal_data_deleted_at": b.personal_data_expires_at(self._retention).isoformat(),
        }

    def _request_record(self, request_id: str) -> dict:
        state = self._bookings.request_state(request_id)
        if state is None:
            return {"request_id": request_id, "status": None}
        return {
            "request_id": request_id,
            "status": state.status.value,
            "booking_code": state.booking_code,
            "reason": state.reason.value if state.reason else None,
        }

    def _suppression_record(self, email: str) -> dict:
        record = self._suppressions.record(email)
        return {
            "email": email,
            "suppressed": record is not None,
            "reason": record.reason if record else None,
            "suppressed_at": record.suppressed_at if record else None,
        }
