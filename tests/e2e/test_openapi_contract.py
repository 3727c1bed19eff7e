"""docs/openapi.yaml describes the running API: every route, every status it answers, every body's shape.

Each test calls the real local API over HTTP (the session's `stack`) and checks the status code is
documented for that route and method, the documented headers are there, and the body validates against
the spec's schema (with `$ref`s resolved inside the spec).
"""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.booking.domain import LOCAL_TZ
from chalicelib.settings import get_settings
from infra.local.token import local_staff_token
from tests.clock_edges import within_one_local_day

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:vaxslot:openapi"
REGISTRY = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(SPEC))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

CAMPAIGN = "80plus-comirnaty"
CENTER = "dortmund"
BIRTH_DATE = "1940-05-01"
POSTAL_CODE = "44141"
DESK_BOOKING = "/v1/staff/centers/dortmund/bookings/ZZZZ-ZZZZ-ZZ"  # a code of no booking


# --- the helper --------------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _deref(pointer: str) -> tuple[str, dict]:
    """Follow OpenAPI `$ref`s (responses, headers, parameters) from a pointer into the spec."""
    node = SPEC
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and "$ref" in node:
        return _deref(node["$ref"].removeprefix("#"))
    return pointer, node


def _validate(schema_pointer: str, instance) -> None:
    validator = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"}, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    problems = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not problems, (
        f"does not match {schema_pointer}:\n"
        + "\n".join(f"  at {'/'.join(map(str, p.absolute_path)) or '(root)'}: {p.message}" for p in problems)
        + f"\nbody: {instance!r}"[:2000]
    )


def assert_matches_spec(method: str, path_template: str, response):
    """The response's status is documented for this route and method, and its headers and body match.

    A method the path does not have may only answer the documented 405. Returns the parsed body.
    """
    assert path_template in SPEC["paths"], f"{path_template} is not in the spec"
    operation = SPEC["paths"][path_template].get(method.lower())
    status = str(response.status_code)
    context = f"{method.upper()} {path_template} → {status} {response.text[:400]}"
    if operation is None:
        assert status == "405", f"undocumented method answered other than 405: {context}"
        pointer = "/components/responses/MethodNotAllowed"
    else:
        assert status in operation["responses"], f"status not documented: {context}"
        pointer = f"/paths/{_escape(path_template)}/{method.lower()}/responses/{status}"
    pointer, documented = _deref(pointer)

    for name, header in documented.get("headers", {}).items():
        header_pointer, header = _deref(f"{pointer}/headers/{_escape(name)}")
        value = response.headers.get(name)
        if value is None:
            assert not header.get("required"), f"required header {name} missing: {context}"
            continue
        if header["schema"].get("type") == "integer" or "RetryAfter" in header_pointer:
            assert value.isdigit(), f"{name}: {value!r} is not a number of seconds: {context}"
            value = int(value)
        _validate(f"{header_pointer}/schema", value)

    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    content = documented.get("content", {})
    assert media_type in content, f"content type {media_type!r} not documented ({list(content)}): {context}"
    body = response.json() if media_type == "application/json" else response.text
    _validate(f"{pointer}/content/{_escape(media_type)}/schema", body)
    return body


def assert_error(method: str, path_template: str, response, status: int, code: str, field: str | None = None):
    body = assert_matches_spec(method, path_template, response)
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert body["error"]["code"] == code, body
    if field is not None:
        assert body["error"]["field"] == field, body
    return body["error"]


# --- helpers for the flow ----------------------------------------------------------------------------


def person(**changes) -> dict:
    return {
        "given_name": "Spec",
        "family_name": f"Contract-{uuid.uuid4().hex[:12]}",
        "birth_date": BIRTH_DATE,
        "postal_code": POSTAL_CODE,
        "email": "spec.contract@example.org",
        "phone": "+49 231 1234567",
        **changes,
    }


def availability(api, days: int = 28, **params) -> dict:
    response = api.get(f"/v1/centers/{CENTER}/availability", params={"campaign": CAMPAIGN, "days": days, **params})
    return assert_matches_spec("GET", "/v1/centers/{center_id}/availability", response)


def bookable_slots(api) -> list[dict]:
    return [slot for day in availability(api)["days"] for slot in day["slots"]]


def bookable_slots_after_a_change(api) -> list[dict]:
    """Availability is a copy at most AVAILABILITY_MAX_AGE_SECONDS old (2 s, as on AWS): wait it out."""
    time.sleep(get_settings().availability_max_age_s)
    return bookable_slots(api)


def booking_body(slot_id: str, **changes) -> dict:
    return {
        "campaign_id": CAMPAIGN,
        "center_id": CENTER,
        "slot_id": slot_id,
        "flexible": False,
        "language": "en",
        "person": person(),
        **changes,
    }


def poll_until_decided(api, request_id: str, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = api.get(f"/v1/booking-requests/{request_id}")
        state = assert_matches_spec("GET", "/v1/booking-requests/{request_id}", response)
        assert response.status_code == 200
        if state["status"] != "queued":
            return state
        assert time.monotonic() < deadline, f"request {request_id} still queued after {timeout_s:.0f} s"
        time.sleep(0.3)


# --- the spec itself ---------------------------------------------------------------------------------


def test_the_spec_is_a_valid_openapi_document():
    from openapi_spec_validator import validate

    validate(SPEC)
    for name in (
        "Center",
        "Campaign",
        "Eligibility",
        "Availability",
        "SlotPair",
        "BookingRequest",
        "RequestState",
        "Booking",
        "Error",
    ):
        assert name in SPEC["components"]["schemas"], name
    assert set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]) >= {
        "code",
        "message",
        "field",
        "details",
    }


def test_the_audit_record_lists_every_action_the_code_writes():
    from chalicelib.booking.attendance import AttendanceAction
    from chalicelib.booking.audit import AuditAction

    written = {v for cls in (AuditAction, AttendanceAction) for k, v in vars(cls).items() if k.isupper()}
    assert set(SPEC["components"]["schemas"]["AuditRecord"]["properties"]["action"]["enum"]) == written


