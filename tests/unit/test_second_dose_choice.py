"""When the worker must choose a second dose itself (the submitted pair failed, or another first slot), it
draws among the best valid candidates with room, so that workers racing for one first slot spread out."""

import random

from chalicelib.booking import domain as d
from chalicelib.booking.services import BookingService
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, World, person, slot

FIRST = slot(1, 9, capacity=10)
SECONDS = [slot(22, hour) for hour in range(8, 16)]  # one seat each, all in the window


def world_with(seed: int) -> World:
    world = World([FIRST, *SECONDS])
    world.service = BookingService(
        world.queries, world.catalog, world.bookings, world.queue, world.outbox, PEPPER, clock=lambda: NOW,
        rng=random.Random(seed),
    )  # fmt: skip
    return world


def second_after_a_lost_race(seed: int) -> str:
    """Two people submit the same first slot (both are shown its best second); the second one's pair fails."""
    world = world_with(seed)
    winner, loser = world.submit(FIRST, person("Anna")), world.submit(FIRST, person("Berta"))
    assert winner.second is not None and loser.second is not None
    assert loser.second.slot_id == winner.second.slot_id
    assert world.service.process(winner).status is d.RequestStatus.BOOKED
    state = world.service.process(loser)
    assert state.status is d.RequestStatus.BOOKED and state.booking_code is not None
    booking = world.bookings.booking(state.booking_code)
    assert booking.first.slot_id == FIRST.slot_id and booking.second is not None
    assert booking.second.slot_id != winner.second.slot_id  # the full one is not taken again
    window_start, window_end = CAMPAIGN.second_dose_window(FIRST.day)
    assert window_start <= booking.second.start.date() <= window_end
    assert all(world.catalog.slot(s.campaign_id, s.center_id, s.slot_id).booked <= s.capacity for s in SECONDS)
    return booking.second.slot_id


def test_the_worker_draws_the_second_dose_among_valid_candidates_and_a_seed_repeats_the_draw():
    chosen = [second_after_a_lost_race(seed) for seed in range(8)]
    assert len(set(chosen)) > 1, "workers that lose the same race must not all try the same second slot"
    assert second_after_a_lost_race(3) == chosen[3]
