"""The booking horizon: a campaign's setting of how far ahead first doses may be booked (rolling days, a fixed
last day, or the default four weeks), paged through 28 days at a time, and enforced when booking."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from chalicelib.api import errors, schemas, views
from chalicelib.api.errors import ApiError
from chalicelib.booking import domain as d
from tests.unit.builders import CAMPAIGN, NOW, World, person, slot

TODAY = NOW.date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def midnight(offset: int) -> datetime:
    return datetime.combine(day(offset), time(0), d.LOCAL_TZ)


def pair_at(first_offset: int) -> list[d.Slot]:
    """A first-dose slot that day and a second-dose slot 21 days later (the campaign's earliest interval)."""
    return [slot(first_offset, 9), slot(first_offset + 21, 9)]


# --- the rule -----------------------------------------------------------------------------------------------


def test_a_campaign_without_a_horizon_keeps_the_default_four_weeks_counting_today():
    window = CAMPAIGN.booking_window
    assert window == d.BOOKING_WINDOW
    assert window.last_day(NOW) == day(27)
    assert not window.beyond_horizon(midnight(27) + timedelta(hours=23), NOW)
    assert window.beyond_horizon(midnight(28), NOW)


def test_a_rolling_horizon_moves_with_today_and_a_fixed_one_does_not():
    rolling = replace(CAMPAIGN, horizon_days=70).booking_window
    fixed = replace(CAMPAIGN, bookable_until=date(2021, 4, 30)).booking_window
    tomorrow = NOW + timedelta(days=1)
    assert (rolling.last_day(NOW), rolling.last_day(tomorrow)) == (day(69), day(70))
    assert fixed.last_day(NOW) == fixed.last_day(tomorrow) == date(2021, 4, 30)


def test_with_both_settings_the_horizon_ends_with_whichever_comes_first():
    both = replace(CAMPAIGN, horizon_days=70, bookable_until=day(40)).booking_window
    assert both.last_day(NOW) == day(40)
    assert replace(CAMPAIGN, horizon_days=10, bookable_until=day(40)).booking_window.last_day(NOW) == day(9)


def test_a_page_is_at_most_28_days_and_never_reaches_past_the_horizon():
    window = replace(CAMPAIGN, bookable_until=day(40)).booking_window
    assert window.first_dose_range(NOW, None, 28) == (NOW, midnight(28))
    assert window.first_dose_range(NOW, day(28), 28) == (midnight(28), midnight(41))
    first_from, first_until = window.first_dose_range(NOW, day(41), 28)
    assert first_until <= first_from  # beyond the horizon: an empty range


def test_pages_walk_the_horizon_and_the_last_one_says_there_is_no_next():
    window = replace(CAMPAIGN, horizon_days=60).booking_window
    first = window.page(NOW, None, 28)
    second = window.page(NOW, first.next_from, 28)
    third = window.page(NOW, second.next_from, 28)
    assert (first.first_day, first.until, first.next_from) == (day(0), day(27), day(28))
    assert (second.first_day, second.until, second.next_from) == (day(28), day(55), day(56))
    assert (third.first_day, third.until, third.next_from, third.last_day) == (day(56), day(59), None, day(59))
    beyond = window.page(NOW, day(61), 28)
    assert beyond.until < beyond.first_day and beyond.next_from is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": d.MAX_HORIZON_DAYS + 1}, "horizon_days"),
        ({"bookable_until": (CAMPAIGN.opens_at - timedelta(days=1)).date()}, "bookable_until"),
    ],
)
def test_a_horizon_that_cannot_be_run_names_its_field(change, field):
    with pytest.raises(d.InvalidInput) as raised:
        replace(CAMPAIGN, **change).validate()
    assert (raised.value.field, raised.value.code) == (field, "out_of_range")


def test_a_horizon_from_a_day_up_to_a_year_is_accepted():
    replace(CAMPAIGN, horizon_days=1).validate()
    replace(CAMPAIGN, horizon_days=d.MAX_HORIZON_DAYS, bookable_until=CAMPAIGN.opens_at.date()).validate()


# --- availability and booking through the services ----------------------------------------------------------


def test_availability_pages_through_a_long_horizon_and_lists_nothing_beyond_it():
    campaign = replace(CAMPAIGN, bookable_until=day(45))
    world = World(pair_at(3) + pair_at(40) + pair_at(46), campaign=campaign)
    first_page = world.queries.availability("dortmund", campaign.id, None, 28)
    page = world.queries.availability_page(campaign.id, None, 28)
    later = world.queries.availability("dortmund", campaign.id, page.next_from, 28)
    beyond = world.queries.availability("dortmund", campaign.id, day(46), 28)
    # (A second-dose slot can pair as a first dose too: only where the days fall is checked.)
    assert day(3) in [x.day for x in first_page] and all(x.day <= day(27) for x in first_page)
    assert day(40) in [x.day for x in later] and all(day(28) <= x.day <= day(45) for x in later)
    assert beyond == []