def test_the_helper_rejects_undocumented_statuses_and_bodies_that_do_not_match():
    class Fake:
        def __init__(self, status, body, content_type="application/json"):
            self.status_code, self._body = status, body
            self.headers = {"Content-Type": content_type}
            self.text = str(body)

        def json(self):
            return self._body

    with pytest.raises(AssertionError, match="status not documented"):
        assert_matches_spec("GET", "/v1/centers", Fake(404, {"error": {"code": "x", "message": "y"}}))
    with pytest.raises(AssertionError, match="does not match"):
        assert_matches_spec("GET", "/v1/centers", Fake(200, {"centers": [{"id": "dortmund"}]}))
    with pytest.raises(AssertionError, match="does not match"):
        assert_matches_spec(
            "GET",
            "/v1/centers",
            Fake(400, {"error": {"code": "invalid_request", "message": "m", "field": "postal_code", "details": []}}),
        )
    with pytest.raises(AssertionError, match="required header Retry-After"):
        assert_matches_spec("GET", "/v1/centers", Fake(503, {"error": {"code": "service_unavailable", "message": "m"}}))


def test_every_route_of_the_app_is_in_the_spec_with_the_same_methods_and_the_spec_has_no_other(stack):
    import app

    in_app = {path: {m.lower() for m in methods} for path, methods in app.app.routes.items()}
    in_spec = {path: {m for m in item if m in HTTP_METHODS} for path, item in SPEC["paths"].items()}
    assert in_spec == in_app


def test_the_description_says_staff_routes_are_missing_exactly_while_the_app_has_none(stack):
    import app

    staff_paths = [p for p in app.app.routes if "/staff" in p or "/admin" in p]
    says_missing = "not implemented yet" in SPEC["info"]["description"]
    assert says_missing == (not staff_paths)
    if staff_paths:
        assert SPEC["components"].get("securitySchemes"), "staff routes need their security scheme documented"


