"""Composition: builds adapters and services once per process, on first use (never at import time).

Lambda and the local stack call these factories; unit tests build services from fakes directly, and
integration tests call `reset()` after pointing the environment at their moto server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

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
from chalicelib.booking.queues import SqsMailOutbox, SqsRequestQueue
from chalicelib.booking.reconciliation import Reconciliation
from chalicelib.booking.services import BookingService
from chalicelib.booking.storage import DynamoBookings, DynamoCatalog
from chalicelib.contracts.local_time import LOCAL_TZ
from chalicelib.contracts.mail import MailMessage
from chalicelib.dynamo_binding import bind_table
from chalicelib.notify.dynamo import DynamoSuppressionList
from chalicelib.notify.services import MailService
from chalicelib.notify.ses import SesMailer
from chalicelib.privacy.services import PrivacyService
from chalicelib.settings import get_settings

IDEMPOTENCY_TTL_S = 24 * 3600


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


def retention() -> timedelta:
    """How long personal data outlives a booking's last appointment (the TTL written, the filter on read)."""
    return timedelta(days=get_settings().personal_data_retention_days)


@functools.cache
def catalog() -> CachedCatalog:
    """One per process, shared by the services and by tools that write the catalogue (seeding, ops)."""
    _connection()
    return CachedCatalog(DynamoCatalog(), get_settings().catalog_cache_s)


@functools.cache
def _bookings() -> DynamoBookings:
    return DynamoBookings(_connection(), clock=now, retention=retention())


@functools.cache
def booking_queries() -> BookingQueries:
    """The read side: catalogue, eligibility, availability, request state, look-up."""
    return BookingQueries(catalog(), _bookings(), clock=now,
                          availability_max_age_s=get_settings().availability_max_age_s)


@functools.cache
def booking_service() -> BookingService:
    """The use cases that change state: submit, process (the worker), cancel."""
    s = get_settings()
    sqs = _client("sqs")
    return BookingService(
        queries=booking_queries(),
        catalog=catalog(),
        bookings=_bookings(),
        queue=SqsRequestQueue(sqs, _queue_url(s.booking_queue_name)),
        outbox=SqsMailOutbox(sqs, _queue_url(s.notify_queue_name)),
        person_key_pepper=_person_key_pepper(),
        clock=now,
    )


@functools.cache
def operations_service() -> OperationsService:
    return OperationsService(catalog(), clock=now)


@functools.cache
def reconciliation() -> Reconciliation:
    return Reconciliation(catalog(), _bookings(), clock=now, retention=retention())


@functools.cache
def mail_service() -> MailService:
    s = get_settings()
    _connection()
    # The suppression list's keys are an HMAC with the pepper: no address in clear, none guessable without it.
    suppressions = DynamoSuppressionList(_person_key_pepper(), clock=now)
    return MailService(SesMailer(_client("ses")), suppressions, sender=s.mail_sender, site_url=s.site_url)


@functools.cache
def privacy_service() -> PrivacyService:
    """Export and erasure on a person's request (infra/ops/privacy.py)."""
    _connection()
    return PrivacyService(booking_queries(), booking_service(), _bookings(),
                          DynamoSuppressionList(_person_key_pepper(), clock=now), _person_key_pepper(),
                          retention(), clock=now)


def _idempotency_store() -> DynamoDBPersistenceLayer:
    # One per idempotent function: powertools keeps the function's name on the store it is given.
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name, boto3_client=_client("dynamodb"))


@functools.cache
def booking_request_idempotency() -> IdempotencyConfig:
    # The key is chosen by the handler (Idempotency-Key header, else a hash of the body); the body hash is
    # validated so one key cannot be reused for a different request.
    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body_hash",
        expires_after_seconds=IDEMPOTENCY_TTL_S,
        raise_on_no_idempotency_key=True,
    )


@functools.cache
def submit_booking_request() -> Callable[..., dict]:
    """service.submit behind powertools Idempotency: the same key answers the same request id."""
    service = booking_service()

    @idempotent_function(
        data_keyword_argument="envelope",
        persistence_store=_idempotency_store(),
        config=booking_request_idempotency(),
    )
    def submit(envelope: dict, **submission) -> dict:
        return {"request_id": service.submit(**submission)}

    return submit


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


@functools.cache
def mail_idempotency() -> IdempotencyConfig:
    return IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=30 * 24 * 3600)


@functools.cache
def send_mail_once() -> Callable[[MailMessage], bool]:
    """mail_service().send behind powertools Idempotency: one mail per booking and kind."""
    service = mail_service()

    @idempotent_function(data_keyword_argument="envelope", persistence_store=_idempotency_store(),
                         config=mail_idempotency())
    def send(envelope: dict, message: MailMessage) -> dict:
        return {"sent": service.send(message)}

    return lambda message: send(envelope={"key": message.idempotency_key}, message=message)["sent"]


def reset() -> None:
    """Forget every built client and service (tests that point the environment somewhere new)."""
    from chalicelib import settings

    settings.get_settings.cache_clear()
    for factory in (_client, _queue_url, _person_key_pepper, _connection, catalog, _bookings, booking_queries,
                    booking_service, operations_service, reconciliation, mail_service, privacy_service,
                    booking_request_idempotency, submit_booking_request, contingent_idempotency,
                    release_contingent_once, mail_idempotency, send_mail_once,
                    _admission_token_key, waiting_room_service):
        factory.cache_clear()


# --- waiting room (contract §8) -------------------------------------------------------------------


@functools.cache
def _admission_token_key() -> bytes:
    s = get_settings()
    if s.admission_token_key is not None:
        return s.admission_token_key
    if s.admission_token_key_parameter is None:
        raise RuntimeError("set ADMISSION_TOKEN_KEY_PARAMETER (or ADMISSION_TOKEN_KEY) outside the local stage")
    parameter = _client("ssm").get_parameter(Name=s.admission_token_key_parameter, WithDecryption=True)
    return parameter["Parameter"]["Value"].encode()


@functools.cache
def waiting_room_service():
    from chalicelib.waitingroom import dynamo as room_dynamo
    from chalicelib.waitingroom.services import WaitingRoomService
    from chalicelib.waitingroom.tokens import AdmissionTokens

    s = get_settings()
    room_dynamo.bind(s.table_name, s.region, s.aws_endpoint_url)
    # The key is fetched only when a token is signed or checked: without an active room, booking needs none.
    tokens = functools.cache(lambda: AdmissionTokens(_admission_token_key()))
    return WaitingRoomService(room_dynamo.DynamoRoomStore(), catalog(), tokens, clock=lambda: datetime.now(LOCAL_TZ))


def person_key(person) -> str:
    """The booking lock's person key, which an admission is bound to."""
    return person.key(_person_key_pepper())
