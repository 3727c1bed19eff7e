"""`make bench`: the goals of issue #9, measured in one run of the local stack; writes docs/benchmarks.md.

Every figure is a ratio against what the same local AWS does for bare boto3 calls in the same run, so the
machine and moto's own speed cancel out:

* P1: bookings decided per second end to end (HTTP → queue → worker → transaction → mail queue → SES),
  against the bare call sequence of one booking driven straight by boto3, both from 16 clients;
* P2: availability p95 under 16 clients, against the p95 of a raw Query of the same slots;
* AWS calls per booking, counted by a botocore hook (infra/local/callcount.py);
* a burst of 400 simultaneous clients: connection errors, answers, and whether every accepted one is decided.

Figures are for moto's server patched by infra/local/moto_server.py on this machine, not for AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock
from importlib.metadata import version
from pathlib import Path

import requests

from chalicelib.booking import domain as d
from infra.local.aws import client
from infra.local.burst import burst, burst_body, wait_until_decided
from infra.local.run import quiet_expected_warnings
from infra.local.seed import write_new_slots
from infra.local.stack import ROOT, STAGE, LocalStack, free_port, wait_until_up
from infra.resources import BOOKING_TABLE

OUT = ROOT / "docs" / "benchmarks.md"
GOAL_P1 = 0.8  # end-to-end rate ≥ 0.8 × the bare call sequence's
GOAL_P2 = 1.0  # availability p95 ≤ 1 × a raw Query's p95
GOAL_CALLS = 8  # AWS calls per booking
_started = time.perf_counter()


def progress(message: str) -> None:
    print(f"[bench {time.perf_counter() - _started:6.1f} s] {message}", file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of this process (API, pumps and the bench's clients) and of the local AWS over a phase."""

    def __init__(self, stack: LocalStack):
        assert stack._moto is not None  # started by LocalStack.start()
        self._pids = (os.getpid(), stack._moto.pid)
        self._start = (0.0, 0.0)

    def __enter__(self) -> CpuMeter:
        self._start = tuple(cpu_s(pid) for pid in self._pids)  # type: ignore[assignment]
        return self

    def __exit__(self, *_) -> None:
        self.app_s, self.aws_s = (cpu_s(pid) - start for pid, start in zip(self._pids, self._start, strict=True))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed_calls(calls: int, threads: int, call) -> tuple[float, list[float]]:
    """Run `call(n)` `calls` times from `threads` threads; returns (seconds, latency of each call)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        started = time.perf_counter()
        call(n)
        with lock:
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads, thread_name_prefix="bench") as pool:
        list(pool.map(one, range(calls)))
    return time.perf_counter() - started, latencies


def bench_campaign(stack: LocalStack, pairs: int) -> tuple[str, list[str]]:
    """A campaign of its own at Dortmund with room for `pairs` bookings, 10 per first-dose slot."""
    campaign_id = f"bench-{uuid.uuid4().hex[:6]}"
    now = datetime.now(d.LOCAL_TZ)
    assert stack.catalog is not None  # set by LocalStack.start()
    stack.catalog.add_campaign(
        d.Campaign(
            campaign_id,
            "Bench",
            "comirnaty",
            2,
            21,
            42,
            frozenset({"westfalen-lippe"}),
            ("dortmund",),
            opens_at=now - timedelta(hours=1),
            born_on_or_before=date(1940, 12, 31),
        )
    )
    firsts, released = [], []
    for n in range(max(1, pairs // 10)):
        start = datetime.combine(date.today() + timedelta(days=2 + n // 8), clock(8 + n % 8), d.LOCAL_TZ)
        for s in (start, start + timedelta(days=21)):
            released.append(d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), 10))
        firsts.append(d.slot_id_for(start))
    write_new_slots(released)
    return campaign_id, firsts


# --- P1: the app end to end, and the bare call sequence of a booking -------------------------------------


def booking_path(stack: LocalStack, bookings: int, threads: int) -> dict:
    campaign_id, firsts = bench_campaign(stack, bookings)
    local = threading.local()

    def submit(n: int) -> None:
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        response = http.post(
            f"{stack.api_url}/v1/booking-requests", json=burst_body(campaign_id, firsts[n % len(firsts)]), timeout=120
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["request_id"])

    ids: list[str] = []
    stack.wait_for_idle_queues(timeout_s=300)
    assert stack.calls is not None  # set by LocalStack.start()
    before = stack.calls.snapshot()
    started = time.perf_counter()
    accepted_s, latencies = timed_calls(bookings, threads, submit)
    stack.wait_for_idle_queues(timeout_s=900)  # the last mail is sent and its message deleted
    seconds = time.perf_counter() - started
    calls = stack.calls.snapshot() - before
    with requests.Session() as http:
        statuses = [http.get(f"{stack.api_url}/v1/booking-requests/{i}", timeout=30).json()["status"] for i in ids]
    decided = statuses.count("booked") + statuses.count("rejected")
    return {
        "bookings": bookings,
        "seconds": seconds,
        "decided_rps": decided / seconds,
        "accept_rps": bookings / accepted_s,
        "accept_p95_ms": percentile(latencies, 95) * 1000,
        "booked": statuses.count("booked"),
        "rejected": statuses.count("rejected"),
        "queued": statuses.count("queued"),
        "calls_per_booking": stack.calls.app_calls(calls) / bookings,
        "by_operation": {op: n / bookings for op, n in stack.calls.by_operation(calls).most_common()},
    }


class BareBooking:
    """The AWS calls a booking cannot avoid, straight from boto3, on queues and items of its own:
    put the request, send, receive, one transaction (as many items as the app's), send the mail message,
    delete, receive, send the mail, delete."""

    CALLS = 9

    def __init__(self, aws_url: str, transaction_items: int, sender: str):
        self._db, self._sqs, self._ses = (client(s, aws_url) for s in ("dynamodb", "sqs", "ses"))
        self._table = BOOKING_TABLE.name(STAGE)
        self._items = transaction_items
        self._sender = sender
        suffix = uuid.uuid4().hex[:6]
        self._requests = self._sqs.create_queue(QueueName=f"bench-requests-{suffix}")["QueueUrl"]
        self._mail = self._sqs.create_queue(QueueName=f"bench-mail-{suffix}")["QueueUrl"]
        self._slots = [f"slot{n}" for n in range(2)]
        for sk in self._slots:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": "BENCH#SLOTS"},
                    "sk": {"S": sk},
                    "capacity": {"N": "1000000000"},
                    "booked": {"N": "0"},
                },
            )

    def _transaction(self, request_id: str) -> list[dict]:
        ref = lambda pk, sk: {"TableName": self._table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}  # noqa: E731
        items = [
            {
                "Update": {
                    **ref("BENCH#SLOTS", sk),
                    "UpdateExpression": "ADD booked :one",
                    "ConditionExpression": "booked < #capacity",
                    "ExpressionAttributeNames": {"#capacity": "capacity"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            for sk in self._slots
        ]
        items.append(
            {
                "Update": {
                    **ref(f"BENCH#REQUEST#{request_id}", "REQUEST"),
                    "UpdateExpression": "SET #s = :booked",
                    "ConditionExpression": "#s = :queued",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":booked": {"S": "booked"}, ":queued": {"S": "queued"}},
                }
            }
        )
        while len(items) < self._items:  # the booking and the person lock, as new items
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "Item": {
                            "pk": {"S": f"BENCH#{uuid.uuid4().hex}"},
                            "sk": {"S": "ITEM"},
                            "request_id": {"S": request_id},
                            "given_name": {"S": "Bench"},
                        },
                    }
                }
            )
        return items[: self._items]

    def _receive(self, queue_url: str) -> dict:
        while True:
            messages = self._sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20).get(
                "Messages", []
            )
            if messages:
                return messages[0]

    def one(self, _: int) -> None:
        request_id = uuid.uuid4().hex
        self._db.put_item(
            TableName=self._table,
            ConditionExpression="attribute_not_exists(pk)",
            Item={
                "pk": {"S": f"BENCH#REQUEST#{request_id}"},
                "sk": {"S": "REQUEST"},
                "status": {"S": "queued"},
                "campaign_id": {"S": "bench"},
            },
        )
        self._sqs.send_message(QueueUrl=self._requests, MessageBody=json.dumps({"request_id": request_id}))
        # Another client's message may come first: handle whichever arrives, as a worker does.
        message = self._receive(self._requests)
        received_id = json.loads(message["Body"])["request_id"]
        self._db.transact_write_items(TransactItems=self._transaction(received_id))
        self._sqs.send_message(QueueUrl=self._mail, MessageBody=json.dumps({"request_id": received_id}))
        self._sqs.delete_message(QueueUrl=self._requests, ReceiptHandle=message["ReceiptHandle"])
        mail = self._receive(self._mail)
        self._ses.send_raw_email(
            Source=self._sender,
            Destinations=["bench@example.org"],
            RawMessage={
                "Data": f"From: {self._sender}\r\nTo: bench@example.org\r\nSubject: Termin\r\n\r\n{mail['Body']}\r\n"
            },
        )
        self._sqs.delete_message(QueueUrl=self._mail, ReceiptHandle=mail["ReceiptHandle"])


def bare_sequence(bare: BareBooking, bookings: int, threads: int) -> dict:
    seconds, _ = timed_calls(bookings, threads, bare.one)
    return {"bookings": bookings, "seconds": seconds, "rps": bookings / seconds}


# --- P2: availability against a raw Query of the same slots -------------------------------------------

AVAILABILITY = "/v1/centers/dortmund/availability?campaign=80plus-comirnaty&days=28"


def availability(stack: LocalStack, calls: int, threads: int) -> dict:
    local = threading.local()

    def call(_: int) -> None:
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        http.get(stack.api_url + AVAILABILITY, timeout=120).raise_for_status()

    seconds, latencies = timed_calls(calls, threads, call)
    return {
        "calls": calls,
        "rps": calls / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def raw_query(stack: LocalStack, calls: int, threads: int) -> dict:
    """The slots the availability route reads (Dortmund's demo slots), by one paginated Query, as it does."""
    db = client("dynamodb", stack.aws_url)
    items = []

    def call(_: int) -> None:
        kwargs = {
            "TableName": BOOKING_TABLE.name(STAGE),
            "KeyConditionExpression": "pk = :p",
            "ConsistentRead": True,
            "ExpressionAttributeValues": {":p": {"S": "SLOTS#80plus-comirnaty#dortmund"}},
        }
        got = []
        while True:
            page = db.query(**kwargs)
            got += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items.append(len(got))

    seconds, latencies = timed_calls(calls, threads, call)
    return {
        "calls": calls,
        "items": items[0],
        "rps": calls / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


# --- why the launcher ------------------------------------------------------------------------------------


def transactions_per_second(module: str, items: int, transactions: int, threads: int) -> float:
    """Transactions/s of `module`'s server on a table of `items` items: stock moto vs the launcher."""
    port = free_port()
    args = ["-p", str(port)] if module == "moto.server" else ["--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/moto-api/")
        db = client("dynamodb", url)
        db.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        for start in range(0, items, 25):
            db.batch_write_item(
                RequestItems={
                    "t": [
                        {"PutRequest": {"Item": {"pk": {"S": f"i{n}"}, "n": {"N": "0"}}}}
                        for n in range(start, min(items, start + 25))
                    ]
                }
            )

        def transact(n: int) -> None:
            db.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": {"pk": {"S": f"i{(n * 2 + k) % items}"}},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                    for k in range(2)
                ]
            )

        seconds, _ = timed_calls(transactions, threads, transact)
        return transactions / seconds
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- the report --------------------------------------------------------------------------------------------


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "versions": ", ".join(f"{p} {version(p)}" for p in ("moto", "boto3", "botocore", "pynamodb", "chalice")),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(
    args,
    m: dict,
    max_in_flight: int,
    admission_wait_s: float,
    load_start,
    load_end,
    p1_app,
    p1_bare,
    tx_items,
    p2_app,
    p2_raw,
    b,
    tx,
) -> str:
    p1 = p1_app["decided_rps"] / p1_bare["rps"]
    p2 = p2_app["p95_ms"] / p2_raw["p95_ms"]
    calls = p1_app["calls_per_booking"]
    burst_ok = not b.connection_errors and not b.unexpected and not b.undecided
    answers = ", ".join(f"{n} × {code}" for code, n in sorted(b.statuses.items()))
    operations = ", ".join(f"{op} {n:.1f}" for op, n in p1_app["by_operation"].items())
    load = lambda values: " / ".join(f"{v:.2f}" for v in values)  # noqa: E731
    per_booking = lambda r: (  # noqa: E731
        f"{1000 * r['cpu'].app_s / r['bookings']:.0f} ms / {1000 * r['cpu'].aws_s / r['bookings']:.0f} ms"
    )
    return f"""# Benchmarks

Produced by `make bench` (`python -m infra.bench --bookings {args.bookings} --threads {args.threads}
--availability {args.availability} --burst {args.burst}`) on {date.today().isoformat()}, in one run of the local
stack, after a warm-up of every path.

Machine: {m["cores"]} cores ({m["cpu"]}), CPython {m["python"]}; {m["versions"]}.
Load average (1 / 5 / 15 min): {load(load_start)} at the start, {load(load_end)} at the end.

Every figure is for the **local stack on moto's server patched by `infra/local/moto_server.py`** (one lock
around DynamoDB, item-level rollback), with clients, API, pumps and moto sharing the same cores. The goals
are ratios against bare boto3 calls to the same server in the same run, so they compare vaxslot with its
own unavoidable AWS calls, not with AWS.

## Goals (issue #9)

| goal | measured | target | |
|---|---|---|---|
| P1: decided bookings/s end to end ÷ bare call sequence/s ({args.threads} clients each) | **{p1:.2f}** ({p1_app["decided_rps"]:.1f} ÷ {p1_bare["rps"]:.1f}) | ≥ {GOAL_P1} | {verdict(p1 >= GOAL_P1)} |
| P2: availability p95 ÷ raw Query p95 ({args.threads} clients each) | **{p2:.2f}** ({p2_app["p95_ms"]:.0f} ms ÷ {p2_raw["p95_ms"]:.0f} ms) | ≤ {GOAL_P2} | {verdict(p2 <= GOAL_P2)} |
| AWS calls per booking | **{calls:.1f}** | ≤ {GOAL_CALLS} | {verdict(calls <= GOAL_CALLS)} |
| burst of {b.clients} simultaneous clients: connection errors | **{len(b.connection_errors)}** | 0 | {verdict(burst_ok)} |

## P1: the booking path

{p1_app["bookings"]} booking requests from {args.threads} client threads (each a different person, `flexible: true`),
{p1_app["bookings"] // 10} first-dose slots of 10 pairs each; booking pumps as `make run` starts them.

| measure | value |
|---|---|
| decided per second (first request sent → every queue empty, last mail sent) | {p1_app["decided_rps"]:.1f} |
| accepted (202) per second, accept p95 | {p1_app["accept_rps"]:.1f}, {p1_app["accept_p95_ms"]:.0f} ms |
| outcome | {p1_app["booked"]} booked, {p1_app["rejected"]} rejected, {p1_app["queued"]} still queued |
| AWS calls per booking (API + workers, botocore hook) | {calls:.1f}: {operations} |
| bare call sequence ({BareBooking.CALLS} calls, transaction of {tx_items} items as the app's), per second | {p1_bare["rps"]:.1f} |
| CPU per booking, end to end: this process (API, pumps, clients) / the local AWS | {per_booking(p1_app)} |
| CPU per bare call sequence: this process (boto3 clients) / the local AWS | {per_booking(p1_bare)} |

## P2: availability

{p2_app["calls"]} calls of 28 days of Dortmund's demo slots, and {p2_raw["calls"]} raw `Query` calls of the same
{p2_raw["items"]} slot items (strongly consistent, paginated), each from {args.threads} threads.

| measure | availability route | raw Query |
|---|---|---|
| calls per second | {p2_app["rps"]:.1f} | {p2_raw["rps"]:.1f} |
| latency p50 / p95 | {p2_app["p50_ms"]:.0f} ms / {p2_app["p95_ms"]:.0f} ms | {p2_raw["p50_ms"]:.0f} ms / {p2_raw["p95_ms"]:.0f} ms |

## Burst

{b.clients} clients, each on its own connection, released at once by a barrier, each POSTing a booking request.

| measure | value |
|---|---|
| connection errors | {len(b.connection_errors)} |
| answers | {answers} (429 and 503 all with `Retry-After`: {"yes" if not b.unexpected else "no: " + "; ".join(b.unexpected[:3])}) |
| all answered within | {b.seconds:.1f} s |
| accepted requests decided | {sum(b.decided.values())} of {len(b.accepted)} ({dict(b.decided)}), {b.decided_s:.1f} s after the last answer |

The local API queues connections in a listen backlog of 1024 and runs at most {max_in_flight} requests at once; a
request that waits more than {admission_wait_s:.0f} s for its turn is answered 429 with `Retry-After` (as API Gateway's
throttling answers) instead of a reset connection (`infra/local/stack.py`, `_GatewayServer`).

## Why the launcher: transactions per second on a 2,000-item table, 8 threads

| server | transactions/s |
|---|---|
| stock `moto.server` (whole-table copy per transaction) | {tx["moto.server"]:.1f} |
| `infra/local/moto_server.py` (item-level rollback, serialised) | {tx["infra.local.moto_server"]:.1f} |

## Reading these numbers

* A load average above the number of cores means other processes shared the cores during the run: the
  ratios still compare figures of the same run, but absolute rates are lower and latencies longer than on
  an idle machine, and load that changes between phases moves the ratios too.
* The local stack is one Python process for API and pumps plus one moto process on {m["cores"]} cores; every
  moto request costs about as much CPU as a small transaction, so calls per booking set the local
  end-to-end rate. On AWS the API scales with Lambda concurrency and the booking rate is set by the booking
  worker's reserved concurrency (docs/operations.md).
* 2021's launch peak was ~700 requests/s at KVWL; these local figures do not show that vaxslot meets it,
  and no load test against AWS has been run.
"""  # noqa: E501 - a markdown table row cannot wrap


def kept_profile(out: Path) -> str:
    """The "## Profile" section of the last report, written by hand from `python -m infra.local.profile_p1`
    runs: a new run of the figures keeps it (it says when it was measured)."""
    if not out.exists():
        return ""
    text = out.read_text()
    start = text.find("\n## Profile")
    return "" if start < 0 else text[start:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=160, help="booking requests for P1 (default 160)")
    parser.add_argument("--threads", type=int, default=16, help="concurrent clients for P1 and P2 (default 16)")
    parser.add_argument("--availability", type=int, default=96, help="availability calls for P2 (default 96)")
    parser.add_argument("--burst", type=int, default=400, help="simultaneous clients of the burst (default 400)")
    parser.add_argument(
        "--booking-workers", type=int, default=None, help="booking worker handlers (default: as `make run`)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    quiet_expected_warnings()
    load_start = os.getloadavg()

    progress("why the launcher: transactions on stock moto and on infra/local/moto_server.py ...")
    tx = {
        module: transactions_per_second(module, items=2000, transactions=n, threads=8)
        for module, n in (("infra.local.moto_server", 200), ("moto.server", 40))
    }

    progress("starting the local stack ...")
    # The app's logs and metric lines would bury the progress; the figures do not need them.
    workers = {} if args.booking_workers is None else {"booking_workers": args.booking_workers}
    with LocalStack(**workers) as stack, contextlib.redirect_stdout(io.StringIO()):
        logging.getLogger("vaxslot").setLevel(logging.WARNING)
        progress("warming up: bookings, bare call sequences, availability, raw Query ...")
        booking_path(stack, 20, args.threads)
        assert stack.calls is not None  # set by LocalStack.start()
        # The booking transaction (two slots, the request, the booking, the person lock) is the largest one a
        # booking makes; the submission's and the mail claim's are smaller and must not set the bare size.
        tx_items = max(stack.calls.transaction_sizes)
        bare = BareBooking(stack.aws_url, tx_items, os.environ["MAIL_SENDER"])
        bare_sequence(bare, 32, args.threads)
        availability(stack, 32, args.threads)
        raw_query(stack, 32, args.threads)

        progress(f"P1: {args.bookings} bare call sequences from {args.threads} clients ...")
        with CpuMeter(stack) as cpu:
            p1_bare = bare_sequence(bare, args.bookings, args.threads)
        p1_bare["cpu"] = cpu
        progress(f"P1: {args.bookings} bookings end to end from {args.threads} clients ...")
        with CpuMeter(stack) as cpu:
            p1_app = booking_path(stack, args.bookings, args.threads)
        p1_app["cpu"] = cpu
        progress(f"P2: {args.availability} raw Query calls ...")
        p2_raw = raw_query(stack, args.availability, args.threads)
        progress(f"P2: {args.availability} availability calls ...")
        p2_app = availability(stack, args.availability, args.threads)

        progress(f"burst: {args.burst} clients at once ...")
        campaign_id, firsts = bench_campaign(stack, args.burst)
        b = burst(
            stack.api_url, [burst_body(campaign_id, firsts[n % len(firsts)]) for n in range(args.burst)], timeout_s=120
        )
        progress(
            f"burst: answers {dict(b.statuses)}, {len(b.connection_errors)} connection errors; "
            "waiting for every accepted request to be decided ..."
        )
        wait_until_decided(stack.api_url, b, timeout_s=600)
        stack.wait_for_idle_queues(timeout_s=600)

    text = report(
        args,
        machine(),
        stack.max_in_flight,
        stack.admission_wait_s,
        load_start,
        os.getloadavg(),
        p1_app,
        p1_bare,
        tx_items,
        p2_app,
        p2_raw,
        b,
        tx,
    )
    args.out.write_text(text + kept_profile(args.out))
    progress(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    print(text)


if __name__ == "__main__":
    main()
