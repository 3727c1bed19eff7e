"""The message booking sends to the notify queue: everything one mail needs, nothing more.

Booking publishes it and notify renders it; both depend on this schema, never on each other.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel


class MailKind(str, Enum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_CHANGED = "booking_changed"
    # A one-time code for contact verification: no names, no booking; `booking_code` carries the
    # verification's id (one mail per verification) and `one_time_code` the code.
    VERIFICATION_CODE = "verification_code"
    REQUEST_REJECTED = "request_rejected"
    APPOINTMENT_CANCELLED_BY_CENTRE = "appointment_cancelled_by_centre"  # a failed delivery: ops cancelled the day
    APPOINTMENT_MOVED_BY_CENTRE = "appointment_moved_by_centre"  # a failed delivery: ops moved the day
    # A missed first dose gave the second appointment back: `appointments` are the missed first and the released second.
    SECOND_APPOINTMENT_RELEASED = "second_appointment_released"
    # Ops gave a first dose its missing second appointment (the 2021 repair): `appointments` are both.
    SECOND_APPOINTMENT_ADDED = "second_appointment_added"


class Appointment(BaseModel):
    dose: int
    start: datetime
    end: datetime


class Alternative(BaseModel):
    """A bookable pair offered instead of a rejected one (first dose, and the second if the vaccine needs it)."""

    first: datetime
    second: datetime | None = None


class MailMessage(BaseModel):
    kind: MailKind
    booking_code: str = ""  # empty for a rejection: nothing was booked
    language: str
    recipient: str
    given_name: str
    family_name: str
    center_name: str
    center_address: str
    appointments: list[Appointment]
    # The booking's version (how often it was rebooked): a booking changes more than once, each change once.
    version: int = 0
    # A confirmation sent again after an agent corrected the address: its own mail (n ≥ 1), not a duplicate.
    contact_revision: int = 0
    one_time_code: str | None = None  # verification_code mails only
    # A rejection: which request, why (a RequestState reason), and pairs that were bookable when it was decided.
    request_id: str | None = None
    reason: str | None = None
    alternatives: list[Alternative] = []
    # A centre-day cancellation: the pair held for the person, until when (confirmed through the rebook link).
    held: list[Appointment] = []
    held_until: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        """One mail per booking (or rejected request) and kind (per version for changes, per contact revision for
        a confirmation sent again to a corrected address), however often the message is delivered."""
        if self.kind in (MailKind.BOOKING_CHANGED, MailKind.SECOND_APPOINTMENT_ADDED):
            return f"{self.kind.value}:{self.booking_code}:v{self.version}"
        if self.kind is MailKind.BOOKING_CONFIRMED and self.contact_revision:
            return f"{self.kind.value}:{self.booking_code}:c{self.contact_revision}"
        subject = self.booking_code if self.kind is not MailKind.REQUEST_REJECTED else self.request_id
        return f"{self.kind.value}:{subject}"
