"""What the mail service needs from the outside world."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
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
    SEND = "send"  # this holder may send the mail
    ALREADY_SENT = "already_sent"  # the mail was sent (or settled without sending: capped)
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


# How long a claim keeps others from sending: longer than any function that sends mail may run (its Lambda
# timeout in .chalice/config.json, checked by tests/infra/test_mail_lease.py), shorter than the queues'
# visibility timeout, so that a redelivery after a holder died finds the lease lapsed.
CLAIM_LEASE_S = 90


class MailOutcome(str, Enum):
    """How a settled mail ended: sent (SES accepted it), or dropped for good because its address had had its
    mails for today (MailQuota)."""

    SENT = "sent"
    CAPPED = "capped"


@dataclass(frozen=True)
class MailMark:
    """What a mail's marker says (the hotline reads it: docs/hotline.md). `settled_at` and `outcome` are None
    while the mail is claimed (being sent); a marker settled before they were stored has no outcome."""

    settled: bool
    settled_at: datetime | None
    outcome: MailOutcome | None


class MailBeingSent(Exception):
    """Another holder claimed the mail a moment ago and may be sending it: try again after its lease."""


class MailLedger(SuppressionList):
    """The suppression list plus a marker per mail: checked and claimed in one write, so that each mail is
    sent once however often it is published, and never to a suppressed address.

    A marker is claimed for a lease, then settled once the mail is sent. While the lease runs nobody else may
    send (a redelivery of the same queue message included: it may come while the first is still sending);
    once it has lapsed unsettled, the holder died mid-send and the next one takes over. The lease outlasts any
    holder (the sending functions' timeouts), so only a holder that dies between SES's answer and the settle
    leaves room for a second mail."""

    @abc.abstractmethod
    def claim(self, mail_key: str, recipient: str, holder: str) -> MailClaim:
        """Claim the mail for `holder` (one send attempt); raises MailBeingSent while another's lease runs."""

    @abc.abstractmethod
    def settle(self, mail_key: str, holder: str, outcome: MailOutcome = MailOutcome.SENT) -> None:
        """The holder's send went through (or the mail is dropped for good: `outcome` says which, with the time,
        in the same write): no one sends it again, whoever holds the claim now."""

    @abc.abstractmethod
    def mark(self, mail_key: str) -> MailMark | None:
        """The mail's marker as it is now (a read that may lag a moment behind a write), or None: never claimed,
        released after a failed send, or past its retention."""

    @abc.abstractmethod
    def release(self, mail_key: str, holder: str) -> None:
        """Give the claim back after a failed send, so that a later attempt (a retry, a redrive) may send it."""
