"""The rush's report on hand-made data: Spearman, the invariants, the fairness goals and the exit code."""

from __future__ import annotations

import random

import pytest

from infra.rush import pace
from infra.rush import timeline as tl
from infra.rush.report import (
    BOT,
    CITIZEN,
    HOTLINE,
    Accepted,
    BookingRow,
    Call,
    EntryObs,
    LockRow,
    RequestRow,
    RushData,
    SlotRow,
    average_ranks,
    build_report,
    format_report,
    order_groups,
    spearman,
)

CAMPAIGN = "rush-demo"
T0, OPENS = 1_000.0, 1_030.0


def check(report, name_start: str):
    [found] = [c for c in report.checks if c.name.startswith(name_start)]
    return found


def clean_run(n: int = 4) -> RushData:
    """n citizens, each booked the pair (A, B) at Dortmund (capacity n), one mail each, all in order."""
    data = RushData(CAMPAIGN, doses=2, started_at=T0, opens_at=OPENS)
    data.slots = [SlotRow(CAMPAIGN, "dortmund", "A", n, n), SlotRow(CAMPAIGN, "dortmund", "B", n, n)]
    for i in range(n):
        code, rid, email = f"CODE{i}", f"r{i}", f"p{i}@example.org"
        data.bookings.append(
            BookingRow(code, CAMPAIGN, "dortmund", "active", "A", "B", f"person{i}", email, rid, OPENS + 5 + i)
        )
        data.locks.append(LockRow(f"h{i}", CAMPAIGN, code))
        data.requests[rid] = RequestRow(rid, "booked", code)
        data.accepted.append(Accepted(rid, CITIZEN, email, OPENS + 2 + i))
        data.mail_recipients.append((email,))
        data.calls.append(Call(OPENS + 2 + i, "booking request", CITIZEN, 202, "", 40.0))
        data.entries.append(EntryObs(f"e{i}", CITIZEN, "web", OPENS + 1 + i, OPENS + 1.1 + i, OPENS + 3 + i))
    data.identities = {CITIZEN: {f"person{i}" for i in range(n)}, BOT: set(), HOTLINE: set()}
    return data


# --- Spearman -----------------------------------------------------------------------------------------


