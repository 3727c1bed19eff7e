"""Composition: builds adapters and services once per process, on first use (never at import time).

Lambda and the local stack call these factories; unit tests build services from fakes directly, and
integration tests call `reset()` after pointing the environment at their moto server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from chalicelib.booking.ports import AddressBlock, BouncedAddresses, MailRecords, MailTrace
from chalicelib.booking.position import QueuePositions
from chalicelib.booking.queries import BookingQueries
from chalicelib.booking.queues import SendNowMailOutbox, SqsBacklog, SqsMailOutbox, SqsRequestQueue
from chalicelib.booking.reconciliation import Reconciliation
from chalicelib.booking.released import ReleasedCatalog
from chalicelib.booking.services import BookingService
from chalicelib.booking.storage import DynamoBookings, DynamoCatalog
from chalicelib.booking.storage.letters import DynamoLetterMarks  # imported here so that _connection() binds it
from chalicelib.booking.storage.supply import DynamoSupply
from chalicelib.contracts.local_time import LOCAL_TZ
from chalicelib.contracts.mail import MailKind, MailMessage
from chalicelib.dynamo_binding import bind_table
from chalicelib.limits.abuse import AbuseLimits, Policy
from chalicelib.limits.domain import Limit
from chalicelib.limits.dynamo import DynamoCounters
from chalicelib.limits.limiter import Limiter
from chalicelib.notify.dynamo import MARKER_RETENTION, DynamoSuppressionList
from chalicelib.notify.ports import MailClaim, MailLedger, MailOutcome, SuppressionList
from chalicelib.notify.queue import MailRetry
from chalicelib.notify.quota import LimiterMailQuota
from chalicelib.notify.services import MailService
from chalicelib.notify.ses import SesMailer
from chalicelib.observability import count, logger
from chalicelib.privacy.services import PrivacyService
from chalicelib.settings import LimitSettings, get_limit_settings, get_settings
from chalicelib.verification.dynamo import DynamoVerifications
from chalicelib.verification.service import VerificationService
from chalicelib.waitingroom.dynamo import DynamoRoomStore  # imported here so that _connection() binds its items


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
    return boto3.client(
        "ses",
        region_name=s.region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 2}),
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
def booking_catalog() -> ReleasedCatalog:
    """The catalogue booking reads: slots of a scheduled contingent appear at their release time."""
    return ReleasedCatalog(catalog(), now)


@functools.cache
def _bookings() -> DynamoBookings:
    return DynamoBookings(_connection(), clock=now, retention=retention())


@functools.cache
def booking_queries() -> BookingQueries:
    """The read side: catalogue, eligibility, availability, request state, look-up."""
    return BookingQueries(
        booking_catalog(), _bookings(), clock=now, availability_max_age_s=get_settings().availability_max_age_s
    )


@functools.cache
def _backlog_client():
    """SQS with short timeouts and no retry: a request's position is optional, its state must answer promptly."""
    s = get_settings()
    return boto3.client(
        "sqs",
        region_name=s.region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 1}),
    )


@functools.cache
def queue_positions() -> QueuePositions:
    """A queued request's position: the booking queue's backlog, read at most every 2 s per process."""
    name = get_settings().booking_queue_name
    return QueuePositions(SqsBacklog(_backlog_client(), lambda: _queue_url(name)))


def _send_mail_now(message: MailMessage) -> MailClaim:
    claim = mail_service().send(message)
    count(claim.metric, kind=message.kind.value)
    return claim


def _mail_queued_for_retry(message: MailMessage, error: Exception) -> None:
    logger.warning(
        "mail not sent at once, queued for a retry", extra={"kind": message.kind.value, "error": type(error).__name__}
    )


@functools.cache
def booking_service() -> BookingService:
    """The use cases that change state: submit, process (the worker), cancel."""
    s = get_settings()
    sqs = _client("sqs")
    queued_mail = SqsMailOutbox(sqs, _queue_url(s.notify_queue_name))
    return BookingService(
        queries=booking_queries(),
        catalog=booking_catalog(),
        bookings=_bookings(),
        queue=SqsRequestQueue(sqs, _queue_url(s.booking_queue_name)),
        # Mail goes out from the worker that decided it; the notify queue is the retry path (docs/architecture.md).
        outbox=SendNowMailOutbox(_send_mail_now, queued_mail, on_fallback=_mail_queued_for_retry),
        person_key_pepper=_person_key_pepper(),
        clock=now,
        slots_max_age_s=s.catalog_cache_s,
        admission=abuse_limits().booking_request_admission,
    )


@functools.cache
def operations_service() -> OperationsService:
    s = get_settings()
    return OperationsService(
        catalog(),
        clock=now,
        supply=DynamoSupply(_bookings(), clock=now),
        bookings=_bookings(),
        outbox=SqsMailOutbox(_client("sqs"), _queue_url(s.notify_queue_name)),
        person_key_pepper=_person_key_pepper(),
        site_url=s.site_url,  # named in the letters for people without e-mail
        letter_marks=DynamoLetterMarks(_bookings()),
        bounced=SuppressedAddresses(_mail_ledger()),  # whose notice bounced gets a letter too
    )


