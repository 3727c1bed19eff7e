"""Every accepted request ends, and the person hears of it (issue #10), through HTTP, the pumps and SES."""

from __future__ import annotations

import time
import uuid

import requests

from infra.local.aws import client
from infra.local.pump import QueuePump
from infra.resources import BOOKING_QUEUE
from tests.e2e.test_booking_invariants import new_campaign, request_body, wait_decided

STAGE = "local"


def mails_to(stack, address: str) -> list[str]:
    return [m["raw_data"] for m in stack.sent_mail() if address in m["raw_data"]]


def wait_for_mail(stack, address: str, timeout_s: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while not (found := mails_to(stack, address)) and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


def test_a_request_whose_message_went_to_the_dead_letter_queue_is_rejected_not_processed_and_mailed(stack):
    sqs = client("sqs", stack.aws_url)
    queue, dlq = stack.queue_urls[BOOKING_QUEUE.name(STAGE)], stack.queue_urls[BOOKING_QUEUE.dlq_name(STAGE)]
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    family = f"Dead{uuid.uuid4().hex[:8]}"
    body = request_body(campaign_id, first_id, family)
    stack.pumps["booking_worker"].stop()  # the request waits on the queue, undecided
    try:
        response = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=30)
        request_id = response.json()["request_id"]
        moved = None
        while moved is None:  # as SQS does after maxReceiveCount failed deliveries: to the dead-letter queue
            for message in sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=2
            ).get("Messages", []):
                if request_id in message["Body"]:
                    moved = message
        for _ in range(2):  # delivered twice: still one decision and one mail
            sqs.send_message(QueueUrl=dlq, MessageBody=moved["Body"])
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=moved["ReceiptHandle"])

        state = wait_decided(stack.api_url, request_id)
        assert (state["status"], state["reason"]) == ("rejected", "not_processed")
        address = body["person"]["email"]
        mails = wait_for_mail(stack, address)
        stack.wait_for_idle_queues()
        assert len(mails_to(stack, address)) == 1 and "#/book" in mails[0]  # the link to try again
        assert stack.catalog.slot(campaign_id, "dortmund", first_id).booked == 0  # nothing was booked

        # Asking again is safe: the same body makes a new request, which is decided as usual.
        stack.pumps["booking_worker"] = QueuePump(
            sqs, queue, stack.app_module.booking_worker, "booking_worker", on_error=stack.pump_errors.append
        ).start(2)
        again = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=30).json()["request_id"]
        assert again != request_id
        assert wait_decided(stack.api_url, again)["status"] == "booked"
    finally:
        if stack.pumps["booking_worker"]._stop.is_set():
            stack.pumps["booking_worker"] = QueuePump(
                sqs, queue, stack.app_module.booking_worker, "booking_worker", on_error=stack.pump_errors.append
            ).start(2)


def test_a_rejected_request_gets_exactly_one_mail_with_its_reason_and_a_link_to_try_again(stack):
    campaign_id, first_id, _ = new_campaign(stack, 1, 1)
    taker, late = (
        request_body(campaign_id, first_id, f"Fast{uuid.uuid4().hex[:8]}"),
        request_body(campaign_id, first_id, f"Late{uuid.uuid4().hex[:8]}"),
    )
    states = []
    for body in (taker, late):
        request_id = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=30).json()["request_id"]
        states.append(wait_decided(stack.api_url, request_id))
    assert [s["status"] for s in states] == ["booked", "rejected"]
    mails = wait_for_mail(stack, late["person"]["email"])
    stack.wait_for_idle_queues()
    assert len(mails_to(stack, late["person"]["email"])) == 1
    assert "#/book" in mails[0] and "Terminanfrage" in mails[0]
