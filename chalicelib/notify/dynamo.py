"""Suppressed addresses in the bookings table: pk `SUPPRESSED#<sha256 of the address>`, no address in clear."""

from __future__ import annotations

from datetime import datetime, timezone

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.notify.feedback import address_key
from chalicelib.notify.ports import SuppressionList


class SuppressionItem(Model):
    class Meta:
        table_name = "unbound"  # set by bind(); never used before

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    suppressed_at = UnicodeAttribute()


def bind(table_name: str, region: str, host: str | None) -> None:
    SuppressionItem.Meta.table_name = table_name
    SuppressionItem.Meta.region = region
    SuppressionItem.Meta.host = host
    SuppressionItem._connection = None


class DynamoSuppressionList(SuppressionList):
    def is_suppressed(self, address: str) -> bool:
        try:
            SuppressionItem.get(f"SUPPRESSED#{address_key(address)}", "MAIL")
        except SuppressionItem.DoesNotExist:
            return False
        return True

    def suppress(self, address: str, reason: str) -> None:
        SuppressionItem(f"SUPPRESSED#{address_key(address)}", "MAIL", reason=reason,
                        suppressed_at=datetime.now(timezone.utc).isoformat()).save()
