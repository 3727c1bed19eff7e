"""Centre staff on the day, with fakes: the day list, check-in and no-show (idempotent, audited in the same
step), the rules of decide_attendance, and the daily report's check-ins and no-shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.attendance import AttendanceAction, AttendanceService
from chalicelib.booking.audit import Actor
from chalicelib.booking.operations import OperationsService
from chalicelib.contracts.mail import MailKind
from tests.fakes import FakeAttendance, FakeAuditLog, FakeSupply
from tests.unit.builders import CAMPAIGN, PEPPER, World, person, slot

DESK = Actor("dora", "center_staff")
A, N, E = d.Attendance.ATTENDED, d.Attendance.NO_SHOW, d.Attendance.EXPECTED


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class DayWorld(World):
    """Two bookings at Dortmund (first dose in 3 days, second 21 days later); the clock at the first's start."""

    def __init__(self):
        self.first, self.second = slot(3, 9, capacity=5), slot(24, 9, capacity=5)
        self.clock = Clock(self.first.start)
        super().__init__([self.first, self.second, slot(3, 11, center="koeln")])
        self.audit_log = FakeAuditLog()
        self.store = FakeAttendance(self.bookings, self.audit_log)
        self.attendance = AttendanceService(
            self.catalog, self.bookings, self.store, clock=self.clock, outbox=self.outbox
        )
        self.codes = []
        for name in ("Zander", "Adler"):
            assert self.book(self.first, person(family=name)).status is d.RequestStatus.BOOKED
        self.codes = sorted(self.bookings.bookings, key=lambda c: self.bookings.bookings[c].person.family_name)

    def mark(self, code: str, dose: int, mark: d.Attendance, center: str = "dortmund"):
        return self.attendance.mark(DESK, center, code, dose, mark)


@pytest.fixture()
def world() -> DayWorld:
    return DayWorld()


def test_the_day_list_has_the_centres_appointments_of_that_day_by_time_and_name(world):
    lines = world.attendance.day_list("dortmund", world.first.day)
    assert [(line.booking.person.family_name, line.dose, line.attendance) for line in lines] == [
        ("Adler", 1, E),
        ("Zander", 1, E),
    ]
    on_second = world.attendance.day_list("dortmund", world.second.day)
    assert [line.dose for line in on_second] == [2, 2]
    assert world.attendance.day_list("koeln", world.first.day) == []
    with pytest.raises(d.UnknownCenter):
        world.attendance.day_list("atlantis", world.first.day)


def test_a_check_in_marks_the_dose_and_writes_one_audit_record_and_a_repeat_changes_nothing(world):
    code = world.codes[0]
    line = world.mark(code, 1, A)
    assert line.attendance is A and world.bookings.bookings[code].first_attendance is A
    assert world.mark(code.lower(), 1, A).attendance is A  # again (a double click, a retried request)
    [record] = world.audit_log.records
    assert (record.action, record.actor, record.role, record.channel, record.target) == (
        AttendanceAction.CHECKED_IN,
        "dora",
        "center_staff",
        "staff",
        code,
    )
    assert (record.before["attendance"], record.after["attendance"], record.after["dose"]) == (
        "expected",
        "attended",
        1,
    )
    assert "Adler" not in str(record) and "1940" not in str(record)  # no personal data in the audit


def test_a_no_show_can_be_corrected_to_attended_but_a_given_dose_stays_given(world):
    code = world.codes[0]
    assert world.mark(code, 1, N).attendance is N
    assert world.mark(code, 1, A).attendance is A  # came late
    with pytest.raises(d.InvalidInput) as refused:
        world.mark(code, 1, N)
    assert refused.value.code == "already_attended"
    assert [r.action for r in world.audit_log.records] == [AttendanceAction.NO_SHOW, AttendanceAction.CHECKED_IN]


def test_marks_wait_for_their_day_and_a_no_show_for_the_appointments_start(world):
    code = world.codes[0]
    world.clock.now = world.first.start - timedelta(days=1)
    with pytest.raises(d.InvalidInput) as early:
        world.mark(code, 1, A)
    assert early.value.code == "appointment_not_yet"
    world.clock.now = world.first.start - timedelta(hours=1)  # the same day, before the time: may check in
    with pytest.raises(d.InvalidInput):
        world.mark(code, 1, N)
    assert world.mark(code, 1, A).attendance is A
    assert world.audit_log.records[0].action == AttendanceAction.CHECKED_IN


def test_a_second_dose_is_checked_in_only_after_the_first_was_given(world):
    unmarked, other = world.codes
    world.clock.now = world.second.start
    with pytest.raises(d.InvalidInput) as refused:
        world.mark(unmarked, 2, A)
    assert refused.value.code == "first_dose_not_given"
    assert world.mark(unmarked, 2, N).attendance is N  # the second missed as well
    world.clock.now = world.first.start
    world.mark(other, 1, A)
    world.clock.now = world.second.start
    assert world.mark(other, 2, A).attendance is A


