"""Looking up a booking by code + birth date, and cancelling it only after a confirmation step."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.support import Api, Person, check


def look_up(page: Page, code: str, person: Person, birth_year: str | None = None) -> None:
    day, month, year = person.birth_parts
    page.locator("#booking-code-input").fill(code.lower())  # codes are forgiving about case
    page.locator("#lookup-birth-day").fill(day)
    page.locator("#lookup-birth-month").fill(month)
    page.locator("#lookup-birth-year").fill(birth_year or year)
    page.get_by_role("button", name="Buchung anzeigen").click()


def remaining(api: Api, date: str, slot_id: str) -> int:
    """Free places of the slot on that day, from the store (see Api.seats_left)."""
    return api.seats_left(slot_id)


def test_a_citizen_looks_up_the_booking_by_code_and_birth_date_and_cancels_after_confirming(
    open_site, booking_api: Api
):
    person = Person("Heinrich", "Probe", "1936-09-09")
    day = booking_api.days()[1]
    slot = day["slots"][0]
    booking = booking_api.book(person, slot["slot_id"])
    code = booking["code"]

    page = open_site("/")
    page.get_by_role("link", name="Meine Buchung ansehen oder absagen").click()
    expect(page.locator("main h1")).to_have_text("Meine Buchung ansehen oder absagen")
    check(page, "look-up form", "lookup-form")

    look_up(page, code, person, birth_year="1937")  # a wrong birth date reads like an unknown code
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("Wir finden keine Buchung")
    check(page, "look-up not found", "lookup-not-found")

    look_up(page, code, person)
    expect(page.locator("main h1")).to_have_text("Ihre Buchung")
    expect(page.locator("#booking-code")).to_have_text(code)
    expect(page.locator("main")).to_contain_text("Gebucht für: Heinrich Probe")
    expect(page.locator("main .appointments")).to_contain_text("Impfzentrum Dortmund")
    check(page, "booking found", "lookup")

    page.get_by_role("link", name="Termine absagen").click()
    expect(page.locator("main h1")).to_have_text("Wollen Sie beide Termine wirklich absagen?")
    check(page, "cancel confirmation", "cancel")
    page.get_by_role("link", name="Nein, Termine behalten").click()
    expect(page.locator("main h1")).to_have_text("Ihre Buchung")
    assert booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)["status"] == "active"

    places_before = remaining(booking_api, day["date"], slot["slot_id"])
    page.get_by_role("link", name="Termine absagen").click()
    page.get_by_role("button", name="Ja, beide Termine absagen").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind abgesagt")
    check(page, "cancelled", "cancelled")
    assert booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)["status"] == "cancelled"
    assert remaining(booking_api, day["date"], slot["slot_id"]) == places_before + 1

    page.go_back()
    page.go_back()
    expect(page.locator("main h1")).to_have_text("Ihre Buchung")
    expect(page.locator("main .notice")).to_contain_text("Diese Buchung ist abgesagt.")
    expect(page.get_by_role("link", name="Termine absagen")).to_have_count(0)
