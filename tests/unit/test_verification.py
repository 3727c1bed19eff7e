"""Contact verification: a code is sent once per request, expires, allows 5 wrong attempts, and binds one
address to one campaign."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.contracts.mail import MailKind
from chalicelib.limits.abuse import AbuseLimits
from chalicelib.limits.domain import Limit, TooManyRequests
from chalicelib.limits.limiter import Limiter
from chalicelib.notify.services import MailService
from chalicelib.verification import domain as v
from chalicelib.verification.service import VerificationService
from tests.fakes import FakeCounters, FakeMailer, FakeSuppressionList, FakeVerifications
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, World
from tests.unit.test_limits import Clock, policy

VERIFIED = replace(CAMPAIGN, id="80plus-verified", verification="email")


class Setup:
    def __init__(self):
        self.clock = Clock(NOW)
        self.world = World([], campaign=CAMPAIGN)
        self.world.catalog.add_campaign(VERIFIED)
        self.store = FakeVerifications()
        limits = AbuseLimits(Limiter(FakeCounters(), PEPPER, clock=self.clock), policy(), PEPPER)
        self.service = VerificationService(
            self.world.queries, self.store, self.world.outbox, limits, PEPPER, clock=self.clock
        )

    def start(self, email: str = "erna@example.org", campaign_id: str = VERIFIED.id) -> tuple[str, str]:
        verification = self.service.start(campaign_id, email, "de", "203.0.113.9")
        message = self.world.outbox.published[-1]
        assert message.one_time_code is not None
        return verification.id, message.one_time_code

    def require(
        self, verification_id: str, code: str, email: str = "erna@example.org", campaign_id: str = VERIFIED.id
    ) -> None:
        self.service.require(campaign_id, email, v.Proof(verification_id, code))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_mail_carries_six_digits_and_no_name_and_the_store_keeps_no_address_or_code():
    setup = Setup()
    verification_id, code = setup.start()
    message = setup.world.outbox.published[-1]
    assert message.kind is MailKind.VERIFICATION_CODE and len(code) == 6 and code.isdigit()
    assert message.given_name == message.family_name == "" and message.recipient == "erna@example.org"
    stored = setup.store.get(verification_id)
    assert "erna" not in repr(stored) and code not in repr(stored)
    assert stored.expires_at == NOW + timedelta(minutes=15)


def test_the_rendered_code_mail_shows_the_code_in_both_languages_and_no_name():
    setup = Setup()
    setup.start()
    message = setup.world.outbox.published[-1]
    service = MailService(FakeMailer(), FakeSuppressionList(), sender="noreply@vaxslot.example", site_url="")
    for language in ("de", "en"):
        mail = service.render(message.model_copy(update={"language": language}))
        body = mail.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert message.one_time_code in text and message.one_time_code not in mail["Subject"]
        assert "None" not in text and "Müller" not in text


def test_a_campaign_without_verification_needs_no_proof_and_sends_no_code():
    setup = Setup()
    setup.service.require(CAMPAIGN.id, "erna@example.org", None)
    with pytest.raises(d.InvalidInput):
        setup.service.start(CAMPAIGN.id, "erna@example.org", "de", None)
    assert setup.world.outbox.published == []


def test_a_verifying_campaign_refuses_a_request_without_proof():
    with pytest.raises(v.VerificationRequired):
        Setup().service.require(VERIFIED.id, "erna@example.org", None)


def test_the_right_code_verifies_and_keeps_verifying_for_an_hour():
    setup = Setup()
    verification_id, code = setup.start()
    setup.clock.advance(14 * 60)
    setup.require(verification_id, code)
    setup.clock.advance(50 * 60)  # past the code's 15 minutes, within the verified hour
    setup.require(verification_id, code)
    setup.clock.advance(11 * 60)
    with pytest.raises(v.VerificationFailed):
        setup.require(verification_id, code)


def test_a_code_not_used_within_fifteen_minutes_has_expired():
    setup = Setup()
    verification_id, code = setup.start()
    setup.clock.advance(15 * 60)
    with pytest.raises(v.VerificationFailed):
        setup.require(verification_id, code)


def test_five_wrong_codes_use_the_verification_up_even_for_the_right_code():
    setup = Setup()
    verification_id, code = setup.start()
    for _ in range(5):
        with pytest.raises(v.VerificationFailed):
            setup.require(verification_id, wrong(code))
    with pytest.raises(v.VerificationFailed):
        setup.require(verification_id, code)


def test_four_wrong_codes_still_let_the_right_one_verify():
    setup = Setup()
    verification_id, code = setup.start()
    for _ in range(4):
        with pytest.raises(v.VerificationFailed):
            setup.require(verification_id, wrong(code))
    setup.require(verification_id, code)


@pytest.mark.parametrize("email, campaign_id", [("hans@example.org", VERIFIED.id), ("erna@example.org", "other")])
def test_a_code_verifies_one_address_for_one_campaign(email, campaign_id):
    setup = Setup()
    setup.world.catalog.add_campaign(replace(VERIFIED, id="other"))
    verification_id, code = setup.start()
    with pytest.raises(v.VerificationFailed):
        setup.require(verification_id, code, email=email, campaign_id=campaign_id)


def test_the_address_is_compared_without_case():
    setup = Setup()
    verification_id, code = setup.start("Erna@Example.org")
    setup.require(verification_id, code, email="erna@example.org")


def test_an_unknown_verification_fails_like_a_wrong_code():
    with pytest.raises(v.VerificationFailed):
        Setup().require("0" * 32, "123456")


def test_codes_sent_to_one_address_are_limited_and_a_refused_one_sends_nothing():
    setup = Setup()
    for _ in range(3):
        setup.start()
    with pytest.raises(TooManyRequests):
        setup.start()
    assert len(setup.world.outbox.published) == 3 and len(setup.store.items) == 3


def test_verification_attempts_are_counted_from_when_the_code_was_sent():
    limit = policy().verification_attempts
    assert limit == Limit("verify-attempts", 5, 2 * 3600)
    assert limit.window_s >= (v.CODE_TTL + v.VERIFIED_FOR).total_seconds()
