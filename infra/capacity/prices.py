"""List prices, eu-central-1 (Frankfurt), USD, on-demand, no free tier and no volume discounts beyond the first tier.

Compiled 2026-11-29 from the AWS public pricing pages named per line (aws.amazon.com/<service>/pricing). They
agree with issue #12's own estimate (11 REST requests = $41 per 1 M bookings → $3.70 per million). Re-check them
on those pages before a budget is decided on: prices change, and this table is not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-11-29"
PRICES_REGION = "eu-central-1"
PRICES_SOURCE = "AWS public pricing pages (API Gateway, Lambda, DynamoDB, SQS, SES, CloudFront, WAF, CloudWatch)"

PER_MILLION = 1e-6


@dataclass(frozen=True)
class Price:
    usd: float  # per unit
    unit: str
    page: str


# Each figure per single unit (a request, a GB-second, …) so that the model multiplies counts only.
PRICES: dict[str, Price] = {
    "apigw_rest_request": Price(3.70 * PER_MILLION, "REST API request (first 333 M/month)", "API Gateway pricing"),
    "apigw_http_request": Price(
        1.20 * PER_MILLION, "HTTP API request (first 300 M/month, 512 KB units)", "API Gateway pricing"
    ),
    "lambda_request": Price(0.20 * PER_MILLION, "invocation", "Lambda pricing"),
    "lambda_gb_s": Price(0.0000166667, "GB-second (x86)", "Lambda pricing"),
    "dynamodb_wru": Price(
        0.7625 * PER_MILLION,
        "on-demand write request unit",
        "DynamoDB pricing (on-demand, after the Nov 2024 price cut)",
    ),
    "dynamodb_rru": Price(0.1525 * PER_MILLION, "on-demand read request unit", "DynamoDB pricing (on-demand)"),
    "sqs_request": Price(0.40 * PER_MILLION, "standard queue request (64 KB chunk)", "SQS pricing"),
    "ses_mail": Price(0.10 / 1000, "outbound mail", "SES pricing"),
    "ses_attachment_gb": Price(0.12, "GB of outbound mail data", "SES pricing"),
    "cloudfront_request": Price(0.0120 / 10_000, "HTTPS request (Europe)", "CloudFront pricing"),
    "cloudfront_origin_shield_request": Price(
        0.0090 / 10_000, "request to Origin Shield (Europe)", "CloudFront pricing (Origin Shield)"
    ),
    "cloudfront_gb": Price(0.085, "GB out to the internet (Europe, first 10 TB)", "CloudFront pricing"),
    "waf_request": Price(0.60 * PER_MILLION, "request inspected by a web ACL", "WAF pricing"),
    "logs_ingest_gb": Price(0.63, "GB of CloudWatch Logs ingested", "CloudWatch pricing"),
}


def price(name: str) -> float:
    return PRICES[name].usd
