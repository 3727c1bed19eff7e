"""Logging and metrics for every function, from one place (powertools).

Log structured facts (ids of requests, campaigns, centres; outcomes), never personal data: no names,
birth dates, e-mail addresses, phone numbers or booking codes.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="vaxslot")
metrics = Metrics(namespace="vaxslot", service="vaxslot")


def count(name: str, **dimensions: str) -> None:
    """One business metric per use case outcome (e.g. BookingRequestAccepted, Booked, Rejected)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    for key, value in dimensions.items():
        metrics.add_metadata(key=key, value=value)


def measure(name: str, value: float) -> None:
    """A measured amount (e.g. reconciliation drift), for alarms on its value."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
