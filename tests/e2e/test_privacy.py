"""Privacy against the running stack: look-up and calendar by POST body (no birth date in any URL), and the
operations command that exports and erases one person's data (infra/ops/privacy.py) on the moto server."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable

import pytest

from chalicelib import bootstrap
from chalicelib.booking.domain import DEFAULT_SERIES
from infra.ops import privacy
from tests.e2e.test_openapi_contract import assert_matches_spec

CAMPAIGN = "80plus-comirnaty"
SERIES = DEFAULT_SERIES  # the seeded campaign's: its person lock is keyed by it


def booked(api) -> tuple[dict, dict]:
    """A fresh booking through the API and the queue pump: (the person, the booking summary)."""
    family = f"Privat{uuid.uuid4().hex[:6]}"
    person = {
        "given_name": "Erna",
        "family_name": family,
        "birth_date": "1938-03-04",
        "postal_code": "44141",
        "email": f"{family.lower()}@example.org",
    }
    days = api.get(f"/v1/centers/dortmund/availability?campaign={CAMPAIGN}&days=28").json()["days"]
    slot = next(s for day in days for s in day["slots"] if s["remaining"] > 0)
    body = {
        "campaign_id": CAMPAIGN,
        "center_id": "dortmund",
        "slot_id": slot["slot_id"],
        "flexible": True,
        "language": "de",
        "person": person,
    }
    accepted = api.post("/v1/booking-requests", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 30
    while (state := api.get(accepted.json()["poll"]).json())["status"] == "queued":
        assert time.monotonic() < deadline, "still queued"
        time.sleep(0.2)
    assert state["status"] == "booked", state
    return person, state["booking"]


def test_the_post_look_up_answers_as_the_get_and_a_wrong_birth_date_like_an_unknown_code(api):
    person, booking = booked(api)
    code = booking["code"]
    by_body = api.post(f"/v1/bookings/{code}/lookup", json={"birth_date": person["birth_date"]})
    assert by_body.status_code == 200
    assert_matches_spec("POST", "/v1/bookings/{code}/lookup", by_body)
    assert by_body.json() == api.get(f"/v1/bookings/{code}?birth_date={person['birth_date']}").json()
    wrong = api.post(f"/v1/bookings/{code}/lookup", json={"birth_date": "1938-03-05"})
    unknown = api.post("/v1/bookings/AAAA-BBBB-CC/lookup", json={"birth_date": person["birth_date"]})
    assert_matches_spec("POST", "/v1/bookings/{code}/lookup", wrong)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "unknown_booking"
    assert api.post(f"/v1/bookings/{code}/lookup", json={}).status_code == 400


def test_the_calendar_file_comes_by_post_with_the_birth_date_in_the_body(api):
    person, booking = booked(api)
    response = api.post(f"/v1/bookings/{booking['code']}/calendar.ics", json={"birth_date": person["birth_date"]})
    assert response.status_code == 200
    assert_matches_spec("POST", "/v1/bookings/{code}/calendar.ics", response)
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert response.text.startswith("BEGIN:VCALENDAR") and response.text.count("BEGIN:VEVENT") == 2
    wrong = api.post(f"/v1/bookings/{booking['code']}/calendar.ics", json={"birth_date": "1938-03-05"})
    assert wrong.status_code == 404


def run_command(stack, capsys, *args: str) -> tuple[int, str]:
    return run_ops_command(privacy.main, stack, capsys, *args)


def run_ops_command(main: Callable[[list[str]], int], stack, capsys, *args: str) -> tuple[int, str]:
    """An ops command (infra/ops) against the stack's local stage, in this process; its exit code and output.

    The command sets the process up for its stage and resets bootstrap, which the in-process stack shares: put
    the stack's environment and objects back, or later tests' campaigns miss the API's (new) catalog cache."""
    saved = dict(os.environ)
    try:
        code = main([*args, "--stage", "local", "--endpoint-url", stack.aws_url])
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()
        stack.catalog = bootstrap.catalog()
    return code, capsys.readouterr().out


def bounce(address: str) -> str:
    return json.dumps(
        {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]}}
    )


def test_the_ops_command_exports_a_persons_data_and_erases_it_giving_the_slots_back(api, stack, capsys):
    person, booking = booked(api)
    code, birth = booking["code"], person["birth_date"]
    # The address bounced: recorded as the mail_events function does (keyed with the stage's pepper).
    assert bootstrap.mail_service().record_feedback(bounce(person["email"])) == 1
    slot_id = booking["first"]["slot_id"]
    remaining_before = stack.catalog.slot(CAMPAIGN, "dortmund", slot_id).remaining

    status, out = run_command(stack, capsys, "export", "--code", code, "--birth-date", birth)
    assert status == 0
    export = json.loads(out)
    assert [b["code"] for b in export["bookings"]] == [code]
    assert export["bookings"][0]["person"]["email"] == person["email"]
    assert export["locks"] == [{"series": SERIES, "booking_code": code}]
    assert export["requests"][0]["status"] == "booked"
    assert export["mail_suppressions"][0]["suppressed"] is True and export["mail_suppressions"][0]["reason"] == "bounce"

    status, out = run_command(
        stack, capsys, "export", "--given-name", "ERNA", "--family-name", person["family_name"], "--birth-date", birth
    )
    assert status == 0 and [b["code"] for b in json.loads(out)["bookings"]] == [code]

    assert run_command(stack, capsys, "erase", "--code", code, "--birth-date", birth)[0] == 2  # needs --yes
    status, out = run_command(stack, capsys, "erase", "--code", code, "--birth-date", birth, "--yes")
    assert status == 0
    assert json.loads(out) == [{"code": code, "cancelled": True, "suppression_erased": True}]

    assert stack.catalog.slot(CAMPAIGN, "dortmund", slot_id).remaining == remaining_before + 1
    assert api.post(f"/v1/bookings/{code}/lookup", json={"birth_date": birth}).status_code == 404
    assert run_command(stack, capsys, "export", "--code", code, "--birth-date", birth)[0] == 1


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--birth-date", "1938-03-04"],
        ["export", "--code", "X", "--given-name", "A", "--family-name", "B", "--birth-date", "1938-03-04"],
    ],
)
def test_the_ops_command_wants_a_code_or_a_name_not_both(args, stack, capsys):
    assert run_command(stack, capsys, *args)[0] == 2
