"""The supply adapter: what ops change in bulk (capacity cuts, centre-day cancellations, second-dose repair),
the progress of their operations, and the full reads their reports need.

Bookings have no index by slot: a centre-day operation scans the table with a filter, in bounded pages, and
keeps the scan's position in the operation item so that the next call reads on from there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Supply
from chalicelib.booking.storage.bookings import DynamoBookings, failed_conditions
from chalicelib.booking.storage.models import (
    ERASED,
    BookingItem,
    OperationItem,
    PersonLockItem,
    SlotItem,
    booking_from_item,
    booking_key,
    epoch,
    lock_key,
    operation_key,
    slots_pk,
)

SCAN_PAGE_SIZE = 500


def _conditional_failed(error: UpdateError | PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoSupply(Supply):
    def __init__(self, bookings: DynamoBookings, clock: Callable[[], datetime]):
        self._bookings = bookings  # its transaction helper retries conflicts
        self._now = clock

    def set_capacity(self, slot: d.Slot, capacity: int) -> bool:
        try:
            SlotItem(slots_pk(slot.campaign_id, slot.center_id), slot.slot_id).update(
                actions=[SlotItem.capacity.set(capacity)],
                # Never below what is booked; and only over the capacity read (a release meanwhile is not undone).
                condition=(SlotItem.booked <= capacity) & (SlotItem.capacity == slot.capacity),
            )
        except UpdateError as error:
            if not _conditional_failed(error):
                raise
            return False
        return True

    def bookings_in(self, campaign_id, center_id, first_slot_id, last_slot_id, operation_id, cursor, limit):
        in_range = BookingItem.first_slot_id.between(first_slot_id, last_slot_id) | BookingItem.second_slot_id.between(
            first_slot_id, last_slot_id
        )
        condition = (
            (BookingItem.sk == "BOOKING")
            & (BookingItem.campaign_id == campaign_id)
            & (BookingItem.center_id == center_id)
            & (
                ((BookingItem.status == d.BookingStatus.ACTIVE.value) & in_range)
                | (BookingItem.operation_id == operation_id)
            )
        )
        # page_size: without it PynamoDB sends Limit=limit, one item evaluated per request.
        scan = BookingItem.scan(
            condition,
            consistent_read=True,
            limit=limit,
            page_size=SCAN_PAGE_SIZE,
            last_evaluated_key=json.loads(cursor) if cursor else None,
        )
        found = [booking_from_item(item) for item in scan if self._readable(item)]
        # With `limit` reached mid-page PynamoDB gives the key of the last item returned; at the end, None.
        last = scan.last_evaluated_key
        return found, json.dumps(last) if last else None

    def cancel_for_operation(self, booking, person_key, operation_id):
        slots_key = slots_pk(booking.campaign_id, booking.center_id)
        second = booking.second.slot_id if booking.second else None

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[
                    BookingItem.status.set(d.BookingStatus.CANCELLED.value),
                    BookingItem.cancelled_at.set(self._now().isoformat()),
                    BookingItem.operation_id.set(operation_id),
                ],
                # As read: a booking rebooked or repaired in the meantime is not the one to cancel.
                condition=(
                    (BookingItem.status == d.BookingStatus.ACTIVE.value)
                    & (BookingItem.first_slot_id == booking.first.slot_id)
                    & (BookingItem.second_slot_id == second if second else BookingItem.second_slot_id.does_not_exist())
                ),
            )
            for appointment in booking.appointments:
                tx.update(
                    SlotItem(slots_key, appointment.slot_id),
                    actions=[SlotItem.booked.add(-1)],
                    condition=SlotItem.booked > 0,
                )
            tx.delete(
                PersonLockItem(*lock_key(person_key, booking.series)),
                condition=PersonLockItem.booking_code == booking.code,
            )

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            # Reasons come grouped by kind: the lock delete first, then the booking update.
            if failed_conditions(error)[1:2] == [True]:
                return False
            raise
        return True

    def move_for_operation(self, booking, appointment, to, operation_id):
        slots_key = slots_pk(booking.campaign_id, booking.center_id)
        is_first = appointment.slot_id == booking.first.slot_id
        slot_id, start, end = (
            (BookingItem.first_slot_id, BookingItem.first_start, BookingItem.first_end)
            if is_first
            else (BookingItem.second_slot_id, BookingItem.second_start, BookingItem.second_end)
        )

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                SlotItem(slots_key, appointment.slot_id),
                actions=[SlotItem.booked.add(-1)],
                condition=SlotItem.booked > 0,
            )
            tx.update(
                SlotItem(slots_key, to.slot_id),
                actions=[SlotItem.booked.add(1)],
                condition=SlotItem.booked < SlotItem.capacity,
            )
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[
                    slot_id.set(to.slot_id),
                    start.set(to.start.isoformat()),
                    end.set(to.end.isoformat()),
                    BookingItem.operation_id.set(operation_id),
                    BookingItem.expires_at.set(
                        self._expires_at(
                            [a.end for a in booking.appointments if a.slot_id != appointment.slot_id] + [to.end]
                        )
                    ),
                ],
                condition=(BookingItem.status == d.BookingStatus.ACTIVE.value) & (slot_id == appointment.slot_id),
            )

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            _, target_full, booking_changed = [*failed_conditions(error), False, False, False][:3]
            if booking_changed:
                return False
            if target_full:
                raise d.FirstSlotTaken() from error
            raise
        return True

    def add_second(self, booking, second):
        def add_items(tx: TransactWrite) -> None:
            tx.update(
                SlotItem(slots_pk(second.campaign_id, second.center_id), second.slot_id),
                actions=[SlotItem.booked.add(1)],
                condition=SlotItem.booked < SlotItem.capacity,
            )
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[
                    BookingItem.second_slot_id.set(second.slot_id),
                    BookingItem.second_start.set(second.start.isoformat()),
                    BookingItem.second_end.set(second.end.isoformat()),
                    BookingItem.expires_at.set(self._expires_at([booking.first.end, second.end])),
                ],
                condition=(
                    (BookingItem.status == d.BookingStatus.ACTIVE.value)
                    & (BookingItem.first_slot_id == booking.first.slot_id)
                    & BookingItem.second_slot_id.does_not_exist()
                ),
            )

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            slot_full, booking_changed = [*failed_conditions(error), False, False][:2]
            if booking_changed:
                raise d.BookingNotFound() from error
            if slot_full:
                raise d.SecondSlotTaken() from error
            raise

    def all_bookings(self, campaign_id):
        scan = BookingItem.scan(
            (BookingItem.sk == "BOOKING") & (BookingItem.campaign_id == campaign_id), consistent_read=True
        )
        return (booking_from_item(item) for item in scan if self._readable(item))

    def _readable(self, item: BookingItem) -> bool:
        """A tombstone (erased on request) or a booking past its retention reads as absent, as in DynamoBookings."""
        return item.status != ERASED and not self._bookings._expired(item)

    def _expires_at(self, ends: list[datetime]) -> int:
        """The retention runs from the last appointment, which a move or an added second dose changes. (The person
        lock keeps the expiry written when it was booked.)"""
        return epoch(max(ends) + self._bookings._retention)

    # --- operations -------------------------------------------------------------------------------

    def start_operation(self, operation):
        try:
            OperationItem(
                *operation_key(operation.operation_id),
                campaign_id=operation.campaign_id,
                center_id=operation.center_id,
                from_day=operation.from_day.isoformat(),
                to_day=operation.to_day.isoformat(),
                created_by=operation.created_by,
                target_day=operation.target_day.isoformat() if operation.target_day else None,
                done=0,
                cancelled=0,
                moved=0,
            ).save(condition=OperationItem.pk.does_not_exist())
        except PutError as error:
            if not _conditional_failed(error):
                raise
        stored = self.operation(operation.operation_id)
        assert stored is not None  # just written, or written before; operations are never deleted
        return stored

    def operation(self, operation_id):
        try:
            item = OperationItem.get(*operation_key(operation_id), consistent_read=True)
        except OperationItem.DoesNotExist:
            return None
        return d.CentreDayOperation(
            operation_id,
            item.campaign_id,
            item.center_id,
            date.fromisoformat(item.from_day),
            date.fromisoformat(item.to_day),
            item.created_by,
            item.cursor,
            bool(item.done),
            int(item.cancelled),
            date.fromisoformat(item.target_day) if item.target_day else None,
            int(item.moved or 0),
        )

    def record_progress(self, operation_id, cursor, done, cancelled, moved=0):
        OperationItem(*operation_key(operation_id)).update(
            actions=[
                OperationItem.cursor.set(cursor) if cursor else OperationItem.cursor.remove(),
                OperationItem.done.set(1 if done else 0),
                OperationItem.cancelled.add(cancelled),
                OperationItem.moved.add(moved),
            ]
        )
