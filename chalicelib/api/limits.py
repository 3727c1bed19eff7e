"""The per-client-address limit at the HTTP edge, and which address a request comes from.

Only requests that carry `X-Forwarded-For` are limited per address: on AWS API Gateway appends the address
it saw (the right-most entry; `CLIENT_ADDRESS_HOP` counts from there if another proxy is put in front), and
entries further left are whatever the client wrote. Loopback requests of the local stack carry none and are
not limited (citizen-api.md §8). Staff routes are limited by WAF (a call centre is one address) and by
their Cognito token, not here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from pynamodb.exceptions import PynamoDBException

from chalicelib.api import errors
from chalicelib.api.http import EDGE_HEADER, error_response, is_snapshot_read
from chalicelib.limits.abuse import AbuseLimits
from chalicelib.limits.domain import TooManyRequests
from chalicelib.observability import logger

STAFF_PREFIX = "/v1/staff/"
MAX_ADDRESS_LENGTH = 64


def client_address(headers, hop: int = 1) -> str | None:
    """The client's address from X-Forwarded-For: the `hop`-th entry from the right; None without the header."""
    forwarded = (headers or {}).get("x-forwarded-for") or ""
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return None
    entry = entries[-min(hop, len(entries))]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return entry[:MAX_ADDRESS_LENGTH]  # not an address: still one client's key, bounded in size


def client_limit(limits: Callable[[], AbuseLimits], hop: Callable[[], int]) -> Callable:
    """HTTP middleware: a 429 with Retry-After, before any view runs, for an address over its limit."""

    def middleware(event, get_response):
        address = client_address(event.headers, hop())
        if address is None or event.method == "OPTIONS" or event.path.startswith(STAFF_PREFIX):
            return get_response(event)
        # A cache miss of the CDN: its address is CloudFront's, shared by everyone that edge serves (WAF checked
        # the header's secret); the viewer's requests that hit the cache never reach here anyway.
        if is_snapshot_read(event.method, event.path) and event.headers.get(EDGE_HEADER):
            return get_response(event)
        try:
            limits().admit_client(address)
        except TooManyRequests as refused:
            language = errors.language_of(event.headers.get("accept-language"))
            # Answered before Chalice adds CORS headers to a view's response: add them, so a browser can read it.
            headers = {
                "Retry-After": str(refused.retry_after_s),
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Retry-After",
            }
            return error_response(errors.ApiError(429, "too_many_requests", headers=headers), language)
        except PynamoDBException as error:
            # A coarse limit that WAF also applies: if its counter cannot be reached, serve rather than fail.
            logger.warning("client limit not checked", extra={"error_type": type(error).__name__})
        return get_response(event)

    return middleware
