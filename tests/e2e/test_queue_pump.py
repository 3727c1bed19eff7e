"""The local stand-in for Lambda's SQS poller: batches, partial failures, long polls, a prompt stop."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from infra.local.aws import client
from infra.local.pump import QueuePump


def fresh_queue(stack) -> tuple[Any, str]:
    sqs = client("sqs", stack.aws_url)
    url = sqs.create_queue(QueueName=f"pump-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    return sqs, url


def depth(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_the_pump_hands_a_whole_batch_to_the_handler_and_keeps_only_the_reported_failures(stack):
    sqs, url = fresh_queue(stack)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(10)])
    events = []

    def handler(event, context):
        events.append(event)
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "m3"]
        }

    pump = QueuePump(sqs, url, handler, "test_worker", batch_size=10, wait_s=1)
    assert pump.pump_once() == 10
    assert len(events) == 1 and len(events[0]["Records"]) == 10
    assert depth(sqs, url) == 1  # only the reported failure stays, for a retry after its visibility timeout


def test_a_stopped_pump_returns_at_once_from_its_long_poll_and_handles_nothing_more(stack):
    sqs, url = fresh_queue(stack)
    handled = []
    pump = QueuePump(sqs, url, lambda event, context: handled.extend(event["Records"]), "test_worker", wait_s=20).start(
        2
    )
    time.sleep(1)  # both threads are in their 20 s long poll now
    started = time.monotonic()
    pump.stop()
    assert time.monotonic() - started < 2

    sqs.send_message(QueueUrl=url, MessageBody="after the stop")
    time.sleep(1)  # the long polls in flight see the message, and give it back
    assert handled == []
    seen = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in seen] == ["after the stop"]


def test_one_poll_feeds_at_most_concurrency_handlers_at_once_and_every_message_is_handled(stack):
    sqs, url = fresh_queue(stack)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(6)])
    lock = threading.Lock()
    together = threading.Barrier(3, timeout=5)  # passes only when three batches are handled at the same time
    running, most = [0], [0]
    handled: list[str] = []

    def handler(event, context):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        together.wait()
        with lock:
            running[0] -= 1
            handled.extend(r["body"] for r in event["Records"])

    pump = QueuePump(sqs, url, handler, "test_worker", batch_size=1, wait_s=1).start(3)
    deadline = time.monotonic() + 15
    while len(handled) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    pump.stop()
    assert sorted(handled) == [f"m{n}" for n in range(6)]
    assert most[0] == 3  # side by side, never more than the pump's concurrency
    assert depth(sqs, url) == 0
