"""The citizen look-up of a booking a centre-day cancel cancelled names the pair held for it while the hold
lasts (and nothing once it lapsed), reading the hold only for cancelled bookings."""

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.api import views
from chalicelib.booking import domain as d
from chalicelib.booking.queries import BookingQueries
from tests.unit.builders import NOW, person, slot
from tests.unit.test_supply_changes import OLGA, Clock, World, day_operation, ops

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
BOOKING_SCHEMA = Draft202012Validator(
    {"$ref": "urn:spec#/components/schemas/Booking"},
    registry=Registry().with_resource("urn:spec", DRAFT202012.create_resource(SPEC)),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)


class CountingHolds:
    """Counts the hold reads of the world's bookings store (the look-up must stay one read for active ones)."""

    def __init__(self, bookings):
        self.reads = 0
        original = bookings.hold

        def hold(code):
            self.reads += 1
            return original(code)

        bookings.hold = hold


def cancelled_with_hold(clock: Clock) -> tuple[World, str, d.Slot, d.Slot]:
    first, second, spare_first, spare_second = slot(3, 9, 5), slot(24, 9, 5), slot(5, 9, 1), slot(26, 9, 1)
    world = World([first, second, spare_first, spare_second], clock=clock)
    code = world.book(first).booking_code
    assert code is not None
    ops(world, clock).cancel_centre_days(day_operation("held-lookup"), batch=50, actor=OLGA)
    return world, code, spare_first, spare_second


def queries(world: World, clock: Clock) -> BookingQueries:
    return BookingQueries(world.catalog, world.bookings, clock=clock)


def test_the_look_up_of_a_centre_cancelled_booking_names_the_held_pair_and_until_when_as_the_contract_says():
    clock = Clock()
    world, code, spare_first, spare_second = cancelled_with_hold(clock)

    body = views.booking(queries(world, clock).lookup(code, person().birth_date, with_hold=True))

    assert body["status"] == "cancelled"
    assert body["held"]["first"]["slot_id"] == spare_first.slot_id
    assert body["held"]["first"]["start"] == spare_first.start.isoformat()
    assert body["held"]["first"]["center_id"] == "dortmund"
    assert body["held"]["second"]["slot_id"] == spare_second.slot_id
    assert body["held"]["until"] == (NOW + d.HOLD_FOR).isoformat()
    assert not list(BOOKING_SCHEMA.iter_errors(body))


def test_a_lapsed_hold_is_not_shown_and_other_look_ups_do_not_read_holds():
    clock = Clock()
    world, code, _, _ = cancelled_with_hold(clock)
    counting = CountingHolds(world.bookings)
    q = queries(world, clock)

    assert "held" not in views.booking(q.lookup(code, person().birth_date))  # cancel, rebook, staff: no hold read
    assert counting.reads == 0
    clock.now = NOW + d.HOLD_FOR  # the hold lapses exactly at `until`
    body = views.booking(q.lookup(code, person().birth_date, with_hold=True))
    assert "held" not in body and body["status"] == "cancelled"
    assert not list(BOOKING_SCHEMA.iter_errors(body))


def test_an_active_booking_is_looked_up_without_reading_holds_and_a_confirmed_hold_is_shown_as_active():
    clock = Clock()
    world, code, spare_first, _ = cancelled_with_hold(clock)
    world.service.rebook(code, person().birth_date, spare_first.slot_id, False)
    counting = CountingHolds(world.bookings)

    body = views.booking(queries(world, clock).lookup(code, person().birth_date, with_hold=True))

    assert body["status"] == "active" and "held" not in body
    assert body["first"]["slot_id"] == spare_first.slot_id
    assert counting.reads == 0
    assert not list(BOOKING_SCHEMA.iter_errors(body))


def test_the_contract_refuses_a_held_pair_on_an_active_booking():
    clock = Clock()
    world, code, _, _ = cancelled_with_hold(clock)
    body = views.booking(queries(world, clock).lookup(code, person().birth_date, with_hold=True))
    assert not list(BOOKING_SCHEMA.iter_errors(body))
    assert list(BOOKING_SCHEMA.iter_errors({**body, "status": "active"}))
