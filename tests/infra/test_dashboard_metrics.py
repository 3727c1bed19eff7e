"""Every business metric the launch dashboard and the alarms read is one the code really sends.

The names sent are collected from the source (calls to `count(` and `measure(` in app.py and chalicelib), not
from a list kept by hand: a renamed metric or a dashboard typo (it once plotted `BookingRequestConfirmed`, which
nothing sends) fails here instead of showing an empty graph on launch day.
"""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path

from chalicelib.booking.domain import RequestStatus
from chalicelib.notify.ports import MailClaim
from infra.aws.stages import STAGES
from infra.aws.template import merge_template
from infra.aws.template.alarms import BUSINESS_NAMESPACE, alarms

ROOT = Path(__file__).resolve().parents[2]
EMITTERS = {"count", "measure"}
# What a formatted part of an f-string metric name can be. A new f-string name must be added here, or the
# test fails: it cannot guess the values of an expression it does not know.
EXPANSIONS = {
    "state.status.value.capitalize()": [s.value.capitalize() for s in RequestStatus],
}
# What a whole metric name expression can be, where it is not a literal (the mail worker's send result).
NAMED_EXPRESSIONS = {
    "claim.metric": [c.metric for c in MailClaim],
}


def _names(node: ast.expr) -> list[str]:
    """The metric names an argument expression can take."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _names(node.body) + _names(node.orelse)
    if isinstance(node, ast.JoinedStr):
        parts: list[list[str]] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append([str(value.value)])
            else:
                assert isinstance(value, ast.FormattedValue)
                source = ast.unparse(value.value)
                assert source in EXPANSIONS, f"unknown f-string part in a metric name: {source}"
                parts.append(EXPANSIONS[source])
        return ["".join(p) for p in itertools.product(*parts)]
    if ast.unparse(node) in NAMED_EXPRESSIONS:
        return NAMED_EXPRESSIONS[ast.unparse(node)]
    raise AssertionError(f"metric name the test cannot read: {ast.unparse(node)}")


def emitted_metric_names() -> set[str]:
    names: set[str] = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in EMITTERS
                and node.args
            ):
                names.update(_names(node.args[0]))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in EMITTERS:
                names.update(_names(next(k.value for k in node.keywords if k.arg == "name")))
    return names


def used_metric_names() -> set[str]:
    """Business-namespace metrics of every alarm and every dashboard widget of the prod stage."""
    resources = alarms("prod", STAGES["prod"], "api")
    used = {
        r["Properties"]["MetricName"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == BUSINESS_NAMESPACE
    }
    body = json.loads(resources["LaunchDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == BUSINESS_NAMESPACE:
                used.add(metric[1])
    return used


def test_the_collector_reads_plain_conditional_and_f_string_names():
    names = emitted_metric_names()
    assert {"BookingRequestAccepted", "MailSent", "MailSuppressed", "ReconciliationDrift"} <= names
    assert {"BookingRequestBooked", "BookingRequestRejected", "BookingRequestQueued"} <= names
    assert "BookingRequestConfirmed" not in names  # the name the dashboard once plotted


def test_every_metric_the_dashboard_and_alarms_use_is_emitted_by_the_code():
    used = used_metric_names()
    assert "BookingRequestBooked" in used and "ReconciliationDrift" in used  # the scan found the widgets
    assert used - emitted_metric_names() == set()


def test_every_alarm_of_the_stack_has_its_row_in_the_operations_runbook():
    """The on-call engineer looks an alarm up by its name: each one the template makes is in the runbook's table."""
    runbook = (ROOT / "docs" / "operations.md").read_text()
    table = runbook[runbook.index("## Alarms") : runbook.index("## Suppression list")]
    resources = merge_template("prod")["Resources"].values()
    names = [r["Properties"]["AlarmName"] for r in resources if r.get("Type") == "AWS::CloudWatch::Alarm"]
    assert names
    missing = [n for n in names if f"-{n.removeprefix('vaxslot-prod-')}`" not in table]
    assert missing == []
