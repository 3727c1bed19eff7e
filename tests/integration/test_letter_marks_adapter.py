"""Letter marks against the patched moto server: a mark of a booking the operation changed is stored with its audit
record in one transaction; a second mark changes nothing and returns the first; a booking the operation did not
change is refused and nothing is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction, new_record
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind
from chalicelib.booking.storage.audit import DynamoAuditLog
from chalicelib.booking.storage.letters import DynamoLetterMarks
from chalicelib.booking.storage.supply import DynamoSupply
from tests.integration.test_dynamo_adapter import make_booking, world  # noqa: F401 - the fixture


def test_a_mark_is_stored_once_with_its_audit_record_and_only_for_a_booking_of_the_operation(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    now = datetime.now(d.LOCAL_TZ).replace(microsecond=0)
    operation_id = uuid.uuid4().hex
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Mark{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    assert DynamoSupply(bookings, clock=lambda: now).cancel_for_operation(booking, key, operation_id) is True
    marks = DynamoLetterMarks(bookings)
    agent, other = Actor(f"agent-{uuid.uuid4().hex[:6]}", "hotline"), Actor(f"other-{uuid.uuid4().hex[:6]}", "admin")

    def attempt(kind: LetterMarkKind, by: Actor, operation: str = operation_id) -> LetterMark:
        record = new_record(by, AuditAction.LETTER_MARKED, operation, now, after={"code": booking.code})
        return marks.mark(operation, booking, LetterMark(booking.code, kind, by.user, now), record)

    with pytest.raises(d.BookingNotFound):
        attempt(LetterMarkKind.SENT, agent, uuid.uuid4().hex)  # the booking names another operation
    first = attempt(LetterMarkKind.CALLED, agent)
    again = attempt(LetterMarkKind.SENT, other)

    assert first == again == LetterMark(booking.code, LetterMarkKind.CALLED, agent.user, now)
    assert marks.marks(operation_id) == {booking.code: first}
    day = now.astimezone(UTC).date()
    records, _ = DynamoAuditLog().day(day, None, 200, agent.user)
    assert [r.target for r in records if r.action == AuditAction.LETTER_MARKED] == [operation_id]
    assert DynamoAuditLog().day(day, None, 200, other.user)[0] == []  # the repeat wrote no record
