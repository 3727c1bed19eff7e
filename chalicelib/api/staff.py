"""The HTTP edge of the hotline and the audit: who the staff member is, request models, response bodies.

Kept apart from the citizen edge (`schemas`, `views`, `commands`) so that the citizen contract stays as it
is: a caller booked by an agent may have no e-mail, a citizen on the site must give one.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.api import schemas, views
from chalicelib.api.commands import body_hash
from chalicelib.api.errors import ApiError, FieldProblem
from chalicelib.api.http import STAFF_GROUPS_CLAIM, require_group
from chalicelib.booking import domain as d
from chalicelib.booking.attendance import DayAppointment
from chalicelib.booking.audit import Actor, AuditPage, AuditRecord
from chalicelib.booking.hotline import StaffService
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind
from chalicelib.booking.mail_status import BookingMails, MailStatus
from chalicelib.booking.operations import Letter, LettersPage
from chalicelib.booking.queries import BookingView
from chalicelib.booking.services import BookingService

# --- who acts -------------------------------------------------------------------------------------


def staff_actor(request, *allowed: str) -> Actor:
    """The signed-in staff member and the first of `allowed` roles they hold (401/403 as `require_group`)."""
    user = require_group(request, *allowed)
    claims = request.context["authorizer"]["claims"]
    groups = claims.get(STAFF_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = groups.strip("[]").replace(",", " ").split()
    return Actor(user=user, role=next(role for role in allowed if role in groups))


# --- request models -------------------------------------------------------------------------------

POSTAL_ADDRESS_MAX_LENGTH = 300


def _postal_address(value: str | None) -> str | None:
    """Street, number, postal code and town as the caller says them; lines kept, controls rejected."""
    if value is None or not value.strip():
        return None
    lines = [" ".join(line.split()) for line in value.strip().splitlines()]
    text = "\n".join(line for line in lines if line)
    if len(text) > POSTAL_ADDRESS_MAX_LENGTH or any(unicodedata.category(ch)[0] == "C" for ch in text if ch != "\n"):
        raise PydanticCustomError("invalid", "invalid postal address")
    return text


def _optional_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return schemas._email(value)


class CallerBody(schemas._Body):
    """A caller as an agent takes them down: e-mail optional, but some way to reach them (phone or post)."""

    given_name: schemas.Name
    family_name: schemas.Name
    birth_date: schemas.BirthDate
    postal_code: schemas.PostalCode
    email: Annotated[str | None, AfterValidator(_optional_email)] = None
    phone: Annotated[str | None, AfterValidator(schemas._phone)] = None
    postal_address: Annotated[str | None, AfterValidator(_postal_address)] = None

    @model_validator(mode="after")
    def _reachable(self) -> CallerBody:
        if not (self.email or self.phone or self.postal_address):
            raise PydanticCustomError("missing", "a phone number, postal address or e-mail is needed")
        return self

    def to_domain(self) -> d.Person:
        return d.Person(**self.model_dump())


class ContactBody(schemas._Body):
    """An agent's correction of a caller's e-mail address and phone: both given (null: the caller has none), checked
    by the same rules as a booking's; the birth date identifies the caller as in the look-up."""

    birth_date: schemas.BirthDate
    email: Annotated[str | None, AfterValidator(_optional_email)]
    phone: Annotated[str | None, AfterValidator(schemas._phone)]


class HotlineBookingRequestBody(schemas._Body):
    campaign_id: schemas.Identifier
    center_id: schemas.Identifier
    slot_id: schemas.Identifier
    flexible: bool = False
    language: Literal["de", "en"] = "de"
    person: CallerBody
    second_slot_id: schemas.Identifier | None = None  # the second dose shown with slot_id (optional)


class FindCallerQuery(schemas._Body):
    given_name: schemas.Name
    family_name: schemas.Name
    birth_date: schemas.BirthDate
    postal_code: schemas.PostalCode


class AuditQuery(schemas._Body):
    from_: schemas.ServiceDay = Field(alias="from")
    to: schemas.ServiceDay
    actor: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str, Field(max_length=400)] | None = None


