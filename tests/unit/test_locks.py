"""The hashed locks (`make lock`) must still say what the hand-edited requirements*.txt ask for.

Editing requirements.txt without re-running `make lock` would otherwise go unnoticed: the install step and the
Lambda bundle read only the locks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
PAIRS = [
    ("requirements.txt", "requirements.lock"),
    ("requirements-dev.txt", "requirements-dev.lock"),
    ("requirements-checkov.txt", "requirements-checkov.lock"),
]


def inputs(name: str) -> list[Requirement]:
    """The requirements a hand-edited file names, following its `-r` includes."""
    found = []
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found += inputs(line.removeprefix("-r ").strip())
        else:
            found.append(Requirement(line))
    return found


def lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a lock file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if m := PIN.match(line):
            current = canonicalize_name(m[1])
            entries[current] = (m[2], [])
        elif current and (h := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            entries[current][1].append(h[1])
    return entries


@pytest.mark.parametrize(("source", "locked"), PAIRS)
def test_lock_satisfies_every_requirement(source, locked):
    pins = lock(locked)
    stale = [
        f"{r} (lock: {pins.get(canonicalize_name(r.name), ('missing',))[0]})"
        for r in inputs(source)
        if canonicalize_name(r.name) not in pins or not r.specifier.contains(pins[canonicalize_name(r.name)][0])
    ]
    assert not stale, f"{locked} is stale, run `make lock`: {stale}"


@pytest.mark.parametrize("locked", [p[1] for p in PAIRS])
def test_every_locked_package_has_a_hash(locked):
    pins = lock(locked)
    assert pins, f"{locked} names no package"
    assert [n for n, (_, hashes) in pins.items() if not hashes] == []


def test_tests_run_the_versions_that_are_deployed():
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    differ = {n: (v, dev.get(n, ("missing",))[0]) for n, (v, _) in runtime.items() if dev.get(n, (None,))[0] != v}
    assert differ == {}
