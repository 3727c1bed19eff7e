"""Hotline agents and ops through the API: roles checked, cohorts opened, contingents released."""

from __future__ import annotations

import email
import email.policy
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from time import monotonic, sleep

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.domain import LOCAL_TZ
from infra.local.token import local_staff_token
from tests.clock_edges import utc_today, within_one_local_day
from tests.e2e.test_booking_invariants import request_body, wait_decided
from tests.e2e.test_openapi_contract import assert_matches_spec

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


# --- every staff route: 401 without a token, 403 for every role it does not allow ------------------
# Who may use each staff route. A route added to app.py without a line here fails the first test below, so
# no route goes without its 401/403 checks. `center` means the group `center_staff:<center_id>` of the centre
# in the path (here dortmund).
ROUTE_ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/staff/booking-requests"): {"hotline", "ops", "admin"},
    ("POST", "/v1/staff/bookings/{code}/rebook"): {"hotline", "ops", "admin"},
    ("GET", "/v1/staff/bookings/{code}"): {"hotline", "admin"},
    ("GET", "/v1/staff/bookings"): {"hotline", "admin"},
    ("POST", "/v1/staff/bookings/{code}/cancel"): {"hotline", "admin"},
    ("PUT", "/v1/staff/bookings/{code}/contact"): {"hotline", "admin"},
    ("GET", "/v1/staff/audit"): {"admin"},
    ("PUT", "/v1/staff/campaigns/{campaign_id}"): {"ops"},
    ("POST", "/v1/staff/campaigns/{campaign_id}/contingents"): {"ops"},
    ("POST", "/v1/staff/campaigns/{campaign_id}/capacity-cuts"): {"ops"},
    ("POST", "/v1/staff/campaigns/{campaign_id}/centre-day-operations"): {"ops"},
    ("GET", "/v1/staff/operations/{operation_id}"): {"ops", "admin"},
    ("GET", "/v1/staff/operations/{operation_id}/letters"): {"hotline", "admin"},
    ("PUT", "/v1/staff/operations/{operation_id}/letters/{code}/mark"): {"hotline", "admin"},
    ("DELETE", "/v1/staff/operations/{operation_id}/letters/{code}/mark"): {"hotline", "admin"},
    ("POST", "/v1/staff/bookings/{code}/second-dose"): {"ops"},
    ("GET", "/v1/staff/reports/daily"): {"ops", "admin"},
    ("PUT", "/v1/staff/campaigns/{campaign_id}/waiting-room"): {"ops"},
    ("POST", "/v1/staff/campaigns/{campaign_id}/waiting-room/entries"): {"hotline", "ops"},
    ("GET", "/v1/staff/centers/{center_id}/days/{day}"): {"center", "admin"},
    ("POST", "/v1/staff/centers/{center_id}/bookings/{code}/check-in"): {"center", "admin"},
    ("POST", "/v1/staff/centers/{center_id}/bookings/{code}/no-show"): {"center", "admin"},
    ("POST", "/v1/staff/centers/{center_id}/bookings/{code}/undo-mark"): {"center", "admin"},
}
# Every role there is, and a centre's staff at the wrong centre.
TOKENS = {
    "admin": local_staff_token("ada", "admin"),
    "ops": local_staff_token("olga", "ops"),
    "hotline": local_staff_token("hans", "hotline"),
    "center": local_staff_token("dora", "center_staff:dortmund"),
    "other centre": local_staff_token("kurt", "center_staff:koeln"),
}
PATH_VALUES = {
    "code": "ZZZZ-ZZZZ-ZZ",
    "campaign_id": "no-such-campaign",
    "center_id": "dortmund",
    "day": "2030-01-01",
    "operation_id": "0" * 32,
}


def staff_routes_of_the_app() -> set[tuple[str, str]]:
    import app

    return {
        (method, path)
        for path, methods in app.app.routes.items()
        for method, entry in methods.items()
        if entry.authorizer is not None or path.startswith("/v1/staff/")
    }


def test_the_role_table_names_every_staff_route_of_the_app_and_no_other(stack):
    assert set(ROUTE_ROLES) == staff_routes_of_the_app()


@pytest.mark.parametrize("method, template", sorted(ROUTE_ROLES))
def test_a_staff_route_answers_401_without_a_token_and_403_to_every_role_it_does_not_allow(api, method, template):
    path = template.format(**PATH_VALUES)
    # Empty bodies: the role is checked before anything is read, so a refusal never depends on the body.
    headers = {"anonymous": {}, **{role: {"Authorization": token} for role, token in TOKENS.items()}}
    with ThreadPoolExecutor(len(headers)) as pool:  # the local API is threaded: one round trip, not six
        answers = dict(
            zip(
                headers,
                pool.map(lambda h: api.request(method, path, json={}, headers=h), headers.values()),
                strict=True,
            )
        )
    anonymous = answers.pop("anonymous")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized"), template
    for role, answer in answers.items():
        if role in ROUTE_ROLES[(method, template)]:
            assert answer.status_code not in (401, 403), (role, template, answer.text)
        else:
            assert (answer.status_code, answer.json()["error"]["code"]) == (403, "forbidden"), (role, template)


