from datetime import timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.operations import OperationsService, SlotRelease
from tests.unit.builders import CAMPAIGN, NOW, World, person, slot


def ops(world: World) -> OperationsService:
    return OperationsService(world.catalog, clock=lambda: NOW)


def test_opening_a_cohort_makes_its_birth_years_eligible_at_its_opening_time():
    world = World([])
    cohort = d.Campaign(
        "1941",
        "Jahrgang 1941",
        "comirnaty",
        2,
        21,
        42,
        frozenset({"westfalen-lippe"}),
        ("dortmund",),
        opens_at=NOW - timedelta(minutes=1),
        born_on_or_after=d.date(1941, 1, 1),
        born_on_or_before=d.date(1941, 12, 31),
    )
    ops(world).put_campaign(cohort)
    assert "1941" in {c.id for c in world.queries.eligibility(d.date(1941, 6, 1), "44141").campaigns}


def test_a_campaign_naming_an_unknown_centre_is_refused():
    world = World([])
    with pytest.raises(d.InvalidInput) as raised:
        ops(world).put_campaign(d.Campaign(**{**CAMPAIGN.__dict__, "center_ids": ("atlantis",)}))
    assert raised.value.field == "center_ids"


def test_a_released_contingent_adds_capacity_to_existing_slots_without_losing_bookings():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    world.book(first)
    released = ops(world).release_contingent(
        CAMPAIGN.id, "dortmund", [SlotRelease(s.start, s.end, 2) for s in (first, second)]
    )
    assert [(s.capacity, s.booked) for s in released] == [(3, 1), (3, 1)]
    assert world.book(first, person("Other")).status is d.RequestStatus.BOOKED


def test_a_contingent_in_the_past_or_without_capacity_is_refused_and_changes_nothing():
    world = World([])
    past = SlotRelease(NOW - timedelta(hours=1), NOW, 5)
    with pytest.raises(d.InvalidInput):
        ops(world).release_contingent(CAMPAIGN.id, "dortmund", [past])
    future = slot(3, 9)
    with pytest.raises(d.InvalidInput):
        ops(world).release_contingent(
            CAMPAIGN.id,
            "dortmund",
            [SlotRelease(future.start, future.end, 5), SlotRelease(future.start, future.end, 0)],
        )
    assert world.catalog.slot_table == {}
