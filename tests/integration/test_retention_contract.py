"""Retention and erasure, as one contract for the `Bookings` port: the in-memory fake and the DynamoDB adapter.

Personal data is deleted a set time after the last appointment. DynamoDB's TTL does the deleting (up to 48 h
late; moto never), so the adapter also filters on read: past its `expires_at` an item reads as absent. Expiry
is tested by moving an injected clock, not by waiting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import boto3
import pytest
from pynamodb.connection import Connection

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog
from chalicelib.booking.storage import DynamoBookings
from infra.local.aws import REGION
from infra.resources import BOOKING_TABLE
from tests.fakes import FakeBookings, FakeCatalog

RETENTION = timedelta(days=30)
PEPPER = b"retention-pepper"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    catalog: Catalog
    bookings: Bookings
    clock: Clock
    slots: list[d.Slot]  # first dose, second dose
    raw_item: object  # (pk, sk) → the stored attributes, or None (the fake has no raw items)


@pytest.fixture(params=["fake", "dynamo"])
def world(request) -> World:
    campaign_id = f"retention-{uuid.uuid4().hex[:8]}"
    start = datetime.combine(date.today() + timedelta(days=3), time(9), d.LOCAL_TZ)
    slots = [
        d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), 2)
        for s in (start, start + timedelta(days=21))
    ]
    clock = Clock(datetime.now(d.LOCAL_TZ))
    if request.param == "fake":
        catalog = FakeCatalog()
        bookings: Bookings = FakeBookings(catalog, clock=clock, retention=RETENTION)
        raw_item = None
    else:
        stack = request.getfixturevalue("stack")
        catalog = stack.catalog
        bookings = DynamoBookings(Connection(region=REGION, host=stack.aws_url), clock=clock, retention=RETENTION)
        table = boto3.resource(
            "dynamodb",
            region_name=REGION,
            endpoint_url=stack.aws_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).Table(BOOKING_TABLE.name("local"))
        raw_item = lambda pk, sk: table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")  # noqa: E731
    catalog.release_slots(slots)
    return World(catalog, bookings, clock, slots, raw_item)


PERSON = d.Person("Erna", "Behalten", date(1940, 1, 1), "44141", "erna@example.org", "+49 231 1")


def book(world: World, person: d.Person = PERSON) -> d.Booking:
    first, second = world.slots
    request = d.BookingRequest(uuid.uuid4().hex, first.campaign_id, "dortmund", first.slot_id, False, "de", person)
    world.bookings.add_request(request, world.clock())
    booking = d.Booking(
        d.new_booking_code(),
        request.request_id,
        first.campaign_id,
        "dortmund",
        first.ref,
        second.ref,
        person,
        "de",
        created_at=world.clock(),
        series=first.campaign_id,
    )  # the test's own lock: the person is the same in every test
    world.bookings.reserve(booking, person.key(PEPPER))
    return booking


def test_the_expiry_is_the_retention_after_the_last_appointment():
    start = datetime(2031, 3, 1, 9, tzinfo=d.LOCAL_TZ)
    first = d.SlotRef("a", start, start + timedelta(minutes=30))
    second = d.SlotRef("b", start + timedelta(days=21), start + timedelta(days=21, minutes=30))
    booking = d.Booking("AAAA-BBBB-CC", "r", "c", "dortmund", first, second, PERSON, "de")
    assert booking.personal_data_expires_at(RETENTION) == second.end + RETENTION


def test_a_booking_reads_until_its_retention_has_passed_then_as_absent_with_its_request_and_lock(world):
    booking = book(world)
    key = PERSON.key(PEPPER)
    expiry = booking.personal_data_expires_at(RETENTION)

    world.clock.now = expiry - timedelta(seconds=1)
    assert world.bookings.booking(booking.code) == booking
    assert world.bookings.request_state(booking.request_id).booking_code == booking.code
    assert world.bookings.holds_booking(key, booking.series)
    assert world.bookings.person_locks(key) == {booking.series: booking.code}
    assert booking.code in {b.code for b in world.bookings.active_bookings()}

    world.clock.now = expiry
    assert world.bookings.booking(booking.code) is None
    assert world.bookings.request_state(booking.request_id) is None
    assert not world.bookings.holds_booking(key, booking.series)
    assert world.bookings.person_locks(key) == {}
    assert booking.code not in {b.code for b in world.bookings.active_bookings()}


@pytest.mark.parametrize("world", ["dynamo"], indirect=True)  # the fake has no stored items
def test_booking_item_lock_and_request_carry_the_ttl_attribute_in_epoch_seconds(world):
    booking = book(world)
    expected = int(booking.personal_data_expires_at(RETENTION).timestamp())
    lock = world.raw_item(f"PERSON#{PERSON.key(PEPPER)}", f"SERIES#{booking.series}")
    for item in (
        world.raw_item(f"BOOKING#{booking.code}", "BOOKING"),
        lock,
        world.raw_item(f"REQUEST#{booking.request_id}", "REQUEST"),
    ):
        assert item[BOOKING_TABLE.ttl_attribute] == expected


def test_a_person_whose_old_lock_is_past_its_retention_but_not_yet_deleted_can_book_again(world):
    old = book(world)
    world.clock.now = old.personal_data_expires_at(RETENTION) + timedelta(hours=1)
    later = world.clock.now + timedelta(days=3)
    world.slots = [
        d.Slot(s.campaign_id, s.center_id, d.slot_id_for(start), start, start + timedelta(minutes=30), 1)
        for s, start in zip(world.slots, (later, later + timedelta(days=21)), strict=True)
    ]
    world.catalog.release_slots(world.slots)
    new = book(world)
    assert world.bookings.person_locks(PERSON.key(PEPPER)) == {new.series: new.code}


def test_erasing_keeps_a_tombstone_without_personal_data_and_the_booking_reads_as_absent(world):
    booking = book(world)
    with pytest.raises(ValueError):
        world.bookings.erase(booking)  # an active booking must be cancelled first: its slots go back
    assert world.bookings.cancel(booking, PERSON.key(PEPPER))
    world.bookings.erase(booking.cancelled())
    assert world.bookings.booking(booking.code) is None
    # the slot counters are not touched by the erasure: the cancel gave both slots back
    assert [world.catalog.slot(s.campaign_id, s.center_id, s.slot_id).booked for s in world.slots] == [0, 0]
    if world.raw_item is not None:
        tombstone = world.raw_item(f"BOOKING#{booking.code}", "BOOKING")
        assert tombstone["status"] == "erased" and tombstone["erased_at"]
        assert tombstone["campaign_id"] == booking.campaign_id and tombstone["first_slot_id"] == booking.first.slot_id
        stored = " ".join(str(v) for v in tombstone.values())
        for personal in ("Erna", "Behalten", "1940-01-01", "44141", "erna@example.org", "+49 231 1"):
            assert personal not in stored
