"""What SES tells us after sending: which addresses must never get mail from us again.

A permanent bounce (the address does not exist) or a complaint (the recipient marked us as spam) suppresses
the address; a transient bounce (full mailbox) does not. Reading is pure: the notification's JSON in,
addresses out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Suppression:
    address: str
    reason: str  # "bounce" or "complaint"


def suppressions_in(notification: str) -> list[Suppression]:
    """Addresses to suppress, from one SES event (configuration set event or classic notification)."""
    try:
        event = json.loads(notification)
    except ValueError:
        return []
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce" and event.get("bounce", {}).get("bounceType") == "Permanent":
        recipients, reason = event["bounce"].get("bouncedRecipients", []), "bounce"
    elif kind == "Complaint":
        recipients, reason = event.get("complaint", {}).get("complainedRecipients", []), "complaint"
    else:
        return []
    return [Suppression(r["emailAddress"], reason) for r in recipients if r.get("emailAddress")]


def address_key(address: str, key: bytes) -> str:
    """How a suppressed address is stored: an HMAC with the stack's secret, so the list holds no address in
    clear and, unlike a plain hash, cannot be tested against a list of known addresses without the key."""
    return hmac.new(key, _normalised(address), hashlib.sha256).hexdigest()


def legacy_address_key(address: str) -> str:
    """The unkeyed sha256 stored before the HMAC: still read (and erased), never written."""
    return hashlib.sha256(_normalised(address)).hexdigest()


def _normalised(address: str) -> bytes:
    return address.strip().casefold().encode()
