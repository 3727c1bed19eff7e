"""Export and erasure on a person's request (GDPR Art. 15, 17), over the fakes; and retention on the read side."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.reconciliation import Reconciliation
from chalicelib.contracts.mail import MailKind
from chalicelib.privacy.services import PersonQuery, PrivacyService
from tests.fakes import FakeBookings, FakeSuppressionList
from tests.unit.builders import NOW, PEPPER, World, person, slot

RETENTION = timedelta(days=90)


class PrivacyWorld(World):
    def __init__(self, slots, clock=None):
        super().__init__(slots, bookings_type=lambda catalog: FakeBookings(catalog, clock=clock, retention=RETENTION))
        self.suppressions = FakeSuppressionList()
        self.privacy = PrivacyService(
            self.queries, self.service, self.bookings, self.suppressions, PEPPER, RETENTION, clock=lambda: NOW
        )


def booked_world(clock=None) -> tuple[PrivacyWorld, d.Booking]:
    world = PrivacyWorld([slot(1, 9), slot(22, 9)], clock)
    state = world.book(slot(1, 9))
    return world, world.bookings.booking(state.booking_code)


def test_an_export_by_code_and_birth_date_holds_the_booking_its_request_the_lock_and_the_suppression():
    world, booking = booked_world()
    world.suppressions.suppress("erna@example.org", "bounce")
    export = world.privacy.export(PersonQuery(date(1940, 5, 1), code=booking.code.lower()))
    json.dumps(export)  # printable as it is
    [record] = export["bookings"]
    assert record["code"] == booking.code and record["status"] == "active"
    assert record["person"] == {
        "given_name": "Erna",
        "family_name": "Müller",
        "birth_date": "1940-05-01",
        "postal_code": "44141",
        "email": "erna@example.org",
        "phone": None,
        "postal_address": None,
    }
    assert record["personal_data_deleted_at"] == (booking.appointments[-1].end + RETENTION).isoformat()
    assert [a["attendance"] for a in record["appointments"]] == ["expected", "expected"]  # centre staff's marks
    assert export["requests"] == [
        {"request_id": booking.request_id, "status": "booked", "booking_code": booking.code, "reason": None}
    ]
    assert export["locks"] == [{"series": booking.series, "booking_code": booking.code}]
    assert export["mail_suppressions"][0]["suppressed"] is True
    assert export["retention_days_after_last_appointment"] == 90


def test_an_export_by_name_and_birth_date_finds_the_active_booking_through_the_person_key_in_any_spelling():
    world, booking = booked_world()
    export = world.privacy.export(PersonQuery(date(1940, 5, 1), given_name="ERNA", family_name="Mueller"))
    assert [b["code"] for b in export["bookings"]] == [booking.code]


def test_a_wrong_birth_date_or_an_unknown_person_finds_nothing():
    world, booking = booked_world()
    with pytest.raises(d.BookingNotFound):
        world.privacy.export(PersonQuery(date(1940, 5, 2), code=booking.code))
    with pytest.raises(d.BookingNotFound):
        world.privacy.export(PersonQuery(date(1940, 5, 1), given_name="Berta", family_name="Müller"))


def test_a_query_names_a_code_or_a_name_not_both_and_not_neither():
    with pytest.raises(ValueError):
        PersonQuery(date(1940, 5, 1))
    with pytest.raises(ValueError):
        PersonQuery(date(1940, 5, 1), code="ABCD-EFGH-JK", given_name="Erna", family_name="Müller")


def test_erasing_an_active_booking_cancels_it_first_so_its_slots_go_back_then_removes_the_personal_data():
    world, booking = booked_world()
    world.suppressions.suppress("erna@example.org", "complaint")
    [erasure] = world.privacy.erase(PersonQuery(date(1940, 5, 1), code=booking.code))
    assert (erasure.code, erasure.cancelled, erasure.suppression_erased) == (booking.code, True, True)
    assert world.remaining(slot(1, 9)) == world.remaining(slot(22, 9)) == 1
    assert world.outbox.published[-1].kind is MailKind.BOOKING_CANCELLED  # the ordinary cancel use case ran
    assert world.bookings.booking(booking.code) is None and booking.code in world.bookings.erased
    assert not world.bookings.holds_booking(person().key(PEPPER), booking.campaign_id)
    assert not world.suppressions.is_suppressed("erna@example.org")
    with pytest.raises(d.BookingNotFound):
        world.privacy.export(PersonQuery(date(1940, 5, 1), code=booking.code))
    # the person may book again
    assert world.book(slot(1, 9)).status is d.RequestStatus.BOOKED


def test_erasing_a_cancelled_booking_does_not_cancel_again():
    world, booking = booked_world()
    world.service.cancel(booking.code, date(1940, 5, 1))
    published = len(world.outbox.published)
    [erasure] = world.privacy.erase(PersonQuery(date(1940, 5, 1), code=booking.code))
    assert erasure.cancelled is False and erasure.suppression_erased is False
    assert len(world.outbox.published) == published
    assert world.remaining(slot(1, 9)) == 1


def test_a_booking_past_its_retention_is_looked_up_as_unknown():
    clock = {"now": NOW}
    world, booking = booked_world(lambda: clock["now"])  # the fake's TTL filter reads this clock
    clock["now"] = booking.appointments[-1].end + timedelta(days=90) - timedelta(seconds=1)
    assert world.queries.lookup(booking.code, date(1940, 5, 1)).booking == booking
    clock["now"] += timedelta(seconds=1)
    with pytest.raises(d.BookingNotFound):
        world.queries.lookup(booking.code, date(1940, 5, 1))


def test_reconciliation_does_not_count_drift_for_slots_older_than_the_retention():
    # An active booking whose first dose is older than the retention, its second still within it: the first
    # slot is outside the compared window on both sides (counter and holders), so there is no false drift.
    world = PrivacyWorld([slot(1, 9), slot(22, 9)])
    world.book(slot(1, 9))
    later = slot(1, 9).start + timedelta(days=10)
    report = Reconciliation(world.catalog, world.bookings, clock=lambda: later, retention=timedelta(days=5)).run()
    assert report.drift == 0 and report.slots_checked == 1
    same_day = Reconciliation(world.catalog, world.bookings, clock=lambda: NOW, retention=RETENTION).run()
    assert same_day.drift == 0 and same_day.slots_checked == 2
