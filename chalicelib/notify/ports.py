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
