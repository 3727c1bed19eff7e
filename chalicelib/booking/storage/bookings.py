"""The bookings adapter: requests, bookings and person locks, changed together in transactions.

A cancelled transaction is translated here into the domain outcome it means.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings
from chalicelib.booking.storage.models import (
    ERASED,
    PERSONAL_ATTRIBUTES,
    BookingItem,
    PersonLockItem,
    RequestItem,
    SlotItem,
    booking_from_item,
    booking_item,
    booking_key,
    epoch,
    lock_key,
    pairs_from_json,
    pairs_to_json,
    request_key,
    slots_pk,
)

# DynamoDB cancels a transaction that races another one on the same item (TransactionConflict);
# that is contention, not an answer, so it is retried here a few times with jitter.
CONFLICT_RETRIES = 4


def failed_conditions(error: TransactWriteError) -> list[bool]:
    return [r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or []]


def _is_conflict(error: TransactWriteError) -> bool:
    codes = {r.code for r in error.cancellation_reasons or [] if r is not None}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


class DynamoBookings(Bookings):
    def __init__(self, connection: Connection, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(d.LOCAL_TZ),
                 retention: timedelta = d.DEFAULT_RETENTION):
        self._connection = connection
        self._sleep = sleep
        self._now = clock
        self._retention = retention

    def _expired(self, item) -> bool:
        """DynamoDB deletes an item up to 48 h after its TTL (moto never does): past it, it reads as gone."""
        return item.expires_at is not None and item.expires_at <= self._now().timestamp()

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
            expires_at=epoch(created_at + self._retention),
        ).save(condition=RequestItem.pk.does_not_exist())

    def request_state(self, request_id: str) -> d.RequestState | None:
        try:
            item = RequestItem.get(*request_key(request_id), consistent_read=True)
        except RequestItem.DoesNotExist:
            return None
        if self._expired(item):
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

        # Booking, lock and request (it names the code) are deleted together, a retention after the last appointment.
        expires_at = booking.personal_data_expires_at(self._retention)

        def add_items(tx: TransactWrite) -> None:
            for appointment in booking.appointments:
                tx.update(
                    SlotItem(slots_key, appointment.slot_id),
                    actions=[SlotItem.booked.add(1)],
                    condition=SlotItem.booked < SlotItem.capacity,
                )
            tx.save(booking_item(booking, booking.created_at or self._now(), expires_at),
                    condition=BookingItem.pk.does_not_exist())
            # A lock past its TTL that DynamoDB has not deleted yet no longer counts (as in holds_booking).
            tx.save(PersonLockItem(*lock_key(person_key, booking.campaign_id), booking_code=booking.code,
                                   expires_at=epoch(expires_at)),
                    condition=PersonLockItem.pk.does_not_exist() | (PersonLockItem.expires_at <= epoch(self._now())))
            tx.update(
                RequestItem(*request_key(booking.request_id)),
                actions=[RequestItem.status.set(d.RequestStatus.BOOKED.value),
                         RequestItem.booking_code.set(booking.code),
                         RequestItem.expires_at.set(epoch(expires_at))],
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
            item = PersonLockItem.get(*lock_key(person_key, campaign_id), consistent_read=True)
        except PersonLockItem.DoesNotExist:
            return False
        return not self._expired(item)

    def person_locks(self, person_key: str) -> dict[str, str]:
        pk, _ = lock_key(person_key, "")
        return {item.sk.removeprefix("CAMPAIGN#"): item.booking_code
                for item in PersonLockItem.query(pk, consistent_read=True) if not self._expired(item)}

    def reject(self, request_id: str, reason: d.RejectReason, alternatives: list[d.SlotPair]) -> bool:
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
            return False
        return True

    def booking(self, code: str) -> d.Booking | None:
        try:
            item = BookingItem.get(*booking_key(code), consistent_read=True)
        except BookingItem.DoesNotExist:
            return None
        if item.status == ERASED or self._expired(item):
            return None
        return booking_from_item(item)

    def active_bookings(self) -> Iterator[d.Booking]:
        scan = BookingItem.scan(
            (BookingItem.sk == "BOOKING") & (BookingItem.status == d.BookingStatus.ACTIVE.value),
            consistent_read=True,
        )
        return (booking_from_item(item) for item in scan if not self._expired(item))

    def erase(self, booking: d.Booking) -> None:
        """Leave a tombstone: the booking item without personal data (status `erased`). The booking must be
        cancelled first (that gave its slots back and deleted its lock)."""
        if booking.status is d.BookingStatus.ACTIVE:
            raise ValueError("cancel an active booking before erasing it: its slots must go back first")
        personal = [getattr(BookingItem, name) for name in PERSONAL_ATTRIBUTES]
        BookingItem(*booking_key(booking.code)).update(
            actions=[BookingItem.status.set(ERASED), BookingItem.erased_at.set(self._now().isoformat()),
                     *[attribute.remove() for attribute in personal]],
            condition=BookingItem.pk.exists() & (BookingItem.status != d.BookingStatus.ACTIVE.value),
        )

    def cancel(self, booking: d.Booking, person_key: str) -> bool:
        slots_key = slots_pk(booking.campaign_id, booking.center_id)

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[BookingItem.status.set(d.BookingStatus.CANCELLED.value),
                         BookingItem.cancelled_at.set(self._now().isoformat())],
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
