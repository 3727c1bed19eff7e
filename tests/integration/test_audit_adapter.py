"""The audit and caller-index adapters against the patched moto server: a staff cancel, rebook, capacity cut and
centre-day cancel and their audit records are one transaction; a day is listed in pages; a person's bookings are
found through the lock items; a swap gives the lock and request the booking's new expiry; a held pair's seats
are given back exactly once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction, new_record
from chalicelib.booking.storage.audit import DynamoAuditLog
from chalicelib.booking.storage.callers import DynamoCallerIndex
from chalicelib.booking.storage.models import PersonLockItem, RequestItem, lock_key, request_key
from chalicelib.booking.storage.supply import DynamoSupply
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


def later_slot(campaign_id: str, slot: d.Slot, days: int, capacity: int = 1) -> d.Slot:
    start = slot.start + timedelta(days=days)
    return d.Slot(campaign_id, "dortmund", d.slot_id_for(start), start, start + timedelta(minutes=30), capacity)


def booked_with_hold(campaign_id, slots, bookings, first: d.Slot, second: d.Slot, operation_id: str, lapsed=False):
    """A booking reserved on `slots`, and the hold of (first, second) that an operation cancelling it would give
    (lapsing now if `lapsed`, else after HOLD_FOR)."""
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Hold{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    until = (datetime.now(d.LOCAL_TZ) + (timedelta(0) if lapsed else d.HOLD_FOR)).replace(microsecond=0)
    return booking, key, d.Hold(booking.code, campaign_id, "dortmund", first.ref, second.ref, until, operation_id)


def audited(record) -> list[str]:
    stored, _ = DynamoAuditLog().day(record.day, None, 1000, record.actor)
    return [r.record_id for r in stored if r.record_id == record.record_id]


def expiries(booking: d.Booking, key: str) -> tuple[int, int]:
    lock = PersonLockItem.get(*lock_key(key, booking.series), consistent_read=True)
    request = RequestItem.get(*request_key(booking.request_id), consistent_read=True)
    return int(lock.expires_at), int(request.expires_at)


def test_an_agents_rebook_is_audited_in_the_swap_and_lock_and_request_follow_the_new_expiry(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Swap{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    later = later_slot(campaign_id, slots[1], 10)  # a later second dose: the retention runs longer
    stack.catalog.release_slots([later])
    moved = booking.rebooked(slots[0].ref, later.ref)
    record = new_record(AGENT, AuditAction.BOOKING_REBOOKED, booking.code, datetime.now(UTC))

    bookings.rebook(booking, moved, key, audit=record)

    expected = int(moved.personal_data_expires_at(bookings._retention).timestamp())
    assert expiries(booking, key) == (expected, expected)
    assert audited(record) == [record.record_id]
    # A swap that fails writes no record either.
    stale = new_record(AGENT, AuditAction.BOOKING_REBOOKED, booking.code, datetime.now(UTC))
    with pytest.raises(d.BookingChanged):
        bookings.rebook(booking, booking.rebooked(slots[0].ref, slots[1].ref), key, audit=stale)
    assert audited(stale) == []


def test_a_move_and_a_repair_by_ops_give_the_lock_and_request_the_new_expiry_with_their_record(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    supply = DynamoSupply(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Move{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    later = later_slot(campaign_id, slots[1], 7)
    stack.catalog.release_slots([later])
    record = new_record(Actor("olga", "ops"), AuditAction.BOOKING_MOVED_BY_CENTRE, booking.code, datetime.now(UTC))

    assert supply.move_for_operation(booking, booking.second, later, "op-ttl", key, record) is True

    moved = replace(booking, second=later.ref)
    expected = int(moved.personal_data_expires_at(bookings._retention).timestamp())
    assert expiries(booking, key) == (expected, expected) and audited(record) == [record.record_id]
    assert counters(stack, [*slots, later]) == [1, 0, 1]


def test_a_capacity_cut_writes_its_record_only_when_it_changes_the_slot(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    supply = DynamoSupply(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    roomy = later_slot(campaign_id, slots[0], 1, capacity=5)
    stack.catalog.release_slots([roomy])
    cut = new_record(Actor("olga", "ops"), AuditAction.CAPACITY_CUT, roomy.slot_id, datetime.now(UTC))
    assert supply.set_capacity(roomy, 2, audit=cut) is True
    stale = new_record(Actor("olga", "ops"), AuditAction.CAPACITY_CUT, roomy.slot_id, datetime.now(UTC))
    assert supply.set_capacity(roomy, 1, audit=stale) is False  # read at capacity 5: changed since
    assert stack.catalog.slot(campaign_id, "dortmund", roomy.slot_id).capacity == 2
    assert audited(cut) == [cut.record_id] and audited(stale) == []


def test_a_held_pair_is_taken_with_the_cancel_and_its_seats_come_back_exactly_once(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    supply = DynamoSupply(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    replacement = later_slot(campaign_id, slots[0], 2)
    stack.catalog.release_slots([replacement])
    # The held pair keeps the old second dose: the counter of that slot is netted (one write per item).
    booking, key, hold = booked_with_hold(campaign_id, slots, bookings, replacement, slots[1], "op-hold")
    record = new_record(Actor("olga", "ops"), AuditAction.BOOKING_CANCELLED_BY_CENTRE, booking.code, datetime.now(UTC))

    assert supply.cancel_for_operation(booking, key, "op-hold", hold, record) is True

    assert counters(stack, [*slots, replacement]) == [0, 1, 1] and audited(record) == [record.record_id]
    assert bookings.hold(booking.code) == hold and hold in list(bookings.holds())
    assert not bookings.holds_booking(key, booking.series)  # no lock while held: the person may book anew
    assert supply.cancel_for_operation(booking, key, "op-hold", hold, None) is False  # run again: nothing twice

    assert bookings.release_hold(hold, lapsed_only=True) is False  # not lapsed yet
    cancelled = bookings.booking(booking.code)
    confirmed = bookings.confirm_hold(cancelled, hold, key)
    assert (confirmed.status, confirmed.first, confirmed.version) == (d.BookingStatus.ACTIVE, replacement.ref, 1)
    assert bookings.booking(booking.code) == confirmed and bookings.holds_booking(key, booking.series)
    assert counters(stack, [*slots, replacement]) == [0, 1, 1]  # the seats passed from the hold to the booking
    assert bookings.hold(booking.code) is None
    assert bookings.release_hold(hold, lapsed_only=False) is False  # confirmed: nothing to give back
    with pytest.raises(d.HoldLapsed):
        bookings.confirm_hold(cancelled, hold, key)
    assert counters(stack, [*slots, replacement]) == [0, 1, 1]


def test_a_lapsed_hold_gives_its_seats_back_once_and_cannot_be_confirmed(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    supply = DynamoSupply(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    replacement = later_slot(campaign_id, slots[0], 2)
    stack.catalog.release_slots([replacement])
    booking, key, hold = booked_with_hold(campaign_id, slots, bookings, replacement, slots[1], "op-lapse", lapsed=True)
    assert supply.cancel_for_operation(booking, key, "op-lapse", hold, None) is True
    assert counters(stack, [*slots, replacement]) == [0, 1, 1]
    with pytest.raises(d.HoldLapsed):
        bookings.confirm_hold(bookings.booking(booking.code), hold, key)
    assert bookings.release_hold(hold, lapsed_only=True) is True
    assert bookings.release_hold(hold, lapsed_only=True) is False  # a second sweep gives nothing back
    assert counters(stack, [*slots, replacement]) == [0, 0, 0]
