"""The audit adapter: one item per staff action, partitioned by UTC day (`AUDIT#2021-02-01`), sorted by time.

Listing a day is one Query of one partition; an actor filter is applied by DynamoDB on that partition.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.booking.audit import AuditLog, AuditRecord, sort_key
from chalicelib.dynamo_binding import TableItem

# Kept for two years (a rollout and its reviews); then DynamoDB's TTL removes them.
AUDIT_RETENTION = timedelta(days=730)


class AuditItem(TableItem):
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    channel = UnicodeAttribute()
    before = UnicodeAttribute()  # JSON summaries: codes and settings, no personal data
    after = UnicodeAttribute()
    expires_at = NumberAttribute()


def audit_pk(day: date) -> str:
    return f"AUDIT#{day.isoformat()}"


def audit_item(record: AuditRecord) -> AuditItem:
    return AuditItem(
        audit_pk(record.day),
        sort_key(record),
        at=record.at.isoformat(),
        actor=record.actor,
        role=record.role,
        action=record.action,
        target=record.target,
        channel=record.channel,
        before=json.dumps(record.before, sort_keys=True),
        after=json.dumps(record.after, sort_keys=True),
        expires_at=int((record.at + AUDIT_RETENTION).timestamp()),
    )


def record_from_item(item: AuditItem) -> AuditRecord:
    return AuditRecord(
        at=datetime.fromisoformat(item.at),
        actor=item.actor,
        role=item.role,
        action=item.action,
        target=item.target,
        channel=item.channel,
        before=json.loads(item.before),
        after=json.loads(item.after),
        record_id=item.sk.rpartition("#")[2],
    )


class DynamoAuditLog(AuditLog):
    def append(self, record: AuditRecord) -> None:
        # A new record never overwrites another (record ids are random; the condition makes that certain).
        audit_item(record).save(condition=AuditItem.pk.does_not_exist())

    def day(self, day: date, after: str | None, limit: int, actor: str | None) -> tuple[list[AuditRecord], str | None]:
        range_condition = AuditItem.sk > after if after else None
        items = AuditItem.query(
            audit_pk(day),
            range_condition,
            filter_condition=(AuditItem.actor == actor) if actor else None,
            limit=limit,
            consistent_read=True,
        )
        records = [record_from_item(i) for i in items]
        more = sort_key(records[-1]) if len(records) >= limit and items.last_evaluated_key else None
        return records, more
