"""Shared fixtures. The real stack (patched moto server + API + queue pumps + site) is started once per session."""

from __future__ import annotations

import pytest


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
