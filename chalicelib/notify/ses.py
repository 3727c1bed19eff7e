"""SES adapter: raw MIME mail (moto does not implement SES v2 templates, and raw keeps the ICS attachment).

Bounce and complaint events come from the configuration set that infra/aws makes the sender identity's
default, so nothing here names it.
"""

from __future__ import annotations

from email.message import EmailMessage

from chalicelib.notify.ports import Mailer


class SesMailer(Mailer):
    def __init__(self, ses_client):
        self._ses = ses_client

    def send(self, message: EmailMessage) -> None:
        self._ses.send_raw_email(RawMessage={"Data": message.as_bytes()})
