"""Shared fixtures. The real stack (patched moto server + API + queue pumps + site) is started once per session."""

from __future__ import annotations

import os
import time

import pytest

# "Today" in a test is the API's today: the campaigns run in Berlin time, and from 23:00 UTC on the machine's
# date (UTC on CI) is already yesterday there.
os.environ["TZ"] = "Europe/Berlin"
time.tzset()


@pytest.fixture(scope="session")
def stack():
    from infra.local.stack import LocalStack

    with LocalStack() as running:
        yield running


@pytest.fixture(scope="session")
def bundled_site(tmp_path_factory):
    """The site as `make deploy` uploads it (infra/site_bundle.py: esbuild from infra/site, `make site-deps`)."""
    from infra.site_bundle import build_site

    return build_site(tmp_path_factory.mktemp("bundled") / "site")


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
