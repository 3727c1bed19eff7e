"""Which bookings a person holds, found through their lock items (`PERSON#<key>`): one Query, no scan."""

from __future__ import annotations

from chalicelib.booking.ports import CallerIndex
from chalicelib.booking.storage.models import PersonLockItem


class DynamoCallerIndex(CallerIndex):
    def booking_codes(self, person_key: str) -> list[str]:
        # The partition holds one lock per campaign (or series) the person booked, each naming its booking, and a
        # pointer (`HELD#<code>`) per booking cancelled by a centre-day operation with a pair held for it.
        return [item.booking_code for item in PersonLockItem.query(f"PERSON#{person_key}", consistent_read=True)]
