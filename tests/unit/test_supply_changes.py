"""Supply changes by ops, on the fakes: capacity cuts, scheduled releases, centre-day cancellation, second-dose
repair and the daily report."""

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction
from chalicelib.booking.operations import OperationsService, SlotRelease
from chalicelib.booking.reconciliation import Reconciliation
from chalicelib.booking.released import ReleasedCatalog
from chalicelib.contracts.mail import MailKind, MailMessage
from tests.fakes import FakeAuditLog, FakeBookings, FakeSupply
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, person, slot
from tests.unit.builders import World as BaseWorld

OLGA = Actor("olga", "ops")


class World(BaseWorld):
    """The builders' world, whose bookings store keeps the audit records written with each change."""

    def __init__(self, slots, **kwargs):
        self.audit_log = FakeAuditLog()
        super().__init__(slots, bookings_type=lambda catalog: FakeBookings(catalog, self.audit_log), **kwargs)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


# One supply per world, so that its operations outlive a service: a world is keyed by itself (identity), not by id().
_SUPPLIES: dict[World, FakeSupply] = {}


def supply_of(world: World) -> FakeSupply:
    return _SUPPLIES.setdefault(world, FakeSupply(world.catalog, world.bookings))


def ops(world: World, clock=lambda: NOW) -> OperationsService:
    supply = supply_of(world)
    return OperationsService(
        world.catalog,
        clock=clock,
        supply=supply,
        bookings=world.bookings,
        outbox=world.outbox,
        person_key_pepper=PEPPER,
    )


def booked_world(n: int, capacity: int = 10) -> tuple[World, d.Slot, d.Slot]:
    first, second = slot(3, 9, capacity), slot(24, 9, capacity)
    world = World([first, second])
    for i in range(n):
        assert world.book(first, person(f"Person{chr(65 + i)}")).status is d.RequestStatus.BOOKED
    return world, first, second


def current(world: World, s: d.Slot) -> d.Slot:
    return world.catalog.slot(s.campaign_id, s.center_id, s.slot_id)


def day_operation(key: str, day_offset: int = 3, center: str = "dortmund") -> d.CentreDayOperation:
    day = NOW.date() + timedelta(days=day_offset)
    return d.CentreDayOperation(key, CAMPAIGN.id, center, day, day, "olga")


# --- capacity cuts --------------------------------------------------------------------------------


def test_a_capacity_cut_never_goes_below_what_is_booked():
    world, first, _ = booked_world(3)
    [change] = ops(world).reduce_capacity(CAMPAIGN.id, "dortmund", 1, OLGA, slot_id=first.slot_id)
    assert (change.capacity_before, change.capacity, change.booked, change.outcome) == (10, 3, 3, "limited")
    assert (current(world, first).capacity, current(world, first).booked) == (3, 3)
    assert world.book(first, person("Late")).status is d.RequestStatus.REJECTED


def test_a_day_cut_reduces_each_slot_as_far_as_allowed_and_says_what_it_did():
    free, busy, untouched = slot(3, 10, 5), slot(3, 11, 5), slot(3, 12, 1)
    world = World([free, busy, untouched, slot(24, 10, 5), slot(24, 11, 5)])
    world.book(busy, person("Anna"))
    world.book(busy, person("Berta"))
    changes = ops(world).reduce_capacity(CAMPAIGN.id, "dortmund", 1, OLGA, day=free.day)
    assert [(c.slot_id, c.capacity, c.outcome) for c in changes] == [
        (free.slot_id, 1, "reduced"),
        (busy.slot_id, 2, "limited"),
        (untouched.slot_id, 1, "unchanged"),
    ]
    assert current(world, slot(24, 10)).capacity == 5  # another day is not touched


def test_a_capacity_cut_that_races_a_booking_reads_again_and_still_stops_at_the_booked_count():
    world, first, _ = booked_world(1)
    service = ops(world)
    stale = current(world, first)
    world.book(first, person("Racer"))  # booked after ops read the slot
    change = service._reduce(stale, 0, OLGA)
    assert (change.capacity, change.booked, change.outcome) == (2, 2, "limited")


# --- scheduled release ----------------------------------------------------------------------------


