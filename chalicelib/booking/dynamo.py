"""DynamoDB adapter (PynamoDB): one table, items keyed pk/sk, as described in docs/data-model.md.

PynamoDB models stay in this module; the rest of the code sees domain objects only. A cancelled
transaction is translated here into the domain outcome it means.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog

REQUEST_RETENTION = timedelta(days=90)
# DynamoDB cancels a transaction that races another one on the same item (TransactionConflict);
# that is contention, not an answer, so it is retried here a few times with jitter.
CONFLICT_RETRIES = 4


class _Item(Model):
    class Meta:
        table_name = "unbound"  # set by bind_models(); models are never used before that

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CenterItem(_Item):
    name = UnicodeAttribute()
    address = UnicodeAttribute()
    region = UnicodeAttribute()
    postal_codes = UnicodeSetAttribute()
    vaccines = ListAttribute(of=UnicodeAttribute)


class CampaignItem(_Item):
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


class SlotItem(_Item):
    start = UnicodeAttribute()
    end = UnicodeAttribute()
    capacity = NumberAttribute()
    booked = NumberAttribute()


class BookingItem(_Item):
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
    given_name = UnicodeAttribute()
    family_name = UnicodeAttribute()
    birth_date = UnicodeAttribute()
    postal_code = UnicodeAttribute()
    email = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    language = UnicodeAttribute()
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)


class PersonLockItem(_Item):
    booking_code = UnicodeAttribute()


class RequestItem(_Item):
    status = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    booking_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    alternatives = UnicodeAttribute(null=True)  # JSON: shown as it was decided, not re-queried
    expires_at = NumberAttribute()  # TTL; moto never expires, so reads must not depend on it


MODELS = (CenterItem, CampaignItem, SlotItem, BookingItem, PersonLockItem, RequestItem)


def bind_models(table_name: str, region: str, host: str | None) -> Connection:
    """Point every model at the table; returns the connection transactions use."""
    for model in MODELS:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None  # PynamoDB caches the connection per class
    return Connection(region=region, host=host)


# --- keys -----------------------------------------------------------------------------------------

CENTERS_PK = "CENTERS"
CAMPAIGNS_PK = "CAMPAIGNS"


def slots_pk(campaign_id: str, center_id: str) -> str:
    return f"SLOTS#{campaign_id}#{center_id}"


def booking_key(code: str) -> tuple[str, str]:
    return f"BOOKING#{code}", "BOOKING"


def lock_key(person_key: str, campaign_id: str) -> tuple[str, str]:
    return f"PERSON#{person_key}", f"CAMPAIGN#{campaign_id}"


def request_key(request_id: str) -> tuple[str, str]:
    return f"REQUEST#{request_id}", "REQUEST"


# --- mapping --------------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _slot(item: SlotItem, campaign_id: str, center_id: str) -> d.Slot:
    return d.Slot(
        campaign_id=campaign_id,
        center_id=center_id,
        slot_id=item.sk,
        start=datetime.fromisoformat(item.start),
        end=datetime.fromisoformat(item.end),
        capacity=int(item.capacity),
        booked=int(item.booked),
    )


def _booking(item: BookingItem) -> d.Booking:
    second = None
    if item.second_slot_id:
        second = d.SlotRef(item.second_slot_id, _datetime(item.second_start), _datetime(item.second_end))
    return d.Booking(
        code=item.pk.removeprefix("BOOKING#"),
        request_id=item.request_id,
        campaign_id=item.campaign_id,
        center_id=item.center_id,
        first=d.SlotRef(item.first_slot_id, _datetime(item.first_start), _datetime(item.first_end)),
        second=second,
        person=d.Person(
            given_name=item.given_name,
            family_name=item.family_name,
            birth_date=date.fromisoformat(item.birth_date),
            postal_code=item.postal_code,
            email=item.email,
            phone=item.phone,
        ),
        language=item.language,
        status=d.BookingStatus(item.status),
        created_at=_datetime(item.created_at),
    )


def pairs_to_json(pairs: list[d.SlotPair]) -> str:
    def ref(slot: d.Slot | None):
        if slot is None:
            return None
        return {"slot_id": slot.slot_id, "start": slot.start.isoformat(), "end": slot.end.isoformat(),
                "remaining": slot.remaining}

    return json.dumps([{"first": ref(p.first), "second": ref(p.second)} for p in pairs])


def pairs_from_json(text: str | None, campaign_id: str, center_id: str) -> tuple[d.SlotPair, ...]:
    def slot(data):
        if data is None:
            return None
        return d.Slot(campaign_id, center_id, data["slot_id"], datetime.fromisoformat(data["start"]),
                      datetime.fromisoformat(data["end"]), capacity=data["remaining"], booked=0)

    return tuple(d.SlotPair(slot(p["first"]), slot(p["second"])) for p in json.loads(text or "[]"))


# --- adapters -------------------------------------------------------------------------------------


class DynamoCatalog(Catalog):
    def centers(self) -> list[d.Center]:
        return [
            d.Center(
                id=i.sk,
                name=i.name,
                address=i.address,
                region=i.region,
                postal_codes=frozenset(i.postal_codes or ()),
                vaccines=tuple(i.vaccines or ()),
            )
            for i in CenterItem.query(CENTERS_PK)
        ]

    def campaigns(self) -> list[d.Campaign]:
        return [
            d.Campaign(
                id=i.sk,
                name=i.name,
                vaccine=i.vaccine,
                doses=int(i.doses),
                interval_min_days=int(i.interval_min_days),
                interval_max_days=int(i.interval_max_days),
                regions=frozenset(i.regions or ()),
                center_ids=tuple(i.center_ids or ()),
                opens_at=datetime.fromisoformat(i.opens_at),
                closes_at=_datetime(i.closes_at),
                born_on_or_after=_date(i.born_on_or_after),
                born_on_or_before=_date(i.born_on_or_before),
            )
            for i in CampaignItem.query(CAMPAIGNS_PK)
        ]

    def slots(self, campaign_id: str, center_id: str, start: datetime, end: datetime,
              max_age_s: float = 0) -> list[d.Slot]:
        last = d.slot_id_for(end - timedelta(minutes=1))
        items = SlotItem.query(
            slots_pk(campaign_id, center_id),
            SlotItem.sk.between(d.slot_id_for(start), last),
            consistent_read=max_age_s <= 0,  # an eventually consistent read is about a second behind, at half the cost
        )
        return [s for s in (_slot(i, campaign_id, center_id) for i in items) if start <= s.start < end]

    def slot(self, campaign_id: str, center_id: str, slot_id: str) -> d.Slot | None:
        try:
            item = SlotItem.get(slots_pk(campaign_id, center_id), slot_id, consistent_read=True)
        except SlotItem.DoesNotExist:
            return None
        return _slot(item, campaign_id, center_id)

    def add_center(self, center: d.Center) -> None:
        CenterItem(
            CENTERS_PK,
            center.id,
            name=center.name,
            address=center.address,
            region=center.region,
            postal_codes=set(center.postal_codes),
            vaccines=list(center.vaccines),
        ).save()

    def add_campaign(self, campaign: d.Campaign) -> None:
        CampaignItem(
            CAMPAIGNS_PK,
            campaign.id,
            name=campaign.name,
            vaccine=campaign.vaccine,
            doses=campaign.doses,
            interval_min_days=campaign.interval_min_days,
            interval_max_days=campaign.interval_max_days,
            regions=set(campaign.regions),
            center_ids=list(campaign.center_ids),
            opens_at=campaign.opens_at.isoformat(),
            closes_at=campaign.closes_at.isoformat() if campaign.closes_at else None,
            born_on_or_after=campaign.born_on_or_after.isoformat() if campaign.born_on_or_after else None,
            born_on_or_before=campaign.born_on_or_before.isoformat() if campaign.born_on_or_before else None,
        ).save()

    def release_slots(self, slots: list[d.Slot]) -> None:
        # An atomic add, so a contingent released while people book never loses their bookings.
        for slot in slots:
            SlotItem(slots_pk(slot.campaign_id, slot.center_id), slot.slot_id).update(
                actions=[
                    SlotItem.start.set(slot.start.isoformat()),
                    SlotItem.end.set(slot.end.isoformat()),
                    SlotItem.capacity.add(slot.capacity),
                    SlotItem.booked.set(SlotItem.booked | 0),
                ]
            )


def failed_conditions(error: TransactWriteError) -> list[bool]:
    return [r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or []]


def _is_conflict(error: TransactWriteError) -> bool:
    codes = {r.code for r in error.cancellation_reasons or [] if r is not None}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


class DynamoBookings(Bookings):
    def __init__(self, connection: Connection, sleep: Callable[[float], None] = time.sleep):
        self._connection = connection
        self._sleep = sleep

    def _transact(self, add_items: Callable[[TransactWrite], None], token: str | None = None) -> None:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with TransactWrite(connection=self._connection, client_request_token=token) as tx:
                    add_items(tx)
                return
            except TransactWriteError as error:
                if not _is_conflict(error) or attempt == CONFLICT_RETRIES:
                    raise
                self._sleep(random.uniform(0, 0.02 * 2**attempt))

    def add_request(self, request: d.BookingRequest, created_at: datetime) -> None:
        pk, sk = request_key(request.request_id)
        RequestItem(
            pk,
            sk,
            status=d.RequestStatus.QUEUED.value,
            campaign_id=request.campaign_id,
            created_at=created_at.isoformat(),
            expires_at=int((created_at + REQUEST_RETENTION).timestamp()),
        ).save(condition=RequestItem.pk.does_not_exist())

    def request_state(self, request_id: str) -> d.RequestState | None:
        try:
            item = RequestItem.get(*request_key(request_id), consistent_read=True)
        except RequestItem.DoesNotExist:
            return None
        alternatives: tuple[d.SlotPair, ...] = ()
        if item.alternatives:
            campaign_center = json.loads(item.alternatives)
            alternatives = pairs_from_json(
                json.dumps(campaign_center["pairs"]), item.campaign_id, campaign_center["center_id"]
            )
        return d.RequestState(
            request_id=request_id,
            status=d.RequestStatus(item.status),
            booking_code=item.booking_code,
            reason=d.RejectReason(item.reason) if item.reason else None,
            alternatives=alternatives,
        )

    def reserve(self, booking: d.Booking, person_key: str) -> None:
        slots_key = slots_pk(booking.campaign_id, booking.center_id)
        token_source = "|".join([booking.request_id] + [a.slot_id for a in booking.appointments])
        # What a failed condition of each item means, in the order DynamoDB reports the reasons. PynamoDB
        # sends items grouped by kind (condition checks, deletes, puts, updates), not in the order added.
        meanings: list[type[d.DomainError] | None] = [
            None,  # put booking: a booking-code collision (p ≈ 2**-49), not a domain outcome
            d.AlreadyBooked,  # put person lock
            *[d.FirstSlotTaken, d.SecondSlotTaken][:len(booking.appointments)],  # update slot counters
            d.RequestAlreadyDecided,  # update request
        ]

        def add_items(tx: TransactWrite) -> None:
            for appointment in booking.appointments:
                tx.update(
                    SlotItem(slots_key, appointment.slot_id),
                    actions=[SlotItem.booked.add(1)],
                    condition=SlotItem.booked < SlotItem.capacity,
                )
            tx.save(self._booking_item(booking), condition=BookingItem.pk.does_not_exist())
            tx.save(PersonLockItem(*lock_key(person_key, booking.campaign_id), booking_code=booking.code),
                    condition=PersonLockItem.pk.does_not_exist())
            tx.update(
                RequestItem(*request_key(booking.request_id)),
                actions=[RequestItem.status.set(d.RequestStatus.BOOKED.value),
                         RequestItem.booking_code.set(booking.code)],
                condition=RequestItem.status == d.RequestStatus.QUEUED.value,
            )

        try:
            # Same request, same pair → same token: a call retried by the SDK cannot book twice.
            self._transact(add_items, token=hashlib.sha256(token_source.encode()).hexdigest()[:36])
        except TransactWriteError as error:
            failed = {meaning for meaning, hit in zip(meanings, failed_conditions(error)) if hit}
            # A decided request outranks everything (duplicate delivery), then the person lock.
            for outcome in (d.RequestAlreadyDecided, d.AlreadyBooked, d.FirstSlotTaken, d.SecondSlotTaken):
                if outcome in failed:
                    raise outcome() from error
            raise

    def holds_booking(self, person_key: str, campaign_id: str) -> bool:
        try:
            PersonLockItem.get(*lock_key(person_key, campaign_id), consistent_read=True)
        except PersonLockItem.DoesNotExist:
            return False
        return True

    def reject(self, request_id: str, reason: d.RejectReason, alternatives: list[d.SlotPair]) -> None:
        center_id = alternatives[0].first.center_id if alternatives else ""
        payload = json.dumps({"center_id": center_id, "pairs": json.loads(pairs_to_json(alternatives))})
        try:
            RequestItem(*request_key(request_id)).update(
                actions=[RequestItem.status.set(d.RequestStatus.REJECTED.value),
                         RequestItem.reason.set(reason.value),
                         RequestItem.alternatives.set(payload)],
                condition=RequestItem.status == d.RequestStatus.QUEUED.value,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def booking(self, code: str) -> d.Booking | None:
        try:
            return _booking(BookingItem.get(*booking_key(code), consistent_read=True))
        except BookingItem.DoesNotExist:
            return None

    def active_bookings(self) -> Iterator[d.Booking]:
        scan = BookingItem.scan(
            (BookingItem.sk == "BOOKING") & (BookingItem.status == d.BookingStatus.ACTIVE.value),
            consistent_read=True,
        )
        return (_booking(item) for item in scan)

    def cancel(self, booking: d.Booking, person_key: str) -> bool:
        slots_key = slots_pk(booking.campaign_id, booking.center_id)

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[BookingItem.status.set(d.BookingStatus.CANCELLED.value),
                         BookingItem.cancelled_at.set(datetime.now(d.LOCAL_TZ).isoformat())],
                condition=BookingItem.status == d.BookingStatus.ACTIVE.value,
            )
            for appointment in booking.appointments:
                tx.update(SlotItem(slots_key, appointment.slot_id), actions=[SlotItem.booked.add(-1)],
                          condition=SlotItem.booked > 0)
            tx.delete(PersonLockItem(*lock_key(person_key, booking.campaign_id)),
                      condition=PersonLockItem.booking_code == booking.code)

        try:
            self._transact(add_items)
        except TransactWriteError as error:
            # Reasons come grouped by kind: the lock delete first, then the booking update.
            if failed_conditions(error)[1:2] == [True]:
                return False  # cancelled before: nothing to give back
            raise
        return True

    @staticmethod
    def _booking_item(booking: d.Booking) -> BookingItem:
        pk, sk = booking_key(booking.code)
        second = booking.second
        return BookingItem(
            pk,
            sk,
            request_id=booking.request_id,
            campaign_id=booking.campaign_id,
            center_id=booking.center_id,
            status=booking.status.value,
            first_slot_id=booking.first.slot_id,
            first_start=booking.first.start.isoformat(),
            first_end=booking.first.end.isoformat(),
            second_slot_id=second.slot_id if second else None,
            second_start=second.start.isoformat() if second else None,
            second_end=second.end.isoformat() if second else None,
            given_name=booking.person.given_name,
            family_name=booking.person.family_name,
            birth_date=booking.person.birth_date.isoformat(),
            postal_code=booking.person.postal_code,
            email=booking.person.email,
            phone=booking.person.phone,
            language=booking.language,
            created_at=(booking.created_at or datetime.now(d.LOCAL_TZ)).isoformat(),
        )
