"""The HTTP edge's plumbing: turn exceptions and Chalice's own errors into the contract's error body."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice, Response
from pynamodb.exceptions import PynamoDBException

from chalicelib.api import errors, schemas
from chalicelib.observability import logger

JSON = "application/json; charset=utf-8"
RETRY_AFTER_S = "5"

# Chalice answers some errors itself ({"Code": ..., "Message": ...}); map them to ours.
_CHALICE_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequestError": "invalid_request",
    "BadRequest": "invalid_request",
    "NotFoundError": "unknown_route",
    "UnauthorizedError": "unauthorized",
    "TooManyRequestsError": "too_many_requests",
    "InternalServerError": "internal_error",
}


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False), status_code=status, headers={"Content-Type": JSON, **(headers or {})}
    )


def error_response(error: errors.ApiError, language: str) -> Response:
    return json_response(errors.error_body(error, language), error.status, error.headers)


def _translate(error: Exception) -> errors.ApiError:
    known = errors.from_exception(error)
    if known is not None:
        return known
    if isinstance(error, IdempotencyValidationError):
        return errors.ApiError(409, "idempotency_key_reused")
    if isinstance(error, IdempotencyAlreadyInProgressError):
        return errors.ApiError(409, "request_in_progress", headers={"Retry-After": "1"})
    # PynamoDB wraps the SDK's error once its retries are spent (error.cause): the same outage, the same answer.
    if isinstance(error, (ClientError, BotoCoreError)) or (
        isinstance(error, PynamoDBException) and isinstance(error.cause, (ClientError, BotoCoreError))
    ):
        # The queue or the table did not take the request: nothing was accepted, the client may retry.
        return errors.ApiError(503, "service_unavailable", headers={"Retry-After": RETRY_AFTER_S})
    return errors.ApiError(500, "internal_error")


# Path parameters that name a stored item are checked here, before any view or store sees them; a value
# that cannot exist answers exactly like one that does not (no oracle, no unbounded key reaching DynamoDB).
_PATH_PARAMETERS: dict[str, Callable[[str], str]] = {
    "code": schemas.booking_code,
    "request_id": schemas.request_id,
    "center_id": schemas.center_id,
}


def api_view(app: Chalice) -> Callable:
    """Wraps a view: its domain and validation errors become contract errors, in the caller's language."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request = app.current_request
            language = errors.language_of(request.headers.get("accept-language") if request else None)
            try:
                kwargs = {name: _PATH_PARAMETERS.get(name, str)(value) for name, value in kwargs.items()}
                schemas.check_idempotency_key(request.headers if request else None)
                return view(*args, **kwargs)
            except Exception as error:  # the edge must answer every failure in the contract's shape
                api_error = _translate(error)
                if api_error.status >= 500:
                    logger.exception("request failed", extra={"error_type": type(error).__name__})
                return error_response(api_error, language)

        return wrapper

    return decorate


# Every API answer is personal (bookings, requests, eligibility) or a decision: no shared cache may keep it,
# unless a view set its own Cache-Control. nosniff: a browser never runs a JSON body as script.
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# The public read routes (Chalice's resource paths) and the query keys each one reads. Their answers are the same
# for everyone for a few seconds, so a success may be kept by a shared cache for the freshness bound
# (AVAILABILITY_MAX_AGE_SECONDS): CloudFront serves them (infra/aws/template/edge.py builds its cache behaviours
# and cache keys from this table) and the site sends these reads there (site/js/api.js). Decisions stay fresh:
# only the booking transaction decides, whatever a snapshot showed.
SNAPSHOT_ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/campaigns": (),
    "/v1/centers": ("postal_code",),
    "/v1/centers/{center_id}/availability": ("campaign", "from", "days"),
    "/v1/campaigns/{campaign_id}/waiting-room": (),
}


# CloudFront adds this header (with a secret the stack generates) to what it fetches from the API; WAF blocks a
# request whose value is wrong, so a request that carries it came through the CDN (infra/aws/template/edge.py).
EDGE_HEADER = "X-Vaxslot-Edge"


def is_snapshot_read(method: str, resource_path: str) -> bool:
    return method in ("GET", "HEAD") and resource_path in SNAPSHOT_ROUTES


def snapshot_cache_control(max_age_s: float) -> str:
    """Whole seconds, rounded down: a cache never keeps a snapshot longer than the bound."""
    return f"public, max-age={max(0, math.floor(max_age_s))}"


def _snapshot_max_age_s() -> float:
    from chalicelib.settings import get_settings  # lazily: settings are read once, after the environment is set

    return get_settings().availability_max_age_s


def chalice_errors_to_contract(event, get_response):
    """HTTP middleware: Chalice's own error bodies (405, 415, …) in the contract's shape; security headers; the
    snapshot routes' successes cacheable for the freshness bound (their errors are not: no-store)."""
    response = _in_contract_shape(event, get_response(event))
    present = {name.lower() for name in response.headers}
    if response.status_code == 200 and "cache-control" not in present and is_snapshot_read(event.method, event.path):
        response.headers["Cache-Control"] = snapshot_cache_control(_snapshot_max_age_s())
        present.add("cache-control")
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            response.headers[name] = value
    return response


def _in_contract_shape(event, response):
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body and "error" not in body:
        language = errors.language_of(event.headers.get("accept-language"))
        code = _CHALICE_CODES.get(body["Code"], "internal_error" if response.status_code >= 500 else "invalid_request")
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        headers.setdefault("Access-Control-Allow-Origin", "*")  # so a browser can read why it failed
        return error_response(errors.ApiError(response.status_code, code, headers=headers), language)
    return response


STAFF_GROUPS_CLAIM = "cognito:groups"


def require_group(request, *allowed: str) -> str:
    """The staff member's user name if their Cognito groups include one of `allowed`.

    API Gateway's Cognito authorizer has checked the token before this runs; here only the role is checked.
    """
    claims = ((request.context or {}).get("authorizer") or {}).get("claims") or {}
    user = claims.get("cognito:username")
    if not user:
        raise errors.ApiError(401, "unauthorized")
    groups = claims.get(STAFF_GROUPS_CLAIM) or []
    if isinstance(groups, str):  # API Gateway passes the list as one string: "[ops hotline]" or "ops,hotline"
        groups = groups.strip("[]").replace(",", " ").split()
    if not set(groups) & set(allowed):
        raise errors.ApiError(403, "forbidden")
    return user