def test_exactly_the_staff_operations_need_the_cognito_scheme_as_the_app_routes_do(stack):
    import app

    scheme = SPEC["components"]["securitySchemes"]["CognitoStaffUserPool"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "security" not in SPEC, "the citizen routes are public"
    for path, item in SPEC["paths"].items():
        for method in (m for m in item if m in HTTP_METHODS):
            entry = app.app.routes[path][method.upper()]
            in_spec = item[method].get("security")
            if entry.authorizer is None:
                assert in_spec is None, f"{method} {path} is public in the app"
            else:
                assert entry.authorizer.name == "StaffUserPool" and path.startswith("/v1/staff/")
                assert in_spec == [{"CognitoStaffUserPool": []}], f"{method} {path} needs the staff token"
                assert {"401", "403"} <= set(item[method]["responses"]), f"{method} {path}"


# --- catalogue ---------------------------------------------------------------------------------------


def test_centres_are_listed_all_or_by_postal_code_and_a_bad_postal_code_is_invalid_postal_code(api):
    every = assert_matches_spec("GET", "/v1/centers", api.get("/v1/centers"))
    assert {c["id"] for c in every["centers"]} >= {"dortmund", "koeln", "muenster"}
    served = assert_matches_spec("GET", "/v1/centers", api.get("/v1/centers", params={"postal_code": POSTAL_CODE}))
    assert [c["id"] for c in served["centers"]] == ["dortmund"]
    nobody = assert_matches_spec("GET", "/v1/centers", api.get("/v1/centers", params={"postal_code": "10115"}))
    assert nobody["centers"] == []
    for bad in ("4414", "441411", "abcde"):
        error = assert_error(
            "GET",
            "/v1/centers",
            api.get("/v1/centers", params={"postal_code": bad}, headers={"Accept-Language": "en"}),
            400,
            "invalid_postal_code",
            "postal_code",
        )
        assert error["message"] == "Please enter a postal code of 5 digits."


def test_campaigns_are_listed_with_their_rules_and_status(api):
    body = assert_matches_spec("GET", "/v1/campaigns", api.get("/v1/campaigns"))
    by_id = {c["id"]: c for c in body["campaigns"]}
    assert by_id[CAMPAIGN]["status"] == "open"
    assert by_id["jahrgang-1941-comirnaty"]["status"] == "upcoming"


def test_eligibility_answers_eligible_or_a_documented_reason(api):
    def check(birth_date, postal_code):
        response = api.post("/v1/eligibility", json={"birth_date": birth_date, "postal_code": postal_code})
        assert response.status_code == 200
        return assert_matches_spec("POST", "/v1/eligibility", response)

    eligible = check(BIRTH_DATE, POSTAL_CODE)
    assert eligible["eligible"] is True and CAMPAIGN in [c["id"] for c in eligible["campaigns"]]
    upcoming = check("1941-05-01", POSTAL_CODE)
    assert (upcoming["eligible"], upcoming["reason"]) == (False, "not_yet_eligible") and "opens_at" in upcoming
    assert check(BIRTH_DATE, "10115")["reason"] == "outside_region"
    assert check("1990-05-01", POSTAL_CODE)["reason"] == "not_yet_eligible"


def test_eligibility_rejects_bad_bodies_as_invalid_request_naming_the_field(api):
    path = "/v1/eligibility"
    error = assert_error(
        "POST", path, api.post(path, json={"postal_code": POSTAL_CODE}), 400, "invalid_request", "birth_date"
    )
    assert error["details"][0]["code"] == "missing"
    error = assert_error(
        "POST",
        path,
        api.post(path, json={"birth_date": "1940-13-01", "postal_code": POSTAL_CODE}),
        400,
        "invalid_request",
        "birth_date",
    )
    assert error["details"][0]["code"] == "invalid_date"
    within_one_local_day(10)  # tomorrow as the API sees it when it answers
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    error = assert_error(
        "POST",
        path,
        api.post(path, json={"birth_date": tomorrow, "postal_code": POSTAL_CODE}),
        400,
        "invalid_request",
        "birth_date",
    )
    assert error["details"][0]["code"] == "invalid_birth_date"
    error = assert_error(
        "POST",
        path,
        api.post(path, json={"birth_date": BIRTH_DATE, "postal_code": "441"}),
        400,
        "invalid_request",
        "postal_code",
    )
    assert error["details"][0]["code"] == "invalid_postal_code"
    for raw in ("{not json", "[1, 2]", ""):
        error = assert_error(
            "POST",
            path,
            api.post(path, data=raw, headers={"Content-Type": "application/json"}),
            400,
            "invalid_request",
            "body",
        )
        assert error["details"][0]["code"] == "invalid_json"


def test_availability_lists_only_bookable_pairs_within_the_documented_limits(api):
    body = availability(api, days=28)
    assert (body["center_id"], body["campaign_id"]) == (CENTER, CAMPAIGN)
    assert body["days"], "the demo campaign has bookable days"
    for day in body["days"]:
        for slot in day["slots"]:
            assert slot["start"].startswith(day["date"]) and slot["second_dose"] is not None
    asked = (date.today() + timedelta(days=5)).isoformat()  # read once: the day may change meanwhile
    later = availability(api, days=2, **{"from": asked})
    assert all(d["date"] >= asked for d in later["days"])
    assert len(later["days"]) <= 2


def test_availability_rejects_bad_queries_and_unknown_ids_as_documented(api):
    path = "/v1/centers/{center_id}/availability"
    url = f"/v1/centers/{CENTER}/availability"
    assert_error("GET", path, api.get(url), 400, "invalid_request", "campaign")
    for days in ("0", "29", "many"):
        assert_error(
            "GET", path, api.get(url, params={"campaign": CAMPAIGN, "days": days}), 400, "invalid_request", "days"
        )
    assert_error(
        "GET", path, api.get(url, params={"campaign": CAMPAIGN, "from": "tomorrow"}), 400, "invalid_request", "from"
    )
    assert_error(
        "GET", path, api.get("/v1/centers/atlantis/availability", params={"campaign": CAMPAIGN}), 404, "unknown_center"
    )
    assert_error("GET", path, api.get(url, params={"campaign": "no-such-campaign"}), 404, "unknown_campaign")


# --- booking requests --------------------------------------------------------------------------------


def test_a_booking_request_with_bad_input_is_refused_with_a_documented_error(api):
    path = "/v1/booking-requests"
    slot = bookable_slots(api)[-1]["slot_id"]

    def post(body, **kwargs):
        return api.post(path, json=body, **kwargs)

    error = assert_error(
        "POST",
        path,
        post(booking_body(slot, person=person(email="not-an-address"))),
        400,
        "invalid_request",
        "person.email",
    )
    assert error["details"][0]["code"] == "invalid_email"
    error = assert_error(
        "POST",
        path,
        post(booking_body(slot, language="fr"), headers={"Accept-Language": "en"}),
        400,
        "invalid_request",
        "language",
    )
    assert error["details"][0]["message"] == "Language must be de or en."
    body = booking_body(slot)
    del body["person"]["given_name"]
    assert_error("POST", path, post(body), 400, "invalid_request", "person.given_name")
    error = assert_error("POST", path, post(booking_body("19990101T0900")), 400, "invalid_request", "slot_id")
    assert error["details"][0]["code"] == "unknown_slot"
    error = assert_error(
        "POST", path, post(booking_body(slot, person=person(birth_date="1990-05-01"))), 403, "not_eligible"
    )
    assert error["reason"] == "not_yet_eligible"
    unknown_campaign = assert_error(
        "POST", path, post(booking_body(slot, campaign_id="no-such-campaign")), 400, "invalid_request"
    )
    assert (unknown_campaign["field"], unknown_campaign["details"][0]["code"]) == ("campaign_id", "unknown_campaign")
    unknown_center = assert_error("POST", path, post(booking_body(slot, center_id="atlantis")), 400, "invalid_request")
    assert (unknown_center["field"], unknown_center["details"][0]["code"]) == ("center_id", "unknown_center")
    assert_error(
        "POST",
        path,
        api.post(path, data="{", headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
        "body",
    )


def test_the_same_idempotency_key_or_the_same_body_answers_the_same_request_and_a_reused_key_is_409(api, stack):
    path = "/v1/booking-requests"
    slots = bookable_slots(api)
    stack.wait_for_idle_queues()  # the race with a busy booking worker has its own test below
    body = booking_body(slots[-2]["slot_id"])
    key = f"spec-{uuid.uuid4().hex}"
    first = api.post(path, json=body, headers={"Idempotency-Key": key})
    accepted = assert_matches_spec("POST", path, first)
    assert first.status_code == 202 and accepted["status"] == "queued"
    assert accepted["poll"] == f"/v1/booking-requests/{accepted['request_id']}"
    repeated = api.post(path, json=body, headers={"Idempotency-Key": key})
    again = assert_matches_spec("POST", path, repeated)
    assert repeated.status_code == 202, again
    assert again["request_id"] == accepted["request_id"]
    assert_error(
        "POST",
        path,
        api.post(path, json={**body, "flexible": True}, headers={"Idempotency-Key": key}),
        409,
        "idempotency_key_reused",
    )
    assert poll_until_decided(api, accepted["request_id"])["status"] == "booked"
    stack.wait_for_idle_queues()

    unkeyed = booking_body(slots[-3]["slot_id"])
    responses = [api.post(path, json=unkeyed) for _ in range(2)]
    one, two = (assert_matches_spec("POST", path, r) for r in responses)
    assert [r.status_code for r in responses] == [202, 202], two
    assert one["request_id"] == two["request_id"]
    assert poll_until_decided(api, one["request_id"])["status"] == "booked"
    stack.wait_for_idle_queues()


def test_a_request_sent_twice_answers_the_same_request_id_even_while_the_booking_worker_is_busy(api, stack):
    """The contract has no exception for load: a client's retry right after its 202 gets that 202 again."""
    path = "/v1/booking-requests"
    slots = bookable_slots(api)
    answers = []
    for i in range(4):
        body = booking_body(slots[-6 - i]["slot_id"])  # the previous request is being booked meanwhile
        headers = {"Idempotency-Key": f"spec-{uuid.uuid4().hex}"} if i % 2 else {}
        responses = [api.post(path, json=body, headers=headers) for _ in range(2)]
        bodies = [assert_matches_spec("POST", path, r) for r in responses]
        answers.append((bool(headers), [r.status_code for r in responses], bodies[1]))
    stack.wait_for_idle_queues()
    assert all(statuses == [202, 202] for _, statuses, _ in answers), answers


def test_a_second_request_of_a_person_who_already_booked_is_rejected_as_already_booked(api, stack):
    path = "/v1/booking-requests"
    slots = bookable_slots(api)
    first = booking_body(slots[-11]["slot_id"])
    accepted = assert_matches_spec("POST", path, api.post(path, json=first))
    assert poll_until_decided(api, accepted["request_id"])["status"] == "booked"
    stack.wait_for_idle_queues()

    second = booking_body(slots[-12]["slot_id"], person=first["person"])
    response = api.post(path, json=second)
    assert response.status_code == 202, response.text
    state = poll_until_decided(api, assert_matches_spec("POST", path, response)["request_id"])
    assert (state["status"], state.get("reason")) == ("rejected", "already_booked"), state
    stack.wait_for_idle_queues()


def test_an_unknown_booking_request_is_unknown_request(api):
    assert_error(
        "GET",
        "/v1/booking-requests/{request_id}",
        api.get(f"/v1/booking-requests/{uuid.uuid4().hex}"),
        404,
        "unknown_request",
    )


# --- bookings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/bookings/{code}", "/v1/bookings/{code}/calendar.ics"])
def test_looking_up_an_unknown_code_is_unknown_booking_and_a_missing_birth_date_is_invalid_request(api, path):
    url = path.format(code="ABCD-EFGH-JK")
    assert_error("GET", path, api.get(url, params={"birth_date": BIRTH_DATE}), 404, "unknown_booking")
    assert_error("GET", path, api.get(url), 400, "invalid_request", "birth_date")
    assert_error("GET", path, api.get(url, params={"birth_date": "1899-12-31"}), 400, "invalid_request", "birth_date")


def test_cancelling_an_unknown_code_is_unknown_booking_and_a_bad_body_is_invalid_request(api):
    path = "/v1/bookings/{code}/cancel"
    url = "/v1/bookings/ABCD-EFGH-JK/cancel"
    assert_error("POST", path, api.post(url, json={"birth_date": BIRTH_DATE}), 404, "unknown_booking")
    assert_error("POST", path, api.post(url, json={}), 400, "invalid_request", "birth_date")
    assert_error(
        "POST",
        path,
        api.post(url, data="nope", headers={"Content-Type": "application/json"}),
        400,
        "invalid_request",
        "body",
    )


def test_a_booking_goes_from_eligibility_to_cancellation_with_every_answer_as_documented(api, stack):
    eligibility = api.post("/v1/eligibility", json={"birth_date": BIRTH_DATE, "postal_code": POSTAL_CODE})
    assert CAMPAIGN in [c["id"] for c in assert_matches_spec("POST", "/v1/eligibility", eligibility)["campaigns"]]

    slot = bookable_slots(api)[-4]
    body = booking_body(slot["slot_id"])
    submitted = api.post("/v1/booking-requests", json=body, headers={"Idempotency-Key": f"spec-{uuid.uuid4().hex}"})
    accepted = assert_matches_spec("POST", "/v1/booking-requests", submitted)
    assert submitted.status_code == 202

    state = poll_until_decided(api, accepted["request_id"])
    assert state["status"] == "booked", state
    booked = state["booking"]
    assert booked["first"]["slot_id"] == slot["slot_id"]
    assert booked["second"]["slot_id"] == slot["second_dose"]["slot_id"]
    code = booked["code"]
    stack.wait_for_idle_queues()
    remaining_booked = {s["slot_id"]: s["remaining"] for s in bookable_slots_after_a_change(api)}.get(
        slot["slot_id"], 0
    )

    looked_up = api.get(f"/v1/bookings/{code}", params={"birth_date": BIRTH_DATE})
    booking = assert_matches_spec("GET", "/v1/bookings/{code}", looked_up)
    assert looked_up.status_code == 200
    assert (booking["status"], booking["first"], booking["second"]) == ("active", booked["first"], booked["second"])
    assert booking["person"] == {"given_name": "Spec", "family_name": body["person"]["family_name"]}
    compact = assert_matches_spec(
        "GET",
        "/v1/bookings/{code}",
        api.get(f"/v1/bookings/{code.replace('-', '').lower()}", params={"birth_date": BIRTH_DATE}),
    )
    assert compact["code"] == code
    assert_error(
        "GET",
        "/v1/bookings/{code}",
        api.get(f"/v1/bookings/{code}", params={"birth_date": "1940-05-02"}),
        404,
        "unknown_booking",
    )

    calendar = api.get(f"/v1/bookings/{code}/calendar.ics", params={"birth_date": BIRTH_DATE})
    ics = assert_matches_spec("GET", "/v1/bookings/{code}/calendar.ics", calendar)
    assert calendar.status_code == 200 and calendar.headers["Content-Type"].startswith("text/calendar")
    assert ics.count("BEGIN:VEVENT") == 2 and code in ics

    cancel_path = "/v1/bookings/{code}/cancel"
    assert_error(
        "POST",
        cancel_path,
        api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": "1940-05-02"}),
        404,
        "unknown_booking",
    )
    cancelled = api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": BIRTH_DATE})
    assert assert_matches_spec("POST", cancel_path, cancelled) == {"code": code, "status": "cancelled"}
    assert cancelled.status_code == 200
    remaining_after = {s["slot_id"]: s["remaining"] for s in bookable_slots_after_a_change(api)}[slot["slot_id"]]
    assert remaining_after == remaining_booked + 1, "the first-dose slot goes back to availability within the bound"
    again = api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": BIRTH_DATE})
    assert assert_matches_spec("POST", cancel_path, again) == {"code": code, "status": "cancelled"}
    assert again.status_code == 200
    assert {s["slot_id"]: s["remaining"] for s in bookable_slots(api)}[slot["slot_id"]] == remaining_after

    after = assert_matches_spec(
        "GET", "/v1/bookings/{code}", api.get(f"/v1/bookings/{code}", params={"birth_date": BIRTH_DATE})
    )
    assert after["status"] == "cancelled"
    stack.wait_for_idle_queues()


REBOOK = "/v1/bookings/{code}/rebook"
STAFF_REBOOK = "/v1/staff/bookings/{code}/rebook"


def book(api, slot: dict, **changes) -> dict:
    """Book through the API and wait for the decision; the booked booking summary."""
    submitted = api.post("/v1/booking-requests", json=booking_body(slot["slot_id"], **changes))
    state = poll_until_decided(api, assert_matches_spec("POST", "/v1/booking-requests", submitted)["request_id"])
    assert state["status"] == "booked", state
    return state["booking"]


def test_a_rebook_moves_the_booking_and_every_answer_is_as_documented(api, stack):
    slots = bookable_slots(api)
    booked = book(api, slots[-6])
    code, target = booked["code"], slots[-9]
    url = REBOOK.format(code=code)

    moved = api.post(url, json={"birth_date": BIRTH_DATE, "slot_id": target["slot_id"]})
    body = assert_matches_spec("POST", REBOOK, moved)
    assert moved.status_code == 200 and moved.headers["Cache-Control"] == "no-store"
    assert (body["code"], body["status"], body["campaign_id"]) == (code, "active", CAMPAIGN)
    assert body["first"]["slot_id"] == target["slot_id"]
    looked_up = api.get(f"/v1/bookings/{code}", params={"birth_date": BIRTH_DATE}).json()
    assert (looked_up["first"], looked_up["second"]) == (body["first"], body["second"])

    again = api.post(url, json={"birth_date": BIRTH_DATE, "slot_id": target["slot_id"]})
    assert assert_matches_spec("POST", REBOOK, again) == body, "rebooking to the pair one holds changes nothing"

    assert_error(
        "POST",
        REBOOK,
        api.post(url, json={"birth_date": "1940-05-02", "slot_id": target["slot_id"]}),
        404,
        "unknown_booking",
    )
    assert_error("POST", REBOOK, api.post(url, json={"birth_date": BIRTH_DATE}), 400, "invalid_request", "slot_id")
    error = assert_error(
        "POST",
        REBOOK,
        api.post(url, json={"birth_date": BIRTH_DATE, "slot_id": "20990101T0900"}),
        400,
        "invalid_request",
        "slot_id",
    )
    assert error["details"][0]["code"] == "unknown_slot"
    api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": BIRTH_DATE})
    assert_error(
        "POST",
        REBOOK,
        api.post(url, json={"birth_date": BIRTH_DATE, "slot_id": slots[-7]["slot_id"]}),
        409,
        "booking_cancelled",
    )
    stack.wait_for_idle_queues()


def test_a_rebook_to_a_full_slot_is_409_slot_taken_with_alternatives_beside_the_error(api, stack):
    # A campaign of its own (open now, a series of its own): two first-dose slots of one seat, one second.
    campaign_id = f"spec-{uuid.uuid4().hex[:12]}"
    now = datetime.now(LOCAL_TZ)
    cohort = cohort_body(opens_at=(now - timedelta(hours=1)).isoformat(), series=f"spec-{uuid.uuid4().hex[:8]}")
    put = api.put(STAFF_CAMPAIGN.format(campaign_id=campaign_id), json=cohort, headers=OPS)
    assert assert_matches_spec("PUT", STAFF_CAMPAIGN, put)["series"] == cohort["series"]
    day = datetime.combine(date.today() + timedelta(days=2), clock(9, 15), LOCAL_TZ)
    release = {
        "center_id": CENTER,
        "slots": [
            {"start": s.isoformat(), "end": (s + timedelta(minutes=15)).isoformat(), "capacity": c}
            for s, c in ((day, 1), (day + timedelta(hours=1), 1), (day + timedelta(days=21), 2))
        ],
    }
    a, b, _ = assert_matches_spec(
        "POST",
        STAFF_CONTINGENT,
        api.post(STAFF_CONTINGENT.format(campaign_id=campaign_id), json=release, headers=ops_once()),
    )["slots"]
    born = "1925-06-01"
    book(api, a, campaign_id=campaign_id, person=person(birth_date=born))
    berta = book(api, b, campaign_id=campaign_id, person=person(birth_date=born))

    refused = api.post(
        REBOOK.format(code=berta["code"]),
        json={"birth_date": born, "slot_id": a["slot_id"]},
        headers={"Accept-Language": "en"},
    )
    body = assert_matches_spec("POST", REBOOK, refused)
    assert refused.status_code == 409 and body["error"]["code"] == "slot_taken"
    assert [p["slot_id"] for p in body["alternatives"]] == [b["slot_id"]]  # her own slot counts as free for her
    unchanged = api.get(f"/v1/bookings/{berta['code']}", params={"birth_date": born}).json()
    assert (unchanged["first"], unchanged["second"]) == (berta["first"], berta["second"])
    stack.wait_for_idle_queues()


def test_a_booking_at_a_centre_outside_the_catchment_is_refused_naming_the_centre(api):
    koeln = api.get("/v1/centers/koeln/availability", params={"campaign": CAMPAIGN, "days": 7}).json()
    slot_id = koeln["days"][0]["slots"][0]["slot_id"]
    error = assert_error(
        "POST",
        "/v1/booking-requests",
        api.post("/v1/booking-requests", json=booking_body(slot_id, center_id="koeln")),
        400,
        "invalid_request",
        "center_id",
    )
    assert error["details"][0]["code"] == "outside_catchment"


# --- staff -------------------------------------------------------------------------------------------

OPS = {"Authorization": local_staff_token("spec-ops", "ops")}
HOTLINE = {"Authorization": local_staff_token("spec-hotline", "hotline")}
NO_GROUP = {"Authorization": local_staff_token("spec-nobody")}
STAFF_CAMPAIGN = "/v1/staff/campaigns/{campaign_id}"
STAFF_CONTINGENT = "/v1/staff/campaigns/{campaign_id}/contingents"
STAFF_BOOKING = "/v1/staff/booking-requests"


def cohort_body(**changes) -> dict:
    """A cohort nobody else in the tests is born in, opening far ahead: it changes no other test's answer."""
    opens_at = datetime.combine(date.today() + timedelta(days=120), clock(8), LOCAL_TZ)
    return {
        "name": "Spec Jahrgang 1925",
        "vaccine": "comirnaty",
        "doses": 2,
        "interval_days": {"min": 21, "max": 42},
        "regions": ["westfalen-lippe"],
        "center_ids": [CENTER],
        "opens_at": opens_at.isoformat(),
        "born_on_or_after": "1925-01-01",
        "born_on_or_before": "1925-12-31",
        **changes,
    }


def contingent_body(first_day: int = 30, capacity: int = 3, center_id: str = CENTER) -> dict:
    start = datetime.combine(date.today() + timedelta(days=first_day), clock(9, 15), LOCAL_TZ)
    return {
        "center_id": center_id,
        "slots": [
            {"start": s.isoformat(), "end": (s + timedelta(minutes=15)).isoformat(), "capacity": capacity}
            for s in (start, start + timedelta(days=28))
        ],
    }


def ops_once() -> dict:
    """Ops headers with a fresh Idempotency-Key: each call is a release of its own."""
    return {**OPS, "Idempotency-Key": uuid.uuid4().hex}


def new_campaign(api) -> str:
    campaign_id = f"spec-{uuid.uuid4().hex[:12]}"
    response = api.put(STAFF_CAMPAIGN.format(campaign_id=campaign_id), json=cohort_body(), headers=OPS)
    assert assert_matches_spec("PUT", STAFF_CAMPAIGN, response)["id"] == campaign_id
    assert response.status_code == 200
    return campaign_id


@pytest.mark.parametrize(
    "method, path, url, body",
    [
        ("PUT", STAFF_CAMPAIGN, "/v1/staff/campaigns/spec-x", cohort_body()),
        ("POST", STAFF_CONTINGENT, f"/v1/staff/campaigns/{CAMPAIGN}/contingents", contingent_body()),
        ("POST", STAFF_BOOKING, STAFF_BOOKING, {}),
        ("POST", STAFF_REBOOK, "/v1/staff/bookings/ABCD-EFGH-JK/rebook", {}),
    ],
)
def test_a_staff_route_without_a_token_is_unauthorized(api, method, path, url, body):
    error = assert_error(
        method, path, api.request(method, url, json=body, headers={"Accept-Language": "en"}), 401, "unauthorized"
    )
    assert error["message"] == "Sign-in required."


def test_a_staff_member_outside_the_required_group_is_forbidden(api):
    assert_error(
        "PUT",
        STAFF_CAMPAIGN,
        api.put("/v1/staff/campaigns/spec-x", json=cohort_body(), headers=HOTLINE),
        403,
        "forbidden",
    )
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(f"/v1/staff/campaigns/{CAMPAIGN}/contingents", json=contingent_body(), headers=HOTLINE),
        403,
        "forbidden",
    )
    assert_error("POST", STAFF_BOOKING, api.post(STAFF_BOOKING, json={}, headers=NO_GROUP), 403, "forbidden")
    assert_error(
        "POST",
        STAFF_REBOOK,
        api.post("/v1/staff/bookings/ABCD-EFGH-JK/rebook", json={}, headers=NO_GROUP),
        403,
        "forbidden",
    )


def test_ops_put_a_campaign_and_get_it_back_as_in_the_campaign_list(api):
    campaign_id = f"spec-{uuid.uuid4().hex[:12]}"
    url = STAFF_CAMPAIGN.format(campaign_id=campaign_id)
    response = api.put(url, json=cohort_body(), headers=OPS)
    campaign = assert_matches_spec("PUT", STAFF_CAMPAIGN, response)
    assert response.status_code == 200 and "status" not in campaign
    assert (campaign["id"], campaign["interval_days"], campaign["eligibility"]["born_on_or_after"]) == (
        campaign_id,
        {"min": 21, "max": 42},
        "1925-01-01",
    )
    again = api.put(url, json=cohort_body(), headers=OPS)
    assert assert_matches_spec("PUT", STAFF_CAMPAIGN, again) == campaign, "putting the same campaign is idempotent"
    single = api.put(url, json=cohort_body(doses=1), headers=OPS)
    assert assert_matches_spec("PUT", STAFF_CAMPAIGN, single)["interval_days"] is None


def test_a_bad_campaign_is_invalid_request_naming_the_field(api):
    url = f"/v1/staff/campaigns/spec-{uuid.uuid4().hex[:12]}"
    error = assert_error(
        "PUT",
        STAFF_CAMPAIGN,
        api.put(url, json=cohort_body(center_ids=["atlantis"]), headers=OPS),
        400,
        "invalid_request",
        "center_ids",
    )
    assert error["details"][0]["code"] == "unknown_center"
    no_offset = cohort_body(opens_at="2030-01-01T08:00:00")
    assert_error("PUT", STAFF_CAMPAIGN, api.put(url, json=no_offset, headers=OPS), 400, "invalid_request", "opens_at")
    error = assert_error(
        "PUT",
        STAFF_CAMPAIGN,
        api.put(url, json=cohort_body(regions=[]), headers=OPS),
        400,
        "invalid_request",
        "regions",
    )
    assert error["details"][0]["code"] == "out_of_range"
    assert_error(
        "PUT",
        STAFF_CAMPAIGN,
        api.put(f"/v1/staff/campaigns/{'x' * 65}", json=cohort_body(), headers=OPS),
        400,
        "invalid_request",
        "campaign_id",
    )


def test_ops_release_a_contingent_and_get_every_slot_back_with_its_total_capacity(api):
    campaign_id = new_campaign(api)
    url = STAFF_CONTINGENT.format(campaign_id=campaign_id)
    response = api.post(url, json=contingent_body(capacity=3), headers=ops_once())
    released = assert_matches_spec("POST", STAFF_CONTINGENT, response)
    assert response.status_code == 201
    assert (released["campaign_id"], released["center_id"]) == (campaign_id, CENTER)
    assert [(s["capacity"], s["booked"], s["remaining"]) for s in released["slots"]] == [(3, 0, 3), (3, 0, 3)]
    more = assert_matches_spec(
        "POST", STAFF_CONTINGENT, api.post(url, json=contingent_body(capacity=5), headers=ops_once())
    )
    assert [s["slot_id"] for s in more["slots"]] == [s["slot_id"] for s in released["slots"]]
    assert [s["capacity"] for s in more["slots"]] == [8, 8], "a second release adds its capacity"


def test_a_contingent_retried_with_its_idempotency_key_is_released_once(api):
    campaign_id = new_campaign(api)
    url = STAFF_CONTINGENT.format(campaign_id=campaign_id)
    once = ops_once()
    first = assert_matches_spec("POST", STAFF_CONTINGENT, api.post(url, json=contingent_body(capacity=3), headers=once))
    again = assert_matches_spec("POST", STAFF_CONTINGENT, api.post(url, json=contingent_body(capacity=3), headers=once))
    assert again == first and [s["capacity"] for s in again["slots"]] == [3, 3]
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json=contingent_body(capacity=4), headers=once),
        409,
        "idempotency_key_reused",
    )
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json=contingent_body(), headers=OPS),
        400,
        "invalid_request",
        "Idempotency-Key",
    )


