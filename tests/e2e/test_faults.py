"""Faults injected at the botocore level into the running stack: throttling, transaction conflicts, internal
errors and timeouts on a share of the app's DynamoDB, SQS and SES calls, while people book over HTTP.

moto never throttles, never reports a TransactionConflict and never times out (docs/local-aws notes), so a
botocore `before-send` hook answers a share of calls itself, before anything is sent: botocore's retries, the
adapter's conflict retry and the workers' redelivery see the same responses AWS would give. The hook goes into
`botocore.handlers.BUILTIN_HANDLERS` when this module is imported (pytest imports every test module before the
session's stack starts), so every session the app builds carries it, as infra/local/callcount.py does for its
counter. It does nothing unless a test switches it on with the `faults` fixture, and even then only on calls
made by the app's own threads (`api-…`, `pump-…`) to the stack's local AWS: the tests' own reads, other tests
and the pumps' receive/delete calls (they stand for Lambda's event source mapping, which is AWS's side) are
never touched. Figures of the last run: docs/reliability.md.
"""

from __future__ import annotations

import base64
import collections
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import boto3
import botocore.handlers
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from infra.local.aws import client
from infra.local.callcount import APP_ROLES
from infra.local.pump import PumpContext, QueuePump, sqs_event
from infra.resources import BOOKING_QUEUE, BOOKING_TABLE, NOTIFY_QUEUE
from tests.e2e.test_booking_invariants import (
    mails_mentioning,
    new_campaign,
    request_body,
    slot_counts,
    table_items,
    wait_decided,
)

SHARE = 0.15  # of the app's DynamoDB, SQS and SES calls that fail (each attempt, retries included)
FORCE_AT = 4
# What a failing call gets, by weight. A conflict only exists for transactions; other calls get throttled then.
KINDS = {"throttle": 3, "internal": 2, "read_timeout": 1, "connect_timeout": 1, "conflict": 2}
# The pump's own calls stand for Lambda's event source mapping, not the app: left alone.
PUMP_OPERATIONS = {"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch", "GetQueueAttributes"}
# Failed records come back after the queue's visibility timeout (180 s in infra/resources.py); shortened while
# the faults run so that a redelivery happens within the test's bound, and restored afterwards.
TEST_VISIBILITY_S = 8
DECISION_BOUND_S = 60

_THROTTLE_CODES = {"dynamodb": "ProvisionedThroughputExceededException", "sqs": "RequestThrottled", "ses": "Throttling"}
_INTERNAL_CODES = {"dynamodb": "InternalServerError", "sqs": "InternalError", "ses": "InternalFailure"}


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body


