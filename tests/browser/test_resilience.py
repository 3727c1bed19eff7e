"""When the API is overloaded or gone, the site says so plainly and tries again - never an endless spinner.

The overload answers (503/429 with Retry-After) and the dropped connection are played by Playwright's
request interception in front of the real API; every other request reaches the real stack."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Route, expect

from tests.browser.support import Api, Person, check, check_eligibility, choose_slot, fill_details

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After",
    "Content-Type": "application/json",
}


def overloaded(route: Route, status: int, retry_after: int) -> None:
    route.fulfill(
        status=status,
        headers={**CORS, "Retry-After": str(retry_after)},
        body=json.dumps(
            {
                "error": {
                    "code": "service_unavailable" if status == 503 else "too_many_requests",
                    "message": "Bitte später noch einmal versuchen.",
                }
            }
        ),
    )


def test_a_503_with_retry_after_shows_an_error_page_that_counts_down_and_retries_by_itself(browser, site_url):
    context = browser.new_context(locale="de-DE", viewport={"width": 414, "height": 900})
    calls = []

    def first_call_overloaded(route: Route) -> None:
        calls.append(route.request.url)
        if len(calls) == 1:
            overloaded(route, 503, 3)
        else:
            route.continue_()

    context.route(re.compile(r".*/v1/campaigns$"), first_call_overloaded)
    page = context.new_page()
    try:
        page.goto(site_url + "/")
        expect(page.locator("main h1")).to_have_text("Gerade wollen sehr viele Menschen buchen")
        expect(page.locator("main")).to_contain_text(re.compile(r"Wir versuchen es in [123] Sekunden? noch einmal"))
        expect(page.locator("[data-retry-after]")).to_have_attribute("data-retry-after", "3")
        expect(page.get_by_role("button", name="Jetzt noch einmal versuchen")).to_be_visible()
        expect(page).to_have_title(re.compile("^Fehler: "))
        check(page, "error page (503)", "error")

        expect(page.locator("main h1")).to_have_text("Termin für die Corona-Schutzimpfung buchen", timeout=8000)
        assert len(calls) == 2
    finally:
        context.close()


def test_a_lost_connection_shows_an_error_page_and_try_again_now_continues_where_it_was(open_site):
    page = open_site("/#/book")
    check_eligibility(page, Person("Liesel", "Netzlos", "1932-12-24"))
    expect(page.locator("main h1")).to_have_text("Sie können jetzt buchen")

    page.route(re.compile(r".*/availability\?.*"), lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(page.locator("main h1")).to_have_text("Die Terminbuchung ist gerade nicht erreichbar")
    expect(page.locator("main")).to_contain_text("Ihre Angaben sind nicht verloren")
    check(page, "error page (no connection)")

    page.unroute(re.compile(r".*/availability\?.*"))
    page.get_by_role("button", name="Jetzt noch einmal versuchen").click()
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")


def test_a_429_on_submit_is_retried_after_retry_after_with_the_same_idempotency_key_and_books_once(
    open_site, booking_api: Api
):
    person = Person("Otto", "Geduld", "1934-04-04")
    page = open_site("/#/book")
    check_eligibility(page, person)
    choose_slot(page, day=1)
    fill_details(page, person)

    keys = []

    def first_post_overloaded(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            overloaded(route, 429, 2)
        else:
            route.continue_()

    page.route(re.compile(r".*/v1/booking-requests$"), first_post_overloaded)
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator("main h1")).to_have_text("Gerade wollen sehr viele Menschen buchen")
    expect(page.locator("main")).to_contain_text("Es wurde nichts gebucht.")
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    assert len(keys) == 2 and keys[0] == keys[1], keys


def test_an_unknown_request_or_page_address_says_so_instead_of_waiting_forever(open_site):
    page = open_site("/#/request/0000000000000000000000000000dead")
    expect(page.locator("main h1")).to_have_text("Anfrage nicht gefunden")
    expect(page.locator("main")).not_to_contain_text("Warteschlange")
    check(page, "unknown request")

    page.goto(page.url.split("#")[0] + "#/no-such-page")
    expect(page.locator("main h1")).to_have_text("Diese Seite gibt es nicht")
    check(page, "unknown page")
