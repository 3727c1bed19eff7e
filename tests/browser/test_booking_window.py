"""The site asks for as many days as the API's booking window allows, read from the campaign, not its own."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.support import Api, Person, check_eligibility

AVAILABILITY = re.compile(r".*/v1/centers/[^/]+/availability\?.*")
ELIGIBILITY = re.compile(r".*/v1/eligibility$")


def test_the_api_tells_the_window_and_the_days_page_asks_for_what_the_campaign_says(open_site, booking_api: Api):
    assert booking_api.get("/v1/campaigns")["campaigns"][0]["booking_window_days"] == 28
    page = open_site("/#/book")

    def narrower_window(route):
        # A window unlike the site's old constant: only a site that reads the campaign asks for 9 days.
        answer = route.fetch()
        body = answer.json()
        for campaign in body.get("campaigns", []):
            campaign["booking_window_days"] = 9
        route.fulfill(response=answer, body=json.dumps(body))

    page.route(ELIGIBILITY, narrower_window)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if AVAILABILITY.match(r.url) else None)
    check_eligibility(page, Person("Fenster", "Tage", "1939-02-03"))
    page.get_by_role("button", name=re.compile("Impfzentrum Dortmund")).click()
    expect(page.locator("main h1")).to_have_text("Wählen Sie einen Tag")
    assert asked and all("days=9" in url for url in asked)
