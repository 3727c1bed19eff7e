"""The e-mail code step of the site, for a campaign that verifies addresses (docs/abuse.md, docs/site.md): the code
page gets focus, "send a new code" waits and follows the API's 429 Retry-After, a wrong code is said plainly, only
the newest code counts, and the right one books. axe finds nothing on the page, with and without errors."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta

import requests
from playwright.sync_api import Route, expect

from chalicelib.booking.domain import LOCAL_TZ
from tests.browser.support import Person, check, check_eligibility, fill_details
from tests.browser.test_resilience import CORS
from tests.e2e.test_limits_api import code_mail_to
from tests.e2e.test_staff_routes import OPS, cohort, contingent, ops_once

# A cohort of one birth date that no other test uses, so this campaign changes no other test's answers.
BORN_ON = "1934-02-14"
TOO_MANY = {"error": {"code": "too_many_requests", "message": "Bitte später noch einmal versuchen."}}


def open_verifying_campaign(api_url: str) -> str:
    campaign_id = f"verified-site-{uuid.uuid4().hex[:6]}"
    opened = requests.put(
        f"{api_url}/v1/staff/campaigns/{campaign_id}",
        headers=OPS,
        json={
            **cohort(datetime.now(LOCAL_TZ) - timedelta(minutes=1), BORN_ON, BORN_ON),
            "name": "Geboren am 14. Februar 1934",
            "verification": "email",
        },
        timeout=30,
    )
    assert opened.status_code == 200, opened.text
    released = requests.post(
        f"{api_url}/v1/staff/campaigns/{campaign_id}/contingents", json=contingent(2), headers=ops_once(), timeout=30
    )
    assert released.status_code == 201, released.text
    return campaign_id


def test_a_citizen_confirms_the_address_with_the_mailed_code_and_books(stack, open_site):
    campaign_id = open_verifying_campaign(stack.api_url)
    person = Person("Gerda", f"Code{uuid.uuid4().hex[:6]}", BORN_ON, postal_code="48143")
    page = open_site("/#/book")
    heading = page.locator("main h1")
    announcer = page.locator("#announcer")
    codes_asked = []
    page.on(
        "request",
        lambda r: codes_asked.append(r) if r.url.endswith("/v1/verifications") and r.method == "POST" else None,
    )

    check_eligibility(page, person)
    page.locator(f"section[aria-labelledby='campaign-{campaign_id}']").get_by_role(
        "button", name=re.compile("Münster")
    ).click()
    expect(heading).to_have_text("Wählen Sie einen Tag")
    page.locator("main .choice").first.click()
    expect(heading).to_contain_text("Uhrzeit wählen")
    page.locator("main .slot").first.click()
    expect(heading).to_have_text("Ihre Angaben")
    fill_details(page, person)
    page.clock.install()  # from here on the page's timers can be moved on (the pause before "send a new code")
    page.get_by_role("button", name="Weiter").click()

    expect(heading).to_have_text("Bitte bestätigen Sie Ihre E-Mail-Adresse")
    expect(heading).to_be_focused()
    expect(page.locator("main")).to_contain_text(f"eine E-Mail an {person.email} geschickt")
    check(page, "code page", "verification")
    first_code = code_mail_to(stack, person.email)

    # At once, "send a new code" sends nothing and says from when it will.
    page.get_by_role("button", name="Neuen Code schicken").click()
    expect(announcer).to_contain_text("Einen neuen Code können Sie ab")
    assert len(codes_asked) == 1

    # After the pause, the API refuses (429, Retry-After): said, and the next try waits for it.
    def refuse(route: Route) -> None:
        if route.request.method != "POST":  # the CORS preflight goes on to the API
            route.continue_()
            return
        route.fulfill(status=429, headers={**CORS, "Retry-After": "5"}, body=json.dumps(TOO_MANY))

    page.route("**/v1/verifications", refuse)
    page.clock.fast_forward(31_000)
    page.get_by_role("button", name="Neuen Code schicken").click()
    expect(announcer).to_contain_text("Wir können gerade keinen Code an diese E-Mail-Adresse schicken")
    expect(page.locator("#resend-code-hint")).to_contain_text("ab")
    page.unroute("**/v1/verifications")

    # A real new code: focus goes to the field; the old code no longer counts.
    page.clock.fast_forward(6_000)
    page.get_by_role("button", name="Neuen Code schicken").click()
    expect(announcer).to_contain_text(f"einen neuen Code an {person.email} geschickt")
    expect(page.locator("#verification-code")).to_be_focused()
    second_code = first_code
    while second_code == first_code:  # the newest code mail (two equal codes: one chance in a million)
        time.sleep(0.2)
        second_code = code_mail_to(stack, person.email)

    page.keyboard.type(first_code)
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Dieser Code stimmt nicht")
    expect(summary).to_be_focused()
    expect(page.locator("#verification-code")).to_have_attribute("aria-invalid", "true")
    check(page, "code page with a wrong code")

    page.locator("#verification-code").fill(f"{second_code[:3]} {second_code[3:]}")  # as it may be copied
    page.locator("#verification-code").press("Enter")
    expect(heading).to_have_text("Ihre Termine sind gebucht", timeout=30000)
    expect(page.locator("main")).to_contain_text("Münster")
