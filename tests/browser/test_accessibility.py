"""Keyboard only, small screens, 200 % zoom, type size, target size, easy-read page, and page weight."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import (
    Api,
    Person,
    assert_easy_read_sentences_short,
    assert_focus_visible,
    assert_no_horizontal_scroll,
    assert_targets_large_enough,
    check,
    check_eligibility,
    tab_to,
)

MAX_FIRST_LOAD_BYTES = 150 * 1024


def heading(page: Page):
    return page.locator("main h1")


def test_the_whole_booking_works_with_the_keyboard_alone_and_focus_is_always_visible(open_site, booking_api: Api):
    person = Person("Margarete", "Tastatur", "1939-07-07", postal_code="48143")
    page = open_site("/")
    keys = page.keyboard

    tab_to(page, text="Zum Inhalt springen")
    expect(page.locator(".skip-link")).to_be_in_viewport()
    tab_to(page, text="Termin buchen", css="a.button")
    keys.press("Enter")
    expect(heading(page)).to_be_focused()

    tab_to(page, css="#postal-code")
    keys.type(person.postal_code)
    day, month, year = person.birth_parts
    for part, value in (("day", day), ("month", month), ("year", year)):
        tab_to(page, css=f"#birth-{part}")
        keys.type(value)
    tab_to(page, text="Prüfen")
    keys.press("Enter")
    expect(heading(page)).to_have_text("Sie können jetzt buchen")

    tab_to(page, text="Impfzentrum Münster")
    keys.press("Space")
    expect(heading(page)).to_have_text("Wählen Sie einen Tag")
    tab_to(page, css="button.choice")
    keys.press("Enter")
    expect(heading(page)).to_contain_text("Uhrzeit wählen")
    tab_to(page, css="button.slot")
    keys.press("Space")
    expect(heading(page)).to_have_text("Ihre Angaben")

    for css, value in (
        ("#given-name", person.given_name),
        ("#family-name", person.family_name),
        ("#email", person.email),
    ):
        tab_to(page, css=css)
        keys.type(value)
    tab_to(page, css="#flexible")
    keys.press("Space")
    expect(page.locator("#flexible")).to_be_checked()
    tab_to(page, text="Buchung absenden")
    keys.press("Enter")

    expect(heading(page)).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    expect(heading(page)).to_be_focused()
    tab_to(page, text="Code kopieren")
    tab_to(page, text="In meinen Kalender eintragen")
    tab_to(page, text="Seite drucken")
    tab_to(page, text="English")
    keys.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_focus_visible(page)


def walk_to_the_details_form(page: Page, person: Person, state_check) -> None:
    state_check("start page")
    page.get_by_role("link", name="Termin buchen").click()
    state_check("eligibility form")
    check_eligibility(page, person)
    expect(heading(page)).to_have_text("Sie können jetzt buchen")
    state_check("eligibility answer")
    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(heading(page)).to_have_text("Wählen Sie einen Tag")
    state_check("days")
    page.locator("main .choice").first.click()
    expect(heading(page)).to_contain_text("Uhrzeit wählen")
    state_check("times")
    page.locator("main .slot").first.click()
    expect(heading(page)).to_have_text("Ihre Angaben")
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator(".error-summary")).to_be_visible()
    state_check("details with errors")


def test_at_320_pixels_wide_nothing_scrolls_sideways_and_every_target_is_at_least_44_pixels(
    open_site, booking_api: Api
):
    page = open_site("/", width=320, height=640)

    def fits(state: str) -> None:
        expect(heading(page)).to_be_visible()
        assert_no_horizontal_scroll(page, state)
        assert_targets_large_enough(page, state)

    walk_to_the_details_form(page, Person("Anna", "Schmal", "1931-01-31"), fits)

    person = Person("Bruno", "Schmal", "1931-02-28")
    booking = booking_api.book(person, booking_api.days()[3]["slots"][0]["slot_id"])
    page.goto(page.url.split("#")[0] + "#/booking")
    day, month, year = person.birth_parts
    page.locator("#booking-code-input").fill(booking["code"])
    page.locator("#lookup-birth-day").fill(day)
    page.locator("#lookup-birth-month").fill(month)
    page.locator("#lookup-birth-year").fill(year)
    page.get_by_role("button", name="Buchung anzeigen").click()
    expect(heading(page)).to_have_text("Ihre Buchung")
    fits("booking with its code")
    page.goto(page.url.split("#")[0] + "#/easy-read")
    fits("easy-read page")


def test_at_200_percent_zoom_and_with_200_percent_text_the_pages_still_fit(open_site):
    # A 1280 x 800 window at 200 % browser zoom lays out like a 640 x 400 viewport with 2 device pixels per px.
    page = open_site("/", width=640, height=400, scale=2)

    def fits(state: str) -> None:
        assert_no_horizontal_scroll(page, f"{state} at 200 % zoom")
        assert_targets_large_enough(page, f"{state} at 200 % zoom")

    walk_to_the_details_form(page, Person("Clara", "Gross", "1933-03-03"), fits)

    # Text-only zoom (the browser's font size setting at 200 %) on a small phone.
    page = open_site("/", width=360, height=740)
    # Set through the CSSOM: the site's CSP (style-src 'self') blocks an injected <style>, as it should.
    page.evaluate("() => document.documentElement.style.setProperty('font-size', '200%', 'important')")

    walk_to_the_details_form(
        page,
        Person("Dora", "Gross", "1933-04-04"),
        lambda state: assert_no_horizontal_scroll(page, f"{state} with 200 % text"),
    )


def test_body_text_is_at_least_18_pixels_and_the_start_page_uses_no_cookies(open_site):
    page = open_site("/")
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('main p, main li, main label, main button, main a, main input, main dd')]
              .filter((el) => el.offsetParent !== null && el.textContent.trim())
              .map((el) => parseFloat(getComputedStyle(el).fontSize))"""
    )
    assert min(sizes) >= 18, sizes
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []


def test_the_easy_read_page_explains_the_process_in_short_sentences(open_site):
    page = open_site("/")
    page.get_by_role("link", name=re.compile("Leichter Sprache")).click()
    expect(heading(page)).to_contain_text("Leichter Sprache")
    expect(page.locator("main")).to_contain_text("0800 116 117 02")
    assert_easy_read_sentences_short(page)
    check(page, "easy-read page", "easy-read")


def test_the_first_load_of_the_start_page_transfers_at_most_150_kb(browser, site_url, capsys):
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    transferred: dict[str, float] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: transferred.__setitem__(e["requestId"], e["encodedDataLength"]))
    try:
        page.goto(site_url + "/", wait_until="networkidle")
        expect(page.locator(".campaign").first).to_be_visible()
        total = sum(transferred.values())
        with capsys.disabled():
            print(
                f"\nstart page first load: {total / 1024:.1f} KB transferred in {len(transferred)} requests "
                f"(limit {MAX_FIRST_LOAD_BYTES // 1024} KB)"
            )
            for request_id, size in sorted(transferred.items(), key=lambda item: -item[1]):
                print(f"  {size / 1024:6.1f} KB  {urls.get(request_id, '?').replace(site_url, '')}")
        assert total <= MAX_FIRST_LOAD_BYTES, f"{total} bytes"
    finally:
        context.close()
