"""Letter marks against the patched moto server: a mark of a booking the operation changed is stored with its audit
record in one transaction; a second mark changes nothing and returns the first; a booking the operation did not
change is refused and nothing is written. A mark is taken back with its record in one transaction, only as read;
an erasure deletes the booking's mark with its personal data."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction, new_record
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind
from chalicelib.booking.storage.audit import DynamoAuditLog
from chalicelib.booking.storage.letters import DynamoLetterMarks
from chalicelib.booking.storage.models import BookingItem, booking_key
from chalicelib.booking.storage.supply import DynamoSupply
from tests.integration.test_dynamo_adapter import make_booking, world  # noqa: F401 - the fixture


def cancelled_by_an_operation(world) -> tuple[d.Booking, str, datetime]:  # noqa: F811
    """A booking of the world's campaign, cancelled by a new centre-day operation: the booking (as cancelled), the
    operation's id, and when."""
    campaign_id, slots, bookings, _ = world
    now = datetime.now(d.LOCAL_TZ).replace(microsecond=0)
    operation_id = uuid.uuid4().hex
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Mark{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    assert DynamoSupply(bookings, clock=lambda: now).cancel_for_operation(booking, key, operation_id) is True
    return bookings.booking(booking.code), operation_id, now


def test_a_mark_is_stored_once_with_its_audit_record_and_only_for_a_booking_of_the_operation(stack, world):  # noqa: F811
    booking, operation_id, now = cancelled_by_an_operation(world)
    marks = DynamoLetterMarks(world[2])
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


def test_a_mark_is_taken_back_with_its_record_only_as_read_and_an_erasure_deletes_it(stack, world):  # noqa: F811
    booking, operation_id, now = cancelled_by_an_operation(world)
    bookings = world[2]
    marks = DynamoLetterMarks(bookings)
    agent = Actor(f"agent-{uuid.uuid4().hex[:6]}", "hotline")
    mark = LetterMark(booking.code, LetterMarkKind.SENT, agent.user, now)
    marks.mark(operation_id, booking, mark, new_record(agent, AuditAction.LETTER_MARKED, operation_id, now))

    def undo(read: LetterMark, operation: str = operation_id) -> bool:
        record = new_record(agent, AuditAction.LETTER_UNMARKED, operation, now, before={"code": booking.code})
        return marks.unmark(operation, booking, read, record)

    with pytest.raises(d.BookingNotFound):
        undo(mark, uuid.uuid4().hex)  # the booking names another operation
    with pytest.raises(d.BookingNotFound):
        marks.mark_of(uuid.uuid4().hex, booking.code)
    assert undo(replace(mark, kind=LetterMarkKind.CALLED)) is False  # not the mark that stands: nothing written
    assert marks.mark_of(operation_id, booking.code) == mark
    assert undo(mark) is True
    assert marks.mark_of(operation_id, booking.code) is None and marks.marks(operation_id) == {}
    assert undo(mark) is False  # gone: nothing to take back
    records, _ = DynamoAuditLog().day(now.astimezone(UTC).date(), None, 200, agent.user)
    assert [r.target for r in records if r.action == AuditAction.LETTER_UNMARKED] == [operation_id]

    # Marked again; a later operation changes the booking (it names that one now); then the person asks to be
    # erased: the mark made under the first operation goes with the booking's personal data all the same.
    marks.mark(operation_id, booking, mark, new_record(agent, AuditAction.LETTER_MARKED, operation_id, now))
    BookingItem(*booking_key(booking.code)).update(actions=[BookingItem.operation_id.set(uuid.uuid4().hex)])
    bookings.erase(booking)
    assert bookings.booking(booking.code) is None
    assert marks.marks(operation_id) == {}
