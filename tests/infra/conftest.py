"""Packages the prod stage once per run (no AWS account, no network once chalice's bundle is cached)."""

from __future__ import annotations

import fcntl
import json

import pytest


@pytest.fixture(scope="session")
def packaged(tmp_path_factory, worker_id):
    """One package for every xdist worker of the run: chalice caches the Lambda bundle in .chalice/deployments,
    and two workers packaging at once made one copy the other's half-written zip (CI: "not a zip file")."""
    from infra.aws.package import package

    if worker_id == "master":  # no xdist: this session is the run
        return package("prod", tmp_path_factory.mktemp("package") / "prod")
    run_dir = tmp_path_factory.getbasetemp().parent  # shared by this run's workers, new for each run
    with open(run_dir / "package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        template = run_dir / "package" / "prod" / "sam.json"
        if not template.exists():
            package("prod", template.parent)
    return template


@pytest.fixture(scope="session")
def template(packaged) -> dict:
    return json.loads(packaged.read_text())


@pytest.fixture(scope="session")
def resources(template) -> dict:
    return template["Resources"]
