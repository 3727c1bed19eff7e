"""What the mail service needs from the outside world."""

from __future__ import annotations

import abc
from email.message import EmailMessage


class Mailer(abc.ABC):
    @abc.abstractmethod
    def send(self, message: EmailMessage) -> None:
        """Send one complete MIME message; raise if it was not accepted."""


class SuppressionList(abc.ABC):
    """Addresses that bounced permanently or complained: no mail goes there again."""

    @abc.abstractmethod
    def is_suppressed(self, address: str) -> bool: ...

    @abc.abstractmethod
    def suppress(self, address: str, reason: str) -> None: ...


class MailQuota(abc.ABC):
    """How many mails one address may get per day: beyond it, nothing is sent."""

    @abc.abstractmethod
    def take(self, address: str) -> bool:
        """Count one mail to `address`; False (and nothing counted) if its quota for today is used up."""
