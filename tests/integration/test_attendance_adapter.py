"""The attendance adapter against the patched moto server: a mark and its audit record are one transaction, and
a mark on a booking that changed since it was read writes neither."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from chalicelib.booking import domain as d
from chalicelib.booking.attendance import AttendanceAction
from chalicelib.booking.audit import Actor, new_record
from chalicelib.booking.storage.attendance import DynamoAttendance
from chalicelib.booking.storage.audit import DynamoAuditLog
from tests.integration.test_dynamo_adapter import counters, make_booking, world  # noqa: F401 - the fixture

DESK = Actor(f"desk-{uuid.uuid4().hex[:6]}", "center_staff")


def test_a_mark_is_stored_with_its_audit_record_and_a_stale_mark_writes_nothing(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Mark{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    booked = counters(stack, slots)
    store = DynamoAttendance(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    at = datetime.now(UTC)

    assert [b.code for b in store.day("dortmund", slots[0].day) if b.code == booking.code] == [booking.code]
    assert [b.code for b in store.day("dortmund", slots[1].day) if b.code == booking.code] == [booking.code]
    first = new_record(DESK, AttendanceAction.NO_SHOW, booking.code, at, channel="staff")
    missed = d.with_attendance(booking, 1, d.Attendance.NO_SHOW)
    assert store.change(booking, missed, 1, at, first) is True
    stored = bookings.booking(booking.code)
    assert (stored.first_attendance, stored.second_attendance) == (d.Attendance.NO_SHOW, d.Attendance.EXPECTED)
    assert (stored.second, stored.released_second) == (None, booking.second)  # the second seat given back
    assert counters(stack, slots) == [booked[0], booked[1] - 1]
    assert [b.code for b in store.day("dortmund", slots[1].day) if b.code == booking.code] == []

    # The same read again (another desk's stale copy): the first dose is no longer unmarked, so nothing is written.
    stale = new_record(DESK, AttendanceAction.CHECKED_IN, booking.code, at, channel="staff")
    assert store.change(booking, d.with_attendance(booking, 1, d.Attendance.ATTENDED), 1, at, stale) is False
    assert bookings.booking(booking.code).first_attendance is d.Attendance.NO_SHOW
    records, _ = DynamoAuditLog().day(first.day, None, 1000, DESK.user)
    assert [r.record_id for r in records] == [first.record_id]

    # Read afresh, the correction goes through; a cancelled booking is marked no more.
    fresh = bookings.booking(booking.code)
    came = d.with_attendance(fresh, 1, d.Attendance.ATTENDED)
    assert came.second == booking.second  # the correction takes the second seat again
    assert store.change(fresh, came, 1, at, stale) is True
    assert bookings.booking(booking.code) == came and counters(stack, slots) == booked
    assert bookings.cancel(bookings.booking(booking.code), key) is True
    late = new_record(DESK, AttendanceAction.NO_SHOW, booking.code, at, channel="staff")
    gone = bookings.booking(booking.code)
    assert store.change(gone, gone.marked(2, d.Attendance.NO_SHOW), 2, at, late) is False
    assert booking.code not in {b.code for b in store.day("dortmund", slots[0].day)}  # active bookings only
