"""AWS calls per booking, end to end (HTTP → queue → worker → transaction → mail), counted at botocore.

Issue #9's goal: at most 8. Every call the in-process API and the queue pumps make is counted, by wrapping
botocore's one entry point for an API call (`BaseClient._make_api_call`) for the test's duration: the stack's
clients exist already (boto3's, PynamoDB's per-thread ones and the pumps'), and a `before-send` hook is
copied into a client only when it is built. Calls from the test's own thread (polling queue depths) are not
the app's, and neither is a receive that found nothing: that is the poller's idle cost (on AWS, Lambda's
event source mapping polls whether or not anyone books), not a booking's.
"""

from __future__ import annotations

import collections
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import botocore.client
import pytest
import requests

from tests.e2e.test_booking_invariants import new_campaign, request_body, wait_decided

BOOKINGS = 12
CALLS_PER_BOOKING_GOAL = 8


class CallCount:
    def __init__(self):
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._test_thread = threading.current_thread()

    def note(self, service: str, operation: str, response: dict) -> None:
        if threading.current_thread() is self._test_thread:
            return
        if operation == "ReceiveMessage" and not response.get("Messages"):
            return
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@pytest.fixture
def counted(monkeypatch):
    count = CallCount()
    original = botocore.client.BaseClient._make_api_call

    def counting(client, operation_name, api_params):
        response = original(client, operation_name, api_params)
        count.note(client.meta.service_model.service_name, operation_name, response)
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return count


def test_a_booking_costs_at_most_eight_aws_calls_end_to_end(stack, counted):
    def submit(body: dict) -> str:
        response = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=60)
        assert response.status_code == 202, response.text
        return response.json()["request_id"]

    campaign_id, first_id, _ = new_campaign(stack, BOOKINGS + 1, BOOKINGS + 1)
    bodies = [request_body(campaign_id, first_id, f"Count{uuid.uuid4().hex[:8]}") for _ in range(BOOKINGS + 1)]
    # Warm up (as `make bench` does): one booking builds the clients, services and catalogue copies that
    # every later one shares.
    wait_decided(stack.api_url, submit(bodies.pop()))
    stack.wait_for_idle_queues()
    counted.calls.clear()

    with ThreadPoolExecutor(4) as pool:
        request_ids = list(pool.map(submit, bodies))
    stack.wait_for_idle_queues(timeout_s=120)  # from this thread: not counted
    calls = counted.calls.copy()  # before the status polls below, which are the client's reads

    states = [wait_decided(stack.api_url, i) for i in request_ids]
    codes = [s["booking"]["code"] for s in states if s["status"] == "booked"]
    assert len(codes) == BOOKINGS  # all the way through, so every call of a booking was made
    assert all(len([m for m in stack.sent_mail() if c in m["raw_data"]]) == 1 for c in codes)
    assert calls["ses.SendRawEmail"] == BOOKINGS  # the counter sees every client, mail included
    per_booking = sum(calls.values()) / BOOKINGS
    assert per_booking <= CALLS_PER_BOOKING_GOAL, f"{per_booking:.1f} calls per booking: {dict(calls)}"
    print(f"{per_booking:.2f} AWS calls per booking: {dict(calls.most_common())}")
