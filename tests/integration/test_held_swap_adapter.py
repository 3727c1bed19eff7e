"""A held pair swapped for another one against the patched moto server: one transaction takes the new seats, gives
the held ones back and makes the booking active again; a full seat changes nothing; two people racing for the last
seat end with exactly one swap and every counter matching."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.storage.supply import DynamoSupply
from tests.integration.test_audit_adapter import booked_with_hold, later_slot
from tests.integration.test_dynamo_adapter import counters, make_booking, world  # noqa: F401 - the fixture


def cancelled_with_hold(stack, campaign_id, slots, bookings, held_first, held_second):
    """A booking cancelled by an operation with (held_first, held_second) held for it."""
    booking, key, hold = booked_with_hold(campaign_id, slots, bookings, held_first, held_second, "op-swap")
    supply = DynamoSupply(bookings, clock=lambda: datetime.now(d.LOCAL_TZ))
    assert supply.cancel_for_operation(booking, key, "op-swap", hold, None) is True
    return bookings.booking(booking.code), key, hold


def test_a_held_pair_is_swapped_for_another_in_one_write_and_a_full_seat_changes_nothing(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    held_first, held_second = later_slot(campaign_id, slots[0], 1), later_slot(campaign_id, slots[1], 1)
    new_first, full_first = later_slot(campaign_id, slots[0], 2), later_slot(campaign_id, slots[0], 4, capacity=0)
    stack.catalog.release_slots([held_first, held_second, new_first, full_first])
    cancelled, key, hold = cancelled_with_hold(stack, campaign_id, slots, bookings, held_first, held_second)
    every = [held_first, held_second, new_first]
    assert counters(stack, every) == [1, 1, 0]

    with pytest.raises(d.FirstSlotTaken):
        bookings.confirm_hold(cancelled, hold, key, pair=(full_first.ref, held_second.ref))
    assert counters(stack, every) == [1, 1, 0] and bookings.hold(cancelled.code) == hold
    assert bookings.booking(cancelled.code) == cancelled

    # The new first dose with the held second: the second's seat stays (netted), the held first's goes back.
    swapped = bookings.confirm_hold(cancelled, hold, key, pair=(new_first.ref, held_second.ref))

    assert (swapped.status, swapped.first, swapped.second) == (d.BookingStatus.ACTIVE, new_first.ref, held_second.ref)
    assert bookings.booking(cancelled.code) == swapped and bookings.holds_booking(key, cancelled.series)
    assert counters(stack, every) == [0, 1, 1] and bookings.hold(cancelled.code) is None
    with pytest.raises(d.HoldLapsed):  # done once: a retry finds no hold
        bookings.confirm_hold(cancelled, hold, key, pair=(new_first.ref, held_second.ref))
    assert counters(stack, every) == [0, 1, 1]


def test_two_held_people_racing_for_the_last_pair_end_with_one_swap_and_true_counters(stack, world):  # noqa: F811
    campaign_id, slots, bookings, _ = world
    held = [(later_slot(campaign_id, slots[0], n), later_slot(campaign_id, slots[1], n, capacity=2)) for n in (1, 2)]
    last_first, last_second = later_slot(campaign_id, slots[0], 5), later_slot(campaign_id, slots[1], 5)
    stack.catalog.release_slots([s for pair in held for s in pair] + [last_first, last_second])
    people = [cancelled_with_hold(stack, campaign_id, slots, bookings, *pair) for pair in held]
    outcomes: list[str] = []
    start = threading.Barrier(len(people))

    def swap(cancelled, key, hold):
        start.wait()
        try:
            bookings.confirm_hold(cancelled, hold, key, pair=(last_first.ref, last_second.ref))
            outcomes.append("swapped")
        except (d.FirstSlotTaken, d.SecondSlotTaken):
            outcomes.append("taken")

    threads = [threading.Thread(target=swap, args=person) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["swapped", "taken"]
    winner = next(c for c, _, _ in people if bookings.booking(c.code).status is d.BookingStatus.ACTIVE)
    loser = next(c for c, _, _ in people if c.code != winner.code)
    assert bookings.hold(winner.code) is None and bookings.hold(loser.code) is not None
    won = next(pair for (c, _, _), pair in zip(people, held, strict=True) if c.code == winner.code)
    lost = next(pair for (c, _, _), pair in zip(people, held, strict=True) if c.code == loser.code)
    # The last pair is full; the winner's held seats went back; the loser's are still held.
    assert counters(stack, [last_first, last_second, *won, *lost]) == [1, 1, 0, 0, 1, 1]
