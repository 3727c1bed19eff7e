"""Suppressed addresses in the bookings table: pk `SUPPRESSED#<HMAC of the address>`, no address in clear."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DeleteError

from chalicelib.dynamo_binding import TableItem
from chalicelib.notify.feedback import address_key, legacy_address_key
from chalicelib.notify.ports import SuppressionList, SuppressionRecord


class SuppressionItem(TableItem):
    reason = UnicodeAttribute()
    suppressed_at = UnicodeAttribute()


class DynamoSuppressionList(SuppressionList):
    """`key` is the stack's secret pepper (the one of the person key). Items written before the HMAC (plain
    sha256) are still honoured and erased, so a deployed list needs no migration to stay effective."""

    def __init__(self, key: bytes, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._key = key
        self._now = clock

    def _keys(self, address: str) -> list[str]:
        return [f"SUPPRESSED#{address_key(address, self._key)}", f"SUPPRESSED#{legacy_address_key(address)}"]

    def is_suppressed(self, address: str) -> bool:
        return self.record(address) is not None

    def record(self, address: str) -> SuppressionRecord | None:
        for pk in self._keys(address):
            try:
                item = SuppressionItem.get(pk, "MAIL")
            except SuppressionItem.DoesNotExist:
                continue
            return SuppressionRecord(item.reason, item.suppressed_at)
        return None

    def suppress(self, address: str, reason: str) -> None:
        SuppressionItem(self._keys(address)[0], "MAIL", reason=reason, suppressed_at=self._now().isoformat()).save()

    def forget(self, address: str) -> bool:
        found = False
        for pk in self._keys(address):
            try:
                SuppressionItem(pk, "MAIL").delete(condition=SuppressionItem.pk.exists())
            except DeleteError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            found = True
        return found