def test_a_scheduled_contingent_is_invisible_to_availability_and_booking_until_its_release_time():
    clock = Clock()
    world = World([], service_catalog=lambda catalog: ReleasedCatalog(catalog, clock))
    world.queries._now = world.service._now = clock
    first, second = slot(3, 9, 2), slot(24, 9, 2)
    release_at = NOW + timedelta(hours=2)
    ops(world, clock).release_contingent(
        CAMPAIGN.id, "dortmund", [SlotRelease(s.start, s.end, s.capacity, release_at) for s in (first, second)]
    )
    assert world.queries.availability("dortmund", CAMPAIGN.id, None, 28) == []
    with pytest.raises(d.InvalidInput) as raised:
        world.submit(first)
    assert raised.value.code == "unknown_slot"
    clock.now = release_at
    assert [
        p.first.slot_id for day in world.queries.availability("dortmund", CAMPAIGN.id, None, 28) for p in day.pairs
    ] == [first.slot_id]
    assert world.book(first).status is d.RequestStatus.BOOKED


def test_a_scheduled_release_does_not_hide_an_existing_slot_nor_come_after_its_start():
    world, first, _ = booked_world(1)
    with pytest.raises(d.InvalidInput) as raised:
        ops(world).release_contingent(
            CAMPAIGN.id, "dortmund", [SlotRelease(first.start, first.end, 1, NOW + timedelta(hours=1))]
        )
    assert raised.value.code == "slot_exists"
    later = slot(5, 9)
    with pytest.raises(d.InvalidInput) as raised:
        ops(world).release_contingent(CAMPAIGN.id, "dortmund", [SlotRelease(later.start, later.end, 1, later.start)])
    assert raised.value.field == "release_at"


# --- a failed delivery: cancel a centre-day -------------------------------------------------------


def notices(world: World) -> list:
    return [m for m in world.outbox.published if m.kind is MailKind.APPOINTMENT_CANCELLED_BY_CENTRE]


def test_cancelling_a_centre_day_frees_every_slot_and_gives_each_person_one_notice():
    world, first, second = booked_world(4)
    done = ops(world).cancel_centre_days(day_operation("op-1"), batch=50, actor=OLGA)
    assert (done.done, done.cancelled) == (True, 4)
    assert current(world, first).booked == 0 and current(world, second).booked == 0  # both doses given back
    assert all(b.status is d.BookingStatus.CANCELLED for b in world.bookings.bookings.values())
    assert sorted(m.booking_code for m in notices(world)) == sorted(world.bookings.bookings)
    assert world.book(first, person("PersonA")).status is d.RequestStatus.BOOKED  # the lock is gone: may rebook


def test_a_second_dose_day_is_cancelled_as_well_and_other_days_are_not():
    world, first, second = booked_world(2)
    other_day, later_second = slot(4, 9, 5), slot(25, 9, 5)
    world.catalog.release_slots([other_day, later_second])
    world.book(other_day, person("Else"))
    done = ops(world).cancel_centre_days(day_operation("op-2", day_offset=24), batch=50, actor=OLGA)
    assert done.cancelled == 2 and current(world, second).booked == 0
    assert current(world, other_day).booked == 1 + 0  # Else's booking stays; the held pairs are not on it
    # The nearest pair to what was cancelled keeps the first dose's time with a second on another day: held.
    holds = list(world.bookings.holds())
    assert sorted((h.first.slot_id, h.second.slot_id) for h in holds) == [(first.slot_id, later_second.slot_id)] * 2
    assert (current(world, first).booked, current(world, later_second).booked) == (2, 2 + 1)


def test_running_the_operation_twice_changes_nothing_the_second_time():
    world, _, _ = booked_world(3)
    service = ops(world)
    once = service.cancel_centre_days(day_operation("op-3"), batch=50, actor=OLGA)
    twice = service.cancel_centre_days(day_operation("op-3"), batch=50, actor=OLGA)
    assert once == twice and twice.cancelled == 3
    assert len({m.idempotency_key for m in notices(world)}) == 3


def test_a_crash_halfway_is_resumed_by_running_it_again_and_nothing_happens_twice():
    world, first, second = booked_world(5)
    service = ops(world)
    halfway = service.cancel_centre_days(day_operation("op-4"), batch=2, actor=OLGA)  # then the process "dies"
    assert (halfway.done, halfway.cancelled, current(world, first).booked) == (False, 2, 3)
    resumed = halfway
    while not resumed.done:
        resumed = service.cancel_centre_days(day_operation("op-4"), batch=2, actor=OLGA)
    assert (resumed.cancelled, current(world, first).booked, current(world, second).booked) == (5, 0, 0)
    assert sorted({m.booking_code for m in notices(world)}) == sorted(world.bookings.bookings)


