"""The request page says how many requests are waiting while the request is queued (contract §4's `position`),
in plain words. The API's answers are played by Playwright's request interception: a request stays queued on the
real stack only for a moment."""

from __future__ import annotations

import json
import re
import uuid

from playwright.sync_api import Route, expect

from tests.browser.support import check

CORS = {"Access-Control-Allow-Origin": "*", "Content-Type": "application/json"}


def test_a_queued_request_shows_how_many_requests_are_waiting_and_follows_the_count(browser, site_url):
    request_id = uuid.uuid4().hex
    positions = iter([1234, 1])

    def queued(route: Route) -> None:
        position = next(positions, 1)
        route.fulfill(
            status=200,
            headers=CORS,
            body=json.dumps({"request_id": request_id, "status": "queued", "position": position}),
        )

    context = browser.new_context(locale="de-DE", viewport={"width": 414, "height": 900})
    context.route(re.compile(rf".*/v1/booking-requests/{request_id}$"), queued)
    page = context.new_page()
    try:
        page.goto(f"{site_url}/#/request/{request_id}")
        position = page.locator("#queue-position")
        expect(position).to_have_text("Gerade warten 1.234 Anfragen in der Warteschlange, Ihre mitgezählt.")
        check(page, "request page while queued, with the queue's length")
        expect(position).to_have_text("Gerade wartet nur Ihre Anfrage in der Warteschlange.", timeout=5000)
    finally:
        context.close()
