"""Rebooking (contract §7), the catchment and the series lock: over HTTP against the local stack (patched moto
server, API, queue pumps, SES), with real concurrency."""

from __future__ import annotations

import email
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as clock
from email import policy

import requests

from chalicelib.booking import domain as d
from infra.local.token import local_staff_token
from tests.e2e.test_booking_invariants import BIRTH_DATE, request_body, table_items, wait_decided

OPS = {"Authorization": local_staff_token("rebook-ops", "ops")}
HOTLINE = {"Authorization": local_staff_token("rebook-hotline", "hotline")}
FIRST_DAY = date.today() + timedelta(days=2)


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(FIRST_DAY + timedelta(days=day_offset), clock(hour, minute), d.LOCAL_TZ)


def new_campaign(
    stack, capacities: dict[datetime, int], series: str | None = None, born: date | None = None
) -> tuple[str, dict[datetime, str]]:
    """A campaign of its own at Dortmund (its own series unless one is given) with the slots asked for; for
    everyone born in 1940 or before, or (`born`) for that one birth date only, so that a page showing every
    campaign a person may book (the browser tests) sees it only for its own people."""
    campaign_id = f"rebook-{uuid.uuid4().hex[:8]}"
    stack.catalog.add_campaign(
        d.Campaign(
            campaign_id,
            "Rebook",
            "comirnaty",
            2,
            21,
            42,
            frozenset({"westfalen-lippe"}),
            ("dortmund",),
            opens_at=datetime.now(d.LOCAL_TZ) - timedelta(hours=1),
            born_on_or_after=born,
            born_on_or_before=born or date(1940, 12, 31),
            series=series or campaign_id,
        )
    )
    slots = [
        d.Slot(campaign_id, "dortmund", d.slot_id_for(s), s, s + timedelta(minutes=30), c)
        for s, c in capacities.items()
    ]
    stack.catalog.release_slots(slots)
    return campaign_id, {s.start: s.slot_id for s in slots}


def book(stack, campaign_id: str, slot_id: str, family: str | None = None, **person) -> dict:
    body = request_body(campaign_id, slot_id, family or f"Re{uuid.uuid4().hex[:8]}", **person)
    response = requests.post(f"{stack.api_url}/v1/booking-requests", json=body, timeout=60)
    assert response.status_code == 202, response.text
    return wait_decided(stack.api_url, response.json()["request_id"])


def rebook(stack, code: str, slot_id: str, flexible: bool = False, headers: dict | None = None) -> requests.Response:
    return requests.post(
        f"{stack.api_url}/v1/bookings/{code}/rebook",
        timeout=60,
        headers=headers,
        json={"birth_date": BIRTH_DATE, "slot_id": slot_id, "flexible": flexible},
    )


def booked(stack, campaign_id: str, slot_id: str) -> int:
    return stack.catalog.slot(campaign_id, "dortmund", slot_id).booked


def held_by_active_bookings(stack, campaign_id: str) -> Counter:
    held: Counter = Counter()
    for item in table_items(stack, "BOOKING#"):
        if item["campaign_id"]["S"] == campaign_id and item["status"]["S"] == "active":
            held[item["first_slot_id"]["S"]] += 1
            if "second_slot_id" in item:
                held[item["second_slot_id"]["S"]] += 1
    return held


def subjects(stack, code: str) -> list[str]:
    mails = [email.message_from_string(m["raw_data"], policy=policy.default) for m in stack.sent_mail()]
    return [str(m["Subject"]) for m in mails if code in str(m["Subject"])]


def test_a_swap_frees_the_old_pair_takes_the_new_one_and_sends_one_change_mail(stack, api):
    first, other_first, second, later_second = at(0, 10), at(0, 11), at(21, 10), at(21, 11)
    campaign_id, ids = new_campaign(stack, {first: 1, other_first: 1, second: 1, later_second: 1})
    state = book(stack, campaign_id, ids[first])
    assert state["status"] == "booked"
    code = state["booking"]["code"]
    assert state["booking"]["second"]["slot_id"] == ids[second]

    moved = rebook(stack, code, ids[other_first])

    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["code"], body["status"], body["first"]["slot_id"]) == (code, "active", ids[other_first])
    assert body["second"]["slot_id"] == ids[second]  # kept: its one seat is this booking's (netted, not re-taken)
    assert [booked(stack, campaign_id, ids[s]) for s in (first, other_first, second, later_second)] == [0, 1, 1, 0]
    looked_up = api.get(f"/v1/bookings/{code}", params={"birth_date": BIRTH_DATE}).json()
    assert (looked_up["first"], looked_up["second"]) == (body["first"], body["second"])
    freed = book(stack, campaign_id, ids[first])  # the old first slot is bookable again at once
    assert freed["status"] == "booked" and freed["booking"]["second"]["slot_id"] == ids[later_second]

    assert rebook(stack, code, ids[other_first]).json() == body  # a retried rebook changes nothing
    stack.wait_for_idle_queues()
    changed = [s for s in subjects(stack, code) if "umgebucht" in s]
    assert len(changed) == 1 and len(subjects(stack, code)) == 2  # the confirmation and one change mail
    assert held_by_active_bookings(stack, campaign_id) == {
        ids[other_first]: 1,
        ids[second]: 1,
        ids[first]: 1,
        ids[later_second]: 1,
    }


