"""A launch-day burst on the local stack: no connection is dropped, every answer is honest, nothing is lost."""

from __future__ import annotations

import requests

from infra.local.burst import burst, burst_body, wait_until_decided
from tests.e2e.test_booking_invariants import new_campaign

CLIENTS = 120  # `make bench` sends 400; this is the size `make test` can afford on 2 cores
DECIDED_WITHIN_S = 120


def test_a_burst_of_simultaneous_booking_requests_gets_no_connection_error_and_every_accepted_one_is_decided(stack):
    # Fewer pairs than clients: the burst must end in bookings and in rejections, both decided.
    campaign_id, first_id, _ = new_campaign(stack, 80, 80)
    result = burst(stack.api_url, [burst_body(campaign_id, first_id) for _ in range(CLIENTS)])

    assert result.connection_errors == []
    assert result.unexpected == []  # only 202, or 429/503 with Retry-After
    assert sum(result.statuses.values()) == CLIENTS
    assert result.accepted, "the burst was refused entirely"

    wait_until_decided(stack.api_url, result, timeout_s=DECIDED_WITHIN_S)
    assert result.undecided == []
    assert result.decided["booked"] == min(80, len(result.accepted))
    assert result.decided["booked"] + result.decided["rejected"] == len(result.accepted)


def test_an_unsupported_method_gets_the_contract_json_error_not_html(stack):
    for method in ("TRACE", "CONNECT", "PROPFIND"):
        response = requests.request(method, f"{stack.api_url}/v1/centers", timeout=10)
        assert response.status_code == 405
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert "GET" in response.headers["Allow"]
