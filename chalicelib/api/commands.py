"""Requests that change state, from a parsed body to one idempotent use-case call.

What makes two calls the same (which key, which body hash) is chosen here, at the edge, from what the
client sent. A booking request's submission is claimed by the bookings table in the same write as the
request itself (`BookingService.submit`); a contingent release goes through powertools Idempotency, which
stores what the call returned as JSON, so its results are turned into plain records and back here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from chalicelib.api import schemas
from chalicelib.booking import domain as d
from chalicelib.booking.operations import SlotRelease
from chalicelib.booking.services import BookingService


def body_hash(body: BaseModel) -> str:
    """The same request body hashes the same whatever its key order: a reused key with another body is caught."""
    return hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def submit_booking_request(
    service: BookingService, body: schemas.BookingRequestBody, idempotency_key: str | None
) -> str:
    """Submit once per Idempotency-Key or, without one, per body (for a day); returns the request id.
    The same key with another body raises IdempotencyKeyReused."""
    digest = body_hash(body)
    submission = d.Submission(
        key=f"header:{idempotency_key}" if idempotency_key else f"body:{digest}", body_hash=digest
    )
    return service.submit(
        body.campaign_id,
        body.center_id,
        body.slot_id,
        body.flexible,
        body.language,
        body.person.to_domain(),
        submission=submission,
        second_slot_id=body.second_slot_id,
    )


def release_contingent(
    release: Callable[..., list[dict]], campaign_id: str, body: schemas.ContingentBody, idempotency_key: str
) -> list[d.Slot]:
    """Release once per campaign and Idempotency-Key; returns the slots as they are after the release."""
    envelope = {"key": f"{campaign_id}:{idempotency_key}", "body_hash": body_hash(body)}
    releases = [SlotRelease(s.start, s.end, s.capacity, body.release_at) for s in body.slots]
    records = release(envelope=envelope, campaign_id=campaign_id, center_id=body.center_id, releases=releases)
    return [slot_from_record(r) for r in records]


def slot_record(slot: d.Slot) -> dict:
    return {
        "campaign_id": slot.campaign_id,
        "center_id": slot.center_id,
        "slot_id": slot.slot_id,
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
        "capacity": slot.capacity,
        "booked": slot.booked,
        "release_at": slot.release_at.isoformat() if slot.release_at else None,
    }


def slot_from_record(record: dict) -> d.Slot:
    release_at = record.get("release_at")
    return d.Slot(
        record["campaign_id"],
        record["center_id"],
        record["slot_id"],
        datetime.fromisoformat(record["start"]),
        datetime.fromisoformat(record["end"]),
        record["capacity"],
        record["booked"],
        datetime.fromisoformat(release_at) if release_at else None,
    )


def centre_day_operation(
    campaign_id: str, body: schemas.CentreDayBody, idempotency_key: str, staff_user: str
) -> d.CentreDayOperation:
    """The operation id comes from the Idempotency-Key: sending the same request again resumes it."""
    if (body.action == "move") != (body.target_day is not None):
        raise d.InvalidInput("target_day", "missing" if body.action == "move" else "invalid")
    operation_id = hashlib.sha256(f"{campaign_id}:{idempotency_key}".encode()).hexdigest()[:32]
    return d.CentreDayOperation(
        operation_id,
        campaign_id,
        body.center_id,
        body.from_,
        body.to or body.from_,
        staff_user,
        target_day=body.target_day if body.action == "move" else None,
    )
