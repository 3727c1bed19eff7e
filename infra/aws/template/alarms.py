"""Alarms (all to the stack's alarm topic) and the launch-day dashboard. docs/operations.md says what to do."""

from __future__ import annotations

import json

from infra.aws.stages import StageKnobs
from infra.aws.template.base import MAIL_EVENTS, RECONCILE, dlq_id, sub, topic
from infra.aws.template.functions import FUNCTIONS, function_name, function_of
from infra.resources import BOOKING_QUEUE, QUEUES, TABLES


def _alarm(
    name: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict,
    threshold: float,
    statistic: str = "Sum",
    comparison: str = "GreaterThanThreshold",
    periods: int = 1,
    period_s: int = 60,
    missing: str = "notBreaching",
) -> dict:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": period_s,
            "EvaluationPeriods": periods,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": missing,
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def alarms(stage: str, knobs: StageKnobs, api_stage_name: str) -> dict:
    a = knobs.alarms
    resources = {"AlarmTopic": topic(f"vaxslot-{stage}-alarms")}
    for q in QUEUES:
        resources[f"{dlq_id(q)}NotEmptyAlarm"] = _alarm(
            f"vaxslot-{stage}-{q.logical_id.lower()}-dlq-not-empty",
            f"Messages in {q.dlq_name(stage)}: see docs/operations.md 'DLQ not empty'",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": q.dlq_name(stage)},
            0,
            statistic="Maximum",
        )
    resources["BookingBacklogAgeAlarm"] = _alarm(
        f"vaxslot-{stage}-booking-backlog-age",
        "Booking requests wait too long: see docs/operations.md",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"QueueName": BOOKING_QUEUE.name(stage)},
        a.booking_backlog_age_s,
        statistic="Maximum",
        periods=3,
    )
    for fn in FUNCTIONS:
        if not fn.consumes:
            continue
        name = function_name(stage, fn)
        resources[f"{fn.logical_id}ErrorsAlarm"] = _alarm(
            f"{name}-errors",
            f"{name} fails: see docs/operations.md 'Worker errors'",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": name},
            a.worker_errors_per_minute,
        )
        resources[f"{fn.logical_id}ThrottlesAlarm"] = _alarm(
            f"{name}-throttles",
            f"{name} throttled: see docs/operations.md 'Worker throttles'",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": name},
            a.worker_throttles_per_minute,
        )
    mail_events = function_name(stage, function_of(MAIL_EVENTS))
    resources[f"{MAIL_EVENTS}ErrorsAlarm"] = _alarm(
        f"{mail_events}-errors",
        f"{mail_events} fails: bounces and complaints are not recorded: see docs/operations.md 'Mail events errors'",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": mail_events},
        a.worker_errors_per_minute,
    )
    resources.update(_reconciliation_alarms(stage, knobs))
    # A staff action whose audit record could not be written after its retries (docs/hotline.md).
    resources["AuditWriteFailedAlarm"] = _alarm(
        f"vaxslot-{stage}-audit-write-failed",
        "An audit record of a staff action is missing: see docs/operations.md 'Hotline console and audit'",
        BUSINESS_NAMESPACE,
        "AuditWriteFailed",
        BUSINESS_DIMENSIONS,
        0,
    )
    # The booking DLQ's consumer decides its messages at once (not_processed), so that queue is rarely seen
    # non-empty: this is the alarm that says citizens were told "ask again".
    resources["BookingRequestNotProcessedAlarm"] = _alarm(
        f"vaxslot-{stage}-booking-request-not-processed",
        "Booking requests rejected not_processed (their message failed 5 times): see docs/operations.md "
        "'booking-request-not-processed'",
        BUSINESS_NAMESPACE,
        "BookingRequestNotProcessed",
        BUSINESS_DIMENSIONS,
        0,
    )
    resources["Api5xxAlarm"] = _alarm(
        f"vaxslot-{stage}-api-5xx",
        "API answers 5xx: see docs/operations.md 'API 5xx'",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": f"vaxslot-{stage}", "Stage": api_stage_name},
        a.api_5xx_per_minute,
    )
    resources["LaunchDashboard"] = {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": f"vaxslot-{stage}-launch",
            "DashboardBody": sub(_dashboard(stage, api_stage_name)),
        },
    }
    return resources


# The EMF metrics of app.py's reconcile (powertools Metrics: namespace and `service` dimension from observability.py).
BUSINESS_NAMESPACE, BUSINESS_DIMENSIONS = "vaxslot", {"service": "vaxslot"}
RECONCILIATION_METRICS = ("ReconciliationDrift", "SecondDoseShortfall")
HOUR_S = 3600


