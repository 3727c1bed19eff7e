"""A booking a centre-day cancel cancelled, with a pair held for it: choosing other appointments is a rebook from the
held pair, one swap (new pair taken, held seats given back, booking active again, same code); a refused one changes
nothing and the pair stays held."""

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction
from chalicelib.contracts.mail import MailKind
from tests.unit.builders import NOW, PEPPER, person, slot
from tests.unit.test_supply_changes import OLGA, Clock, World, current, day_operation, ops

AGENT = Actor("hans", "hotline")


def held(clock=None, other_capacity: int = 1) -> tuple[World, str, d.Slot, d.Slot, d.Slot, d.Slot]:
    """One person on day 3 (+24) cancelled by the centre; the pair on day 5 (+26) held; another free on 6 (+27)."""
    first, second = slot(3, 9, 5), slot(24, 9, 5)
    spare_first, spare_second = slot(5, 9, 1), slot(26, 9, 1)
    other_first, other_second = slot(6, 9, other_capacity), slot(27, 9, other_capacity)
    world = World([first, second, spare_first, spare_second, other_first, other_second], clock=clock)
    code = world.book(first).booking_code
    assert code is not None
    ops(world, clock or (lambda: NOW)).cancel_centre_days(day_operation("held-swap"), batch=50, actor=OLGA)
    assert world.bookings.hold(code) is not None
    return world, code, spare_first, spare_second, other_first, other_second


def test_choosing_other_appointments_swaps_the_held_pair_for_them_in_one_step_keeping_the_code():
    world, code, spare_first, spare_second, other_first, other_second = held()

    view = world.service.rebook(code, person().birth_date, other_first.slot_id, False, AGENT)

    assert view.booking.status is d.BookingStatus.ACTIVE and view.booking.code == code
    assert (view.booking.first, view.booking.second) == (other_first.ref, other_second.ref)
    assert world.bookings.bookings[code] == view.booking
    # The new seats taken, the held ones given back: no seat counted twice, none lost.
    assert [current(world, s).booked for s in (spare_first, spare_second, other_first, other_second)] == [0, 0, 1, 1]
    assert world.bookings.hold(code) is None
    assert world.bookings.holds_booking(person().key(PEPPER), view.booking.series)  # one booking per person again
    assert [m.booking_code for m in world.outbox.published if m.kind is MailKind.BOOKING_CHANGED] == [code]
    [record] = [r for r in world.audit_log.records if r.actor == AGENT.user]
    assert record.action == AuditAction.BOOKING_REBOOKED and record.target == code
    assert record.before["held"]["slots"] == [spare_first.slot_id, spare_second.slot_id]
    assert record.after["status"] == "active"


def test_when_the_other_pair_is_gone_nothing_changes_and_the_held_pair_stays_with_alternatives_offered():
    world, code, spare_first, spare_second, other_first, other_second = held(other_capacity=0)
    hold = world.bookings.hold(code)
    later_first, later_second = slot(7, 9, 1), slot(28, 9, 1)
    world.catalog.release_slots([later_first, later_second])

    with pytest.raises(d.NoPairAvailable) as refused:
        world.service.rebook(code, person().birth_date, other_first.slot_id, False, AGENT)

    assert world.bookings.hold(code) == hold
    assert world.bookings.bookings[code].status is d.BookingStatus.CANCELLED
    assert [current(world, s).booked for s in (spare_first, spare_second, other_first, other_second)] == [1, 1, 0, 0]
    assert [p.first.slot_id for p in refused.value.alternatives] == [later_first.slot_id]
    assert not [r for r in world.audit_log.records if r.actor == AGENT.user]  # a refused swap is not audited
    assert not [m for m in world.outbox.published if m.kind is MailKind.BOOKING_CHANGED]


def test_a_flexible_choice_takes_the_nearest_pair_and_the_held_first_slot_still_keeps_the_held_pair():
    world, code, spare_first, spare_second, other_first, _ = held(other_capacity=0)
    # Flexible from a full day: the nearest bookable pair from that day on.
    later_first, later_second = slot(7, 9, 1), slot(28, 9, 1)
    world.catalog.release_slots([later_first, later_second])
    view = world.service.rebook(code, person().birth_date, other_first.slot_id, True)
    assert view.booking.first == later_first.ref
    assert [current(world, s).booked for s in (spare_first, spare_second, later_first)] == [0, 0, 1]

    world2, code2, spare_first2, spare_second2, _, _ = held()
    kept = world2.service.rebook(code2, person().birth_date, spare_first2.slot_id, False, AGENT)
    assert (kept.booking.first, kept.booking.second) == (spare_first2.ref, spare_second2.ref)
    assert [r.action for r in world2.audit_log.records if r.actor == AGENT.user] == [AuditAction.HOLD_CONFIRMED]


def test_without_a_live_hold_a_cancelled_booking_cannot_be_rebooked_and_the_lapsed_seats_stay_for_the_sweep():
    clock = Clock()
    world, code, spare_first, spare_second, other_first, _ = held(clock)
    clock.now = NOW + d.HOLD_FOR

    with pytest.raises(d.BookingNotActive):
        world.service.rebook(code, person().birth_date, other_first.slot_id, False)

    assert [current(world, s).booked for s in (spare_first, spare_second, other_first)] == [1, 1, 0]
    assert ops(world, clock).release_lapsed_holds() == 1


def test_a_person_who_booked_anew_meanwhile_cannot_swap_and_the_held_seats_go_back_at_once():
    world, code, spare_first, spare_second, other_first, other_second = held()
    assert world.book(slot(3, 9, 5)).status is d.RequestStatus.BOOKED  # booked anew on the web

    with pytest.raises(d.BookingNotActive):
        world.service.rebook(code, person().birth_date, other_first.slot_id, False)

    assert world.bookings.hold(code) is None
    assert [current(world, s).booked for s in (spare_first, spare_second, other_first, other_second)] == [0, 0, 0, 0]
