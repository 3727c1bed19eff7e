"""Browser tests: Debian's chromium driven by Playwright against the real local stack
(patched moto server + API + queue pumps + the site with a generated /config.js).

The stack comes from the session fixture `stack` in tests/conftest.py, started once per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support import Api

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE not in Path(item.fspath).parents or "browser" not in getattr(item, "fixturenames", ()):
            continue
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(
                pytest.mark.skip(reason="/usr/bin/chromium is missing: install Debian's chromium (`make browser-deps`)")
            )


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def site_url(stack) -> str:
    return stack.site_url


@pytest.fixture(scope="session")
def booking_api(stack) -> Api:
    return Api(stack.api_url)


@pytest.fixture()
def open_site(browser, site_url):
    """open_site(path="/", locale="de-DE", width=414, height=900, scale=1, timezone="Europe/Berlin")
    → a page that has rendered `path`.

    Every page fails its test on an uncaught script error."""
    contexts, errors = [], []

    def _open(
        path: str = "/",
        *,
        locale: str = "de-DE",
        width: int = 414,
        height: int = 900,
        scale: float = 1,
        timezone: str = "Europe/Berlin",
    ):
        context = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, device_scale_factor=scale, timezone_id=timezone
        )
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(site_url + path)
        page.wait_for_selector("html[data-ready]")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the page: {errors}"
