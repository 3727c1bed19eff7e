"""bookable_pairs (grouped by day, shared per time of day) answers exactly what the straightforward
definition answers: for every first slot with room, the first of its second-dose candidates."""

import random
from datetime import date, datetime, time, timedelta
from time import perf_counter

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.booking import domain as d

BASE = date(2021, 3, 1)


def reference_pairs(campaign, slots, first_from, first_until):
    """The definition, quadratic: sort every candidate for every first slot."""
    pairs = []
    for first in sorted(slots, key=lambda s: s.start):
        if not (first_from <= first.start < first_until) or first.remaining <= 0:
            continue
        if not campaign.needs_second_dose:
            pairs.append(d.SlotPair(first, None))
            continue
        seconds = d.second_dose_candidates(campaign, first, slots)
        if seconds:
            pairs.append(d.SlotPair(first, seconds[0]))
    return pairs


def campaign(doses: int, interval_min: int, interval_span: int) -> d.Campaign:
    return d.Campaign(
        "c",
        "C",
        "comirnaty",
        doses,
        interval_min,
        interval_min + interval_span,
        frozenset({"r"}),
        ("x",),
        opens_at=datetime(2021, 1, 1, tzinfo=d.LOCAL_TZ),
    )


@st.composite
def slot_lists(draw):
    slots = []
    for _ in range(draw(st.integers(0, 30))):
        day = BASE + timedelta(days=draw(st.integers(0, 20)))
        # Few distinct times, so that equally near seconds (ties) and repeated ids happen often.
        start = datetime.combine(day, time(draw(st.sampled_from([8, 9, 10, 14])), draw(st.sampled_from([0, 30]))))
        start = start.replace(tzinfo=d.LOCAL_TZ)
        capacity = draw(st.integers(0, 3))
        booked = draw(st.integers(0, 3))
        slots.append(d.Slot("c", "x", d.slot_id_for(start), start, start + timedelta(minutes=30), capacity, booked))
    return slots


@settings(max_examples=200, deadline=None)
@given(
    slot_lists(),
    st.sampled_from([1, 2]),
    st.integers(1, 6),
    st.integers(0, 6),
    st.integers(0, 20),
    st.integers(0, 20),
)
def test_bookable_pairs_equal_the_straightforward_definition(slots, doses, interval_min, span, from_day, days):
    c = campaign(doses, interval_min, span)
    first_from = datetime.combine(BASE + timedelta(days=from_day), time(9), d.LOCAL_TZ)
    first_until = first_from + timedelta(days=days)
    assert d.bookable_pairs(c, slots, first_from, first_until) == reference_pairs(c, slots, first_from, first_until)


def test_bookable_pairs_of_a_busy_centre_take_milliseconds_not_seconds():
    # 48 slots a day for four weeks plus the second-dose horizon: ~2.3 s with the quadratic definition.
    slots = [
        d.Slot("c", "x", d.slot_id_for(s), s, s + timedelta(minutes=10), 5)
        for n in range(70)
        for m in range(48)
        for s in [datetime.combine(BASE + timedelta(days=n), time(8), d.LOCAL_TZ) + timedelta(minutes=10 * m)]
    ]
    c = campaign(2, 21, 21)
    first_from = datetime.combine(BASE, time(0), d.LOCAL_TZ)
    started = perf_counter()  # not the wall clock: local time jumps an hour when summer time begins
    pairs = d.bookable_pairs(c, slots, first_from, first_from + timedelta(days=28))
    assert len(pairs) == 28 * 48
    assert all(p.second is not None and p.second.start - p.first.start == timedelta(days=21) for p in pairs)
    assert perf_counter() - started < 1.0


def test_spread_second_doses_draws_from_the_best_few_and_differs_between_workers():
    slots = [
        d.Slot("c", "x", f"s{n}", s, s + timedelta(minutes=30), 1)
        for n in range(10)
        for s in [datetime.combine(BASE, time(8 + n), d.LOCAL_TZ)]
    ]
    draws = {tuple(s.slot_id for s in d.spread_second_doses(slots, random.Random(seed), 3, 6)) for seed in range(20)}
    assert all(len(set(draw)) == 3 and set(draw) <= {f"s{n}" for n in range(6)} for draw in draws)
    assert len({draw[0] for draw in draws}) > 1  # concurrent workers do not all start on the same slot
    assert d.spread_second_doses(slots[:2], random.Random(1), 3, 6) in (slots[:2], slots[1::-1])
