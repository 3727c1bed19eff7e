"""SES adapter: raw MIME mail (moto does not implement SES v2 templates, and raw keeps the ICS attachment)."""

from __future__ import annotations

from email.message import EmailMessage

from chalicelib.notify.ports import Mailer


class SesMailer(Mailer):
    def __init__(self, ses_client, configuration_set: str | None = None):
        self._ses = ses_client
        self._configuration_set = configuration_set

    def send(self, message: EmailMessage) -> None:
        kwargs = {"RawMessage": {"Data": message.as_bytes()}}
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        self._ses.send_raw_email(**kwargs)
