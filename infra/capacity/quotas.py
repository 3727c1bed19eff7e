"""AWS limits the model checks, with their default values and where they are documented.

Defaults of a fresh account in one region; several are adjustable through Service Quotas (say which below).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    value: float
    unit: str
    source: str
    adjustable: bool


# API Gateway: one budget for REST, HTTP and WebSocket APIs of the account in the region.
APIGW_ACCOUNT_RPS = Quota(10_000, "requests/s", "API Gateway quotas: throttle per account and Region", True)
APIGW_ACCOUNT_BURST = Quota(5_000, "requests", "API Gateway quotas: burst per account and Region", True)
# Lambda
LAMBDA_ACCOUNT_CONCURRENCY = Quota(
    1_000,
    "concurrent executions",
    "Lambda quotas: concurrent executions (new accounts may start lower: check before launch)",
    True,
)
LAMBDA_SCALING_PER_10S = Quota(
    1_000, "executions per 10 s per function", "Lambda scaling behaviour (since 2023)", False
)
# Lambda's SQS event source mapping (standard queues)
SQS_ESM_INITIAL = Quota(5, "concurrent batches", "Lambda: scaling of SQS event source mappings", False)
SQS_ESM_RAMP_PER_MIN = Quota(
    300, "more concurrent batches per minute", "Lambda: scaling of SQS event source mappings", False
)
SQS_ESM_MAX = Quota(1_000, "concurrent batches (MaximumConcurrency 2..1000)", "Lambda: ScalingConfig", False)
# DynamoDB
DDB_PARTITION_WCU = Quota(1_000, "write units/s per partition", "DynamoDB: partitions and data distribution", False)
DDB_PARTITION_RCU = Quota(3_000, "read units/s per partition", "DynamoDB: partitions and data distribution", False)
DDB_TX_WRU_PER_ITEM = Quota(
    2, "write units per item (<= 1 KB) in a transaction", "DynamoDB: transactions capacity", False
)
DDB_NEW_TABLE_WRU = Quota(
    4_000,
    "write units/s, new on-demand table without warm throughput",
    "DynamoDB: warm throughput / on-demand initial throughput",
    False,
)
DDB_NEW_TABLE_RRU = Quota(
    12_000,
    "read units/s, new on-demand table without warm throughput",
    "DynamoDB: warm throughput / on-demand initial throughput",
    False,
)
DDB_TABLE_MAX = Quota(
    40_000, "read or write units/s per on-demand table", "DynamoDB quotas: per-table throughput", True
)
# Edge
CLOUDFRONT_RPS = Quota(250_000, "requests/s per distribution", "CloudFront quotas", True)
WAF_WINDOW_S = 300  # rate-based rules count requests per IP over 5 minutes
