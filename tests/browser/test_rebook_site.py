"""Rebooking from the look-up page: a day, a pair, a confirmation; a pair taken meanwhile keeps the old one and
offers the API's alternatives. Every page is checked with axe."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta

from playwright.sync_api import expect

from chalicelib.booking import domain as d
from chalicelib.booking.domain import LOCAL_TZ
from infra.local.token import local_staff_token
from tests.browser.support import Api, Person, check
from tests.browser.test_manage_booking import look_up, remaining

OPS = {"Authorization": local_staff_token("pager-ops", "ops")}


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), LOCAL_TZ)


def horizon_campaign(api: Api, born: str) -> tuple[str, list[datetime]]:
    """A campaign with a 60-day horizon at Dortmund for people born on `born` only, and two pairs of one seat:
    days 3 + 24 on the API's first 28-day page, days 50 + 71 on its second. Returns its id and the four starts."""
    today = datetime.now(LOCAL_TZ).date()
    campaign_id = f"pager-{uuid.uuid4().hex[:8]}"
    campaign = {
        "name": f"Jahrgang {born[:4]} Comirnaty",
        "vaccine": "comirnaty",
        "doses": 2,
        "interval_days": {"min": 21, "max": 42},
        "regions": ["westfalen-lippe"],
        "center_ids": ["dortmund"],
        "opens_at": (datetime.now(LOCAL_TZ) - timedelta(minutes=1)).isoformat(),
        "born_on_or_after": born,
        "born_on_or_before": born,
        "horizon_days": 60,
    }
    put = api.http.put(f"{api.base_url}/v1/staff/campaigns/{campaign_id}", json=campaign, headers=OPS, timeout=30)
    assert put.status_code == 200, put.text
    starts = [_at(today + timedelta(days=n), 10) for n in (3, 24, 50, 71)]
    slots = [{"start": s.isoformat(), "end": (s + timedelta(minutes=30)).isoformat(), "capacity": 1} for s in starts]
    released = api.http.post(
        f"{api.base_url}/v1/staff/campaigns/{campaign_id}/contingents",
        json={"center_id": "dortmund", "slots": slots},
        headers={**OPS, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert released.status_code == 201, released.text
    return campaign_id, starts


def book_in(api: Api, campaign_id: str, person: Person, start: datetime) -> dict:
    """The pair starting at `start` booked through the API; the booking as the request's outcome names it."""
    body = {
        "campaign_id": campaign_id,
        "center_id": "dortmund",
        "slot_id": d.slot_id_for(start),
        "person": person.body(),
    }
    taken = api.http.post(f"{api.base_url}/v1/booking-requests", json=body, timeout=30)
    assert taken.status_code == 202, taken.text
    outcome = api.wait_for_outcome(taken.json()["request_id"])
    assert outcome["status"] == "booked", outcome
    return outcome["booking"]


def test_a_citizen_rebooks_from_the_look_up_page_and_a_pair_taken_meanwhile_changes_nothing(
    open_site, booking_api: Api
):
    person = Person("Rita", "Umbuch", "1937-03-03")
    days = booking_api.days()
    old_day, old_slot = days[1], days[1]["slots"][0]
    code = booking_api.book(person, old_slot["slot_id"])["code"]
    old_remaining = remaining(booking_api, old_day["date"], old_slot["slot_id"])
    target_index = 4
    target_day = booking_api.days()[target_index]
    target = target_day["slots"][0]

    page = open_site("/#/booking")
    look_up(page, code, person)
    expect(page.locator("main h1")).to_have_text("Ihre Buchung")
    page.get_by_role("link", name="Andere Termine wählen").click()
    expect(page.locator("main h1")).to_have_text("Neue Termine: Wählen Sie einen Tag")
    expect(page.locator("main")).to_contain_text("Ihre bisherigen Termine")
    check(page, "rebook: days", "rebook-days")

    page.locator("main .choice").nth(target_index).click()
    expect(page.locator("main h1")).to_contain_text("Uhrzeit wählen")
    check(page, "rebook: times")
    page.locator("main .slot").first.click()
    expect(page.locator("main h1")).to_have_text("Wollen Sie Ihre Termine wirklich ändern?")
    check(page, "rebook: confirm", "rebook-confirm")

    # Meanwhile others take every seat of the chosen pair's first slot.
    for n in range(remaining(booking_api, target_day["date"], target["slot_id"])):
        booking_api.book(Person("Schnell", f"Anderer{n}", "1938-01-01"), target["slot_id"])
    page.get_by_role("button", name="Ja, Termine ändern").click()
    expect(page.locator("main h1")).to_have_text("Dieser Termin ist inzwischen vergeben")
    expect(page.locator("main")).to_contain_text("Ihre bisherigen Termine bleiben bestehen")
    check(page, "rebook: taken, with alternatives", "rebook-taken")
    unchanged = booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)
    assert unchanged["first"]["slot_id"] == old_slot["slot_id"]
    assert remaining(booking_api, old_day["date"], old_slot["slot_id"]) == old_remaining

    page.locator("main .slot").first.click()
    expect(page.locator("main h1")).to_have_text("Wollen Sie Ihre Termine wirklich ändern?")
    page.get_by_role("button", name="Ja, Termine ändern").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind geändert")
    expect(page.locator("#booking-code")).to_have_text(code)
    check(page, "rebook: done", "rebooked")

    moved = booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)
    assert moved["status"] == "active"
    assert moved["first"]["slot_id"] not in (old_slot["slot_id"], target["slot_id"])
    assert remaining(booking_api, old_day["date"], old_slot["slot_id"]) == old_remaining + 1
    expect(page.locator("main .appointments")).to_contain_text(re.compile(r"\d{1,2}:\d{2}"))


