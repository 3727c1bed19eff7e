"""A failed verification says why (`reason` of 403 verification_failed), so the site can tell a citizen whether
to type the code again or to ask for a new one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.api import errors
from chalicelib.verification import domain as v
from tests.e2e.test_openapi_contract import _validate
from tests.unit.builders import NOW
from tests.unit.test_verification import VERIFIED, Setup, wrong

BOOKING_REQUEST_403 = "/paths/~1v1~1booking-requests/post/responses/403/content/application~1json/schema"


def reason_of(setup: Setup, verification_id: str, code: str, **kw) -> str:
    with pytest.raises(v.VerificationFailed) as failed:
        setup.require(verification_id, code, **kw)
    api_error = errors.from_exception(failed.value)
    assert api_error is not None and api_error.status == 403
    body = errors.error_body(api_error, "de")
    _validate(BOOKING_REQUEST_403, body)  # as docs/openapi.yaml documents it
    assert body["error"]["code"] == "verification_failed"
    return body["error"]["reason"]


def test_a_wrong_code_says_wrong_code_and_the_sixth_attempt_says_used_up():
    setup = Setup()
    verification_id, code = setup.start()
    assert [reason_of(setup, verification_id, wrong(code)) for _ in range(5)] == ["wrong_code"] * 5
    assert reason_of(setup, verification_id, code) == "used_up"


def test_a_code_after_fifteen_minutes_says_expired_and_so_does_a_verified_address_after_its_hour():
    setup = Setup()
    verification_id, code = setup.start()
    setup.clock.advance(15 * 60)
    assert reason_of(setup, verification_id, code) == "expired"

    verification_id, code = setup.start()
    setup.require(verification_id, code)
    setup.clock.advance(61 * 60)
    assert reason_of(setup, verification_id, code) == "expired"


@pytest.mark.parametrize("email, campaign_id", [("hans@example.org", VERIFIED.id), ("erna@example.org", "other")])
def test_another_address_or_campaign_says_unknown_like_an_unknown_verification_and_uses_no_attempt(email, campaign_id):
    setup = Setup()
    setup.world.catalog.add_campaign(replace(VERIFIED, id="other"))
    verification_id, code = setup.start()
    assert reason_of(setup, "0" * 32, code) == "unknown"
    for _ in range(6):  # more than the 5 attempts: none is taken for a proof of another address or campaign
        assert reason_of(setup, verification_id, code, email=email, campaign_id=campaign_id) == "unknown"
    setup.require(verification_id, code)
    assert setup.clock() == NOW
