"""Admission tokens: short-lived, signed with HS256 by PyJWT (no hand-rolled crypto)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash


@dataclass(frozen=True)
class Admission:
    campaign_id: str
    entry_id: str
    jti: str
    expires_at: datetime


class AdmissionTokens:
    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the admission token key needs at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def issue(self, campaign_id: str, entry_id: str, jti: str, issued_at: datetime, expires_at: datetime) -> str:
        claims = {
            "campaign": campaign_id,
            "entry": entry_id,
            "jti": jti,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> Admission | None:
        """The admission a token carries, or None if it is forged, malformed or expired at `now`."""
        try:
            # Expiry is checked against the service's clock below, so that tests can move time.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "jti", "campaign", "entry"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            return None
        expires_at = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
        if now >= expires_at or not all(isinstance(claims[c], str) for c in ("jti", "campaign", "entry")):
            return None
        return Admission(claims["campaign"], claims["entry"], claims["jti"], expires_at)