def test_a_booking_of_another_centre_is_not_found_and_a_cancelled_one_is_not_marked(world):
    code = world.codes[0]
    with pytest.raises(d.BookingNotFound):
        world.mark(code, 1, A, center="koeln")
    with pytest.raises(d.BookingNotFound):
        world.mark("AAAA-BBBB-CC", 1, A)
    booking = world.bookings.bookings[code]
    world.bookings.cancel(booking, booking.person.key(PEPPER))
    with pytest.raises(d.InvalidInput) as refused:
        world.mark(code, 1, A)
    assert refused.value.code == "booking_cancelled" and not world.audit_log.records


def test_a_mark_that_loses_a_race_reads_again_and_decides_on_what_it_finds(world):
    code = world.codes[0]

    class RacedOnce(FakeAttendance):
        raced = False

        def change(self, before, after, dose, at, audit):
            if not self.raced:  # another desk marks a no-show between our read and our write
                self.raced = True
                assert super().change(before, d.with_attendance(before, dose, N), dose, at, audit)
                return False
            return super().change(before, after, dose, at, audit)

    world.attendance = AttendanceService(
        world.catalog,
        world.bookings,
        RacedOnce(world.bookings, world.audit_log),
        clock=world.clock,
        outbox=world.outbox,
    )
    assert world.mark(code, 1, A).attendance is A  # no-show → attended is allowed on the second read
    assert world.bookings.bookings[code].first_attendance is A


def test_a_one_dose_booking_has_no_second_dose_to_mark(world):
    booking = world.bookings.bookings[world.codes[0]]
    with pytest.raises(d.InvalidInput) as refused:
        d.decide_attendance(d.Booking(**{**booking.__dict__, "second": None}), 2, A, world.clock.now)
    assert refused.value.code == "no_such_dose"


def test_the_daily_report_counts_check_ins_no_shows_and_no_second_held_after_a_missed_first(world):
    came, missed = world.codes
    world.mark(came, 1, A)
    world.mark(missed, 1, N)
    supply = FakeSupply(world.catalog, world.bookings)
    ops = OperationsService(world.catalog, clock=world.clock, supply=supply, bookings=world.bookings)
    rows = {(r.center_id, r.day): r for r in ops.daily_report(CAMPAIGN.id, world.first.day, world.second.day)}
    on_first, on_second = rows[("dortmund", world.first.day)], rows[("dortmund", world.second.day)]
    assert (on_first.first_doses, on_first.checked_in, on_first.no_shows) == (2, 1, 1)
    # The missed first dose gave its second appointment back: one second dose left on its day, none held.
    assert (on_second.second_doses, on_second.checked_in, on_second.no_shows) == (1, 0, 0)
    assert (on_first.second_doses_after_no_show, on_second.second_doses_after_no_show) == (0, 0)
    assert on_second.booked == 1
    # Against the store: every mark is counted once, on its appointment's day.
    marks = [(b.attendance(n), a) for b in world.bookings.bookings.values() for n, a in enumerate(b.appointments, 1)]
    assert sum(r.checked_in for r in rows.values()) == sum(m is A for m, _ in marks)
    assert sum(r.no_shows for r in rows.values()) == sum(m is N for m, _ in marks)


class _Request:
    def __init__(self, groups):
        self.context = {"authorizer": {"claims": {"cognito:username": "dora", "cognito:groups": groups}}}


@pytest.mark.parametrize(
    "groups", [["center_staff:dortmund"], "[hotline center_staff:dortmund]", "center_staff:dortmund"]
)
def test_a_centres_group_is_read_from_the_claim_as_a_list_or_as_api_gateways_string(groups):
    from chalicelib.api.errors import ApiError
    from chalicelib.api.staff import centre_actor

    assert centre_actor(_Request(groups), "dortmund") == Actor("dora", "center_staff")
    with pytest.raises(ApiError) as refused:
        centre_actor(_Request(groups), "koeln")
    assert refused.value.status == 403
    assert centre_actor(_Request("[admin]"), "koeln") == Actor("dora", "admin")


# --- the second seat of a missed first dose, and taking a mark back ---------------------------------


def reconciled(world: DayWorld):
    from chalicelib.booking.reconciliation import Reconciliation

    return Reconciliation(world.catalog, world.bookings, clock=world.clock).run()


def booked_on(world: DayWorld, s: d.Slot) -> int:
    return world.catalog.slot_table[(s.campaign_id, s.center_id, s.slot_id)].booked


