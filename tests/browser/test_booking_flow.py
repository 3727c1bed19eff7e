"""Booking through the site against the real stack: German and English, slot taken, not eligible."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from tests.browser.support import Api, Person, check, check_eligibility, choose_slot, fill_details

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}$")


def heading(page: Page):
    return page.locator("main h1")


POLL = re.compile(r".*/v1/booking-requests/[^/?]+$")


class HeldPolls:
    """Keeps the site's status polls waiting (as if the queue were slow) until released."""

    def __init__(self, page: Page):
        self.routes: list[Route] = []
        self.released = False
        page.route(POLL, self.hold)

    def hold(self, route) -> None:
        if self.released:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.routes:
            route.continue_()


def test_an_over_80_books_both_doses_in_german_and_gets_a_code_the_centre_and_a_calendar_entry(
    open_site, booking_api: Api
):
    person = Person("Erika", "Mustermann", "1940-05-01")
    page = open_site("/", timezone="America/New_York")  # a relative abroad still sees the times in Berlin
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".campaign--open")).to_contain_text("80+ Comirnaty")
    expect(page.locator(".campaign--open")).to_contain_text("1940 oder früher geboren")
    expect(page.locator(".campaign--upcoming")).to_contain_text("Buchbar ab")
    expect(page.locator("footer")).to_contain_text("0800 116 117 02")
    check(page, "start page", "start")

    page.get_by_role("link", name="Termin buchen").click()
    expect(heading(page)).to_have_text("Können Sie schon buchen?")
    expect(heading(page)).to_be_focused()
    check(page, "eligibility form")
    page.get_by_role("button", name="Prüfen").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary")).to_contain_text("Postleitzahl")
    expect(page.locator("#postal-code")).to_have_attribute("aria-invalid", "true")
    check(page, "eligibility form with errors", "eligibility-form-errors")
    page.locator(".error-summary a").first.click()
    expect(page.locator("#postal-code")).to_be_focused()

    check_eligibility(page, person)
    expect(heading(page)).to_have_text("Sie können jetzt buchen")
    check(page, "eligible, choose a centre", "eligibility")

    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(heading(page)).to_have_text("Wählen Sie einen Tag")
    check(page, "days", "days")

    page.locator("main .choice").first.click()
    expect(heading(page)).to_contain_text("Uhrzeit wählen")
    first_slot = page.locator("main .slot").first
    expect(first_slot).to_contain_text("1. Impfung")
    expect(first_slot).to_contain_text("2. Impfung")
    slot = booking_api.days()[0]["slots"][0]
    berlin = lambda iso: f"{int(iso[11:13])}:{iso[14:16]} Uhr"  # noqa: E731 - the API gives Berlin local times
    expect(first_slot).to_contain_text(berlin(slot["start"]))
    expect(first_slot).to_contain_text(berlin(slot["second_dose"]["start"]))
    check(page, "times of a day", "slots")
    first_slot.click()

    expect(heading(page)).to_have_text("Ihre Angaben")
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator(".error-summary li")).to_have_count(3)
    check(page, "details form with errors", "form-errors")
    fill_details(page, person)
    check(page, "details form filled", "form")

    held = HeldPolls(page)
    with page.expect_request(lambda r: r.url.endswith("/v1/booking-requests") and r.method == "POST") as sent:
        page.get_by_role("button", name="Buchung absenden").click()
    headers = sent.value.headers
    assert UUID.match(headers["idempotency-key"]), headers
    assert headers["accept-language"] == "de"
    assert sent.value.post_data_json["person"]["birth_date"] == person.birth_date

    expect(heading(page)).to_have_text("Ihre Anfrage ist angekommen")
    expect(page.locator("main")).to_contain_text("sicher in der Warteschlange")
    expect(page.locator("main")).to_contain_text("Sie können diese Seite schließen")
    expect(page.locator("main")).to_contain_text(person.email)
    check(page, "waiting for the queue", "waiting")
    held.release()

    expect(heading(page)).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    expect(page.locator("#announcer")).to_have_text("Ihre Termine sind gebucht.")
    code = page.locator("#booking-code").inner_text()
    assert CODE.match(code), code
    main = page.locator("main")
    expect(main).to_contain_text("Impfzentrum Dortmund")
    expect(main).to_contain_text("Rheinlanddamm")
    for thing in ("Personalausweis", "Krankenversicherungskarte", "Impfausweis"):
        expect(main).to_contain_text(thing)
    check(page, "booked", "booked")

    booking = booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)
    assert booking["status"] == "active"
    assert booking["person"]["family_name"] == "Mustermann"

    page.get_by_role("button", name="Code kopieren").click()
    expect(main).to_contain_text("Der Buchungscode ist kopiert.")
    assert page.evaluate("navigator.clipboard.readText()") == code

    # The calendar is fetched by POST: the birth date is in no URL the browser or a proxy could keep.
    with page.expect_request(lambda r: r.url.endswith("/calendar.ics")) as sent, page.expect_download() as download:
        page.get_by_role("button", name="In meinen Kalender eintragen").click()
    assert sent.value.method == "POST" and person.birth_date not in sent.value.url
    assert download.value.suggested_filename == "impftermine.ics"
    ics = Path(download.value.path()).read_text()
    assert ics.count("BEGIN:VEVENT") == 2

    page.reload()  # the waiting/result page can be closed and reopened: it asks the API again
    expect(heading(page)).to_have_text("Ihre Termine sind gebucht")
    expect(page.locator("#booking-code")).to_have_text(code)

    page.emulate_media(media="print")
    expect(page.locator("#booking-code")).to_be_visible()
    expect(page.get_by_role("button", name="Code kopieren")).to_be_hidden()
    expect(page.locator("header")).to_be_hidden()