def test_a_bad_contingent_is_refused_as_documented(api):
    campaign_id = new_campaign(api)
    url = STAFF_CONTINGENT.format(campaign_id=campaign_id)
    bad = contingent_body()
    bad["slots"][1]["capacity"] = 0
    error = assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json=bad, headers=ops_once()),
        400,
        "invalid_request",
        "slots.1.capacity",
    )
    assert error["details"][0]["code"] == "out_of_range"
    error = assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json=contingent_body(first_day=-2), headers=ops_once()),
        400,
        "invalid_request",
        "slots.0.start",
    )
    assert error["details"][0]["code"] == "out_of_range"
    error = assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json=contingent_body(center_id="koeln"), headers=ops_once()),
        400,
        "invalid_request",
        "center_id",
    )
    assert error["details"][0]["code"] == "center_not_in_campaign"
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, json={"center_id": CENTER, "slots": []}, headers=ops_once()),
        400,
        "invalid_request",
        "slots",
    )
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(url, data="{", headers={**ops_once(), "Content-Type": "application/json"}),
        400,
        "invalid_request",
        "body",
    )
    assert_error(
        "POST",
        STAFF_CONTINGENT,
        api.post(
            f"/v1/staff/campaigns/spec-{uuid.uuid4().hex}/contingents", json=contingent_body(), headers=ops_once()
        ),
        404,
        "unknown_campaign",
    )


