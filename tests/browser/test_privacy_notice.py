"""The privacy notice (GDPR Art. 13): linked from every page's footer, in German, English and Leichte Sprache,
accessible (axe), and the look-up keeps the birth date out of every URL the browser requests."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import (
    Api,
    Person,
    assert_easy_read_sentences_short,
    assert_no_horizontal_scroll,
    assert_targets_large_enough,
    check,
)


def heading(page: Page):
    return page.locator("main h1")


def test_every_page_links_the_privacy_notice_which_says_who_what_why_how_long_and_the_rights(open_site):
    page = open_site("/")
    for route in ("#/book", "#/booking", "#/easy-read", "#/"):
        page.goto(page.url.split("#")[0] + route)
        expect(page.locator("footer").get_by_role("link", name="Datenschutz")).to_be_visible()
    page.locator("footer").get_by_role("link", name="Datenschutz").click()
    expect(heading(page)).to_have_text("Datenschutz: Was wir speichern und warum")
    main = page.locator("main")
    for said in (
        "Wer ist verantwortlich?",
        "Geburtsdatum",
        "Art. 9 DSGVO",
        "90 Tage nach Ihrem letzten Termin",
        "keine Cookies",
        "Art. 15 DSGVO",
        "Art. 17 DSGVO",
        "Beschwerde",
        "0800 116 117 02",
    ):
        expect(main).to_contain_text(said)
    assert_no_horizontal_scroll(page, "privacy notice")
    assert_targets_large_enough(page, "privacy notice")
    check(page, "privacy notice", "privacy")


def test_the_privacy_notice_in_leichte_sprache_uses_short_sentences(open_site):
    page = open_site("/#/privacy")
    page.get_by_role("link", name=re.compile("Leichter Sprache")).click()
    expect(heading(page)).to_contain_text("Leichter Sprache")
    expect(page.locator("main")).to_contain_text("90 Tage")
    assert_easy_read_sentences_short(page)
    check(page, "privacy notice in Leichte Sprache", "privacy-easy-read")


def test_the_privacy_notice_in_english_and_in_easy_read(open_site):
    page = open_site("/", locale="en-GB")
    page.locator("footer").get_by_role("link", name="Privacy").click()
    expect(heading(page)).to_have_text("Privacy: what we store and why")
    expect(page.locator("main")).to_contain_text("90 days after your last appointment")
    check(page, "privacy notice in English")
    page.get_by_role("link", name=re.compile("Easy Read")).click()
    expect(heading(page)).to_contain_text("Easy Read")
    check(page, "privacy notice in Easy Read")


def test_looking_up_a_booking_sends_the_birth_date_in_no_url(open_site, booking_api: Api):
    person = Person("Ida", "Ohneurl", "1934-06-07")
    booking = booking_api.book(person, booking_api.days()[2]["slots"][0]["slot_id"])
    page = open_site("/#/booking")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    day, month, year = person.birth_parts
    page.locator("#booking-code-input").fill(booking["code"])
    page.locator("#lookup-birth-day").fill(day)
    page.locator("#lookup-birth-month").fill(month)
    page.locator("#lookup-birth-year").fill(year)
    page.get_by_role("button", name="Buchung anzeigen").click()
    expect(heading(page)).to_have_text("Ihre Buchung")
    with page.expect_download():
        page.get_by_role("button", name="In meinen Kalender eintragen").click()
    assert any(u.endswith(f"/v1/bookings/{booking['code']}/lookup") for u in urls), urls
    assert not [u for u in urls if person.birth_date in u or "birth_date" in u], urls


def test_the_link_in_the_mail_opens_the_look_up_with_the_code_filled_in_and_asks_for_the_birth_date(open_site):
    page = open_site("/#/booking?code=ABCD-EFGH-JK")
    expect(heading(page)).to_have_text("Meine Buchung ansehen oder absagen")
    expect(page.locator("#booking-code-input")).to_have_value("ABCD-EFGH-JK")
    expect(page.locator("#lookup-birth-day")).to_have_value("")
