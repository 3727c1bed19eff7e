"""Logging, metrics and tracing for every function, from one place (powertools).

Log structured facts (ids of requests, campaigns, centres; outcomes), never personal data: no names,
birth dates, e-mail addresses, phone numbers or booking codes.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="vaxslot")
metrics = Metrics(namespace="vaxslot", service="vaxslot")
# X-Ray segments per invocation, with boto3/botocore calls (DynamoDB, SQS, SES) as subsegments. Off outside
# Lambda and wherever POWERTOOLS_TRACE_DISABLED=true (the local stage), so nothing looks for an X-Ray daemon.
# Responses are not recorded: they carry personal data (names, booking codes).
tracer = Tracer(service="vaxslot")


def count(name: str, **dimensions: str) -> None:
    """One business metric per use case outcome (e.g. BookingRequestAccepted, Booked, Rejected)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    for key, value in dimensions.items():
        metrics.add_metadata(key=key, value=value)


def measure(name: str, value: float) -> None:
    """A measured amount (e.g. reconciliation drift), for alarms on its value."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
