"""Render a mail message into a bilingual-ready MIME mail with an iCalendar attachment, and send it once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.contracts.local_time import LOCAL_TZ
from chalicelib.contracts.mail import MailKind, MailMessage
from chalicelib.notify.calendar import booking_calendar
from chalicelib.notify.feedback import suppressions_in
from chalicelib.notify.ports import MailClaim, Mailer, MailLedger, MailOutcome, MailQuota

LANGUAGES = ("de", "en")
_SUBJECTS = {
    (MailKind.BOOKING_CONFIRMED, "de"): "Ihre Impftermine sind gebucht – Code {code}",
    (MailKind.BOOKING_CONFIRMED, "en"): "Your vaccination appointments are booked – code {code}",
    (MailKind.BOOKING_CANCELLED, "de"): "Ihre Impftermine sind storniert – Code {code}",
    (MailKind.BOOKING_CANCELLED, "en"): "Your vaccination appointments are cancelled – code {code}",
    (MailKind.BOOKING_CHANGED, "de"): "Ihre Impftermine sind umgebucht – Code {code}",
    (MailKind.BOOKING_CHANGED, "en"): "Your vaccination appointments are changed – code {code}",
    (MailKind.VERIFICATION_CODE, "de"): "Ihr Bestätigungscode für die Impfterminbuchung",
    (MailKind.VERIFICATION_CODE, "en"): "Your confirmation code for booking vaccination appointments",
    # No name and no free text in any subject: nobody can make us send their words in an official mail's subject.
    (MailKind.REQUEST_REJECTED, "de"): "Ihre Terminanfrage: es wurde nichts gebucht",
    (MailKind.REQUEST_REJECTED, "en"): "Your appointment request: nothing was booked",
    (MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, "de"): "Ihr Impfzentrum hat Ihre Termine abgesagt – Code {code}",
    (
        MailKind.APPOINTMENT_CANCELLED_BY_CENTRE,
        "en",
    ): "Your vaccination centre cancelled your appointments – code {code}",
    (MailKind.APPOINTMENT_MOVED_BY_CENTRE, "de"): "Ihr Impftermin wurde verlegt – Code {code}",
    (MailKind.APPOINTMENT_MOVED_BY_CENTRE, "en"): "Your vaccination appointment was moved – code {code}",
    (MailKind.SECOND_APPOINTMENT_RELEASED, "de"): "Ihr zweiter Impftermin ist freigegeben – Code {code}",
    (MailKind.SECOND_APPOINTMENT_RELEASED, "en"): "Your second vaccination appointment was released – code {code}",
    (MailKind.SECOND_APPOINTMENT_ADDED, "de"): "Ihr zweiter Impftermin steht fest – Code {code}",
    (MailKind.SECOND_APPOINTMENT_ADDED, "en"): "Your second vaccination appointment is booked – code {code}",
}
# Mails whose appointments are the booking's, to keep: they carry the calendar file (its SEQUENCE the version).
CALENDAR_KINDS = frozenset({MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_CHANGED, MailKind.SECOND_APPOINTMENT_ADDED})
# A confirmation follows a booking, which the one-booking-per-person lock and the per-person request limit
# already bound: it is not counted against the address's daily mails (and costs no counter write, issue #9).
QUOTA_EXEMPT = frozenset({MailKind.BOOKING_CONFIRMED})
# Retrying a failed send: the wait before the next try doubles from 30 s up to 15 min (infra/resources.py sets
# the mail queue's maxReceiveCount so that the tries span more than six hours of an SES outage).
RETRY_FIRST_S = 30
RETRY_MAX_S = 15 * 60
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


def retry_delay_s(receive_count: int) -> int:
    """How long a mail message waits after its `receive_count`-th failed try: 30 s, 60 s, … capped at 15 min."""
    return min(RETRY_FIRST_S * 2 ** max(0, receive_count - 1), RETRY_MAX_S)


def retry_span_s(max_receive_count: int) -> int:
    """How long the tries of one mail last before it goes to the dead-letter queue."""
    return sum(retry_delay_s(n) for n in range(1, max_receive_count))


class MailService:
    def __init__(
        self,
        mailer: Mailer,
        suppressions: MailLedger,
        sender: str,
        site_url: str,
        quota: MailQuota | None = None,
        on_capped: Callable[[MailKind], None] = lambda kind: None,
        on_unsettled: Callable[[MailKind, Exception], None] = lambda kind, error: None,
    ):
        self._mailer = mailer
        self._quota = quota
        self._on_capped = on_capped  # records why a mail was not sent (a metric), without the address
        self._on_unsettled = on_unsettled
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
            "lookup_url": f"{self._site_url}/#/booking"
            + (f"?code={message.booking_code}" if message.booking_code else ""),
            "try_again_url": f"{self._site_url}/#/book",
        }
        name = f"{message.kind.value}.{language}"
        mail = EmailMessage()
        mail["Subject"] = _SUBJECTS[(message.kind, language)].format(code=message.booking_code)
        mail["From"] = self._sender
        mail["To"] = message.recipient
        mail["Message-ID"] = make_msgid(domain=self._sender.split("@")[-1])
        mail.set_content(self._templates.get_template(f"{name}.txt.j2").render(context))
        mail.add_alternative(self._templates.get_template(f"{name}.html.j2").render(context), subtype="html")
        if message.kind in CALENDAR_KINDS:
            ics = booking_calendar(
                message.booking_code,
                message.appointments,
                message.center_name,
                message.center_address,
                language,
                sequence=message.version,
            )
            mail.add_attachment(
                ics, maintype="text", subtype="calendar", filename="impftermine.ics", params={"method": "PUBLISH"}
            )
        return mail

    def send(self, message: MailMessage) -> MailClaim:
        """Send the mail unless it was sent already, the address is suppressed or has had its mails for today;
        says which.

        Raises MailBeingSent while another attempt holds the mail's claim, and whatever failed when the send
        failed (its claim given back): either way the caller tries again later. A capped mail is settled: it
        is not sent later either.
        """
        mail = self.render(message)
        key, holder = message.idempotency_key, uuid.uuid4().hex
        claim = self._suppressions.claim(key, message.recipient, holder)
        if claim is not MailClaim.SEND:
            return claim
        try:
            capped = (
                self._quota is not None and message.kind not in QUOTA_EXEMPT and not self._quota.take(message.recipient)
            )
            if not capped:
                self._mailer.send(mail)
        except BaseException:
            self._suppressions.release(key, holder)
            raise
        try:
            self._suppressions.settle(key, holder, MailOutcome.CAPPED if capped else MailOutcome.SENT)
        except Exception as error:  # the mail is out: raising would only have it sent again once the lease lapses
            self._on_unsettled(message.kind, error)
        if capped:
            self._on_capped(message.kind)
            return MailClaim.CAPPED
        return claim

    def record_feedback(self, notification: str) -> int:
        """Suppress the addresses an SES bounce or complaint names; returns how many."""
        found = suppressions_in(notification)
        for suppression in found:
            self._suppressions.suppress(suppression.address, suppression.reason)
        return len(found)
