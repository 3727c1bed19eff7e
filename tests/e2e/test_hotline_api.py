"""The hotline through the API: roles on every new staff route, a caller without e-mail booked by an agent (no
mail), the same person refused on the web, look-up by name, agent cancel, and the audit of who did what."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from chalicelib.booking.domain import LOCAL_TZ
from infra.local.token import local_staff_token
from tests.clock_edges import utc_today
from tests.e2e.test_booking_invariants import BIRTH_DATE, request_body, wait_decided

AGENT = "hans-" + uuid.uuid4().hex[:6]
HOTLINE = {"Authorization": local_staff_token(AGENT, "hotline")}
OPS = {"Authorization": local_staff_token("olga", "ops")}
ADMIN = {"Authorization": local_staff_token("anna", "admin")}
CENTER_STAFF = {"Authorization": local_staff_token("clara", "center_staff")}
# Only where the day does not matter (a role refused, a bad range): an audited action's day is read around it, the
# module being imported minutes before its tests run (the audit keeps UTC days: midnight is 00:00 UTC).
TODAY = utc_today().isoformat()

NEW_ROUTES = [
    ("get", "/v1/staff/bookings/AAAA-BBBB-CC?birth_date=1940-05-01", HOTLINE, (CENTER_STAFF, OPS)),
    (
        "get",
        "/v1/staff/bookings?given_name=Erna&family_name=M&birth_date=1940-05-01&postal_code=44141",
        HOTLINE,
        (CENTER_STAFF, OPS),
    ),
    ("post", "/v1/staff/bookings/AAAA-BBBB-CC/cancel", HOTLINE, (CENTER_STAFF, OPS)),
    ("get", f"/v1/staff/audit?from={TODAY}&to={TODAY}", ADMIN, (CENTER_STAFF, OPS, HOTLINE)),
    ("post", "/v1/staff/booking-requests", HOTLINE, (CENTER_STAFF,)),
]


@pytest.mark.parametrize("method, path, allowed, refused", NEW_ROUTES)
def test_every_new_staff_route_answers_401_without_token_and_403_for_a_wrong_role(api, method, path, allowed, refused):
    without = api.request(method, path, json={})
    assert without.status_code == 401 and without.json()["error"]["code"] == "unauthorized"
    for headers in refused:
        response = api.request(method, path, json={}, headers=headers)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", headers


def caller_body(api, family_name: str, center: str = "dortmund", postal_code: str = "44141") -> dict:
    days = api.get(f"/v1/centers/{center}/availability?campaign=80plus-comirnaty&days=10").json()["days"]
    body = request_body("80plus-comirnaty", days[0]["slots"][0]["slot_id"], family_name)
    body.update(center_id=center, flexible=True)
    del body["person"]["email"]
    body["person"].update(
        postal_code=postal_code, phone="0231 1234567", postal_address=f"Hauptstraße 1\n{postal_code} Dortmund"
    )
    return body


def test_a_caller_needs_a_phone_number_or_postal_address_when_there_is_no_email(api):
    body = caller_body(api, "Ohne")
    del body["person"]["phone"], body["person"]["postal_address"]
    response = api.post("/v1/staff/booking-requests", json=body, headers=HOTLINE)
    assert response.status_code == 400


def test_the_citizen_route_still_requires_an_email(api):
    response = api.post("/v1/booking-requests", json=caller_body(api, "Web"))
    assert response.status_code == 400 and response.json()["error"]["field"] == "person.email"


def test_an_agent_books_a_caller_without_email_no_mail_is_sent_and_the_web_refuses_a_second_booking(stack, api):
    since = utc_today()
    family = f"Anruf{uuid.uuid4().hex[:6]}"
    body = caller_body(api, family)
    accepted = api.post("/v1/staff/booking-requests", json=body, headers=HOTLINE)
    assert accepted.status_code == 202
    decided = wait_decided(stack.api_url, accepted.json()["request_id"])
    assert decided["status"] == "booked"
    code = decided["booking"]["code"]

    stack.wait_for_idle_queues()
    assert not [m for m in stack.sent_mail() if code in m.get("raw_data", "")]

    read_out = api.get(f"/v1/staff/bookings/{code}?birth_date={BIRTH_DATE}", headers=HOTLINE).json()
    assert read_out["channel"] == "hotline" and read_out["person"]["has_email"] is False
    assert read_out["person"]["postal_address"].endswith("44141 Dortmund")
    assert read_out["center"]["hotline"] == "0800 116 117 02"

    on_the_web = dict(body, person={**body["person"], "email": f"{family.lower()}@example.org"})
    web = wait_decided(stack.api_url, api.post("/v1/booking-requests", json=on_the_web).json()["request_id"])
    assert (web["status"], web["reason"]) == ("rejected", "already_booked")

    found = api.get(
        "/v1/staff/bookings",
        headers=HOTLINE,
        params={"given_name": "ERIKA", "family_name": family, "birth_date": BIRTH_DATE, "postal_code": "44141"},
    ).json()
    assert [b["code"] for b in found["bookings"]] == [code]
    elsewhere = api.get(
        "/v1/staff/bookings",
        headers=HOTLINE,
        params={"given_name": "Erika", "family_name": family, "birth_date": BIRTH_DATE, "postal_code": "44139"},
    ).json()
    assert elsewhere["bookings"] == []

    cancelled = api.post(f"/v1/staff/bookings/{code}/cancel", headers=HOTLINE)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    days = {"from": since.isoformat(), "to": utc_today().isoformat()}
    audit = api.get("/v1/staff/audit", headers=ADMIN, params={**days, "actor": AGENT}).json()
    actions = [(r["action"], r["role"], r["channel"]) for r in audit["records"]]
    assert actions == [("booking_request.submitted", "hotline", "hotline"), ("booking.cancelled", "hotline", "hotline")]
    assert audit["records"][1]["target"] == code
    assert family not in str(audit) and BIRTH_DATE not in str(audit)


def test_ops_actions_are_audited_and_the_audit_pages(api):
    since = utc_today()
    campaign_id = f"audit-{uuid.uuid4().hex[:6]}"
    cohort = {
        "name": "Audit",
        "vaccine": "comirnaty",
        "doses": 1,
        "regions": ["nordrhein"],
        "center_ids": ["koeln"],
        "opens_at": (datetime.now(LOCAL_TZ) + timedelta(days=30)).isoformat(),
    }
    ops = {"Authorization": local_staff_token(f"olga-{campaign_id}", "ops")}
    assert api.put(f"/v1/staff/campaigns/{campaign_id}", json=cohort, headers=ops).status_code == 200
    assert api.put(f"/v1/staff/campaigns/{campaign_id}", json=cohort, headers=ops).status_code == 200
    start = datetime.now(LOCAL_TZ).replace(microsecond=0) + timedelta(days=3)
    released = api.post(
        f"/v1/staff/campaigns/{campaign_id}/contingents",
        headers={**ops, "Idempotency-Key": "k1"},
        json={
            "center_id": "koeln",
            "slots": [{"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(), "capacity": 4}],
        },
    )
    assert released.status_code == 201
    query = {"from": since.isoformat(), "to": utc_today().isoformat(), "actor": f"olga-{campaign_id}", "limit": 2}
    first = api.get("/v1/staff/audit", headers=ADMIN, params=query).json()
    assert [r["action"] for r in first["records"]] == ["campaign.put", "campaign.put"]
    assert first["records"][0]["before"] == {} and first["records"][1]["before"]["center_ids"] == ["koeln"]
    rest = api.get("/v1/staff/audit", headers=ADMIN, params={**query, "cursor": first["next_cursor"]}).json()
    assert [(r["action"], r["after"]["added_capacity"]) for r in rest["records"]] == [("contingent.released", 4)]


def test_a_bad_audit_range_or_cursor_is_400(api):
    assert api.get("/v1/staff/audit", headers=ADMIN, params={"from": TODAY}).status_code == 400
    bad = api.get("/v1/staff/audit", headers=ADMIN, params={"from": TODAY, "to": TODAY, "cursor": "x!"})
    assert bad.status_code == 400
