"""The site sends its public reads to the CDN (config.js readBaseUrl) and everything else to the API."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from playwright.sync_api import Route, expect

from tests.browser.support import Person, check_eligibility, choose_slot

CDN = "http://cdn.vaxslot.test"  # stands in for the read snapshots' CloudFront; it forwards to the local API


def test_campaigns_centres_the_rooms_state_and_availability_come_from_the_cdn_and_the_rest_from_the_api(browser, stack):
    context = browser.new_context(locale="de-DE", viewport={"width": 414, "height": 900})
    context.set_default_timeout(15000)
    config = {"apiBaseUrl": stack.api_url, "readBaseUrl": CDN, "hotline": "0800 116 117 02"}
    context.route(
        re.compile(r".*/config\.js$"),
        lambda route: route.fulfill(
            content_type="text/javascript", body=f"window.VAXSLOT_CONFIG = {json.dumps(config)};\n"
        ),
    )
    seen: list[tuple[str, str, str]] = []  # (where, method, path)

    def cdn(route: Route) -> None:
        url = urlsplit(route.request.url)
        answer = route.fetch(url=f"{stack.api_url}{url.path}{'?' + url.query if url.query else ''}")
        route.fulfill(response=answer)

    context.route(f"{CDN}/**", cdn)
    page = context.new_page()
    api_host = urlsplit(stack.api_url).netloc

    def note(request) -> None:
        url = urlsplit(request.url)
        if url.path.startswith("/v1/") and request.method != "OPTIONS":
            where = "cdn" if request.url.startswith(CDN) else "api" if url.netloc == api_host else url.netloc
            seen.append((where, request.method, url.path))

    page.on("request", note)
    try:
        page.goto(stack.site_url + "/")
        page.wait_for_selector("html[data-ready]")
        page.get_by_role("link", name="Termin buchen").click()
        check_eligibility(page, Person("Ina", "Lesen", "1939-02-03"))
        expect(page.locator("main h1")).to_have_text("Sie können jetzt buchen")
        choose_slot(page)
    finally:
        context.close()

    by_route = [
        (where, method, re.sub(r"/v1/(centers|campaigns)/[^/]+/", r"/v1/\1/{id}/", path))
        for where, method, path in seen
    ]
    assert sorted(by_route) == sorted(
        [
            ("cdn", "GET", "/v1/campaigns"),
            ("api", "POST", "/v1/eligibility"),
            ("cdn", "GET", "/v1/centers"),
            ("cdn", "GET", "/v1/campaigns/{id}/waiting-room"),
            ("cdn", "GET", "/v1/centers/{id}/availability"),
            ("cdn", "GET", "/v1/centers/{id}/availability"),
        ]
    ), seen
