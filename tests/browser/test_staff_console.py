"""The hotline console in chromium: sign in with a local token, book for a caller without e-mail from the
keyboard, read the booking out, print the confirmation; see that a caller's confirmation mail went out; a centre's
desk checks people in and marks a no-show; axe finds nothing on any state. And the citizen site names the hotline
of the chosen centre's region."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from infra.local.token import local_staff_token
from tests.browser.support import (
    SCREENSHOTS,
    Api,
    Person,
    assert_accessible,
    assert_focus_visible,
    check_eligibility,
    choose_slot,
    screenshot,
)
from tests.browser.test_rebook_site import book_in, horizon_campaign
from tests.e2e.test_staff_routes import booked_today


@pytest.fixture()
def console(browser, site_url):
    """The console at desk size, with window.print recorded instead of opening a dialog."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    context.set_default_timeout(20000)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
    page.goto(site_url + "/staff/")
    page.wait_for_selector("html[data-ready]")
    yield page
    context.close()
    assert not errors, f"script errors in the console: {errors}"


def sign_in(page, user: str = "agent-browser") -> None:
    page.locator("#token").fill(local_staff_token(user, "hotline"))
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_have_text(f"Angemeldet: {user}")


def test_an_agent_books_a_caller_without_email_from_the_keyboard_and_prints_the_confirmation(console):
    page = console
    assert_accessible(page, "console: sign-in")
    sign_in(page)
    assert_accessible(page, "console: signed in")
    expect(page.locator("nav")).to_contain_text("Alt+2")  # the shortcuts are on screen

    family = f"Telefon{uuid.uuid4().hex[:6]}"
    page.keyboard.press("Alt+2")
    expect(page.locator("#book-postal")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("44141")
    page.keyboard.press("Tab")
    page.keyboard.type("01.05.1940")
    page.keyboard.press("Tab")
    expect(page.locator("#book-check")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#book-center")).to_be_focused()
    page.locator("#book-center").select_option("dortmund")
    expect(page.locator("#book-pair")).to_be_focused()
    page.locator("#book-pair").select_option(index=1)
    page.keyboard.press("Tab")
    expect(page.locator("#book-given")).to_be_focused()
    page.keyboard.type("Erika")
    page.keyboard.press("Tab")
    page.keyboard.type(family)
    page.keyboard.press("Tab")
    page.keyboard.type("0231 765432")
    page.keyboard.press("Tab")
    page.keyboard.type("Hauptstraße 7")
    page.keyboard.press("Enter")
    page.keyboard.type("44141 Dortmund")
    assert_accessible(page, "console: booking form filled")
    page.keyboard.press("Tab")  # e-mail: left empty
    page.keyboard.press("Tab")
    expect(page.locator("#book-submit")).to_be_focused()
    page.keyboard.press("Enter")

    card = page.locator("#book-result .booking")
    expect(card).to_contain_text("nur per Post (keine E-Mail)", timeout=90000)
    found = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{2}", card.locator("h3").inner_text())
    assert found, "a booking code on the card"
    code = found.group(0)
    expect(card.locator("h3")).to_be_focused()
    expect(card).to_contain_text("2. Impfung")
    expect(card).to_contain_text("0800 116 117 02")  # Westfalen-Lippe's hotline
    expect(page.locator("#status")).to_contain_text(f"Gebucht: {code}")
    assert_accessible(page, "console: booked")
    screenshot(page, "staff-booked")

    page.keyboard.press("Alt+4")
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    letter = page.locator("#letter")
    expect(letter).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()
    for text in (
        code,
        "1. Impfung",
        "2. Impfung",
        "Rheinlanddamm 200, 44139 Dortmund",
        "Bitte bringen Sie mit",
        "Personalausweis",
        "Hauptstraße 7",
        "44141 Dortmund",
        "0800 116 117 02",
    ):
        expect(letter).to_contain_text(text)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "staff-print.png"), full_page=True)
    page.emulate_media(media="screen")

    # The same caller found by name, then cancelled by the agent.
    page.keyboard.press("Alt+1")
    page.locator("#find-given").fill("ERIKA")
    page.locator("#find-family").fill(family)
    page.locator("#find-birth").fill("1.5.1940")
    page.locator("#find-postal").fill("44141")
    page.locator("#find-postal").press("Enter")
    found = page.locator("#find-results .booking")
    expect(found).to_have_count(1)
    expect(found.locator("h3")).to_have_text(f"Buchung {code}")
    assert_accessible(page, "console: caller found")
    page.once("dialog", lambda dialog: dialog.accept())
    found.get_by_role("button", name="Stornieren").click()
    expect(page.locator("#find-results .booking h3")).to_have_text(f"Storniert: {code}")