def test_an_answer_given_across_midnight_lists_its_days_and_its_page_from_one_instant():
    # The default window's last day is day 27 read on day 0, day 28 read a moment later on day 1.
    ticks = itertools.chain([midnight(1) - timedelta(microseconds=1)], itertools.repeat(midnight(1)))
    world = World(pair_at(27) + pair_at(28), clock=lambda: next(ticks))
    at = world.queries._now()  # the one instant the route reads for its answer: the last moment of day 0
    days = world.queries.availability("dortmund", CAMPAIGN.id, None, 28, at)
    page = world.queries.availability_page(CAMPAIGN.id, None, 28, at)
    assert max(x.day for x in days) == day(27) == page.until


def test_the_default_horizon_hides_later_pairs_that_a_longer_one_offers():
    slots = pair_at(30)
    assert World(slots).queries.availability("dortmund", CAMPAIGN.id, day(28), 28) == []
    longer = replace(CAMPAIGN, horizon_days=42)
    assert [x.day for x in World(slots, campaign=longer).queries.availability("dortmund", longer.id, day(28), 28)] == [
        day(30)
    ]


def test_a_booking_request_beyond_the_horizon_is_refused_and_one_on_its_last_day_is_queued():
    campaign = replace(CAMPAIGN, horizon_days=35)
    last, beyond = pair_at(34), pair_at(35)
    world = World(last + beyond, campaign=campaign)
    with pytest.raises(d.InvalidInput) as raised:
        world.submit(beyond[0], person("Paula"))
    assert (raised.value.field, raised.value.code) == ("slot_id", "beyond_booking_horizon")
    assert world.queue.sent == []
    assert world.book(last[0], person("Paula")).status is d.RequestStatus.BOOKED


def test_a_rebook_to_a_pair_beyond_the_horizon_is_refused_and_the_booking_stays():
    campaign = replace(CAMPAIGN, horizon_days=35)
    held, beyond = pair_at(2), pair_at(36)
    world = World(held + beyond, campaign=campaign)
    who = person("Rita")
    code = world.book(held[0], who).booking_code
    assert code is not None
    with pytest.raises(d.InvalidInput) as raised:
        world.service.rebook(code, who.birth_date, beyond[0].slot_id, flexible=False)
    assert raised.value.code == "beyond_booking_horizon"
    assert world.bookings.booking(code).first.slot_id == held[0].slot_id


def test_a_flexible_request_never_falls_back_to_a_pair_beyond_the_horizon():
    campaign = replace(CAMPAIGN, horizon_days=10)
    chosen, beyond = pair_at(5), pair_at(12)
    world = World(chosen + beyond, campaign=campaign)
    world.book(chosen[0], person("Anna"))
    state = world.book(chosen[0], person("Berta"), flexible=True)
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.NO_CAPACITY)


# --- the HTTP edge ------------------------------------------------------------------------------------------


def cohort_body(**horizon) -> dict:
    return {
        "name": "Jahrgang 1941",
        "vaccine": "comirnaty",
        "doses": 2,
        "interval_days": {"min": 21, "max": 42},
        "regions": ["westfalen-lippe"],
        "center_ids": ["dortmund"],
        "opens_at": "2021-02-15T08:00:00+01:00",
        **horizon,
    }


def test_ops_set_the_horizon_in_the_campaign_body_and_get_it_back():
    body = schemas.parse(schemas.CampaignBody, cohort_body(horizon_days=60, bookable_until="2021-04-30"))
    campaign = body.to_domain("jahrgang-1941")
    assert (campaign.horizon_days, campaign.bookable_until) == (60, date(2021, 4, 30))
    shown = views.campaign(campaign)
    assert (shown["horizon_days"], shown["bookable_until"], shown["booking_window_days"]) == (60, "2021-04-30", 28)
    plain = schemas.parse(schemas.CampaignBody, cohort_body()).to_domain("jahrgang-1941")
    assert plain.booking_window == d.BOOKING_WINDOW and views.campaign(plain)["horizon_days"] is None


def test_a_horizon_that_is_not_a_number_or_a_day_is_an_invalid_request():
    for bad in ({"horizon_days": "lots"}, {"bookable_until": "end of april"}):
        with pytest.raises(ApiError) as raised:
            schemas.parse(schemas.CampaignBody, cohort_body(**bad))
        assert raised.value.code == "invalid_request" and raised.value.problems[0].field == next(iter(bad))


def test_the_refusal_is_a_400_naming_the_slot_with_its_own_code_and_words():
    error = errors.from_exception(d.InvalidInput("slot_id", "beyond_booking_horizon"))
    assert error is not None and (error.status, error.code) == (400, "invalid_request")
    assert error.problems[0].code == "beyond_booking_horizon"
    assert set(errors.FIELD_MESSAGES["beyond_booking_horizon"]) == {"de", "en"}


def test_the_availability_answer_tells_where_the_page_sits_in_the_horizon():
    window = replace(CAMPAIGN, horizon_days=40).booking_window
    body = views.availability("dortmund", CAMPAIGN.id, [], NOW, window.page(NOW, None, 28))
    assert (body["from"], body["until"], body["bookable_until"], body["next_from"]) == (
        day(0).isoformat(),
        day(27).isoformat(),
        day(39).isoformat(),
        day(28).isoformat(),
    )
    last = views.availability("dortmund", CAMPAIGN.id, [], NOW, window.page(NOW, day(28), 28))
    assert last["until"] == day(39).isoformat() and last["next_from"] is None
