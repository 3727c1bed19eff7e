"""The site as `make deploy` uploads it (infra/site_bundle.py: esbuild) in chromium against the local stack: the
citizen site and the staff console work from their bundles, and a visit requests exactly the static files the
capacity model prices (infra/capacity/measured.json `today.static_requests`), no module file behind the bundle."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from infra.capacity import model as m
from infra.local.token import local_staff_token
from tests.browser.support import Person, check_eligibility


@pytest.fixture(scope="module")
def bundled_url(stack, bundled_site) -> str:
    return stack.serve_site(bundled_site)


@pytest.fixture()
def visit(browser, bundled_url):
    """visit(path) → (page, the site's files it requested so far, as paths). A script error, a console error or a
    site file that does not load fails the test."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    context.set_default_timeout(15000)
    errors: list[str] = []
    requested: list[str] = []

    def own(url: str) -> bool:
        return url.startswith(bundled_url + "/")

    def record(request) -> None:
        if own(request.url):
            requested.append(urlsplit(request.url).path)

    def console(message) -> None:
        # A CSP refusal or a module that fails to load says so here. "Failed to load resource" is any 4xx, the
        # API's expected ones too (the console probes its rebook route): the site's own files are checked by status.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def _visit(path: str):
        page = context.new_page()
        page.on("request", record)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", console)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if own(r.url) and r.status >= 400 else None)
        page.goto(bundled_url + path)
        page.wait_for_selector("html[data-ready]")
        return page, requested

    yield _visit
    context.close()
    assert not errors, f"errors in the bundled page: {errors}"


def test_the_bundled_citizen_site_works_and_a_visit_requests_the_five_files_the_model_prices(visit, bundled_site):
    page, requested = visit("/")
    expect(page.locator(".campaign--open").first).to_be_visible()  # the start view, with the API's campaigns
    # A view the unbundled site loads with import() (views/verify.js) is in the bundle: it runs and sends the
    # citizen, who has chosen nothing yet, to the first step.
    page.evaluate("location.hash = '#/book/code'")
    expect(page).to_have_url(re.compile(r"#/book$"))
    check_eligibility(page, Person("Berta", "Buendel", "1939-03-04"))
    expect(page.locator("main h1")).to_have_text("Sie können jetzt buchen")

    files = ["/", "/config.js", "/css/site.css", "/js/app.js", "/i18n/de.json"]
    assert sorted(requested) == sorted(files)
    expected, _, _ = m.load_measured("today")
    assert len(requested) == expected.static_requests
    kb = sum(len(gzip.compress((bundled_site / (f.lstrip("/") or "index.html")).read_bytes(), 9)) for f in files)
    assert kb / 1024 == pytest.approx(expected.static_kb, rel=0.15)


def test_the_bundled_staff_console_books_from_its_one_script(visit):
    page, requested = visit("/staff/")
    page.locator("#token").fill(local_staff_token("bea-bundle", "hotline"))
    page.keyboard.press("Enter")
    expect(page.locator("#signed-in")).to_have_text("Angemeldet: bea-bundle")
    # The pair list pages through the horizon with the modules staff.js imports (js/paging.js, js/i18n.js).
    page.locator("#book-postal").fill("44141")
    page.locator("#book-birth").fill("01.05.1940")
    page.locator("#book-check").click()
    page.locator("#book-center").select_option("dortmund")
    expect(page.locator("#book-pair")).to_be_enabled()
    expect(page.locator("#book-range")).to_contain_text("Termine vom")

    assert sorted(requested) == ["/config.js", "/staff/", "/staff/staff.css", "/staff/staff.js"]
