"""Packages the prod stage once per session (no AWS account, no network once chalice's bundle is cached)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    from infra.aws.package import package

    return package("prod", tmp_path_factory.mktemp("package") / "prod")


@pytest.fixture(scope="session")
def template(packaged) -> dict:
    return json.loads(packaged.read_text())


@pytest.fixture(scope="session")
def resources(template) -> dict:
    return template["Resources"]
