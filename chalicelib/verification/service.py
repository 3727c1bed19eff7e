"""The verification use cases: send a code to an address, and check a booking request's proof."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.booking import domain as d
from chalicelib.booking.ports import MailOutbox
from chalicelib.booking.queries import BookingQueries
from chalicelib.contracts.mail import MailKind, MailMessage
from chalicelib.limits.abuse import AbuseLimits
from chalicelib.limits.domain import TooManyRequests
from chalicelib.verification import domain as v
from chalicelib.verification.ports import Verifications

EMAIL = "email"


class VerificationService:
    def __init__(
        self,
        queries: BookingQueries,
        store: Verifications,
        outbox: MailOutbox,
        limits: AbuseLimits,
        pepper: bytes,
        clock: Callable[[], datetime],
    ):
        self._queries = queries
        self._store = store
        self._outbox = outbox
        self._limits = limits
        self._pepper = pepper
        self._now = clock

    def start(self, campaign_id: str, email: str, language: str, client_address: str | None) -> v.Verification:
        """Send a one-time code to `email` for a campaign that verifies contacts."""
        try:
            campaign = self._queries.campaign(campaign_id)
        except d.UnknownCampaign:
            raise d.InvalidInput("campaign_id", "unknown_campaign") from None
        if campaign.verification != EMAIL:
            raise d.InvalidInput("campaign_id", "verification_not_used")
        self._limits.admit_verification(client_address, email)
        code = v.new_code()
        verification_id = v.new_id()
        verification = v.Verification(
            id=verification_id,
            campaign_id=campaign.id,
            channel=v.Channel.EMAIL,
            address_digest=v.address_digest(self._pepper, email),
            code_digest=v.code_digest(self._pepper, verification_id, code),
            sent_at=self._now(),
        )
        self._store.add(verification)
        self._outbox.publish(
            MailMessage(
                kind=MailKind.VERIFICATION_CODE,
                booking_code=verification_id,
                language=language,
                recipient=email,
                given_name="",
                family_name="",
                center_name="",
                center_address="",
                appointments=[],
                one_time_code=code,
            )
        )
        return verification

    def require(self, campaign_id: str, email: str, proof: v.Proof | None) -> None:
        """Pass if the campaign needs no verification or the proof verifies `email` for it; else raise."""
        try:
            campaign = self._queries.campaign(campaign_id)
        except d.UnknownCampaign:
            return  # the booking request answers this itself
        if campaign.verification != EMAIL:
            return
        if proof is None:
            raise v.VerificationRequired()
        now = self._now()
        verification = self._store.get(proof.verification_id)
        if verification is None or not verification.matches(campaign.id, v.address_digest(self._pepper, email)):
            raise v.VerificationFailed(v.FailReason.UNKNOWN)
        if not verification.usable(now):
            raise v.VerificationFailed(v.FailReason.EXPIRED)
        # Taken before comparing, so concurrent guesses cannot get past the limit; a right code gives it back.
        try:
            attempt = self._limits.take_verification_attempt(verification.id, verification.sent_at.timestamp())
        except TooManyRequests:
            raise v.VerificationFailed(v.FailReason.USED_UP) from None
        if not verification.code_is(v.code_digest(self._pepper, verification.id, proof.code)):
            raise v.VerificationFailed(v.FailReason.WRONG_CODE)
        self._limits.give_back(attempt)
        if verification.verified_until is None:
            self._store.mark_verified(verification.id, now + v.VERIFIED_FOR)
