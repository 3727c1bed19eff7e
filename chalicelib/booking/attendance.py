"""Centre staff on the day: the day list of a centre, check-in (the dose was given), no-show, and taking a mark
of today back (a wrong row clicked).

Plain Python: the port its store implements and `AttendanceService`. Each mark is a conditional write of the
booking as read, with its audit record in the same transaction: a mark that is stored is audited, and one
that is not changed nothing. Marking a dose as it is marked already changes nothing and writes no record.
A first-dose no-show gives the second seat back in the same write, and leaving the no-show takes it again
(domain.with_attendance); the slot counters stay equal to the active bookings' appointments.

Centre staff are bound to their centre by the HTTP edge (`chalicelib/api/staff.py`); here a booking of
another centre is not found, so a code reveals nothing about other centres.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.booking import domain as d
from chalicelib.booking.audit import Actor, AuditRecord, new_record
from chalicelib.booking.mail import second_released_mail
from chalicelib.booking.ports import Bookings, Catalog, MailOutbox

# Staff at a centre act in the centre's console, not on behalf of a caller.
STAFF_CHANNEL = "staff"
# A mark races another change of the same booking (a second desk, a cancel): read again this often.
MARK_ATTEMPTS = 3


class AttendanceAction:
    """Audit actions of centre staff; stored and listed, so the values are stable."""

    CHECKED_IN = "attendance.checked_in"
    NO_SHOW = "attendance.no_show"
    UNDONE = "attendance.undone"


ACTION_OF = {
    d.Attendance.ATTENDED: AttendanceAction.CHECKED_IN,
    d.Attendance.NO_SHOW: AttendanceAction.NO_SHOW,
    d.Attendance.EXPECTED: AttendanceAction.UNDONE,
}


class AttendanceStore(abc.ABC):
    """Where the marks are kept: on the booking items themselves."""

    @abc.abstractmethod
    def day(self, center_id: str, day: date) -> list[d.Booking]:
        """The active bookings with an appointment at the centre on the (local) day, of every campaign."""

    @abc.abstractmethod
    def change(self, before: d.Booking, after: d.Booking, dose: int, at: datetime, audit: AuditRecord) -> bool:
        """Write the dose's mark of `after` (expected: none) over the booking as read (`before`), with the audit
        record, all or nothing; when `after` gave the second appointment back (or took it again) the second
        slot's counter goes down (up) in the same write. False (nothing written) if the booking changed since it
        was read: cancelled, moved, either dose marked, the second given back or taken. Raises SecondSlotTaken
        (nothing written) if the second seat to take again is full."""


@dataclass(frozen=True)
class DayAppointment:
    """One line of the day list: a booking's appointment that day."""

    booking: d.Booking
    dose: int

    @property
    def appointment(self) -> d.SlotRef:
        appointment = self.booking.appointment(self.dose)
        assert appointment is not None  # built only for doses the booking has
        return appointment

    @property
    def attendance(self) -> d.Attendance:
        return self.booking.attendance(self.dose)


def summary_of_attendance(booking: d.Booking, dose: int) -> dict:
    """The audit's before/after: code, centre, which dose and its state, and where the second appointment is
    (held, or given back after a missed first dose); nothing about the person."""
    appointment = booking.appointment(dose)
    return {
        "code": booking.code,
        "center_id": booking.center_id,
        "campaign_id": booking.campaign_id,
        "dose": dose,
        "slot_id": appointment.slot_id if appointment else None,
        "attendance": booking.attendance(dose).value,
        "second_slot_id": booking.second.slot_id if booking.second else None,
        "released_second_slot_id": booking.released_second.slot_id if booking.released_second else None,
    }


