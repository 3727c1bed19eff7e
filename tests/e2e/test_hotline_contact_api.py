"""An agent corrects the mistyped address of a booking made on the site, through the API: the confirmation reaches
the new address once (the same correction again sends nothing), the first address got only the first one, the
answer's mail status is the new confirmation's, and the audit names the changed field without the address."""

from __future__ import annotations

import email
import uuid
from email import policy

from infra.local.token import local_staff_token
from tests.clock_edges import utc_today
from tests.e2e.test_booking_invariants import BIRTH_DATE, request_body, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec
from tests.e2e.test_rebook import at
from tests.e2e.test_rebook import new_campaign as campaign_with


def _to(stack, code: str, address: str) -> list:
    mails = [m["raw_data"] for m in stack.sent_mail() if code in m["raw_data"]]
    return [raw for raw in mails if email.message_from_string(raw, policy=policy.default)["To"] == address]


def test_an_agent_corrects_the_address_and_the_confirmation_reaches_the_new_one_once(stack, api):
    first, second = at(1, 9), at(22, 9)
    campaign_id, ids = campaign_with(stack, {first: 2, second: 2})
    family = f"Tippfehler{uuid.uuid4().hex[:6]}"
    body = request_body(campaign_id, ids[first], family)
    mistyped, corrected = body["person"]["email"], f"{family.lower()}@example.net"
    accepted = api.post("/v1/booking-requests", json=body)
    code = wait_decided(stack.api_url, accepted.json()["request_id"])["booking"]["code"]
    stack.wait_for_idle_queues()
    agent = f"hans-{uuid.uuid4().hex[:6]}"
    hotline = {"Authorization": local_staff_token(agent, "hotline")}
    path = f"/v1/staff/bookings/{code}/contact"

    wrong = api.put(path, json={"birth_date": "1941-01-01", "email": corrected, "phone": None}, headers=hotline)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (404, "unknown_booking")
    bad = api.put(path, json={"birth_date": BIRTH_DATE, "email": "kein-at", "phone": None}, headers=hotline)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "email"
    change = {"birth_date": BIRTH_DATE, "email": corrected, "phone": "0231 123456"}
    answer = api.put(path, json=change, headers=hotline)
    assert_matches_spec("PUT", "/v1/staff/bookings/{code}/contact", answer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["person"]["phone"] == "0231 123456" and answer.json()["person"]["has_email"] is True
    assert answer.json()["mail"]["confirmation"]["state"] in ("not_sent", "sending", "sent")
    stack.wait_for_idle_queues()
    assert api.put(path, json=change, headers=hotline).status_code == 200  # the same again: nothing new
    stack.wait_for_idle_queues()

    assert len(_to(stack, code, corrected)) == 1 and len(_to(stack, code, mistyped)) == 1
    looked_up = api.get(f"/v1/staff/bookings/{code}", params={"birth_date": BIRTH_DATE}, headers=hotline).json()
    assert looked_up["mail"]["confirmation"]["state"] == "sent"
    admin = {"Authorization": local_staff_token("ada", "admin")}
    today = utc_today().isoformat()
    records = api.get(f"/v1/staff/audit?from={today}&to={today}&actor={agent}", headers=admin).json()["records"]
    assert [(r["action"], r["target"], r["after"]["changed"]) for r in records] == [
        ("booking.contact_changed", code, ["email", "phone"])
    ]
    assert "@" not in str(records) and "123456" not in str(records)
