"""The booking items of the table (PynamoDB models), their key scheme and their mapping to domain objects.

One table, items keyed pk/sk, as described in docs/data-model.md. The models are bound to the table by
`chalicelib.dynamo_binding.bind_table`, with every other item of the table.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.booking import domain as d
from chalicelib.dynamo_binding import TableItem


class CenterItem(TableItem):
    name = UnicodeAttribute()
    address = UnicodeAttribute()
    region = UnicodeAttribute()
    postal_codes = UnicodeSetAttribute()
    vaccines = ListAttribute(of=UnicodeAttribute)
    hotline = UnicodeAttribute(null=True)


class CampaignItem(TableItem):
    name = UnicodeAttribute()
    vaccine = UnicodeAttribute()
    doses = NumberAttribute()
    interval_min_days = NumberAttribute()
    interval_max_days = NumberAttribute()
    regions = UnicodeSetAttribute()
    center_ids = ListAttribute(of=UnicodeAttribute)
    opens_at = UnicodeAttribute()
    closes_at = UnicodeAttribute(null=True)
    born_on_or_after = UnicodeAttribute(null=True)
    born_on_or_before = UnicodeAttribute(null=True)
    series = UnicodeAttribute(null=True)  # absent on items written before series existed: the default series
    verification = UnicodeAttribute(null=True)  # absent: "none" (campaigns stored before it existed)
    # The booking horizon; both absent: the default four weeks (and on campaigns stored before it existed).
    horizon_days = NumberAttribute(null=True)
    bookable_until = UnicodeAttribute(null=True)


class SlotItem(TableItem):
    start = UnicodeAttribute()
    end = UnicodeAttribute()
    capacity = NumberAttribute()
    booked = NumberAttribute()
    release_at = UnicodeAttribute(null=True)  # a scheduled contingent: hidden from booking until then


class _ByCentre(GlobalSecondaryIndex):
    """Booking items by centre and the slot id of one appointment (infra/resources.py defines the index)."""

    center_id = UnicodeAttribute(hash_key=True)


class ByCentreFirst(_ByCentre):
    class Meta:
        index_name = "by-centre-first"
        projection = AllProjection()

    first_slot_id = UnicodeAttribute(range_key=True)


class ByCentreSecond(_ByCentre):
    class Meta:
        index_name = "by-centre-second"
        projection = AllProjection()

    second_slot_id = UnicodeAttribute(range_key=True)


class BookingItem(TableItem):
    # The day list's indexes (chalicelib/booking/storage/attendance.py); their keys are attributes below.
    by_centre_first = ByCentreFirst()
    by_centre_second = ByCentreSecond()

    request_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    center_id = UnicodeAttribute()
    status = UnicodeAttribute()
    first_slot_id = UnicodeAttribute()
    first_start = UnicodeAttribute()
    first_end = UnicodeAttribute()
    second_slot_id = UnicodeAttribute(null=True)
    second_start = UnicodeAttribute(null=True)
    second_end = UnicodeAttribute(null=True)
    # The person's fields. An erased booking (a tombstone) has none of them: it is never mapped to a domain
    # booking, and PynamoDB checks `null` only when a whole item is saved, which a tombstone never is.
    given_name = UnicodeAttribute()
    family_name = UnicodeAttribute()
    birth_date = UnicodeAttribute()
    postal_code = UnicodeAttribute()
    email = UnicodeAttribute(null=True)  # None: a hotline caller without e-mail
    phone = UnicodeAttribute(null=True)
    postal_address = UnicodeAttribute(null=True)
    language = UnicodeAttribute()
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)  # absent on bookings made before channels were recorded: web
    agent = UnicodeAttribute(null=True)
    series = UnicodeAttribute(null=True)  # absent: the default series
    version = NumberAttribute(null=True)  # absent: never rebooked (0)
    rebooked_at = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)  # set on a tombstone: erased on the person's request
    # TTL (epoch seconds): the retention after the last appointment. Null on items written before it existed.
    expires_at = NumberAttribute(null=True)
    operation_id = UnicodeAttribute(null=True)  # the ops operation (centre-day cancel or move) that changed it last
    # Every operation under which an agent marked this booking's letter: an erasure deletes each of those marks,
    # also after a later operation (or a held pair taken) changed operation_id.
    marked_under = UnicodeSetAttribute(null=True)
    # Centre staff's marks per dose (absent: expected) and when they were made (chalicelib/booking/attendance.py).
    first_attendance = UnicodeAttribute(null=True)
    first_attendance_at = UnicodeAttribute(null=True)
    second_attendance = UnicodeAttribute(null=True)
    second_attendance_at = UnicodeAttribute(null=True)
    # The second appointment given back after a first-dose no-show (not held: its seat is free again).
    released_second_slot_id = UnicodeAttribute(null=True)
    released_second_start = UnicodeAttribute(null=True)
    released_second_end = UnicodeAttribute(null=True)
    # An agent's corrections of e-mail or phone (absent: none): the confirmation's revision and when (see Booking).
    contact_revision = NumberAttribute(null=True)
    contact_changed_at = UnicodeAttribute(null=True)


# The attributes an erasure removes from a booking item (everything that names or reaches the person).
PERSONAL_ATTRIBUTES = ("given_name", "family_name", "birth_date", "postal_code", "postal_address", "email", "phone")
ERASED = "erased"  # status of a tombstone; never mapped to a domain booking (it reads as absent)


class PersonLockItem(TableItem):
    booking_code = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # TTL: the booking's; the lock must not outlive it


class OperationItem(TableItem):
    campaign_id = UnicodeAttribute()
    center_id = UnicodeAttribute()
    from_day = UnicodeAttribute()
    to_day = UnicodeAttribute()
    created_by = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)  # JSON of the scan's last evaluated key
    done = NumberAttribute(default=0)
    cancelled = NumberAttribute(default=0)
    target_day = UnicodeAttribute(null=True)  # a move; absent for a cancellation
    moved = NumberAttribute(default=0)


class HoldItem(TableItem):
    """A pair held for the person whose booking an operation cancelled (`BOOKING#code`/`HOLD`): its seats are
    counted in the slots until it is confirmed or given back. No TTL attribute on purpose: a TTL delete would
    not give the seats back; the sweep (`Supply.lapsed_holds`) deletes it and gives them back, once."""

    campaign_id = UnicodeAttribute()
    center_id = UnicodeAttribute()
    operation_id = UnicodeAttribute()
    first_slot_id = UnicodeAttribute()
    first_start = UnicodeAttribute()
    first_end = UnicodeAttribute()
    second_slot_id = UnicodeAttribute(null=True)
    second_start = UnicodeAttribute(null=True)
    second_end = UnicodeAttribute(null=True)
    held_until = NumberAttribute()  # epoch seconds


class RequestItem(TableItem):
    status = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    booking_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    alternatives = UnicodeAttribute(null=True)  # JSON: shown as it was decided, not re-queried
    channel = UnicodeAttribute(null=True)
    agent = UnicodeAttribute(null=True)
    expires_at = NumberAttribute()  # TTL; moto never expires, so reads must not depend on it


class SubmissionItem(TableItem):
    """Which request a submission (Idempotency-Key, else the body) made, for a day: the API's idempotency."""

    request_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL, and the end of the claim (moto never expires: checked on write)


