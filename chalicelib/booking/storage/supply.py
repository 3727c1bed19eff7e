"""The supply adapter: what ops change in bulk (capacity cuts, centre-day cancellations, second-dose repair),
the progress of their operations, and the full reads their reports need.

Bookings have no index by slot: a centre-day operation scans the table with a filter, in bounded pages, and
keeps the scan's position in the operation item so that the next call reads on from there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from pynamodb.exceptions import PutError

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.ports import Supply
from chalicelib.booking.storage.audit import audit_item
from chalicelib.booking.storage.bookings import (
    DynamoBookings,
    Items,
    _appointment_actions,
    _as_read,
    add_cancel_items,
    add_retention_items,
)
from chalicelib.booking.storage.models import (
    ERASED,
    BookingItem,
    HoldItem,
    OperationItem,
    PersonLockItem,
    SlotItem,
    booking_from_item,
    booking_key,
    epoch,
    held_pointer_key,
    hold_item,
    operation_key,
    slots_pk,
)

SCAN_PAGE_SIZE = 500


def _conditional_failed(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoSupply(Supply):
    def __init__(self, bookings: DynamoBookings, clock: Callable[[], datetime]):
        self._bookings = bookings  # its transaction helper retries conflicts
        self._now = clock

    def set_capacity(self, slot: d.Slot, capacity: int, audit: AuditRecord | None = None) -> bool:
        def add_items(items: Items) -> None:
            items.update(
                SlotItem(slots_pk(slot.campaign_id, slot.center_id), slot.slot_id),
                [SlotItem.capacity.set(capacity)],
                # Never below what is booked; and only over the capacity read (a release meanwhile is not undone).
                condition=(SlotItem.booked <= capacity) & (SlotItem.capacity == slot.capacity),
                label="slot",
            )
            if audit is not None:
                items.save(audit_item(audit))

        return "slot" not in self._bookings._write(add_items)

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

    def cancel_for_operation(self, booking, person_key, operation_id, hold=None, audit=None):
        def add_items(items: Items) -> None:
            taking = hold.appointments if hold is not None else ()
            add_cancel_items(items, booking, person_key, self._now(), operation_id, audit, taking)
            if hold is not None:
                items.save(hold_item(hold), condition=HoldItem.pk.does_not_exist(), label="hold")
                items.save(
                    PersonLockItem(
                        *held_pointer_key(person_key, booking.code),
                        booking_code=booking.code,
                        expires_at=epoch(hold.until),
                    )
                )

        failed = self._bookings._write(add_items)
        if "booking" in failed:
            return False  # changed meanwhile (cancelled or rebooked by the person): not ours
        if "hold" in failed:  # a hold of an earlier cancel of this booking is still there: hold nothing more
            raise d.FirstSlotTaken()
        if "first" in failed:
            raise d.FirstSlotTaken()
        if "second" in failed:
            raise d.SecondSlotTaken()
        return True

    def move_for_operation(self, booking, appointment, to, operation_id, person_key, audit=None):
        slots_key = slots_pk(booking.campaign_id, booking.center_id)
        which = "first" if appointment.slot_id == booking.first.slot_id else "second"
        moved = replace(booking, **{which: to.ref})
        expires_at = moved.personal_data_expires_at(self._bookings._retention)

        def add_items(items: Items, with_request: bool) -> None:
            items.update(
                SlotItem(slots_key, appointment.slot_id), [SlotItem.booked.add(-1)], condition=SlotItem.booked > 0
            )
            items.update(
                SlotItem(slots_key, to.slot_id),
                [SlotItem.booked.add(1)],
                condition=SlotItem.booked < SlotItem.capacity,
                label="target",
            )
            items.update(
                BookingItem(*booking_key(booking.code)),
                [
                    *_appointment_actions(moved),
                    BookingItem.operation_id.set(operation_id),
                    BookingItem.expires_at.set(epoch(expires_at)),
                ],
                condition=_as_read(booking),
                label="booking",
            )
            add_retention_items(items, moved, person_key, expires_at, with_request)
            if audit is not None:
                items.save(audit_item(audit))

        failed = self._bookings._write(lambda items: add_items(items, True))
        if failed == {"request"}:  # a booking older than requests sharing its expiry: move it without
            failed = self._bookings._write(lambda items: add_items(items, False))
        if "booking" in failed:
            return False
        if "target" in failed:
            raise d.FirstSlotTaken()
        if failed:  # the lock names another booking of the person: not hidden by a move
            raise d.AlreadyBooked()
        return True

    def add_second(self, booking, second, person_key, audit=None):
        repaired = booking.rebooked(booking.first, second.ref)
        expires_at = repaired.personal_data_expires_at(self._bookings._retention)

        def add_items(items: Items, with_request: bool) -> None:
            items.update(
                SlotItem(slots_pk(second.campaign_id, second.center_id), second.slot_id),
                [SlotItem.booked.add(1)],
                condition=SlotItem.booked < SlotItem.capacity,
                label="slot",
            )
            items.update(
                BookingItem(*booking_key(booking.code)),
                [
                    *_appointment_actions(repaired),
                    BookingItem.version.set(repaired.version),
                    BookingItem.expires_at.set(epoch(expires_at)),
                ],
                condition=_as_read(booking),
                label="booking",
            )
            add_retention_items(items, repaired, person_key, expires_at, with_request)
            if audit is not None:
                items.save(audit_item(audit))

        failed = self._bookings._write(lambda items: add_items(items, True))
        if failed == {"request"}:
            failed = self._bookings._write(lambda items: add_items(items, False))
        if "booking" in failed:
            raise d.BookingNotFound()
        if "slot" in failed:
            raise d.SecondSlotTaken()
        if failed:
            raise d.AlreadyBooked()

    def all_bookings(self, campaign_id):
        scan = BookingItem.scan(
            (BookingItem.sk == "BOOKING") & (BookingItem.campaign_id == campaign_id), consistent_read=True
        )
        return (booking_from_item(item) for item in scan if self._readable(item))

    def _readable(self, item: BookingItem) -> bool:
        """A tombstone (erased on request) or a booking past its retention reads as absent, as in DynamoBookings."""
        return item.status != ERASED and not self._bookings._expired(item)

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
