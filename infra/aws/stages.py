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
    # Launch day (25 Jan 2021): ~700 requests/s at 8:00. Bookings/s ≈ worker concurrency (config.json) x batch
    # size / batch time.
    "prod": StageKnobs(
        sqs_batch_size={"booking_worker": 10, "booking_dead_letters": 10, "mail_worker": 10},
        api_rate_limit_rps=1500,
        api_burst_limit=3000,
        # Counts only what does not come through the CDN (writes, polls, look-ups): ~33 req/s per address, a carrier
        # NAT with ~1 % of the API traffic at ten times 2021 (docs/capacity.md). 3,000 (10 req/s) was within reach.
        waf_requests_per_ip_per_5min=10000,
        waf_staff_requests_per_ip_per_5min=30000,  # ~100 req/s from one call centre; every request needs a token
        ses_send_rate_per_s=50,
        log_retention_days=90,
        alarms=AlarmKnobs(
            worker_errors_per_minute=5, worker_throttles_per_minute=50, api_5xx_per_minute=20, booking_backlog_age_s=120
        ),
        deletion_protection=True,
    ),
}
