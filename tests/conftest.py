"""Shared fixtures. The real stack (patched moto server + API + queue pumps + site) is started once per session."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# "Today" in a test is the API's today: the campaigns run in Berlin time, and from 23:00 UTC on the machine's
# date (UTC on CI) is already yesterday there.
os.environ["TZ"] = "Europe/Berlin"
time.tzset()

TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """`make test` runs on two pytest-xdist workers, each with its own local stack. A module's tests stay together and
    in order (some read what the tests above them left behind), and the browser tests share one worker and its
    chromium, the first thing that worker runs."""
    for item in items:
        module = Path(item.fspath)
        group = "browser" if TESTS / "browser" in module.parents else str(module.relative_to(TESTS))
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def stack():
    from infra.local.stack import LocalStack

    with LocalStack() as running:
        yield running


@pytest.fixture()
def api(stack):
    """A requests session against the local API."""
    import requests

    class Api(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 30)
            return super().request(method, stack.api_url + url, *args, **kwargs)

    with Api() as session:
        yield session