def test_an_unknown_code_says_nothing_was_found(console):
    sign_in(console)
    console.locator("#find-code").fill("AAAA-BBBB-CC")
    console.locator("#find-code-birth").fill("01.05.1940")
    console.locator("#find-code-birth").press("Enter")
    expect(console.locator("#find-results")).to_contain_text("Keine aktive Buchung gefunden")
    assert_accessible(console, "console: nothing found")


def test_an_agent_sees_that_a_callers_confirmation_mail_went_out_and_when(console, booking_api: Api, stack):
    person = Person("Mia", f"Spam{uuid.uuid4().hex[:6]}", "1938-04-04")
    code = booking_api.book(person, booking_api.days()[1]["slots"][0]["slot_id"])["code"]
    stack.wait_for_idle_queues()  # the worker sent the confirmation right after booking
    sign_in(console)
    console.locator("#find-code").fill(code)
    console.locator("#find-code-birth").fill("04.04.1938")
    console.locator("#find-code-birth").press("Enter")
    mail = console.locator("#find-results .booking section.mail")
    expect(mail.get_by_role("heading")).to_have_text("E-Mail-Versand")
    expect(mail).to_contain_text(
        re.compile(r"Buchungsbestätigung\s*Versendet am \w+, \d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr")
    )
    expect(mail).to_contain_text("Spam-Ordner")
    expect(mail).not_to_contain_text("Gesperrt")
    assert_accessible(console, "console: mail sent")
    screenshot(console, "staff-mail-sent")

    # The address was mistyped: the agent corrects it from the keyboard; a wrong one is said plainly first.
    form = console.get_by_role("group", name="E-Mail-Adresse korrigieren")
    form.get_by_label("Neue E-Mail-Adresse (vollständig)").fill("mia.neu@example")
    form.get_by_label("Neue E-Mail-Adresse (vollständig)").press("Enter")
    expect(form.locator(".form-error")).to_contain_text("Diese E-Mail-Adresse ist ungültig")
    expect(form.get_by_label("Neue E-Mail-Adresse (vollständig)")).to_be_focused()
    assert_accessible(console, "console: contact error")
    console.keyboard.type(".org")
    console.keyboard.press("Enter")
    expect(console.locator("#status")).to_contain_text("Kontaktdaten gespeichert. Buchungsbestätigung:")
    stack.wait_for_idle_queues()
    assert [m["destinations"] for m in stack.sent_mail() if code in m["raw_data"]][-1:] == [["mia.neu@example.org"]]
    assert_accessible(console, "console: contact corrected")


def test_the_citizen_site_names_the_hotline_of_the_chosen_centres_region(open_site):
    page = open_site("/#/book")
    check_eligibility(page, Person("Karl", "Rhein", "1939-03-03", postal_code="50679"))
    choose_slot(page, center="Impfzentrum Köln")
    expect(page.locator("footer")).to_contain_text("0800 116 117 01")  # Nordrhein, not Westfalen-Lippe's 02


