"""A queued booking request's `position` (contract §4): the booking queue's backlog, read at most every few
seconds per process, sent only while the request is queued and only when known."""

from __future__ import annotations

from chalicelib.api import views
from chalicelib.booking import domain as d
from chalicelib.booking.position import BACKLOG_MAX_AGE_S, Backlog, QueuePositions
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


def test_the_position_rule_imports_no_infrastructure():
    assert not reaching("chalicelib/booking/position.py", INFRASTRUCTURE)
