"""Whatever people do, in whatever order, the invariants hold (hypothesis drives the service with fakes)."""

from collections import Counter
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.booking import domain as d
from tests.unit.builders import World, person, slot

SLOTS = [
    slot(day, hour, capacity=cap)
    for day, hour, cap in [(1, 9, 2), (1, 11, 1), (2, 9, 1), (22, 9, 2), (22, 11, 1), (23, 10, 1), (30, 9, 1)]
]
FIRSTS = [s for s in SLOTS if s.day < SLOTS[3].day]

actions = st.lists(
    st.tuples(
        st.sampled_from(["book", "cancel"]),
        st.integers(min_value=0, max_value=5),  # who
        st.sampled_from(FIRSTS),
        st.booleans(),  # flexible
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(actions)
def test_no_slot_over_capacity_both_doses_or_none_and_one_booking_per_person(steps):
    world = World(SLOTS)
    codes: dict[int, str] = {}
    for action, who, first, flexible in steps:
        someone = person(f"Person{who}")
        if action == "book":
            state = world.book(first, someone, flexible)
            if state.status is d.RequestStatus.BOOKED:
                assert who not in codes and state.booking_code is not None
                codes[who] = state.booking_code
        elif who in codes:
            world.service.cancel(codes.pop(who), date(1940, 5, 1))

    active = [b for b in world.bookings.bookings.values() if b.status is d.BookingStatus.ACTIVE]
    held = Counter(a.slot_id for b in active for a in b.appointments)
    for s in SLOTS:
        current = world.catalog.slot(s.campaign_id, s.center_id, s.slot_id)
        assert 0 <= current.booked <= current.capacity
        assert current.booked == held[s.slot_id]
    for booking in active:
        assert booking.second is not None
        assert 21 <= (booking.second.start.date() - booking.first.start.date()).days <= 42
    assert len({b.person.key(b"x") for b in active}) == len(active) == len(codes)
