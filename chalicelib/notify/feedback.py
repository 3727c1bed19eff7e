"""What SES tells us after sending: which addresses must never get mail from us again.

A permanent bounce (the address does not exist) or a complaint (the recipient marked us as spam) suppresses
the address; a transient bounce (full mailbox) does not. Reading is pure: the notification's JSON in,
addresses out.
"""

from __future__ import annotations

import hashlib
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


def address_key(address: str) -> str:
    """How a suppressed address is stored: hashed, so the list holds no address in clear."""
    return hashlib.sha256(address.strip().casefold().encode()).hexdigest()
