from datetime import datetime, timedelta

from icalendar import Calendar

from chalicelib.booking.domain import LOCAL_TZ
from chalicelib.contracts.mail import Appointment, MailKind, MailMessage
from chalicelib.notify.services import MailService
from tests.fakes import FakeMailer, FakeSuppressionList

START = datetime(2021, 2, 8, 14, 30, tzinfo=LOCAL_TZ)


def message(kind=MailKind.BOOKING_CONFIRMED, language="de") -> MailMessage:
    return MailMessage(kind=kind, booking_code="ABCD-EFGH-JK", language=language, recipient="erna@example.org",
                       given_name="Erna", family_name="Müller", center_name="Impfzentrum Dortmund",
                       center_address="Rheinlanddamm 200, 44139 Dortmund",
                       appointments=[Appointment(dose=1, start=START, end=START + timedelta(minutes=30)),
                                     Appointment(dose=2, start=START + timedelta(days=21),
                                                 end=START + timedelta(days=21, minutes=30))])


def render(msg):
    mailer = FakeMailer()
    MailService(mailer, FakeSuppressionList(), "termine@vaxslot.example", "https://vaxslot.example").send(msg)
    return mailer.sent[0]


def test_the_confirmation_has_code_both_appointments_address_link_and_a_calendar_file():
    mail = render(message())
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "ABCD-EFGH-JK" in body and "Rheinlanddamm 200" in body
        assert "08.02.2021, 14:30" in body and "01.03.2021, 14:30" in body
    assert "https://vaxslot.example/#/booking?code=ABCD-EFGH-JK" in text
    assert mail["To"] == "erna@example.org" and "ABCD-EFGH-JK" in mail["Subject"]
    ics = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    events = Calendar.from_ical(ics[0].get_content()).walk("VEVENT")
    assert [e.decoded("dtstart") for e in events] == [START, START + timedelta(days=21)]


def test_the_confirmation_speaks_the_language_of_the_booking():
    mail = render(message(language="en"))
    assert "Your vaccination appointments are booked" in mail.get_body(preferencelist=("plain",)).get_content()
    assert "Monday, 08 February 2021, 14:30" in mail.get_body(preferencelist=("plain",)).get_content()


def test_the_cancellation_says_cancelled_and_carries_no_calendar_file():
    mail = render(message(MailKind.BOOKING_CANCELLED))
    assert "storniert" in mail["Subject"]
    assert not list(mail.iter_attachments())


def test_names_are_escaped_in_the_html_mail():
    msg = message().model_copy(update={"given_name": "<script>x</script>"})
    assert "<script>" not in render(msg).get_body(preferencelist=("html",)).get_content()


def test_a_cancellation_by_the_centre_says_why_links_to_rebook_in_both_languages_and_has_no_calendar_file():
    for language, subject, words in (("de", "abgesagt", "Impfstofflieferung"), ("en", "cancelled", "vaccine delivery")):
        mail = render(message(MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, language))
        assert subject in mail["Subject"] and "ABCD-EFGH-JK" in mail["Subject"]
        for part in ("plain", "html"):
            body = mail.get_body(preferencelist=(part,)).get_content()
            assert words in body and "https://vaxslot.example" in body and "Rheinlanddamm 200" in body
        assert not list(mail.iter_attachments())


def test_a_move_by_the_centre_shows_the_new_appointments_in_both_languages():
    for language, subject in (("de", "verlegt"), ("en", "moved")):
        mail = render(message(MailKind.APPOINTMENT_MOVED_BY_CENTRE, language))
        assert subject in mail["Subject"]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert ("08.02.2021, 14:30" if language == "de" else "08 February 2021, 14:30") in text
        assert "https://vaxslot.example" in text
