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
    APPOINTMENT_CANCELLED_BY_CENTRE = "appointment_cancelled_by_centre"  # a failed delivery: ops cancelled the day
    APPOINTMENT_MOVED_BY_CENTRE = "appointment_moved_by_centre"  # a failed delivery: ops moved the day


class Appointment(BaseModel):
    dose: int
    start: datetime
    end: datetime


class MailMessage(BaseModel):
    kind: MailKind
    booking_code: str
    language: str
    recipient: str
    given_name: str
    family_name: str
    center_name: str
    center_address: str
    appointments: list[Appointment]

    @property
    def idempotency_key(self) -> str:
        """One mail per booking and kind, however often the message is delivered."""
        return f"{self.kind.value}:{self.booking_code}"
