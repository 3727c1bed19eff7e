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
    # The booking's version (how often it was rebooked): a booking changes more than once, each change once.
    version: int = 0
    one_time_code: str | None = None  # verification_code mails only

    @property
    def idempotency_key(self) -> str:
        """One mail per booking and kind (per version for changes), however often the message is delivered."""
        if self.kind is MailKind.BOOKING_CHANGED:
            return f"{self.kind.value}:{self.booking_code}:v{self.version}"
        return f"{self.kind.value}:{self.booking_code}"
