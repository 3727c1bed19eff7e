"""Suppressed addresses in the bookings table: pk `SUPPRESSED#<sha256 of the address>`, no address in clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pynamodb.attributes import UnicodeAttribute

from chalicelib.dynamo_binding import TableItem
from chalicelib.notify.feedback import address_key
from chalicelib.notify.ports import SuppressionList


class SuppressionItem(TableItem):
    reason = UnicodeAttribute()
    suppressed_at = UnicodeAttribute()


class DynamoSuppressionList(SuppressionList):
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._now = clock

    def is_suppressed(self, address: str) -> bool:
        try:
            SuppressionItem.get(f"SUPPRESSED#{address_key(address)}", "MAIL")
        except SuppressionItem.DoesNotExist:
            return False
        return True

    def suppress(self, address: str, reason: str) -> None:
        SuppressionItem(f"SUPPRESSED#{address_key(address)}", "MAIL", reason=reason,
                        suppressed_at=self._now().isoformat()).save()
