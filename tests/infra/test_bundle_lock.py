"""The Lambda bundle holds exactly the versions of requirements.lock, whichever day it is packaged."""

from __future__ import annotations

import re
import zipfile

from packaging.utils import canonicalize_name

from tests.unit.test_locks import lock

DIST_INFO = re.compile(r"^([^/]+)-([^-/]+)\.dist-info/METADATA$")


def test_bundle_holds_the_locked_versions(packaged):
    with zipfile.ZipFile(packaged.parent / "deployment.zip") as bundle:
        bundled = {canonicalize_name(m[1]): m[2] for n in bundle.namelist() if (m := DIST_INFO.match(n))}
    locked = {name: version for name, (version, _) in lock("requirements.lock").items()}
    assert bundled == locked
