"""How the worker decides a request: the transaction first with the pair submit saw, reads only after it fails
(issue #9), never a slot that has begun, every request decided, one mail per decision (issue #10)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.booking import domain as d
from chalicelib.booking.mail import mail_for
from chalicelib.booking.queues import SendNowMailOutbox
from chalicelib.contracts.mail import MailKind
from chalicelib.notify.ports import CLAIM_LEASE_S, MailBeingSent, MailClaim
from chalicelib.notify.services import MailService
from tests.fakes import FakeBookings, FakeCatalog, FakeMailer, FakeOutbox, FakeSuppressionList
from tests.unit.builders import CAMPAIGN, NOW, World, person, slot


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class CountingCatalog(FakeCatalog):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def slots(self, *args, **kwargs):
        self.reads += 1
        return super().slots(*args, **kwargs)

    def slot(self, *args):
        self.reads += 1
        return super().slot(*args)


class CountingBookings(FakeBookings):
    def __init__(self, catalog):
        super().__init__(catalog)
        self.reads = 0

    def request_state(self, request_id):
        self.reads += 1
        return super().request_state(request_id)

    def holds_booking(self, person_key, campaign_id):
        self.reads += 1
        return super().holds_booking(person_key, campaign_id)

    def booking(self, code):
        self.reads += 1
        return super().booking(code)


# --- the direct transaction and the read-after-failure path agree -------------------------------------


def fill(world, *slots):
    """Slots taken by others in the meantime (as a cancelled-out count, not a booking of anyone here)."""
    for s in slots:
        key = (s.campaign_id, s.center_id, s.slot_id)
        world.catalog.slot_table[key] = replace(world.catalog.slot_table[key], booked=s.capacity)


def _free_pair(world):
    return world.submit(slot(1, 9)), []


def _first_full(world):
    request = world.submit(slot(1, 9))
    world.book(slot(1, 9), person("Anna"))
    return request, []


def _first_full_flexible(world):
    request = world.submit(slot(1, 9), flexible=True)
    world.book(slot(1, 9), person("Anna"))
    return request, []


def _chosen_second_full(world):
    request = world.submit(slot(1, 9))
    assert request.second.slot_id == slot(22, 9).slot_id
    fill(world, slot(22, 9))
    return request, []


def _all_seconds_full(world):
    request = world.submit(slot(1, 9))
    fill(world, *(slot(day, hour) for day in (22, 23) for hour in (9, 10, 11)))
    return request, []


def _already_booked(world):
    world.book(slot(1, 10))
    return world.submit(slot(1, 9)), []


def _already_booked_and_full(world):
    world.book(slot(1, 10))
    request = world.submit(slot(1, 9))
    world.book(slot(1, 9), person("Anna"))
    return request, []


def _already_decided(world):
    request = world.submit(slot(1, 9))
    world.service.process(request)
    return request, []


def _not_eligible_any_more(world):
    request = world.submit(slot(1, 9))
    world.catalog.add_campaign(replace(CAMPAIGN, closes_at=NOW - timedelta(minutes=1)))
    return request, []


def _slot_started(world):
    return world.submit(slot(1, 9)), [timedelta(days=1, hours=1, minutes=10)]


def _slot_started_flexible(world):
    return world.submit(slot(1, 9), flexible=True), [timedelta(days=1, hours=1, minutes=10)]


SCENARIOS = [
    _free_pair,
    _first_full,
    _first_full_flexible,
    _chosen_second_full,
    _all_seconds_full,
    _already_booked,
    _already_booked_and_full,
    _already_decided,
    _not_eligible_any_more,
    _slot_started,
    _slot_started_flexible,
]


def _world(clock) -> World:
    # Two first doses a day over two days, and second doses 21 days later at the same times.
    slots = [slot(day, hour) for day in (1, 2) for hour in (9, 10, 11)]
    slots += [slot(day + 21, hour) for day in (1, 2) for hour in (9, 10, 11)]
    return World(slots, clock=clock, catalog_type=CountingCatalog, bookings_type=CountingBookings)


def _outcome(world, state):
    """What a decision is. When the worker chooses the second dose itself it draws one of the best with room
    (test_second_dose_choice.py), so a second dose counts as "valid, taken from a slot with room", not by id."""
    booking = world.bookings.booking(state.booking_code) if state.booking_code else None
    slots = world.catalog.slot_table.values()
    seconds_taken = sum(s.booked for s in slots if s.day >= slot(22, 9).day)
    return (
        state.status,
        state.reason,
        booking and (booking.first.slot_id, _valid_second(booking)),
        [(p.first.slot_id, p.second.slot_id) for p in state.alternatives],
        sorted((s.slot_id, s.booked) for s in slots if s.day < slot(22, 9).day),
        seconds_taken,
        all(s.booked <= s.capacity for s in slots),
        [(m.kind, m.reason) for m in world.outbox.published],
    )


def _valid_second(booking) -> bool:
    window_start, window_end = CAMPAIGN.second_dose_window(booking.first.start.date())
    return booking.second is not None and window_start <= booking.second.start.date() <= window_end


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.strip("_"))
def test_the_direct_transaction_and_the_read_after_failure_path_decide_alike(scenario):
    outcomes = []
    for strip_pair in (False, True):
        clock = Clock()
        world = _world(clock)
        request, later = scenario(world)
        clock.now += sum(later, timedelta())
        world.outbox.published.clear()
        if strip_pair:  # as a message without the pair (version 1) is decided: reads first
            request = replace(request, first=None, second=None)
        outcomes.append(_outcome(world, world.service.process(request)))
    assert outcomes[0] == outcomes[1]


def test_a_free_pair_is_booked_by_the_transaction_alone_without_a_read():
    world = _world(Clock())
    request = world.submit(slot(1, 9))
    world.catalog.reads = world.bookings.reads = 0
    state = world.service.process(request)
    assert state.status is d.RequestStatus.BOOKED
    assert (world.catalog.reads, world.bookings.reads) == (0, 0)


def test_a_stale_second_dose_is_replaced_by_another_with_room_after_reading():
    world = _world(Clock())
    request, _ = _chosen_second_full(world)
    state = world.service.process(request)
    booking = world.bookings.booking(state.booking_code)
    assert booking.first.slot_id == slot(1, 9).slot_id and _valid_second(booking)
    assert booking.second.slot_id != slot(22, 9).slot_id


# --- never a slot that has begun ----------------------------------------------------------------------


def test_a_request_decided_after_its_slot_began_is_rejected_slot_started_and_nothing_is_booked():
    clock = Clock()
    world = _world(clock)
    request = world.submit(slot(1, 9))
    clock.now = slot(1, 9).start  # the slot begins while the request waits
    state = world.service.process(request)
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.SLOT_STARTED)
    assert world.bookings.bookings == {} and world.remaining(slot(1, 9)) == 1
    assert [(m.kind, m.reason) for m in world.outbox.published] == [(MailKind.REQUEST_REJECTED, "slot_started")]


def test_a_flexible_request_whose_slot_began_takes_the_next_pair_that_has_not():
    clock = Clock()
    world = _world(clock)
    request = world.submit(slot(1, 9), flexible=True)
    clock.now = slot(1, 9).start + timedelta(minutes=1)
    state = world.service.process(request)
    booking = world.bookings.booking(state.booking_code)
    assert booking.first.slot_id == slot(1, 10).slot_id and booking.first.start > clock.now


# --- every request decided ----------------------------------------------------------------------------


def test_a_request_given_up_by_the_worker_is_rejected_not_processed_with_one_mail():
    world = _world(Clock())
    request = world.submit(slot(1, 9))
    state = world.service.give_up(request)
    assert (state.status, state.reason) == (d.RequestStatus.REJECTED, d.RejectReason.NOT_PROCESSED)
    assert world.bookings.request_state(request.request_id).reason is d.RejectReason.NOT_PROCESSED
    assert [(m.kind, m.reason, m.request_id) for m in world.outbox.published] == [
        (MailKind.REQUEST_REJECTED, "not_processed", request.request_id)
    ]


def test_giving_up_a_request_that_was_booked_after_all_changes_nothing():
    world = _world(Clock())
    request = world.submit(slot(1, 9))
    booked = world.service.process(request)
    world.outbox.published.clear()
    assert world.service.give_up(request) == booked
    assert world.outbox.published == [] and world.bookings.booking(booked.booking_code) is not None


# --- one mail per decision ----------------------------------------------------------------------------


def _mailing_world(clock=None):
    mailer, ledger, queued = FakeMailer(), FakeSuppressionList(), FakeOutbox()
    mail = MailService(mailer, ledger, "termine@vaxslot.example", "https://vaxslot.example")
    slots = [slot(1, 9), slot(22, 9)]
    return World(slots, clock=clock, outbox=SendNowMailOutbox(mail.send, queued)), mailer, queued


def test_a_rejected_request_delivered_three_times_gets_exactly_one_rejection_mail():
    world, mailer, queued = _mailing_world()
    world.book(slot(1, 9), person("Anna"))
    request = world.submit(slot(1, 9))
    for _ in range(3):  # SQS delivers duplicates now and then
        assert world.service.process(request).reason is d.RejectReason.NO_CAPACITY
    rejections = [m for m in mailer.sent if "nichts gebucht" in m["Subject"]]
    assert len(rejections) == 1 and queued.published == []
    assert rejections[0]["To"] == request.person.email


def test_a_request_without_an_email_is_decided_without_a_mail():
    world = _world(Clock())
    request = world.submit(slot(1, 9), replace(person(), email=""))
    fill(world, slot(1, 9))
    world.outbox.published.clear()
    assert world.service.process(request).status is d.RequestStatus.REJECTED
    assert world.outbox.published == []


class FailingOnceMailer(FakeMailer):
    def __init__(self):
        super().__init__()
        self.failures = 1

    def send(self, message):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SES unreachable")
        super().send(message)


def test_a_mail_that_cannot_be_sent_at_once_is_queued_and_sent_once_from_the_queue():
    mailer, ledger, queued = FailingOnceMailer(), FakeSuppressionList(), FakeOutbox()
    mail = MailService(mailer, ledger, "termine@vaxslot.example", "https://vaxslot.example")
    world = World([slot(1, 9), slot(22, 9)], outbox=SendNowMailOutbox(mail.send, queued))
    state = world.book(slot(1, 9))
    assert state.status is d.RequestStatus.BOOKED and mailer.sent == []
    assert [m.kind for m in queued.published] == [MailKind.BOOKING_CONFIRMED]
    # The notify worker takes it from the queue: the failed attempt gave its claim back.
    assert mail.send(queued.published[0]) is MailClaim.SEND
    assert mail.send(queued.published[0]) is MailClaim.ALREADY_SENT
    assert len(mailer.sent) == 1


# --- the same submission is the same request ----------------------------------------------------------


def _submit(world, submission, who=None):
    return world.service.submit(
        CAMPAIGN.id, "dortmund", slot(1, 9).slot_id, False, "de", who or person(), submission=submission
    )


def test_the_same_submission_answers_the_same_request_and_queues_it_again_only_while_it_waits():
    world = _world(Clock())
    submission = d.Submission("header:k-1", "hash-a")
    first = _submit(world, submission)
    assert _submit(world, submission) == first
    assert [r.request_id for r in world.queue.sent] == [first, first]  # a lost first send is healed
    world.service.process(world.queue.sent[0])
    assert _submit(world, submission) == first
    assert len(world.queue.sent) == 2 and len(world.bookings.requests) == 1


def test_a_key_reused_with_another_body_is_refused():
    world = _world(Clock())
    _submit(world, d.Submission("header:k-1", "hash-a"))
    with pytest.raises(d.IdempotencyKeyReused):
        _submit(world, d.Submission("header:k-1", "hash-b"), person("Other"))
    assert len(world.bookings.requests) == 1


def test_submit_carries_the_pair_it_saw_to_the_worker():
    world = _world(Clock())
    request = world.submit(slot(1, 9))
    assert (request.first, request.second) == (slot(1, 9).ref, slot(22, 9).ref)


def test_submit_takes_the_second_dose_the_site_showed_when_it_is_free():
    world = _world(Clock())
    request_id = world.service.submit(
        CAMPAIGN.id, "dortmund", slot(1, 9).slot_id, False, "de", person(), second_slot_id=slot(23, 9).slot_id
    )
    request = next(r for r in world.queue.sent if r.request_id == request_id)
    assert request.second == slot(23, 9).ref


def test_a_slot_id_that_names_no_time_is_an_unknown_slot():
    world = _world(Clock())
    with pytest.raises(d.InvalidInput):
        world.service.submit(CAMPAIGN.id, "dortmund", "nonsense", False, "de", person())
    assert date(2021, 2, 2) == d.slot_day(slot(1, 9).slot_id)


def test_a_claim_abandoned_mid_send_holds_others_off_for_its_lease_then_the_next_try_sends_it_once():
    clock = Clock()
    mailer, ledger = FakeMailer(), FakeSuppressionList(clock=lambda: clock.now)
    mail = MailService(mailer, ledger, "termine@vaxslot.example", "https://vaxslot.example")
    world, _, _ = _mailing_world()
    world.book(slot(1, 9), person("Anna"))
    booking = next(iter(world.bookings.bookings.values()))
    confirmation = mail_for(MailKind.BOOKING_CONFIRMED, booking, world.queries.center("dortmund"))
    assert confirmation is not None
    assert ledger.claim(confirmation.idempotency_key, confirmation.recipient, "died") is MailClaim.SEND
    # The holder died here, before SES answered. Until its lease lapses it may still be sending: nobody sends.
    with pytest.raises(MailBeingSent):
        mail.send(confirmation)
    clock.now += timedelta(seconds=CLAIM_LEASE_S + 1)
    assert mail.send(confirmation) is MailClaim.SEND  # the mail is not lost
    assert mail.send(confirmation) is MailClaim.ALREADY_SENT  # settled: never again, however late
    clock.now += timedelta(days=1)
    assert mail.send(confirmation) is MailClaim.ALREADY_SENT
    assert len(mailer.sent) == 1


def test_asking_again_after_not_processed_makes_a_new_request_even_with_the_same_submission():
    world = _world(Clock())
    submission = d.Submission("body:hash-a", "hash-a")
    first = _submit(world, submission)
    world.service.give_up(world.queue.sent[0])
    again = _submit(world, submission)
    assert again != first
    assert world.service.process(world.queue.sent[-1]).status is d.RequestStatus.BOOKED


def test_a_dead_letter_of_a_request_that_was_never_stored_is_unknown_and_changes_nothing():
    world = _world(Clock())
    request = replace(world.submit(slot(1, 9)), request_id="never-stored")
    with pytest.raises(d.UnknownRequest):
        world.service.give_up(request)
    assert "never-stored" not in world.bookings.requests and world.outbox.published == []
