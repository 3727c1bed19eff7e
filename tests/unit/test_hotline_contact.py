"""An agent corrects a caller's e-mail address and phone, with fakes: an active booking only, found like the
look-up; one audit record naming the changed fields, never their values; the confirmation sent again to the new
address once per correction (its own mail), nothing for the same correction again or for no address; the mail
status follows the confirmation sent again; the version (appointment changes) is left alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.api import schemas
from chalicelib.api import staff as staff_edge
from chalicelib.api.errors import ApiError
from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditAction
from chalicelib.booking.mail_status import MailState
from chalicelib.contracts.mail import MailKind
from chalicelib.notify.dynamo import MARKER_RETENTION
from tests.unit.builders import NOW, person, slot
from tests.unit.test_hotline_mail_status import AGENT, MailWorld

NEW = "erna.neu@example.org"


@pytest.fixture()
def world():
    world = MailWorld()
    world.quota.per_address = 5
    return world


def _booked(world: MailWorld, who: d.Person | None = None) -> str:
    code = world.book(slot(2, 9), who).booking_code
    assert code is not None
    world.send_published()  # the first confirmation, to the address as booked
    return code


def _recipients(world: MailWorld) -> list[str | None]:
    return [m["To"] for m in world.mailer.sent]


def _audited(world: MailWorld) -> list:
    return [
        r for r in world.staff.audit(NOW.date(), NOW.date(), None, 50).records if r.action.endswith("contact_changed")
    ]


def test_a_corrected_address_is_stored_and_sent_the_confirmation_once(world):
    code = _booked(world)
    world.clock.now = NOW + timedelta(hours=1)
    view = world.staff.change_contact(AGENT, code, person().birth_date, NEW, "0231 123456")
    assert (view.booking.person.email, view.booking.person.phone) == (NEW, "0231 123456")
    stored = world.bookings.booking(code)
    assert (stored.person.email, stored.contact_revision, stored.version) == (NEW, 1, 0)
    assert [m.idempotency_key for m in world.outbox.published] == [f"booking_confirmed:{code}:c1"]
    world.send_published()
    assert _recipients(world) == [person().email, NEW]
    assert world.mailer.sent[1]["Subject"] == world.mailer.sent[0]["Subject"]  # the same confirmation


def test_the_same_correction_again_changes_records_and_sends_nothing(world):
    code = _booked(world)
    world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    world.send_published()
    again = world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    assert again.booking.contact_revision == 1 and world.outbox.published == []
    assert len(_audited(world)) == 1 and _recipients(world) == [person().email, NEW]


def test_each_correction_to_another_address_sends_its_own_confirmation(world):
    code = _booked(world)
    world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    world.staff.change_contact(AGENT, code, person().birth_date, "erna.dritte@example.org", None)
    assert [m.idempotency_key for m in world.outbox.published] == [
        f"booking_confirmed:{code}:c1",
        f"booking_confirmed:{code}:c2",
    ]
    world.send_published()
    world.send_published()  # a duplicate delivery is dropped by the key
    assert _recipients(world) == [person().email, NEW, "erna.dritte@example.org"]


def test_removing_the_address_or_changing_only_the_phone_sends_nothing(world):
    code = _booked(world)
    world.staff.change_contact(AGENT, code, person().birth_date, person().email, "0231 99")
    view = world.staff.change_contact(AGENT, code, person().birth_date, None, "0231 99")
    assert world.outbox.published == [] and view.booking.person.email is None
    assert view.booking.contact_revision == 0 and world.staff.mails(view) is None  # no address: no mail status
    assert sorted(r.after["changed"] for r in _audited(world)) == [["email"], ["phone"]]  # same time: any order


def test_the_audit_says_which_fields_changed_and_holds_no_address_or_number(world):
    code = _booked(world)
    world.staff.change_contact(AGENT, code, person().birth_date, NEW, "0231 123456")
    [record] = _audited(world)
    assert (record.action, record.actor, record.role, record.target) == (
        AuditAction.BOOKING_CONTACT_CHANGED,
        "hans",
        "hotline",
        code,
    )
    assert record.before == {"has_email": True, "has_phone": False, "contact_revision": 0}
    assert record.after == {
        "has_email": True,
        "has_phone": True,
        "contact_revision": 1,
        "changed": ["email", "phone"],
        "confirmation_sent_again": True,
    }
    text = str((record.before, record.after))
    assert "@" not in text and "123456" not in text


def test_only_an_active_booking_found_by_code_and_birth_date_is_corrected(world):
    code = _booked(world)
    with pytest.raises(d.BookingNotFound):  # a wrong birth date reads as an unknown code
        world.staff.change_contact(AGENT, code, date(1941, 5, 1), NEW, None)
    with pytest.raises(d.BookingNotFound):
        world.staff.change_contact(AGENT, "ZZZZ-ZZZZ-ZZ", person().birth_date, NEW, None)
    world.staff.cancel(AGENT, code)
    world.send_published()
    with pytest.raises(d.BookingNotActive):
        world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    assert world.bookings.booking(code).person.email == person().email and _audited(world) == []
    assert world.outbox.published == []


def test_a_correction_read_before_another_agents_is_refused_not_overwriting_it(world):
    code = _booked(world)
    read = world.bookings.booking(code)
    world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    late = read.with_contact("erna.spaet@example.org", None, NOW)
    with pytest.raises(d.BookingChanged):
        world.bookings.change_contact(read, late, _audited(world)[0])
    assert world.bookings.booking(code).person.email == NEW


def test_the_mail_status_follows_the_confirmation_sent_again(world):
    code = _booked(world)
    world.clock.now = NOW + MARKER_RETENTION + timedelta(days=1)  # older than the first confirmation's record is kept
    view = world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    confirmation = world.staff.mails(view).confirmation
    assert (confirmation.kind, confirmation.state) == (MailKind.BOOKING_CONFIRMED, MailState.NOT_SENT)
    world.clock.now += timedelta(minutes=2)
    world.send_published()
    confirmation = world.mails(code).confirmation
    assert (confirmation.state, confirmation.at) == (MailState.SENT, world.clock.now)


def test_a_corrected_address_that_is_suppressed_reads_suppressed_and_gets_nothing(world):
    code = _booked(world)
    world.ledger.suppress(NEW, "bounce")
    view = world.staff.change_contact(AGENT, code, person().birth_date, NEW, None)
    mails = world.staff.mails(view)
    assert mails.confirmation.state is MailState.SUPPRESSED and mails.block.reason == "bounce"
    world.send_published()
    assert _recipients(world) == [person().email]


def test_a_caller_without_e_mail_given_one_gets_the_confirmation(world):
    who = replace(person("Ohne"), email=None, phone="0231 123456")
    code = _booked(world, who)
    world.staff.change_contact(AGENT, code, who.birth_date, "ohne@example.org", "0231 123456")
    world.send_published()
    assert _recipients(world) == ["ohne@example.org"]


def test_the_body_checks_address_and_phone_as_a_booking_does_and_needs_both_keys():
    body = schemas.parse_json_body(
        staff_edge.ContactBody, b'{"birth_date": "1940-05-01", "email": " a@B\xc3\xbccher.de ", "phone": null}'
    )
    assert (body.email, body.phone) == ("a@xn--bcher-kva.de", None)
    for raw, field, code in (
        (b'{"birth_date": "1940-05-01", "email": "kein", "phone": null}', "email", "invalid_email"),
        (b'{"birth_date": "1940-05-01", "email": null, "phone": "abc"}', "phone", "invalid_phone"),
        (b'{"birth_date": "1940-05-01", "phone": null}', "email", "missing"),
    ):
        with pytest.raises(ApiError) as refused:
            schemas.parse_json_body(staff_edge.ContactBody, raw)
        assert [(p.field, p.code) for p in refused.value.problems] == [(field, code)]