def test_the_rebooking_pages_speak_english(open_site, booking_api: Api):
    person = Person("Rita", "Rebook", "1937-04-04")
    code = booking_api.book(person, booking_api.days()[2]["slots"][1]["slot_id"])["code"]
    page = open_site("/?lang=en#/booking", locale="en-GB")
    day, month, year = person.birth_parts
    page.locator("#booking-code-input").fill(code)
    page.locator("#lookup-birth-day").fill(day)
    page.locator("#lookup-birth-month").fill(month)
    page.locator("#lookup-birth-year").fill(year)
    page.get_by_role("button", name="Show booking").click()
    page.get_by_role("link", name="Choose other appointments").click()
    expect(page.locator("main h1")).to_have_text("New appointments: choose a day")
    page.get_by_role("link", name="Keep my current appointments").click()
    expect(page.locator("main h1")).to_have_text("Your booking")


def test_when_the_first_four_weeks_are_full_the_citizen_rebooks_to_a_pair_on_a_later_page(open_site, booking_api: Api):
    born = "1943-05-31"  # a cohort only this test is born in
    campaign_id, starts = horizon_campaign(booking_api, born)
    person = Person("Horst", f"Spaeter{uuid.uuid4().hex[:6]}", born)
    code = book_in(booking_api, campaign_id, person, starts[0])["code"]  # the first page's only pair: now full

    page = open_site("/#/booking")
    look_up(page, code, person)
    page.get_by_role("link", name="Andere Termine wählen").click()
    expect(page.locator("main h1")).to_have_text("Neue Termine: Wählen Sie einen Tag")
    expect(page.locator("main .notice").first).to_contain_text("sind alle Termine vergeben")
    expect(page.locator("main .choice")).to_have_count(1)
    expect(page.get_by_role("button", name="Frühere Termine")).to_have_count(0)
    expect(page.get_by_role("button", name="Spätere Termine")).to_be_visible()
    check(page, "rebook: the first free pair is on a later page")

    page.locator("main .choice").first.click()
    page.locator("main .slot").first.click()
    page.get_by_role("button", name="Ja, Termine ändern").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind geändert")
    moved = booking_api.get(f"/v1/bookings/{code}", birth_date=born)
    assert moved["first"]["slot_id"] == d.slot_id_for(starts[2])
