"""The hotline console after a centre-day cancel, in chromium: an agent finds a caller without e-mail whose day was
cancelled, reads out the pair held for them, prints their letter from the operation's list, marks the caller reached,
takes the mark back from the keyboard and marks it again (then only open letters are listed: none), accepts the pair
for them and rebooks them from the console; axe finds nothing on these states."""

from __future__ import annotations

import uuid
from datetime import date

from playwright.sync_api import expect

from infra.local.token import local_staff_token
from tests.browser.support import Api, assert_accessible
from tests.browser.test_staff_console import console, sign_in  # noqa: F401 - the fixture
from tests.e2e.test_booking_invariants import request_body
from tests.e2e.test_rebook import at, new_campaign

BORN = date(1932, 3, 4)  # a cohort of its own: no other test's person sees this campaign


def test_an_agent_reads_out_the_held_pair_prints_the_letter_and_accepts_the_pair_for_the_caller(
    console,  # noqa: F811
    booking_api: Api,
    stack,
):
    first, second, spare, spare_second = at(0, 11), at(21, 11), at(4, 11), at(25, 11)
    campaign_id, ids = new_campaign(stack, {first: 1, second: 1, spare: 1, spare_second: 1}, born=BORN)
    family = f"Brief{uuid.uuid4().hex[:6]}"
    body = request_body(campaign_id, ids[first], family, birth_date=BORN.isoformat())
    del body["person"]["email"]
    body["person"].update(phone="0231 555555", postal_address="Lindenweg 3\n44141 Dortmund")
    api = booking_api.http
    accepted = api.post(
        f"{booking_api.base_url}/v1/staff/booking-requests",
        json=body,
        headers={"Authorization": local_staff_token("hans-held", "hotline")},
        timeout=30,
    )
    code = booking_api.wait_for_outcome(accepted.json()["request_id"])["booking"]["code"]
    operation = api.post(
        f"{booking_api.base_url}/v1/staff/campaigns/{campaign_id}/centre-day-operations",
        json={"center_id": "dortmund", "from": first.date().isoformat()},
        headers={"Authorization": local_staff_token("olga-held", "ops"), "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    ).json()
    assert operation["cancelled"] == 1, operation

    page = console
    sign_in(page, "agent-held")
    page.locator("#find-code").fill(code)
    page.locator("#find-code-birth").fill(BORN.strftime("%d.%m.%Y"))
    page.keyboard.press("Enter")
    card = page.locator("#find-results .booking")
    expect(card).to_contain_text("Für den Anrufer freigehalten bis")
    expect(card.get_by_role("button", name="Andere Termine wählen")).to_be_visible()
    assert_accessible(page, "console: a held pair")

    # The operation's letters: the caller has no e-mail, so they are on the list with their address.
    page.keyboard.press("Alt+6")
    expect(page.locator("#letters-operation")).to_be_focused()
    page.keyboard.type(f"/v1/staff/operations/{operation['operation_id']}")  # the poll URL, pasted as ops gave it
    page.keyboard.press("Enter")
    table = page.locator("#letters-results table")
    expect(table).to_contain_text(code)
    expect(table).to_contain_text("Lindenweg 3")
    expect(table).to_contain_text("Abgesagt, freigehalten bis")
    assert_accessible(page, "console: letters")
    page.get_by_role("button", name="Alle 1 Briefe drucken").click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    for text in ("Lindenweg 3", "Ihre Impftermine wurden abgesagt", "Wir halten neue Termine für Sie frei bis", code):
        expect(page.locator("#letter")).to_contain_text(text)
    page.emulate_media(media="screen")

    # Reached by phone: marked, counted, and left out once only the open ones are listed.
    table.get_by_role("button", name=f"Erreicht: {family}, Erika").click()
    marked = table.locator("td.letter-mark")
    expect(marked).to_contain_text("Erreicht (agent-held")
    expect(marked).to_be_focused()
    expect(table.locator("caption")).to_contain_text("1 Briefe: 0 offen, 1 erledigt.")
    assert_accessible(page, "console: a marked letter")
    # The wrong line: the mark is taken back from the keyboard, the line is open again; then marked once more.
    page.keyboard.press("Tab")
    expect(table.get_by_role("button", name=f"Zurücknehmen: Erreicht, {family}, Erika")).to_be_focused()
    page.keyboard.press("Enter")
    expect(table.get_by_role("button", name=f"Brief verschickt: {family}, Erika")).to_be_focused()
    expect(table.locator("caption")).to_contain_text("1 Briefe: 1 offen, 0 erledigt.")
    expect(page.locator("#status")).to_contain_text("Erreicht zurückgenommen, wieder offen.")
    table.get_by_role("button", name=f"Erreicht: {family}, Erika").click()
    expect(marked).to_contain_text("Erreicht (agent-held")
    expect(table.locator("caption")).to_contain_text("1 Briefe: 0 offen, 1 erledigt.")
    page.locator("#letters-open-only").check()
    page.locator("#letters-form").get_by_role("button", name="Briefliste laden").click()
    expect(page.locator("#letters-results")).to_contain_text("Keine offenen Briefe: 1 erledigt.")

    card.get_by_role("button", name="Freigehaltene Termine übernehmen").click()
    active = page.locator("#find-results .booking")
    expect(active.locator("h3")).to_have_text(f"Buchung {code}")
    expect(active.locator("h3")).to_be_focused()
    kept = booking_api.get(f"/v1/bookings/{code}", birth_date=BORN.isoformat())
    assert (kept["status"], kept["first"]["slot_id"]) == ("active", ids[spare])

    # And back to the first day's time, free again, through the console's rebook (the booking form in rebook mode).
    active.get_by_role("button", name="Umbuchen").click()
    expect(page.locator("#book-submit")).to_have_text("Umbuchen")
    pair = page.locator("#book-pair")
    expect(pair).to_be_focused()
    pair.select_option(ids[first])
    page.locator("#book-submit").click()
    expect(page.locator("#book-result .booking h3")).to_have_text(f"Buchung {code}")
    expect(page.locator("#book-submit")).to_have_text("Buchen")
    moved = booking_api.get(f"/v1/bookings/{code}", birth_date=BORN.isoformat())
    assert (moved["status"], moved["first"]["slot_id"]) == ("active", ids[first])
