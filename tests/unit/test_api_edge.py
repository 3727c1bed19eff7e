from datetime import date, timedelta

import pytest
from chalice import Chalice, Response

from chalicelib.api import errors, http, schemas
from chalicelib.booking import domain as d
from tests.clock_edges import within_one_local_day


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "de"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0.3, de;q=0.7", "de"),
    ],
)
def test_the_language_follows_accept_language_and_defaults_to_german(header, expected):
    assert errors.language_of(header) == expected


def test_every_bad_field_of_a_booking_request_is_named_with_its_own_code():
    body = {
        "campaign_id": "c",
        "center_id": "x",
        "slot_id": "s",
        "person": {
            "given_name": "",
            "family_name": "M",
            "birth_date": "1940-13-01",
            "postal_code": "4414",
            "email": "no-at-sign",
        },
    }
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse(schemas.BookingRequestBody, body)
    problems = {(p.field, p.code) for p in raised.value.problems}
    assert problems == {
        ("person.given_name", "invalid_name"),
        ("person.birth_date", "invalid_date"),
        ("person.postal_code", "invalid_postal_code"),
        ("person.email", "invalid_email"),
    }
    rendered = errors.error_body(raised.value, "en")["error"]
    assert rendered["code"] == "invalid_request" and rendered["field"].startswith("person.")


def test_a_body_that_is_not_json_is_a_400_not_a_500():
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse_json_body(schemas.EligibilityBody, b"{not json")
    assert raised.value.status == 400 and raised.value.problems[0].code == "invalid_json"


def test_every_machine_code_has_a_german_and_an_english_message():
    for code, texts in {**errors.MESSAGES, **errors.FIELD_MESSAGES}.items():
        assert set(texts) == {"de", "en"} and all(texts.values()), code


# --- hostile input: every one a 4xx in the contract's shape, decided before a service sees it -------

PERSON = {
    "given_name": "Erna",
    "family_name": "Müller",
    "birth_date": "1940-05-01",
    "postal_code": "44141",
    "email": "erna@example.org",
}


def _person_problem(**changes) -> tuple[str, str] | None:
    try:
        schemas.parse(schemas.PersonBody, {**PERSON, **changes})
    except errors.ApiError as error:
        assert error.status == 400 and error.code == "invalid_request"
        return error.problems[0].field, error.problems[0].code
    return None


@pytest.mark.parametrize("depth", [9, 100, 5_000])
def test_deeply_nested_json_is_a_400_before_the_parser_recurses(depth):
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse_json_body(schemas.EligibilityBody, b"[" * depth + b"]" * depth)
    assert raised.value.status == 400 and raised.value.problems[0].code == "too_deeply_nested"


def test_brackets_inside_strings_do_not_count_as_nesting():
    body = b'{"birth_date": "1940-05-01", "postal_code": "44141", "note": "[[[[[[[[[[[[{{{{{{{{\\"[[[["}'
    assert schemas.parse_json_body(schemas.EligibilityBody, body).postal_code == "44141"


def test_a_body_over_16_kib_is_a_413():
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse_json_body(schemas.EligibilityBody, b" " * (16 * 1024 + 1))
    assert (raised.value.status, raised.value.code) == (413, "payload_too_large")
    assert errors.error_body(raised.value, "en")["error"]["message"]


def test_a_contingent_may_be_larger_than_a_citizen_body():
    slot = '{"start": "2090-01-01T10:00:00+01:00", "end": "2090-01-01T10:30:00+01:00", "capacity": 1}'
    body = ('{"center_id": "dortmund", "slots": [' + ", ".join([slot] * 300) + "]}").encode()
    assert len(body) > 16 * 1024
    assert len(schemas.parse_json_body(schemas.ContingentBody, body).slots) == 300


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2100-01-01", "1999-12-31"])
def test_an_availability_day_far_from_today_is_out_of_range_not_an_overflow(day):
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse(schemas.AvailabilityQuery, {"campaign": "c", "from": day})
    assert raised.value.problems[0] == errors.FieldProblem("from", "out_of_range")


def test_availability_from_a_date_this_century_is_accepted():
    assert schemas.parse(schemas.AvailabilityQuery, {"campaign": "c", "from": "2099-12-31"}).from_ == date(2099, 12, 31)


@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
def test_a_campaign_opening_in_year_9999_is_out_of_range(field):
    body = {
        "name": "X",
        "vaccine": "v",
        "doses": 1,
        "regions": ["r"],
        "center_ids": ["c"],
        "opens_at": "2030-01-01T08:00:00+01:00",
        field: "9999-12-31T23:59:59+00:00",
    }
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse(schemas.CampaignBody, body)
    assert raised.value.problems[0] == errors.FieldProblem(field, "out_of_range")


def test_a_birth_date_in_the_future_or_before_1900_is_refused_today_is_accepted():
    within_one_local_day(1)  # the check reads today again: tomorrow must still be tomorrow then
    tomorrow = (schemas._today() + timedelta(days=1)).isoformat()
    assert _person_problem(birth_date=tomorrow) == ("birth_date", "invalid_birth_date")
    assert _person_problem(birth_date="1899-12-31") == ("birth_date", "invalid_birth_date")
    assert _person_problem(birth_date=schemas._today().isoformat()) is None


