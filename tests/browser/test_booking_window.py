"""The site asks for as many days as one page of the API allows, read from the campaign, not its own, and pages
through the campaign's booking horizon: "all taken" only when all of it is."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, time, timedelta

from playwright.sync_api import expect

from chalicelib.booking import domain as d
from chalicelib.booking.domain import LOCAL_TZ
from infra.local.token import local_staff_token
from tests.browser.support import Api, Person, check, check_eligibility, fill_details

AVAILABILITY = re.compile(r".*/v1/centers/[^/]+/availability\?.*")
ELIGIBILITY = re.compile(r".*/v1/eligibility$")


def test_the_api_tells_the_window_and_the_days_page_asks_for_what_the_campaign_says(open_site, booking_api: Api):
    assert booking_api.get("/v1/campaigns")["campaigns"][0]["booking_window_days"] == 28
    page = open_site("/#/book")

    def narrower_window(route):
        # A window unlike the site's old constant: only a site that reads the campaign asks for 9 days.
        answer = route.fetch()
        body = answer.json()
        for campaign in body.get("campaigns", []):
            campaign["booking_window_days"] = 9
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(ELIGIBILITY, narrower_window)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if AVAILABILITY.match(r.url) else None)
    check_eligibility(page, Person("Fenster", "Tage", "1939-02-03"))
    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")
    assert asked and all("days=9" in url for url in asked)


# --- the booking horizon: the site pages through it ----------------------------------------------------------

OPS = {"Authorization": local_staff_token("horizon-ops", "ops")}
HORIZON_BORN = "1943-04-30"  # a cohort only this test is born in: its campaign is the only one these people see


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), LOCAL_TZ)


def test_when_the_first_four_weeks_are_full_the_site_shows_the_later_pair_and_the_citizen_books_it(
    open_site, booking_api: Api
):
    today = datetime.now(LOCAL_TZ).date()
    campaign_id = f"horizon-{uuid.uuid4().hex[:8]}"
    http, base = booking_api.http, booking_api.base_url
    campaign = {
        "name": "Jahrgang 1943 Comirnaty",
        "vaccine": "comirnaty",
        "doses": 2,
        "interval_days": {"min": 21, "max": 42},
        "regions": ["westfalen-lippe"],
        "center_ids": ["dortmund"],
        "opens_at": (datetime.now(LOCAL_TZ) - timedelta(minutes=1)).isoformat(),
        "born_on_or_after": HORIZON_BORN,
        "born_on_or_before": HORIZON_BORN,
        "horizon_days": 60,
    }
    put = http.put(f"{base}/v1/staff/campaigns/{campaign_id}", json=campaign, headers=OPS, timeout=30)
    assert put.status_code == 200 and put.json()["horizon_days"] == 60, put.text
    # One pair inside the first page (booked away below) and one on the second page (days 28–55).
    starts = [_at(today + timedelta(days=n), 10) for n in (3, 24, 50, 71)]
    contingent = {
        "center_id": "dortmund",
        "slots": [
            {"start": s.isoformat(), "end": (s + timedelta(minutes=30)).isoformat(), "capacity": 1} for s in starts
        ],
    }
    released = http.post(
        f"{base}/v1/staff/campaigns/{campaign_id}/contingents",
        json=contingent,
        headers={**OPS, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert released.status_code == 201, released.text
    early = Person("Frueh", f"Bucher{uuid.uuid4().hex[:6]}", HORIZON_BORN)
    taken = http.post(
        f"{base}/v1/booking-requests",
        json={
            "campaign_id": campaign_id,
            "center_id": "dortmund",
            "slot_id": d.slot_id_for(starts[0]),
            "person": early.body(),
        },
        timeout=30,
    )
    assert taken.status_code == 202, taken.text
    assert booking_api.wait_for_outcome(taken.json()["request_id"])["status"] == "booked"
    first_page = booking_api.get("/v1/centers/dortmund/availability", campaign=campaign_id, days=28)
    page_start = date.fromisoformat(first_page["from"])  # (today as the API saw it: the test may cross midnight)
    assert first_page["days"] == [] and first_page["next_from"] == (page_start + timedelta(days=28)).isoformat()

    page = open_site("/#/book")
    person = Person("Spaet", f"Bucherin{uuid.uuid4().hex[:6]}", HORIZON_BORN)
    check_eligibility(page, person)
    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")
    expect(page.locator("main .notice")).to_contain_text("sind alle Termine vergeben")
    expect(page.locator("main .choice")).to_have_count(1)
    # Every day from today up to the pair was just found taken: nothing earlier to offer; the horizon goes on.
    expect(page.get_by_role("button", name="Frühere Termine")).to_have_count(0)
    expect(page.get_by_role("button", name="Spätere Termine")).to_be_visible()
    check(page, "days: the first free pair is on the second page", "days-later-page")

    # The last page (days 56–59) is full: said of that page only, with the way back — not "all taken".
    page.get_by_role("button", name="Spätere Termine").click()
    expect(page.locator("main h1")).to_have_text("In diesem Zeitraum keine freien Termine")
    page.get_by_role("button", name="Frühere Termine").click()
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")
    expect(page.locator("main .choice")).to_have_count(1)

    page.locator("main .choice").first.click()
    expect(page.locator("main h1")).to_contain_text("Uhrzeit wählen")
    page.locator("main .slot").first.click()
    expect(page.locator("main h1")).to_have_text("Ihre Angaben")
    fill_details(page, person)
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    later = booking_api.get(
        "/v1/centers/dortmund/availability", campaign=campaign_id, days=28, **{"from": first_page["next_from"]}
    )
    assert later["days"] == []  # the later pair is the citizen's now
