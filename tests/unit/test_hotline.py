"""Hotline agents and the audit, with fakes: callers without e-mail, channel and agent recorded, look-up by name,
agent cancel, and one audit record for each staff action."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction, AuditTrail
from chalicelib.booking.hotline import StaffService
from chalicelib.booking.operations import OperationsService, SlotRelease
from chalicelib.contracts.mail import MailKind
from tests.fakes import FakeAuditLog, FakeBookings, FakeCallerIndex
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, World, person, slot

AGENT = Actor("hans", "hotline")
OPS = Actor("olga", "ops")


def caller_without_email(given: str = "Erna") -> d.Person:
    return replace(person(given), email=None, phone="0231 123456", postal_address="Hauptstr. 1\n44141 Dortmund")


class StaffWorld(World):
    def __init__(self, slots, audit_failures: int = 0):
        self.audit_log = FakeAuditLog(failures=audit_failures)
        self.failed_audits: list[str] = []
        super().__init__(slots, bookings_type=lambda catalog: FakeBookings(catalog, self.audit_log))
        trail = AuditTrail(
            self.audit_log,
            on_failure=lambda record, error: self.failed_audits.append(record.action),
            sleep=lambda s: None,
        )
        self.staff = StaffService(
            self.queries,
            self.bookings,
            FakeCallerIndex(self.bookings),
            self.outbox,
            trail,
            person_key=lambda p: p.key(PEPPER),
            clock=lambda: NOW,
        )

    def book_by_phone(self, first: d.Slot, who: d.Person) -> d.RequestState:
        request_id = self.service.submit(
            CAMPAIGN.id, first.center_id, first.slot_id, False, "de", who, channel=d.Channel.HOTLINE, agent=AGENT.user
        )
        self.staff.booking_requested(
            AGENT, request_id, CAMPAIGN.id, first.center_id, first.slot_id, has_email=who.email is not None
        )
        return self.service.process(next(r for r in self.queue.sent if r.request_id == request_id))


@pytest.fixture()
def world():
    return StaffWorld([slot(2, 9), slot(23, 9), slot(3, 10), slot(24, 10)])


def test_an_agent_books_a_caller_without_email_and_no_mail_is_published(world):
    state = world.book_by_phone(slot(2, 9), caller_without_email())
    assert state.status is d.RequestStatus.BOOKED
    booking = world.bookings.booking(state.booking_code)
    assert booking.person.email is None and booking.person.postal_address.endswith("44141 Dortmund")
    assert world.outbox.published == []


def test_the_booking_records_the_hotline_channel_and_the_agent(world):
    state = world.book_by_phone(slot(2, 9), caller_without_email())
    booking = world.bookings.booking(state.booking_code)
    assert (booking.channel, booking.agent) == (d.Channel.HOTLINE, "hans")
    assert world.queue.sent[0].channel is d.Channel.HOTLINE and world.queue.sent[0].agent == "hans"


def test_a_web_booking_records_the_web_channel_and_no_agent(world):
    booking = world.bookings.booking(world.book(slot(2, 9)).booking_code)
    assert (booking.channel, booking.agent) == (d.Channel.WEB, None)
    assert [m.kind for m in world.outbox.published] == [MailKind.BOOKING_CONFIRMED]


def test_a_caller_booked_by_phone_cannot_book_again_on_the_web(world):
    world.book_by_phone(slot(2, 9), caller_without_email())
    again = world.book(slot(3, 10), replace(person(), email="erna@example.org"))
    assert (again.status, again.reason) == (d.RequestStatus.REJECTED, d.RejectReason.ALREADY_BOOKED)


def test_an_agent_finds_a_caller_by_name_birth_date_and_postal_code(world):
    code = world.book_by_phone(slot(2, 9), caller_without_email()).booking_code
    world.book(slot(3, 10), person("Otto"))
    found = world.staff.find("ERNA", "Mueller", date(1940, 5, 1), "44141")
    assert [v.booking.code for v in found] == [code]


def test_the_wrong_postal_code_or_birth_date_finds_nothing(world):
    world.book_by_phone(slot(2, 9), caller_without_email())
    assert world.staff.find("Erna", "Müller", date(1940, 5, 1), "44139") == []
    assert world.staff.find("Erna", "Müller", date(1940, 5, 2), "44141") == []


def test_an_agent_cancels_without_birth_date_and_the_cancel_is_audited_with_it(world):
    code = world.book_by_phone(slot(2, 9), caller_without_email()).booking_code
    view = world.staff.cancel(AGENT, code)
    assert view.booking.status is d.BookingStatus.CANCELLED
    assert world.remaining(slot(2, 9)) == 1 and world.remaining(slot(23, 9)) == 1
    record = world.audit_log.records[-1]
    assert (record.action, record.target, record.actor, record.role) == (
        AuditAction.BOOKING_CANCELLED,
        code,
        "hans",
        "hotline",
    )
    assert (record.before["status"], record.after["status"]) == ("active", "cancelled")
    assert world.outbox.published == []  # no e-mail: no cancellation mail either


def test_cancelling_twice_changes_and_audits_once(world):
    code = world.book_by_phone(slot(2, 9), caller_without_email()).booking_code
    world.staff.cancel(AGENT, code)
    world.staff.cancel(AGENT, code)
    assert [r.action for r in world.audit_log.records].count(AuditAction.BOOKING_CANCELLED) == 1


def test_an_agent_cancel_of_a_caller_with_email_sends_the_cancellation_mail(world):
    code = world.book(slot(2, 9)).booking_code
    world.staff.cancel(AGENT, code)
    assert [m.kind for m in world.outbox.published] == [MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_CANCELLED]


def test_cancelling_an_unknown_code_is_not_found(world):
    with pytest.raises(d.BookingNotFound):
        world.staff.cancel(AGENT, "AAAA-BBBB-CC")
    assert world.audit_log.records == []


def test_audit_records_hold_no_personal_data(world):
    world.book_by_phone(slot(2, 9), caller_without_email())
    code = next(iter(world.bookings.bookings))
    world.staff.cancel(AGENT, code)
    text = repr(world.audit_log.records)
    for personal in ("Erna", "Müller", "1940-05-01", "Hauptstr", "0231"):
        assert personal not in text


def test_every_staff_action_writes_one_audit_record(world):
    world.book_by_phone(slot(2, 9), caller_without_email())
    world.staff.cancel(AGENT, next(iter(world.bookings.bookings)))
    ops = OperationsService(world.catalog, clock=lambda: NOW)
    before = world.staff.campaign_or_none(CAMPAIGN.id)
    changed = ops.put_campaign(replace(CAMPAIGN, born_on_or_before=date(1941, 12, 31)))
    world.staff.campaign_put(OPS, before, changed)
    start = NOW + timedelta(days=5)
    slots = ops.release_contingent(CAMPAIGN.id, "dortmund", [SlotRelease(start, start + timedelta(minutes=30), 3)])
    world.staff.contingent_released(OPS, CAMPAIGN.id, "dortmund", slots, added_capacity=3)
    world.staff.waiting_room_put(OPS, CAMPAIGN.id, {"active": False}, {"active": True})
    actions = [r.action for r in world.audit_log.records]
    assert actions == [
        AuditAction.BOOKING_REQUESTED,
        AuditAction.BOOKING_CANCELLED,
        AuditAction.CAMPAIGN_PUT,
        AuditAction.CONTINGENT_RELEASED,
        AuditAction.WAITING_ROOM_PUT,
    ]
    campaign_record = world.audit_log.records[2]
    assert campaign_record.before["born_on_or_before"] == "1940-12-31"
    assert campaign_record.after["born_on_or_before"] == "1941-12-31"
    assert world.audit_log.records[3].after["added_capacity"] == 3


def test_the_audit_lists_by_day_and_actor_page_by_page(world):
    for n in range(5):
        world.staff.waiting_room_put(OPS if n % 2 else AGENT, CAMPAIGN.id, {}, {"n": n})
    first = world.staff.audit(NOW.date(), NOW.date(), None, limit=2)
    assert len(first.records) == 2 and first.cursor is not None
    second = world.staff.audit(NOW.date(), NOW.date(), None, limit=2, cursor=first.cursor)
    third = world.staff.audit(NOW.date(), NOW.date(), None, limit=2, cursor=second.cursor)
    listed = [r.after["n"] for page in (first, second, third) for r in page.records]
    assert sorted(listed) == [0, 1, 2, 3, 4] and third.cursor is None
    by_ops = world.staff.audit(NOW.date(), NOW.date(), "olga", limit=50)
    assert sorted(r.after["n"] for r in by_ops.records) == [1, 3]
    assert world.staff.audit(NOW.date() + timedelta(days=1), NOW.date() + timedelta(days=2), None, 50).records == ()


def test_an_audit_range_over_a_month_is_refused(world):
    with pytest.raises(d.InvalidInput):
        world.staff.audit(NOW.date(), NOW.date() + timedelta(days=31), None, 50)


def test_an_audit_write_is_retried_and_a_lasting_failure_is_reported_not_swallowed():
    retried = StaffWorld([slot(2, 9)], audit_failures=2)
    retried.staff.waiting_room_put(OPS, CAMPAIGN.id, {}, {})
    assert len(retried.audit_log.records) == 1 and retried.failed_audits == []

    failing = StaffWorld([slot(2, 9)], audit_failures=10)
    with pytest.raises(ConnectionError):
        failing.staff.waiting_room_put(OPS, CAMPAIGN.id, {}, {})
    assert failing.failed_audits == [AuditAction.WAITING_ROOM_PUT]


def test_a_scheduled_contingent_is_audited_with_each_slots_release_time(world):
    ops = OperationsService(world.catalog, clock=lambda: NOW)
    start, release_at = NOW + timedelta(days=6), NOW + timedelta(days=2)
    scheduled = SlotRelease(start, start + timedelta(minutes=30), 4, release_at=release_at)
    now_too = SlotRelease(start + timedelta(hours=1), start + timedelta(hours=1, minutes=30), 2)
    slots = ops.release_contingent(CAMPAIGN.id, "dortmund", [scheduled, now_too])
    world.staff.contingent_released(OPS, CAMPAIGN.id, "dortmund", slots, added_capacity=6)
    [record] = world.audit_log.records
    assert (record.action, record.actor, record.channel) == (AuditAction.CONTINGENT_RELEASED, "olga", "staff_api")
    assert record.after["release_at"] == {d.slot_id_for(start): release_at.isoformat()}
    assert record.after["slot_ids"] == [d.slot_id_for(start), d.slot_id_for(now_too.start)]
