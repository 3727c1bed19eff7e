"""The waiting room in the browser: queued before opening, the place kept across a reload, let in at opening,
then booked with the admission (German; axe finds no violation on the waiting page)."""

from __future__ import annotations

import re
import uuid
from datetime import date

from playwright.sync_api import expect

from tests.browser.support import Person, check, check_eligibility, fill_details

# A cohort of one birth date that no other test uses, so this campaign changes no other test's answers.
BORN_ON = date(1938, 3, 3)


def choose_dortmund_in(page, campaign_id: str) -> None:
    # A person of this cohort may also book the ordinary 80+ campaign: choose the centre of this campaign.
    page.locator(f"section[aria-labelledby='campaign-{campaign_id}']").get_by_role(
        "button", name=re.compile("Dortmund")
    ).click()


def test_a_visitor_waits_keeps_the_place_on_reload_is_let_in_and_books(stack, open_site):
    from chalicelib import bootstrap
    from chalicelib.waitingroom.dynamo import DynamoRoomStore
    from infra.local.seed_rush import seed_rush

    bootstrap.waiting_room_service()  # binds the room's models to the stack's table
    campaign_id = f"rush-browser-{uuid.uuid4().hex[:6]}"
    seed_rush(
        stack.catalog,
        DynamoRoomStore(),
        date.today(),
        None,
        opens_in_s=25,
        admitted_per_minute=600,
        campaign_id=campaign_id,
        born_on=BORN_ON,
    )
    person = Person("Wilma", f"Warte{uuid.uuid4().hex[:4]}", BORN_ON.isoformat())

    page = open_site("/#/book")
    check_eligibility(page, person)
    choose_dortmund_in(page, campaign_id)
    expect(page.locator("main h1")).to_have_text("Warteraum")
    expect(page.locator("#waiting-position")).to_contain_text("ausgelost")
    expect(page).to_have_url(re.compile(rf"#/book/wait/{campaign_id}/[A-Za-z0-9_-]+$"))
    check(page, "waiting room before opening")
    address = page.url

    page.reload()
    page.wait_for_selector("html[data-ready]")
    assert page.url == address  # the same place, not a new entry
    expect(page.locator("#waiting-position")).to_have_text(
        "Sie sind an der Reihe. Sie können jetzt einen Termin buchen.", timeout=60000
    )
    check(page, "waiting room, admitted")

    page.get_by_role("link", name="Weiter zur Buchung").click()  # after the reload: the check comes again
    check_eligibility(page, person)
    choose_dortmund_in(page, campaign_id)  # admitted already: straight on to the days
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")
    page.locator("main .choice").nth(0).click()
    page.locator("main .slot").nth(0).click()
    fill_details(page, person)
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator("main h1")).to_contain_text(re.compile("gebucht|angekommen"), timeout=60000)