# --- keys -----------------------------------------------------------------------------------------

CENTERS_PK = "CENTERS"
CAMPAIGNS_PK = "CAMPAIGNS"


def slots_pk(campaign_id: str, center_id: str) -> str:
    return f"SLOTS#{campaign_id}#{center_id}"


def booking_key(code: str) -> tuple[str, str]:
    return f"BOOKING#{code}", "BOOKING"


def lock_key(person_key: str, series: str) -> tuple[str, str]:
    """One lock per person and vaccination series: campaigns of one series share it."""
    return f"PERSON#{person_key}", f"SERIES#{series}"


def hold_key(code: str) -> tuple[str, str]:
    """Beside its booking: the booking's partition holds what is held for it."""
    return f"BOOKING#{code}", "HOLD"


def held_pointer_key(person_key: str, code: str) -> tuple[str, str]:
    """In the person's partition, beside their locks: the booking a pair is held for (a cancelled booking has no
    lock any more), so that an agent finds the caller by name (`DynamoCallerIndex`). A lock item with a TTL (the
    hold's end): it names a code only and gives no seats back, so DynamoDB may delete it whenever it likes."""
    return f"PERSON#{person_key}", f"HELD#{code}"


def operation_key(operation_id: str) -> tuple[str, str]:
    return f"OPERATION#{operation_id}", "OPERATION"


LETTER_PREFIX = "LETTER#"


def letter_mark_key(operation_id: str, code: str) -> tuple[str, str]:
    """A booking's letter mark, beside its operation (storage/letters.py); the erasure deletes it too."""
    return operation_key(operation_id)[0], LETTER_PREFIX + code


def request_key(request_id: str) -> tuple[str, str]:
    return f"REQUEST#{request_id}", "REQUEST"


def submission_key(key: str) -> tuple[str, str]:
    """Hashed: the key is whatever a client sent in its Idempotency-Key header."""
    return f"SUBMISSION#{hashlib.sha256(key.encode()).hexdigest()}", "SUBMISSION"


# --- mapping --------------------------------------------------------------------------------------


