from datetime import datetime, timedelta

import pytest
from icalendar import Calendar

from chalicelib.booking.domain import LOCAL_TZ
from chalicelib.contracts.mail import Alternative, Appointment, MailKind, MailMessage
from chalicelib.notify.ports import MailClaim
from chalicelib.notify.queue import MailRetry
from chalicelib.notify.services import MailService, retry_delay_s, retry_span_s
from infra.resources import NOTIFY_QUEUE
from tests.fakes import FakeMailer, FakeSuppressionList

START = datetime(2021, 2, 8, 14, 30, tzinfo=LOCAL_TZ)


def message(kind=MailKind.BOOKING_CONFIRMED, language="de") -> MailMessage:
    return MailMessage(
        kind=kind,
        booking_code="ABCD-EFGH-JK",
        language=language,
        recipient="erna@example.org",
        given_name="Erna",
        family_name="Müller",
        center_name="Impfzentrum Dortmund",
        center_address="Rheinlanddamm 200, 44139 Dortmund",
        appointments=[
            Appointment(dose=1, start=START, end=START + timedelta(minutes=30)),
            Appointment(dose=2, start=START + timedelta(days=21), end=START + timedelta(days=21, minutes=30)),
        ],
    )


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


def rejection(reason: str, language: str = "de", alternatives: bool = True) -> MailMessage:
    offered = [Alternative(first=START + timedelta(days=1), second=START + timedelta(days=22))] if alternatives else []
    return message(MailKind.REQUEST_REJECTED, language).model_copy(
        update={
            "booking_code": "",
            "request_id": "req-1",
            "reason": reason,
            "alternatives": offered,
            "appointments": message().appointments,
        }
    )


@pytest.mark.parametrize(
    "language, said, link_text",
    [("de", "schon vergeben", "Noch einmal versuchen"), ("en", "already been taken", "Try again")],
)
def test_the_rejection_gives_the_reason_the_alternatives_and_a_link_to_try_again(language, said, link_text):
    mail = render(rejection("slot_taken", language))
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert said in body and link_text in body and "https://vaxslot.example/#/book" in body
        assert START.strftime("%H:%M") in body  # the chosen appointment and the offered ones
    assert ("09.02.2021" if language == "de" else "09 February 2021") in text  # the first alternative
    assert not list(mail.iter_attachments())


@pytest.mark.parametrize(
    "reason, said",
    [
        ("not_processed", "technischen Störung"),
        ("slot_started", "schon begonnen"),
        ("no_capacity", "keine Termine mehr frei"),
    ],
)
def test_every_rejection_reason_is_said_in_plain_words(reason, said):
    assert said in render(rejection(reason, alternatives=False)).get_body(preferencelist=("plain",)).get_content()


def test_the_rejection_subject_holds_no_name_and_no_request_id():
    msg = rejection("slot_taken").model_copy(update={"given_name": "Visit http://evil.example"})
    mail = render(msg)
    assert "evil" not in mail["Subject"] and "req-1" not in mail["Subject"] and "Erna" not in mail["Subject"]
    assert '<a href="http://evil' not in mail.get_body(preferencelist=("html",)).get_content()


def test_someone_already_booked_is_pointed_at_the_look_up_not_at_booking_again():
    text = render(rejection("already_booked", alternatives=False)).get_body(preferencelist=("plain",)).get_content()
    assert "https://vaxslot.example/#/booking\n" in text and "#/book\n" not in text


def test_one_rejection_mail_per_request_however_often_it_is_published():
    mailer = FakeMailer()
    service = MailService(mailer, FakeSuppressionList(), "termine@vaxslot.example", "https://vaxslot.example")
    outcomes = [service.send(rejection("slot_taken")) for _ in range(2)]
    assert outcomes == [MailClaim.SEND, MailClaim.ALREADY_SENT] and len(mailer.sent) == 1


def test_a_failed_try_waits_30_s_doubling_to_15_min_and_the_tries_span_more_than_six_hours():
    assert [retry_delay_s(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 900, 900, 900]
    assert retry_span_s(NOTIFY_QUEUE.max_receive_count) > 6 * 3600


def test_the_retry_hides_the_message_on_its_own_queue_for_its_delay():
    class Sqs:
        def __init__(self):
            self.calls: list[dict] = []

        def change_message_visibility(self, **kwargs):
            self.calls.append(kwargs)

    sqs = Sqs()
    retry = MailRetry(sqs, lambda name: f"https://sqs.local/{name}")
    assert retry.later("arn:aws:sqs:eu-central-1:123:vaxslot-dev-mail", "handle-1", 3) == 120
    assert sqs.calls == [
        {"QueueUrl": "https://sqs.local/vaxslot-dev-mail", "ReceiptHandle": "handle-1", "VisibilityTimeout": 120}
    ]


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


def test_a_released_second_appointment_names_the_missed_first_and_the_released_second_in_both_languages():
    for language, subject, words, second in (
        ("de", "freigegeben", "nicht im Impfzentrum", "01.03.2021, 14:30 Uhr"),
        ("en", "released", "did not come", "01 March 2021, 14:30"),
    ):
        mail = render(message(MailKind.SECOND_APPOINTMENT_RELEASED, language))
        assert subject in mail["Subject"] and "ABCD-EFGH-JK" in mail["Subject"]
        for part in ("plain", "html"):
            body = mail.get_body(preferencelist=(part,)).get_content()
            assert words in body and second in body and "https://vaxslot.example" in body
        assert not list(mail.iter_attachments())  # nothing to put in a calendar


def test_an_added_second_appointment_shows_both_in_both_languages_with_a_calendar_file_of_the_new_version():
    for language, subject, words, second in (
        ("de", "zweiter Impftermin steht fest", "erster Termin bleibt", "01.03.2021, 14:30 Uhr"),
        ("en", "second vaccination appointment is booked", "first appointment stays", "01 March 2021, 14:30"),
    ):
        mail = render(message(MailKind.SECOND_APPOINTMENT_ADDED, language).model_copy(update={"version": 1}))
        assert subject in mail["Subject"] and "ABCD-EFGH-JK" in mail["Subject"]
        for part in ("plain", "html"):
            body = mail.get_body(preferencelist=(part,)).get_content()
            assert words in body and second in body and "https://vaxslot.example" in body
        (calendar,) = mail.iter_attachments()
        ics = calendar.get_content()
        assert ics.count("BEGIN:VEVENT") == 2 and "SEQUENCE:1" in ics  # updates the first dose's entry too


def test_each_added_second_appointment_is_its_own_mail_once_per_version():
    added = message(MailKind.SECOND_APPOINTMENT_ADDED)
    again = added.model_copy(update={"version": 2})
    assert added.idempotency_key != again.idempotency_key
    assert added.idempotency_key == message(MailKind.SECOND_APPOINTMENT_ADDED).idempotency_key
