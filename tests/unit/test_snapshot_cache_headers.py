"""Which answers a shared cache (CloudFront) may keep: the public read routes' successes for the freshness bound,
nothing personal and no decision."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalice import Chalice
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.api import errors, http
from chalicelib.api.limits import client_limit
from chalicelib.limits.abuse import AbuseLimits
from chalicelib.limits.domain import TooManyRequests

ROOT = Path(__file__).resolve().parents[2]
BOUND = 2
READS = {
    "/v1/campaigns": "/v1/campaigns",
    "/v1/centers": "/v1/centers?postal_code=44141",
    "/v1/centers/{center_id}/availability": "/v1/centers/dortmund/availability?campaign=c&days=7",
    "/v1/campaigns/{campaign_id}/waiting-room": "/v1/campaigns/c/waiting-room",
}
PERSONAL = {
    "/v1/booking-requests/{request_id}": "/v1/booking-requests/r",
    "/v1/waiting-room/entries/{entry_id}": "/v1/waiting-room/entries/e",
    "/v1/bookings/{code}": "/v1/bookings/abcd-efgh-jk",
}


@contextmanager
def serving(app: Chalice, project: Path) -> Iterator[Client]:
    """The local stage's configuration with the freshness bound a deployed stage sets (2 s)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    config["stages"]["local"]["environment_variables"]["AVAILABILITY_MAX_AGE_SECONDS"] = str(BOUND)
    (project / ".chalice").mkdir()
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    bootstrap.reset()  # the settings are read once: from this configuration, at the first request
    try:
        with Client(app, stage_name="local", project_dir=str(project)) as client:
            yield client
    finally:
        bootstrap.reset()


def _app(fail: bool = False) -> Chalice:
    """Routes with the real resource paths behind the real middleware; `fail`: every view answers an error."""
    app = Chalice(app_name="snapshot-test")
    app.register_middleware(http.chalice_errors_to_contract, "http")
    for path in {**READS, **PERSONAL}:

        def view(**_params):
            if fail:
                raise errors.ApiError(404, "unknown_campaign")
            return http.json_response({})

        app.route(path, methods=["GET"], name=path)(http.api_view(app)(view))
    return app


def test_the_public_reads_may_be_cached_for_the_freshness_bound_and_personal_answers_never(tmp_path):
    with serving(_app(), tmp_path) as client:
        for url in READS.values():
            answer = client.http.get(url)
            assert answer.status_code == 200 and answer.headers["Cache-Control"] == f"public, max-age={BOUND}", url
        for url in PERSONAL.values():
            assert client.http.get(url).headers["Cache-Control"] == "no-store", url


def test_an_error_on_a_public_read_is_not_cached(tmp_path):
    """An error is in the caller's language and may be passing (a throttle, an outage): no cache keeps it."""
    with serving(_app(fail=True), tmp_path) as client:
        for url in READS.values():
            answer = client.http.get(url)
            assert answer.status_code == 404 and answer.headers["Cache-Control"] == "no-store", url


def test_the_bound_is_whole_seconds_rounded_down():
    assert http.snapshot_cache_control(2.9) == "public, max-age=2"
    assert http.snapshot_cache_control(0) == "public, max-age=0"


# app.py's routes, read from its source (importing it needs the queues' names in the environment).
ROUTE = re.compile(r'@route\("([^"]+)", methods=\[([^\]]+)\]')


def test_every_snapshot_route_is_a_get_route_of_the_app_and_no_write_or_staff_route_is_one():
    source = (ROOT / "app.py").read_text()
    routes = [(path, method.strip(" \"'")) for path, methods in ROUTE.findall(source) for method in methods.split(",")]
    assert len(routes) > 20
    for path in http.SNAPSHOT_ROUTES:
        assert (path, "GET") in routes, path
    for path, method in routes:
        if method != "GET" or path.startswith("/v1/staff/"):
            assert not http.is_snapshot_read(method, path), (method, path)
    # The routes that answer a person (a request, an entry, a booking) are never snapshots.
    assert not any(http.is_snapshot_read("GET", path) for path in PERSONAL)


class _Refusing(AbuseLimits):
    """Limits that refuse every client address."""

    def __init__(self):
        pass  # no counters: every address is refused

    def admit_client(self, address: str) -> None:
        raise TooManyRequests(30)


def test_a_cdn_miss_of_a_public_read_is_not_limited_per_address_but_everything_else_still_is(tmp_path):
    """Behind CloudFront the address is the edge's, shared by everyone it serves: only WAF's checked header lets a
    public read past the per-address limit; a personal route with the header is limited as before."""
    app = _app()
    app.register_middleware(client_limit(lambda: _Refusing(), lambda: 1), "http")
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    edge = {**forwarded, http.EDGE_HEADER: "checked-by-waf"}
    with serving(app, tmp_path) as client:
        for url in READS.values():
            assert client.http.get(url, headers=edge).status_code == 200, url
            assert client.http.get(url, headers=forwarded).status_code == 429, url
        for url in PERSONAL.values():
            assert client.http.get(url, headers=edge).status_code == 429, url


def test_the_site_sends_exactly_the_snapshot_routes_to_the_cdn():
    """site/js/api.js SNAPSHOT_PATHS (what goes to config.readBaseUrl) and SNAPSHOT_ROUTES (what may be cached)."""
    source = (ROOT / "site" / "js" / "api.js").read_text()
    block = re.search(r"export const SNAPSHOT_PATHS = \[(.*?)\];", source, re.S)
    assert block, "SNAPSHOT_PATHS in site/js/api.js"
    patterns = [re.compile(p.replace("\\/", "/")) for p in re.findall(r"/(\^.*?\$)/", block.group(1))]
    assert len(patterns) == len(http.SNAPSHOT_ROUTES)
    for route in http.SNAPSHOT_ROUTES:
        sample = re.sub(r"\{[^}]+\}", "some-id", route)
        assert sum(bool(p.fullmatch(sample)) for p in patterns) == 1, route
    for path in PERSONAL.values():
        assert not any(p.fullmatch(path.split("?")[0]) for p in patterns), path
    assert not any(p.fullmatch("/v1/campaigns/c/waiting-room/entries") for p in patterns)