def test_a_hotline_booking_is_accepted_like_a_web_booking_and_booked(api, stack):
    slot = bookable_slots(api)[-15]
    body = booking_body(slot["slot_id"], flexible=True)
    response = api.post(STAFF_BOOKING, json=body, headers={**HOTLINE, "Idempotency-Key": f"spec-{uuid.uuid4().hex}"})
    accepted = assert_matches_spec("POST", STAFF_BOOKING, response)
    assert response.status_code == 202 and accepted["poll"] == f"/v1/booking-requests/{accepted['request_id']}"
    assert poll_until_decided(api, accepted["request_id"])["status"] == "booked"
    stack.wait_for_idle_queues()


def test_a_hotline_booking_with_bad_input_is_refused_with_a_documented_error(api):
    slot = bookable_slots(api)[-1]["slot_id"]
    error = assert_error(
        "POST",
        STAFF_BOOKING,
        api.post(STAFF_BOOKING, json=booking_body(slot, person=person(email="none")), headers=HOTLINE),
        400,
        "invalid_request",
        "person.email",
    )
    assert error["details"][0]["code"] == "invalid_email"
    error = assert_error(
        "POST",
        STAFF_BOOKING,
        api.post(STAFF_BOOKING, json=booking_body(slot, person=person(birth_date="1990-05-01")), headers=HOTLINE),
        403,
        "not_eligible",
    )
    assert error["reason"] == "not_yet_eligible"


