"""The attendance adapter: centre staff's marks on the booking items, and the day list of a centre.

The day list is two Queries of the table's indexes by centre and appointment slot (`by-centre-first`,
`by-centre-second`, infra/resources.py): it reads the centre's appointments of that day and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from chalicelib.booking import domain as d
from chalicelib.booking.attendance import AttendanceStore
from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.storage.audit import audit_item
from chalicelib.booking.storage.bookings import DynamoBookings, Items
from chalicelib.booking.storage.models import BookingItem, SlotItem, booking_from_item, booking_key, slots_pk


def _as_marked(attribute, mark: d.Attendance):
    return attribute.does_not_exist() if mark is d.Attendance.EXPECTED else attribute == mark.value


class DynamoAttendance(AttendanceStore):
    def __init__(self, bookings: DynamoBookings, clock: Callable[[], datetime]):
        self._bookings = bookings  # its transaction helper retries conflicts; its reads filter expired items
        self._now = clock

    def day(self, center_id: str, day: date) -> list[d.Booking]:
        # Slot ids sort like local start times: the day is a key range of either appointment's index. Index reads
        # are eventually consistent (a mark of a moment ago may show a moment later; each mark answers the line as
        # stored). Held pairs share the keys: only booking items count.
        first, last = f"{day:%Y%m%d}T0000", f"{day:%Y%m%d}T2359"
        only_active = (BookingItem.sk == "BOOKING") & (BookingItem.status == d.BookingStatus.ACTIVE.value)
        found: dict[str, d.Booking] = {}
        for index, slot_id in (
            (BookingItem.by_centre_first, BookingItem.first_slot_id),
            (BookingItem.by_centre_second, BookingItem.second_slot_id),
        ):
            for item in index.query(center_id, slot_id.between(first, last), filter_condition=only_active):
                if not self._bookings._expired(item):
                    found[item.pk] = booking_from_item(item)  # one booking once, were both doses that day
        return list(found.values())

    def change(self, before: d.Booking, after: d.Booking, dose: int, at: datetime, audit: AuditRecord) -> bool:
        appointment = before.appointment(dose)
        assert appointment is not None  # the service marks only doses the booking has
        slot_id, attendance, attendance_at = (
            (BookingItem.first_slot_id, BookingItem.first_attendance, BookingItem.first_attendance_at)
            if dose == 1
            else (BookingItem.second_slot_id, BookingItem.second_attendance, BookingItem.second_attendance_at)
        )
        mark = after.attendance(dose)
        # As read: still active, the dose still on the same slot, neither dose marked since (a second dose's
        # check-in depends on the first's mark), the second appointment held or given back as read.
        condition = (
            (BookingItem.status == d.BookingStatus.ACTIVE.value)
            & (slot_id == appointment.slot_id)
            & _as_marked(BookingItem.first_attendance, before.first_attendance)
            & _as_marked(BookingItem.second_attendance, before.second_attendance)
            & _second_as_read(before)
        )
        actions = [
            attendance.remove() if mark is d.Attendance.EXPECTED else attendance.set(mark.value),
            attendance_at.set(at.isoformat()),
            *_second_seat_actions(before, after),
        ]
        slots_key = slots_pk(before.campaign_id, before.center_id)

        def add_items(items: Items) -> None:
            items.update(BookingItem(*booking_key(before.code)), actions, condition=condition, label="booking")
            if before.second is not None and after.second is None:  # given back after a missed first dose
                items.update(
                    SlotItem(slots_key, before.second.slot_id), [SlotItem.booked.add(-1)], condition=SlotItem.booked > 0
                )  # no label: a failed give-back means the counters drifted, raised as it is
            elif before.second is None and after.second is not None:  # taken again: never over capacity
                items.update(
                    SlotItem(slots_key, after.second.slot_id),
                    [SlotItem.booked.add(1)],
                    condition=SlotItem.booked < SlotItem.capacity,
                    label="second",
                )
            items.save(audit_item(audit))  # the mark and its record: both or neither

        failed = self._bookings._write(add_items)
        if "booking" in failed:
            return False
        if "second" in failed:
            raise d.SecondSlotTaken()
        return True


def _second_as_read(booking: d.Booking):
    second = (
        BookingItem.second_slot_id == booking.second.slot_id
        if booking.second
        else BookingItem.second_slot_id.does_not_exist()
    )
    released = (
        BookingItem.released_second_slot_id == booking.released_second.slot_id
        if booking.released_second
        else BookingItem.released_second_slot_id.does_not_exist()
    )
    return second & released


def _second_seat_actions(before: d.Booking, after: d.Booking) -> list:
    """Move the second appointment between held (second_*) and given back (released_second_*)."""
    held = (BookingItem.second_slot_id, BookingItem.second_start, BookingItem.second_end)
    released = (BookingItem.released_second_slot_id, BookingItem.released_second_start, BookingItem.released_second_end)
    if before.second is not None and after.second is None:
        source, target, ref = held, released, before.second
    elif before.second is None and after.second is not None:
        source, target, ref = released, held, after.second
    else:
        return []
    values = (ref.slot_id, ref.start.isoformat(), ref.end.isoformat())
    return [a.remove() for a in source] + [a.set(v) for a, v in zip(target, values, strict=True)]
