"""What the mail service needs from the outside world."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from email.message import EmailMessage


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
