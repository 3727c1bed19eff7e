"""The limiter's window arithmetic, the per-code attempts of look-up and cancel, and the daily mail cap."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.services import BookingService
from chalicelib.contracts.mail import MailKind, MailMessage
from chalicelib.limits.abuse import AbuseLimits, Policy
from chalicelib.limits.domain import Limit, TooManyRequests, shard_of, window_of
from chalicelib.limits.limiter import Limiter
from chalicelib.notify.ports import MailClaim
from chalicelib.notify.quota import LimiterMailQuota
from chalicelib.notify.services import MailService
from tests.fakes import FakeCounters, FakeMailer, FakeSuppressionList
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, World, person, slot

HOUR = 3600
# 2021-02-01 08:00:00 UTC: a whole hour, a whole minute and a whole day since the epoch.
T0 = datetime(2021, 2, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def policy(**changes) -> Policy:
    base = Policy(
        code_attempts=Limit("code", 10, HOUR),
        client=Limit("client", 300, 60, shards=4),
        person=Limit("person", 3, HOUR),
        verification_client=Limit("verify-client", 20, HOUR),
        verification_address=Limit("verify-address", 3, HOUR),
        verification_attempts=Limit("verify-attempts", 5, 2 * HOUR),
    )
    return replace(base, **changes)


# --- window arithmetic ---------------------------------------------------------------------------


def test_windows_are_aligned_to_the_epoch_so_an_hour_window_is_a_clock_hour():
    limit = Limit("x", 1, HOUR)
    start = T0.timestamp()
    assert window_of(limit, start).start == start
    assert window_of(limit, start + HOUR - 0.001).start == start  # the last instant of the hour
    assert window_of(limit, start + HOUR).start == start + HOUR  # the next hour starts a new window
    assert window_of(limit, start - 0.001).end == start


def test_an_anchored_window_counts_from_its_anchor():
    limit = Limit("x", 1, 100)
    assert window_of(limit, 1_050, anchor=1_000).start == 1_000
    assert window_of(limit, 1_099.9, anchor=1_000).end == 1_100
    assert window_of(limit, 1_100, anchor=1_000).start == 1_100


def test_retry_after_is_the_rest_of_the_window_and_never_zero():
    window = window_of(Limit("x", 1, HOUR), T0.timestamp())
    assert window.retry_after_s(T0.timestamp()) == HOUR
    assert window.retry_after_s(T0.timestamp() + HOUR - 10.5) == 11
    assert window.retry_after_s(T0.timestamp() + HOUR - 0.01) == 1


def test_shards_split_the_limit_and_every_draw_lands_on_one():
    limit = Limit("x", 300, 60, shards=4)
    assert limit.max_per_shard == 75
    assert {shard_of(limit, draw) for draw in (0.0, 0.2499, 0.25, 0.5, 0.75, 0.999999)} == {0, 1, 2, 3}


def test_the_limiter_accepts_up_to_the_limit_in_a_window_and_again_in_the_next():
    clock = Clock()
    limiter = Limiter(FakeCounters(), PEPPER, clock=clock)
    limit = Limit("x", 3, 60)
    clock.advance(59)
    for _ in range(3):
        limiter.hit(limit, "subject")
    with pytest.raises(TooManyRequests) as refused:
        limiter.hit(limit, "subject")
    assert refused.value.retry_after_s == 1
    limiter.hit(limit, "another subject")  # counted apart
    clock.advance(1)  # the edge: a new window
    limiter.hit(limit, "subject")


def test_a_refused_hit_is_not_counted_and_a_given_back_one_is_free_again():
    counters = FakeCounters()
    limiter = Limiter(counters, PEPPER, clock=Clock())
    limit = Limit("x", 2, 60)
    limiter.hit(limit, "s")
    ticket = limiter.hit(limit, "s")
    with pytest.raises(TooManyRequests):
        limiter.hit(limit, "s")
    assert sum(counters.counts.values()) == 2
    limiter.give_back(ticket)
    limiter.hit(limit, "s")


def test_a_sharded_limit_never_accepts_more_than_its_maximum():
    draws = iter([(i % 4) / 4 for i in range(100)])
    limiter = Limiter(FakeCounters(), PEPPER, clock=Clock(), draw=lambda: next(draws))
    limit = Limit("x", 10, 60, shards=4)  # 2 per shard
    accepted = 0
    for _ in range(100):
        try:
            limiter.hit(limit, "s")
            accepted += 1
        except TooManyRequests:
            pass
    assert accepted == 8 and limit.max_hits - (limit.shards - 1) <= accepted <= limit.max_hits


def test_a_limit_of_zero_is_switched_off():
    limiter = Limiter(FakeCounters(), PEPPER, clock=Clock())
    for _ in range(100):
        assert limiter.hit(Limit("off", 0, 60), "s") is None


def test_stored_keys_hold_no_subject_in_clear():
    counters = FakeCounters()
    Limiter(counters, PEPPER, clock=Clock()).hit(Limit("code", 1, 60), "ABCD-EFGH-JK")
    [(key, _)] = counters.counts
    assert "ABCD" not in key and key.startswith("code#")


# --- attempts per booking code (contract §5) -------------------------------------------------------


def booked_world(clock: Clock):
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    code = world.book(first).booking_code
    limits = AbuseLimits(Limiter(FakeCounters(), PEPPER, clock=clock), policy(), PEPPER)
    return world, code, limits


def look_up(world: World, limits: AbuseLimits, code: str, born: date):
    with limits.code_attempt(code):
        return world.queries.lookup(code, born)


def test_ten_wrong_birth_dates_answer_not_found_and_the_eleventh_is_refused_even_with_the_right_date():
    clock = Clock()
    world, code, limits = booked_world(clock)
    for day in range(1, 11):
        with pytest.raises(d.BookingNotFound):
            look_up(world, limits, code, date(1930, 1, day))
    for born in (date(1930, 2, 1), date(1940, 5, 1)):
        with pytest.raises(TooManyRequests) as refused:
            look_up(world, limits, code, born)
        assert refused.value.retry_after_s == HOUR  # the rest of the clock hour
    clock.advance(HOUR)
    assert look_up(world, limits, code, date(1940, 5, 1)).booking.code == code


def test_nine_wrong_birth_dates_still_let_the_right_one_through_and_right_ones_are_not_counted():
    world, code, limits = booked_world(Clock())
    for day in range(1, 10):
        with pytest.raises(d.BookingNotFound):
            look_up(world, limits, code, date(1930, 1, day))
    for _ in range(20):
        assert look_up(world, limits, code, date(1940, 5, 1)).booking.code == code


def test_an_unknown_code_is_counted_like_a_wrong_birth_date_by_its_normalised_form():
    world, _, limits = booked_world(Clock())
    unknown = "ZZZZ-ZZZZ-ZZ"
    for n in range(10):
        typed = unknown if n % 2 else "zzzz zzzz zz"  # how people type it: counted as one code
        with pytest.raises(d.BookingNotFound):
            look_up(world, limits, typed, date(1940, 5, 1))
    with pytest.raises(TooManyRequests):
        look_up(world, limits, unknown, date(1940, 5, 1))


def test_a_refused_cancel_changes_nothing():
    world, code, limits = booked_world(Clock())
    for day in range(1, 11):
        with pytest.raises(d.BookingNotFound), limits.code_attempt(code):
            world.service.cancel(code, date(1930, 1, day))
    with pytest.raises(TooManyRequests), limits.code_attempt(code):
        world.service.cancel(code, date(1940, 5, 1))
    assert world.bookings.booking(code).status is d.BookingStatus.ACTIVE
    assert [m.kind for m in world.outbox.published] == [MailKind.BOOKING_CONFIRMED]


def test_attempts_of_one_code_do_not_touch_another():
    world, code, limits = booked_world(Clock())
    for day in range(1, 11):
        with pytest.raises(d.BookingNotFound):
            look_up(world, limits, "ZZZZ-ZZZZ-ZZ", date(1930, 1, day))
    assert look_up(world, limits, code, date(1940, 5, 1)).booking.code == code


# --- per person and per client ----------------------------------------------------------------------


def limited_world(clock: Clock) -> World:
    """A world whose booking service counts the per-person limit (3 an hour) with each stored request."""
    world = World([slot(1, 9, capacity=10), slot(22, 9, capacity=10)])
    limits = AbuseLimits(Limiter(FakeCounters(), PEPPER, clock=clock), policy(), PEPPER)
    world.service = BookingService(
        world.queries,
        world.catalog,
        world.bookings,
        world.queue,
        world.outbox,
        PEPPER,
        clock=lambda: NOW,
        admission=limits.booking_request_admission,
    )
    return world


def submit(world: World, who: d.Person, key: str | None = None) -> str:
    submission = d.Submission(key, "body") if key else None
    first = slot(1, 9)
    return world.service.submit(CAMPAIGN.id, first.center_id, first.slot_id, False, "de", who, submission=submission)


def test_booking_requests_per_person_are_limited_by_identity_not_by_e_mail():
    clock = Clock(T0 + timedelta(minutes=20))
    world = limited_world(clock)
    erna = person()
    for n in range(3):
        submit(world, replace(erna, email=f"erna{n}@example.org"))
    with pytest.raises(TooManyRequests) as refused:
        submit(world, replace(erna, given_name="ERNA", email="other@example.org"))
    assert refused.value.retry_after_s == 40 * 60  # the rest of the clock hour
    submit(world, person(given="Hans"))
    clock.advance(40 * 60)  # the next clock hour counts afresh
    submit(world, erna)


def test_a_refused_booking_request_stores_and_queues_nothing_and_a_retry_of_the_same_submission_is_not_counted():
    world = limited_world(Clock())
    erna = person()
    first = submit(world, erna, key="header:a")
    assert submit(world, erna, key="header:a") == first  # the client's retry: the same request, not counted
    submit(world, erna, key="header:b")
    submit(world, erna, key="header:c")
    stored, queued = dict(world.bookings.requests), list(world.queue.sent)
    with pytest.raises(TooManyRequests):
        submit(world, erna, key="header:d")
    assert world.bookings.requests == stored and world.queue.sent == queued
    assert "header:d" not in world.bookings.submissions


def test_verification_codes_are_limited_per_address_and_per_client():
    limits = AbuseLimits(
        Limiter(FakeCounters(), PEPPER, clock=Clock()),
        policy(verification_client=Limit("verify-client", 4, HOUR)),
        PEPPER,
    )
    for _ in range(3):
        limits.admit_verification("203.0.113.9", "erna@example.org")
    with pytest.raises(TooManyRequests):
        limits.admit_verification("198.51.100.1", "ERNA@example.org ")
    limits.admit_verification("203.0.113.9", "hans@example.org")  # the client's 4th
    with pytest.raises(TooManyRequests):
        limits.admit_verification("203.0.113.9", "otto@example.org")


# --- the daily mail cap -------------------------------------------------------------------------------


def mail(recipient: str = "erna@example.org", code: str = "ABCD-EFGH-JK") -> MailMessage:
    return MailMessage(
        kind=MailKind.BOOKING_CANCELLED,
        booking_code=code,
        language="de",
        recipient=recipient,
        given_name="Erna",
        family_name="Müller",
        center_name="Impfzentrum Dortmund",
        center_address="Rheinlanddamm 200",
        appointments=[],
    )


def test_an_address_gets_at_most_its_daily_mails_and_the_skip_is_recorded():
    clock = Clock()
    limiter = Limiter(FakeCounters(), PEPPER, clock=clock)
    mailer = FakeMailer()
    capped: list[MailKind] = []
    service = MailService(
        mailer,
        FakeSuppressionList(),
        sender="noreply@vaxslot.example",
        site_url="",
        quota=LimiterMailQuota(lambda: limiter, 3),
        on_capped=capped.append,
    )
    sent, capped_claim = MailClaim.SEND, MailClaim.CAPPED
    assert [service.send(mail(code=f"ABCD-EFGH-J{n}")) for n in range(4)] == [sent, sent, sent, capped_claim]
    assert len(mailer.sent) == 3 and capped == [MailKind.BOOKING_CANCELLED]
    assert service.send(mail(recipient="hans@example.org")) is sent
    clock.advance(24 * HOUR)
    assert service.send(mail(code="ABCD-EFGH-K2")) is sent


# --- package rules (as tests/unit/test_architecture.py checks them for booking and notify) ------------

ROOT = Path(__file__).resolve().parents[2]
INFRASTRUCTURE = (
    "boto3",
    "botocore",
    "pynamodb",
    "chalice",
    "aws_lambda_powertools",
    "chalicelib.bootstrap",
    "chalicelib.api",
    "chalicelib.settings",
    "chalicelib.observability",
    "chalicelib.dynamo_binding",
)


@pytest.mark.parametrize(
    "path",
    [
        "chalicelib/limits/domain.py",
        "chalicelib/limits/limiter.py",
        "chalicelib/limits/abuse.py",
        "chalicelib/limits/ports.py",
        "chalicelib/verification/domain.py",
        "chalicelib/verification/service.py",
        "chalicelib/verification/ports.py",
        "chalicelib/notify/quota.py",
    ],
)
def test_limit_and_verification_rules_import_no_infrastructure(path):
    imported = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {m for m in imported if any(m == p or m.startswith(p + ".") for p in INFRASTRUCTURE)}


# --- which client address ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, hop, expected",
    [
        (None, 1, None),  # loopback without the header: not limited
        ("", 1, None),
        ("203.0.113.9", 1, "203.0.113.9"),
        ("198.51.100.1, 203.0.113.9", 1, "203.0.113.9"),  # the right-most: what API Gateway appended
        ("spoofed, 198.51.100.1, 203.0.113.9", 2, "198.51.100.1"),  # one trusted proxy in front of the gateway
        ("203.0.113.9", 3, "203.0.113.9"),  # fewer entries than hops: the left-most there is
        ("2001:db8::0001", 1, "2001:db8::1"),  # one IPv6 address, however written
        ("not-an-address" + "x" * 100, 1, ("not-an-address" + "x" * 100)[:64]),
    ],
)
def test_the_client_address_is_counted_from_the_right_of_x_forwarded_for(header, hop, expected):
    from chalicelib.api.limits import client_address

    assert client_address({"x-forwarded-for": header} if header is not None else {}, hop) == expected
