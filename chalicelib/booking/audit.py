"""The audit trail of staff actions: who changed a booking or capacity, in which role, what, when, and how.

Plain Python (no AWS): the record, the port its store implements, and `AuditTrail`, which writes a record
*after* an action that is not one transaction with it, retrying before it reports a failure. Actions that are
one transaction (an agent's cancel) put their record into that transaction instead (`Bookings.cancel`).

A record holds no more personal data than an auditor needs: booking codes and request ids, never names,
birth dates, addresses, phone numbers or e-mail addresses (see `summary_of_booking`).
"""

from __future__ import annotations

import abc
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from chalicelib.booking import domain as d

# Ops act through the staff API (a console or curl), not on behalf of a caller.
OPS_CHANNEL = "staff_api"

# Attempts of a write that follows its action; the action itself has happened and is not undone.
AUDIT_WRITE_ATTEMPTS = 3


class AuditAction:
    """What was done; the values are stable (they are stored and listed)."""

    BOOKING_REQUESTED = "booking_request.submitted"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_REBOOKED = "booking.rebooked"
    # An agent corrected the caller's e-mail address or phone: which fields, never the values.
    BOOKING_CONTACT_CHANGED = "booking.contact_changed"
    HOLD_CONFIRMED = "booking.hold_confirmed"  # an agent took the pair held after a centre-day cancel
    BOOKING_CANCELLED_BY_CENTRE = "booking.cancelled_by_centre"  # a centre-day operation (failed delivery)
    BOOKING_MOVED_BY_CENTRE = "booking.moved_by_centre"
    SECOND_DOSE_ADDED = "booking.second_dose_added"  # ops' repair of a first dose without its second
    CAPACITY_CUT = "slot.capacity_cut"
    CAMPAIGN_PUT = "campaign.put"
    CONTINGENT_RELEASED = "contingent.released"
    WAITING_ROOM_PUT = "waiting_room.put"
    LETTERS_LISTED = "operation.letters_listed"  # whose notice (address, phone) an agent read for post or a call
    LETTER_MARKED = "operation.letter_marked"  # a letter of an operation sent, or its caller reached by phone
    LETTER_UNMARKED = "operation.letter_unmarked"  # that mark taken back (a wrong line, a letter come back)


@dataclass(frozen=True)
class Actor:
    """A signed-in staff member: the Cognito user name and the group (role) the action was allowed by."""

    user: str
    role: str


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor: str
    role: str
    action: str
    target: str  # a booking code, request id, campaign id: what an auditor looks up next
    channel: str
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def day(self) -> date:
        """Records are kept per UTC day: listing a day is one partition."""
        return self.at.astimezone(UTC).date()


def new_record(
    actor: Actor,
    action: str,
    target: str,
    at: datetime,
    *,
    before: dict | None = None,
    after: dict | None = None,
    channel: str = d.Channel.HOTLINE.value,
) -> AuditRecord:
    return AuditRecord(
        at=at,
        actor=actor.user,
        role=actor.role,
        action=action,
        target=target,
        channel=channel,
        before=before or {},
        after=after or {},
    )


def summary_of_booking(booking: d.Booking) -> dict:
    """A booking as the audit shows it: code, where, when and state; nothing about the person."""
    return {
        "code": booking.code,
        "status": booking.status.value,
        "campaign_id": booking.campaign_id,
        "center_id": booking.center_id,
        "slots": [a.slot_id for a in booking.appointments],
    }


def summary_of_hold(hold: d.Hold | None) -> dict:
    """A held pair as the audit shows it: its slots and until when."""
    if hold is None:
        return {}
    return {"slots": [a.slot_id for a in hold.appointments], "until": hold.until.isoformat()}


def summary_of_campaign(campaign: d.Campaign | None) -> dict:
    if campaign is None:
        return {}
    return {
        "opens_at": campaign.opens_at.isoformat(),
        "closes_at": campaign.closes_at.isoformat() if campaign.closes_at else None,
        "born_on_or_after": campaign.born_on_or_after.isoformat() if campaign.born_on_or_after else None,
        "born_on_or_before": campaign.born_on_or_before.isoformat() if campaign.born_on_or_before else None,
        "center_ids": list(campaign.center_ids),
        "regions": sorted(campaign.regions),
        "horizon_days": campaign.horizon_days,
        "bookable_until": campaign.bookable_until.isoformat() if campaign.bookable_until else None,
    }


@dataclass(frozen=True)
class AuditPage:
    records: tuple[AuditRecord, ...]
    cursor: tuple[date, str] | None  # (day, last sort key) to continue from, None when done


class AuditLog(abc.ABC):
    """Where records are kept, partitioned by UTC day."""

    @abc.abstractmethod
    def append(self, record: AuditRecord) -> None: ...

    @abc.abstractmethod
    def day(self, day: date, after: str | None, limit: int, actor: str | None) -> tuple[list[AuditRecord], str | None]:
        """Up to `limit` records of one day in time order, after sort key `after`; with the sort key of
        the last one returned if there may be more that day (else None)."""


def sort_key(record: AuditRecord) -> str:
    return f"{record.at.astimezone(UTC).isoformat()}#{record.record_id}"


MAX_AUDIT_DAYS = 31


class AuditTrail:
    """Writes records and lists them. A write that fails after its retries is reported (`on_failure`, a
    metric and an error log in Lambda) and re-raised: the caller's action stands, the alarm says a record
    is missing."""

    def __init__(
        self,
        log: AuditLog,
        on_failure: Callable[[AuditRecord, Exception], None],
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._log = log
        self._on_failure = on_failure
        self._sleep = sleep

    def record(self, record: AuditRecord) -> None:
        for attempt in range(AUDIT_WRITE_ATTEMPTS):
            try:
                self._log.append(record)
                return
            except Exception as error:
                if attempt == AUDIT_WRITE_ATTEMPTS - 1:
                    self._on_failure(record, error)
                    raise
                self._sleep(0.05 * 2**attempt)

    def list(
        self, first: date, last: date, actor: str | None, limit: int, cursor: tuple[date, str] | None = None
    ) -> AuditPage:
        """Records from day `first` to `last` (inclusive, UTC), oldest first, `limit` at a time."""
        if last < first or (last - first).days >= MAX_AUDIT_DAYS:
            raise d.InvalidInput("to", "out_of_range")
        day, after = (cursor[0], cursor[1] or None) if cursor else (first, None)
        if not first <= day <= last:
            raise d.InvalidInput("cursor", "invalid")
        found: list[AuditRecord] = []
        while day <= last:
            records, more = self._log.day(day, after, limit - len(found), actor)
            found += records
            if len(found) >= limit:
                if more is not None:
                    return AuditPage(tuple(found), (day, more))
                if day < last:
                    return AuditPage(tuple(found), (day.fromordinal(day.toordinal() + 1), ""))
                return AuditPage(tuple(found), None)
            day, after = day.fromordinal(day.toordinal() + 1), None
        return AuditPage(tuple(found), None)