class LettersQuery(schemas._Body):
    limit: int = Field(default=100, ge=1, le=500)
    cursor: Annotated[str, Field(max_length=2000)] | None = None
    only_open: bool = False  # leave out the letters marked sent or called


class LetterMarkBody(schemas._Body):
    mark: LetterMarkKind


def parse_caller_query(query: Mapping[str, str]) -> FindCallerQuery:
    return schemas.parse(FindCallerQuery, query)


# --- commands -------------------------------------------------------------------------------------


def submit_for_caller(
    booking: BookingService,
    service: StaffService,
    body: HotlineBookingRequestBody,
    idempotency_key: str | None,
    actor: Actor,
) -> str:
    """The citizen route's idempotent submit, with the hotline channel and the agent recorded, then audited.
    Keys are kept apart from the web's, so an agent's retry never answers with a citizen's request."""
    digest = body_hash(body)
    key = f"hotline:header:{idempotency_key}" if idempotency_key else f"hotline:body:{digest}"
    request_id = booking.submit(
        body.campaign_id,
        body.center_id,
        body.slot_id,
        body.flexible,
        body.language,
        body.person.to_domain(),
        channel=d.Channel.HOTLINE,
        agent=actor.user,
        submission=d.Submission(key=key, body_hash=digest),
        second_slot_id=body.second_slot_id,
    )
    service.booking_requested(
        actor, request_id, body.campaign_id, body.center_id, body.slot_id, has_email=body.person.email is not None
    )
    return request_id