# --- centre staff on the day -------------------------------------------------------------------------

DESK = {"Authorization": TOKENS["center"]}
ADMIN = {"Authorization": TOKENS["admin"]}
# Longer than any test that marks the bookings of `booked_today` takes (the browser console's: 2 s here), loaded or not.
DESK_TEST_S = 60


def booked_today(names: tuple[str, ...], with_email: bool = False) -> tuple[str, d.Slot, d.Slot, list[str]]:
    """A campaign of its own at Dortmund whose first-dose slot began an hour ago (at midnight, if that is later), with
    one booking per name (booked by phone, or with an address of the name's own if `with_email`).

    Written through the bookings adapter: the API books only slots that have not begun. Not in the last minutes
    before midnight: a mark is taken back only on the appointment's day, as the server sees it."""
    from chalicelib import bootstrap

    within_one_local_day(DESK_TEST_S)
    now = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0)
    campaign_id = f"desk-{uuid.uuid4().hex[:8]}"
    bootstrap.catalog().add_campaign(
        d.Campaign(
            campaign_id, "Desk", "comirnaty", 2, 21, 42, frozenset({"westfalen-lippe"}), ("dortmund",),
            opens_at=now - timedelta(days=1), series=campaign_id, born_on_or_before=date(1940, 12, 31),
        )
    )  # fmt: skip
    # Begun, and today (marks are taken back only on the appointment's day): never before midnight.
    began = max(now - timedelta(hours=1), datetime.combine(now.date(), time(0), LOCAL_TZ))
    starts = (began, began + timedelta(days=21))
    first, second = (d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), 5) for s in starts)
    bootstrap.catalog().release_slots([first, second])
    bookings = bootstrap._bookings()  # the adapter the API uses
    codes = []
    for name in names:
        email = f"{name.lower()}{uuid.uuid4().hex[:6]}@example.org" if with_email else None
        person = d.Person("Dora", name, date(1940, 5, 1), "44141", email, phone="0231 1")
        request = d.BookingRequest(uuid.uuid4().hex, campaign_id, "dortmund", first.slot_id, False, "de", person)
        bookings.add_request(request, now)
        code = d.new_booking_code()
        booking = d.Booking(
            code, request.request_id, campaign_id, "dortmund", first.ref, second.ref, person, "de",
            created_at=now, series=campaign_id,
        )  # fmt: skip
        bookings.reserve(booking, bootstrap.person_key(person))
        codes.append(code)
    return campaign_id, first, second, codes


def test_centre_staff_read_the_day_list_check_in_and_mark_no_shows_once_each_audited(api):
    campaign_id, first, second, (came, missed) = booked_today(("Kommt", "Fehlt"))
    since = utc_today()  # the audit keeps UTC days: ask for those from before the marks to after them
    day = first.start.date().isoformat()
    listed = api.get(f"/v1/staff/centers/dortmund/days/{day}", headers=DESK)
    assert listed.status_code == 200
    mine = [a for a in listed.json()["appointments"] if a["campaign_id"] == campaign_id]
    assert {(a["code"], a["dose"], a["attendance"]) for a in mine} == {(came, 1, "expected"), (missed, 1, "expected")}
    assert not {"birth_date", "email", "phone", "postal_address"} & set(mine[0])  # what a desk needs, no more
    assert_matches_spec("GET", "/v1/staff/centers/{center_id}/days/{day}", listed)

    path = "/v1/staff/centers/dortmund/bookings/{}/{}"
    checked = api.post(path.format(came, "check-in"), json={"dose": 1}, headers=DESK)
    assert checked.status_code == 200 and checked.json()["attendance"] == "attended"
    again = api.post(path.format(came, "check-in"), json={"dose": 1}, headers=DESK)
    assert again.status_code == 200 and again.json() == checked.json()
    refused = api.post(path.format(came, "no-show"), json={"dose": 1}, headers=DESK)
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["code"] == "already_attended"
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/check-in", checked)
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/no-show", refused)
    gone = api.post(path.format(missed, "no-show"), json={"dose": 1}, headers=DESK)
    assert gone.status_code == 200 and gone.json()["attendance"] == "no_show"
    assert api.post(path.format(missed, "no-show"), json={"dose": 1}, headers=DESK).status_code == 200
    assert gone.json()["second_appointment"] == "released"  # the missed first dose gave the second seat back
    released = api.post(path.format(missed, "check-in"), json={"dose": 2}, headers=DESK)
    assert released.json()["error"]["details"][0]["code"] == "no_such_dose"
    elsewhere = api.post(
        f"/v1/staff/centers/koeln/bookings/{came}/check-in",
        json={"dose": 1},
        headers={"Authorization": local_staff_token("kurt", "center_staff:koeln")},
    )
    assert elsewhere.status_code == 404  # a Dortmund code at the Köln desk: not found there
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/check-in", elsewhere)

    audit = api.get(f"/v1/staff/audit?from={since}&to={utc_today()}&actor=dora&limit=200", headers=ADMIN).json()
    marks = [r for r in audit["records"] if r["target"] in (came, missed)]
    assert sorted((r["target"], r["action"], r["role"], r["channel"]) for r in marks) == sorted(
        [
            (came, "attendance.checked_in", "center_staff", "staff"),
            (missed, "attendance.no_show", "center_staff", "staff"),
        ]
    )
    assert marks[0]["before"]["attendance"] == "expected"

    # The report adds up against the store: its marks are the booking items' marks.
    query = f"/v1/staff/reports/daily?campaign={campaign_id}&from={day}&to={second.start.date().isoformat()}"
    rows = {r["day"]: r for r in api.get(query, headers=ADMIN).json()["days"]}
    stored = [stack_booking(code) for code in (came, missed)]
    on_first, on_second = rows[day], rows[second.start.date().isoformat()]
    assert (
        (on_first["checked_in"], on_first["no_shows"])
        == (
            sum(b.first_attendance is d.Attendance.ATTENDED for b in stored),
            sum(b.first_attendance is d.Attendance.NO_SHOW for b in stored),
        )
        == (1, 1)
    )
    assert (on_second["second_doses"], on_second["second_doses_after_no_show"], on_second["booked"]) == (1, 0, 1)
    assert_matches_spec("GET", "/v1/staff/reports/daily", api.get(query, headers=ADMIN))
    as_csv = api.get(query + "&format=csv", headers=ADMIN).text
    assert as_csv.splitlines()[0].endswith("cancellations,checked_in,no_shows,second_doses_after_no_show")


