"""An agent's contact correction against the patched moto server: e-mail, phone and contact revision written with
the audit record in one transaction, the version left alone; a write on a stale read, or on a cancelled booking,
changes nothing and writes no record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditAction, new_record
from chalicelib.booking.storage.models import BookingItem, booking_key
from tests.integration.test_audit_adapter import AGENT, audited
from tests.integration.test_dynamo_adapter import make_booking, world  # noqa: F401 - the fixture


def test_a_contact_correction_and_its_record_are_one_write_on_the_booking_as_read(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    booking, key = make_booking(campaign_id, slots, bookings, family=f"Kontakt{uuid.uuid4().hex[:8]}")
    bookings.reserve(booking, key)
    now = datetime.now(UTC)
    corrected = booking.with_contact("neu@example.org", "0231 123456", now)
    record = new_record(AGENT, AuditAction.BOOKING_CONTACT_CHANGED, booking.code, now, after={"changed": ["email"]})

    bookings.change_contact(booking, corrected, record)

    stored = bookings.booking(booking.code)
    assert (stored.person.email, stored.person.phone) == ("neu@example.org", "0231 123456")
    assert (stored.contact_revision, stored.contact_changed_at, stored.version) == (1, now, 0)
    assert BookingItem.get(*booking_key(booking.code), consistent_read=True).version == 0
    assert audited(record) == [record.record_id]

    # Read before that correction: refused, nothing written (another agent's correction is not overwritten).
    stale = new_record(AGENT, AuditAction.BOOKING_CONTACT_CHANGED, booking.code, now)
    with pytest.raises(d.BookingChanged):
        bookings.change_contact(booking, booking.with_contact("alt@example.org", None, now), stale)
    assert bookings.booking(booking.code).person.email == "neu@example.org" and audited(stale) == []

    # The address removed: the attribute goes, the revision stays (nothing is sent again).
    removed = stored.with_contact(None, None, now)
    bookings.change_contact(stored, removed, new_record(AGENT, AuditAction.BOOKING_CONTACT_CHANGED, booking.code, now))
    again = bookings.booking(booking.code)
    assert (again.person.email, again.person.phone, again.contact_revision) == (None, None, 1)

    bookings.cancel(again, key)
    late = new_record(AGENT, AuditAction.BOOKING_CONTACT_CHANGED, booking.code, now)
    with pytest.raises(d.BookingNotActive):
        bookings.change_contact(again, again.with_contact("x@example.org", None, now), late)
    assert audited(late) == []