def test_a_batch_cut_off_after_its_writes_but_before_its_progress_is_redone_without_a_second_cancel():
    world, first, _ = booked_world(3)
    service = ops(world)
    supply = supply_of(world)
    supply.record_progress = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        service.cancel_centre_days(day_operation("op-5"), batch=2, actor=OLGA)
    del supply.record_progress
    resumed = service.cancel_centre_days(day_operation("op-5"), batch=10, actor=OLGA)
    assert resumed.done and current(world, first).booked == 0
    assert resumed.cancelled == 1  # the two of the lost batch were counted by nobody: counts are per run, not exact
    assert len({m.idempotency_key for m in notices(world)}) == 3


def test_an_operation_id_used_for_other_days_is_refused():
    world, _, _ = booked_world(1)
    service = ops(world)
    service.cancel_centre_days(day_operation("op-6"), batch=10, actor=OLGA)
    with pytest.raises(d.OperationConflict):
        service.cancel_centre_days(day_operation("op-6", day_offset=5), batch=10, actor=OLGA)


# --- second-dose repair ---------------------------------------------------------------------------


def first_dose_only(world: World, first: d.Slot) -> d.Booking:
    """The 2021 case: a booking of a two-dose campaign that holds only its first appointment."""
    booking = d.Booking("ABCD-EFGH-JK", "r-1", CAMPAIGN.id, first.center_id, first.ref, None, person("Solo"), "de")
    world.bookings.bookings[booking.code] = booking
    s = current(world, first)
    world.catalog.slot_table[(s.campaign_id, s.center_id, s.slot_id)] = replace(s, booked=s.booked + 1)
    return booking


def added_mails(world: World) -> list[MailMessage]:
    return [m for m in world.outbox.published if m.kind is MailKind.SECOND_APPOINTMENT_ADDED]


def test_ops_give_a_missing_second_dose_inside_the_interval_window_and_the_person_is_told_once():
    world, first, second = booked_world(0)
    booking = first_dose_only(world, first)
    world.outbox.published.clear()
    repaired = ops(world).add_second_dose(booking.code, second.slot_id, OLGA)
    assert repaired.second == second.ref and world.bookings.bookings[booking.code] == repaired
    assert repaired.version == booking.version + 1  # a change: the calendar file's entries are updated
    assert current(world, second).booked == 1
    (mail,) = added_mails(world)
    assert [a.start for a in mail.appointments] == [first.start, second.start] and mail.version == repaired.version
    # A repeat (its answer lost): nothing taken twice, the same mail again, which notify sends once.
    assert ops(world).add_second_dose(booking.code, second.slot_id, OLGA) == repaired
    assert current(world, second).booked == 1
    assert [m.idempotency_key for m in added_mails(world)] == [mail.idempotency_key] * 2
    with pytest.raises(d.InvalidInput) as raised:  # another slot: the second dose is not missing any more
        ops(world).add_second_dose(booking.code, slot(22, 9, 5).slot_id, OLGA)
    assert raised.value.code == "second_dose_not_missing"


def test_a_caller_without_e_mail_given_a_second_dose_gets_no_mail():
    world, first, second = booked_world(0)
    booking = first_dose_only(world, first)
    world.bookings.bookings[booking.code] = replace(booking, person=replace(booking.person, email=None))
    world.outbox.published.clear()
    ops(world).add_second_dose(booking.code, second.slot_id, OLGA)
    assert added_mails(world) == [] and world.bookings.bookings[booking.code].second == second.ref


def test_a_second_dose_outside_the_window_or_in_a_full_slot_is_refused_and_changes_nothing():
    too_early, full = slot(10, 9, 5), slot(25, 9, 0)
    world, first, _ = booked_world(0)
    world.catalog.release_slots([too_early, full])
    booking = first_dose_only(world, first)
    with pytest.raises(d.InvalidInput) as raised:
        ops(world).add_second_dose(booking.code, too_early.slot_id, OLGA)
    assert raised.value.code == "outside_interval_window"
    with pytest.raises(d.SecondSlotTaken):
        ops(world).add_second_dose(booking.code, full.slot_id, OLGA)
    assert world.bookings.bookings[booking.code].second is None and current(world, full).booked == 0


# --- report ---------------------------------------------------------------------------------------


