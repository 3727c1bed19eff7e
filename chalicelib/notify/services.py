"""Render a mail message into a bilingual-ready MIME mail with an iCalendar attachment, and send it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.contracts.local_time import LOCAL_TZ
from chalicelib.contracts.mail import MailKind, MailMessage
from chalicelib.notify.calendar import booking_calendar
from chalicelib.notify.feedback import suppressions_in
from chalicelib.notify.ports import Mailer, SuppressionList

LANGUAGES = ("de", "en")
_SUBJECTS = {
    (MailKind.BOOKING_CONFIRMED, "de"): "Ihre Impftermine sind gebucht – Code {code}",
    (MailKind.BOOKING_CONFIRMED, "en"): "Your vaccination appointments are booked – code {code}",
    (MailKind.BOOKING_CANCELLED, "de"): "Ihre Impftermine sind storniert – Code {code}",
    (MailKind.BOOKING_CANCELLED, "en"): "Your vaccination appointments are cancelled – code {code}",
    (MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, "de"): "Ihr Impfzentrum hat Ihre Termine abgesagt – Code {code}",
    (MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, "en"):
        "Your vaccination centre cancelled your appointments – code {code}",
    (MailKind.APPOINTMENT_MOVED_BY_CENTRE, "de"): "Ihr Impftermin wurde verlegt – Code {code}",
    (MailKind.APPOINTMENT_MOVED_BY_CENTRE, "en"): "Your vaccination appointment was moved – code {code}",
}
_WEEKDAYS = {
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}


def _when(value, language: str) -> str:
    local = value.astimezone(LOCAL_TZ)
    weekday = _WEEKDAYS[language][local.weekday()]
    if language == "de":
        return f"{weekday}, {local:%d.%m.%Y}, {local:%H:%M} Uhr"
    return f"{weekday}, {local:%d %B %Y}, {local:%H:%M}"


class MailService:
    def __init__(self, mailer: Mailer, suppressions: SuppressionList, sender: str, site_url: str):
        self._mailer = mailer
        self._suppressions = suppressions
        self._sender = sender
        self._site_url = site_url
        self._templates = Environment(
            loader=FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.filters["when"] = _when

    def render(self, message: MailMessage) -> EmailMessage:
        language = message.language if message.language in LANGUAGES else "de"
        context = {
            "m": message,
            "lang": language,
            "site_url": self._site_url or "/",
            "lookup_url": f"{self._site_url}/#/booking?code={message.booking_code}",
        }
        name = f"{message.kind.value}.{language}"
        mail = EmailMessage()
        mail["Subject"] = _SUBJECTS[(message.kind, language)].format(code=message.booking_code)
        mail["From"] = self._sender
        mail["To"] = message.recipient
        mail["Message-ID"] = make_msgid(domain=self._sender.split("@")[-1])
        mail.set_content(self._templates.get_template(f"{name}.txt.j2").render(context))
        mail.add_alternative(self._templates.get_template(f"{name}.html.j2").render(context), subtype="html")
        if message.kind is MailKind.BOOKING_CONFIRMED:
            ics = booking_calendar(message.booking_code, message.appointments, message.center_name,
                                   message.center_address, language)
            mail.add_attachment(ics, maintype="text", subtype="calendar", filename="impftermine.ics",
                                params={"method": "PUBLISH"})
        return mail

    def send(self, message: MailMessage) -> bool:
        """Send the mail; False if the address is suppressed (nothing sent, nothing to retry)."""
        if self._suppressions.is_suppressed(message.recipient):
            return False
        self._mailer.send(self.render(message))
        return True

    def record_feedback(self, notification: str) -> int:
        """Suppress the addresses an SES bounce or complaint names; returns how many."""
        found = suppressions_in(notification)
        for suppression in found:
            self._suppressions.suppress(suppression.address, suppression.reason)
        return len(found)
