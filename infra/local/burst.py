"""A launch-day burst against the local API: many clients release their booking requests at one moment.

Used by tests/e2e/test_burst.py (small) and `make bench` (400 clients). Each client opens its own
connection (as separate people do), all wait on one barrier, then POST at once. What counts: connection
errors (must be 0), answers other than 202 or 429/503 with Retry-After (must be 0), and whether every
accepted request is decided.
"""

from __future__ import annotations

import collections
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests


@dataclass
class BurstResult:
    clients: int
    accepted: list[str] = field(default_factory=list)  # request ids answered 202
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    connection_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # neither 202 nor 429/503 with Retry-After
    seconds: float = 0.0
    decided: collections.Counter[str] = field(default_factory=collections.Counter)
    undecided: list[str] = field(default_factory=list)
    decided_s: float = 0.0


def burst_body(campaign_id: str, slot_id: str, center_id: str = "dortmund") -> dict:
    name = f"Burst{uuid.uuid4().hex[:10]}"
    return {
        "campaign_id": campaign_id,
        "center_id": center_id,
        "slot_id": slot_id,
        "flexible": True,
        "person": {
            "given_name": "Erika",
            "family_name": name,
            "birth_date": "1940-05-01",
            "postal_code": "44141",
            "email": f"{name.lower()}@example.org",
        },
    }


def burst(api_url: str, bodies: list[dict], timeout_s: float = 60.0) -> BurstResult:
    """POST every body from its own thread and connection, all released by one barrier."""
    result = BurstResult(clients=len(bodies))
    lock = threading.Lock()
    barrier = threading.Barrier(len(bodies) + 1)

    def client(body: dict) -> None:
        with requests.Session() as http:
            barrier.wait()
            try:
                response = http.post(f"{api_url}/v1/booking-requests", json=body, timeout=timeout_s)
            except requests.RequestException as error:
                with lock:
                    result.connection_errors.append(type(error).__name__)
                return
        with lock:
            result.statuses[response.status_code] += 1
            if response.status_code == 202:
                result.accepted.append(response.json()["request_id"])
            elif not (response.status_code in (429, 503) and response.headers.get("Retry-After")):
                result.unexpected.append(f"{response.status_code} {response.text[:100]}")

    threads = [threading.Thread(target=client, args=(b,), name=f"burst-{n}") for n, b in enumerate(bodies)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def wait_until_decided(api_url: str, result: BurstResult, timeout_s: float) -> BurstResult:
    """Poll every accepted request until it is booked or rejected, or the time is up."""
    started = time.perf_counter()
    pending = list(result.accepted)
    with requests.Session() as http:
        while pending and time.perf_counter() - started < timeout_s:
            still = []
            for request_id in pending:
                status = http.get(f"{api_url}/v1/booking-requests/{request_id}", timeout=30).json()["status"]
                if status == "queued":
                    still.append(request_id)
                else:
                    result.decided[status] += 1
            pending = still
            if pending:
                time.sleep(0.5)
    result.undecided = pending
    result.decided_s = time.perf_counter() - started
    return result
