"""What the mail service needs from the outside world."""

from __future__ import annotations

import abc
from email.message import EmailMessage


class Mailer(abc.ABC):
    @abc.abstractmethod
    def send(self, message: EmailMessage) -> None:
        """Send one complete MIME message; raise if it was not accepted."""
