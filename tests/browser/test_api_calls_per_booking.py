"""The capacity model's 'API requests per booking through the site', counted in a real browser.

One citizen books through the site against the local stack (start page → eligibility → centre → day → time →
details → waiting page → booked) while the test records every request the page sends, CORS preflights
included (API Gateway answers and bills those too). The page's config names the local API twice, as the API
and under a second host name as the read base (the snapshots' CDN on AWS), so each request shows where the
site sent it. Each is classified by the route of docs/openapi.yaml it hits; the counts must equal
infra/capacity/measured.json's `today.api_flow_calls.routes` and `today.snapshot_reads.routes` (none if it
has no routes), the figures the model uses, so the test fails when the site and the model drift apart. The
status polls are counted apart (their number depends on how long the queue takes, which the model assumes
for AWS): the site must send no more of them than model.polls_for_wait counts for the time it waited."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from playwright.sync_api import expect

from infra.capacity import model as m
from tests.browser.support import Person, check_eligibility, choose_slot, fill_details

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
POLL_ROUTE = "GET /v1/booking-requests/{request_id}"


def _route_patterns() -> list[tuple[re.Pattern[str], str]]:
    """docs/openapi.yaml's paths as regular expressions over a URL path ({param} = one path segment)."""
    paths = yaml.safe_load(SPEC.read_text())["paths"]
    return [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths]


@dataclass(frozen=True)
class Sent:
    at: float  # monotonic seconds
    base: str  # which of the site's two bases it went to: "api" or "read"
    method: str
    path: str  # without the base URL and the query


class ApiRecorder:
    """Every request of the page to the API, preflights included, read from the DevTools protocol: Playwright's
    own request events leave CORS preflights out, and a preflight is a request API Gateway counts."""

    def __init__(self, page, bases: dict[str, str]):
        self.bases = {name: url.rstrip("/") + "/" for name, url in bases.items()}
        self.sent: list[Sent] = []
        self.session = page.context.new_cdp_session(page)
        self.session.on("Network.requestWillBeSent", self._request)
        self.session.send("Network.enable")

    def _request(self, event: dict) -> None:
        url = event["request"]["url"]
        for name, base in self.bases.items():
            if url.startswith(base):
                path = "/" + url[len(base) :].split("?", 1)[0]
                self.sent.append(Sent(time.monotonic(), name, event["request"]["method"], path))

    @staticmethod
    def routes(sent: list[Sent]) -> Counter[str]:
        patterns = _route_patterns()
        found: Counter[str] = Counter()
        for s in sent:
            route = next((template for pattern, template in patterns if pattern.match(s.path)), None)
            assert route, f"{s.method} {s.path}: not a route of docs/openapi.yaml"
            found[f"{s.method} {route}"] += 1
        return found


def with_read_base(page, site_url: str, read_base: str) -> None:
    """Serve the page a config.js that also names a read base (the snapshots' CDN on AWS): here the same local
    API under another host name, so that each request shows which base the site chose for it. A site that
    knows no read base sends everything to the API, and the reads count as API calls."""

    def serve(route) -> None:
        text = route.fetch().text()
        found = re.search(r"window\.VAXSLOT_CONFIG = (\{.*\});", text)
        assert found, text
        config = json.loads(found.group(1)) | {"readBaseUrl": read_base}
        route.fulfill(body=f"window.VAXSLOT_CONFIG = {json.dumps(config)};\n", content_type="text/javascript")

    page.route(site_url + "/config.js", serve)


def book(page, person: Person) -> None:
    """Start page → eligibility → centre → day → time → details → waiting → booked, as a citizen clicks."""
    page.wait_for_selector("html[data-ready]")
    expect(page.locator(".campaign--open").first).to_be_visible()
    page.get_by_role("link", name="Termin buchen").click()
    check_eligibility(page, person)
    expect(page.locator("main h1")).to_have_text("Sie können jetzt buchen")
    choose_slot(page, day=1, slot=-1)  # a pair other tests are unlikely to take
    fill_details(page, person)
    page.get_by_role("button", name="Buchung absenden").click()
    expect(page.locator("main h1")).to_have_text("Ihre Termine sind gebucht", timeout=30000)


def test_one_booking_through_the_site_costs_the_api_requests_the_capacity_model_counts(browser, site_url, stack):
    expected, _sources, _built = m.load_measured("today")
    today = json.loads(m.MEASURED.read_text())["today"]
    person = Person("Ilse", "Zaehlmann", "1938-02-11")
    read_base = stack.api_url.replace("127.0.0.1", "localhost")
    assert read_base != stack.api_url

    # A new browser context: no cached preflights, as on a first visit. Recorder and config first, then the page.
    context = browser.new_context(locale="de-DE", viewport={"width": 414, "height": 900}, timezone_id="Europe/Berlin")
    context.set_default_timeout(15000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        recorder = ApiRecorder(page, {"api": stack.api_url, "read": read_base})
        with_read_base(page, site_url, read_base)
        page.goto(site_url + "/")
        book(page, person)
        booked_at = time.monotonic()
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"

    polls = [s for s in recorder.sent if recorder.routes([s]) == Counter({POLL_ROUTE: 1})]
    api = recorder.routes([s for s in recorder.sent if s.base == "api" and s not in polls])
    reads = recorder.routes([s for s in recorder.sent if s.base == "read" and s not in polls])
    drift = "the site's requests per booking drifted from infra/capacity/measured.json"
    assert dict(api) == today["api_flow_calls"]["routes"], drift
    assert dict(reads) == today["snapshot_reads"].get("routes", {}), drift
    assert (sum(api.values()), sum(reads.values())) == (expected.api_flow_calls, expected.snapshot_reads)

    # Polls: at least one (the 202 only says "queued"), none after the answer that showed "booked", and never
    # sooner than the model's schedule (first after 1 s, then x1.25 up to 2 s): within any wait the site sends at
    # most the polls model.polls_for_wait counts for it, so status_polls does not undercount. (Later is fine:
    # each delay starts when the previous answer is in.)
    assert polls and all(p.at <= booked_at for p in polls)
    submitted = next(s for s in recorder.sent if s.method == "POST" and s.path == "/v1/booking-requests")
    waits = [p.at - submitted.at for p in polls]
    assert all(m.polls_for_wait(wait) >= n for n, wait in enumerate(waits, start=1)), waits
