"""What the hotline sees of a booking's mails, with fakes: the confirmation sent (with its time), being sent, not
sent yet, capped, not sent to a blocked address, unknown once the records have expired, the latest change or
cancellation mail, and nothing for a caller without e-mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.api import staff as staff_edge
from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditTrail
from chalicelib.booking.hotline import StaffService
from chalicelib.booking.mail_status import MailState
from chalicelib.booking.ports import AddressBlock
from chalicelib.bootstrap import LedgerMailRecords
from chalicelib.contracts.mail import MailKind
from chalicelib.notify.dynamo import MARKER_RETENTION
from chalicelib.notify.ports import MailBeingSent
from chalicelib.notify.services import MailService
from tests.fakes import FakeAuditLog, FakeBookings, FakeCallerIndex, FakeMailer, FakeMailQuota, FakeSuppressionList
from tests.unit.builders import NOW, PEPPER, World, person, slot

AGENT = Actor("hans", "hotline")


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class MailWorld(World):
    """Bookings whose published mails are sent (or not) by the real mail service over the fake ledger, and an
    agent's staff service reading that ledger."""

    def __init__(self):
        self.clock = Clock()
        audit_log = FakeAuditLog()
        super().__init__(
            [slot(2, 9), slot(23, 9), slot(3, 10), slot(24, 10)],
            clock=self.clock,
            bookings_type=lambda catalog: FakeBookings(catalog, audit_log),
        )
        self.ledger = FakeSuppressionList(clock=self.clock)
        self.quota = FakeMailQuota(per_address=0)  # every mail that counts is capped; the confirmation does not
        self.mailer = FakeMailer()
        self.mail = MailService(self.mailer, self.ledger, "termine@example.org", "https://example.org", self.quota)
        self.staff = StaffService(
            self.queries,
            self.bookings,
            FakeCallerIndex(self.bookings),
            self.outbox,
            AuditTrail(audit_log, on_failure=lambda record, error: None),
            person_key=lambda p: p.key(PEPPER),
            clock=self.clock,
            mail_records=LedgerMailRecords(self.ledger),
        )

    def send_published(self) -> None:
        while self.outbox.published:
            self.mail.send(self.outbox.published.pop(0))

    def mails(self, code: str, who: d.Person | None = None):
        return self.staff.mails(self.staff.lookup(code, (who or person()).birth_date))


@pytest.fixture()
def world():
    return MailWorld()


def test_a_sent_confirmation_reads_sent_with_the_time_it_went_out(world):
    code = world.book(slot(2, 9)).booking_code
    world.clock.now = NOW + timedelta(minutes=3)
    world.send_published()
    world.clock.now = NOW + timedelta(hours=5)  # the caller rings later that day
    mails = world.mails(code)
    assert mails.confirmation.kind is MailKind.BOOKING_CONFIRMED
    assert (mails.confirmation.state, mails.confirmation.at) == (MailState.SENT, NOW + timedelta(minutes=3))
    assert (mails.latest, mails.block) == (None, None)
    assert len(world.mailer.sent) == 1


def test_a_confirmation_not_sent_yet_reads_not_sent_and_one_being_sent_reads_sending(world):
    code = world.book(slot(2, 9)).booking_code
    assert world.mails(code).confirmation.state is MailState.NOT_SENT  # still queued (or waiting for a retry)
    message = world.outbox.published[0]
    world.ledger.claim(message.idempotency_key, message.recipient, "a-worker-sending-now")
    assert world.mails(code).confirmation.state is MailState.SENDING
    with pytest.raises(MailBeingSent):  # and nobody else sends it meanwhile
        world.mail.send(message)


