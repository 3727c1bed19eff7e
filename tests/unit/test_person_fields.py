"""The person is declared by the domain; the queue message, the request body and the table item follow it.

Each of them is checked against `domain.Person` field by field (names and which are optional), and the
two mappings that carry a person through storage and the queue are checked to give back the same person.
"""

import dataclasses
from datetime import date, datetime

from chalicelib.api.schemas import PersonBody
from chalicelib.api.staff import CallerBody
from chalicelib.booking import domain as d
from chalicelib.booking.queues import BookingRequestMessage, PersonMessage
from chalicelib.booking.storage.models import BookingItem, booking_from_item, booking_item

PERSON = d.Person("Erna", "Müller", date(1940, 5, 1), "44141", "erna@example.org", "+49 231 123456")
FIELDS = {f.name: f.default is not dataclasses.MISSING for f in dataclasses.fields(d.Person)}


def test_the_queue_message_has_the_domain_persons_fields():
    assert {name: not f.is_required() for name, f in PersonMessage.model_fields.items()} == FIELDS


def test_the_request_body_has_the_domain_persons_fields():
    # The citizen channel requires an e-mail (the confirmation goes there) and takes no postal address.
    citizen = {**{k: v for k, v in FIELDS.items() if k != "postal_address"}, "email": False}
    assert {name: not f.is_required() for name, f in PersonBody.model_fields.items()} == citizen


def test_the_hotline_callers_body_has_the_domain_persons_fields():
    assert {name: not f.is_required() for name, f in CallerBody.model_fields.items()} == FIELDS


def test_the_booking_item_stores_each_of_the_domain_persons_fields():
    attributes = BookingItem.get_attributes()
    assert {name: attributes[name].null for name in FIELDS} == FIELDS


def test_a_person_survives_the_queue_and_the_table_unchanged():
    start = datetime(2031, 3, 1, 9, tzinfo=d.LOCAL_TZ)
    request = d.BookingRequest("r1", "c", "dortmund", d.slot_id_for(start), False, "de", PERSON)
    message = BookingRequestMessage.model_validate_json(BookingRequestMessage.from_domain(request).model_dump_json())
    assert message.to_domain().person == PERSON
    booking = d.Booking("AAAA-BBBB-CC", "r1", "c", "dortmund", d.SlotRef("s", start, start), None, PERSON, "de")
    assert booking_from_item(booking_item(booking, start)).person == PERSON


def test_a_caller_without_email_survives_the_queue_and_the_table_unchanged():
    caller = dataclasses.replace(PERSON, email=None, postal_address="Hauptstr. 1\n44141 Dortmund")
    start = datetime(2031, 3, 1, 9, tzinfo=d.LOCAL_TZ)
    request = d.BookingRequest(
        "r1", "c", "dortmund", d.slot_id_for(start), False, "de", caller, channel=d.Channel.HOTLINE, agent="hans"
    )
    message = BookingRequestMessage.model_validate_json(BookingRequestMessage.from_domain(request).model_dump_json())
    assert message.to_domain() == request
    booking = d.Booking(
        "AAAA-BBBB-CC",
        "r1",
        "c",
        "dortmund",
        d.SlotRef("s", start, start),
        None,
        caller,
        "de",
        channel=d.Channel.HOTLINE,
        agent="hans",
    )
    assert booking_from_item(booking_item(booking, start)) == dataclasses.replace(booking, created_at=start)