def test_spearman_is_one_for_the_same_order_and_minus_one_for_the_reverse():
    xs = [0.1, 0.5, 2.0, 3.5, 9.0]
    assert spearman(xs, [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert spearman(xs, [50, 40, 30, 20, 10]) == pytest.approx(-1.0)


def test_spearman_of_a_hand_computed_case_without_ties():
    # rank differences d = (0, 1, -1, 0, 0): rho = 1 - 6*2 / (5*24) = 0.9
    assert spearman([1, 2, 3, 4, 5], [1, 3, 2, 4, 5]) == pytest.approx(0.9)


def test_tied_values_share_the_mean_of_their_ranks():
    assert average_ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    # Pearson on ranks (1, 2.5, 2.5, 4) and (1, 2, 3, 4): sums of products 4.5, of squares 4.5 and 5
    assert spearman([10, 20, 20, 30], [1, 2, 3, 4]) == pytest.approx(4.5 / 22.5**0.5)


def test_spearman_is_undefined_for_fewer_than_three_or_a_constant():
    assert spearman([1, 2], [2, 1]) is None
    assert spearman([1, 2, 3], [7, 7, 7]) is None
    with pytest.raises(ValueError):
        spearman([1, 2, 3], [1, 2])


def test_spearman_of_a_shuffled_order_is_near_zero():
    rng = random.Random(7)
    ys = list(range(2000))
    rng.shuffle(ys)
    rho = spearman(list(range(2000)), ys)
    assert rho is not None and abs(rho) < 0.07


# --- invariants ---------------------------------------------------------------------------------------


def test_a_clean_run_passes_every_invariant_and_exits_zero():
    report = build_report(clean_run())
    assert [c.name for c in report.checks if c.invariant and not c.ok] == []
    assert report.exit_code() == 0
    assert "RESULT: PASS" in format_report(report)


def test_a_slot_over_capacity_fails_the_run():
    data = clean_run()
    data.slots[0] = SlotRow(CAMPAIGN, "dortmund", "A", 3, 4)  # 4 active bookings hold it, capacity 3
    report = build_report(data)
    assert not check(report, "slots over capacity").ok
    assert report.exit_code() == 1
    assert "RESULT: FAIL" in format_report(report)


def test_a_counter_that_disagrees_with_the_bookings_fails_the_run():
    data = clean_run()
    data.slots[1] = SlotRow(CAMPAIGN, "dortmund", "B", 4, 3)
    report = build_report(data)
    assert not check(report, "slot counters").ok and check(report, "slots over capacity").ok
    assert report.exit_code() == 1


def test_an_active_booking_with_one_dose_of_two_is_a_half_booking():
    data = clean_run()
    b = data.bookings[0]
    data.bookings[0] = BookingRow(
        b.code, b.campaign_id, b.center_id, "active", "A", None, b.person, b.email, b.request_id, b.created_at
    )
    data.slots[1] = SlotRow(CAMPAIGN, "dortmund", "B", 4, 3)
    assert not check(build_report(data), "half bookings").ok


def test_a_booked_request_whose_booking_is_missing_is_a_half_booking():
    data = clean_run()
    data.requests["r0"] = RequestRow("r0", "booked", "NOSUCHCODE")
    assert not check(build_report(data), "half bookings").ok


def test_two_active_bookings_of_one_person_fail_but_a_cancelled_one_does_not_count():
    data = clean_run()
    b = data.bookings[1]
    data.bookings[1] = BookingRow(
        b.code, b.campaign_id, b.center_id, "active", "A", "B", "person0", b.email, b.request_id, b.created_at
    )
    assert not check(build_report(data), "people with two active bookings").ok

    data.bookings[1] = BookingRow(
        b.code, b.campaign_id, b.center_id, "cancelled", "A", "B", "person0", b.email, b.request_id, b.created_at
    )
    data.slots = [SlotRow(CAMPAIGN, "dortmund", "A", 4, 3), SlotRow(CAMPAIGN, "dortmund", "B", 4, 3)]
    report = build_report(data)
    assert check(report, "people with two active bookings").ok and check(report, "slot counters").ok


def test_an_accepted_request_still_queued_or_unknown_to_the_store_fails_the_run():
    data = clean_run()
    data.requests["r1"] = RequestRow("r1", "queued")
    report = build_report(data)
    assert not check(report, "accepted requests never decided").ok and report.exit_code() == 1

    data = clean_run()
    del data.requests["r2"]
    assert not check(build_report(data), "accepted requests never decided").ok


def test_a_missing_or_a_second_mail_for_a_decision_fails_the_run():
    data = clean_run()
    data.mail_recipients.pop()
    assert not check(build_report(data), "one mail per decided request").ok

    data = clean_run()
    data.mail_recipients.append(("P0@example.org",))  # addresses compare without case
    assert not check(build_report(data), "one mail per decided request").ok


def test_a_rejected_request_gets_its_mail_too():
    data = clean_run()
    data.accepted.append(Accepted("r9", CITIZEN, "p0@example.org", OPENS + 9))
    data.requests["r9"] = RequestRow("r9", "rejected", reason="slot_taken")
    short = check(build_report(data), "one mail per decided request")
    assert not short.ok and short.detail.startswith("1 missing (1 of them for rejected requests), 0 extra")
    data.mail_recipients.append(("p0@example.org",))
    assert check(build_report(data), "one mail per decided request").ok


@pytest.mark.parametrize(
    ("kind", "status", "code", "ok"),
    [
        (CITIZEN, 429, "too_many_requests", True),
        (BOT, 429, "too_many_requests", True),
        (BOT, 403, "admission_required", True),
        (CITIZEN, 403, "admission_required", False),  # an honest visitor with a token must not be turned away
        (HOTLINE, 409, "request_in_progress", False),
        (CITIZEN, 500, "internal_error", False),
        (BOT, 503, "service_unavailable", False),
        (CITIZEN, 0, "", False),  # no answer at all
    ],
)
def test_refusals_other_than_429_fail_the_run_except_a_bots_missing_admission(kind, status, code, ok):
    data = clean_run()
    data.calls.append(Call(OPENS + 20, "booking request", kind, status, code, 10.0))
    report = build_report(data)
    assert check(report, "requests refused").ok is ok
    assert report.exit_code() == (0 if ok else 1)


def test_bookings_of_other_campaigns_are_not_judged():
    data = clean_run()
    data.bookings.append(
        BookingRow("OTHER", "80plus-comirnaty", "dortmund", "active", "A", None, "person0", "x", "rx", OPENS)
    )
    assert build_report(data).exit_code() == 0


# --- fairness -----------------------------------------------------------------------------------------


def entries_for_a_fair_room(n_pre: int, n_post: int, seed: int = 3) -> list[EntryObs]:
    """Pre-queue arrivals drawn into random places, later arrivals first come first served, 1 s apart."""
    rng = random.Random(seed)
    places = list(range(n_pre))
    rng.shuffle(places)
    entries = [
        EntryObs(f"pre{i}", CITIZEN, "web", T0 + i * 0.1, T0 + i * 0.1 + 0.05, OPENS + 2 + places[i])
        for i in range(n_pre)
    ]
    entries += [
        EntryObs(f"post{i}", CITIZEN, "web", OPENS + 1 + i, OPENS + 1.2 + i, OPENS + 2 + n_pre + i)
        for i in range(n_post)
    ]
    return entries


def test_a_fair_room_meets_both_order_goals():
    data = clean_run()
    data.entries = entries_for_a_fair_room(200, 50)
    report = build_report(data)
    assert check(report, "arrival vs admission order after opening").ok
    assert check(report, "arrival vs admission order of pre-queue arrivals").ok
    assert report.figures["rho_after_opening"] == pytest.approx(1.0)
    rho = report.figures["rho_pre_queue"]
    assert isinstance(rho, float) and abs(rho) < 0.2


def test_a_room_that_lets_the_early_pre_queue_arrivals_in_first_misses_the_draw_goal():
    data = clean_run()
    data.entries = [EntryObs(f"pre{i}", CITIZEN, "web", T0 + i, T0 + i + 0.1, OPENS + 2 + i) for i in range(30)]
    report = build_report(data)
    assert not check(report, "arrival vs admission order of pre-queue arrivals").ok
    assert report.exit_code() == 0  # a fairness goal, reported
    assert report.exit_code(strict=True) == 1
    assert "[miss]" in format_report(report) and "[FAIL]" in format_report(report, strict=True)


def test_a_room_that_shuffles_later_arrivals_misses_the_first_come_goal():
    data = clean_run()
    order = list(range(40))
    random.Random(1).shuffle(order)
    data.entries = [
        EntryObs(f"p{i}", CITIZEN, "web", OPENS + i, OPENS + i + 0.1, OPENS + 50 + order[i]) for i in range(40)
    ]
    assert not check(build_report(data), "arrival vs admission order after opening").ok


def test_entries_straddling_the_opening_and_hotline_entries_are_in_neither_order_group():
    data = RushData(
        CAMPAIGN,
        2,
        T0,
        OPENS,
        entries=[
            EntryObs("pre", CITIZEN, "web", OPENS - 2, OPENS - 1, OPENS + 1),
            EntryObs("straddle", CITIZEN, "web", OPENS - 0.1, OPENS + 0.1, OPENS + 2),
            EntryObs("post", CITIZEN, "web", OPENS + 1, OPENS + 2, OPENS + 3),
            EntryObs("phone", HOTLINE, "hotline", OPENS + 1, OPENS + 2, OPENS + 4),
            EntryObs("waiting", CITIZEN, "web", OPENS + 1, OPENS + 2, None),
        ],
    )
    pre, post = order_groups(data)
    assert [e.entry_id for e in pre] == ["pre"] and [e.entry_id for e in post] == ["post"]


def test_two_entries_let_in_at_the_same_place_are_reported():
    data = clean_run()
    data.entries.append(EntryObs("twin", BOT, "web", OPENS + 1.5, OPENS + 1.6, data.entries[0].admitted_at))
    assert not check(build_report(data), "each admission place given to one entry").ok


def test_bots_booking_more_than_their_share_of_identities_miss_the_goal():
    data = clean_run()
    data.accepted = [
        Accepted(a.request_id, BOT if i < 3 else CITIZEN, a.email, a.sent_at) for i, a in enumerate(data.accepted)
    ]
    data.identities = {CITIZEN: {f"c{i}" for i in range(8)}, BOT: {"b1", "b2"}}
    report = build_report(data)
    assert report.figures["bot_booking_share"] == 0.75 and report.figures["bot_identity_share"] == 0.2
    assert report.figures["bot_entry_share"] == 0.0  # the hand-made entries are all citizens'
    assert not check(report, "bots' share of bookings").ok


def test_without_an_active_room_the_order_is_reported_as_not_measured():
    data = clean_run()
    data.opens_at = None
    report = build_report(data)
    assert check(report, "arrival order kept").value == "not measured"
    assert report.exit_code() == 0


# --- timeline -----------------------------------------------------------------------------------------


def test_queue_length_counts_entries_made_and_not_yet_let_in():
    entries = [
        EntryObs("a", CITIZEN, "web", T0 + 0.5, T0 + 0.6, T0 + 2.5),
        EntryObs("b", CITIZEN, "web", T0 + 1.5, T0 + 1.6, None),
    ]
    assert tl.queue_length(entries, T0, 4) == [1, 2, 1, 1]
    # Let in when the visitor learnt it, even if the room's place for it had come earlier.
    learnt_late = [EntryObs("a", CITIZEN, "web", T0 + 0.5, T0 + 0.6, T0 + 0.7, seen_admitted_at=T0 + 2.5)]
    assert tl.queue_length(learnt_late, T0, 3) == [1, 1, 0]
    assert tl.per_second([T0 + 0.2, T0 + 0.9, T0 + 3.1, T0 + 99], T0, 4) == [2, 0, 0, 1]


def test_percentiles_and_error_classes():
    assert tl.percentile([5, 1, 4, 2, 3], 50) == 3 and tl.percentile([5, 1, 4, 2, 3], 99) == 5
    calls = [
        Call(T0 + 0.1, "x", BOT, 403, "admission_required", 1),
        Call(T0 + 0.2, "x", CITIZEN, 503, "s", 1),
        Call(T0 + 1.1, "x", CITIZEN, 0, "", 0),
        Call(T0 + 1.2, "x", CITIZEN, 200, "", 1),
    ]
    assert tl.errors_per_second(calls, T0, 2) == {"403 admission_required": [1, 0], "5xx": [1, 0], "no answer": [0, 1]}


# --- the simulated visitors' pace (infra/rush/pace.py: the site's, bounded by the run) ------------------


def test_the_room_is_polled_when_retry_after_says_however_long_not_at_a_cap_of_our_own():
    assert pace.room_poll_delay(2.0, True, 170.0) == 170.0  # an ETA minutes away: one poll then, not every 5 s
    assert pace.room_poll_delay(2.0, True, 0.0) == 1.0  # never a busy loop
    assert pace.room_poll_delay(7.0, True, None) == 7.0


def test_room_trouble_follows_retry_after_or_backs_off_doubling_up_to_thirty_seconds():
    assert pace.room_poll_delay(2.0, False, 3.0) == 3.0  # 503 service_unavailable, Retry-After: 3
    assert pace.room_poll_delay(2.0, False, 600.0) == pace.ROOM_TROUBLE_MAX_S
    delays = [2.0]
    for _ in range(6):
        delays.append(pace.room_poll_delay(delays[-1], False, None))
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_queued_request_is_polled_like_the_site_sooner_at_first_then_every_five_seconds():
    delays, waited = [pace.REQUEST_FIRST_DELAY_S], 0.0
    while waited < 90:
        waited += delays[-1]
        delays.append(pace.request_poll_delay(delays[-1], waited, True, None))
    assert delays[:4] == [1.0, 1.25, 1.5625, 1.953125]
    assert max(delays[:20]) == pace.REQUEST_SOON_MAX_S and delays[-1] == pace.REQUEST_LATER_MAX_S
    assert pace.request_poll_delay(2.0, 5.0, False, 9.0) == 9.0  # 429 or 503 with Retry-After
    assert pace.request_poll_delay(2.0, 5.0, True, 7.0) == 7.0  # a queued answer's Retry-After wins (api.js)
    assert pace.request_poll_delay(2.0, 5.0, True, 0.0) == 1.0  # never sooner than a second
    assert pace.request_poll_delay(8.0, 5.0, False, None) == pace.REQUEST_TROUBLE_MAX_S


def test_no_wait_runs_past_the_end_of_the_run():
    assert pace.bounded(170.0, 12.5) == 12.5
    assert pace.bounded(3.0, 12.5) == 3.0
    assert pace.bounded(3.0, -1.0) == 0.0