def test_a_failed_swap_changes_nothing_and_sends_no_mail(stack):
    taken, mine, second = at(0, 10), at(0, 11), at(21, 10)
    campaign_id, ids = new_campaign(stack, {taken: 1, mine: 1, second: 2})
    book(stack, campaign_id, ids[taken])
    state = book(stack, campaign_id, ids[mine])
    code = state["booking"]["code"]

    refused = rebook(stack, code, ids[taken])

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "slot_taken"
    assert [a["slot_id"] for a in refused.json()["alternatives"]] == [ids[mine]]
    assert [booked(stack, campaign_id, ids[s]) for s in (taken, mine, second)] == [1, 1, 2]
    looked_up = requests.get(f"{stack.api_url}/v1/bookings/{code}", params={"birth_date": BIRTH_DATE}, timeout=30)
    before = state["booking"]
    assert (looked_up.json()["first"], looked_up.json()["second"]) == (before["first"], before["second"])
    stack.wait_for_idle_queues()
    assert not [s for s in subjects(stack, code) if "umgebucht" in s]


def test_a_flexible_rebook_takes_the_nearest_pair_from_that_day_on(stack):
    old, full, nearest, later, second = at(0, 9), at(1, 10), at(1, 14), at(3, 10), at(22, 12)
    campaign_id, ids = new_campaign(stack, {old: 1, full: 1, nearest: 1, later: 1, second: 5})
    book(stack, campaign_id, ids[full])
    code = book(stack, campaign_id, ids[old])["booking"]["code"]
    moved = rebook(stack, code, ids[full], flexible=True)
    assert moved.status_code == 200 and moved.json()["first"]["slot_id"] == ids[nearest]


def test_rebooks_and_bookings_racing_for_the_last_seats_keep_every_slot_within_capacity(stack):
    """Eight people hold the early slot and all second doses but one; all eight try to move to a slot of three
    seats while eight newcomers ask for it too (a newcomer also needs one of the last second doses).

    The race runs in threads calling the use cases (the API's and the booking worker's, in this process) and
    the queue pump's threads, all against the patched moto server: chalice's local HTTP server keeps one
    `current_request` for all its threads, so concurrent HTTP calls to different routes would read each
    other's bodies (a local-server limit, fixed on the `localstack` branch; Lambda runs one request at a time).
    """
    from chalicelib import bootstrap

    early, target, second = at(0, 9), at(0, 12), at(21, 12)
    capacities = {early: 8, target: 3, second: 9}
    campaign_id, ids = new_campaign(stack, capacities)
    codes = [book(stack, campaign_id, ids[early])["booking"]["code"] for _ in range(8)]
    service = bootstrap.booking_service()

    def move(code: str):
        try:
            return service.rebook(code, date.fromisoformat(BIRTH_DATE), ids[target], False).booking
        except (d.NoPairAvailable, d.BookingChanged) as refused:
            return refused

    def newcomer(n: int) -> str:
        person = d.Person(
            "Neu", f"Racer{n}{uuid.uuid4().hex[:6]}", date.fromisoformat(BIRTH_DATE), "44141", "neu@example.org"
        )
        return service.submit(campaign_id, "dortmund", ids[target], False, "de", person)

    with ThreadPoolExecutor(max_workers=16) as pool:
        moves = [pool.submit(move, code) for code in codes]
        moves += [pool.submit(move, codes[0])]  # the same booking, asked twice at once
        newcomers = [pool.submit(newcomer, n) for n in range(8)]
        outcomes = [m.result() for m in moves]
        decided = [wait_decided(stack.api_url, n.result()) for n in newcomers]

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, (d.Booking, d.NoPairAvailable, d.BookingChanged)) for o in outcomes)
    moved_codes = {o.code for o in outcomes if isinstance(o, d.Booking) and o.first.slot_id == ids[target]}
    newly_booked = [s for s in decided if s["status"] == "booked"]
    # At most 3 bookings move; the one asked twice may be answered twice as moved (the second ask finds it there).
    moved_asks = [o for o in outcomes if isinstance(o, d.Booking)]
    assert {o.code for o in moved_asks} == moved_codes and len(moved_asks) - len(moved_codes) <= 1
    assert len(refused) >= 8 + 1 - 3 - (len(moved_asks) - len(moved_codes))
    for start, capacity in capacities.items():
        assert booked(stack, campaign_id, ids[start]) <= capacity
    assert booked(stack, campaign_id, ids[target]) == 3, "demand exceeds the seats: every seat is taken, no more"
    assert len(newly_booked) <= 1, "only one second dose was left for newcomers"
    assert len(moved_codes) + len(newly_booked) == 3
    # Every counter equals the active bookings that hold the slot: nothing lost, nothing doubled.
    held = held_by_active_bookings(stack, campaign_id)
    counters = {ids[s]: booked(stack, campaign_id, ids[s]) for s in capacities}
    assert counters == {ids[s]: held[ids[s]] for s in capacities}
    stack.wait_for_idle_queues()
    for code in moved_codes:
        assert len([s for s in subjects(stack, code) if "umgebucht" in s]) == 1


