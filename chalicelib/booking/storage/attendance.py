"""The attendance adapter: centre staff's marks on the booking items, and the day list of a centre.

Bookings have no index by centre and day: the day list scans the table with a filter (as the centre-day
operations do), which is fine for a few desks refreshing a list, not for a rush (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.attendance import AttendanceStore
from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.storage.audit import audit_item
from chalicelib.booking.storage.bookings import DynamoBookings, failed_conditions
from chalicelib.booking.storage.models import ERASED, BookingItem, booking_from_item, booking_key

SCAN_PAGE_SIZE = 500


def _as_marked(attribute, mark: d.Attendance):
    return attribute.does_not_exist() if mark is d.Attendance.EXPECTED else attribute == mark.value


class DynamoAttendance(AttendanceStore):
    def __init__(self, bookings: DynamoBookings, clock: Callable[[], datetime]):
        self._bookings = bookings  # its transaction helper retries conflicts; its reads filter expired items
        self._now = clock

    def day(self, center_id: str, day: date) -> list[d.Booking]:
        # Slot ids sort like local start times: the day as a key range of either appointment.
        first, last = f"{day:%Y%m%d}T0000", f"{day:%Y%m%d}T2359"
        condition = (
            (BookingItem.sk == "BOOKING")
            & (BookingItem.center_id == center_id)
            & (BookingItem.status == d.BookingStatus.ACTIVE.value)
            & (BookingItem.first_slot_id.between(first, last) | BookingItem.second_slot_id.between(first, last))
        )
        scan = BookingItem.scan(condition, consistent_read=True, page_size=SCAN_PAGE_SIZE)
        return [booking_from_item(item) for item in scan if item.status != ERASED and not self._bookings._expired(item)]

    def mark(self, booking: d.Booking, dose: int, mark: d.Attendance, at: datetime, audit: AuditRecord) -> bool:
        appointment = booking.appointment(dose)
        assert appointment is not None  # the service marks only doses the booking has
        slot_id, attendance, attendance_at = (
            (BookingItem.first_slot_id, BookingItem.first_attendance, BookingItem.first_attendance_at)
            if dose == 1
            else (BookingItem.second_slot_id, BookingItem.second_attendance, BookingItem.second_attendance_at)
        )
        # As read: still active, the dose still on the same slot, neither dose marked since (a second dose's
        # check-in depends on the first's mark).
        condition = (
            (BookingItem.status == d.BookingStatus.ACTIVE.value)
            & (slot_id == appointment.slot_id)
            & _as_marked(BookingItem.first_attendance, booking.first_attendance)
            & _as_marked(BookingItem.second_attendance, booking.second_attendance)
        )

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[attendance.set(mark.value), attendance_at.set(at.isoformat())],
                condition=condition,
            )
            tx.save(audit_item(audit))  # the mark and its record: both or neither

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            if any(failed_conditions(error)):  # only the booking update has a condition
                return False
            raise
        return True
