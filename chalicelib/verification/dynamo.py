"""Verifications in the bookings table: pk `VERIFICATION#<id>`; keyed hashes only, no address or code."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.dynamo_binding import TableItem
from chalicelib.verification.domain import VERIFIED_FOR, Channel, Verification
from chalicelib.verification.ports import Verifications

SK = "VERIFICATION"


class VerificationItem(TableItem):
    campaign_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    address_digest = UnicodeAttribute()
    code_digest = UnicodeAttribute()
    sent_at = UnicodeAttribute()
    verified_until = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()  # TTL; reads check the times themselves (moto never expires)


class DynamoVerifications(Verifications):
    def add(self, verification: Verification) -> None:
        latest_use = verification.expires_at + VERIFIED_FOR
        VerificationItem(
            f"VERIFICATION#{verification.id}",
            SK,
            campaign_id=verification.campaign_id,
            channel=verification.channel.value,
            address_digest=verification.address_digest,
            code_digest=verification.code_digest,
            sent_at=verification.sent_at.isoformat(),
            expires_at=int(latest_use.timestamp()),
        ).save(VerificationItem.pk.does_not_exist())

    def get(self, verification_id: str) -> Verification | None:
        try:
            item = VerificationItem.get(f"VERIFICATION#{verification_id}", SK, consistent_read=True)
        except VerificationItem.DoesNotExist:
            return None
        return Verification(
            id=verification_id,
            campaign_id=item.campaign_id,
            channel=Channel(item.channel),
            address_digest=item.address_digest,
            code_digest=item.code_digest,
            sent_at=datetime.fromisoformat(item.sent_at),
            verified_until=datetime.fromisoformat(item.verified_until) if item.verified_until else None,
        )

    def mark_verified(self, verification_id: str, until: datetime) -> None:
        item = VerificationItem(f"VERIFICATION#{verification_id}", SK)
        item.update(
            actions=[
                VerificationItem.verified_until.set(VerificationItem.verified_until | until.isoformat())
            ],  # if_not_exists: the first success counts
            condition=VerificationItem.pk.exists(),
        )