def date_or_none(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def datetime_or_none(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def slot_from_item(item: SlotItem, campaign_id: str, center_id: str) -> d.Slot:
    return d.Slot(
        campaign_id=campaign_id,
        center_id=center_id,
        slot_id=item.sk,
        start=datetime.fromisoformat(item.start),
        end=datetime.fromisoformat(item.end),
        capacity=int(item.capacity),
        booked=int(item.booked),
        release_at=datetime_or_none(item.release_at),
    )


def _appointment_attributes(first: d.SlotRef, second: d.SlotRef | None) -> dict[str, Any]:
    """The appointment attributes booking and hold items share."""
    return {
        "first_slot_id": first.slot_id,
        "first_start": first.start.isoformat(),
        "first_end": first.end.isoformat(),
        "second_slot_id": second.slot_id if second else None,
        "second_start": second.start.isoformat() if second else None,
        "second_end": second.end.isoformat() if second else None,
    }


def _appointments_of(item: BookingItem | HoldItem) -> tuple[d.SlotRef, d.SlotRef | None]:
    first = d.SlotRef(
        item.first_slot_id, datetime.fromisoformat(item.first_start), datetime.fromisoformat(item.first_end)
    )
    second = None
    if item.second_slot_id and item.second_start and item.second_end:
        second = d.SlotRef(
            item.second_slot_id, datetime.fromisoformat(item.second_start), datetime.fromisoformat(item.second_end)
        )
    return first, second


def booking_from_item(item: BookingItem) -> d.Booking:
    first, second = _appointments_of(item)
    return d.Booking(
        code=item.pk.removeprefix("BOOKING#"),
        request_id=item.request_id,
        campaign_id=item.campaign_id,
        center_id=item.center_id,
        first=first,
        second=second,
        person=d.Person(
            given_name=item.given_name,
            family_name=item.family_name,
            birth_date=date.fromisoformat(item.birth_date),
            postal_code=item.postal_code,
            email=item.email,
            phone=item.phone,
            postal_address=item.postal_address,
        ),
        language=item.language,
        status=d.BookingStatus(item.status),
        created_at=datetime_or_none(item.created_at),
        channel=d.Channel(item.channel or d.Channel.WEB.value),
        agent=item.agent,
        series=item.series or d.DEFAULT_SERIES,
        version=int(item.version or 0),
        first_attendance=d.Attendance(item.first_attendance or d.Attendance.EXPECTED.value),
        second_attendance=d.Attendance(item.second_attendance or d.Attendance.EXPECTED.value),
        released_second=_released_second_of(item),
        contact_revision=int(item.contact_revision or 0),
        contact_changed_at=datetime_or_none(item.contact_changed_at),
    )


def _released_second_of(item: BookingItem) -> d.SlotRef | None:
    if not (item.released_second_slot_id and item.released_second_start and item.released_second_end):
        return None
    return d.SlotRef(
        item.released_second_slot_id,
        datetime.fromisoformat(item.released_second_start),
        datetime.fromisoformat(item.released_second_end),
    )


def pairs_to_json(pairs: list[d.SlotPair]) -> str:
    def ref(slot: d.Slot | None):
        if slot is None:
            return None
        return {
            "slot_id": slot.slot_id,
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "remaining": slot.remaining,
        }

    return json.dumps([{"first": ref(p.first), "second": ref(p.second)} for p in pairs])


def pairs_from_json(text: str | None, campaign_id: str, center_id: str) -> tuple[d.SlotPair, ...]:
    def slot(data):
        if data is None:
            return None
        return d.Slot(
            campaign_id,
            center_id,
            data["slot_id"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            capacity=data["remaining"],
            booked=0,
        )

    return tuple(d.SlotPair(slot(p["first"]), slot(p["second"])) for p in json.loads(text or "[]"))


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def booking_item(booking: d.Booking, created_at: datetime, expires_at: datetime | None = None) -> BookingItem:
    pk, sk = booking_key(booking.code)
    return BookingItem(
        pk,
        sk,
        request_id=booking.request_id,
        campaign_id=booking.campaign_id,
        center_id=booking.center_id,
        status=booking.status.value,
        **_appointment_attributes(booking.first, booking.second),
        given_name=booking.person.given_name,
        family_name=booking.person.family_name,
        birth_date=booking.person.birth_date.isoformat(),
        postal_code=booking.person.postal_code,
        email=booking.person.email,
        phone=booking.person.phone,
        postal_address=booking.person.postal_address,
        language=booking.language,
        created_at=created_at.isoformat(),
        channel=booking.channel.value,
        agent=booking.agent,
        series=booking.series,
        version=booking.version,
        expires_at=epoch(expires_at) if expires_at else None,
        first_attendance=_mark_or_none(booking.first_attendance),
        second_attendance=_mark_or_none(booking.second_attendance),
    )


def hold_item(hold: d.Hold) -> HoldItem:
    return HoldItem(
        *hold_key(hold.code),
        campaign_id=hold.campaign_id,
        center_id=hold.center_id,
        operation_id=hold.operation_id,
        **_appointment_attributes(hold.first, hold.second),
        held_until=epoch(hold.until),
    )


def hold_from_item(item: HoldItem) -> d.Hold:
    first, second = _appointments_of(item)
    return d.Hold(
        code=item.pk.removeprefix("BOOKING#"),
        campaign_id=item.campaign_id,
        center_id=item.center_id,
        first=first,
        second=second,
        until=datetime.fromtimestamp(int(item.held_until), d.LOCAL_TZ),
        operation_id=item.operation_id,
    )


def _mark_or_none(mark: d.Attendance) -> str | None:
    """Not marked is stored as absent, as on items written before marks existed."""
    return None if mark is d.Attendance.EXPECTED else mark.value
