"""Rules with one home: the booking window, campaign set-up, and what one booking decision reads."""

from datetime import datetime, time, timedelta

import pytest

from chalicelib.api import schemas, views
from chalicelib.api.errors import ApiError
from chalicelib.booking import domain as d
from tests.fakes import FakeBookings, FakeCatalog
from tests.unit.builders import CAMPAIGN, NOW, World, person, slot

WINDOW = d.BOOKING_WINDOW


def test_the_window_runs_from_now_to_midnight_after_its_last_day():
    first_from, first_until = WINDOW.first_dose_range(NOW)
    assert first_from == NOW
    assert first_until == datetime.combine(NOW.date() + timedelta(days=WINDOW.max_days), time(0), d.LOCAL_TZ)


def test_asking_for_more_days_than_the_window_is_capped_and_a_later_day_starts_at_its_midnight():
    later = NOW.date() + timedelta(days=3)
    first_from, first_until = WINDOW.first_dose_range(NOW, later, WINDOW.max_days + 10)
    assert first_from == datetime.combine(later, time(0), d.LOCAL_TZ)
    # A page from a later day still ends with the horizon (28 days counting today), not 28 days after that day.
    assert first_until == datetime.combine(NOW.date() + timedelta(days=WINDOW.max_days), time(0), d.LOCAL_TZ)


def test_a_slot_starting_now_has_started():
    assert WINDOW.has_started(NOW, NOW) and not WINDOW.has_started(NOW + timedelta(minutes=1), NOW)


def test_the_api_bound_and_the_campaign_field_the_site_reads_are_the_domain_window():
    assert schemas.parse(schemas.AvailabilityQuery, {"campaign": "c", "days": WINDOW.max_days}).days == WINDOW.max_days
    with pytest.raises(ApiError):
        schemas.parse(schemas.AvailabilityQuery, {"campaign": "c", "days": WINDOW.max_days + 1})
    assert views.campaign(CAMPAIGN)["booking_window_days"] == WINDOW.max_days


def test_availability_lists_no_day_beyond_the_window():
    last_day, beyond = slot(WINDOW.max_days - 1, 9), slot(WINDOW.max_days, 9)
    world = World([last_day, beyond, slot(WINDOW.max_days + 21, 9), slot(WINDOW.max_days + 22, 9)])
    days = world.queries.availability("dortmund", CAMPAIGN.id, None, WINDOW.max_days)
    assert [p.first.slot_id for day in days for p in day.pairs] == [last_day.slot_id]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"doses": 3}, "doses"),
        ({"interval_min_days": 30, "interval_max_days": 21}, "interval_days"),
        ({"closes_at": NOW - timedelta(days=2)}, "closes_at"),
    ],
)
def test_a_campaign_that_cannot_be_run_names_the_field(change, field):
    with pytest.raises(d.InvalidInput) as raised:
        d.Campaign(**{**CAMPAIGN.__dict__, **change}).validate()
    assert raised.value.field == field


class CountingCatalog(FakeCatalog):
    def __init__(self):
        super().__init__()
        self.single_reads: list[str] = []

    def slot(self, campaign_id, center_id, slot_id):
        self.single_reads.append(slot_id)
        return super().slot(campaign_id, center_id, slot_id)


class CountingBookings(FakeBookings):
    def __init__(self, catalog):
        super().__init__(catalog)
        self.state_reads = 0

    def request_state(self, request_id):
        self.state_reads += 1
        return super().request_state(request_id)


def test_a_rejection_reads_the_chosen_slot_once_and_answers_the_state_it_wrote():
    first, other_first, second = slot(1, 9), slot(1, 11), slot(22, 10, capacity=5)
    world = World([first, other_first, second], catalog_type=CountingCatalog, bookings_type=CountingBookings)
    world.book(first, person("Anna"))
    request = world.submit(first, person("Berta"))
    world.catalog.single_reads.clear()
    world.bookings.state_reads = 0

    state = world.service.process(request)

    assert state.reason is d.RejectReason.SLOT_TAKEN and state.alternatives
    assert world.catalog.single_reads == [first.slot_id]
    assert world.bookings.state_reads == 1  # the one that starts the decision; none after the rejection
    assert state == world.bookings.requests[request.request_id]
