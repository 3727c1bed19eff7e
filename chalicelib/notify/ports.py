"""What the mail service needs from the outside world."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum


class Mailer(abc.ABC):
    @abc.abstractmethod
    def send(self, message: EmailMessage) -> None:
        """Send one complete MIME message; raise if it was not accepted."""


@dataclass(frozen=True)
class SuppressionRecord:
    reason: str
    suppressed_at: str


class SuppressionList(abc.ABC):
    """Addresses that bounced permanently or complained: no mail goes there again."""

    @abc.abstractmethod
    def is_suppressed(self, address: str) -> bool: ...

    @abc.abstractmethod
    def suppress(self, address: str, reason: str) -> None: ...

    @abc.abstractmethod
    def record(self, address: str) -> SuppressionRecord | None:
        """What is stored about this address (a data subject's access request), or None."""

    @abc.abstractmethod
    def forget(self, address: str) -> bool:
        """Delete what is stored about this address (erasure on request); False if there was nothing."""


class MailQuota(abc.ABC):
    """How many mails one address may get per day: beyond it, nothing is sent."""

    @abc.abstractmethod
    def take(self, address: str) -> bool:
        """Count one mail to `address`; False (and nothing counted) if its quota for today is used up."""


class MailClaim(str, Enum):
    SEND = "send"  # this delivery may send the mail
    ALREADY_SENT = "already_sent"  # another delivery sent it (or is sending it)
    SUPPRESSED = "suppressed"  # the address is on the suppression list
    CAPPED = "capped"  # the address has had its mails for today (MailQuota): not sent, not retried

    @property
    def metric(self) -> str:
        """The business metric of a send that ended with this claim (the dashboard shows MailSuppressed)."""
        return {
            "send": "MailSent",
            "already_sent": "MailDuplicate",
            "suppressed": "MailSuppressed",
            "capped": "MailCapped",
        }[self.value]


class MailLedger(SuppressionList):
    """The suppression list plus a marker per mail: checked and claimed in one write, so that each mail is
    sent once however often it is published, and never to a suppressed address."""

    @abc.abstractmethod
    def claim(self, mail_key: str, recipient: str, delivery: str) -> MailClaim:
        """Claim the mail for this delivery. The same delivery may claim again (a retry after a crash
        mid-send); another delivery may not while the marker stands."""

    @abc.abstractmethod
    def release(self, mail_key: str, delivery: str) -> None:
        """Give the claim back after a failed send, so that a later delivery (a redrive) may send it."""
