"""Typed settings, read from the environment once, on first use (never at import time)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

# Only the local stage may fall back to a known pepper; anywhere else a missing secret is an error.
_LOCAL_PEPPER = "local-development-pepper-not-secret"
LOCAL_STAGE = "local"
DEPLOYED_STAGES = frozenset({"dev", "prod"})  # the stages of .chalice/config.json that run on AWS


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    idempotency_table_name: str
    booking_queue_name: str
    notify_queue_name: str
    mail_sender: str
    site_url: str
    person_key_pepper: bytes | None  # given directly (local stage and tests only), or read from Secrets Manager:
    person_key_pepper_secret_arn: str | None  # the stack's generated secret, fetched once per cold start
    aws_endpoint_url: str | None  # moto's server locally; None on AWS
    catalog_cache_s: float  # how long a Lambda instance keeps centres and campaigns in memory
    availability_max_age_s: float  # how old the slots behind an availability answer may be (0: read fresh)
    # 2 s by default and in every stage of .chalice/config.json: tests and `make run` see what AWS does.
    # --- waiting room: the HS256 key of admission tokens, given directly (local stage and tests only), or
    # read from the stack's generated secret (Secrets Manager) once per cold start.
    admission_token_key: bytes | None = None
    admission_token_key_secret_arn: str | None = None
    # --- privacy: personal data is deleted this many days after a booking's last appointment (DynamoDB TTL).
    personal_data_retention_days: int = 90


@functools.cache
def get_settings() -> Settings:
    env = os.environ
    # Fail closed: a function that does not know its stage must not guess "local" and hash with the known pepper.
    stage = env.get("VAXSLOT_STAGE", "")
    if stage == LOCAL_STAGE:
        pepper, secret_arn = env.get("PERSON_KEY_PEPPER") or _LOCAL_PEPPER, None
    elif stage in DEPLOYED_STAGES:
        pepper, secret_arn = None, env.get("PERSON_KEY_PEPPER_SECRET_ARN") or None
        if not secret_arn:
            raise RuntimeError(f"stage {stage!r} needs PERSON_KEY_PEPPER_SECRET_ARN (the stack's pepper secret)")
    else:
        raise RuntimeError(
            f"VAXSLOT_STAGE is {stage!r}: set it to {LOCAL_STAGE!r} or one of "
            f"{sorted(DEPLOYED_STAGES)} (.chalice/config.json sets it for every stage)"
        )
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-central-1",
        table_name=env["TABLE_NAME"],
        idempotency_table_name=env["IDEMPOTENCY_TABLE_NAME"],
        booking_queue_name=env["BOOKING_QUEUE_NAME"],
        notify_queue_name=env["NOTIFY_QUEUE_NAME"],
        mail_sender=env["MAIL_SENDER"],
        site_url=env.get("SITE_URL", "").rstrip("/"),
        person_key_pepper=pepper.encode() if pepper else None,
        person_key_pepper_secret_arn=secret_arn,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        catalog_cache_s=float(env.get("CATALOG_CACHE_SECONDS", "30")),
        availability_max_age_s=float(env.get("AVAILABILITY_MAX_AGE_SECONDS", "2")),
        personal_data_retention_days=int(env.get("PERSONAL_DATA_RETENTION_DAYS", "90")),
        **_admission_token_settings(env, stage),
    )


# --- waiting room ---------------------------------------------------------------------------------
# Only the local stage may use a key from the environment (or a known one); a deployed stage reads the stack's
# generated secret (infra/aws/template/functions.py admission_key_secret), like the pepper.
_LOCAL_ADMISSION_TOKEN_KEY = "local-admission-token-key-not-secret-0123456789"


def _admission_token_settings(env, stage: str) -> dict:
    if stage != LOCAL_STAGE:
        # A missing ARN is an error only when a token is signed or checked (bootstrap._admission_token_key):
        # functions that never see a waiting room (the workers) are not given it.
        return {
            "admission_token_key": None,
            "admission_token_key_secret_arn": env.get("ADMISSION_TOKEN_KEY_SECRET_ARN") or None,
        }
    key = env.get("ADMISSION_TOKEN_KEY") or _LOCAL_ADMISSION_TOKEN_KEY
    return {"admission_token_key": key.encode(), "admission_token_key_secret_arn": None}


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits (docs/abuse.md). A maximum of 0 switches that limit off."""

    code_attempts_per_hour: int  # wrong birth dates per booking code (contract §5)
    client_requests_per_minute: int  # per client address, only for requests with X-Forwarded-For
    client_address_hop: int  # which X-Forwarded-For entry is the client: 1 = the right-most (API Gateway's)
    booking_requests_per_person_per_hour: int
    verifications_per_client_per_hour: int
    verifications_per_address_per_hour: int
    verification_attempts: int  # wrong codes per verification
    mails_per_address_per_day: int


@functools.cache
def get_limit_settings() -> LimitSettings:
    env = os.environ
    return LimitSettings(
        code_attempts_per_hour=int(env.get("LIMIT_CODE_ATTEMPTS_PER_HOUR", "10")),
        client_requests_per_minute=int(env.get("LIMIT_CLIENT_REQUESTS_PER_MINUTE", "300")),
        client_address_hop=max(1, int(env.get("CLIENT_ADDRESS_HOP", "1"))),
        booking_requests_per_person_per_hour=int(env.get("LIMIT_BOOKING_REQUESTS_PER_PERSON_PER_HOUR", "10")),
        verifications_per_client_per_hour=int(env.get("LIMIT_VERIFICATIONS_PER_CLIENT_PER_HOUR", "20")),
        verifications_per_address_per_hour=int(env.get("LIMIT_VERIFICATIONS_PER_ADDRESS_PER_HOUR", "3")),
        verification_attempts=int(env.get("LIMIT_VERIFICATION_ATTEMPTS", "5")),
        mails_per_address_per_day=int(env.get("LIMIT_MAILS_PER_ADDRESS_PER_DAY", "10")),
    )
