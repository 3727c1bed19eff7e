"""The DynamoDB adapter against the patched moto server: what each cancelled transaction means, and retries.

moto never raises TransactionConflict nor fails SQS on its own, so those answers are injected with botocore
`before-send` hooks (which, unlike Stubber, keep botocore's own retry handling in the path).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from botocore.awsrequest import AWSResponse
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

from chalicelib.booking import domain as d
from chalicelib.booking.storage import CONFLICT_RETRIES, DynamoBookings
from infra.local.aws import REGION


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


def error_response(request, error_type: str, status: int = 400, **fields) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": error_type, **fields})
    return AWSResponse(
        request.url,
        status,
        {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"},
        _Raw(body.encode()),
    )


def conflict(request, **_):
    items = len(json.loads(request.body)["TransactItems"])
    return error_response(
        request,
        "TransactionCanceledException",
        CancellationReasons=[
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
            *[{"Code": "None"}] * (items - 1),
        ],
    )


@pytest.fixture()
def world(stack):
    """A fresh campaign with one first-dose and one second-dose slot, and an adapter of its own."""
    campaign_id = f"adapter-{uuid.uuid4().hex[:8]}"
    start = datetime.combine(date.today() + timedelta(days=3), time(9), d.LOCAL_TZ)
    slots = [
        d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), 1)
        for s in (start, start + timedelta(days=21))
    ]
    stack.catalog.release_slots(slots)
    sleeps: list[float] = []
    bookings = DynamoBookings(Connection(region=REGION, host=stack.aws_url), sleep=sleeps.append)
    return campaign_id, slots, bookings, sleeps


def make_booking(campaign_id, slots, bookings, family="Adapter") -> tuple[d.Booking, str]:
    request = d.BookingRequest(
        uuid.uuid4().hex,
        campaign_id,
        "dortmund",
        slots[0].slot_id,
        False,
        "de",
        d.Person("Test", family, date(1940, 1, 1), "44141", "t@example.org"),
    )
    bookings.add_request(request, datetime.now(d.LOCAL_TZ))
    booking = d.Booking(
        d.new_booking_code(),
        request.request_id,
        campaign_id,
        "dortmund",
        slots[0].ref,
        slots[1].ref,
        request.person,
        "de",
        series=campaign_id,
    )  # the test's own lock
    return booking, request.person.key(b"pepper")


def counters(stack, slots) -> list[int]:
    return [stack.catalog.slot(s.campaign_id, s.center_id, s.slot_id).booked for s in slots]


def test_each_failed_condition_becomes_its_domain_outcome_and_changes_nothing(stack, world):
    campaign_id, slots, bookings, _ = world
    booking, key = make_booking(campaign_id, slots, bookings)
    bookings.reserve(booking, key)
    with pytest.raises(d.RequestAlreadyDecided):
        bookings.reserve(booking, key)
    same_person, _ = make_booking(campaign_id, slots, bookings)
    with pytest.raises(d.AlreadyBooked):
        bookings.reserve(same_person, key)
    other, other_key = make_booking(campaign_id, slots, bookings, family="Other")
    with pytest.raises(d.FirstSlotTaken):
        bookings.reserve(other, other_key)
    assert counters(stack, slots) == [1, 1]
    assert bookings.booking(other.code) is None
    assert bookings.request_state(other.request_id).status is d.RequestStatus.QUEUED


def test_a_full_second_dose_slot_is_told_apart_from_a_full_first_one(stack, world):
    campaign_id, slots, bookings, _ = world
    later_first = d.Slot(
        campaign_id,
        "dortmund",
        d.slot_id_for(slots[0].start + timedelta(days=1)),
        slots[0].start + timedelta(days=1),
        slots[0].end + timedelta(days=1),
        1,
    )
    stack.catalog.release_slots([later_first])
    first, key = make_booking(campaign_id, slots, bookings)
    bookings.reserve(first, key)
    second, second_key = make_booking(campaign_id, [later_first, slots[1]], bookings, family="Second")
    with pytest.raises(d.SecondSlotTaken):
        bookings.reserve(second, second_key)
    assert counters(stack, [later_first]) == [0]


def test_a_transaction_conflict_is_retried_and_then_books(stack, world):
    campaign_id, slots, bookings, sleeps = world
    booking, key = make_booking(campaign_id, slots, bookings)
    injected: list[int] = []

    def conflict_twice(request, **kwargs):
        if len(injected) < 2:
            injected.append(1)
            return conflict(request, **kwargs)
        return None

    bookings._connection.client.meta.events.register("before-send.dynamodb.TransactWriteItems", conflict_twice)
    bookings.reserve(booking, key)
    assert len(injected) == 2 and len(sleeps) == 2
    assert counters(stack, slots) == [1, 1]


def test_a_conflict_that_does_not_go_away_fails_loudly_and_books_nothing(stack, world):
    campaign_id, slots, bookings, sleeps = world
    booking, key = make_booking(campaign_id, slots, bookings)
    bookings._connection.client.meta.events.register("before-send.dynamodb.TransactWriteItems", conflict)
    with pytest.raises(TransactWriteError):
        bookings.reserve(booking, key)
    assert len(sleeps) == CONFLICT_RETRIES
    assert counters(stack, slots) == [0, 0]


def test_when_the_queue_refuses_a_request_the_api_answers_503_with_retry_after_and_a_retry_works(stack, api):
    from chalicelib import bootstrap

    days = api.get("/v1/centers/koeln/availability?campaign=80plus-comirnaty&days=5").json()["days"]
    slot_id = days[0]["slots"][0]["slot_id"]
    body = {
        "campaign_id": "80plus-comirnaty",
        "center_id": "koeln",
        "slot_id": slot_id,
        "person": {
            "given_name": "Queue",
            "family_name": f"Down{uuid.uuid4().hex[:6]}",
            "birth_date": "1939-01-01",
            "postal_code": "50679",
            "email": "q@example.org",
        },
    }

    def unavailable(request, **_):
        return AWSResponse(request.url, 503, {"x-amzn-RequestId": "injected"}, _Raw(b"Service Unavailable"))

    sqs_events = bootstrap._client("sqs").meta.events
    sqs_events.register("before-send.sqs.SendMessage", unavailable)
    try:
        refused = api.post("/v1/booking-requests", json=body, headers={"Idempotency-Key": "queue-down-1"})
    finally:
        sqs_events.unregister("before-send.sqs.SendMessage", unavailable)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.json()["error"]["code"] == "service_unavailable"
    retried = api.post("/v1/booking-requests", json=body, headers={"Idempotency-Key": "queue-down-1"})
    assert retried.status_code == 202
