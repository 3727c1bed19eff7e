"""The mail message notify renders; its home is `chalicelib/contracts/mail.py`, shared with booking."""

from chalicelib.contracts.mail import Appointment, MailKind, MailMessage

__all__ = ["Appointment", "MailKind", "MailMessage"]