class AttendanceService:
    def __init__(
        self,
        catalog: Catalog,
        bookings: Bookings,
        store: AttendanceStore,
        clock: Callable[[], datetime],
        outbox: MailOutbox,
    ) -> None:
        self._catalog = catalog
        self._bookings = bookings
        self._store = store
        self._now = clock
        self._outbox = outbox

    def _require_center(self, center_id: str) -> None:
        if not any(c.id == center_id for c in self._catalog.centers()):
            raise d.UnknownCenter(center_id)

    def day_list(self, center_id: str, day: date) -> list[DayAppointment]:
        """Every appointment at the centre that day of an active booking, by time, then name and code."""
        self._require_center(center_id)
        lines = [
            DayAppointment(booking, dose)
            for booking in self._store.day(center_id, day)
            for dose, appointment in enumerate(booking.appointments, start=1)
            if appointment.start.astimezone(d.LOCAL_TZ).date() == day
        ]
        return sorted(lines, key=lambda a: (a.appointment.start, a.booking.person.family_name, a.booking.code))

    def mark(self, actor: Actor, center_id: str, code: str, dose: int, mark: d.Attendance) -> DayAppointment:
        """Check in (ATTENDED) or mark a no-show (NO_SHOW) of the booking's dose at the actor's centre.

        Idempotent: a dose marked so already is answered as it is. A first-dose no-show gives the second seat
        back; a check-in after one takes it again if it is still free, else checks in without it (the dose was
        given: the line then shows the second as given back, for the hotline to book a new one). Raises
        BookingNotFound (no such booking at this centre), InvalidInput (a mark the rules refuse,
        domain.decide_attendance) or BookingChanged (the booking kept changing under the write)."""
        return self._change(
            actor, center_id, code, dose, lambda booking, now: d.decide_attendance(booking, dose, mark, now)
        )

    def undo(self, actor: Actor, center_id: str, code: str, dose: int) -> DayAppointment:
        """Take back the mark of today's appointment (domain.decide_undo): the dose is expected again. Taking back
        a first-dose no-show takes the second seat again; if it was given to someone else meanwhile nothing
        changes and SecondSlotTaken says so (the no-show stays; a person who is there after all is checked in).
        Idempotent like a mark, audited as `attendance.undone`."""
        return self._change(actor, center_id, code, dose, lambda booking, now: d.decide_undo(booking, dose, now))

    def _change(
        self,
        actor: Actor,
        center_id: str,
        code: str,
        dose: int,
        decide: Callable[[d.Booking, datetime], d.Attendance],
    ) -> DayAppointment:
        self._require_center(center_id)
        for _ in range(MARK_ATTEMPTS):
            booking = self._bookings.booking(d.normalise_booking_code(code))
            if booking is None or booking.center_id != center_id:
                raise d.BookingNotFound()
            now = self._now()
            after = decide(booking, now)
            if after is booking.attendance(dose):
                self._tell_second_released(booking)  # a repeat after a lost publish: notify sends it once
                return DayAppointment(booking, dose)  # marked so already: nothing changes, nothing to audit
            changed = d.with_attendance(booking, dose, after)
            try:
                written = self._write(actor, booking, changed, dose, now)
            except d.SecondSlotTaken:
                if after is not d.Attendance.ATTENDED:
                    raise  # taking a no-show back must not overbook: the no-show stays
                changed = booking.marked(dose, after)  # the dose was given all the same
                written = self._write(actor, booking, changed, dose, now)
            if written:
                self._tell_second_released(changed)
                return DayAppointment(changed, dose)
        raise d.BookingChanged()

    def _tell_second_released(self, booking: d.Booking) -> None:
        """A person whose missed first dose gave the second appointment back is told so, once (by e-mail; the
        hotline calls those without)."""
        if booking.released_second is None or booking.attendance(1) is not d.Attendance.NO_SHOW:
            return
        center = next(c for c in self._catalog.centers() if c.id == booking.center_id)
        message = second_released_mail(booking, center)
        if message is not None:
            self._outbox.publish(message)

    def _write(self, actor: Actor, before: d.Booking, after: d.Booking, dose: int, now: datetime) -> bool:
        record = new_record(
            actor,
            ACTION_OF[after.attendance(dose)],
            before.code,
            now,
            before=summary_of_attendance(before, dose),
            after=summary_of_attendance(after, dose),
            channel=STAFF_CHANNEL,
        )
        return self._store.change(before, after, dose, now, record)
