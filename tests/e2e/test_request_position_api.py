"""A queued booking request's `position` through HTTP, the real SQS adapter (moto) and the pump."""

from __future__ import annotations

import uuid

import requests
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.booking.queues import SqsBacklog
from infra.local.aws import client
from infra.local.pump import QueuePump
from infra.resources import BOOKING_QUEUE
from tests.e2e.test_booking_invariants import new_campaign, request_body, wait_decided


def test_queued_requests_are_told_the_length_of_the_line_and_decided_ones_no_position(stack):
    sqs = client("sqs", stack.aws_url)
    queue = stack.queue_urls[BOOKING_QUEUE.name("local")]
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    stack.wait_for_idle_queues()
    stack.pumps["booking_worker"].stop()  # the requests wait on the queue, undecided
    try:
        ids = [
            requests.post(
                f"{stack.api_url}/v1/booking-requests",
                json=request_body(campaign_id, first_id, f"Line{uuid.uuid4().hex[:8]}"),
                timeout=30,
            ).json()["request_id"]
            for _ in range(2)
        ]
        bootstrap.queue_positions.cache_clear()  # as a fresh API instance: no count read before the two were sent
        states = [requests.get(f"{stack.api_url}/v1/booking-requests/{i}", timeout=30).json() for i in ids]
        assert [(s["status"], s["position"]) for s in states] == [("queued", 2), ("queued", 2)]
    finally:
        stack.pumps["booking_worker"] = QueuePump(
            sqs, queue, stack.app_module.booking_worker, "booking_worker", on_error=stack.pump_errors.append
        ).start(2)
    decided = [wait_decided(stack.api_url, i) for i in ids]
    assert [s["status"] for s in decided] == ["booked", "booked"]
    assert not any("position" in s for s in decided)


class _Refusing:
    def get_queue_attributes(self, **_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueAttributes")


def test_a_queue_that_cannot_be_asked_gives_no_position_rather_than_an_error():
    assert SqsBacklog(_Refusing(), lambda: "https://queue").waiting() is None