@pytest.mark.parametrize(
    "address",
    [
        "a@b.co;c",
        "a,b@c.de",
        "a\x00b@c.de",
        "a@c.de\x00",
        "=?utf-8?q?=41?=@c.de",
        "a@=?utf-8?b?QQ==?=.de",
        "Erna <a@c.de>",
        "a@c.de\r\nBcc: x@y.de",
        '"a b"@c.de',
        "a@localhost",
        "a@[127.0.0.1]",
        "a" * 250 + "@c.de",
    ],
)
def test_addresses_that_would_fail_in_ses_or_rendering_are_refused(address):
    assert _person_problem(email=address) == ("email", "invalid_email")


def test_an_umlaut_before_the_at_sign_is_refused_with_its_own_message():
    assert _person_problem(email="ü@bücher.de") == ("email", "invalid_email_local_part")
    assert "@" in errors.FIELD_MESSAGES["invalid_email_local_part"]["de"]


def test_an_umlaut_domain_is_accepted_and_kept_in_punycode_so_ses_can_send_it():
    person = schemas.parse(schemas.PersonBody, {**PERSON, "email": "  juergen@Bücher.DE "})
    assert person.email == "juergen@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "name",
    [
        "Jür\x00gen",
        "Jürgen\x07",
        "\u202eJürgen",
        "Jür\u2066gen",
        "Jürgen\u200f",
        "Jürgen\n Max",
        "Jür\u2028gen",
        "Jür\tgen",
        "<script>",
        "http://x.example",
        "Jürgen 😀",
        "Jürgen\ue000",
        "J" * 101,
        "   ",
        "\u200b",
    ],
)
def test_names_with_controls_bidi_tricks_symbols_or_too_many_letters_are_refused(name):
    assert _person_problem(given_name=name) == ("given_name", "invalid_name")


@pytest.mark.parametrize(
    "name, kept",
    [
        ("Jürgen", "Jürgen"),
        ("Hans-Peter", "Hans-Peter"),
        ("O'Brien", "O'Brien"),
        ("Ana María", "Ana María"),
        ("Jürgen\u200b", "Jürgen"),
        ("Ju\u0308rgen", "Jürgen"),
        ("  Marie   Luise ", "Marie Luise"),
        ("Zoë D’Arcy", "Zoë D’Arcy"),
        ("Mehmet Öztürk", "Mehmet Öztürk"),
        ("Ирина", "Ирина"),
        ("李", "李"),
        ("J. R. R.", "J. R. R."),
        ("Spec Contract-3f9a", "Spec Contract-3f9a"),
    ],
)
def test_real_names_are_accepted_and_kept_readable(name, kept):
    assert schemas.parse(schemas.PersonBody, {**PERSON, "given_name": name}).given_name == kept


def test_a_lone_surrogate_in_a_name_is_a_400():
    assert _person_problem(given_name="Jür\udfffgen") == ("given_name", "invalid")


@pytest.mark.parametrize("code", ["ABCD-EFGH-JK", "abcd efgh jk", "abcdefghjk"])
def test_a_booking_code_as_people_type_it_is_accepted(code):
    assert schemas.booking_code(code) == "ABCD-EFGH-JK"


@pytest.mark.parametrize(
    "code",
    [
        "",
        "ABCD-EFGH-J",
        "ABCD-EFGH-JKL",
        "ABCD-EFGH-J0",
        "A" * 5000,
        "ＡＢＣＤＥＦＧＨＪＫ",
        "ABCD-EFGH-JK' OR 1=1",
        "ABCD-EFGH-J\x00K",
        "ABCD/EFGH/JK",
    ],
)
def test_an_impossible_booking_code_answers_exactly_like_an_unknown_one(code):
    with pytest.raises(errors.ApiError) as raised:
        schemas.booking_code(code)
    unknown = errors.from_exception(d.BookingNotFound())
    assert unknown is not None
    assert errors.error_body(raised.value, "de") == errors.error_body(unknown, "de")
    assert raised.value.status == unknown.status == 404


def _app_with_one_route():
    app = Chalice(app_name="edge-test")
    app.register_middleware(http.chalice_errors_to_contract, "http")
    seen = []

    @app.route("/v1/bookings/{code}")
    @http.api_view(app)
    def lookup(code):
        seen.append(code)
        return http.json_response({"code": code})

    @app.route("/cached")
    def cached():
        return Response(body="{}", headers={"Cache-Control": "max-age=30"})

    return app, seen


def test_the_path_code_is_checked_before_the_view_runs_and_every_answer_carries_security_headers():
    from chalice.test import Client

    app, seen = _app_with_one_route()
    with Client(app) as client:
        bad = client.http.get("/v1/bookings/" + "A" * 300)
        good = client.http.get("/v1/bookings/abcd-efgh-jk")
        cached = client.http.get("/cached")
    assert bad.status_code == 404 and bad.json_body["error"]["code"] == "unknown_booking"
    assert good.status_code == 200 and seen == ["ABCD-EFGH-JK"]
    for response in (bad, good):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert cached.headers["Cache-Control"] == "max-age=30" and cached.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("key", ["k" * 201, "schl\u00fcssel", "a\nb"])
def test_an_idempotency_key_that_is_too_long_or_not_printable_ascii_is_a_400(key):
    with pytest.raises(errors.ApiError) as raised:
        schemas.check_idempotency_key({"idempotency-key": key})
    assert raised.value.problems == [errors.FieldProblem("Idempotency-Key", "invalid")]


def test_an_ordinary_idempotency_key_or_none_passes():
    schemas.check_idempotency_key({"idempotency-key": "3f9a-7c1e-" + "x" * 190})
    schemas.check_idempotency_key({})
