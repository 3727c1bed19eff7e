"""Hotline agents and ops through the API: roles checked, cohorts opened, contingents released."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import pytest

from chalicelib.booking.domain import LOCAL_TZ
from infra.local.token import local_staff_token
from tests.e2e.test_booking_invariants import request_body, wait_decided

OPS = {"Authorization": local_staff_token("olga", "ops")}


def ops_once() -> dict:
    return {**OPS, "Idempotency-Key": uuid.uuid4().hex}


HOTLINE = {"Authorization": local_staff_token("hans", "hotline")}


def cohort(opens_at: datetime, born_from: str = "1941-11-11", born_to: str = "1941-11-11") -> dict:
    return {
        "name": "Jahrgang 1941",
        "vaccine": "comirnaty",
        "doses": 2,
        "interval_days": {"min": 21, "max": 42},
        "regions": ["westfalen-lippe"],
        "center_ids": ["muenster"],
        "opens_at": opens_at.isoformat(),
        "born_on_or_after": born_from,
        "born_on_or_before": born_to,
    }


def contingent(first_day: int, capacity: int = 2) -> dict:
    start = datetime.combine(date.today() + timedelta(days=first_day), time(10), LOCAL_TZ)
    return {
        "center_id": "muenster",
        "slots": [
            {"start": s.isoformat(), "end": (s + timedelta(minutes=30)).isoformat(), "capacity": capacity}
            for s in (start, start + timedelta(days=21))
        ],
    }


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("put", "/v1/staff/campaigns/x", cohort(datetime.now(LOCAL_TZ))),
        ("post", "/v1/staff/campaigns/x/contingents", contingent(3)),
        ("post", "/v1/staff/booking-requests", {}),
    ],
)
def test_staff_routes_without_a_token_answer_401(api, method, path, body):
    response = api.request(method, path, json=body)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_hotline_agent_cannot_open_cohorts_or_release_contingents(api):
    assert api.put("/v1/staff/campaigns/x", json=cohort(datetime.now(LOCAL_TZ)), headers=HOTLINE).status_code == 403
    response = api.post("/v1/staff/campaigns/80plus-comirnaty/contingents", json=contingent(3), headers=HOTLINE)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_ops_open_a_cohort_release_its_contingent_and_it_can_be_booked(stack, api):
    campaign_id = f"jahrgang-1941-{uuid.uuid4().hex[:6]}"
    before = api.post("/v1/eligibility", json={"birth_date": "1941-11-11", "postal_code": "48143"}).json()
    assert campaign_id not in {c["id"] for c in before["campaigns"]}

    opened = api.put(
        f"/v1/staff/campaigns/{campaign_id}", json=cohort(datetime.now(LOCAL_TZ) - timedelta(minutes=1)), headers=OPS
    )
    assert opened.status_code == 200 and opened.json()["id"] == campaign_id
    after = api.post("/v1/eligibility", json={"birth_date": "1941-11-11", "postal_code": "48143"}).json()
    assert campaign_id in {c["id"] for c in after["campaigns"]}

    once = ops_once()
    released = api.post(f"/v1/staff/campaigns/{campaign_id}/contingents", json=contingent(4), headers=once)
    assert released.status_code == 201 and [s["capacity"] for s in released.json()["slots"]] == [2, 2]
    retried = api.post(f"/v1/staff/campaigns/{campaign_id}/contingents", json=contingent(4), headers=once)
    assert retried.status_code == 201 and retried.json() == released.json()  # released once, answered twice
    days = api.get(f"/v1/centers/muenster/availability?campaign={campaign_id}&days=7").json()["days"]
    slot_id = days[0]["slots"][0]["slot_id"]
    assert days[0]["slots"][0]["remaining"] == 2

    body = request_body(campaign_id, slot_id, f"Jg{uuid.uuid4().hex[:6]}")
    body.update(center_id="muenster")
    body["person"].update(birth_date="1941-11-11", postal_code="48143")
    request_id = api.post("/v1/booking-requests", json=body).json()["request_id"]
    assert wait_decided(stack.api_url, request_id)["status"] == "booked"


def test_a_contingent_with_bad_slots_is_refused_and_changes_nothing(api):
    bad = contingent(3)
    bad["slots"][1]["capacity"] = 0
    response = api.post("/v1/staff/campaigns/80plus-comirnaty/contingents", json=bad, headers=ops_once())
    assert response.status_code == 400 and response.json()["error"]["field"] == "slots.1.capacity"
    past = contingent(-2)
    response = api.post("/v1/staff/campaigns/80plus-comirnaty/contingents", json=past, headers=ops_once())
    assert response.status_code == 400
    without_key = api.post("/v1/staff/campaigns/80plus-comirnaty/contingents", json=contingent(3), headers=OPS)
    assert without_key.status_code == 400 and without_key.json()["error"]["field"] == "Idempotency-Key"


def test_an_unreadable_staff_token_is_401_not_a_crash(api):
    response = api.put(
        "/v1/staff/campaigns/x", json=cohort(datetime.now(LOCAL_TZ)), headers={"Authorization": "not-a-jwt"}
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_hotline_booking_and_a_web_booking_of_the_same_caller_give_one_booking(stack, api):
    days = api.get("/v1/centers/koeln/availability?campaign=80plus-comirnaty&days=10").json()["days"]
    slot_id = days[0]["slots"][0]["slot_id"]
    body = request_body("80plus-comirnaty", slot_id, f"Anrufer{uuid.uuid4().hex[:6]}")
    body.update(center_id="koeln", flexible=True)
    body["person"]["postal_code"] = "50679"
    by_phone = api.post("/v1/staff/booking-requests", json=body, headers=HOTLINE)
    assert by_phone.status_code == 202
    assert wait_decided(stack.api_url, by_phone.json()["request_id"])["status"] == "booked"
    body["person"]["given_name"] = "ERIKA"  # typed differently on the web
    by_web = wait_decided(stack.api_url, api.post("/v1/booking-requests", json=body).json()["request_id"])
    assert (by_web["status"], by_web["reason"]) == ("rejected", "already_booked")