def test_an_english_speaking_browser_gets_the_site_in_english_and_can_book_and_switch_to_german(
    open_site, booking_api: Api
):
    person = Person("Walter", "Example", "1935-11-20", postal_code="50667")
    page = open_site("/", locale="en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading(page)).to_have_text("Book your COVID-19 vaccination")
    expect(page.locator(".campaign--open")).to_contain_text("born in 1940 or earlier")
    check(page, "start page in English", "start-en")

    page.get_by_role("link", name="Book an appointment").click()
    check_eligibility(page, person, check_button="Check")
    expect(heading(page)).to_have_text("You can book now")
    page.get_by_role("button", name=re.compile("Köln")).click()
    expect(heading(page)).to_have_text("Choose a day")
    page.locator("main .choice").first.click()
    expect(heading(page)).to_contain_text("Choose a time")
    expect(page.locator("main .slot").first).to_contain_text("1st dose")
    page.locator("main .slot").first.click()
    expect(heading(page)).to_have_text("Your details")
    fill_details(page, person)
    with page.expect_request(lambda r: r.url.endswith("/v1/booking-requests") and r.method == "POST") as sent:
        page.get_by_role("button", name="Send booking").click()
    assert sent.value.headers["accept-language"] == "en"
    assert sent.value.post_data_json["language"] == "en"

    expect(heading(page)).to_have_text("Your appointments are booked", timeout=30000)
    expect(page.locator("main")).to_contain_text("health insurance card")
    check(page, "booked in English", "booked-en")

    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(heading(page)).to_have_text("Ihre Termine sind gebucht")
    assert "lang=de" in page.url
    expect(page.get_by_role("button", name="English")).to_have_attribute("lang", "en")


def test_a_slot_taken_between_viewing_and_booking_offers_alternatives_and_one_click_books_one(
    open_site, booking_api: Api
):
    person = Person("Gertrud", "Beispiel", "1938-02-14")
    page = open_site("/#/book")
    check_eligibility(page, person)
    choose_slot(page, day=2, slot=-1)
    fill_details(page, person)

    # Meanwhile other people book every remaining place of that slot (through the API and the queue).
    slot = booking_api.days()[2]["slots"][-1]
    requests = [
        booking_api.request_booking(Person("Platz", f"Halter{n}", f"1930-01-{n + 1:02d}"), slot["slot_id"])
        for n in range(booking_api.seats_left(slot["slot_id"]))
    ]
    for accepted in requests:
        assert booking_api.wait_for_outcome(accepted["request_id"])["status"] == "booked"

    page.get_by_role("button", name="Buchung absenden").click()
    expect(heading(page)).to_have_text("Diese Termine konnten wir nicht buchen", timeout=30000)
    expect(page.locator("main")).to_contain_text("kurz vor Ihnen")
    alternatives = page.locator("main .slot")
    expect(alternatives.first).to_be_visible()
    check(page, "rejected with alternatives", "rejected")

    alternative_text = alternatives.first.inner_text()
    alternatives.first.click()
    expect(heading(page)).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    first_line = alternative_text.splitlines()[0].split(": ", 1)[1]
    expect(page.locator("main .appointments")).to_contain_text(first_line.split(", ")[-1])
    code = page.locator("#booking-code").inner_text()
    booking = booking_api.get(f"/v1/bookings/{code}", birth_date=person.birth_date)
    assert booking["first"]["slot_id"] != slot["slot_id"]


def test_someone_too_young_is_told_plainly_when_booking_opens_and_someone_outside_nrw_why_not(open_site, booking_api):
    upcoming = next(c for c in booking_api.get("/v1/campaigns")["campaigns"] if c["status"] == "upcoming")
    page = open_site("/#/book")
    check_eligibility(page, Person("Kurt", "Jünger", "1941-06-01"))
    expect(heading(page)).to_have_text("Sie können im Moment noch nicht buchen")
    opens_day = str(int(upcoming["opens_at"][8:10]))
    expect(page.locator("main .notice")).to_contain_text(re.compile(rf"Sie können ab \w+, {opens_day}\. "))
    check(page, "not eligible yet", "not-eligible")

    page.get_by_role("link", name="Angaben ändern").click()
    page.locator("#postal-code").fill("10115")
    page.locator("#birth-year").fill("1930")
    page.get_by_role("button", name="Prüfen").click()
    expect(heading(page)).to_have_text("Sie können im Moment noch nicht buchen")
    expect(page.locator("main .notice")).to_contain_text("Postleitzahl 10115")


def test_a_field_the_api_rejects_is_marked_inline_in_plain_words_and_linked_from_the_summary(open_site):
    person = Person("Friedrich", "Langname", "1937-08-08")
    page = open_site("/#/book")
    check_eligibility(page, person)
    choose_slot(page)
    fill_details(page, person)
    page.locator("#given-name").fill("Friedrich" * 12)  # 108 characters: only the API knows the limit
    page.get_by_role("button", name="Buchung absenden").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("höchstens 100 Zeichen")
    expect(page.locator("#given-name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#given-name-error")).to_contain_text("höchstens 100 Zeichen")
    expect(page).to_have_title(re.compile("^Fehler: "))
    check(page, "details form with an error from the API")
    summary.get_by_role("link").click()
    expect(page.locator("#given-name")).to_be_focused()
