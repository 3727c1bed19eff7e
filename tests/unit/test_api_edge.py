import pytest

from chalicelib.api import errors, schemas


@pytest.mark.parametrize("header, expected", [
    (None, "de"), ("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9,en;q=0.8", "de"), ("fr, en;q=0.5", "en"),
    ("en;q=0.3, de;q=0.7", "de"),
])
def test_the_language_follows_accept_language_and_defaults_to_german(header, expected):
    assert errors.language_of(header) == expected


def test_every_bad_field_of_a_booking_request_is_named_with_its_own_code():
    body = {"campaign_id": "c", "center_id": "x", "slot_id": "s",
            "person": {"given_name": "", "family_name": "M", "birth_date": "1940-13-01", "postal_code": "4414",
                       "email": "no-at-sign"}}
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse(schemas.BookingRequestBody, body)
    problems = {(p.field, p.code) for p in raised.value.problems}
    assert problems == {("person.given_name", "invalid_name"), ("person.birth_date", "invalid_date"),
                        ("person.postal_code", "invalid_postal_code"), ("person.email", "invalid_email")}
    rendered = errors.error_body(raised.value, "en")["error"]
    assert rendered["code"] == "invalid_request" and rendered["field"].startswith("person.")


def test_a_body_that_is_not_json_is_a_400_not_a_500():
    with pytest.raises(errors.ApiError) as raised:
        schemas.parse_json_body(schemas.EligibilityBody, b"{not json")
    assert raised.value.status == 400 and raised.value.problems[0].code == "invalid_json"


def test_every_machine_code_has_a_german_and_an_english_message():
    for code, texts in {**errors.MESSAGES, **errors.FIELD_MESSAGES}.items():
        assert set(texts) == {"de", "en"} and all(texts.values()), code
