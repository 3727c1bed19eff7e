from dataclasses import replace

from chalicelib.booking import domain as d
from chalicelib.booking.reconciliation import Reconciliation
from tests.unit.builders import NOW, World, person, slot


def reconcile(world: World):
    return Reconciliation(world.catalog, world.bookings, clock=lambda: NOW).run()


def test_counters_that_match_the_bookings_report_no_drift():
    world = World([slot(1, 9, capacity=3), slot(22, 9, capacity=3)])
    world.book(slot(1, 9), person("Anna"))
    code = world.book(slot(1, 9), person("Berta")).booking_code
    assert code is not None
    world.service.cancel(code, d.date(1940, 5, 1))
    report = reconcile(world)
    assert (report.drift, report.second_dose_shortfall, report.bookings_checked, report.slots_checked) == (0, 0, 1, 2)


def test_a_counter_that_no_longer_matches_is_reported_with_its_slot():
    first = slot(1, 9, capacity=3)
    world = World([first, slot(22, 9, capacity=3)])
    world.book(first)
    key = (first.campaign_id, first.center_id, first.slot_id)
    world.catalog.slot_table[key] = replace(world.catalog.slot_table[key], booked=3)
    report = reconcile(world)
    assert report.drift == 2 and report.drifting_slots == (f"{first.campaign_id}/dortmund/{first.slot_id}",)


def test_a_two_dose_booking_without_its_second_appointment_is_a_shortfall():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    code = world.book(first).booking_code
    world.bookings.bookings[code] = replace(world.bookings.bookings[code], second=None)
    report = reconcile(world)
    assert report.second_dose_shortfall == 1 and report.drift == 1