def test_a_booking_outside_the_catchment_is_refused_on_the_web_and_by_the_hotline(stack, api):
    # 44141 is Westfalen-Lippe (Dortmund's catchment); Köln is Nordrhein.
    koeln = api.get("/v1/centers/koeln/availability?campaign=80plus-comirnaty&days=7").json()
    slot_id = koeln["days"][0]["slots"][0]["slot_id"]
    body = request_body("80plus-comirnaty", slot_id, f"Far{uuid.uuid4().hex[:6]}")
    body["center_id"] = "koeln"
    for path, headers in (("/v1/booking-requests", {}), ("/v1/staff/booking-requests", HOTLINE)):
        response = api.post(path, json=body, headers={**headers, "Accept-Language": "en"})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"], error["details"][0]["code"]) == (
            "invalid_request",
            "center_id",
            "outside_catchment",
        )
    body["person"]["postal_code"] = "50667"  # a Köln resident may
    assert api.post("/v1/booking-requests", json=body).status_code == 202


def test_campaigns_of_one_series_share_the_person_lock_and_ops_set_the_series(stack, api):
    series = f"series-{uuid.uuid4().hex[:6]}"
    first, second = at(0, 10), at(21, 10)
    comirnaty, comirnaty_ids = new_campaign(stack, {first: 5, second: 5}, series=series)
    family = f"Series{uuid.uuid4().hex[:6]}"
    assert book(stack, comirnaty, comirnaty_ids[first], family)["status"] == "booked"

    # Ops put a single-dose campaign in the same series through the staff route, then move it to another.
    janssen = f"rebook-janssen-{uuid.uuid4().hex[:6]}"
    campaign = {
        "name": "Janssen",
        "vaccine": "janssen",
        "doses": 1,
        "regions": ["westfalen-lippe"],
        "center_ids": ["dortmund"],
        "opens_at": (datetime.now(d.LOCAL_TZ) - timedelta(hours=1)).isoformat(),
        "born_on_or_before": "1940-12-31",
        "series": series,
    }
    put = api.put(f"/v1/staff/campaigns/{janssen}", json=campaign, headers=OPS)
    assert put.status_code == 200 and put.json()["series"] == series
    single = d.Slot(janssen, "dortmund", d.slot_id_for(at(1, 10)), at(1, 10), at(1, 10) + timedelta(minutes=30), 5)
    stack.catalog.release_slots([single])
    same_series = book(stack, janssen, single.slot_id, family)
    assert (same_series["status"], same_series["reason"]) == ("rejected", "already_booked")

    put = api.put(f"/v1/staff/campaigns/{janssen}", json={**campaign, "series": f"{series}-other"}, headers=OPS)
    assert put.status_code == 200
    other_series = book(stack, janssen, single.slot_id, family, phone="+49 231 2")  # a new request, not the same body
    assert other_series["status"] == "booked", other_series