def test_a_change_mail_dropped_by_the_daily_cap_reads_capped_and_the_confirmation_stays_sent(world):
    code = world.book(slot(2, 9)).booking_code
    world.send_published()
    world.service.rebook(code, person().birth_date, slot(3, 10).slot_id, False)
    world.clock.now = NOW + timedelta(minutes=10)
    world.send_published()
    mails = world.mails(code)
    assert mails.confirmation.state is MailState.SENT
    assert (mails.latest.kind, mails.latest.state) == (MailKind.BOOKING_CHANGED, MailState.CAPPED)
    assert mails.latest.at == NOW + timedelta(minutes=10) and len(world.mailer.sent) == 1


def test_the_latest_mail_is_the_change_of_the_current_version_once_sent(world):
    world.quota.per_address = 5
    code = world.book(slot(2, 9)).booking_code
    world.send_published()
    world.service.rebook(code, person().birth_date, slot(3, 10).slot_id, False)
    assert world.mails(code).latest.state is MailState.NOT_SENT
    world.send_published()
    world.service.rebook(code, person().birth_date, slot(2, 9).slot_id, False)  # version 2: its mail not yet sent
    latest = world.mails(code).latest
    assert (latest.kind, latest.state) == (MailKind.BOOKING_CHANGED, MailState.NOT_SENT)
    world.send_published()
    assert world.mails(code).latest.state is MailState.SENT


def test_after_an_agents_cancel_the_latest_mail_is_the_cancellation(world):
    world.quota.per_address = 5
    code = world.book(slot(2, 9)).booking_code
    world.send_published()
    latest = world.staff.mails(world.staff.cancel(AGENT, code)).latest  # as the cancel answers
    assert (latest.kind, latest.state) == (MailKind.BOOKING_CANCELLED, MailState.NOT_SENT)
    world.send_published()
    assert world.mails(code).latest.state is MailState.SENT


def test_a_blocked_address_is_shown_with_why_and_since_and_mails_not_sent_read_suppressed(world):
    code = world.book(slot(2, 9)).booking_code
    world.clock.now = NOW + timedelta(minutes=1)
    world.ledger.suppress(person().email, "bounce")  # bounced before the confirmation went out
    world.send_published()
    mails = world.mails(code)
    assert mails.confirmation.state is MailState.SUPPRESSED and world.mailer.sent == []
    assert mails.block == AddressBlock("bounce", NOW + timedelta(minutes=1))


def test_a_confirmation_sent_to_an_address_that_bounced_afterwards_reads_sent_and_blocked(world):
    code = world.book(slot(2, 9)).booking_code
    world.send_published()
    world.ledger.suppress(person().email, "complaint")
    mails = world.mails(code)
    assert mails.confirmation.state is MailState.SENT and mails.block.reason == "complaint"


def test_without_a_record_a_booking_older_than_records_are_kept_reads_unknown_not_not_sent(world):
    code = world.book(slot(2, 9)).booking_code
    world.clock.now = NOW + MARKER_RETENTION - timedelta(minutes=1)
    assert world.mails(code).confirmation.state is MailState.NOT_SENT
    world.clock.now = NOW + MARKER_RETENTION
    assert world.mails(code).confirmation.state is MailState.UNKNOWN


def test_a_caller_without_e_mail_has_no_mail_status(world):
    who = replace(person("Ohne"), email=None, phone="0231 123456")
    code = world.book(slot(2, 9), who).booking_code
    assert world.mails(code, who) is None
    assert staff_edge.staff_booking_with_mail(world.staff.lookup(code, who.birth_date), None)["mail"] is None


def test_the_staff_view_says_it_in_json_with_local_times(world):
    code = world.book(slot(2, 9)).booking_code
    world.send_published()
    world.ledger.suppress(person().email, "bounce")
    view = world.staff.lookup(code, person().birth_date)
    body = staff_edge.staff_booking_with_mail(view, world.staff.mails(view))
    assert body["mail"] == {
        "confirmation": {"kind": "booking_confirmed", "state": "sent", "at": NOW.isoformat()},
        "latest": None,
        "blocked": {"reason": "bounce", "since": NOW.isoformat()},
    }
    assert "@" not in str(body["mail"])
