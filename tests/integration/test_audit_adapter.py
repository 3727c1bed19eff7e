"""The audit and caller-index adapters against the patched moto server: a staff cancel and its audit record
are one transaction; a day is listed in pages; a person's bookings are found through the lock items."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from chalicelib.booking.audit import Actor, AuditAction, new_record
from chalicelib.booking.storage.audit import DynamoAuditLog
from chalicelib.booking.storage.callers import DynamoCallerIndex
from tests.integration.test_dynamo_adapter import counters, make_booking, world  # noqa: F401 - the fixture

AGENT = Actor("hans-adapter", "hotline")


def test_a_staff_cancel_writes_its_audit_record_in_the_same_transaction(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Audit{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    assert DynamoCallerIndex().booking_codes(key) == [booking.code]

    at = datetime.now(UTC)
    record = new_record(AGENT, AuditAction.BOOKING_CANCELLED, booking.code, at)
    assert bookings.cancel(booking, key, audit=record) is True
    assert counters(stack, slots) == [0, 0] and DynamoCallerIndex().booking_codes(key) == []
    stored, _ = DynamoAuditLog().day(record.day, None, 1000, AGENT.user)
    assert [r.record_id for r in stored if r.target == booking.code] == [record.record_id]

    # Cancelled before: nothing changes, and the second record is not written either.
    again = new_record(AGENT, AuditAction.BOOKING_CANCELLED, booking.code, at + timedelta(seconds=1))
    assert bookings.cancel(booking, key, audit=again) is False
    stored, _ = DynamoAuditLog().day(record.day, None, 1000, AGENT.user)
    assert again.record_id not in {r.record_id for r in stored}


def test_a_day_of_the_audit_is_listed_in_time_order_page_by_page(stack):
    log, actor = DynamoAuditLog(), Actor(f"pager-{uuid.uuid4().hex[:6]}", "ops")
    start = datetime(2031, 3, 1, 8, tzinfo=UTC)
    written = [
        new_record(actor, AuditAction.CAMPAIGN_PUT, f"c{n}", start + timedelta(minutes=n), after={"n": n})
        for n in range(5)
    ]
    for record in reversed(written):
        log.append(record)
    first, more = log.day(start.date(), None, 3, actor.user)
    rest, done = log.day(start.date(), more, 3, actor.user)
    assert [r.after["n"] for r in first + rest] == [0, 1, 2, 3, 4] and done is None
    assert first[0] == written[0]
