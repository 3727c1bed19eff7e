"""The waiting room through the API on the local stack (contract §8): enter before opening, poll, be let in
at opening, and book with the admission token, which books for that one person only."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest

from infra.local.token import local_staff_token
from tests.e2e.test_booking_invariants import request_body, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec

OPENS_IN_S = 4
OPS = {"Authorization": local_staff_token("olga", "ops")}
HOTLINE = {"Authorization": local_staff_token("hans", "hotline")}


@pytest.fixture(scope="module")
def rush(stack, monkeypatch_module):
    """rush-demo, seeded as `make run` does with VAXSLOT_DEMO_RUSH_OPENS_IN_S."""
    from infra.local.seed_rush import RUSH_CAMPAIGN_ID, seed_rush_from_env

    monkeypatch_module.setenv("VAXSLOT_DEMO_RUSH_OPENS_IN_S", str(OPENS_IN_S))
    monkeypatch_module.setenv("VAXSLOT_DEMO_RUSH_ADMIT_PER_MIN", "600")
    settings = seed_rush_from_env(stack.catalog, date.today())
    assert settings is not None and settings.campaign_id == RUSH_CAMPAIGN_ID
    return settings


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def poll_until_admitted(api, poll: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = api.get(poll)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
        body = assert_matches_spec("GET", "/v1/waiting-room/entries/{entry_id}", response)
        if body["status"] == "admitted":
            return body
        assert time.monotonic() < deadline, f"not admitted: {body}"
        time.sleep(min(float(response.headers["Retry-After"]), 1.0))


def a_slot(api, campaign_id: str) -> str:
    days = api.get(f"/v1/centers/dortmund/availability?campaign={campaign_id}&days=7").json()["days"]
    return days[0]["slots"][0]["slot_id"]


def test_enter_before_opening_be_let_in_and_book_once_with_the_admission(stack, api, rush):
    room = api.get(f"/v1/campaigns/{rush.campaign_id}/waiting-room")
    assert room.status_code == 200 and room.json()["active"] is True and room.json()["admitted_per_minute"] == 600
    assert_matches_spec("GET", "/v1/campaigns/{campaign_id}/waiting-room", room)

    entered = api.post(f"/v1/campaigns/{rush.campaign_id}/waiting-room/entries", json={})
    assert entered.status_code == 201
    entry = assert_matches_spec("POST", "/v1/campaigns/{campaign_id}/waiting-room/entries", entered)
    assert (entry["status"], entry["position"], entry["eta_seconds"]) == ("waiting", None, None)
    assert entry["poll"] == f"/v1/waiting-room/entries/{entry['entry_id']}"

    slot_id = a_slot(api, rush.campaign_id)
    family = f"Warte{uuid.uuid4().hex[:6]}"
    body = request_body(rush.campaign_id, slot_id, family)
    refused = api.post("/v1/booking-requests", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admission_required"
    assert_matches_spec("POST", "/v1/booking-requests", refused)

    admitted = poll_until_admitted(api, entry["poll"])
    assert admitted["position"] == 0 and admitted["admitted_at"] and admitted["admission_token"]
    token = {"Admission-Token": admitted["admission_token"]}

    accepted = api.post("/v1/booking-requests", json=body, headers=token)
    assert accepted.status_code == 202
    assert wait_decided(stack.api_url, accepted.json()["request_id"])["status"] == "booked"
    again = api.post("/v1/booking-requests", json=body, headers=token)  # the same person may retry with it
    assert again.status_code == 202 and again.json()["request_id"] == accepted.json()["request_id"]

    other = request_body(rush.campaign_id, slot_id, f"Andere{uuid.uuid4().hex[:6]}")
    stolen = api.post("/v1/booking-requests", json=other, headers=token)
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "admission_required"
    forged = api.post("/v1/booking-requests", json=other, headers={"Admission-Token": "x.y.z"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "admission_required"


def test_campaigns_without_a_room_need_no_admission(stack, api):
    room = api.get("/v1/campaigns/80plus-comirnaty/waiting-room").json()
    assert room["active"] is False
    entering = api.post("/v1/campaigns/80plus-comirnaty/waiting-room/entries", json={})
    assert entering.status_code == 409 and entering.json()["error"]["code"] == "waiting_room_not_open"


def test_unknown_campaigns_and_entries_answer_404(api):
    response = api.get("/v1/campaigns/no-such-campaign/waiting-room")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_campaign"
    response = api.post("/v1/campaigns/no-such-campaign/waiting-room/entries", json={})
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_campaign"
    response = api.get("/v1/waiting-room/entries/no-such-entry")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_entry"


def test_only_ops_set_a_room_and_only_staff_queue_hotline_callers(api, rush):
    body = {
        "active": True,
        "prequeue_opens_at": rush.prequeue_opens_at.isoformat(),
        "opens_at": rush.opens_at.isoformat(),
        "admitted_per_minute": 600,
        "hotline_share": 0.1,
    }
    path = f"/v1/staff/campaigns/{rush.campaign_id}/waiting-room"
    assert api.put(path, json=body).status_code == 401
    assert api.put(path, json=body, headers=HOTLINE).status_code == 403
    changed = api.put(path, json=body, headers=OPS)
    assert changed.status_code == 200 and changed.json()["hotline_share"] == 0.1
    bad = api.put(path, json={**body, "admitted_per_minute": 0}, headers=OPS)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "admitted_per_minute"

    entries = f"/v1/staff/campaigns/{rush.campaign_id}/waiting-room/entries"
    assert api.post(entries, json={}).status_code == 401
    by_phone = api.post(entries, json={}, headers=HOTLINE)
    assert by_phone.status_code == 201 and by_phone.json()["status"] in ("waiting", "admitted")
