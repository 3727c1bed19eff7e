"""Package rules, checked for every module of chalicelib: booking and notify meet only on the contracts,
the domain is plain Python, and the rules and use cases know nothing of AWS, HTTP or powertools."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chalicelib").rglob("*.py"))
INFRASTRUCTURE = ("boto3", "botocore", "pynamodb", "chalice", "aws_lambda_powertools", "requests")
# Modules that hold PynamoDB, SQS, SES or the composition: what pure code must never reach.
ADAPTERS = (
    "chalicelib.booking.storage",
    "chalicelib.booking.queues",
    "chalicelib.booking.catalog_cache",
    "chalicelib.dynamo_binding",
    "chalicelib.notify.dynamo",
    "chalicelib.notify.ses",
    "chalicelib.notify.queue",
    "chalicelib.bootstrap",
    "chalicelib.api",
    "chalicelib.observability",
    "chalicelib.settings",
)
PURE = [
    "chalicelib/booking/domain.py",
    "chalicelib/booking/services.py",
    "chalicelib/booking/queries.py",
    "chalicelib/booking/ports.py",
    "chalicelib/booking/mail.py",
    "chalicelib/booking/operations.py",
    "chalicelib/booking/reconciliation.py",
    "chalicelib/notify/services.py",
    "chalicelib/notify/ports.py",
    "chalicelib/notify/calendar.py",
    "chalicelib/notify/feedback.py",
    "chalicelib/contracts/mail.py",
    "chalicelib/contracts/local_time.py",
    "chalicelib/privacy/services.py",
    "chalicelib/booking/attendance.py",
]


def imports_of(path: str) -> set[str]:
    """Every module a file imports, with `from a import b` also counted as `a.b` (b may be a module)."""
    found = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def reaching(path: str, prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in imports_of(path) if any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_the_rules_see_every_module():
    assert "chalicelib/booking/domain.py" in MODULES and "chalicelib/contracts/mail.py" in MODULES
    assert set(PURE) <= set(MODULES)


@pytest.mark.parametrize("path", [m for m in MODULES if m.startswith("chalicelib/booking/")])
def test_booking_never_imports_notify(path):
    assert not reaching(path, ("chalicelib.notify",))


@pytest.mark.parametrize("path", [m for m in MODULES if m.startswith("chalicelib/notify/")])
def test_notify_never_imports_booking(path):
    assert not reaching(path, ("chalicelib.booking",))


@pytest.mark.parametrize("path", [m for m in MODULES if m.startswith("chalicelib/contracts/")])
def test_contracts_import_nothing_else_of_the_project(path):
    project = reaching(path, ("chalicelib",))
    assert not {m for m in project if not m.startswith("chalicelib.contracts")}


@pytest.mark.parametrize("path", PURE)
def test_rules_and_use_cases_import_no_infrastructure_and_no_adapter(path):
    assert not reaching(path, INFRASTRUCTURE + ADAPTERS)


def test_the_domain_is_standard_library_plus_the_shared_local_time():
    imported = imports_of("chalicelib/booking/domain.py")
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names and m != "__future__"}
    assert {m for m in outside if not m.startswith("chalicelib.contracts.local_time")} == set()


@pytest.mark.parametrize("path", [m for m in MODULES if m != "chalicelib/bootstrap.py"])
def test_only_the_entry_points_use_the_composition_root(path):
    assert not reaching(path, ("chalicelib.bootstrap", "app"))


def test_app_py_routes_stay_thin():
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno < 16, f"{node.name} is doing work that belongs in chalicelib"


def test_every_test_module_has_a_basename_of_its_own():
    # pytest imports test modules by basename (rootdir-relative, no packages): two test_x.py in two folders
    # stop the whole run at collection.
    tests = Path(__file__).resolve().parents[1]
    names = [p.name for p in tests.rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
