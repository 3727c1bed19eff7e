"""Local stand-in for Lambda's SQS event source mapping.

`chalice local` serves HTTP only. The pump long-polls a queue on the local AWS, builds the same SQS event
Lambda would (real message ids, receipt handles, attributes), calls the same handler, and deletes only
the messages the handler did not report in `batchItemFailures`. Failed messages come back after the
visibility timeout and reach the dead-letter queue after maxReceiveCount, as on AWS.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable

from infra.local.aws import REGION


class PumpContext:
    """The parts of a Lambda context that handlers and powertools read."""

    def __init__(self, function_name: str, timeout_s: int, memory_mb: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class QueuePump:
    """Pumps one queue into one handler, at most `concurrency` batches at once, as Lambda's poller does.

    One thread long-polls (WaitTimeSeconds, as the event source mapping's 20 s) while a handler is free, takes up
    to `batch_size` messages and hands the whole batch to a handler thread in one event; messages wait visible on
    the queue while every handler is busy (so they batch up, as under MaximumConcurrency). One long poll per queue,
    not one per handler: moto wakes every waiting poll on each message sent, and each wake-up walks the queue's
    in-flight messages, which cost the local AWS more CPU per booking than the booking's own calls (issue #9).
    Stopping is prompt: `stop()` waits only for batches being handled, not for long polls in flight; a poll that
    returns after the stop gives its messages straight back (visibility 0), so a stopped pump never handles
    anything.
    """

    def __init__(
        self,
        sqs,
        queue_url: str,
        handler: Callable[[dict, PumpContext], object],
        function_name: str,
        batch_size: int = 10,
        timeout_s: int = 10,
        wait_s: int = 20,
        on_error: Callable | None = None,
    ):
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._handler = handler
        self._function_name = function_name
        self._batch_size = batch_size
        self._timeout_s = timeout_s
        self._wait_s = wait_s
        self._on_error = on_error
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._idle = threading.Condition()
        self._free: threading.Semaphore | None = None  # handlers free to take a batch, from start() on
        self._batches: queue.SimpleQueue[list[dict]] = queue.SimpleQueue()  # received, for the handlers
        self.batches = 0

    def start(self, concurrency: int = 1) -> QueuePump:
        self._free = threading.Semaphore(concurrency)
        # Handler threads live as long as the pump: a botocore session per thread is costly (issue #9).
        targets = [(self._run, "poll")] + [(self._serve, f"handler-{n}") for n in range(concurrency)]
        for target, name in targets:
            thread = threading.Thread(target=target, name=f"pump-{self._function_name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def signal_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop taking messages and wait (up to the handler timeout) for the batches being handled."""
        self.signal_stop()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=timeout_s or self._timeout_s + 5)

    def pump_once(self) -> int:
        """Receive one batch and hand it to the handler, in this thread; returns how many messages were received."""
        received = self._receive()
        if not self._begin(received):
            return 0
        self._handle_and_end(received)
        return len(received)

    def _receive(self) -> list[dict]:
        return self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def _begin(self, received: list[dict]) -> bool:
        """Count a received batch as being handled, or give it back if the pump was stopped meanwhile."""
        if not received:
            return False
        with self._idle:
            stopped = self._stop.is_set()
            if not stopped:
                self._busy += 1
        if stopped:
            self._give_back(received)
        return not stopped

    def _handle_and_end(self, received: list[dict]) -> None:
        try:
            self._handle(received)
        finally:
            with self._idle:
                self._busy -= 1
                self.batches += 1
                self._idle.notify_all()

    def _handle(self, received: list[dict]) -> None:
        failed: set[str] = {m["MessageId"] for m in received}
        try:
            result = self._handler(
                sqs_event(received, self._queue_arn), PumpContext(self._function_name, self._timeout_s)
            )
            reported = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
            failed = {f["itemIdentifier"] for f in reported}
        except Exception as error:  # as in Lambda: a crashed invocation fails the whole batch
            if self._on_error:
                self._on_error(error)
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def _give_back(self, received: list[dict]) -> None:
        self._sqs.change_message_visibility_batch(
            QueueUrl=self._queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(received)
            ],
        )

    def _run(self) -> None:
        assert self._free is not None
        while not self._stop.is_set():
            if not self._free.acquire(timeout=0.5):  # every handler busy: leave the messages on the queue
                continue
            try:
                received = self._receive()
                if self._begin(received):
                    self._batches.put(received)  # a free handler takes it; the poll goes on at once
                    continue
                self._free.release()
            except Exception as error:
                self._free.release()
                if self._stop.is_set():
                    return  # the local AWS went away with the stack: nothing to report
                if self._on_error:  # the local AWS hiccuped: keep pumping
                    self._on_error(error)
                self._stop.wait(0.5)

    def _serve(self) -> None:
        assert self._free is not None
        while not self._stop.is_set() or self._busy:
            try:
                received = self._batches.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._handle_and_end(received)
            finally:
                self._free.release()
