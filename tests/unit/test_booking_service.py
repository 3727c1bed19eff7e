from datetime import date

import pytest

from chalicelib.booking import domain as d
from chalicelib.contracts.mail import MailKind
from tests.unit.builders import CAMPAIGN, World, person, slot


def test_a_submitted_request_is_stored_as_queued_and_sent_to_the_queue():
    world = World([slot(1, 9), slot(22, 9)])
    request = world.submit(slot(1, 9))
    assert world.bookings.request_state(request.request_id).status is d.RequestStatus.QUEUED
    assert world.queue.sent == [request]


def test_an_ineligible_person_is_refused_before_anything_is_queued():
    world = World([slot(1, 9), slot(22, 9)])
    with pytest.raises(d.NotEligible):
        world.submit(slot(1, 9), person(born=date(1950, 1, 1)))
    assert world.queue.sent == [] and world.bookings.requests == {}


def test_a_request_for_a_slot_that_does_not_exist_is_invalid():
    world = World([slot(1, 9), slot(22, 9)])
    with pytest.raises(d.InvalidInput) as raised:
        world.submit(slot(2, 9))
    assert raised.value.field == "slot_id"


def test_processing_books_both_doses_and_publishes_one_confirmation():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    state = world.book(first)
    assert state.status is d.RequestStatus.BOOKED
    booking = world.bookings.booking(state.booking_code)
    assert (booking.first.slot_id, booking.second.slot_id) == (first.slot_id, second.slot_id)
    assert world.remaining(first) == world.remaining(second) == 0
    assert [m.kind for m in world.outbox.published] == [MailKind.BOOKING_CONFIRMED]
    assert [a.dose for a in world.outbox.published[0].appointments] == [1, 2]


def test_a_request_processed_twice_books_once_and_only_republishes_the_same_confirmation():
    first, second = slot(1, 9, capacity=2), slot(22, 9, capacity=2)
    world = World([first, second])
    request = world.submit(first)
    world.service.process(request)
    world.service.process(request)
    assert len(world.bookings.bookings) == 1
    assert world.remaining(first) == 1
    assert {m.idempotency_key for m in world.outbox.published} == {
        f"booking_confirmed:{next(iter(world.bookings.bookings))}"
    }


def test_a_taken_slot_rejects_with_alternatives_that_are_really_bookable():
    first, other_first, second = slot(1, 9), slot(1, 11), slot(22, 10, capacity=5)
    world = World([first, other_first, second])
    world.book(first, person("Anna"))
    state = world.book(first, person("Berta"))
    assert state.status is d.RequestStatus.REJECTED and state.reason is d.RejectReason.SLOT_TAKEN
    assert [p.first.slot_id for p in state.alternatives] == [other_first.slot_id]


def test_a_flexible_request_takes_the_nearest_bookable_pair_when_its_slot_is_gone():
    first, later, second = slot(1, 9), slot(3, 9), slot(24, 9, capacity=5)
    world = World([first, later, second])
    world.book(first, person("Anna"))
    state = world.book(first, person("Berta"), flexible=True)
    assert state.status is d.RequestStatus.BOOKED
    assert world.bookings.booking(state.booking_code).first.slot_id == later.slot_id


def test_a_first_dose_whose_second_doses_are_all_gone_is_rejected_not_half_booked():
    first, second = slot(1, 9, capacity=3), slot(22, 9, capacity=1)
    world = World([first, second])
    world.book(first, person("Anna"))
    state = world.book(first, person("Berta"))
    assert state.status is d.RequestStatus.REJECTED and state.reason is d.RejectReason.NO_CAPACITY
    assert world.remaining(first) == 2 and world.remaining(second) == 0


def test_the_same_person_cannot_hold_two_bookings_in_one_campaign_whatever_the_spelling():
    world = World([slot(1, 9, capacity=2), slot(22, 9, capacity=2)])
    world.book(slot(1, 9), person("Erna", "Müller"))
    state = world.book(slot(1, 9), person("ERNA", "Mueller"))
    assert state.reason is d.RejectReason.ALREADY_BOOKED
    assert len(world.bookings.bookings) == 1


def test_a_campaign_that_closed_while_the_request_waited_rejects_it_as_not_eligible():
    world = World([slot(1, 9), slot(22, 9)])
    request = world.submit(slot(1, 9))
    world.catalog.add_campaign(d.Campaign(**{**CAMPAIGN.__dict__, "closes_at": world.service._now()}))
    assert world.service.process(request).reason is d.RejectReason.NOT_ELIGIBLE