def stack_booking(code: str) -> d.Booking:
    from chalicelib import bootstrap

    booking = bootstrap._bookings().booking(code)
    assert booking is not None
    return booking


def test_a_desk_takes_a_no_show_back_and_the_second_seat_with_it_but_never_past_capacity(api, stack):
    from chalicelib import bootstrap

    campaign_id, _, second, (late, other) = booked_today(("Spaet", "Anders"), with_email=True)
    since = utc_today()
    path = "/v1/staff/centers/dortmund/bookings/{}/{}"

    def second_booked() -> int:
        return bootstrap.catalog().slot(campaign_id, "dortmund", second.slot_id).booked

    for code in (late, other):
        assert api.post(path.format(code, "no-show"), json={"dose": 1}, headers=DESK).status_code == 200
    assert second_booked() == 0  # both second seats given back with the marks
    undone = api.post(path.format(late, "undo-mark"), json={"dose": 1}, headers=DESK)
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/undo-mark", undone)
    assert (undone.json()["attendance"], undone.json()["second_appointment"]) == ("expected", "held")
    assert second_booked() == 1 and stack_booking(late).second == second.ref

    # Someone books the last seat meanwhile (as the booking transaction would: a counter one below capacity).
    from chalicelib.booking.storage.models import SlotItem, slots_pk

    SlotItem(slots_pk(campaign_id, "dortmund"), second.slot_id).update(actions=[SlotItem.booked.add(4)])
    full = api.post(path.format(other, "undo-mark"), json={"dose": 1}, headers=DESK)
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/undo-mark", full)
    assert (full.status_code, full.json()["error"]["code"]) == (409, "slot_full")
    assert stack_booking(other).first_attendance is d.Attendance.NO_SHOW and second_booked() == 5
    no_second = api.post(path.format(other, "undo-mark"), json={"dose": 2}, headers=DESK)
    assert_matches_spec("POST", "/v1/staff/centers/{center_id}/bookings/{code}/undo-mark", no_second)
    assert no_second.json()["error"]["details"][0]["code"] == "no_such_dose"  # given back: nothing to take back
    SlotItem(slots_pk(campaign_id, "dortmund"), second.slot_id).update(actions=[SlotItem.booked.add(-4)])

    audit = api.get(f"/v1/staff/audit?from={since}&to={utc_today()}&actor=dora&limit=200", headers=ADMIN).json()
    [record] = [r for r in audit["records"] if r["target"] == late and r["action"] == "attendance.undone"]
    assert (record["before"]["attendance"], record["after"]["second_slot_id"]) == ("no_show", second.slot_id)

    # Each was told once that the second appointment was given back (the mark taken back tells nobody again).
    def notices(code: str) -> list[str]:
        mails = [email.message_from_string(m["raw_data"], policy=email.policy.default) for m in stack.sent_mail()]
        return [str(m["Subject"]) for m in mails if code in str(m["Subject"])]

    deadline = monotonic() + 30
    while not (notices(late) and notices(other)) and monotonic() < deadline:
        sleep(0.3)
    for code in (late, other):
        assert [("freigegeben" in subject) for subject in notices(code)] == [True], code