def test_the_daily_report_adds_up_against_the_slots_and_bookings():
    world, first, second = booked_world(3, capacity=5)
    world.service.cancel(next(iter(world.bookings.bookings)), person("PersonA").birth_date)
    rows = {(r.center_id, r.day): r for r in ops(world).daily_report(CAMPAIGN.id, first.day, second.day)}
    on_first, on_second = rows[("dortmund", first.day)], rows[("dortmund", second.day)]
    assert (
        on_first.capacity,
        on_first.booked,
        on_first.free,
        on_first.first_doses,
        on_first.second_doses,
        on_first.cancellations,
        on_first.no_shows,
    ) == (5, 2, 3, 2, 0, 1, 0)
    assert (on_second.booked, on_second.first_doses, on_second.second_doses, on_second.cancellations) == (2, 0, 2, 1)
    for row in rows.values():
        assert row.booked == row.first_doses + row.second_doses and row.free == row.capacity - row.booked


# --- a failed delivery: move a centre-day ---------------------------------------------------------


def move_operation(key: str, day_offset: int, target_offset: int) -> d.CentreDayOperation:
    return replace(day_operation(key, day_offset), target_day=NOW.date() + timedelta(days=target_offset))


def moved_notices(world: World) -> list:
    return [m for m in world.outbox.published if m.kind is MailKind.APPOINTMENT_MOVED_BY_CENTRE]


def test_a_moved_first_dose_goes_to_the_same_time_on_the_target_day_keeping_the_second_in_the_window():
    world, first, second = booked_world(2)
    earlier = slot(2, 9, 10)  # 22 days before the second dose: inside its 21..42-day window
    world.catalog.release_slots([earlier, slot(2, 10, 10)])
    done = ops(world).cancel_centre_days(move_operation("mv-1", 3, 2), batch=50, actor=OLGA)
    assert (done.done, done.moved, done.cancelled) == (True, 2, 0)
    assert all(b.first == earlier.ref and b.second == second.ref for b in world.bookings.bookings.values())
    assert (current(world, first).booked, current(world, earlier).booked, current(world, second).booked) == (0, 2, 2)
    assert sorted(m.booking_code for m in moved_notices(world)) == sorted(world.bookings.bookings)
    assert all(m.appointments[0].start == earlier.start for m in moved_notices(world))


def test_a_move_that_would_break_the_interval_window_or_has_no_room_falls_back_to_cancel_and_offer():
    world, first, second = booked_world(3)
    too_late = slot(5, 9, 10)  # second dose would be 19 days after: outside the 21-day minimum
    world.catalog.release_slots([too_late])
    done = ops(world).cancel_centre_days(move_operation("mv-2", 3, 5), batch=50, actor=OLGA)
    assert (done.moved, done.cancelled) == (0, 3) and current(world, too_late).booked == 0
    assert len(notices(world)) == 3 and moved_notices(world) == []

    world, first, second = booked_world(3)
    tight = slot(2, 9, 1)  # room for one
    world.catalog.release_slots([tight])
    done = ops(world).cancel_centre_days(move_operation("mv-3", 3, 2), batch=50, actor=OLGA)
    assert (done.moved, done.cancelled) == (1, 2) and current(world, tight).booked == 1
    assert current(world, first).booked == 0 and current(world, second).booked == 1


def test_a_moved_second_dose_must_stay_in_the_window_after_the_first():
    world, _, _ = booked_world(1)
    inside, outside = slot(25, 9, 5), slot(46, 9, 5)  # 22 and 43 days after the first
    world.catalog.release_slots([inside, outside])
    assert ops(world).cancel_centre_days(move_operation("mv-4", 24, 46), batch=50, actor=OLGA).cancelled == 1
    world, _, _ = booked_world(1)
    world.catalog.release_slots([inside])
    done = ops(world).cancel_centre_days(move_operation("mv-5", 24, 25), batch=50, actor=OLGA)
    assert done.moved == 1 and next(iter(world.bookings.bookings.values())).second == inside.ref


def test_a_move_resumed_after_a_cut_off_moves_nothing_twice_and_notices_each_person_once():
    world, first, _ = booked_world(4)
    earlier = slot(2, 9, 10)
    world.catalog.release_slots([earlier])
    service = ops(world)
    progress = service.cancel_centre_days(move_operation("mv-6", 3, 2), batch=3, actor=OLGA)
    assert not progress.done
    while not progress.done:
        progress = service.cancel_centre_days(move_operation("mv-6", 3, 2), batch=3, actor=OLGA)
    again = service.cancel_centre_days(move_operation("mv-6", 3, 2), batch=3, actor=OLGA)
    assert (again.moved, current(world, earlier).booked, current(world, first).booked) == (4, 4, 0)
    assert len({m.idempotency_key for m in moved_notices(world)}) == 4


