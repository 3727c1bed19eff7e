"""The operations knobs of a deployed stage that chalice has no place for. docs/operations.md says what each does.

Each function's memory, timeout, reserved concurrency and tracing live in `.chalice/config.json` (the stage's
`lambda_functions`, read by infra/aws/chalice_config.py); everything else is here. Change a value, run
`make package STAGE=<stage>` and deploy; nothing else holds these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AlarmKnobs:
    worker_errors_per_minute: int  # Lambda Errors (Sum, 1 min) above this pages
    worker_throttles_per_minute: int
    api_5xx_per_minute: int
    booking_backlog_age_s: int  # oldest message in the booking queue older than this pages
    reconciliation_missing_h: int = 2  # no reconciliation result for this many hours pages


@dataclass(frozen=True)
class WarmThroughput:
    """Units/s a table serves from the first second (DynamoDB pre-warming). A new on-demand table starts at 4,000
    writes and 12,000 reads and doubles its previous peak within 30 minutes: far too slow for an opening at 8:00."""

    write_units_per_s: int
    read_units_per_s: int


@dataclass(frozen=True)
class StageKnobs:
    sqs_batch_size: dict[str, int]  # SQS records per invocation, by queue worker (chalice's function name)
    api_rate_limit_rps: int  # API Gateway stage throttling, steady requests per second
    api_burst_limit: int
    waf_requests_per_ip_per_5min: int  # WAF rate-based rule; NAT and mobile carriers share IPs, keep it high
    waf_staff_requests_per_ip_per_5min: int  # the same for /v1/staff/: a hotline call centre is one IP
    ses_send_rate_per_s: int  # the account's SES sending quota; bounds the mail worker's reserved concurrency
    log_retention_days: int
    alarms: AlarmKnobs
    deletion_protection: bool  # DynamoDB tables refuse deletion while on
    bookings_warm_throughput: WarmThroughput | None = None  # the bookings table's; None: a new table's


def mail_worker_concurrency(knobs: StageKnobs) -> int:
    """The most mail workers the SES quota allows: one sends about 10 mails/s (~100 ms per SendRawEmail)."""
    return max(2, math.floor(knobs.ses_send_rate_per_s / 10))  # 2: the least an SQS event source scales to


STAGES: dict[str, StageKnobs] = {
    "dev": StageKnobs(
        sqs_batch_size={"booking_worker": 10, "booking_dead_letters": 10, "mail_worker": 10},
        api_rate_limit_rps=50,
        api_burst_limit=100,
        waf_requests_per_ip_per_5min=2000,
        waf_staff_requests_per_ip_per_5min=5000,
        ses_send_rate_per_s=1,  # SES sandbox
        log_retention_days=14,
        alarms=AlarmKnobs(
            worker_errors_per_minute=5, worker_throttles_per_minute=50, api_5xx_per_minute=10, booking_backlog_age_s=300
        ),
        deletion_protection=False,
    ),
    # Sized for ten times 25 Jan 2021 (7,000 requests/s at the edge, 1,000 pair bookings/s): `make capacity` shows
    # where each figure binds and what it costs; the worker's and the mail worker's reserved concurrency that go with
    # it are in .chalice/config.json. None of it costs anything while idle but the warm throughput's one-time charge.
    "prod": StageKnobs(
        sqs_batch_size={"booking_worker": 10, "booking_dead_letters": 10, "mail_worker": 10},
        # The account's default throttle (all its APIs in the region share it): at 9 API requests per booking it
        # carries ~1,045 pair bookings/s; more needs a Service Quotas increase first (docs/capacity.md).
        api_rate_limit_rps=10000,
        api_burst_limit=5000,  # the account's default burst
        # Counts only what does not come through the CDN (writes, polls, look-ups): ~33 req/s per address, a carrier
        # NAT with ~1 % of the API traffic at ten times 2021 (docs/capacity.md). 3,000 (10 req/s) was within reach.
        waf_requests_per_ip_per_5min=10000,
        waf_staff_requests_per_ip_per_5min=30000,  # ~100 req/s from one call centre; every request needs a token
        ses_send_rate_per_s=500,  # an SES quota to ask for before launch (make check-limits): mail keeps pace
        log_retention_days=90,
        alarms=AlarmKnobs(
            worker_errors_per_minute=5, worker_throttles_per_minute=50, api_5xx_per_minute=20, booking_backlog_age_s=120
        ),
        deletion_protection=True,
        # 32 WRU and 18 RRU per booking (infra/capacity/measured.json) at 1,000/s, +25 %: the writes at the
        # per-table quota's default of 40,000.
        bookings_warm_throughput=WarmThroughput(write_units_per_s=40000, read_units_per_s=24000),
    ),
}