# --- errors every route can answer -------------------------------------------------------------------

EXAMPLE_URLS = {
    "/v1/centers": "/v1/centers",
    "/v1/campaigns": "/v1/campaigns",
    "/v1/eligibility": "/v1/eligibility",
    "/v1/centers/{center_id}/availability": f"/v1/centers/{CENTER}/availability?campaign={CAMPAIGN}",
    "/v1/verifications": "/v1/verifications",
    "/v1/booking-requests": "/v1/booking-requests",
    "/v1/booking-requests/{request_id}": "/v1/booking-requests/unknown",
    "/v1/bookings/{code}": f"/v1/bookings/ABCD-EFGH-JK?birth_date={BIRTH_DATE}",
    "/v1/bookings/{code}/cancel": "/v1/bookings/ABCD-EFGH-JK/cancel",
    "/v1/bookings/{code}/calendar.ics": f"/v1/bookings/ABCD-EFGH-JK/calendar.ics?birth_date={BIRTH_DATE}",
    "/v1/bookings/{code}/lookup": "/v1/bookings/ABCD-EFGH-JK/lookup",
    "/v1/bookings/{code}/rebook": "/v1/bookings/ABCD-EFGH-JK/rebook",
    "/v1/staff/bookings/{code}/rebook": "/v1/staff/bookings/ABCD-EFGH-JK/rebook",
    "/v1/staff/booking-requests": "/v1/staff/booking-requests",
    "/v1/staff/campaigns/{campaign_id}": "/v1/staff/campaigns/spec-x",
    "/v1/staff/campaigns/{campaign_id}/contingents": f"/v1/staff/campaigns/{CAMPAIGN}/contingents",
    # supply changes and reports (ops)
    "/v1/staff/campaigns/{campaign_id}/capacity-cuts": f"/v1/staff/campaigns/{CAMPAIGN}/capacity-cuts",
    "/v1/staff/campaigns/{campaign_id}/centre-day-operations": f"/v1/staff/campaigns/{CAMPAIGN}/centre-day-operations",
    "/v1/staff/operations/{operation_id}": "/v1/staff/operations/" + "0" * 32,
    "/v1/staff/operations/{operation_id}/letters": "/v1/staff/operations/" + "0" * 32 + "/letters",
    "/v1/staff/operations/{operation_id}/letters/{code}/mark": "/v1/staff/operations/"
    + "0" * 32
    + "/letters/ABCD-EFGH-JK/mark",
    "/v1/staff/bookings/{code}/second-dose": "/v1/staff/bookings/ABCD-EFGH-JK/second-dose",
    "/v1/staff/reports/daily": f"/v1/staff/reports/daily?campaign={CAMPAIGN}&from=2030-01-01&to=2030-01-02",
    # waiting room (§8)
    "/v1/campaigns/{campaign_id}/waiting-room": f"/v1/campaigns/{CAMPAIGN}/waiting-room",
    "/v1/campaigns/{campaign_id}/waiting-room/entries": f"/v1/campaigns/{CAMPAIGN}/waiting-room/entries",
    "/v1/waiting-room/entries/{entry_id}": "/v1/waiting-room/entries/unknown",
    "/v1/staff/campaigns/{campaign_id}/waiting-room": f"/v1/staff/campaigns/{CAMPAIGN}/waiting-room",
    "/v1/staff/campaigns/{campaign_id}/waiting-room/entries": f"/v1/staff/campaigns/{CAMPAIGN}/waiting-room/entries",
    # hotline look-up and cancel, the audit (issue #13)
    "/v1/staff/bookings/{code}": f"/v1/staff/bookings/ABCD-EFGH-JK?birth_date={BIRTH_DATE}",
    "/v1/staff/bookings": f"/v1/staff/bookings?given_name=A&family_name=B&birth_date={BIRTH_DATE}&postal_code=44141",
    "/v1/staff/bookings/{code}/cancel": "/v1/staff/bookings/ABCD-EFGH-JK/cancel",
    "/v1/staff/bookings/{code}/contact": "/v1/staff/bookings/ZZZZ-ZZZZ-ZZ/contact",
    "/v1/staff/audit": "/v1/staff/audit?from=2031-01-01&to=2031-01-01",
    # centre staff (issue #13)
    "/v1/staff/centers/{center_id}/days/{day}": f"/v1/staff/centers/{CENTER}/days/2030-01-01",
    "/v1/staff/centers/{center_id}/bookings/{code}/check-in": f"{DESK_BOOKING}/check-in",
    "/v1/staff/centers/{center_id}/bookings/{code}/no-show": f"{DESK_BOOKING}/no-show",
    "/v1/staff/centers/{center_id}/bookings/{code}/undo-mark": f"{DESK_BOOKING}/undo-mark",
}