def _reconciliation_alarms(stage: str, knobs: StageKnobs) -> dict:
    """Each run puts one datapoint per metric, hourly. `ignore`: an hour without a run neither raises nor
    clears a drift alarm (a missing run is not drift, nor proof that the drift is gone); the missing runs have
    their alarm of their own, on the datapoints' count, where missing data breaches."""
    resources = {}
    for metric, slug in zip(RECONCILIATION_METRICS, ("reconciliation-drift", "second-dose-shortfall"), strict=True):
        resources[f"{metric}Alarm"] = _alarm(
            f"vaxslot-{stage}-{slug}",
            f"{metric} > 0 in the last reconciliation: see docs/operations.md '{slug}'",
            BUSINESS_NAMESPACE,
            metric,
            BUSINESS_DIMENSIONS,
            0,
            statistic="Maximum",
            period_s=HOUR_S,
            missing="ignore",
        )
    hours = knobs.alarms.reconciliation_missing_h
    resources["ReconciliationMissingAlarm"] = _alarm(
        f"vaxslot-{stage}-reconciliation-missing",
        f"No reconciliation result for {hours} hours (reconcile not run, failed or timed out): see "
        "docs/operations.md 'reconciliation-missing'",
        BUSINESS_NAMESPACE,
        RECONCILIATION_METRICS[0],
        BUSINESS_DIMENSIONS,
        1,
        statistic="SampleCount",
        comparison="LessThanThreshold",
        periods=hours,
        period_s=HOUR_S,
        missing="breaching",
    )
    return resources


def _dashboard(stage: str, api_stage_name: str) -> str:
    api = {"ApiName": f"vaxslot-{stage}", "Stage": api_stage_name}
    workers = [function_name(stage, f) for f in FUNCTIONS if f.consumes]

    def widget(title: str, metrics: list, stat: str = "Sum", period: int = 60) -> dict:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": "${AWS::Region}",
                "stat": stat,
                "period": period,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    def m(namespace: str, metric: str, dims: dict) -> list:
        return [namespace, metric] + [x for k, v in dims.items() for x in (k, v)]

    widgets = [
        widget("API requests, 4xx, 5xx", [m("AWS/ApiGateway", n, api) for n in ("Count", "4XXError", "5XXError")]),
        widget("API latency p99 (ms)", [m("AWS/ApiGateway", "Latency", api)], stat="p99"),
        widget(
            "Booking queue: waiting, oldest (s)",
            [
                m("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": BOOKING_QUEUE.name(stage)}),
                m("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": BOOKING_QUEUE.name(stage)}),
            ],
            stat="Maximum",
        ),
        widget(
            "Dead-letter queues",
            [m("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": q.dlq_name(stage)}) for q in QUEUES],
            stat="Maximum",
        ),
        widget(
            "Workers: invocations, errors, throttles",
            [m("AWS/Lambda", n, {"FunctionName": w}) for w in workers for n in ("Invocations", "Errors", "Throttles")],
        ),
        widget(
            "Workers: concurrency",
            [m("AWS/Lambda", "ConcurrentExecutions", {"FunctionName": w}) for w in workers],
            stat="Maximum",
        ),
        widget(
            "Bookings (business metrics)",
            [
                m("vaxslot", n, {"service": "vaxslot"})
                for n in ("BookingRequestAccepted", "BookingRequestBooked", "BookingRequestRejected", "MailSent")
            ],
        ),
        widget(
            "DynamoDB throttles",
            [
                m("AWS/DynamoDB", n, {"TableName": t.name(stage)})
                for t in TABLES
                for n in ("ReadThrottleEvents", "WriteThrottleEvents")
            ],
        ),
        widget(
            "Reconciliation: slot drift, second-dose shortfall (max per hour)",
            [m(BUSINESS_NAMESPACE, n, BUSINESS_DIMENSIONS) for n in RECONCILIATION_METRICS],
            stat="Maximum",
            period=HOUR_S,
        ),
        widget(
            "Mail events, reconcile: invocations, errors; mails not sent to suppressed addresses",
            [
                m("AWS/Lambda", n, {"FunctionName": function_name(stage, function_of(f))})
                for f in (MAIL_EVENTS, RECONCILE)
                for n in ("Invocations", "Errors")
            ]
            + [m(BUSINESS_NAMESPACE, "MailSuppressed", BUSINESS_DIMENSIONS)],
            period=HOUR_S,
        ),
    ]
    return json.dumps({"widgets": widgets})