# --- the audit of supply changes ---------------------------------------------------------------------


def records(world: World, action: str) -> list:
    return [r for r in world.audit_log.records if r.action == action]


def test_each_capacity_cut_of_a_slot_is_audited_and_a_slot_left_unchanged_is_not():
    world, first, _second = booked_world(2)
    changes = ops(world).reduce_capacity(CAMPAIGN.id, "dortmund", 1, OLGA, day=first.day)
    assert [c.outcome for c in changes] == ["limited"]
    [cut] = records(world, AuditAction.CAPACITY_CUT)
    assert (cut.actor, cut.role, cut.channel) == ("olga", "ops", "staff_api")
    assert cut.target == f"{CAMPAIGN.id}/dortmund/{first.slot_id}"
    assert (cut.before, cut.after) == ({"capacity": 10, "booked": 2}, {"capacity": 2, "asked": 1})
    ops(world).reduce_capacity(CAMPAIGN.id, "dortmund", 5, OLGA, slot_id=first.slot_id)  # already below: no change
    assert len(records(world, AuditAction.CAPACITY_CUT)) == 1


def test_a_centre_day_cancel_and_move_audit_each_booking_they_change_once_however_often_they_run():
    world, first, _second = booked_world(3)
    service = ops(world)
    service.cancel_centre_days(day_operation("au-1"), batch=1, actor=OLGA)
    service.cancel_centre_days(day_operation("au-1"), batch=50, actor=Actor("otto", "ops"))  # resumed by another
    service.cancel_centre_days(day_operation("au-1"), batch=50, actor=OLGA)  # and run again: nothing more
    cancels = records(world, AuditAction.BOOKING_CANCELLED_BY_CENTRE)
    assert sorted(r.target for r in cancels) == sorted(world.bookings.bookings)
    assert {r.actor for r in cancels} == {"olga", "otto"}
    assert all(r.before["status"] == "active" and r.after["status"] == "cancelled" for r in cancels)
    assert all(r.before["slots"][0] == first.slot_id for r in cancels)

    moving = World([slot(3, 9, 5), slot(24, 9, 5), slot(2, 9, 5)])
    code = moving.book(slot(3, 9, 5)).booking_code
    ops(moving).cancel_centre_days(move_operation("au-2", 3, 2), batch=50, actor=OLGA)
    [move] = records(moving, AuditAction.BOOKING_MOVED_BY_CENTRE)
    assert move.target == code and move.after["slots"][0] == slot(2, 9).slot_id and move.after["operation_id"] == "au-2"
    assert "Erna" not in repr(moving.audit_log.records) and "example.org" not in repr(moving.audit_log.records)


def test_the_second_dose_repair_is_audited_with_the_booking_before_and_after():
    world, first, second = booked_world(0)
    booking = first_dose_only(world, first)
    ops(world).add_second_dose(booking.code, second.slot_id, OLGA)
    [repair] = records(world, AuditAction.SECOND_DOSE_ADDED)
    assert (repair.target, repair.before["slots"], repair.after["slots"]) == (
        booking.code,
        [first.slot_id],
        [first.slot_id, second.slot_id],
    )


# --- a pair held for a person whose appointments were cancelled -----------------------------------------


def held_world() -> tuple[World, d.Slot, d.Slot, d.Slot, d.Slot]:
    """Two people on day 3 (+ day 24); free pairs on day 5 (+ day 26), one seat each."""
    first, second, spare_first, spare_second = slot(3, 9, 5), slot(24, 9, 5), slot(5, 9, 1), slot(26, 9, 1)
    world = World([first, second, spare_first, spare_second])
    for name in ("Anna", "Berta"):
        assert world.book(first, person(name)).status is d.RequestStatus.BOOKED
    return world, first, second, spare_first, spare_second


