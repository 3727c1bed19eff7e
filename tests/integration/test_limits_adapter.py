"""The limit counters and verifications in DynamoDB (patched moto server): the conditional ADD holds under
concurrency, counters expire by TTL attribute, and no subject is stored in clear."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from pynamodb.connection import Connection

from chalicelib import bootstrap
from chalicelib.booking import domain as d
from chalicelib.booking.storage import DynamoBookings
from chalicelib.limits.domain import Limit, TooManyRequests
from chalicelib.limits.dynamo import CounterItem, DynamoCounters
from chalicelib.limits.limiter import Limiter
from chalicelib.verification import domain as v
from chalicelib.verification.dynamo import DynamoVerifications
from infra.local.aws import REGION

PEPPER = b"integration-pepper"
# One instant for every limiter here: a run that crosses a window's edge (the hour, at 03:00) would otherwise
# count half its hits in each window, and the test would fail for the clock, not for the code.
NOW = datetime.now(UTC)


def fixed_limiter(counters) -> Limiter:
    return Limiter(counters, PEPPER, clock=lambda: NOW)


@pytest.fixture()
def counters(stack):
    bootstrap.catalog()  # binds the table's models to the stack's moto server
    return DynamoCounters()


def race(limiter: Limiter, limit: Limit, subject: str, attempts: int, threads: int = 16) -> int:
    def one(_):
        try:
            limiter.hit(limit, subject)
            return 1
        except TooManyRequests:
            return 0

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, range(attempts)))


def test_sixteen_threads_get_no_more_than_the_limit_accepted(counters):
    limiter = fixed_limiter(counters)
    limit = Limit(f"race-{uuid.uuid4().hex[:6]}", 25, 3600)
    assert race(limiter, limit, "203.0.113.7", 120) == 25
    assert race(limiter, limit, "203.0.113.8", 10) == 10  # another subject: its own counter


def test_a_sharded_limit_under_sixteen_threads_accepts_no_more_than_its_maximum(counters):
    limiter = fixed_limiter(counters)
    limit = Limit(f"shards-{uuid.uuid4().hex[:6]}", 40, 3600, shards=4)
    accepted = race(limiter, limit, "203.0.113.9", 160)
    assert limit.max_hits - (limit.shards - 1) <= accepted <= limit.max_hits


def test_a_counter_item_holds_a_keyed_hash_a_window_and_a_ttl_after_its_window(counters):
    now = datetime.now(UTC)
    name = f"ttl-{uuid.uuid4().hex[:6]}"
    ticket = Limiter(counters, PEPPER, clock=lambda: now).hit(Limit(name, 3, 60), "ABCD-EFGH-JK")
    assert ticket is not None
    item = CounterItem.get(f"LIMIT#{ticket.key}", f"WINDOW#{ticket.window.start}", consistent_read=True)
    assert "ABCD" not in item.pk and item.n == 1
    assert ticket.window.start <= now.timestamp() < ticket.window.end < item.expires_at
    assert counters.value(ticket.key, ticket.window.start) == 1
    assert counters.value(ticket.key, ticket.window.end) == 0  # the next window starts from nothing


def test_giving_back_frees_the_hit_again(counters):
    limiter = fixed_limiter(counters)
    limit = Limit(f"back-{uuid.uuid4().hex[:6]}", 1, 3600)
    ticket = limiter.hit(limit, "s")
    with pytest.raises(TooManyRequests):
        limiter.hit(limit, "s")
    limiter.give_back(ticket)
    limiter.hit(limit, "s")


def test_a_verification_round_trips_and_keeps_its_first_verified_time(counters):
    store = DynamoVerifications()
    sent = datetime.now(UTC).replace(microsecond=0)
    verification = v.Verification(
        v.new_id(),
        "campaign",
        v.Channel.EMAIL,
        v.address_digest(PEPPER, "a@b.de"),
        v.code_digest(PEPPER, "x", "123456"),
        sent,
    )
    store.add(verification)
    assert store.get(verification.id) == verification
    store.mark_verified(verification.id, sent + timedelta(hours=1))
    store.mark_verified(verification.id, sent + timedelta(hours=2))
    stored = store.get(verification.id)
    assert stored is not None and stored.verified_until == sent + timedelta(hours=1)
    assert store.get(v.new_id()) is None


def test_requests_counted_in_their_own_write_store_no_more_than_the_limit_and_a_refused_one_stores_nothing(
    counters, stack
):
    """The per-person limit rides in the request's transaction (issue #9): under 16 threads exactly the limit's
    requests are stored, the refused ones leave no request and no claim, and a retried submission is not counted."""
    bookings = DynamoBookings(Connection(region=REGION, host=stack.aws_url))
    limiter = fixed_limiter(counters)
    limit = Limit(f"person-{uuid.uuid4().hex[:6]}", 5, 3600)
    now = NOW.astimezone(d.LOCAL_TZ)

    def submit(n: int) -> str | None:
        request = d.BookingRequest(
            uuid.uuid4().hex,
            "limits-adapter",
            "dortmund",
            "s",
            False,
            "de",
            d.Person("Test", "Limit", date(1940, 1, 1), "44141", None, None),
        )
        submission = d.Submission(f"header:{limit.name}-{n % 30}", "hash")  # 10 retries of earlier keys
        try:
            bookings.add_request(request, now, submission, limiter.hit_in_write(limit, "the person"))
        except TooManyRequests:
            assert bookings.request_state(request.request_id) is None
            return None
        except d.DuplicateSubmission as duplicate:
            return duplicate.request_id
        return request.request_id

    with ThreadPoolExecutor(16) as pool:
        answered = [r for r in pool.map(submit, range(40)) if r is not None]
    assert len(set(answered)) == limit.max_hits  # retries answer the request they made, and are not counted
    assert all(bookings.request_state(r) is not None for r in answered)
    key = limiter._key(limit, "the person", 0)
    assert counters.value(key, int(now.timestamp()) // 3600 * 3600) == limit.max_hits
