"""What the browser tests share: accessibility checks, screenshots, keyboard moves, and direct API calls
for setting the scene (a booking to look up, a slot booked away)."""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
# `make screenshots` refreshes the pictures in docs/; a plain test run still takes them, but elsewhere, so that
# running the tests leaves the work tree as it was.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("VAXSLOT_SCREENSHOTS") == "docs"
    else Path(tempfile.gettempdir()) / "vaxslot-screenshots"
)
CAMPAIGN = "80plus-comirnaty"

_axe = Axe()


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    birth_date: str  # YYYY-MM-DD
    postal_code: str = "44141"

    @property
    def email(self) -> str:
        return f"{self.given_name}.{self.family_name}@example.org".lower().replace(" ", "")

    @property
    def birth_parts(self) -> tuple[str, str, str]:
        y, m, d = self.birth_date.split("-")
        return str(int(d)), str(int(m)), y

    def body(self) -> dict:
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birth_date": self.birth_date,
            "postal_code": self.postal_code,
            "email": self.email,
        }


# ---------- checks ----------


def assert_accessible(page: Page, state: str) -> None:
    """axe-core (WCAG 2.x A/AA and best practices) finds nothing on the page as it is now."""
    results = _axe.run(page)
    assert results.violations_count == 0, f"axe on '{state}':\n{results.generate_report()}"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def check(page: Page, state: str, shot: str | None = None) -> None:
    """The page is settled, accessible, and (optionally) photographed for docs/screenshots."""
    expect(page.locator("main h1")).to_be_visible()
    assert_accessible(page, state)
    if shot:
        screenshot(page, shot)


def assert_no_horizontal_scroll(page: Page, state: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        too_wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
                .map((el) => el.outerHTML.slice(0, 100))"""
        )
        raise AssertionError(
            f"horizontal scroll on '{state}': content {widths[0]}px > viewport {widths[1]}px; too wide: {too_wide[:5]}"
        )


def assert_targets_large_enough(page: Page, state: str, minimum: float = 44) -> None:
    """Every visible button, link and input (a checkbox counts with its label) is at least 44 px high and wide."""
    small = page.evaluate(
        """(minimum) => [...document.querySelectorAll(
              'main a, main button, main input, header a, header button, footer a')]
            .filter((el) => el.offsetParent !== null)
            .map((el) => {
              const r = el.getBoundingClientRect();
              return { what: el.outerHTML.slice(0, 80), w: r.width, h: r.height };
            })
            .filter((t) => t.h < minimum - 0.5 || t.w < minimum - 0.5)""",
        minimum,
    )
    assert not small, f"targets smaller than {minimum}px on '{state}': {small}"


def assert_easy_read_sentences_short(page: Page, most_words: int = 16) -> None:
    """Leichte Sprache: no sentence of the page's easy-read text is longer than `most_words` words."""
    sentences = [
        s
        for p in page.locator("main .easy-read p, main .easy-read li").all_inner_texts()
        for s in re.split(r"(?<=[.?!:])\s+", p)
        if s
    ]
    longest = max(len(s.split()) for s in sentences)
    assert longest <= most_words, f"a sentence of {longest} words is too long for easy-read"


def assert_focus_visible(page: Page) -> None:
    """The focused element shows a focus indicator (an outline, a ring, or the yellow focus background)."""
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return { outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow,
                            bg: s.backgroundColor, tag: document.activeElement.outerHTML.slice(0, 80) }; }"""
    )
    visible = (
        (style["outline"] != "none" and style["width"] >= 2 and "transparent" not in style["outline"])
        or style["shadow"] not in ("none", "")
        or style["bg"] == "rgb(255, 221, 0)"
    )
    assert visible, f"no visible focus on {style['tag']}: {style}"


# ---------- filling in the site's forms ----------


def check_eligibility(page: Page, person: Person, *, check_button: str = "Prüfen") -> None:
    day, month, year = person.birth_parts
    page.locator("#postal-code").fill(person.postal_code)
    page.locator("#birth-day").fill(day)
    page.locator("#birth-month").fill(month)
    page.locator("#birth-year").fill(year)
    page.get_by_role("button", name=check_button).click()


def choose_slot(page: Page, center: str = "Impfzentrum Dortmund", day: int = 0, slot: int = 0) -> None:
    """From the eligibility answer: a centre, the day-th day, the slot-th pair (-1 = last); ends on the form."""
    page.get_by_role("button", name=re.compile(center)).click()
    expect(page.locator("main h1")).to_have_text(re.compile("Wählen Sie einen Tag|Choose a day"))
    page.locator("main .choice").nth(day).click()
    expect(page.locator("main h1")).to_contain_text(re.compile("Uhrzeit wählen|Choose a time"))
    page.locator("main .slot").nth(slot).click()
    expect(page.locator("main h1")).to_have_text(re.compile("Ihre Angaben|Your details"))


def fill_details(page: Page, person: Person) -> None:
    page.locator("#given-name").fill(person.given_name)
    page.locator("#family-name").fill(person.family_name)
    page.locator("#email").fill(person.email)


# ---------- keyboard ----------


def tab_to(page: Page, *, text: str | None = None, css: str | None = None, max_tabs: int = 60) -> None:
    """Press Tab until the focused element has this text (or matches css); its focus must be visible."""
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        found = page.evaluate(
            """([text, css]) => { const el = document.activeElement; if (!el || el === document.body) return false;
                 if (css && !el.matches(css)) return false;
                 return !text || (el.innerText || el.value || el.getAttribute('aria-label') || '').includes(text); }""",
            [text, css],
        )
        if found:
            assert_focus_visible(page)
            return
    raise AssertionError(f"Tab never reached {text or css!r}")


# ---------- the API, for setting the scene ----------


class Api:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **params) -> dict:
        response = self.http.get(self.base_url + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def days(self, center: str = "dortmund") -> list[dict]:
        """The bookable days as the site asks for them (from today in Berlin, 28 days)."""
        today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
        return self.get(f"/v1/centers/{center}/availability", campaign=CAMPAIGN, days=28, **{"from": today})["days"]

    def seats_left(self, slot_id: str, center: str = "dortmund") -> int:
        """Free places of a slot as the store has them now. The availability route shows a copy up to
        AVAILABILITY_MAX_AGE_SECONDS old (2 s, as on AWS): right for the site, not for counting seats after a
        change made a moment ago. The stack runs in this process, so its catalogue reads the table."""
        from chalicelib import bootstrap

        slot = bootstrap.catalog().slot(CAMPAIGN, center, slot_id)
        return slot.remaining if slot is not None else 0

    def request_booking(self, person: Person, slot_id: str, center: str = "dortmund") -> dict:
        body = {
            "campaign_id": CAMPAIGN,
            "center_id": center,
            "slot_id": slot_id,
            "flexible": False,
            "language": "de",
            "person": person.body(),
        }
        response = self.http.post(
            self.base_url + "/v1/booking-requests",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        return response.json()

    def wait_for_outcome(self, request_id: str, timeout_s: float = 30) -> dict:
        """Until the queue pump has handled the request."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.get(f"/v1/booking-requests/{request_id}")
            if state["status"] != "queued":
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"request {request_id} still queued after {timeout_s}s")
            time.sleep(0.2)

    def book(self, person: Person, slot_id: str, center: str = "dortmund") -> dict:
        outcome = self.wait_for_outcome(self.request_booking(person, slot_id, center)["request_id"])
        assert outcome["status"] == "booked", outcome
        return outcome["booking"]
