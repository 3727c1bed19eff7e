"""Every operations knob of a deployed stage, in one place. docs/operations.md says what each one does.

Change a value here, run `make package STAGE=<stage>` and deploy the template; nothing else holds these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionKnobs:
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int | None = None  # None: share the account's unreserved pool
    batch_size: int = 10  # SQS records per invocation (queue workers only)


@dataclass(frozen=True)
class AlarmKnobs:
    worker_errors_per_minute: int  # Lambda Errors (Sum, 1 min) above this pages
    worker_throttles_per_minute: int
    api_5xx_per_minute: int
    booking_backlog_age_s: int  # oldest message in the booking queue older than this pages
    reconciliation_missing_h: int = 2  # no reconciliation result for this many hours pages


@dataclass(frozen=True)
class StageKnobs:
    api: FunctionKnobs
    booking_worker: FunctionKnobs
    mail_worker: FunctionKnobs
    mail_events: FunctionKnobs  # SES bounces and complaints from SNS: one PutItem per suppressed address
    reconcile: FunctionKnobs  # hourly: scans every active booking and queries every slot of every campaign
    api_rate_limit_rps: int  # API Gateway stage throttling, steady requests per second
    api_burst_limit: int
    waf_requests_per_ip_per_5min: int  # WAF rate-based rule; NAT and mobile carriers share IPs, keep it high
    waf_staff_requests_per_ip_per_5min: int  # the same for /v1/staff/: a hotline call centre is one IP
    ses_send_rate_per_s: int  # the account's SES sending quota; sets the mail worker's concurrency
    log_retention_days: int
    alarms: AlarmKnobs
    deletion_protection: bool  # DynamoDB tables refuse deletion while on


def mail_worker_concurrency(knobs: StageKnobs) -> int:
    """One mail worker sends about 10 mails/s (~100 ms per SendRawEmail): stay within the SES quota."""
    return max(2, math.floor(knobs.ses_send_rate_per_s / 10))  # 2: the least an SQS event source scales to


STAGES: dict[str, StageKnobs] = {
    "dev": StageKnobs(
        api=FunctionKnobs(memory_mb=1024, timeout_s=10),
        booking_worker=FunctionKnobs(memory_mb=1024, timeout_s=30, reserved_concurrency=2, batch_size=10),
        mail_worker=FunctionKnobs(memory_mb=512, timeout_s=30, batch_size=10),
        mail_events=FunctionKnobs(memory_mb=512, timeout_s=30, reserved_concurrency=2),
        reconcile=FunctionKnobs(memory_mb=1024, timeout_s=300, reserved_concurrency=1),
        api_rate_limit_rps=50,
        api_burst_limit=100,
        waf_requests_per_ip_per_5min=2000,
        waf_staff_requests_per_ip_per_5min=5000,
        ses_send_rate_per_s=1,  # SES sandbox
        log_retention_days=14,
        alarms=AlarmKnobs(worker_errors_per_minute=5, worker_throttles_per_minute=50, api_5xx_per_minute=10,
                          booking_backlog_age_s=300),
        deletion_protection=False,
    ),
    # Launch day (25 Jan 2021): ~700 requests/s at 8:00. Bookings/s ≈ worker concurrency x batch size / batch time.
    "prod": StageKnobs(
        api=FunctionKnobs(memory_mb=1024, timeout_s=10),
        booking_worker=FunctionKnobs(memory_mb=1024, timeout_s=30, reserved_concurrency=20, batch_size=10),
        mail_worker=FunctionKnobs(memory_mb=512, timeout_s=30, batch_size=10),
        # Bounces arrive at most at the sending rate; a throttled SNS invocation waits in Lambda's async queue.
        mail_events=FunctionKnobs(memory_mb=512, timeout_s=30, reserved_concurrency=5),
        # One run at a time; a full scan of the bookings table at launch-day sizes (~10^6 items) needs minutes.
        reconcile=FunctionKnobs(memory_mb=1024, timeout_s=300, reserved_concurrency=1),
        api_rate_limit_rps=1500,
        api_burst_limit=3000,
        waf_requests_per_ip_per_5min=3000,
        waf_staff_requests_per_ip_per_5min=30000,  # ~100 req/s from one call centre; every request needs a token
        ses_send_rate_per_s=50,
        log_retention_days=90,
        alarms=AlarmKnobs(worker_errors_per_minute=5, worker_throttles_per_minute=50, api_5xx_per_minute=20,
                          booking_backlog_age_s=120),
        deletion_protection=True,
    ),
}
