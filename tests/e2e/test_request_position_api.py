"""A queued booking request's `position` and `Retry-After` through HTTP, the real SQS adapter (moto) and the
pump."""

from __future__ import annotations

import time
import uuid

import requests
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.booking.position import DRAIN_MIN_SPAN_S, RETRY_AFTER_MAX_S, RETRY_AFTER_MIN_S
from chalicelib.booking.queues import SqsBacklog
from infra.local.aws import client
from infra.local.pump import QueuePump
from infra.resources import BOOKING_QUEUE
from tests.e2e.test_booking_invariants import new_campaign, request_body, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec


def submit(stack, campaign_id: str, first_id: str, family: str, count: int) -> list[str]:
    """`count` requests of different people for the same pair; their request ids."""
    return [
        requests.post(
            f"{stack.api_url}/v1/booking-requests",
            json=request_body(campaign_id, first_id, f"{family}{uuid.uuid4().hex[:8]}"),
            timeout=30,
        ).json()["request_id"]
        for _ in range(count)
    ]


def test_queued_requests_are_told_the_length_of_the_line_and_decided_ones_no_position(stack):
    sqs = client("sqs", stack.aws_url)
    queue = stack.queue_urls[BOOKING_QUEUE.name("local")]
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    stack.wait_for_idle_queues()
    stack.pumps["booking_worker"].stop()  # the requests wait on the queue, undecided
    try:
        ids = submit(stack, campaign_id, first_id, "Line", 2)
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


def test_while_the_line_drains_queued_requests_are_paced_by_retry_after_and_decided_ones_are_not(stack):
    sqs = client("sqs", stack.aws_url)
    queue = stack.queue_urls[BOOKING_QUEUE.name("local")]
    campaign_id, first_id, _ = new_campaign(stack, 6, 6)
    stack.wait_for_idle_queues()
    stack.pumps["booking_worker"].stop()
    try:
        ids = submit(stack, campaign_id, first_id, "Drain", 6)
        bootstrap.queue_positions.cache_clear()  # a fresh API instance: its first read of the backlog
        before = requests.get(f"{stack.api_url}/v1/booking-requests/{ids[-1]}", timeout=30)
        assert before.json()["position"] == 6 and "Retry-After" not in before.headers  # no fall seen yet
        time.sleep(DRAIN_MIN_SPAN_S + 0.2)
        worker = QueuePump(sqs, queue, stack.app_module.booking_worker, "booking_worker", batch_size=3, wait_s=1)
        assert worker.pump_once() == 3  # three decided: the line fell from 6 to 3
        answers = [requests.get(f"{stack.api_url}/v1/booking-requests/{i}", timeout=30) for i in ids]
    finally:
        stack.pumps["booking_worker"] = QueuePump(
            sqs, queue, stack.app_module.booking_worker, "booking_worker", on_error=stack.pump_errors.append
        ).start(2)
    queued = [a for a in answers if a.json()["status"] == "queued"]
    decided = [a for a in answers if a.json()["status"] != "queued"]
    assert len(queued) == 3 and len(decided) == 3
    for answer in queued:  # 3 to go at (3 decided in ~4 s) = 0.7/s at least: ~5 s at the latest
        assert answer.json()["position"] == 3
        assert RETRY_AFTER_MIN_S <= int(answer.headers["Retry-After"]) <= RETRY_AFTER_MAX_S
    assert not any("Retry-After" in a.headers for a in decided)
    for answer in answers:
        assert_matches_spec("GET", "/v1/booking-requests/{request_id}", answer)
    for request_id in ids:
        wait_decided(stack.api_url, request_id)


class _Refusing:
    def get_queue_attributes(self, **_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueAttributes")


def test_a_queue_that_cannot_be_asked_gives_no_position_rather_than_an_error():
    assert SqsBacklog(_Refusing(), lambda: "https://queue").waiting() is None