def test_every_spec_path_has_an_example_url_in_these_tests():
    assert set(EXAMPLE_URLS) == set(SPEC["paths"])


@pytest.mark.parametrize("path", sorted(EXAMPLE_URLS))
def test_a_method_a_path_does_not_have_answers_405_with_allow(api, path):
    documented = {m for m in SPEC["paths"][path] if m in HTTP_METHODS}
    for method in ("put", "delete", "patch", "post", "get"):
        if method in documented:
            continue
        response = api.request(method.upper(), EXAMPLE_URLS[path], json={}, headers={"Accept-Language": "en"})
        assert_error(method, path, response, 405, "method_not_allowed")
        assert {m.strip().lower() for m in response.headers["Allow"].split(",")} == documented


@pytest.mark.parametrize("path", sorted(EXAMPLE_URLS))
def test_a_body_that_is_not_json_answers_415_on_every_route(api, path):
    for method in (m for m in SPEC["paths"][path] if m in HTTP_METHODS):
        response = api.request(
            method.upper(),
            EXAMPLE_URLS[path],
            data="birth_date=1940-05-01",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_error(method, path, response, 415, "unsupported_media_type")


def test_an_unknown_path_answers_unknown_route_in_the_error_shape(api):
    response = api.get("/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    _validate("/components/responses/UnknownRoute/content/application~1json/schema", response.json())
    assert response.json()["error"] == {"code": "unknown_route", "message": "This address does not exist."}


def test_a_hotline_agent_rebooks_for_a_caller_like_the_citizen_route(api, stack):
    slots = bookable_slots(api)
    booked = book(api, slots[-20])
    url = STAFF_REBOOK.format(code=booked["code"])
    wrong_birth_date = {"birth_date": "1940-05-02", "slot_id": slots[-21]["slot_id"]}
    assert_error("POST", STAFF_REBOOK, api.post(url, json=wrong_birth_date, headers=HOTLINE), 404, "unknown_booking")
    moved = api.post(
        url, json={"birth_date": BIRTH_DATE, "slot_id": slots[-21]["slot_id"], "flexible": True}, headers=HOTLINE
    )
    body = assert_matches_spec("POST", STAFF_REBOOK, moved)
    assert moved.status_code == 200 and body["code"] == booked["code"] and body["status"] == "active"
    assert body["first"]["slot_id"] != booked["first"]["slot_id"]
    stack.wait_for_idle_queues()
