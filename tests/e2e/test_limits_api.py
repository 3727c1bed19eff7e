"""Abuse limits and contact verification over HTTP against the local stack (docs/abuse.md)."""

from __future__ import annotations

import email
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email import policy

from chalicelib.booking.domain import LOCAL_TZ
from tests.e2e.test_booking_invariants import BIRTH_DATE, new_campaign, request_body, wait_decided
from tests.e2e.test_staff_routes import HOTLINE, OPS, cohort, contingent, ops_once


def within_one_window(window_s: int, needed_s: float) -> None:
    """Wait for the next window if fewer than `needed_s` seconds are left in this one (windows are aligned
    to the epoch), so that a test's requests all fall into one window."""
    left = window_s - time.time() % window_s
    if left < needed_s:
        time.sleep(left + 0.5)


def random_address() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


def book(stack, api) -> str:
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    body = request_body(campaign_id, first_id, f"Limit{uuid.uuid4().hex[:6]}")
    state = wait_decided(stack.api_url, api.post("/v1/booking-requests", json=body).json()["request_id"])
    assert state["status"] == "booked"
    return state["booking"]["code"]


def guess(api, route: str, code: str, birth_date: str):
    if route == "lookup":
        return api.get(f"/v1/bookings/{code}?birth_date={birth_date}")
    if route == "calendar":
        return api.get(f"/v1/bookings/{code}/calendar.ics?birth_date={birth_date}")
    return api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": birth_date})


def assert_too_many(response, max_retry_after_s: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= max_retry_after_s


# --- attempts per booking code (contract §5) ---------------------------------------------------------


def test_the_eleventh_wrong_birth_date_for_a_code_is_refused_and_so_is_the_right_one(stack, api):
    code = book(stack, api)
    within_one_window(3600, 30)
    assert api.get(f"/v1/bookings/{code}?birth_date={BIRTH_DATE}").status_code == 200  # not counted
    routes = ["lookup", "cancel", "calendar"]
    for n in range(10):
        response = guess(api, routes[n % 3], code, f"1930-01-{n + 1:02d}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_booking"
    assert_too_many(guess(api, "lookup", code, "1930-02-01"), 3600)
    for route in routes:  # the right birth date too, on every route: and the cancel changed nothing
        assert_too_many(guess(api, route, code, BIRTH_DATE), 3600)
    assert api.get(f"/v1/booking-requests/{uuid.uuid4().hex}").status_code == 404  # other routes unaffected


def test_an_unknown_code_is_refused_after_ten_attempts_like_a_known_one(api):
    within_one_window(3600, 30)
    raw = uuid.uuid4().int
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    letters = "".join(alphabet[(raw >> (5 * i)) % 31] for i in range(10))
    code = f"{letters[:4]}-{letters[4:8]}-{letters[8:]}"
    statuses = [guess(api, "lookup", code.lower() if n % 2 else code, BIRTH_DATE).status_code for n in range(10)]
    assert statuses == [404] * 10
    assert_too_many(guess(api, "lookup", code, BIRTH_DATE), 3600)


# --- per person ------------------------------------------------------------------------------------


def test_the_eleventh_booking_request_of_one_person_in_an_hour_is_refused_and_not_queued(stack, api):
    campaign_id, first_id, _ = new_campaign(stack, 5, 5)
    within_one_window(3600, 60)
    family = f"Eager{uuid.uuid4().hex[:6]}"
    # Ten different bodies (another phone number each) for one person: ten requests, one booking.
    bodies = [request_body(campaign_id, first_id, family, phone=f"+49 231 {n:04d}") for n in range(11)]
    responses = [api.post("/v1/booking-requests", json=body) for body in bodies]
    assert [r.status_code for r in responses] == [202] * 10 + [429]
    assert_too_many(responses[-1], 3600)
    states = [wait_decided(stack.api_url, r.json()["request_id"])["status"] for r in responses[:10]]
    assert sorted(states) == ["booked"] + ["rejected"] * 9


# --- per client address -----------------------------------------------------------------------------

LIMIT_PER_MINUTE = 300  # LIMIT_CLIENT_REQUESTS_PER_MINUTE's default; the local stage does not change it


def hammer(api, count: int, headers: dict | None = None) -> list:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: api.get("/v1/campaigns", headers=headers or {}), range(count)))


def test_a_client_address_in_x_forwarded_for_is_limited_per_minute(api):
    within_one_window(60, 25)
    address = random_address()
    # The right-most entry is the one API Gateway appends; what the client wrote to its left does not count.
    # Enough beyond the limit that every shard is full (a shard is drawn at random per hit): then the spoof
    # below is refused whichever shard it lands on.
    responses = hammer(api, LIMIT_PER_MINUTE + 100, {"X-Forwarded-For": f"{random_address()}, {address}"})
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) <= LIMIT_PER_MINUTE and statuses.count(429) >= 1
    assert set(statuses) == {200, 429}
    refused = next(r for r in responses if r.status_code == 429)
    assert_too_many(refused, 60)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.headers["Cache-Control"] == "no-store"
    spoofed = api.get("/v1/campaigns", headers={"X-Forwarded-For": f"{random_address()}, {address}"})
    assert spoofed.status_code == 429
    assert api.get("/v1/campaigns", headers={"X-Forwarded-For": random_address()}).status_code == 200


