"""Rebooking from the look-up page: a day, a pair, a confirmation; a pair taken meanwhile keeps the old one and
offers the API's alternatives. Every page is checked with axe."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import Api, Person, check
from tests.browser.test_manage_booking import look_up, remaining


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
