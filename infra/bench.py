"""`make bench`: throughput and latency of the booking path on the local stack; writes docs/benchmarks.md.

Figures are for moto's server patched by infra/local/moto_server.py on this machine, not for AWS: they
compare changes of vaxslot with each other, and show where the local stack itself is the limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import requests

from chalicelib.booking import domain as d
from infra.local.aws import client
from infra.local.stack import ROOT, LocalStack, free_port, wait_until_up

OUT = ROOT / "docs" / "benchmarks.md"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_campaign(stack: LocalStack, capacity: int, slots: int) -> tuple[str, list[str]]:
    campaign_id = f"bench-{uuid.uuid4().hex[:6]}"
    now = datetime.now(d.LOCAL_TZ)
    stack.catalog.add_campaign(d.Campaign(
        campaign_id, "Bench", "comirnaty", 2, 21, 42, frozenset({"westfalen-lippe"}), ("dortmund",),
        opens_at=now - timedelta(hours=1), born_on_or_before=date(1940, 12, 31)))
    firsts = []
    released = []
    for n in range(slots):
        start = datetime.combine(date.today() + timedelta(days=2 + n // 8), clock(8 + n % 8), d.LOCAL_TZ)
        for s in (start, start + timedelta(days=21)):
            released.append(d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), capacity))
        firsts.append(d.slot_id_for(start))
    stack.catalog.release_slots(released)
    return campaign_id, firsts


def body(campaign_id: str, slot_id: str) -> dict:
    return {"campaign_id": campaign_id, "center_id": "dortmund", "slot_id": slot_id, "flexible": True,
            "person": {"given_name": "Bench", "family_name": uuid.uuid4().hex[:12], "birth_date": "1940-05-01",
                       "postal_code": "44141", "email": "bench@example.org"}}


def bench_booking_path(stack: LocalStack, requests_n: int, threads: int) -> dict:
    campaign_id, firsts = bench_campaign(stack, capacity=10, slots=max(1, requests_n // 10))
    latencies: list[float] = []
    lock = threading.Lock()
    session = threading.local()

    def submit(n: int) -> str:
        http = getattr(session, "http", None) or requests.Session()
        session.http = http
        started = time.perf_counter()
        response = http.post(f"{stack.api_url}/v1/booking-requests", json=body(campaign_id, firsts[n % len(firsts)]))
        with lock:
            latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        return response.json()["request_id"]

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(submit, range(requests_n)))
    accepted_s = time.perf_counter() - started
    stack.wait_for_idle_queues(timeout_s=600)
    decided_s = time.perf_counter() - started
    statuses = [requests.get(f"{stack.api_url}/v1/booking-requests/{i}").json()["status"] for i in ids]
    return {
        "requests": requests_n, "threads": threads,
        "accept_rps": requests_n / accepted_s, "accept_p50_ms": percentile(latencies, 50) * 1000,
        "accept_p95_ms": percentile(latencies, 95) * 1000, "decided_rps": requests_n / decided_s,
        "booked": statuses.count("booked"), "rejected": statuses.count("rejected"), "queued": statuses.count("queued"),
    }


def bench_availability(stack: LocalStack, calls: int, threads: int) -> dict:
    url = f"{stack.api_url}/v1/centers/dortmund/availability?campaign=80plus-comirnaty&days=28"
    latencies: list[float] = []

    def call(_):
        started = time.perf_counter()
        requests.get(url).raise_for_status()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(call, range(calls)))
    elapsed = time.perf_counter() - started
    return {"calls": calls, "threads": threads, "rps": calls / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000}


def bench_local_aws_baseline(stack: LocalStack) -> dict:
    """What one DynamoDB call costs on the local AWS itself, without vaxslot around it."""
    from infra.resources import BOOKING_TABLE

    db = client("dynamodb", stack.aws_url)
    table = BOOKING_TABLE.name("local")
    query = dict(TableName=table, KeyConditionExpression="pk = :p", ConsistentRead=True,
                 ExpressionAttributeValues={":p": {"S": "SLOTS#80plus-comirnaty#dortmund"}})
    items = len(db.query(**query)["Items"])
    started = time.perf_counter()
    for _ in range(10):
        db.query(**query)
    query_ms = (time.perf_counter() - started) * 100
    started = time.perf_counter()
    for _ in range(50):
        db.get_item(TableName=table, Key={"pk": {"S": "CENTERS"}, "sk": {"S": "dortmund"}})
    return {"items": items, "query_ms": query_ms, "get_ms": (time.perf_counter() - started) * 20}


def bench_transactions(module: str, items: int, transactions: int, threads: int) -> float:
    """Transactions/s of `module`'s server on a table of `items` items: stock moto vs the launcher."""
    port = free_port()
    args = ["-p", str(port)] if module == "moto.server" else ["--port", str(port)]
    server = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/moto-api/")
        db = client("dynamodb", url)
        db.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        for n in range(items):
            db.put_item(TableName="t", Item={"pk": {"S": f"i{n}"}, "n": {"N": "0"}})

        def transact(n: int) -> None:
            db.transact_write_items(TransactItems=[
                {"Update": {"TableName": "t", "Key": {"pk": {"S": f"i{(n * 2 + k) % items}"}},
                            "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
                for k in range(2)])

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(transact, range(transactions)))
        return transactions / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    tx = {m: bench_transactions(m, items=2000, transactions=200 if m != "moto.server" else 40, threads=8)
          for m in ("infra.local.moto_server", "moto.server")}
    with LocalStack(booking_workers=2) as stack:
        baseline = bench_local_aws_baseline(stack)
        availability = bench_availability(stack, calls=200, threads=args.threads)
        booking = bench_booking_path(stack, args.requests, args.threads)

    command = f"make bench  (python -m infra.bench --requests {args.requests} --threads {args.threads})"
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    report = f"""# Benchmarks

Produced by `{command}` on {date.today().isoformat()}: {platform.python_implementation()} {platform.python_version()},
{cpu} cores, load average {load:.1f} when it finished. Every figure is for the **local stack on moto's
server patched by `infra/local/moto_server.py`** (one lock around DynamoDB, item-level rollback), with
client, API, pumps and moto sharing the same cores. They are for comparing changes of vaxslot and seeing
where the local stack is the limit, **not** predictions for AWS, where DynamoDB, SQS and Lambda scale out.

## Booking path (HTTP → queue → worker → DynamoDB transaction → mail queue)

{booking['requests']} booking requests from {booking['threads']} threads (each a different person, `flexible: true`),
capacity for {booking['requests']} pairs spread over {max(1, booking['requests'] // 10)} first-dose slots, 2 booking pumps.

| measure | value |
|---|---|
| accepted (202) per second | {booking['accept_rps']:.1f} |
| accept latency p50 / p95 | {booking['accept_p50_ms']:.0f} ms / {booking['accept_p95_ms']:.0f} ms |
| decided per second (first request sent → every queue empty) | {booking['decided_rps']:.1f} |
| outcome | {booking['booked']} booked, {booking['rejected']} rejected, {booking['queued']} still queued |

## Availability

{availability['calls']} calls of 28 days of Dortmund's demo slots from {availability['threads']} threads.

| measure | value |
|---|---|
| calls per second | {availability['rps']:.1f} |
| latency p50 / p95 | {availability['p50_ms']:.0f} ms / {availability['p95_ms']:.0f} ms |

## Why the launcher: transactions per second on a 2,000-item table, 8 threads

| server | transactions/s |
|---|---|
| stock `moto.server` (whole-table copy per transaction) | {tx['moto.server']:.1f} |
| `infra/local/moto_server.py` (item-level rollback, serialised) | {tx['infra.local.moto_server']:.1f} |

## The local AWS on its own

| call (boto3 straight to the patched moto server, one thread) | latency |
|---|---|
| `GetItem` | {baseline['get_ms']:.1f} ms |
| `Query` of one centre's demo slots ({baseline['items']} items, strongly consistent) | {baseline['query_ms']:.0f} ms |

## Reading these numbers

* The local stack is one Python process for API and pumps plus one moto process, on {cpu} cores, and every
  DynamoDB call goes through moto's one lock. One availability call is one slot `Query`: at
  {baseline['query_ms']:.0f} ms each in moto, about {1000 / baseline['query_ms']:.0f} calls per second is the ceiling here,
  whatever vaxslot does. On AWS the API scales with Lambda concurrency, and the booking rate is set by the
  booking worker's reserved concurrency (`infra/aws/stages.py`, see docs/operations.md).
* 2021's launch peak was ~700 requests/s at KVWL; these local figures do not show that vaxslot meets it,
  and no load test against AWS has been run.
"""
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
