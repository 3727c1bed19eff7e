"""Composition: builds adapters and services once per process, on first use (never at import time).

Lambda and the local stack call these factories; unit tests build services from fakes directly, and
integration tests call `reset()` after pointing the environment at their moto server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.config import Config

from chalicelib.api.commands import slot_record
from chalicelib.booking.catalog_cache import CachedCatalog
from chalicelib.booking.operations import OperationsService
from chalicelib.booking.queries import BookingQueries
from chalicelib.booking.queues import SendNowMailOutbox, SqsMailOutbox, SqsRequestQueue
from chalicelib.booking.reconciliation import Reconciliation
from chalicelib.booking.services import BookingService
from chalicelib.booking.storage import DynamoBookings, DynamoCatalog
from chalicelib.contracts.local_time import LOCAL_TZ
from chalicelib.contracts.mail import MailMessage
from chalicelib.dynamo_binding import bind_table
from chalicelib.notify.dynamo import DynamoSuppressionList
from chalicelib.notify.ports import MailClaim
from chalicelib.notify.queue import MailRetry
from chalicelib.notify.services import MailService
from chalicelib.notify.ses import SesMailer
from chalicelib.observability import count, logger
from chalicelib.settings import get_settings


@functools.cache
def _client(service: str):
    s = get_settings()
    return boto3.client(
        service,
        region_name=s.region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50),
    )


@functools.cache
def _mail_client():
    """SES with short timeouts: a send must fail (and be queued for a retry) well within the function's
    timeout, never be cut off mid-send by it."""
    s = get_settings()
    return boto3.client("ses", region_name=s.region, endpoint_url=s.aws_endpoint_url,
                        config=Config(connect_timeout=2, read_timeout=5,
                                      retries={"mode": "standard", "max_attempts": 2}))


@functools.cache
def _queue_url(name: str) -> str:
    return _client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


@functools.cache
def _person_key_pepper() -> bytes:
    s = get_settings()
    if s.person_key_pepper is not None:
        return s.person_key_pepper
    secret = _client("secretsmanager").get_secret_value(SecretId=s.person_key_pepper_secret_arn)
    return secret["SecretString"].encode()


def now() -> datetime:
    """The one clock of the process, in local time; every service and adapter is given it."""
    return datetime.now(LOCAL_TZ)


@functools.cache
def _connection():
    """Binds every item model of the table (booking's and notify's) once per process."""
    s = get_settings()
    return bind_table(s.table_name, s.region, s.aws_endpoint_url)


@functools.cache
def catalog() -> CachedCatalog:
    """One per process, shared by the services and by tools that write the catalogue (seeding, ops)."""
    _connection()
    return CachedCatalog(DynamoCatalog(), get_settings().catalog_cache_s)


@functools.cache
def _bookings() -> DynamoBookings:
    return DynamoBookings(_connection(), clock=now)


@functools.cache
def booking_queries() -> BookingQueries:
    """The read side: catalogue, eligibility, availability, request state, look-up."""
    return BookingQueries(catalog(), _bookings(), clock=now,
                          availability_max_age_s=get_settings().availability_max_age_s)


def _send_mail_now(message: MailMessage, delivery: str) -> MailClaim:
    claim = mail_service().send(message, delivery)
    count(claim.metric, kind=message.kind.value)
    return claim


def _mail_queued_for_retry(message: MailMessage, error: Exception) -> None:
    logger.warning("mail not sent at once, queued for a retry",
                   extra={"kind": message.kind.value, "error": type(error).__name__})


@functools.cache
def booking_service() -> BookingService:
    """The use cases that change state: submit, process (the worker), cancel."""
    s = get_settings()
    sqs = _client("sqs")
    queued_mail = SqsMailOutbox(sqs, _queue_url(s.notify_queue_name))
    return BookingService(
        queries=booking_queries(),
        catalog=catalog(),
        bookings=_bookings(),
        queue=SqsRequestQueue(sqs, _queue_url(s.booking_queue_name)),
        # Mail goes out from the worker that decided it; the notify queue is the retry path (docs/architecture.md).
        outbox=SendNowMailOutbox(_send_mail_now, queued_mail, on_fallback=_mail_queued_for_retry),
        person_key_pepper=_person_key_pepper(),
        clock=now,
        slots_max_age_s=s.catalog_cache_s,
    )


@functools.cache
def operations_service() -> OperationsService:
    return OperationsService(catalog(), clock=now)


@functools.cache
def reconciliation() -> Reconciliation:
    return Reconciliation(catalog(), _bookings(), clock=now)


@functools.cache
def mail_service() -> MailService:
    s = get_settings()
    _connection()
    return MailService(SesMailer(_mail_client()), DynamoSuppressionList(_connection(), clock=now),
                       sender=s.mail_sender, site_url=s.site_url)


@functools.cache
def mail_retry() -> MailRetry:
    """Puts a failed mail message back on the notify queue with a growing delay."""
    return MailRetry(_client("sqs"), _queue_url)


def _idempotency_store() -> DynamoDBPersistenceLayer:
    # One per idempotent function: powertools keeps the function's name on the store it is given.
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name, boto3_client=_client("dynamodb"))


@functools.cache
def contingent_idempotency() -> IdempotencyConfig:
    return IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body_hash",
                             expires_after_seconds=7 * 24 * 3600, raise_on_no_idempotency_key=True)


@functools.cache
def release_contingent_once() -> Callable[..., list]:
    """Releasing adds capacity, so a retried call must not release twice: one release per Idempotency-Key."""
    service = operations_service()

    @idempotent_function(data_keyword_argument="envelope", persistence_store=_idempotency_store(),
                         config=contingent_idempotency())
    def release(envelope: dict, campaign_id: str, center_id: str, releases: list) -> list:
        slots = service.release_contingent(campaign_id, center_id, releases)
        return [slot_record(s) for s in slots]

    return release


def reset() -> None:
    """Forget every built client and service (tests that point the environment somewhere new)."""
    from chalicelib import settings

    settings.get_settings.cache_clear()
    for factory in (_client, _mail_client, _queue_url, _person_key_pepper, _connection, catalog, _bookings,
                    booking_queries, booking_service, operations_service, reconciliation, mail_service, mail_retry,
                    contingent_idempotency, release_contingent_once):
        factory.cache_clear()