class SuppressedAddresses(BouncedAddresses):
    """Booking's port over notify's suppression list: the composition is the one place that sees both packages.
    One read per address (two for a list from before the HMAC), in parallel: a letters page may name hundreds."""

    def __init__(self, suppressions: SuppressionList, workers: int = 16):
        self._suppressions = suppressions
        self._workers = workers

    def bounced(self, addresses: list[str]) -> set[str]:
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            flags = list(pool.map(self._suppressions.is_suppressed, addresses))
        return {address for address, suppressed in zip(addresses, flags, strict=True) if suppressed}


class LedgerMailRecords(MailRecords):
    """Booking's port over notify's mail markers and suppression list, for the hotline's "was my mail sent?": one
    eventually consistent GetItem per mail, one (two for a list from before the HMAC) per address."""

    def __init__(self, ledger: MailLedger):
        self._ledger = ledger

    @property
    def kept_for(self) -> timedelta:
        return MARKER_RETENTION

    def mail(self, mail_key: str) -> MailTrace | None:
        mark = self._ledger.mark(mail_key)
        if mark is None:
            return None
        return MailTrace(settled=mark.settled, capped=mark.outcome is MailOutcome.CAPPED, at=mark.settled_at)

    def block(self, address: str) -> AddressBlock | None:
        record = self._ledger.record(address)
        if record is None:
            return None
        return AddressBlock(
            record.reason, datetime.fromisoformat(record.suppressed_at) if record.suppressed_at else None
        )


@functools.cache
def reconciliation() -> Reconciliation:
    return Reconciliation(catalog(), _bookings(), clock=now, retention=retention())


@functools.cache
def mail_service() -> MailService:
    s = get_settings()
    _connection()
    # The suppression list's keys are an HMAC with the pepper: no address in clear, none guessable without it.
    return MailService(
        SesMailer(_mail_client()),
        _mail_ledger(),
        sender=s.mail_sender,
        site_url=s.site_url,
        quota=_mail_quota(),
        on_capped=_mail_capped,
        on_unsettled=_mail_unsettled,
    )


def _mail_ledger() -> DynamoSuppressionList:
    return DynamoSuppressionList(_connection(), _person_key_pepper(), clock=now)


@functools.cache
def privacy_service() -> PrivacyService:
    """Export and erasure on a person's request (infra/ops/privacy.py)."""
    _connection()
    return PrivacyService(
        booking_queries(), booking_service(), _bookings(), _mail_ledger(), _person_key_pepper(), retention(), clock=now
    )


@functools.cache
def mail_retry() -> MailRetry:
    """Puts a failed mail message back on the notify queue with a growing delay."""
    return MailRetry(_client("sqs"), _queue_url)


def _idempotency_store() -> DynamoDBPersistenceLayer:
    # One per idempotent function: powertools keeps the function's name on the store it is given.
    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table_name, boto3_client=_client("dynamodb"))


@functools.cache
def contingent_idempotency() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body_hash",
        expires_after_seconds=7 * 24 * 3600,
        raise_on_no_idempotency_key=True,
    )


@functools.cache
def release_contingent_once() -> Callable[..., list]:
    """Releasing adds capacity, so a retried call must not release twice: one release per Idempotency-Key."""
    service = operations_service()

    @idempotent_function(
        data_keyword_argument="envelope", persistence_store=_idempotency_store(), config=contingent_idempotency()
    )
    def release(envelope: dict, campaign_id: str, center_id: str, releases: list) -> list:
        slots = service.release_contingent(campaign_id, center_id, releases)
        return [slot_record(s) for s in slots]

    return release


# --- abuse limits and contact verification (docs/abuse.md) ---------------------------------------


@functools.cache
def _limiter() -> Limiter:
    _connection()
    return Limiter(DynamoCounters(), _person_key_pepper(), clock=now)


def limit_settings() -> LimitSettings:
    return get_limit_settings()


@functools.cache
def abuse_limits() -> AbuseLimits:
    s = get_limit_settings()
    hour = 3600
    policy = Policy(
        code_attempts=Limit("code", s.code_attempts_per_hour, hour),
        # One address can send many requests at once: spread over shards so that no counter item gets hot.
        client=Limit("client", s.client_requests_per_minute, 60, shards=min(4, max(1, s.client_requests_per_minute))),
        person=Limit("person", s.booking_requests_per_person_per_hour, hour),
        verification_client=Limit("verify-client", s.verifications_per_client_per_hour, hour),
        verification_address=Limit("verify-address", s.verifications_per_address_per_hour, hour),
        # Counted from when the code was sent, over its whole life (15 min to enter, 1 h verified).
        verification_attempts=Limit("verify-attempts", s.verification_attempts, 2 * hour),
    )
    return AbuseLimits(_limiter(), policy, _person_key_pepper())


