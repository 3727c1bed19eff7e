"""One contract for the `Bookings` port, run against the in-memory fake and the PynamoDB adapter alike.

The service tests trust `tests/fakes.py`; this keeps the fake honest: every answer, every outcome of a
failed reservation and every counter it keeps must be the ones the DynamoDB adapter gives (on the patched
moto server the integration tests use).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import pytest
from pynamodb.connection import Connection

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog
from chalicelib.booking.storage import DynamoBookings
from infra.local.aws import REGION
from tests.fakes import FakeBookings, FakeCatalog

# Before the slots (today + 3 days): a clock after them would find every booking past its retention.
CREATED = datetime.combine(date.today(), time(8), d.LOCAL_TZ)


@dataclass
class Store:
    catalog: Catalog
    bookings: Bookings
    campaign_id: str
    slots: list[d.Slot]  # first dose, second dose, another first dose

    def booked(self) -> list[int]:
        found = [self.catalog.slot(s.campaign_id, s.center_id, s.slot_id) for s in self.slots]
        assert None not in found, "a slot of the fixture is missing"
        return [slot.booked for slot in found if slot is not None]


@pytest.fixture(params=["fake", "dynamo"])
def store(request) -> Store:
    campaign_id = f"contract-{uuid.uuid4().hex[:8]}"
    start = datetime.combine(date.today() + timedelta(days=3), time(9), d.LOCAL_TZ)
    slots = [
        d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), 1)
        for s in (start, start + timedelta(days=21), start + timedelta(hours=1))
    ]
    if request.param == "fake":
        catalog = FakeCatalog()
        bookings: Bookings = FakeBookings(catalog)
    else:
        stack = request.getfixturevalue("stack")
        catalog = stack.catalog
        bookings = DynamoBookings(Connection(region=REGION, host=stack.aws_url), clock=lambda: CREATED)
    catalog.release_slots(slots)
    return Store(catalog, bookings, campaign_id, slots)


def queued(store: Store, family: str = "Contract") -> d.BookingRequest:
    request = d.BookingRequest(
        uuid.uuid4().hex,
        store.campaign_id,
        "dortmund",
        store.slots[0].slot_id,
        False,
        "de",
        d.Person("Test", family, date(1940, 1, 1), "44141", "t@example.org", None),
    )
    store.bookings.add_request(request, CREATED)
    return request


def booking_for(request: d.BookingRequest, first: d.Slot, second: d.Slot | None) -> d.Booking:
    # The test's own campaign is its own series too: the table is shared, the person in it is not.
    return d.Booking(
        d.new_booking_code(),
        request.request_id,
        request.campaign_id,
        "dortmund",
        first.ref,
        second.ref if second else None,
        request.person,
        request.language,
        created_at=CREATED,
        series=request.campaign_id,
    )


def key_of(request: d.BookingRequest) -> str:
    return request.person.key(b"contract-pepper")


def test_a_new_request_is_queued_and_an_unknown_one_is_none(store):
    request = queued(store)
    assert store.bookings.request_state(request.request_id) == d.RequestState(
        request.request_id, d.RequestStatus.QUEUED
    )
    assert store.bookings.request_state(uuid.uuid4().hex) is None


def test_a_reservation_books_both_slots_stores_the_booking_locks_the_person_and_marks_the_request(store):
    request = queued(store)
    booking = booking_for(request, store.slots[0], store.slots[1])
    store.bookings.reserve(booking, key_of(request))
    assert store.booked() == [1, 1, 0]
    assert store.bookings.booking(booking.code) == booking
    assert store.bookings.holds_booking(key_of(request), store.campaign_id)
    assert store.bookings.request_state(request.request_id) == d.RequestState(
        request.request_id, d.RequestStatus.BOOKED, booking_code=booking.code
    )
    assert booking.code in {b.code for b in store.bookings.active_bookings()}


def test_a_single_dose_reservation_books_one_slot(store):
    request = queued(store)
    booking = booking_for(request, store.slots[2], None)
    store.bookings.reserve(booking, key_of(request))
    assert store.booked() == [0, 0, 1]
    assert store.bookings.booking(booking.code) == booking


def test_failed_reservations_name_their_reason_in_order_of_precedence_and_change_nothing(store):
    anna = queued(store, "Anna")
    anna_booking = booking_for(anna, store.slots[0], store.slots[1])
    store.bookings.reserve(anna_booking, key_of(anna))

    with pytest.raises(d.RequestAlreadyDecided):  # outranks the lock and the full slots
        store.bookings.reserve(booking_for(anna, store.slots[0], store.slots[1]), key_of(anna))
    again = queued(store, "Anna")
    with pytest.raises(d.AlreadyBooked):  # outranks the full slots
        store.bookings.reserve(booking_for(again, store.slots[0], store.slots[1]), key_of(again))
    berta = queued(store, "Berta")
    with pytest.raises(d.FirstSlotTaken):  # outranks a full second slot
        store.bookings.reserve(booking_for(berta, store.slots[0], store.slots[1]), key_of(berta))
    with pytest.raises(d.SecondSlotTaken):
        store.bookings.reserve(booking_for(berta, store.slots[2], store.slots[1]), key_of(berta))

    assert store.booked() == [1, 1, 0]
    assert not store.bookings.holds_booking(key_of(berta), store.campaign_id)
    for request in (again, berta):
        assert store.bookings.request_state(request.request_id).status is d.RequestStatus.QUEUED


def test_a_rejection_is_written_once_with_its_alternatives_and_a_decided_request_stays_as_it_is(store):
    request = queued(store)
    offered = [d.SlotPair(store.slots[2], store.slots[1])]
    assert store.bookings.reject(request.request_id, d.RejectReason.SLOT_TAKEN, offered) is True
    state = store.bookings.request_state(request.request_id)
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.SLOT_TAKEN)
    assert [(p.first.slot_id, p.first.remaining, p.second.slot_id) for p in state.alternatives] == [
        (store.slots[2].slot_id, 1, store.slots[1].slot_id)
    ]
    assert store.bookings.reject(request.request_id, d.RejectReason.NO_CAPACITY, []) is False
    assert store.bookings.request_state(request.request_id).reason is d.RejectReason.SLOT_TAKEN

    booked = queued(store, "Booked")
    store.bookings.reserve(booking_for(booked, store.slots[0], store.slots[1]), key_of(booked))
    assert store.bookings.reject(booked.request_id, d.RejectReason.NO_CAPACITY, []) is False
    assert store.bookings.request_state(booked.request_id).status is d.RequestStatus.BOOKED


def test_a_cancellation_gives_both_slots_back_once_and_frees_the_person(store):
    request = queued(store)
    booking = booking_for(request, store.slots[0], store.slots[1])
    store.bookings.reserve(booking, key_of(request))
    assert store.bookings.cancel(booking, key_of(request)) is True
    assert store.booked() == [0, 0, 0]
    assert store.bookings.booking(booking.code).status is d.BookingStatus.CANCELLED
    assert not store.bookings.holds_booking(key_of(request), store.campaign_id)
    assert booking.code not in {b.code for b in store.bookings.active_bookings()}
    assert store.bookings.cancel(booking, key_of(request)) is False
    assert store.booked() == [0, 0, 0]


def test_an_unknown_code_is_no_booking(store):
    assert store.bookings.booking(d.new_booking_code()) is None


def submitted(store: Store, submission: d.Submission, family: str = "Submit") -> d.BookingRequest:
    request = d.BookingRequest(
        uuid.uuid4().hex,
        store.campaign_id,
        "dortmund",
        store.slots[0].slot_id,
        False,
        "de",
        d.Person("Test", family, date(1940, 1, 1), "44141", "t@example.org", None),
    )
    store.bookings.add_request(request, CREATED, submission)
    return request


def test_a_submission_is_claimed_with_its_request_and_answers_it_again_or_refuses_another_body(store):
    submission = d.Submission(f"header:{uuid.uuid4().hex}", "hash-a")
    first = submitted(store, submission)
    with pytest.raises(d.DuplicateSubmission) as again:
        submitted(store, submission)
    assert (again.value.request_id, again.value.status) == (first.request_id, d.RequestStatus.QUEUED)
    with pytest.raises(d.IdempotencyKeyReused):
        submitted(store, d.Submission(submission.key, "hash-b"))
    store.bookings.reject(first.request_id, d.RejectReason.SLOT_TAKEN, [])
    with pytest.raises(d.DuplicateSubmission) as decided:
        submitted(store, submission)
    assert decided.value.status is d.RequestStatus.REJECTED


def test_a_submission_whose_request_was_not_processed_may_make_a_new_one(store):
    submission = d.Submission(f"body:{uuid.uuid4().hex}", "hash-a")
    first = submitted(store, submission)
    store.bookings.reject(first.request_id, d.RejectReason.NOT_PROCESSED, [])
    second = submitted(store, submission)
    assert store.bookings.request_state(second.request_id).status is d.RequestStatus.QUEUED
    with pytest.raises(d.DuplicateSubmission) as again:
        submitted(store, submission)
    assert again.value.request_id == second.request_id


def test_a_rebook_takes_the_new_slots_gives_the_old_back_and_keeps_code_lock_and_request(store):
    request = queued(store)
    booking = booking_for(request, store.slots[0], store.slots[1])
    store.bookings.reserve(booking, key_of(request))
    moved = booking.rebooked(store.slots[2].ref, store.slots[1].ref)  # the second dose stays: netted to 0

    store.bookings.rebook(booking, moved, key_of(request))

    assert store.booked() == [0, 1, 1]
    assert store.bookings.booking(booking.code) == moved and moved.version == 1
    assert store.bookings.holds_booking(key_of(request), booking.series)
    assert store.bookings.request_state(request.request_id).booking_code == booking.code
    back = moved.rebooked(store.slots[0].ref, store.slots[1].ref)
    store.bookings.rebook(moved, back, key_of(request))  # and back again: version 2, conditioned on version 1
    assert store.booked() == [1, 1, 0]
    assert store.bookings.booking(booking.code) == back


def test_a_failed_rebook_names_its_reason_in_order_of_precedence_and_changes_nothing(store):
    anna, berta = queued(store, "Anna"), queued(store, "Berta")
    anna_booking = booking_for(anna, store.slots[0], None)
    store.bookings.reserve(anna_booking, key_of(anna))
    berta_booking = booking_for(berta, store.slots[2], None)
    store.bookings.reserve(berta_booking, key_of(berta))
    missing = d.SlotRef(
        d.slot_id_for(store.slots[1].start + timedelta(hours=5)), store.slots[1].start, store.slots[1].end
    )

    with pytest.raises(d.FirstSlotTaken):  # outranks a second dose that cannot be had
        store.bookings.rebook(berta_booking, berta_booking.rebooked(store.slots[0].ref, missing), key_of(berta))
    with pytest.raises(d.SecondSlotTaken):
        store.bookings.rebook(berta_booking, berta_booking.rebooked(store.slots[1].ref, missing), key_of(berta))
    stale = replace(berta_booking, first=store.slots[1].ref)
    with pytest.raises(d.BookingChanged):  # outranks the full slot
        store.bookings.rebook(stale, stale.rebooked(store.slots[0].ref, None), key_of(berta))
    with pytest.raises(d.BookingChanged):  # same slots, another version
        store.bookings.rebook(
            replace(berta_booking, version=3), berta_booking.rebooked(store.slots[1].ref, None), key_of(berta)
        )

    assert store.booked() == [1, 0, 1]
    assert store.bookings.booking(berta_booking.code) == berta_booking
    store.bookings.cancel(anna_booking, key_of(anna))
    with pytest.raises(d.BookingChanged):  # a cancelled booking is not rebooked
        store.bookings.rebook(anna_booking, anna_booking.rebooked(store.slots[1].ref, None), key_of(anna))
    assert store.booked() == [0, 0, 1]
    single = berta_booking.rebooked(store.slots[1].ref, None)  # and a single-dose move that can be had
    store.bookings.rebook(berta_booking, single, key_of(berta))
    assert store.booked() == [0, 1, 0]
    assert store.bookings.booking(berta_booking.code) == single


def test_a_cancel_that_read_the_booking_before_a_rebook_changes_nothing_and_says_so(store):
    request = queued(store)
    booking = booking_for(request, store.slots[0], store.slots[1])
    store.bookings.reserve(booking, key_of(request))
    moved = booking.rebooked(store.slots[2].ref, store.slots[1].ref)
    store.bookings.rebook(booking, moved, key_of(request))
    with pytest.raises(d.BookingChanged):
        store.bookings.cancel(booking, key_of(request))
    assert store.booked() == [0, 1, 1]
    assert store.bookings.cancel(moved, key_of(request)) is True
    assert store.booked() == [0, 0, 0]
    assert not store.bookings.holds_booking(key_of(request), booking.series)


def test_the_person_lock_is_per_series(store):
    request = queued(store)
    store.bookings.reserve(booking_for(request, store.slots[0], None), key_of(request))
    another = f"{store.campaign_id}-another"
    assert store.bookings.holds_booking(key_of(request), store.campaign_id)
    assert not store.bookings.holds_booking(key_of(request), another)
    again = queued(store)
    with pytest.raises(d.AlreadyBooked):  # the same series: refused, whichever campaign
        store.bookings.reserve(booking_for(again, store.slots[2], None), key_of(again))
    other = queued(store)
    store.bookings.reserve(replace(booking_for(other, store.slots[2], None), series=another), key_of(other))
    assert store.bookings.holds_booking(key_of(request), another)
    assert store.booked() == [1, 0, 1]