def test_a_cancelled_person_gets_a_held_pair_named_in_the_notice_while_seats_last():
    world, first, second, spare_first, spare_second = held_world()
    ops(world).cancel_centre_days(day_operation("hold-1"), batch=50, actor=OLGA)
    holds = list(world.bookings.holds())
    # One spare pair for two people: one is held a pair, the other is offered to rebook only.
    assert len(holds) == 1 and (holds[0].first, holds[0].second) == (spare_first.ref, spare_second.ref)
    assert holds[0].until == NOW + d.HOLD_FOR
    assert [current(world, s).booked for s in (first, second, spare_first, spare_second)] == [0, 0, 1, 1]
    by_code = {m.booking_code: m for m in notices(world)}
    assert len(by_code) == 2 and len(notices(world)) == 2
    assert [a.start for a in by_code[holds[0].code].held] == [spare_first.start, spare_second.start]
    assert by_code[holds[0].code].held_until == holds[0].until
    [other] = [m for code, m in by_code.items() if code != holds[0].code]
    assert other.held == [] and other.held_until is None
    [with_hold] = [r for r in records(world, AuditAction.BOOKING_CANCELLED_BY_CENTRE) if r.target == holds[0].code]
    assert with_hold.after["held"]["slots"] == [spare_first.slot_id, spare_second.slot_id]
    assert Reconciliation(world.catalog, world.bookings, lambda: NOW).run().drift == 0  # held seats are counted


def test_the_person_confirms_the_held_pair_through_the_rebook_link_keeping_the_code():
    world, _first, _second, spare_first, spare_second = held_world()
    ops(world).cancel_centre_days(day_operation("hold-2"), batch=50, actor=OLGA)
    [hold] = world.bookings.holds()
    person_of = world.bookings.bookings[hold.code].person

    view = world.service.rebook(hold.code, person_of.birth_date, spare_first.slot_id, False)

    assert view.booking.status is d.BookingStatus.ACTIVE and view.booking.code == hold.code
    assert (view.booking.first, view.booking.second) == (spare_first.ref, spare_second.ref)
    assert [current(world, s).booked for s in (spare_first, spare_second)] == [1, 1]  # passed on, not taken twice
    assert world.bookings.holds_booking(person_of.key(PEPPER), view.booking.series)
    assert list(world.bookings.holds()) == []
    changed = [m for m in world.outbox.published if m.kind is MailKind.BOOKING_CHANGED]
    assert [m.booking_code for m in changed] == [hold.code]
    # A rerun of the operation finds it no more: no second notice of any kind.
    before = len(world.outbox.published)
    ops(world).cancel_centre_days(day_operation("hold-2"), batch=50, actor=OLGA)
    assert len(world.outbox.published) == before


def test_a_hold_nobody_confirms_lapses_and_the_sweep_gives_its_seats_back_once():
    clock = Clock()
    first, second, spare_first, spare_second = slot(3, 9, 5), slot(24, 9, 5), slot(5, 9, 1), slot(26, 9, 1)
    world = World([first, second, spare_first, spare_second], clock=clock)
    code = world.book(first).booking_code
    assert code is not None
    ops(world, clock).cancel_centre_days(day_operation("hold-3"), batch=50, actor=OLGA)
    assert ops(world, clock).release_lapsed_holds() == 0  # still held
    assert [current(world, s).booked for s in (first, second, spare_first, spare_second)] == [0, 0, 1, 1]
    clock.now = NOW + d.HOLD_FOR
    with pytest.raises(d.BookingNotActive):
        world.service.rebook(code, person().birth_date, spare_first.slot_id, False)
    assert ops(world, clock).release_lapsed_holds() == 1
    assert ops(world, clock).release_lapsed_holds() == 0
    assert [current(world, s).booked for s in (first, second, spare_first, spare_second)] == [0, 0, 0, 0]


def test_a_person_who_booked_again_cannot_confirm_and_the_held_seats_go_back_at_once():
    world, first, _second, spare_first, spare_second = held_world()
    extra = slot(6, 9, 1)
    world.catalog.release_slots([extra, slot(27, 9, 1)])
    ops(world).cancel_centre_days(day_operation("hold-4"), batch=50, actor=OLGA)
    holds = list(world.bookings.holds())
    assert len(holds) == 2
    hold = next(h for h in holds if h.first == spare_first.ref)
    who = world.bookings.bookings[hold.code].person
    assert world.book(first, who).status is d.RequestStatus.BOOKED  # booked anew on the web meanwhile
    with pytest.raises(d.BookingNotActive):
        world.service.rebook(hold.code, who.birth_date, spare_first.slot_id, False)
    assert [current(world, s).booked for s in (spare_first, spare_second)] == [0, 0]
    assert world.bookings.hold(hold.code) is None