def _error(service: str, status: int, code: str, message: str, extra: dict | None = None) -> AWSResponse:
    """The error response the service's protocol would carry (JSON 1.0 for DynamoDB and SQS, query/XML for SES)."""
    request_id = uuid.uuid4().hex
    if service == "ses":
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "text/xml"}
    else:
        prefix = "com.amazonaws.dynamodb.v20120810" if service == "dynamodb" else "com.amazonaws.sqs"
        body = json.dumps({"__type": f"{prefix}#{code}", "message": message, **(extra or {})}).encode()
        headers = {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"}
        if service == "sqs":  # SQS speaks JSON but keeps its query-era error codes in this header
            headers["x-amzn-query-error"] = f"{code};{'Receiver' if status >= 500 else 'Sender'}"
    return AWSResponse("https://faults.local/", status, headers, _Body(body))


@dataclass
class FaultInjector:
    aws_url: str
    share: float
    services: frozenset[str] = frozenset({"dynamodb", "sqs", "ses"})
    kinds: dict[str, int] = field(default_factory=lambda: dict(KINDS))
    operations: frozenset[str] | None = None  # only these operations, if given
    roles: tuple[str, ...] = APP_ROLES  # only calls from these threads (see infra/local/callcount.py)
    seed: int = 10
    seen: collections.Counter = field(default_factory=collections.Counter)  # (service, operation) → attempts
    injected: collections.Counter = field(default_factory=collections.Counter)  # (service, kind) → faults

    def __post_init__(self):
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._faulted: set[tuple[str, str]] = set()

    def __call__(self, request, event_name: str, **_):
        _event, service, operation = event_name.split(".", 2)
        service = service.lower()
        if (
            service not in self.services
            or operation in PUMP_OPERATIONS
            or (self.operations is not None and operation not in self.operations)
            or threading.current_thread().name.split("-", 1)[0] not in self.roles
            or not request.url.startswith(self.aws_url)
        ):
            return None
        with self._lock:
            self.seen[(service, operation)] += 1
            # Random, plus a forced fault from the FORCE_AT-th call of an operation that has not failed yet (of a
            # transaction: that has not conflicted yet): every path meets a fault in every run, however the dice fall.
            path = (service, "conflict" if operation == "TransactWriteItems" else operation)
            forced = self.seen[(service, operation)] >= FORCE_AT and path not in self._faulted
            if not forced and self._random.random() >= self.share:
                return None
            kind = self._random.choices(list(self.kinds), weights=list(self.kinds.values()))[0]
            if operation == "TransactWriteItems" and forced and "conflict" in self.kinds:
                kind = "conflict"
            if kind == "conflict" and operation != "TransactWriteItems":
                kind = "throttle" if "throttle" in self.kinds else "internal"
            if kind == "conflict" or operation != "TransactWriteItems":
                self._faulted.add(path)
            self.injected[(service, kind)] += 1
        if kind == "read_timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind == "connect_timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        if kind == "internal":
            return _error(service, 500, _INTERNAL_CODES[service], "We encountered an internal error.")
        if kind == "conflict":
            items = len(json.loads(request.body or b"{}").get("TransactItems", []))
            reasons = [{"Code": "None"}] * (items - 1) + [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            ]
            return _error(
                service,
                400,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons",
                {"CancellationReasons": reasons},
            )
        return _error(service, 400, _THROTTLE_CODES[service], "Rate exceeded")


class _Switch:
    """The one hook in every botocore session; it asks whoever is switched on (nobody, outside these tests)."""

    injector: FaultInjector | None = None

    def __call__(self, request, event_name: str, **kwargs):
        injector = self.injector
        return None if injector is None else injector(request, event_name=event_name, **kwargs)


_SWITCH = _Switch()
botocore.handlers.BUILTIN_HANDLERS.append(("before-send", _SWITCH))
if boto3.DEFAULT_SESSION is not None:  # built before this import: it lacks the built-in hook
    boto3.DEFAULT_SESSION.events.register("before-send", _SWITCH)


@pytest.fixture()
def faults(stack):
    """Switch faults on (`start(...)`) for this test only; always off, with the queues restored, afterwards."""
    sqs = client("sqs", stack.aws_url)
    urls = [stack.queue_urls[q.name("local")] for q in (BOOKING_QUEUE, NOTIFY_QUEUE)]
    before = {u: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["VisibilityTimeout"])["Attributes"] for u in urls}
    for url in urls:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(TEST_VISIBILITY_S)})

    def start(**kwargs) -> FaultInjector:
        _SWITCH.injector = FaultInjector(stack.aws_url, **kwargs)
        return _SWITCH.injector

    try:
        yield start
    finally:
        _SWITCH.injector = None
        for url, attributes in before.items():
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)


@dataclass
class Client:
    """A well-behaved HTTP client: retries a 503 after its Retry-After (a few times), records every answer."""

    api_url: str
    answers: collections.Counter = field(default_factory=collections.Counter)
    bare_5xx: list = field(default_factory=list)  # (status, body) of 5xx answers without Retry-After
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, method: str, path: str, tries: int = 6, **kwargs) -> requests.Response:
        for _ in range(tries):
            response = requests.request(method, self.api_url + path, timeout=60, **kwargs)
            with self._lock:
                self.answers[response.status_code] += 1
                if response.status_code >= 500 and "Retry-After" not in response.headers:
                    self.bare_5xx.append((response.status_code, response.text[:200]))
            if response.status_code != 503 or "Retry-After" not in response.headers:
                return response
            time.sleep(min(float(response.headers["Retry-After"]), 2.0))  # the bound keeps the test short
        return response


