"""The hotline after a centre-day cancel, through the API: a caller booked by phone (no e-mail) is cancelled with a
pair held; the agent finds them by code and by name with the held pair, fetches their letter (audited), and
accepts the pair for them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from infra.local.token import local_staff_token
from tests.e2e.test_booking_invariants import BIRTH_DATE, request_body, slot_counts, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec
from tests.e2e.test_rebook import at
from tests.e2e.test_rebook import new_campaign as campaign_with

ADMIN = {"Authorization": local_staff_token("ada", "admin")}


def test_an_agent_sees_the_held_pair_of_a_caller_without_e_mail_prints_the_letter_and_accepts_it(stack, api):
    first, second, spare, spare_second = at(0, 11), at(21, 11), at(4, 11), at(25, 11)
    campaign_id, ids = campaign_with(stack, {first: 2, second: 2, spare: 1, spare_second: 1})
    family = f"Brief{uuid.uuid4().hex[:6]}"
    body = request_body(campaign_id, ids[first], family)
    del body["person"]["email"]
    body["person"].update(phone="0231 7654321", postal_address="Hauptstraße 1\n44141 Dortmund")
    agent = f"hans-{uuid.uuid4().hex[:6]}"
    hotline = {"Authorization": local_staff_token(agent, "hotline")}
    accepted = api.post("/v1/staff/booking-requests", json=body, headers=hotline)
    code = wait_decided(stack.api_url, accepted.json()["request_id"])["booking"]["code"]
    ops = {"Authorization": local_staff_token("olga", "ops"), "Idempotency-Key": uuid.uuid4().hex}
    operation = api.post(
        f"/v1/staff/campaigns/{campaign_id}/centre-day-operations",
        json={"center_id": "dortmund", "from": first.date().isoformat()},
        headers=ops,
    ).json()
    assert operation["status"] == "done" and operation["cancelled"] == 1

    by_code = api.get(f"/v1/staff/bookings/{code}", params={"birth_date": BIRTH_DATE}, headers=hotline)
    assert_matches_spec("GET", "/v1/staff/bookings/{code}", by_code)
    assert by_code.json()["status"] == "cancelled" and by_code.json()["held"]["first"]["slot_id"] == ids[spare]
    caller = {"given_name": "Erika", "family_name": family, "birth_date": BIRTH_DATE, "postal_code": "44141"}
    by_name = api.get("/v1/staff/bookings", params=caller, headers=hotline)
    assert [b["held"]["first"]["slot_id"] for b in by_name.json()["bookings"]] == [ids[spare]]

    letters = api.get(f"/v1/staff/operations/{operation['operation_id']}/letters", headers=hotline)
    assert_matches_spec("GET", "/v1/staff/operations/{operation_id}/letters", letters)
    [letter] = letters.json()["letters"]
    assert (letter["code"], letter["kind"], letter["recipient"]["phone"]) == (code, "cancelled", "0231 7654321")
    assert letter["held"]["first"]["slot_id"] == ids[spare] and code in letter["text"]
    days = {
        "from": (date.today() - timedelta(days=1)).isoformat(),
        "to": (date.today() + timedelta(days=1)).isoformat(),
    }
    audit = api.get("/v1/staff/audit", headers=ADMIN, params={**days, "actor": agent}).json()["records"]
    [listed] = [r for r in audit if r["action"] == "operation.letters_listed"]
    assert (listed["target"], listed["after"]) == (operation["operation_id"], {"codes": [code]})

    kept = api.post(
        f"/v1/staff/bookings/{code}/rebook",
        json={"birth_date": BIRTH_DATE, "slot_id": ids[spare]},
        headers=hotline,
    )
    assert kept.status_code == 200 and kept.json()["status"] == "active", kept.text
    assert [slot_counts(stack, campaign_id, ids[s])[0] for s in (spare, spare_second)] == [1, 1]
    assert api.get(f"/v1/staff/operations/{operation['operation_id']}/letters", headers=hotline).json()["letters"] == []
