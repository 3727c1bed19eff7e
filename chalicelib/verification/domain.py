"""Verification rules in plain Python: codes, their expiry, and what a proof must match."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=15)  # the code must be used within this time of sending
# Once the right code was given, the address counts as verified for the campaign for this long, so that a
# retried or a second booking request (another slot after a rejection) needs no new code.
VERIFIED_FOR = timedelta(hours=1)


class Channel(str, Enum):
    EMAIL = "email"
    # SMS would be a second channel: the same code, sent by another port; nothing else changes.


class VerificationRequired(Exception):
    """The campaign verifies contacts and the booking request carried no verification."""


class FailReason(str, Enum):
    # Told only to whoever holds the verification's id (a secret answered to the requester alone), so that
    # the site can say what to do next; unknown ids and other addresses or campaigns share one reason.
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    WRONG_CODE = "wrong_code"


class VerificationFailed(Exception):
    """Unknown (or for another campaign or address), expired, used up, or a wrong code: `reason` says which."""

    def __init__(self, reason: FailReason):
        super().__init__(reason.value)
        self.reason = reason


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_id() -> str:
    return secrets.token_hex(16)


def address_digest(pepper: bytes, address: str) -> str:
    """The address as stored: a keyed hash of its case-folded form (no address in clear)."""
    return hmac.new(pepper, f"address|{address.strip().casefold()}".encode(), hashlib.sha256).hexdigest()


def code_digest(pepper: bytes, verification_id: str, code: str) -> str:
    return hmac.new(pepper, f"code|{verification_id}|{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Proof:
    """What a booking request carries to show the address was verified."""

    verification_id: str
    code: str


@dataclass(frozen=True)
class Verification:
    id: str
    campaign_id: str
    channel: Channel
    address_digest: str
    code_digest: str
    sent_at: datetime
    verified_until: datetime | None = None

    @property
    def expires_at(self) -> datetime:
        return self.sent_at + CODE_TTL

    def usable(self, now: datetime) -> bool:
        """Still within the code's time, or verified and within the verified time."""
        if self.verified_until is not None:
            return now < self.verified_until
        return now < self.expires_at

    def matches(self, campaign_id: str, address_digest: str) -> bool:
        return hmac.compare_digest(self.address_digest, address_digest) and self.campaign_id == campaign_id

    def code_is(self, digest: str) -> bool:
        return hmac.compare_digest(self.code_digest, digest)