def decode_cursor(cursor: str | None) -> tuple[date, str] | None:
    if cursor is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        return date.fromisoformat(data["day"]), str(data["after"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "invalid_request", [FieldProblem("cursor", "invalid")]) from None


def encode_cursor(cursor: tuple[date, str] | None) -> str | None:
    if cursor is None:
        return None
    raw = json.dumps({"day": cursor[0].isoformat(), "after": cursor[1]}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_scan_cursor(cursor: str | None) -> str | None:
    """The letters' cursor: the scan position `Supply.bookings_in` gave, made opaque for the query string."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode()
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", [FieldProblem("cursor", "invalid")]) from None
    return raw


def encode_scan_cursor(cursor: str | None) -> str | None:
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=") if cursor is not None else None


# --- response bodies ------------------------------------------------------------------------------


def staff_booking(view: BookingView) -> dict:
    """What an agent reads out and prints: the citizen's view plus contact, channel and the region's hotline."""
    b = view.booking
    return {
        **views.booking(view),
        "person": {
            "given_name": b.person.given_name,
            "family_name": b.person.family_name,
            "birth_date": b.person.birth_date.isoformat(),
            "postal_code": b.person.postal_code,
            "postal_address": b.person.postal_address,
            "phone": b.person.phone,
            "has_email": bool(b.person.email),
        },
        "channel": b.channel.value,
        "language": b.language,
    }


def staff_booking_with_mail(view: BookingView, mails: BookingMails | None) -> dict:
    """The staff booking with what became of its mails (`mail`; null: the person has no e-mail)."""
    return {**staff_booking(view), "mail": booking_mails(mails)}


def _local(at: datetime | None) -> str | None:
    return at.astimezone(d.LOCAL_TZ).isoformat() if at is not None else None


def _mail_status(m: MailStatus | None) -> dict | None:
    return None if m is None else {"kind": m.kind.value, "state": m.state.value, "at": _local(m.at)}


def booking_mails(mails: BookingMails | None) -> dict | None:
    if mails is None:
        return None
    block = mails.block
    return {
        "confirmation": _mail_status(mails.confirmation),
        "latest": _mail_status(mails.latest),
        "blocked": None if block is None else {"reason": block.reason, "since": _local(block.since)},
    }


def letter(x: Letter) -> dict:
    """One notice for post or a call: who (name, postal address, phone; no birth date, no e-mail: they have
    none), which booking, the appointments as the operation left them, the held pair, and the text to print."""
    b = x.booking
    return {
        "code": b.code,
        "kind": x.kind.value,
        "language": x.language,
        "recipient": {
            "given_name": b.person.given_name,
            "family_name": b.person.family_name,
            "postal_address": b.person.postal_address,
            "phone": b.person.phone,
        },
        "center": views.center(x.center),
        "appointments": [
            {"dose": n, "slot_id": a.slot_id, "start": a.start.isoformat(), "end": a.end.isoformat()}
            for n, a in enumerate(b.appointments, start=1)
        ],
        "held": views.booking(BookingView(b, x.center, x.hold))["held"] if x.hold is not None else None,
        "text": x.text(),
        "reason": x.reason.value,
        "mark": letter_mark(x.mark),
    }


def letter_mark(mark: LetterMark | None) -> dict | None:
    return None if mark is None else {"mark": mark.kind.value, "by": mark.by, "at": mark.at.isoformat()}


def letters_page(page: LettersPage) -> dict:
    operation = page.operation
    return {
        "operation_id": operation.operation_id,
        "campaign_id": operation.campaign_id,
        "center_id": operation.center_id,
        "from": operation.from_day.isoformat(),
        "to": operation.to_day.isoformat(),
        "status": "done" if operation.done else "running",
        "letters": [letter(x) for x in page.letters],
        "counts": {"open": page.open, "done": page.done, "done_in_operation": page.done_in_operation},
        "next_cursor": encode_scan_cursor(page.cursor),
    }


def audit_record(r: AuditRecord) -> dict:
    return {
        "id": r.record_id,
        "at": r.at.isoformat(),
        "actor": r.actor,
        "role": r.role,
        "action": r.action,
        "target": r.target,
        "channel": r.channel,
        "before": r.before,
        "after": r.after,
    }


def audit_page(page: AuditPage) -> dict:
    return {"records": [audit_record(r) for r in page.records], "next_cursor": encode_cursor(page.cursor)}


# --- centre staff (issue #13; docs/operations.md "Centre staff") ---------------------------------
# A centre's staff hold the Cognito group `center_staff:<center_id>` (one per centre they work at); admins may
# act at every centre. The centre is in the route's path, so a desk of another centre is refused before any
# data is read.

CENTER_STAFF = "center_staff"


def center_group(center_id: str) -> str:
    return f"{CENTER_STAFF}:{center_id}"


def centre_actor(request, center_id: str) -> Actor:
    """The signed-in member of `center_id`'s staff (or an admin); 401 without a token, 403 for anyone else."""
    user = require_group(request, "admin", center_group(center_id))
    claims = request.context["authorizer"]["claims"]
    groups = claims.get(STAFF_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = groups.strip("[]").replace(",", " ").split()
    return Actor(user=user, role=CENTER_STAFF if center_group(center_id) in groups else "admin")


class MarkBody(schemas._Body):
    dose: Literal[1, 2]


def day_line(line: DayAppointment) -> dict:
    """One appointment of the day list: what a desk needs to check a person in, and no more (no birth date,
    no contact data)."""
    b, appointment = line.booking, line.appointment
    return {
        "code": b.code,
        "campaign_id": b.campaign_id,
        "dose": line.dose,
        "slot_id": appointment.slot_id,
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "given_name": b.person.given_name,
        "family_name": b.person.family_name,
        "attendance": line.attendance.value,
        # A second dose whose first was missed cannot be checked in (docs/operations.md).
        "first_dose_attendance": b.first_attendance.value if line.dose == 2 else None,
        # held; released: given back after the first dose was missed (and not taken again); none: no second.
        "second_appointment": "held" if b.second else "released" if b.released_second else "none",
    }


def day_list(center_id: str, day: date, lines: list[DayAppointment]) -> dict:
    return {"center_id": center_id, "day": day.isoformat(), "appointments": [day_line(x) for x in lines]}


class DayPath(schemas._Body):
    center_id: schemas.Identifier
    day: schemas.ServiceDay


def parse_day_path(center_id: str, day: str) -> DayPath:
    return schemas.parse(DayPath, {"center_id": center_id, "day": day})
