"""The hotline after a centre-day cancel, through the API: a caller booked by phone (no e-mail) is cancelled with a
pair held; the agent finds them by code and by name with the held pair, fetches their letter (audited), marks it
(once), takes the mark back and marks it again, and accepts the pair for them. A caller whose e-mail bounced is
on the list too, and the agent sees that their confirmation went out and the centre's notice did not."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from chalicelib import bootstrap
from infra.local.token import local_staff_token
from tests.e2e.test_booking_invariants import BIRTH_DATE, request_body, slot_counts, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec
from tests.e2e.test_rebook import at
from tests.e2e.test_rebook import new_campaign as campaign_with

ADMIN = {"Authorization": local_staff_token("ada", "admin")}


def test_an_agent_sees_the_held_pair_of_a_caller_without_e_mail_prints_the_letter_and_accepts_it(stack, api):
    first, second, spare, spare_second = at(0, 11), at(21, 11), at(4, 11), at(25, 11)
    campaign_id, ids = campaign_with(stack, {first: 2, second: 2, spare: 2, spare_second: 2})
    family = f"Brief{uuid.uuid4().hex[:6]}"
    body = request_body(campaign_id, ids[first], family)
    del body["person"]["email"]
    body["person"].update(phone="0231 7654321", postal_address="Hauptstraße 1\n44141 Dortmund")
    agent = f"hans-{uuid.uuid4().hex[:6]}"
    hotline = {"Authorization": local_staff_token(agent, "hotline")}
    accepted = api.post("/v1/staff/booking-requests", json=body, headers=hotline)
    code = wait_decided(stack.api_url, accepted.json()["request_id"])["booking"]["code"]
    # A second caller, with an e-mail address that bounces.
    bounced_body = request_body(campaign_id, ids[first], f"{family}b")
    bounced_request = api.post("/v1/staff/booking-requests", json=bounced_body, headers=hotline).json()["request_id"]
    bounced_code = wait_decided(stack.api_url, bounced_request)["booking"]["code"]
    stack.wait_for_idle_queues()  # its confirmation went out before the address bounced
    recipients = [{"emailAddress": bounced_body["person"]["email"]}]
    bounce = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": recipients}}
    assert bootstrap.mail_service().record_feedback(json.dumps(bounce)) == 1  # as the mail_events function does
    ops = {"Authorization": local_staff_token("olga", "ops"), "Idempotency-Key": uuid.uuid4().hex}
    operation = api.post(
        f"/v1/staff/campaigns/{campaign_id}/centre-day-operations",
        json={"center_id": "dortmund", "from": first.date().isoformat()},
        headers=ops,
    ).json()
    assert operation["status"] == "done" and operation["cancelled"] == 2

    by_code = api.get(f"/v1/staff/bookings/{code}", params={"birth_date": BIRTH_DATE}, headers=hotline)
    assert_matches_spec("GET", "/v1/staff/bookings/{code}", by_code)
    assert by_code.json()["status"] == "cancelled" and by_code.json()["held"]["first"]["slot_id"] == ids[spare]
    assert by_code.json()["mail"] is None  # no e-mail: nothing to say about mails
    # The caller whose address bounced: the confirmation went out (when), the centre's notice did not.
    mail = api.get(f"/v1/staff/bookings/{bounced_code}", params={"birth_date": BIRTH_DATE}, headers=hotline)
    assert_matches_spec("GET", "/v1/staff/bookings/{code}", mail)
    mail = mail.json()["mail"]
    assert (mail["confirmation"]["kind"], mail["confirmation"]["state"]) == ("booking_confirmed", "sent")
    assert datetime.now(UTC) - datetime.fromisoformat(mail["confirmation"]["at"]) < timedelta(minutes=10)
    assert (mail["latest"]["kind"], mail["latest"]["state"]) == ("appointment_cancelled_by_centre", "suppressed")
    assert mail["blocked"]["reason"] == "bounce" and "@" not in str(mail)
    caller = {"given_name": "Erika", "family_name": family, "birth_date": BIRTH_DATE, "postal_code": "44141"}
    by_name = api.get("/v1/staff/bookings", params=caller, headers=hotline)
    assert [b["held"]["first"]["slot_id"] for b in by_name.json()["bookings"]] == [ids[spare]]

    letters = api.get(f"/v1/staff/operations/{operation['operation_id']}/letters", headers=hotline)
    assert_matches_spec("GET", "/v1/staff/operations/{operation_id}/letters", letters)
    letter, bounced = sorted(letters.json()["letters"], key=lambda x: x["code"] != code)
    assert (letter["code"], letter["kind"], letter["recipient"]["phone"]) == (code, "cancelled", "0231 7654321")
    assert letter["held"]["first"]["slot_id"] == ids[spare] and code in letter["text"]
    assert (letter["reason"], letter["mark"]) == ("no_email", None)
    assert (bounced["code"], bounced["reason"], bounced["mark"]) == (bounced_code, "email_bounced", None)
    assert "@" not in str(bounced)

    # The agent reached the caller by phone: marked once; a second mark (by anyone, either way) changes nothing.
    mark_url = f"/v1/staff/operations/{operation['operation_id']}/letters/{code.lower()}/mark"
    marked = api.put(mark_url, json={"mark": "called"}, headers=hotline)
    assert_matches_spec("PUT", "/v1/staff/operations/{operation_id}/letters/{code}/mark", marked)
    assert (marked.json()["changed"], marked.json()["mark"]["mark"], marked.json()["mark"]["by"]) == (
        True,
        "called",
        agent,
    )
    again = api.put(mark_url, json={"mark": "sent"}, headers=ADMIN)
    assert (again.json()["changed"], again.json()["mark"]) == (False, marked.json()["mark"])
    assert api.put(mark_url, json={"mark": "lost"}, headers=hotline).status_code == 400
    # The wrong line: taken back (audited with the mark it took), once; then marked again.
    undone = api.delete(mark_url, headers=hotline)
    assert_matches_spec("DELETE", "/v1/staff/operations/{operation_id}/letters/{code}/mark", undone)
    assert undone.json() == {"code": code, "mark": None, "changed": True, "removed": marked.json()["mark"]}
    assert api.delete(mark_url, headers=ADMIN).json() == {"code": code, "mark": None, "changed": False, "removed": None}
    unknown = api.delete(mark_url.replace(code.lower(), "zzzz-zzzz-zz"), headers=hotline)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_booking")
    reopened = api.get(f"/v1/staff/operations/{operation['operation_id']}/letters", headers=hotline).json()
    assert reopened["counts"] == {"open": 2, "done": 0, "done_in_operation": 0}
    marked = api.put(mark_url, json={"mark": "called"}, headers=hotline)
    assert marked.json()["changed"] is True
    open_only = api.get(
        f"/v1/staff/operations/{operation['operation_id']}/letters", params={"only_open": "true"}, headers=hotline
    ).json()
    assert [x["code"] for x in open_only["letters"]] == [bounced_code]
    assert open_only["counts"] == {"open": 1, "done": 1, "done_in_operation": 1}
    days = {
        "from": (date.today() - timedelta(days=1)).isoformat(),
        "to": (date.today() + timedelta(days=1)).isoformat(),
    }
    audit = api.get("/v1/staff/audit", headers=ADMIN, params={**days, "actor": agent}).json()["records"]
    first_listing = next(r for r in audit if r["action"] == "operation.letters_listed")
    assert sorted(first_listing["after"]["codes"]) == sorted([code, bounced_code])
    assert [(r["target"], r["after"]) for r in audit if r["action"] == "operation.letter_marked"] == [
        (operation["operation_id"], {"code": code, "mark": "called"})
    ] * 2
    [undo_record] = [r for r in audit if r["action"] == "operation.letter_unmarked"]
    assert (undo_record["target"], undo_record["before"]["mark"], undo_record["after"]) == (
        operation["operation_id"],
        "called",
        {"code": code, "mark": None},
    )

    kept = api.post(
        f"/v1/staff/bookings/{code}/rebook",
        json={"birth_date": BIRTH_DATE, "slot_id": ids[spare]},
        headers=hotline,
    )
    assert kept.status_code == 200 and kept.json()["status"] == "active", kept.text
    assert [slot_counts(stack, campaign_id, ids[s])[0] for s in (spare, spare_second)] == [2, 2]
    after = api.get(f"/v1/staff/operations/{operation['operation_id']}/letters", headers=hotline).json()
    assert [x["code"] for x in after["letters"]] == [bounced_code]
