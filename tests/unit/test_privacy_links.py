"""The mails link to the look-up page with the booking code only: the birth date is typed, never in a link."""

import re

from chalicelib.contracts.mail import MailKind
from tests.unit.test_mail_rendering import message, render

SITE = "https://vaxslot.example"


def links_in(kind: MailKind, language: str) -> list[str]:
    mail = render(message(kind, language))
    return [
        link
        for part in ("plain", "html")
        for link in re.findall(r"https?://[^\s\"<>]+", mail.get_body(preferencelist=(part,)).get_content())
    ]


def test_the_confirmation_links_to_the_look_up_page_with_the_code_only():
    for language in ("de", "en"):
        assert set(links_in(MailKind.BOOKING_CONFIRMED, language)) == {f"{SITE}/#/booking?code=ABCD-EFGH-JK"}


def test_no_link_in_a_mail_carries_a_birth_date():
    for kind in (MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_CANCELLED):
        for language in ("de", "en"):
            links = links_in(kind, language)
            assert links and all(link == SITE or link == f"{SITE}/#/booking?code=ABCD-EFGH-JK" for link in links)