def test_centre_staff_check_people_in_by_code_from_the_keyboard_and_mark_a_no_show(console):
    _, first, _, (came, missed) = booked_today(("Kommt", "Fehlt"))
    page = console
    page.locator("#token").fill(local_staff_token("dora-browser", "center_staff:dortmund"))
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_have_text("Angemeldet: dora-browser")
    expect(page.locator("#find")).to_be_hidden()  # no hotline tasks for a centre's desk
    expect(page.locator("#status")).to_contain_text("Tagesliste geladen")  # today's, at once
    expect(page.locator("nav")).to_contain_text("Alt+5")
    # The booking began an hour ago: after midnight that is yesterday's list, so the day is typed in.
    page.keyboard.press("Alt+5")
    expect(page.locator("#day-center")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(first.start.strftime("%d.%m.%Y"))
    page.keyboard.press("Enter")
    came_row, missed_row = page.locator(f"#line-{came}-1"), page.locator(f"#line-{missed}-1")
    expect(came_row).to_contain_text("offen")
    expect(page.locator("#checkin-code")).to_be_focused()
    assert_accessible(page, "console: day list")

    page.keyboard.type(came.lower().replace("-", ""))  # as a desk types it
    page.keyboard.press("Enter")
    expect(came_row).to_contain_text("eingecheckt")
    expect(page.locator("#status")).to_contain_text(f"{came}): eingecheckt")
    expect(page.locator("#checkin-code")).to_be_focused()  # ready for the next person

    missed_row.get_by_role("button", name=re.compile("^Nicht erschienen: Fehlt")).focus()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(missed_row).to_contain_text("nicht erschienen")
    expect(missed_row).to_contain_text("2. Termin freigegeben")  # the missed first dose gave the second back
    # A dose given stays given: its row offers only to take back today's mark (a wrong row clicked).
    expect(came_row.get_by_role("button")).to_have_text(["Zurücknehmen"])
    assert_accessible(page, "console: checked in and no-show")
    screenshot(page, "staff-day-list")

    missed_row.get_by_role("button", name=re.compile("^Zurücknehmen: Fehlt")).click()  # a mark of today
    expect(missed_row).to_contain_text("offen")
    expect(missed_row).not_to_contain_text("freigegeben")  # the second seat taken again


def test_when_the_first_four_weeks_are_full_the_agent_pages_on_and_books_the_later_pair(console, booking_api: Api):
    born = "1943-06-30"  # a cohort only this test is born in
    campaign_id, starts = horizon_campaign(booking_api, born)
    book_in(booking_api, campaign_id, Person("Frueh", f"Anrufer{uuid.uuid4().hex[:6]}", born), starts[0])
    page = console
    sign_in(page)
    page.keyboard.press("Alt+2")
    page.locator("#book-postal").fill("44141")
    page.locator("#book-birth").fill("30.06.1943")
    page.locator("#book-check").click()
    page.locator("#book-center").select_option("dortmund")
    # The first page is full: the list shows the next free pair, and says up to when all is taken.
    expect(page.locator("#book-pair")).to_be_focused()
    expect(page.locator("#book-pair option")).to_have_count(2)
    expect(page.locator("#book-range")).to_contain_text("ist alles vergeben")
    expect(page.locator("#book-earlier")).to_be_hidden()
    # The last page (days 56–59) is full; "earlier" leads back to the pair.
    page.locator("#book-later").click()
    expect(page.locator("#status")).to_contain_text("alles vergeben")
    expect(page.locator("#book-earlier")).to_be_focused()
    assert_accessible(page, "console: a later page, all taken")
    page.keyboard.press("Enter")
    expect(page.locator("#book-pair")).to_be_focused()
    page.locator("#book-pair").select_option(index=1)
    page.locator("#book-given").fill("Paula")
    page.locator("#book-family").fill(f"Spaet{uuid.uuid4().hex[:6]}")
    page.locator("#book-phone").fill("0231 123456")
    page.locator("#book-submit").click()
    card = page.locator("#book-result .booking")
    expect(card).to_contain_text("nur per Post (keine E-Mail)", timeout=90000)
    expect(card).to_contain_text(starts[2].strftime("%d.%m.%Y"))  # the later pair's first dose
