"""A queued booking request's `position` (contract §4): the booking queue's backlog, read at most every few
seconds per process, sent only while the request is queued and only when known; and its Retry-After, from how
fast those reads see the backlog fall."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from chalicelib.api import views
from chalicelib.booking import domain as d
from chalicelib.booking.position import (
    BACKLOG_MAX_AGE_S,
    DRAIN_WINDOW_S,
    RETRY_AFTER_MAX_S,
    RETRY_AFTER_MIN_S,
    Backlog,
    Line,
    QueuePositions,
    retry_after_s,
)
from infra.capacity import model
from tests.unit.test_architecture import INFRASTRUCTURE, reaching

QUEUED = d.RequestState("r1", d.RequestStatus.QUEUED)


class FakeBacklog(Backlog):
    def __init__(self, waiting: int | None):
        self.value = waiting
        self.asked = 0

    def waiting(self) -> int | None:
        self.asked += 1
        return self.value


def positions(backlog: FakeBacklog, clock: list[float]) -> QueuePositions:
    return QueuePositions(backlog, monotonic=lambda: clock[0])


def test_a_queued_request_stands_in_a_line_as_long_as_the_queues_backlog():
    assert positions(FakeBacklog(1234), [0.0]).position(QUEUED) == 1234


def test_a_queued_request_is_always_in_the_line_even_if_the_count_lags_behind_it():
    assert positions(FakeBacklog(0), [0.0]).position(QUEUED) == 1


def test_decided_requests_have_no_position_and_do_not_ask_the_queue():
    backlog = FakeBacklog(50)
    booked = d.RequestState("r1", d.RequestStatus.BOOKED, booking_code="X")
    rejected = d.RequestState("r1", d.RequestStatus.REJECTED, reason=d.RejectReason.SLOT_TAKEN)
    assert [positions(backlog, [0.0]).position(s) for s in (booked, rejected)] == [None, None]
    assert backlog.asked == 0


def test_one_process_asks_the_queue_at_most_once_per_max_age_however_many_poll():
    backlog, clock = FakeBacklog(10), [100.0]
    reader = positions(backlog, clock)
    seen = [reader.position(QUEUED) for _ in range(50)]
    backlog.value = 7
    clock[0] += BACKLOG_MAX_AGE_S - 0.1
    seen.append(reader.position(QUEUED))
    assert set(seen) == {10} and backlog.asked == 1
    clock[0] += 0.1
    assert reader.position(QUEUED) == 7 and backlog.asked == 2


def test_an_unknown_backlog_leaves_position_out_and_is_not_asked_again_at_once():
    backlog = FakeBacklog(None)
    reader = positions(backlog, [0.0])
    assert reader.position(QUEUED) is None and reader.position(QUEUED) is None
    assert backlog.asked == 1
    assert "position" not in views.request_state(QUEUED, None, None)


def test_the_status_body_carries_position_only_while_queued():
    assert views.request_state(QUEUED, None, 3) == {"request_id": "r1", "status": "queued", "position": 3}
    rejected = d.RequestState("r1", d.RequestStatus.REJECTED, reason=d.RejectReason.NO_CAPACITY)
    assert "position" not in views.request_state(rejected, None, 3)


def reads(reader: QueuePositions, backlog: FakeBacklog, clock: list[float], values: Sequence[int | None]) -> Line:
    """The line seen after the backlog read `values`, one every BACKLOG_MAX_AGE_S."""
    line = Line()
    for value in values:
        backlog.value = value
        line = reader.line(QUEUED)
        clock[0] += BACKLOG_MAX_AGE_S
    return line


def test_while_the_backlog_drains_a_queued_request_is_told_to_come_back_when_it_is_decided_at_the_latest():
    backlog, clock = FakeBacklog(None), [0.0]
    reader = positions(backlog, clock)
    # 600 -> 400 in 4 s: 50 a second at least; 400 ahead of (and including) it: 8 s.
    assert reads(reader, backlog, clock, [600, 500, 400]) == Line(400, 8)
    assert reads(reader, backlog, clock, [60]) == Line(60, RETRY_AFTER_MIN_S)  # 540 in 6 s: 90/s, under a second
    backlog, clock = FakeBacklog(None), [0.0]
    assert reads(positions(backlog, clock), backlog, clock, [5000, 4990, 4980]) == Line(4980, RETRY_AFTER_MAX_S)


def test_a_backlog_that_does_not_fall_measures_no_rate_and_sends_no_retry_after():
    for values in ([100], [100, 100, 100], [100, 150, 200], [100, 99]):  # [100, 99]: 2 s apart, too close to tell
        backlog, clock = FakeBacklog(None), [0.0]
        assert reads(positions(backlog, clock), backlog, clock, values).retry_after_s is None, values
    assert views.request_state(QUEUED, None, Line(7).position) == {
        "request_id": "r1",
        "status": "queued",
        "position": 7,
    }


def test_a_drain_seen_longer_ago_than_the_window_paces_no_poll():
    backlog, clock = FakeBacklog(None), [0.0]
    reader = positions(backlog, clock)
    assert reads(reader, backlog, clock, [300, 200, 100]).retry_after_s is not None
    clock[0] += DRAIN_WINDOW_S
    assert reads(reader, backlog, clock, [100, 100]) == Line(100, None)  # flat since: the old fall is forgotten


def test_decided_and_unknown_lines_carry_neither_position_nor_retry_after():
    backlog, clock = FakeBacklog(None), [0.0]
    reader = positions(backlog, clock)
    reads(reader, backlog, clock, [300, 200, 100])
    booked = d.RequestState("r1", d.RequestStatus.BOOKED, booking_code="X")
    assert reader.line(booked) == Line()
    assert reads(reader, backlog, clock, [None]) == Line()  # the queue could not be asked


def test_a_retry_after_never_makes_the_site_poll_sooner_than_its_own_first_minute_schedule():
    # The model's poll count (polls_for_wait, tied to site/js/views/request.js by tests/infra) stays an upper bound.
    longest_pause = inspect.signature(model.polls_for_wait).parameters["soon_max_s"].default
    answers = [retry_after_s(p, drain) for p in (1, 3, 40, 10_000) for drain in (0.01, 0.5, 20.0, 1e6)]
    seconds = [a for a in answers if a is not None]
    assert len(seconds) == len(answers)  # a measured drain always gives one
    assert min(seconds) >= longest_pause and max(seconds) == RETRY_AFTER_MAX_S


def test_the_position_rule_imports_no_infrastructure():
    assert not reaching("chalicelib/booking/position.py", INFRASTRUCTURE)