def test_bookings_under_throttling_conflicts_internal_errors_and_timeouts_keep_every_invariant(stack, faults):
    campaign_id, first_id, second_id = new_campaign(stack, 12, 12)
    people = [f"Fault{n:02d}{uuid.uuid4().hex[:4]}" for n in range(30)]
    families = people + people[:6]  # six people ask twice: one booking each at most
    http = Client(stack.api_url)
    injector = faults(share=SHARE)

    def submit(family: str):
        response = http.call(
            "post",
            "/v1/booking-requests",
            json=request_body(campaign_id, first_id, family),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return family, response.status_code, response.json().get("request_id"), time.monotonic()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        submitted = list(pool.map(submit, families))
    assert {status for _, status, _, _ in submitted} <= {202, 503}, collections.Counter(s for _, s, _, _ in submitted)
    accepted = {rid: (family, at) for family, status, rid, at in submitted if status == 202}

    decided: dict[str, dict] = {}
    decision_s: list[float] = []
    while len(decided) < len(accepted):
        for rid in [r for r in accepted if r not in decided]:
            response = http.call("get", f"/v1/booking-requests/{rid}")
            if response.status_code == 200 and response.json()["status"] != "queued":
                decided[rid] = response.json()
                decision_s.append(time.monotonic() - accepted[rid][1])
        slowest_pending = max((time.monotonic() - at for r, (_, at) in accepted.items() if r not in decided), default=0)
        assert slowest_pending < DECISION_BOUND_S, f"{len(accepted) - len(decided)} requests undecided"
        time.sleep(0.3)
    stack.wait_for_idle_queues(timeout_s=DECISION_BOUND_S)  # the mails, with faults still on
    faults_seen = sum(injector.injected.values())
    _SWITCH.injector = None

    assert http.bare_5xx == []
    booked = {rid: s for rid, s in decided.items() if s["status"] == "booked"}
    rejected = {rid: s for rid, s in decided.items() if s["status"] == "rejected"}
    assert len(booked) + len(rejected) == len(accepted)
    distinct_accepted = {family for family, _ in accepted.values()}
    assert len(booked) == min(12, len(distinct_accepted))  # faults cost no seat and invent none
    per_person = collections.Counter(accepted[rid][0] for rid in booked)
    assert max(per_person.values()) == 1
    assert slot_counts(stack, campaign_id, first_id) == (len(booked), 12)
    assert slot_counts(stack, campaign_id, second_id) == (len(booked), 12)
    items = [i for i in table_items(stack, "BOOKING#") if i["campaign_id"]["S"] == campaign_id]
    assert len(items) == len(booked) and all(i["status"]["S"] == "active" and "second_slot_id" in i for i in items)
    for state in booked.values():
        assert state["booking"]["second"]["slot_id"] == second_id
        assert len(mails_mentioning(stack, state["booking"]["code"])) == 1
    for service in ("dynamodb", "sqs", "ses"):  # the hook reached every kind of client the app uses
        assert sum(n for (s, _), n in injector.injected.items() if s == service) > 0, injector.injected
    assert injector.injected[("dynamodb", "conflict")] > 0

    print(
        f"\nfaults: requests={len(families)} accepted={len(accepted)} booked={len(booked)} "
        f"rejected={len(rejected)} answers={dict(http.answers)} calls={sum(injector.seen.values())} "
        f"faults={faults_seen} by_kind={dict(injector.injected)} max_decision_s={max(decision_s):.1f} "
        f"median_decision_s={sorted(decision_s)[len(decision_s) // 2]:.1f} "
        f"total_s={time.monotonic() - started:.1f} pump_errors={len(stack.pump_errors)}"
    )


def test_a_table_that_keeps_failing_gets_a_503_with_retry_after_after_a_bounded_number_of_attempts(stack, faults):
    http = Client(stack.api_url)
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    request_id = http.call(
        "post", "/v1/booking-requests", json=request_body(campaign_id, first_id, f"Down{uuid.uuid4().hex[:6]}")
    ).json()["request_id"]
    wait_decided(stack.api_url, request_id)  # no worker busy with it: the API's read is the only call
    injector = faults(share=1.0, services=frozenset({"dynamodb"}), kinds={"throttle": 1}, roles=("api",))
    response = http.call("get", f"/v1/booking-requests/{request_id}", tries=1)
    _SWITCH.injector = None
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json()["error"]["code"] == "service_unavailable"
    # One logical read, retried by the SDK a bounded number of times (PynamoDB: standard mode, 1 + 3 attempts,
    # exponential backoff with full jitter).
    assert injector.seen == {("dynamodb", "GetItem"): 4}, injector.seen


def test_a_transaction_that_keeps_conflicting_is_retried_a_bounded_number_of_times_then_redelivered(stack, faults):
    from chalicelib.booking.storage.bookings import CONFLICT_RETRIES

    http = Client(stack.api_url)
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    # Only the worker's transactions (accepting a request is a transaction too: its claim and the request).
    injector = faults(
        share=1.0,
        services=frozenset({"dynamodb"}),
        kinds={"conflict": 1},
        operations=frozenset({"TransactWriteItems"}),
        roles=("pump",),
    )
    request_id = http.call(
        "post", "/v1/booking-requests", json=request_body(campaign_id, first_id, f"Busy{uuid.uuid4().hex[:6]}")
    ).json()["request_id"]
    deadline = time.monotonic() + 20
    while injector.seen[("dynamodb", "TransactWriteItems")] < CONFLICT_RETRIES + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # long enough for a retry loop without a bound to show itself
    attempts = injector.seen[("dynamodb", "TransactWriteItems")]
    _SWITCH.injector = None
    # One delivery: the adapter's tries, no SDK retries on a cancelled transaction (the failed request is
    # redelivered only after the shortened visibility timeout).
    assert attempts == CONFLICT_RETRIES + 1
    state = http.call("get", f"/v1/booking-requests/{request_id}").json()
    assert state["status"] == "queued"
    deadline = time.monotonic() + DECISION_BOUND_S
    while state["status"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.5)
        state = http.call("get", f"/v1/booking-requests/{request_id}").json()
    assert state["status"] == "booked"
    assert slot_counts(stack, campaign_id, first_id) == (1, 2)


@dataclass
class SlowSendTo:
    """Holds the app's first SendRawEmail to `recipient` for `delay_s` (then lets it through): a sender still busy
    when its queue message comes back. Other mail passes at once."""

    aws_url: str
    recipient: str
    delay_s: float
    held: int = 0

    def __call__(self, request, event_name: str, **_):
        if not event_name.endswith("SendRawEmail") or not request.url.startswith(self.aws_url):
            return None
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        raw = base64.b64decode(parse_qs(body).get("RawMessage.Data", [""])[0])
        if f"To: {self.recipient}".encode() in raw and self.held == 0:
            self.held += 1
            time.sleep(self.delay_s)
        return None


def test_a_confirmation_still_being_sent_when_its_message_comes_back_is_sent_once(stack, faults):
    sqs = client("sqs", stack.aws_url)
    booking_queue = stack.queue_urls[BOOKING_QUEUE.name("local")]
    mail_queue = stack.queue_urls[NOTIFY_QUEUE.name("local")]
    campaign_id, first_id, _ = new_campaign(stack, 3, 3)
    family = f"Slow{uuid.uuid4().hex[:6]}"
    slow = SlowSendTo(stack.aws_url, recipient=f"{family.lower()}@example.org", delay_s=6)
    _SWITCH.injector = slow  # type: ignore[assignment]

    def book(family: str) -> str:
        body = request_body(campaign_id, first_id, family)
        response = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=30)
        return response.json()["request_id"]

    sqs.set_queue_attributes(QueueUrl=booking_queue, Attributes={"VisibilityTimeout": "2"})  # restored by `faults`
    # A poll in flight took the queue's visibility when it began: one booking first, so that the next poll has 2 s.
    wait_decided(stack.api_url, book(f"Primer{uuid.uuid4().hex[:6]}"))
    stack.pumps["mail_worker"].stop()  # keep what the second copy queues, to hand it to the mail worker below
    try:
        code = wait_decided(stack.api_url, book(family))["booking"]["code"]
        # Visible again after 2 s while its mail is held for 6 s. moto's poll sees it within a second.
        queued: list[dict] = []
        deadline = time.monotonic() + 20
        while not queued and time.monotonic() < deadline:  # the second copy met the claim and queued the mail
            received = sqs.receive_message(QueueUrl=mail_queue, WaitTimeSeconds=1, VisibilityTimeout=30)
            queued = [m for m in received.get("Messages", []) if code in m["Body"]]
        assert queued, f"no second copy met the claim; held {slow.held}, mails: {len(mails_mentioning(stack, code))}"
        dynamodb = client("dynamodb", stack.aws_url)
        marker = {"pk": {"S": f"MAIL#booking_confirmed:{code}"}, "sk": {"S": "MAIL"}}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the first copy's send returns and settles the claim
            item = dynamodb.get_item(TableName=BOOKING_TABLE.name("local"), Key=marker, ConsistentRead=True)
            if item.get("Item", {}).get("state", {}).get("S") == "settled":
                break
            time.sleep(0.2)
        arn = sqs.get_queue_attributes(QueueUrl=mail_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.app_module.mail_worker(sqs_event(queued, arn), PumpContext("mail_worker", 10))  # settled: not sent
        assert len(mails_mentioning(stack, code)) == 1
    finally:
        _SWITCH.injector = None
        stack.pumps["mail_worker"] = QueuePump(
            sqs, mail_queue, stack.app_module.mail_worker, "mail_worker", on_error=stack.pump_errors.append
        ).start()