def test_a_first_dose_no_show_gives_the_second_seat_back_in_the_same_audited_step(world):
    code = world.codes[0]
    line = world.mark(code, 1, N)
    stored = world.bookings.bookings[code]
    assert stored.second is None and stored.released_second == world.second.ref
    assert line.booking == stored and booked_on(world, world.second) == 1  # two booked, one given back
    [record] = world.audit_log.records
    assert (record.before["second_slot_id"], record.after["second_slot_id"]) == (world.second.slot_id, None)
    assert record.after["released_second_slot_id"] == world.second.slot_id
    report = reconciled(world)
    assert (report.drift, report.second_dose_shortfall) == (0, 0)  # counters equal the appointments held
    world.mark(code, 1, N)  # again: nothing more given back
    assert booked_on(world, world.second) == 1 and len(world.audit_log.records) == 1


def test_a_person_whose_missed_first_dose_gave_the_second_back_is_told_once_by_mail(world):
    code, other = world.codes
    world.outbox.published.clear()
    world.mark(other, 1, A)  # a check-in tells nobody anything
    assert world.outbox.published == []
    world.mark(code, 1, N)
    [told] = world.outbox.published
    assert (told.kind, told.booking_code, told.recipient) == (
        MailKind.SECOND_APPOINTMENT_RELEASED,
        code,
        world.bookings.bookings[code].person.email,
    )
    assert [(a.dose, a.start) for a in told.appointments] == [(1, world.first.start), (2, world.second.start)]
    world.mark(code, 1, N)  # a repeat (its first publish may have been lost): the same message, sent once by notify
    assert [m.idempotency_key for m in world.outbox.published] == [told.idempotency_key] * 2


def test_no_mail_for_a_missed_first_dose_of_a_person_without_e_mail(world):
    code = world.codes[0]
    world.bookings.bookings[code] = replace(
        world.bookings.bookings[code], person=replace(world.bookings.bookings[code].person, email="")
    )
    world.outbox.published.clear()
    assert world.mark(code, 1, N).booking.released_second == world.second.ref
    assert world.outbox.published == []


def test_taking_a_no_show_back_takes_the_second_seat_again_and_is_audited(world):
    code = world.codes[0]
    world.mark(code, 1, N)
    line = world.attendance.undo(DESK, "dortmund", code, 1)
    assert line.attendance is E and line.booking.second == world.second.ref and line.booking.released_second is None
    assert world.bookings.bookings[code] == line.booking and booked_on(world, world.second) == 2
    assert world.attendance.undo(DESK, "dortmund", code, 1).attendance is E  # again: nothing to take back
    undone = world.audit_log.records[-1]
    assert (undone.action, undone.before["attendance"], undone.after["attendance"]) == (
        AttendanceAction.UNDONE,
        "no_show",
        "expected",
    )
    assert len(world.audit_log.records) == 2 and reconciled(world).drift == 0


def test_a_no_show_whose_second_seat_went_to_someone_else_is_not_taken_back_but_a_check_in_still_is(world):
    code = world.codes[0]
    world.mark(code, 1, N)
    key = (world.second.campaign_id, world.second.center_id, world.second.slot_id)
    world.catalog.slot_table[key] = replace(
        world.catalog.slot_table[key], booked=5
    )  # full: others booked the seat meanwhile
    with pytest.raises(d.SecondSlotTaken):
        world.attendance.undo(DESK, "dortmund", code, 1)
    assert world.bookings.bookings[code].first_attendance is N and booked_on(world, world.second) == 5
    assert [r.action for r in world.audit_log.records] == [AttendanceAction.NO_SHOW]  # nothing written
    came_late = world.mark(code, 1, A)  # the dose is given all the same, without a second appointment
    assert (came_late.attendance, came_late.booking.second) == (A, None)
    assert came_late.booking.released_second == world.second.ref and booked_on(world, world.second) == 5


def test_a_check_in_after_a_no_show_takes_the_free_second_seat_again(world):
    code = world.codes[0]
    world.mark(code, 1, N)
    line = world.mark(code, 1, A)
    assert line.booking.second == world.second.ref and booked_on(world, world.second) == 2
    assert reconciled(world).drift == 0


def test_only_todays_marks_are_taken_back_and_a_first_check_in_not_once_the_second_is_given(world):
    code = world.codes[0]
    world.mark(code, 1, A)
    world.clock.now = world.second.start
    with pytest.raises(d.InvalidInput) as old:
        world.attendance.undo(DESK, "dortmund", code, 1)
    assert old.value.code == "not_today"
    world.mark(code, 2, A)
    with pytest.raises(d.InvalidInput) as given:
        d.decide_undo(world.bookings.bookings[code], 1, world.first.start)
    assert given.value.code == "second_dose_given"
    assert world.attendance.undo(DESK, "dortmund", code, 2).attendance is E  # the wrong row of today
    with pytest.raises(d.BookingNotFound):
        world.attendance.undo(DESK, "koeln", code, 2)