@functools.cache
def verification_service() -> VerificationService:
    s = get_settings()
    _connection()
    return VerificationService(
        booking_queries(),
        DynamoVerifications(),
        SqsMailOutbox(_client("sqs"), _queue_url(s.notify_queue_name)),
        abuse_limits(),
        _person_key_pepper(),
        clock=now,
    )


def _mail_quota() -> LimiterMailQuota:
    return LimiterMailQuota(_limiter, get_limit_settings().mails_per_address_per_day)


def _mail_capped(kind: MailKind) -> None:
    # The MailCapped metric comes from the send's result (MailClaim.CAPPED); this says why, without the address.
    logger.info("mail not sent: its address has had today's mails", extra={"kind": kind.value})


def _mail_unsettled(kind: MailKind, error: Exception) -> None:
    logger.warning(
        "mail sent but its marker not settled: a later publish after the lease may send it again",
        extra={"kind": kind.value, "error": type(error).__name__},
    )
    count("MailUnsettled", kind=kind.value)


def reset() -> None:
    """Forget every built client and service (tests that point the environment somewhere new)."""
    from chalicelib import settings

    settings.get_settings.cache_clear()
    for factory in (
        _client,
        _mail_client,
        _queue_url,
        _person_key_pepper,
        _connection,
        catalog,
        booking_catalog,
        _bookings,
        booking_queries,
        _backlog_client,
        queue_positions,
        audit_trail,
        staff_service,
        attendance_service,
        booking_service,
        operations_service,
        reconciliation,
        mail_service,
        mail_retry,
        privacy_service,
        contingent_idempotency,
        release_contingent_once,
        _admission_token_key,
        waiting_room_service,
    ):
        factory.cache_clear()
    for factory in (settings.get_limit_settings, _limiter, abuse_limits, verification_service):
        factory.cache_clear()


# --- waiting room (contract §8) -------------------------------------------------------------------


@functools.cache
def _admission_token_key() -> bytes:
    s = get_settings()
    if s.admission_token_key is not None:
        return s.admission_token_key
    if s.admission_token_key_secret_arn is None:
        raise RuntimeError(f"stage {s.stage!r} needs ADMISSION_TOKEN_KEY_SECRET_ARN (the stack's admission key secret)")
    secret = _client("secretsmanager").get_secret_value(SecretId=s.admission_token_key_secret_arn)
    return secret["SecretString"].encode()


@functools.cache
def waiting_room_service():
    from chalicelib.waitingroom.services import WaitingRoomService
    from chalicelib.waitingroom.tokens import AdmissionTokens

    _connection()  # binds the room's items with every other item of the table
    # The key is fetched only when a token is signed or checked: without an active room, booking needs none.
    tokens = functools.cache(lambda: AdmissionTokens(_admission_token_key()))
    return WaitingRoomService(DynamoRoomStore(), catalog(), tokens, clock=lambda: datetime.now(LOCAL_TZ))


def person_key(person) -> str:
    """The booking lock's person key, which an admission is bound to."""
    return person.key(_person_key_pepper())


# --- hotline and audit (issue #13) ----------------------------------------------------------------


def _audit_write_failed(record, error: Exception) -> None:
    # The alarm's metric, and a log to re-enter the record from: a request or campaign id is logged, a booking
    # code never (they are personal data; such records are written in their action's transaction anyway).
    from chalicelib.observability import count, logger

    count("AuditWriteFailed", action=record.action)
    target = None if record.action.startswith("booking.") else record.target
    logger.error(
        "audit record not written",
        extra={
            "action": record.action,
            "target": target,
            "actor": record.actor,
            "role": record.role,
            "at": record.at.isoformat(),
            "after": record.after if target else None,
            "error_type": type(error).__name__,
        },
    )


@functools.cache
def audit_trail():
    from chalicelib.booking.audit import AuditTrail
    from chalicelib.booking.storage.audit import DynamoAuditLog

    _connection()
    return AuditTrail(DynamoAuditLog(), on_failure=_audit_write_failed)


@functools.cache
def staff_service():
    """Hotline agents' look-up and cancel, and the audit of every staff action."""
    from chalicelib.booking.hotline import StaffService
    from chalicelib.booking.storage.callers import DynamoCallerIndex

    s = get_settings()
    return StaffService(
        booking_queries(),
        _bookings(),
        DynamoCallerIndex(),
        SqsMailOutbox(_client("sqs"), _queue_url(s.notify_queue_name)),
        audit_trail(),
        person_key=person_key,
        clock=now,
        mail_records=LedgerMailRecords(_mail_ledger()),
    )


@functools.cache
def attendance_service():
    """Centre staff's day list, check-in and no-show (issue #13; docs/operations.md "Centre staff")."""
    from chalicelib.booking.attendance import AttendanceService
    from chalicelib.booking.storage.attendance import DynamoAttendance

    outbox = SqsMailOutbox(_client("sqs"), _queue_url(get_settings().notify_queue_name))
    return AttendanceService(catalog(), _bookings(), DynamoAttendance(_bookings(), clock=now), clock=now, outbox=outbox)