def test_cancelling_gives_both_slots_back_and_sends_one_cancellation_per_call():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    code = world.book(first).booking_code
    assert code is not None
    view = world.service.cancel(code, date(1940, 5, 1))
    assert view.booking.status is d.BookingStatus.CANCELLED
    assert world.remaining(first) == world.remaining(second) == 1
    world.service.cancel(code, date(1940, 5, 1))
    assert world.remaining(first) == world.remaining(second) == 1
    assert [m.kind for m in world.outbox.published][1:] == [MailKind.BOOKING_CANCELLED] * 2


def test_after_cancelling_the_same_person_can_book_again():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    code = world.book(first).booking_code
    assert code is not None
    world.service.cancel(code, date(1940, 5, 1))
    assert world.book(first).status is d.RequestStatus.BOOKED


def test_a_wrong_birth_date_looks_exactly_like_an_unknown_code():
    world = World([slot(1, 9), slot(22, 9)])
    code = world.book(slot(1, 9)).booking_code
    assert code is not None
    with pytest.raises(d.BookingNotFound):
        world.queries.lookup(code, date(1940, 5, 2))
    with pytest.raises(d.BookingNotFound):
        world.queries.lookup("AAAA-BBBB-CC", date(1940, 5, 1))
    assert world.queries.lookup(code.lower().replace("-", ""), date(1940, 5, 1)).booking.code == code


def test_availability_lists_only_days_with_whole_pairs():
    world = World([slot(1, 9), slot(2, 9, capacity=0), slot(3, 9), slot(22, 9)])
    days = world.queries.availability("dortmund", CAMPAIGN.id, None, 14)
    assert [(day.day, [p.first.slot_id for p in day.pairs]) for day in days] == [(slot(1, 9).day, [slot(1, 9).slot_id])]


def test_unknown_centre_and_campaign_are_told_apart():
    world = World([])
    with pytest.raises(d.UnknownCenter):
        world.queries.availability("nowhere", CAMPAIGN.id, None, 7)
    with pytest.raises(d.UnknownCampaign):
        world.queries.availability("dortmund", "nothing", None, 7)


def test_an_unknown_campaign_or_centre_in_a_request_is_invalid_input_naming_the_field():
    world = World([slot(1, 9), slot(22, 9)])
    with pytest.raises(d.InvalidInput) as raised:
        world.service.submit("nothing", "dortmund", slot(1, 9).slot_id, False, "de", person())
    assert (raised.value.field, raised.value.code) == ("campaign_id", "unknown_campaign")
    with pytest.raises(d.InvalidInput) as raised:
        world.service.submit(CAMPAIGN.id, "nowhere", slot(1, 9).slot_id, False, "de", person())
    assert (raised.value.field, raised.value.code) == ("center_id", "unknown_center")


def test_someone_already_booked_is_told_so_even_when_the_chosen_slot_is_full_too():
    first, second = slot(1, 9), slot(22, 9, capacity=2)
    world = World([first, second, slot(2, 9), slot(23, 9)])
    world.book(first)
    state = world.book(first)  # same person, same (now full) slot
    assert (state.status, state.reason, state.alternatives) == (
        d.RequestStatus.REJECTED,
        d.RejectReason.ALREADY_BOOKED,
        (),
    )


def test_availability_may_be_served_from_a_short_lived_copy_but_booking_reads_fresh():
    from chalicelib.booking.catalog_cache import CachedCatalog

    first, second = slot(1, 9), slot(22, 9)
    ticks = iter(range(1000))
    world = World(
        [first, second],
        availability_max_age_s=2,
        service_catalog=lambda inner: CachedCatalog(inner, ttl_s=0, clock=lambda: next(ticks) * 0.1),
    )
    assert world.queries.availability("dortmund", CAMPAIGN.id, None, 7)[0].pairs[0].first.remaining == 1
    assert world.book(first).status is d.RequestStatus.BOOKED  # the worker's reads are fresh
    shown = world.queries.availability("dortmund", CAMPAIGN.id, None, 7)  # within 2 s: the copy
    assert shown[0].pairs[0].first.remaining == 1
    for _ in range(30):
        next(ticks)  # 3 s later
    assert world.queries.availability("dortmund", CAMPAIGN.id, None, 7) == []
