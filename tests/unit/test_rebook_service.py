"""Rebooking (contract §7), the catchment when booking, and one vaccination series per person — with fakes."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditAction
from chalicelib.contracts.mail import MailKind
from tests.fakes import FakeAuditLog, FakeBookings
from tests.unit.builders import CAMPAIGN, NOW, PEPPER, World, person, slot

BORN = date(1940, 5, 1)


def booked(world: World, first: d.Slot, who: d.Person | None = None) -> d.Booking:
    state = world.book(first, who)
    assert state.status is d.RequestStatus.BOOKED, state
    return world.bookings.booking(state.booking_code)


def counters(world: World, *slots: d.Slot) -> list[int]:
    return [world.catalog.slot(s.campaign_id, s.center_id, s.slot_id).booked for s in slots]


def test_a_rebook_takes_the_new_pair_gives_the_old_one_back_keeps_the_code_and_sends_one_change_mail():
    old_first, old_second, new_first, new_second = slot(1, 9), slot(22, 9), slot(3, 9), slot(24, 9)
    world = World([old_first, old_second, new_first, new_second])
    booking = booked(world, old_first)

    view = world.service.rebook(booking.code, BORN, new_first.slot_id, False)

    assert (view.booking.code, view.booking.status, view.booking.version) == (booking.code, d.BookingStatus.ACTIVE, 1)
    assert view.booking.second is not None
    assert (view.booking.first.slot_id, view.booking.second.slot_id) == (new_first.slot_id, new_second.slot_id)
    assert world.bookings.booking(booking.code) == view.booking
    assert counters(world, old_first, old_second, new_first, new_second) == [0, 0, 1, 1]
    changes = [m for m in world.outbox.published if m.kind is MailKind.BOOKING_CHANGED]
    assert len(changes) == 1
    assert [a.start for a in changes[0].appointments] == [new_first.start, new_second.start]
    assert changes[0].idempotency_key == f"booking_changed:{booking.code}:v1"
    assert world.bookings.holds_booking(booking.person.key(b"test-pepper"), CAMPAIGN.series)


def test_a_rebook_to_a_full_slot_changes_nothing_and_offers_what_can_be_booked():
    old_first, full, free, second = slot(1, 9), slot(2, 9), slot(2, 11), slot(23, 10, capacity=5)
    world = World([old_first, full, free, second, slot(22, 9)])
    booked(world, full, person("Anna"))
    booking = booked(world, old_first)
    published = list(world.outbox.published)

    with pytest.raises(d.NoPairAvailable) as refused:
        world.service.rebook(booking.code, BORN, full.slot_id, False)

    assert [p.first.slot_id for p in refused.value.alternatives] == [free.slot_id]  # from the day asked for on
    assert world.bookings.booking(booking.code) == booking
    assert counters(world, old_first, full, free) == [1, 1, 0]
    assert world.outbox.published == published


def test_keeping_the_second_dose_slot_nets_the_counter_instead_of_needing_a_free_seat():
    # The only second-dose slot is full (its one seat is this booking's): the swap must not ask for another.
    old_first, new_first, second = slot(1, 9), slot(1, 11), slot(22, 9)
    world = World([old_first, new_first, second])
    booking = booked(world, old_first)

    view = world.service.rebook(booking.code, BORN, new_first.slot_id, False)

    assert view.booking.second is not None and view.booking.second.slot_id == second.slot_id
    assert counters(world, old_first, new_first, second) == [0, 1, 1]


def test_rebooking_to_the_pair_one_holds_changes_nothing_and_sends_no_mail():
    first, second, other_second = slot(1, 9), slot(29, 9), slot(22, 9)
    world = World([first, second, other_second])
    booking = booked(world, first)
    world.bookings.rebook(
        booking, booking.rebooked(first.ref, second.ref), booking.person.key(PEPPER)
    )  # now on a later second dose
    current = world.bookings.booking(booking.code)
    published = len(world.outbox.published)

    view = world.service.rebook(booking.code, BORN, first.slot_id, False)

    assert view.booking == current  # the own second dose is kept, though an earlier one is free
    assert counters(world, first, second, other_second) == [1, 1, 0]
    # Only the last change mail again (notify drops it if it was sent): a client retrying gets one mail.
    assert [m.idempotency_key for m in world.outbox.published[published:]] == [f"booking_changed:{booking.code}:v1"]


def test_a_flexible_rebook_takes_the_nearest_bookable_pair_at_the_centre_from_that_day_on():
    old_first, full, earlier, later, second = slot(1, 9), slot(3, 9), slot(2, 9), slot(4, 9), slot(25, 9, capacity=9)
    world = World([old_first, full, earlier, later, second, slot(22, 9), slot(23, 9)])
    booked(world, full, person("Anna"))
    booking = booked(world, old_first)

    view = world.service.rebook(booking.code, BORN, full.slot_id, True)

    assert view.booking.first.slot_id == later.slot_id
    assert counters(world, old_first, later) == [0, 1]


def test_a_wrong_birth_date_is_an_unknown_booking_and_a_cancelled_one_cannot_be_rebooked():
    first, second, other = slot(1, 9), slot(22, 9), slot(2, 9)
    world = World([first, second, other, slot(23, 9)])
    booking = booked(world, first)
    with pytest.raises(d.BookingNotFound):
        world.service.rebook(booking.code, date(1940, 5, 2), other.slot_id, False)
    world.service.cancel(booking.code, BORN)
    with pytest.raises(d.BookingNotActive):
        world.service.rebook(booking.code, BORN, other.slot_id, False)
    assert counters(world, first, second, other) == [0, 0, 0]


def test_a_booking_whose_first_appointment_began_cannot_be_rebooked():
    first, second, other = slot(1, 9), slot(22, 9), slot(2, 9)
    world = World([first, second, other, slot(23, 9)])
    booking = booked(world, first)
    world.service._now = lambda: first.start + timedelta(minutes=5)
    with pytest.raises(d.AppointmentStarted):
        world.service.rebook(booking.code, BORN, other.slot_id, False)


def test_a_slot_that_does_not_exist_or_has_begun_is_invalid_input():
    first, second = slot(1, 9), slot(22, 9)
    world = World([first, second])
    booking = booked(world, first)
    with pytest.raises(d.InvalidInput) as raised:
        world.service.rebook(booking.code, BORN, "20990101T0900", False)
    assert raised.value.field == "slot_id"


def test_a_rebook_racing_another_change_of_the_booking_changes_nothing():
    first, second, other, other_second = slot(1, 9), slot(22, 9), slot(2, 9), slot(23, 9)
    world = World([first, second, other, other_second])
    booking = booked(world, first)
    world.bookings.rebook(booking, booking.rebooked(other.ref, other_second.ref), booking.person.key(PEPPER))
    with pytest.raises(d.BookingChanged):
        world.bookings.rebook(
            booking, booking.rebooked(other.ref, second.ref), booking.person.key(PEPPER)
        )  # read before the other change
    assert counters(world, first, second, other, other_second) == [0, 0, 1, 1]


def test_a_cancel_that_read_the_booking_before_a_rebook_gives_back_the_new_slots():
    first, second, other, other_second = slot(1, 9), slot(22, 9), slot(2, 9), slot(23, 9)
    world = World([first, second, other, other_second])
    booking = booked(world, first)
    world.bookings.rebook(booking, booking.rebooked(other.ref, other_second.ref), booking.person.key(PEPPER))
    with pytest.raises(d.BookingChanged):
        world.bookings.cancel(booking, booking.person.key(b"test-pepper"))
    world.service.cancel(booking.code, BORN)
    assert counters(world, first, second, other, other_second) == [0, 0, 0, 0]


def test_the_counter_changes_of_a_move_are_netted_per_slot():
    a, b, c = (d.SlotRef(x, NOW, NOW) for x in "abc")
    assert d.counter_changes((a, b), (c, b)) == {"c": 1, "a": -1}
    assert d.counter_changes((a, b), (b, c)) == {"c": 1, "a": -1}
    assert d.counter_changes((a, b), (b, a)) == {}
    assert d.counter_changes((a,), (b,)) == {"b": 1, "a": -1}


# --- catchment ------------------------------------------------------------------------------------


def test_booking_at_a_centre_that_does_not_serve_the_postal_code_is_refused_naming_the_centre():
    koeln_first = slot(1, 9, center="koeln")
    world = World([koeln_first, slot(22, 9, center="koeln")])
    with pytest.raises(d.InvalidInput) as raised:
        world.submit(koeln_first, person())  # 44141: Westfalen-Lippe, listed for Dortmund only
    assert (raised.value.field, raised.value.code) == ("center_id", "outside_catchment")
    assert world.queue.sent == []
    assert world.submit(koeln_first, replace(person(), postal_code="50679"))


def test_a_queued_request_outside_the_catchment_is_rejected_by_the_worker_not_booked():
    koeln_first = slot(1, 9, center="koeln")
    world = World([koeln_first, slot(22, 9, center="koeln")])
    request = world.submit(koeln_first, replace(person(), postal_code="50679"))
    state = world.service.process(replace(request, person=person()))  # e.g. a message queued before the rule
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.NOT_ELIGIBLE)
    assert world.remaining(koeln_first) == 1


def test_a_booking_outside_the_catchment_cannot_be_rebooked():
    koeln_first, koeln_other = slot(1, 9, center="koeln"), slot(2, 9, center="koeln")
    world = World([koeln_first, koeln_other, slot(22, 9, center="koeln"), slot(23, 9, center="koeln")])
    booking = booked(world, koeln_first, replace(person(), postal_code="50679"))
    moved_away = replace(booking, person=person())  # a booking from before the rule (postal code 44141)
    world.bookings.bookings[booking.code] = moved_away
    with pytest.raises(d.InvalidInput) as raised:
        world.service.rebook(booking.code, BORN, koeln_other.slot_id, False)
    assert raised.value.field == "center_id"


# --- one series per person --------------------------------------------------------------------------


def janssen(series: str = d.DEFAULT_SERIES) -> d.Campaign:
    return d.Campaign(
        "janssen",
        "Janssen 60+",
        "janssen",
        1,
        0,
        0,
        CAMPAIGN.regions,
        ("dortmund",),
        opens_at=CAMPAIGN.opens_at,
        series=series,
    )


def test_campaigns_of_one_series_share_the_person_lock():
    first, second, single = slot(1, 9), slot(22, 9), replace(slot(2, 9), campaign_id="janssen")
    world = World([first, second])
    world.catalog.add_campaign(janssen())
    world.catalog.release_slots([single])
    booked(world, first)

    request_id = world.service.submit("janssen", "dortmund", single.slot_id, False, "de", person())
    state = world.service.process(world.queue.sent[-1])

    assert world.queue.sent[-1].request_id == request_id
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.ALREADY_BOOKED)
    assert world.remaining(single) == 1


def test_campaigns_of_different_series_lock_apart_and_cancelling_frees_the_series():
    first, second, single = slot(1, 9), slot(22, 9), replace(slot(2, 9), campaign_id="janssen")
    world = World([first, second])
    world.catalog.add_campaign(janssen(series="booster"))
    world.catalog.release_slots([single])
    booking = booked(world, first)
    world.service.submit("janssen", "dortmund", single.slot_id, False, "de", person())
    assert world.service.process(world.queue.sent[-1]).status is d.RequestStatus.BOOKED

    world.service.cancel(booking.code, BORN)
    key = person().key(b"test-pepper")
    assert not world.bookings.holds_booking(key, d.DEFAULT_SERIES)
    assert world.bookings.holds_booking(key, "booster")


def test_a_campaign_belongs_to_the_rollouts_series_unless_ops_say_otherwise():
    assert CAMPAIGN.series == d.DEFAULT_SERIES == "covid-19-primary"


# --- the change mail --------------------------------------------------------------------------------


def test_the_change_mail_shows_the_new_appointments_and_its_calendar_file_replaces_the_old_events():
    from icalendar import Calendar

    from tests.unit.test_mail_rendering import message, render

    confirmed = render(message())
    changed = render(message(MailKind.BOOKING_CHANGED).model_copy(update={"version": 2}))
    text = changed.get_body(preferencelist=("plain",)).get_content()
    assert "umgebucht" in changed["Subject"] and "umgebucht" in text and "ABCD-EFGH-JK" in text
    assert "08.02.2021, 14:30" in text and "01.03.2021, 14:30" in text

    def events(mail):
        ics = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar")
        return [(str(e["uid"]), int(str(e["sequence"]))) for e in Calendar.from_ical(ics.get_content()).walk("VEVENT")]

    # Same UIDs, higher SEQUENCE: a calendar that imported the confirmation moves the events.
    assert [uid for uid, _ in events(changed)] == [uid for uid, _ in events(confirmed)]
    assert {seq for _, seq in events(changed)} == {2} and {seq for _, seq in events(confirmed)} == {0}
    english = render(message(MailKind.BOOKING_CHANGED, language="en"))
    assert "changed" in english["Subject"] and "Dose 2" in english.get_body(preferencelist=("plain",)).get_content()


def test_an_agents_rebook_is_audited_with_the_swap_and_a_refused_one_is_not():
    old_first, old_second, new_first, new_second, full = slot(1, 9), slot(22, 9), slot(3, 9), slot(24, 9), slot(4, 9, 0)
    audit_log = FakeAuditLog()
    world = World(
        [old_first, old_second, new_first, new_second, full],
        bookings_type=lambda catalog: FakeBookings(catalog, audit_log),
    )
    booking = booked(world, old_first)
    agent = Actor("hans", "hotline")
    with pytest.raises(d.NoPairAvailable):
        world.service.rebook(booking.code, BORN, full.slot_id, False, actor=agent)
    assert audit_log.records == []

    world.service.rebook(booking.code, BORN, new_first.slot_id, False, actor=agent)

    [record] = audit_log.records
    assert (record.action, record.actor, record.role, record.channel, record.target) == (
        AuditAction.BOOKING_REBOOKED,
        "hans",
        "hotline",
        "hotline",
        booking.code,
    )
    assert record.before["slots"] == [old_first.slot_id, old_second.slot_id]
    assert record.after["slots"] == [new_first.slot_id, new_second.slot_id]
    assert "Erna" not in repr(record) and "1940" not in repr(record)
    world.service.rebook(booking.code, BORN, old_first.slot_id, False)  # the person's own rebook: not audited
    assert len(audit_log.records) == 1
