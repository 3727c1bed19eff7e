"""A centre-day cancel holds a new pair for the person: the look-up page (the notice links there) shows it in
plain words, keeps it in one step (the booking is active again, same code) or leads to the rebook flow for other
appointments, and says so plainly when the hold lapsed before the click, offering a new booking. Every page is
checked with axe."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from playwright.sync_api import expect
from pynamodb.connection import Connection

from chalicelib.booking import domain as d
from chalicelib.booking.storage import DynamoBookings
from infra.local.aws import REGION
from infra.local.token import local_staff_token
from tests.browser.support import Api, Person, check
from tests.browser.test_manage_booking import look_up
from tests.e2e.test_booking_invariants import request_body
from tests.e2e.test_rebook import at, new_campaign

# A cohort of one birth date: the start page lists every campaign a person may book, and this one is for these two.
HELD_BORN = date(1931, 2, 3)
BIRTH_DATE = HELD_BORN.isoformat()


def test_a_person_whose_day_the_centre_cancelled_keeps_the_held_pair_from_the_look_up_page(
    open_site, booking_api: Api, stack
):
    # Two people on one day; two spare pairs later, one held for each of them by the cancel.
    first, second, spare, spare_second = at(0, 11), at(21, 11), at(4, 11), at(25, 11)
    campaign_id, ids = new_campaign(stack, {first: 2, second: 2, spare: 2, spare_second: 2}, born=HELD_BORN)
    codes = []
    for family in ("Halten", "Verpasst"):
        body = request_body(campaign_id, ids[first], f"{family}{uuid.uuid4().hex[:6]}", birth_date=BIRTH_DATE)
        request_id = booking_api.http.post(f"{booking_api.base_url}/v1/booking-requests", json=body, timeout=30)
        outcome = booking_api.wait_for_outcome(request_id.json()["request_id"])
        assert outcome["status"] == "booked", outcome
        codes.append(outcome["booking"]["code"])
    operation = booking_api.http.post(
        f"{booking_api.base_url}/v1/staff/campaigns/{campaign_id}/centre-day-operations",
        json={"center_id": "dortmund", "from": first.date().isoformat()},
        headers={"Authorization": local_staff_token("olga-held", "ops"), "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert operation.status_code == 200 and operation.json()["cancelled"] == 2, operation.text
    person = Person("Erika", "-", BIRTH_DATE)  # look_up needs the birth date only

    page = open_site(f"/#/booking?code={codes[0]}")
    look_up(page, codes[0], person)
    expect(page.locator("main h1")).to_have_text("Ihre Buchung")
    expect(page.locator("main")).to_contain_text("Das Impfzentrum hat Ihre Termine abgesagt.")
    expect(page.locator("main")).to_contain_text("Wir halten neue Termine für Sie frei bis")
    # Other appointments: the rebook flow, which swaps the held pair for the chosen one (it stays held till then).
    expect(page.get_by_role("link", name="Andere Termine wählen")).to_have_attribute("href", "#/booking/rebook")
    check(page, "held pair", "held-pair")
    page.get_by_role("button", name="Diese Termine behalten").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind geändert")
    expect(page.locator("#booking-code")).to_have_text(codes[0])
    check(page, "held pair kept")
    kept = booking_api.get(f"/v1/bookings/{codes[0]}", birth_date=BIRTH_DATE)
    assert (kept["status"], kept["first"]["slot_id"], kept["second"]["slot_id"]) == (
        "active",
        ids[spare],
        ids[spare_second],
    )
    assert "held" not in kept

    # The other person opens the page; the hold lapses and the sweep gives its seats back before the click.
    page = open_site("/?lang=en#/booking", locale="en-GB")
    page.locator("#booking-code-input").fill(codes[1])
    day, month, year = person.birth_parts
    page.locator("#lookup-birth-day").fill(day)
    page.locator("#lookup-birth-month").fill(month)
    page.locator("#lookup-birth-year").fill(year)
    page.get_by_role("button", name="Show booking").click()
    expect(page.locator("main")).to_contain_text("Your appointment was cancelled by the centre.")
    expect(page.locator("main")).to_contain_text("We are holding new appointments for you until")
    page.get_by_role("link", name="Choose other appointments").click()
    expect(page.locator("main h1")).to_have_text("New appointments: choose a day")
    expect(page.locator("#rebook-current")).to_have_text("New appointments for you")  # the held pair is what goes
    page.get_by_role("link", name="Back to my booking").first.click()
    expect(page.locator("main")).to_contain_text("We are holding new appointments for you until")
    later = datetime.now(d.LOCAL_TZ) + d.HOLD_FOR + timedelta(minutes=1)
    sweep = DynamoBookings(Connection(region=REGION, host=stack.aws_url), clock=lambda: later)
    hold = sweep.hold(codes[1])
    assert hold is not None and sweep.release_hold(hold, lapsed_only=True)
    page.get_by_role("button", name="Keep these appointments").click()
    expect(page.locator("main h1")).to_have_text("These appointments are no longer held for you")
    expect(page.get_by_role("link", name="Book an appointment")).to_have_attribute("href", "#/book")
    check(page, "held pair lapsed")
    assert booking_api.get(f"/v1/bookings/{codes[1]}", birth_date=BIRTH_DATE)["status"] == "cancelled"