def test_loopback_requests_without_x_forwarded_for_are_not_limited(api):
    within_one_window(60, 25)
    statuses = [r.status_code for r in hammer(api, LIMIT_PER_MINUTE + 20)]
    assert statuses == [200] * (LIMIT_PER_MINUTE + 20)


# --- contact verification -----------------------------------------------------------------------------


def code_mail_to(stack, recipient: str, timeout_s: float = 60.0) -> str:
    """The one-time code from the verification mail moto's SES accepted for `recipient`."""
    deadline = time.monotonic() + timeout_s
    while True:
        for sent in reversed(stack.sent_mail()):
            mail = email.message_from_string(sent["raw_data"], policy=policy.default)
            if mail["To"] != recipient:
                continue
            body = mail.get_body(("plain",))
            assert body is not None
            found = re.search(r"^(\d{6})$", body.get_content(), re.MULTILINE)
            if found:
                assert "Erika" not in mail.as_string()  # no name in a code mail
                return found.group(1)
        assert time.monotonic() < deadline, f"no code mail to {recipient}"
        time.sleep(0.5)


def test_a_campaign_with_email_verification_books_only_with_the_code_sent_to_that_address(stack, api):
    campaign_id = f"verified-{uuid.uuid4().hex[:6]}"
    opened = api.put(
        f"/v1/staff/campaigns/{campaign_id}",
        headers=OPS,
        json={**cohort(datetime.now(LOCAL_TZ) - timedelta(minutes=1)), "verification": "email"},
    )
    assert opened.status_code == 200 and opened.json()["verification"] == "email"
    released = api.post(f"/v1/staff/campaigns/{campaign_id}/contingents", json=contingent(5), headers=ops_once())
    assert released.status_code == 201
    slot_id = released.json()["slots"][0]["slot_id"]
    family = f"Verified{uuid.uuid4().hex[:6]}"
    body = request_body(campaign_id, slot_id, family)
    body.update(center_id="muenster")
    body["person"].update(birth_date="1941-11-11", postal_code="48143")
    address = body["person"]["email"]

    missing = api.post("/v1/booking-requests", json=body)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "verification_required"

    started = api.post("/v1/verifications", json={"campaign_id": campaign_id, "email": address})
    assert started.status_code == 201, started.text
    verification_id = started.json()["verification_id"]
    expires_at = datetime.fromisoformat(started.json()["expires_at"])
    assert timedelta(minutes=14) < expires_at - datetime.now(LOCAL_TZ) <= timedelta(minutes=15)
    code = code_mail_to(stack, address)

    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = api.post("/v1/booking-requests", json={**body, "verification": {"id": verification_id, "code": wrong}})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "verification_failed"
    other = {
        **body,
        "person": {**body["person"], "email": f"other-{family.lower()}@example.org"},
        "verification": {"id": verification_id, "code": code},
    }
    assert api.post("/v1/booking-requests", json=other).json()["error"]["code"] == "verification_failed"

    accepted = api.post("/v1/booking-requests", json={**body, "verification": {"id": verification_id, "code": code}})
    assert accepted.status_code == 202, accepted.text
    assert wait_decided(stack.api_url, accepted.json()["request_id"])["status"] == "booked"

    # A hotline agent has the caller on the phone: no code needed there.
    caller = {
        **body,
        "person": {**body["person"], "family_name": f"Anruf{family}", "email": f"anruf-{family.lower()}@example.org"},
    }
    assert api.post("/v1/staff/booking-requests", json=caller, headers=HOTLINE).status_code == 202


def test_no_code_is_sent_for_a_campaign_without_verification(api):
    plain = api.post("/v1/verifications", json={"campaign_id": "80plus-comirnaty", "email": "a@example.org"})
    assert plain.status_code == 400 and plain.json()["error"]["code"] == "invalid_request"


def test_codes_to_one_address_are_limited_per_hour(stack, api):
    campaign_id = f"verified-{uuid.uuid4().hex[:6]}"
    assert (
        api.put(
            f"/v1/staff/campaigns/{campaign_id}",
            headers=OPS,
            json={**cohort(datetime.now(LOCAL_TZ) - timedelta(minutes=1)), "verification": "email"},
        ).status_code
        == 200
    )
    within_one_window(3600, 20)
    address = f"flood-{uuid.uuid4().hex[:6]}@example.org"
    statuses = [
        api.post("/v1/verifications", json={"campaign_id": campaign_id, "email": address}).status_code for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
