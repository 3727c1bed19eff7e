"""Use cases of ops staff: open a cohort (create or change a campaign), release a contingent of slots (now or
at a set time), reduce capacity, cancel a centre's days when a delivery fails, give a missing second dose, and
the daily report.

They read the raw catalogue: ops see the slots of a scheduled contingent before it is released.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from enum import Enum

from chalicelib.booking import domain as d
from chalicelib.booking.audit import (
    OPS_CHANNEL,
    Actor,
    AuditAction,
    new_record,
    summary_of_booking,
    summary_of_hold,
)
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind, LetterMarks, LetterReason
from chalicelib.booking.mail import mail_for, publish_mail
from chalicelib.booking.ports import Bookings, BouncedAddresses, Catalog, MailOutbox, Supply
from chalicelib.contracts.mail import Appointment, MailKind

# A capacity cut races bookings on the same slot: re-read and try again a few times before giving up.
CAPACITY_ATTEMPTS = 5
MAX_OPERATION_DAYS = 31
# Replacement pairs a cancel tries to hold before it cancels without one (seats race other bookings).
HOLD_ATTEMPTS = 3
# Taking a letter's mark back races a colleague who takes it back and marks it anew: read again a few times.
UNMARK_ATTEMPTS = 3
MAX_REPORT_DAYS = 92


@dataclass(frozen=True)
class SlotRelease:
    start: datetime
    end: datetime
    capacity: int
    release_at: datetime | None = None  # None: bookable at once


@dataclass(frozen=True)
class CapacityChange:
    """What a capacity cut did to one slot: `reduced` to the capacity asked for, `limited` to what is booked
    (never below), `unchanged` (already at or below it, or fully booked), or `contended` (bookings kept racing)."""

    slot_id: str
    capacity_before: int
    capacity: int
    booked: int
    outcome: str


@dataclass(frozen=True)
class DayReport:
    campaign_id: str
    center_id: str
    day: date
    capacity: int
    booked: int  # the slot counters: first and second doses held
    first_doses: int  # active bookings' first appointments that day
    second_doses: int  # active bookings' second appointments that day
    cancellations: int  # appointments that day of bookings cancelled (by the person or by ops), not marked
    checked_in: int = 0  # appointments that day marked attended by centre staff (the dose was given)
    no_shows: int = 0  # appointments that day marked no-show by centre staff
    # Active bookings' second appointments that day whose first dose was a no-show: held, and to be followed up
    # (docs/operations.md "Centre staff").
    second_doses_after_no_show: int = 0

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


# DayReport's counters: every field after the campaign, the centre and the day.
DAY_COUNTERS = tuple(f.name for f in fields(DayReport))[3:]


class LetterKind(str, Enum):
    CANCELLED = "cancelled"  # the booking was cancelled (with a pair held, or an offer to book again)
    MOVED = "moved"  # an appointment was moved to another day


# German weekday names for the letters (the console and the post are German; English for `language` "en").
_WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def _when(at: datetime, language: str) -> str:
    local = at.astimezone(d.LOCAL_TZ)
    weekday = _WEEKDAYS[language][local.weekday()]
    if language == "en":
        return f"{weekday}, {local:%d/%m/%Y} at {local:%H:%M}"
    return f"{weekday}, {local:%d.%m.%Y}, {local:%H:%M} Uhr"


@dataclass(frozen=True)
class Letter:
    """The notice of a centre-day operation for one person without e-mail: what goes out by post or is read out.

    `booking` is as the operation left it (cancelled, or on its moved appointments); `hold` the pair held for a
    cancelled one while it lasts; `reason` why no mail carried it; `mark` whether staff have sent it or reached
    the caller. The text names the person, the code and the appointments and nothing else about them (no birth
    date: it is what the person proves themselves with)."""

    booking: d.Booking
    center: d.Center
    kind: LetterKind
    hold: d.Hold | None
    site_url: str = ""
    reason: LetterReason = LetterReason.NO_EMAIL
    mark: LetterMark | None = None

    @property
    def language(self) -> str:
        return "en" if self.booking.language == "en" else "de"

    def text(self) -> str:
        b, center, en = self.booking, self.center, self.language == "en"
        lang = self.language
        name = f"{b.person.given_name} {b.person.family_name}"
        if center.hotline:
            hotline = f"the hotline on {center.hotline}" if en else f"die Hotline {center.hotline}"
        else:
            hotline = "your region's hotline" if en else "die Hotline Ihrer Region"
        look_up = f"{self.site_url}/#/booking?code={b.code}" if self.site_url else ""

        def doses(appointments: tuple[d.SlotRef, ...]) -> list[str]:
            label = "{n}. dose" if en else "{n}. Impfung"
            return [f"  {label.format(n=n)}: {_when(a.start, lang)}" for n, a in enumerate(appointments, start=1)]

        lines = [f"Dear {name}," if en else f"Guten Tag {name},", ""]
        if self.kind is LetterKind.MOVED:
            lines += [
                f"{center.name} had to move one of your appointments. Your appointments are now:"
                if en
                else f"das {center.name} musste einen Ihrer Termine verlegen. Ihre Termine sind jetzt:",
                *doses(b.appointments),
                "",
                f"Your booking code stays the same: {b.code}. Please come to both appointments."
                if en
                else f"Ihr Buchungscode bleibt gleich: {b.code}. Bitte kommen Sie zu beiden Terminen.",
            ]
        else:
            lines += [
                f"we are sorry: {center.name} had to cancel your appointments (booking code {b.code}):"
                if en
                else f"leider musste das {center.name} Ihre Termine absagen (Buchungscode {b.code}):",
                *doses(b.appointments),
                "",
            ]
            if self.hold is not None:
                until = _when(self.hold.until, lang)
                lines += [
                    f"We are holding new appointments for you until {until}:"
                    if en
                    else f"Wir halten neue Termine für Sie frei bis {until}:",
                    *doses(self.hold.appointments),
                    "",
                    f"To keep them, call {hotline} before then, or enter your booking code {b.code} and your date "
                    f"of birth at {look_up or 'our booking site'}. There you can also choose other appointments. "
                    "Your booking code stays the same."
                    if en
                    else f"Um sie zu behalten, rufen Sie bis dahin {hotline} an, oder geben Sie Ihren Buchungscode "
                    f"{b.code} und Ihr Geburtsdatum auf {look_up or 'unserer Buchungsseite'} ein. Dort können Sie "
                    "auch andere Termine wählen. Ihr Buchungscode bleibt gleich.",
                ]
            else:
                lines += [
                    f"Please book new appointments: call {hotline}, or book at {self.site_url or 'our booking site'}."
                    if en
                    else f"Bitte buchen Sie neue Termine: rufen Sie {hotline} an, oder buchen Sie auf "
                    f"{self.site_url or 'unserer Buchungsseite'}.",
                ]
        lines += ["", "Kind regards," if en else "Mit freundlichen Grüßen", center.name]
        return "\n".join(lines)


@dataclass(frozen=True)
class LettersPage:
    operation: d.CentreDayOperation
    letters: list[Letter]
    cursor: str | None  # where the next page reads on; None: this was the last
    # This page's letters as read, before `only_open` left the marked ones out: still to do, and marked.
    open: int = 0
    done: int = 0
    # Marks of the whole operation (one query): the total of letters is known only once every page was read.
    done_in_operation: int = 0


class OperationsService:
    def __init__(
        self,
        catalog: Catalog,
        clock: Callable[[], datetime],
        supply: Supply | None = None,
        bookings: Bookings | None = None,
        outbox: MailOutbox | None = None,
        person_key_pepper: bytes = b"",
        site_url: str = "",
        letter_marks: LetterMarks | None = None,
        bounced: BouncedAddresses | None = None,
    ):
        self._catalog = catalog
        self._now = clock
        self._supply = supply
        self._bookings = bookings
        self._outbox = outbox
        self._pepper = person_key_pepper
        self._site_url = site_url  # where a letter sends people to look their booking up
        self._letter_marks = letter_marks
        self._bounced = bounced  # None: nobody with an e-mail address is on the letters list

    def _campaign_at(self, campaign_id: str, center_id: str) -> d.Campaign:
        campaign = next((c for c in self._catalog.campaigns() if c.id == campaign_id), None)
        if campaign is None:
            raise d.UnknownCampaign(campaign_id)
        if center_id not in campaign.center_ids:
            raise d.InvalidInput("center_id", "center_not_in_campaign")
        return campaign

    def _center(self, center_id: str) -> d.Center:
        center = next((c for c in self._catalog.centers() if c.id == center_id), None)
        if center is None:
            raise d.UnknownCenter(center_id)
        return center

    def put_campaign(self, campaign: d.Campaign) -> d.Campaign:
        """Create a campaign or change it (e.g. open the next birth cohort by moving `opens_at`)."""
        known = {c.id for c in self._catalog.centers()}
        unknown = [c for c in campaign.center_ids if c not in known]
        if unknown:
            raise d.InvalidInput("center_ids", "unknown_center")
        campaign.validate()
        self._catalog.add_campaign(campaign)
        return campaign

    def release_contingent(self, campaign_id: str, center_id: str, releases: list[SlotRelease]) -> list[d.Slot]:
        """Add capacity as vaccine arrives: new slots, or more capacity on existing ones (never less)."""
        campaign = self._campaign_at(campaign_id, center_id)
        now = self._now()
        for n, release in enumerate(releases):
            if campaign.booking_window.has_started(release.start, now) or release.end <= release.start:
                raise d.InvalidInput(f"slots.{n}.start", "out_of_range")
            if release.capacity < 1:
                raise d.InvalidInput(f"slots.{n}.capacity", "out_of_range")
            if release.release_at is not None:
                if release.release_at >= release.start:
                    raise d.InvalidInput("release_at", "out_of_range")
                if self._catalog.slot(campaign_id, center_id, d.slot_id_for(release.start)) is not None:
                    raise d.InvalidInput(f"slots.{n}.start", "slot_exists")
        slots = [
            d.Slot(campaign_id, center_id, d.slot_id_for(r.start), r.start, r.end, r.capacity, release_at=r.release_at)
            for r in releases
        ]
        self._catalog.release_slots(slots)
        return [self._catalog.slot(campaign_id, center_id, s.slot_id) or s for s in slots]

    # --- capacity cuts ----------------------------------------------------------------------------

    def reduce_capacity(
        self,
        campaign_id: str,
        center_id: str,
        capacity: int,
        actor: Actor,
        slot_id: str | None = None,
        day: date | None = None,
    ) -> list[CapacityChange]:
        """Cut one slot's (or every slot of a day's) capacity to `capacity`, but never below what is booked.
        Each slot cut is audited in its own write; a slot left unchanged is not."""
        assert self._supply is not None
        self._campaign_at(campaign_id, center_id)
        if capacity < 0:
            raise d.InvalidInput("capacity", "out_of_range")
        if (slot_id is None) == (day is None):
            raise d.InvalidInput("slot_id", "missing")
        if slot_id is not None:
            slot = self._catalog.slot(campaign_id, center_id, slot_id)
            if slot is None:
                raise d.InvalidInput("slot_id", "unknown_slot")
            slots = [slot]
        else:
            assert day is not None
            start = datetime.combine(day, time(0), d.LOCAL_TZ)
            slots = self._catalog.slots(campaign_id, center_id, start, start + timedelta(days=1))
        return [self._reduce(slot, capacity, actor) for slot in slots]

    def _reduce(self, slot: d.Slot, capacity: int, actor: Actor) -> CapacityChange:
        before = slot.capacity
        for _ in range(CAPACITY_ATTEMPTS):
            target = max(capacity, slot.booked)
            if target >= slot.capacity:
                return CapacityChange(slot.slot_id, before, slot.capacity, slot.booked, "unchanged")
            assert self._supply is not None
            record = new_record(
                actor,
                AuditAction.CAPACITY_CUT,
                f"{slot.campaign_id}/{slot.center_id}/{slot.slot_id}",
                self._now(),
                before={"capacity": slot.capacity, "booked": slot.booked},
                after={"capacity": target, "asked": capacity},
                channel=OPS_CHANNEL,
            )
            if self._supply.set_capacity(slot, target, audit=record):
                outcome = "reduced" if target == capacity else "limited"
                return CapacityChange(slot.slot_id, before, target, slot.booked, outcome)
            current = self._catalog.slot(slot.campaign_id, slot.center_id, slot.slot_id)
            assert current is not None  # slots are never deleted
            slot = current
        return CapacityChange(slot.slot_id, before, slot.capacity, slot.booked, "contended")

    # --- a failed delivery: cancel a centre's days ------------------------------------------------

    def cancel_centre_days(self, operation: d.CentreDayOperation, batch: int, actor: Actor) -> d.CentreDayOperation:
        """Start the operation, or go on with it (same id, same days): cancel up to `batch` more bookings.

        Each booking is cancelled (or moved) by a conditional write that carries its audit record (by `actor`,
        who ran this batch) and then noticed once (notify keeps one mail per booking and kind), so a second
        run, or a run after a crash halfway, does only what is left. A cancelled person gets, where a pair can
        be had at the centre outside the cancelled days, that pair held for them for `d.HOLD_FOR` in the same
        write; the notice names it, and the rebook link confirms it (`BookingService.rebook`).
        """
        assert self._supply is not None
        self._campaign_at(operation.campaign_id, operation.center_id)
        if not operation.from_day <= operation.to_day <= operation.from_day + timedelta(days=MAX_OPERATION_DAYS - 1):
            raise d.InvalidInput("to", "out_of_range")
        if operation.target_day is not None and (
            operation.from_day != operation.to_day or operation.target_day == operation.from_day
        ):
            raise d.InvalidInput("target_day", "out_of_range")  # a move takes one day to another
        stored = self._supply.start_operation(operation)
        if not stored.same_request(operation):
            raise d.OperationConflict(operation.operation_id)
        if stored.done:
            return stored
        return self._run_batch(stored, batch, actor)

    def operation(self, operation_id: str) -> d.CentreDayOperation:
        assert self._supply is not None
        operation = self._supply.operation(operation_id)
        if operation is None:
            raise d.UnknownOperation(operation_id)
        return operation

    def _run_batch(self, operation: d.CentreDayOperation, batch: int, actor: Actor) -> d.CentreDayOperation:
        assert self._supply is not None and self._outbox is not None and self._bookings is not None
        center = self._center(operation.center_id)
        campaign = self._campaign_at(operation.campaign_id, operation.center_id)
        first, last = operation.slot_id_range
        found, cursor = self._supply.bookings_in(
            operation.campaign_id, operation.center_id, first, last, operation.operation_id, operation.cursor, batch
        )
        replacements = _Replacements(self._catalog, campaign, operation, self._now())
        cancelled = moved = 0
        for booking in found:
            if booking.status is not d.BookingStatus.ACTIVE:
                # Found because this operation cancelled it (a batch run again after a crash): the notice is
                # published again (with the pair held then, if any), and notify drops the duplicate.
                self._notice_cancelled(booking, center, self._bookings.hold(booking.code))
                continue
            on_days = [a for a in booking.appointments if first <= a.slot_id <= last]
            if not on_days:  # moved by this operation before (a batch run again): its notice again
                publish_mail(self._outbox, MailKind.APPOINTMENT_MOVED_BY_CENTRE, booking, center)
                continue
            if operation.target_day is not None:
                outcome, moved_booking = self._move(campaign, booking, on_days[0], operation, actor)
                if outcome == "changed":
                    continue  # changed meanwhile: not ours
                if moved_booking is not None:
                    moved += 1
                    publish_mail(self._outbox, MailKind.APPOINTMENT_MOVED_BY_CENTRE, moved_booking, center)
                    continue
            # Cancel (or a move that cannot keep both doses valid: cancel, and the notice offers to rebook).
            done, hold = self._cancel(booking, operation, actor, replacements)
            if not done:
                continue  # changed meanwhile (cancelled or rebooked by the person): not ours to notice
            cancelled += 1
            self._notice_cancelled(booking, center, hold)
        done = cursor is None
        self._supply.record_progress(operation.operation_id, cursor, done, cancelled, moved)
        return replace(
            operation,
            cursor=cursor,
            done=done,
            cancelled=operation.cancelled + cancelled,
            moved=operation.moved + moved,
        )

    def _cancel(
        self, booking: d.Booking, operation: d.CentreDayOperation, actor: Actor, replacements: _Replacements
    ) -> tuple[bool, d.Hold | None]:
        """Cancel the booking for the operation, holding a replacement pair in the same write where one can be
        had (a few tries: another may take a seat first); without one if none can. (False, None): changed."""
        assert self._supply is not None
        person_key = booking.person.key(self._pepper)
        for _ in range(HOLD_ATTEMPTS):
            hold = replacements.pair_for(booking)
            if hold is None:
                break
            try:
                done = self._supply.cancel_for_operation(
                    booking, person_key, operation.operation_id, hold, self._cancel_record(booking, hold, actor)
                )
            except (d.FirstSlotTaken, d.SecondSlotTaken):
                replacements.taken(hold)
                continue
            if done:
                replacements.held(booking, hold)
            return done, hold if done else None
        done = self._supply.cancel_for_operation(
            booking, person_key, operation.operation_id, None, self._cancel_record(booking, None, actor)
        )
        return done, None

    def _cancel_record(self, booking: d.Booking, hold: d.Hold | None, actor: Actor):
        return new_record(
            actor,
            AuditAction.BOOKING_CANCELLED_BY_CENTRE,
            booking.code,
            self._now(),
            before=summary_of_booking(booking),
            after={**summary_of_booking(booking.cancelled()), "held": summary_of_hold(hold)},
            channel=OPS_CHANNEL,
        )

    def _notice_cancelled(self, booking: d.Booking, center: d.Center, hold: d.Hold | None) -> None:
        assert self._outbox is not None
        message = mail_for(MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, booking, center)
        if message is None:
            return  # a caller without e-mail: no address to send to (the audit record names the held pair)
        if hold is not None:
            message = message.model_copy(
                update={
                    "held": [
                        Appointment(dose=i, start=a.start, end=a.end) for i, a in enumerate(hold.appointments, start=1)
                    ],
                    "held_until": hold.until,
                }
            )
        self._outbox.publish(message)

    # --- letters: the notice for people without e-mail, or whose e-mail bounced ----------------------------

    def letters(self, operation_id: str, cursor: str | None, limit: int, only_open: bool = False) -> LettersPage:
        """The notices of a centre-day operation that no mail carried: one per booking it cancelled or moved whose
        person has no e-mail (booked by a hotline agent with a phone number or postal address) or whose address is
        on the suppression list (the notice bounced, or was never sent there), for the hotline to post or read out.
        Read in pages as the operation reads (`Supply.bookings_in`: a filtered scan), so a page may hold fewer
        letters than `limit`; `cursor` None: the last page. A cancelled booking's letter names the pair held for it
        while the hold lasts, else how to book again; a booking confirmed on its held pair since is the person's
        again and needs no letter. Each letter carries its mark (sent, called) if staff made one; `only_open`
        leaves the marked ones out."""
        assert self._supply is not None
        operation = self.operation(operation_id)
        center = self._center(operation.center_id)
        first, last = operation.slot_id_range
        found, next_cursor = self._supply.bookings_in(
            operation.campaign_id, operation.center_id, first, last, operation.operation_id, cursor, limit
        )
        now = self._now()
        candidates = [letter for b in found if (letter := self._letter(operation, b, center, now)) is not None]
        marks = self._letter_marks.marks(operation.operation_id) if self._letter_marks is not None else {}
        addresses = [x.booking.person.email for x in candidates if x.booking.person.email]
        bounced = self._bounced.bounced(addresses) if self._bounced is not None and addresses else set()
        letters = []
        for letter in candidates:
            email = letter.booking.person.email
            if email and email not in bounced:
                continue  # the mail notice went to them
            reason = LetterReason.EMAIL_BOUNCED if email else LetterReason.NO_EMAIL
            letters.append(replace(letter, reason=reason, mark=marks.get(letter.booking.code)))
        done = sum(1 for x in letters if x.mark is not None)
        shown = [x for x in letters if x.mark is None] if only_open else letters
        return LettersPage(operation, shown, next_cursor, len(letters) - done, done, len(marks))

    def _letter(self, operation: d.CentreDayOperation, booking: d.Booking, center: d.Center, now: datetime):
        """The notice this operation owes the booking's person, whatever their e-mail; None if it owes none."""
        assert self._bookings is not None
        first, last = operation.slot_id_range
        if booking.status is not d.BookingStatus.ACTIVE:
            hold = self._bookings.hold(booking.code)
            live = hold if hold is not None and hold.is_live(now) else None
            return Letter(booking, center, LetterKind.CANCELLED, live, self._site_url)
        if not any(first <= a.slot_id <= last for a in booking.appointments):
            return Letter(booking, center, LetterKind.MOVED, None, self._site_url)
        return None  # still on the days: not reached by the operation yet (or changed meanwhile), so no notice

    def mark_letter(self, actor: Actor, operation_id: str, code: str, kind: LetterMarkKind) -> tuple[LetterMark, bool]:
        """Mark a letter of the operation as sent or its caller as reached; with its audit record in the same
        write. The first mark stands: marking again changes nothing and writes no record. Returns the mark that
        stands and whether this call made it. A booking this operation owes no letter is not found (404), so a
        code reveals nothing about other operations."""
        assert self._letter_marks is not None
        operation = self.operation(operation_id)
        now = self._now()
        booking = self._owed_letter(operation, code, now)
        mark = LetterMark(booking.code, kind, actor.user, now)
        record = new_record(
            actor,
            AuditAction.LETTER_MARKED,
            operation.operation_id,
            now,
            # The code and the mark, nothing about the person; the target is the operation, as for the listing.
            after={"code": booking.code, "mark": kind.value},
        )
        stands = self._letter_marks.mark(operation.operation_id, booking, mark, record)
        return stands, stands == mark

    def unmark_letter(self, actor: Actor, operation_id: str, code: str) -> tuple[str, LetterMark | None]:
        """Take a letter's mark back (a wrong line clicked, a letter that came back): the letter is open again. The
        mark goes with its audit record (before: the mark taken back) in the same write. A letter without a mark is
        answered as it is: nothing written, no record. Returns the booking code and the mark this call took back
        (None: there was none). A booking this operation owes no letter is not found (404), as for marking."""
        assert self._letter_marks is not None
        operation = self.operation(operation_id)
        now = self._now()
        booking = self._owed_letter(operation, code, now)
        # The mark is deleted as read: if a colleague took it back and marked it anew in between, read again, so
        # the record names the mark that was really taken back.
        for _ in range(UNMARK_ATTEMPTS):
            mark = self._letter_marks.mark_of(operation.operation_id, booking.code)
            if mark is None:
                return booking.code, None
            record = new_record(
                actor,
                AuditAction.LETTER_UNMARKED,
                operation.operation_id,
                now,
                before={"code": booking.code, "mark": mark.kind.value, "by": mark.by, "at": mark.at.isoformat()},
                after={"code": booking.code, "mark": None},
            )
            if self._letter_marks.unmark(operation.operation_id, booking, mark, record):
                return booking.code, mark
        raise d.BookingChanged()

    def _owed_letter(self, operation: d.CentreDayOperation, code: str, now: datetime) -> d.Booking:
        """The booking of `code` if the operation owes its person a letter (it is on the operation's list), else
        BookingNotFound: a code reveals nothing about other operations."""
        assert self._bookings is not None
        booking = self._bookings.booking(d.normalise_booking_code(code))
        if booking is None or (booking.campaign_id, booking.center_id) != (operation.campaign_id, operation.center_id):
            raise d.BookingNotFound()
        letter = self._letter(operation, booking, self._center(operation.center_id), now)
        email = booking.person.email
        if letter is None or (email and (self._bounced is None or not self._bounced.bounced([email]))):
            raise d.BookingNotFound()
        return booking

    # --- held pairs that nobody confirmed -----------------------------------------------------------

    def release_lapsed_holds(self) -> int:
        """Give back the seats of every hold past its time (the hourly schedule runs this). Each release is
        conditioned on the hold still being there, so a confirm racing it or a second run gives nothing back twice.
        Returns how many were released."""
        assert self._bookings is not None
        now = self._now()
        return sum(
            1 for hold in self._bookings.holds() if not hold.is_live(now) and self._bookings.release_hold(hold, True)
        )

    def _move(
        self,
        campaign: d.Campaign,
        booking: d.Booking,
        appointment: d.SlotRef,
        operation: d.CentreDayOperation,
        actor: Actor,
    ) -> tuple[str, d.Booking | None]:
        """("moved", the booking as moved): same time on the target day, both doses still valid, room there;
        ("cannot", None): the caller cancels it; ("changed", None): the booking changed meanwhile. A move is of
        one day, so only one of a booking's appointments is on it."""
        assert self._supply is not None and operation.target_day is not None
        try:
            start = d.moved_to(campaign, booking, appointment, operation.target_day)
        except d.InvalidInput:
            return "cannot", None
        target = self._catalog.slot(campaign.id, booking.center_id, d.slot_id_for(start))
        if target is None or not target.is_released(self._now()) or target.start <= self._now():
            return "cannot", None
        moved = (
            replace(booking, first=target.ref) if appointment == booking.first else replace(booking, second=target.ref)
        )
        record = new_record(
            actor,
            AuditAction.BOOKING_MOVED_BY_CENTRE,
            booking.code,
            self._now(),
            before=summary_of_booking(booking),
            after={**summary_of_booking(moved), "operation_id": operation.operation_id},
            channel=OPS_CHANNEL,
        )
        try:
            if not self._supply.move_for_operation(
                booking, appointment, target, operation.operation_id, booking.person.key(self._pepper), record
            ):
                return "changed", None
        except d.FirstSlotTaken:
            return "cannot", None
        return "moved", moved

    # --- the 2021 repair: a first dose without its second ------------------------------------------

    def add_second_dose(self, code: str, slot_id: str, actor: Actor) -> d.Booking:
        """Give an active booking its missing second appointment (the 2021 repair), audited, with one mail."""
        assert self._supply is not None and self._bookings is not None and self._outbox is not None
        booking = self._bookings.booking(d.normalise_booking_code(code))
        if booking is None:
            raise d.BookingNotFound()
        if booking.status is not d.BookingStatus.ACTIVE:
            raise d.InvalidInput("code", "booking_cancelled")
        campaign = self._campaign_at(booking.campaign_id, booking.center_id)
        if campaign.needs_second_dose and booking.second is not None and booking.second.slot_id == slot_id:
            # Given before (a repeat after a lost answer): its mail again, which notify sends once.
            publish_mail(self._outbox, MailKind.SECOND_APPOINTMENT_ADDED, booking, self._center(booking.center_id))
            return booking
        if not campaign.needs_second_dose or booking.second is not None:
            raise d.InvalidInput("slot_id", "second_dose_not_missing")
        slot = self._catalog.slot(campaign.id, booking.center_id, slot_id)
        if slot is None or not slot.is_released(self._now()) or slot.start <= self._now():
            raise d.InvalidInput("slot_id", "unknown_slot")
        window_start, window_end = campaign.second_dose_window(booking.first.start.astimezone(d.LOCAL_TZ).date())
        if not window_start <= slot.start.astimezone(d.LOCAL_TZ).date() <= window_end:
            raise d.InvalidInput("slot_id", "outside_interval_window")
        repaired = booking.rebooked(booking.first, slot.ref)  # a change: a new version, and calendar sequence
        record = new_record(
            actor,
            AuditAction.SECOND_DOSE_ADDED,
            booking.code,
            self._now(),
            before=summary_of_booking(booking),
            after=summary_of_booking(repaired),
            channel=OPS_CHANNEL,
        )
        self._supply.add_second(booking, slot, booking.person.key(self._pepper), record)
        publish_mail(self._outbox, MailKind.SECOND_APPOINTMENT_ADDED, repaired, self._center(booking.center_id))
        return repaired

    # --- reports ----------------------------------------------------------------------------------

    def daily_report(self, campaign_id: str, from_day: date, to_day: date) -> list[DayReport]:
        """Per centre and day of the campaign: capacity and counters from the slots, doses and cancellations
        from the bookings. A full read of the campaign's bookings: for staff, not for citizens' requests."""
        assert self._supply is not None
        campaign = next((c for c in self._catalog.campaigns() if c.id == campaign_id), None)
        if campaign is None:
            raise d.UnknownCampaign(campaign_id)
        if not from_day <= to_day <= from_day + timedelta(days=MAX_REPORT_DAYS - 1):
            raise d.InvalidInput("to", "out_of_range")
        start = datetime.combine(from_day, time(0), d.LOCAL_TZ)
        end = datetime.combine(to_day + timedelta(days=1), time(0), d.LOCAL_TZ)
        rows: dict[tuple[str, date], dict[str, int]] = {}

        def row(center_id: str, day: date) -> dict[str, int]:
            return rows.setdefault((center_id, day), dict.fromkeys(DAY_COUNTERS, 0))

        for center_id in campaign.center_ids:
            for slot in self._catalog.slots(campaign.id, center_id, start, end):
                counts = row(center_id, slot.start.astimezone(d.LOCAL_TZ).date())
                counts["capacity"] += slot.capacity
                counts["booked"] += slot.booked
        for booking in self._supply.all_bookings(campaign.id):
            for dose, appointment in enumerate(booking.appointments, start=1):
                if not start <= appointment.start < end:
                    continue
                counts = row(booking.center_id, appointment.start.astimezone(d.LOCAL_TZ).date())
                # A mark says what happened at the appointment, whatever became of the booking afterwards.
                mark = booking.attendance(dose)
                if mark is d.Attendance.ATTENDED:
                    counts["checked_in"] += 1
                elif mark is d.Attendance.NO_SHOW:
                    counts["no_shows"] += 1
                if booking.status is d.BookingStatus.CANCELLED:
                    counts["cancellations"] += mark is d.Attendance.EXPECTED
                    continue
                counts["first_doses" if dose == 1 else "second_doses"] += 1
                if dose == 2 and booking.first_attendance is d.Attendance.NO_SHOW and mark is d.Attendance.EXPECTED:
                    counts["second_doses_after_no_show"] += 1
        return [DayReport(campaign.id, center_id, day, **counts) for (center_id, day), counts in sorted(rows.items())]


class _Replacements:
    """The replacement pairs of one batch: the centre's slots read once (from tomorrow, or the day after the
    cancelled days, to the end of the booking window), counted down as pairs are held so that one batch does
    not offer the same last seat twice. The transaction that holds a pair checks the seats again."""

    def __init__(self, catalog: Catalog, campaign: d.Campaign, operation: d.CentreDayOperation, now: datetime):
        self._campaign = campaign
        self._operation = operation
        self._now = now
        first_from, first_until = campaign.booking_window.first_dose_range(now)
        # Not before the hold runs out: a pair the person may confirm on its last day is still ahead of them.
        first_from = max(first_from, now + d.HOLD_FOR)
        self._first_from = first_from
        self._first_until = first_until
        day_start = datetime.combine(first_from.astimezone(d.LOCAL_TZ).date(), time(0), d.LOCAL_TZ)
        horizon = first_until + timedelta(days=campaign.interval_max_days + 1)
        self._slots = {
            s.slot_id: s
            for s in catalog.slots(campaign.id, operation.center_id, day_start, horizon)
            if s.is_released(now) and s.start > now
        }
        first, last = operation.slot_id_range
        # Nothing on the cancelled days (nor, for a move that fell back to cancel, on its target day).
        self._avoid = {slot_id for slot_id in self._slots if first <= slot_id <= last}
        if operation.target_day is not None:
            self._avoid |= {s.slot_id for s in self._slots.values() if s.day == operation.target_day}

    def pair_for(self, booking: d.Booking) -> d.Hold | None:
        pair = d.replacement_pair(
            self._campaign, list(self._slots.values()), booking, self._first_from, self._first_until, self._avoid
        )
        if pair is None:
            return None
        return d.Hold(
            code=booking.code,
            campaign_id=booking.campaign_id,
            center_id=booking.center_id,
            first=pair.first.ref,
            second=pair.second.ref if pair.second else None,
            until=(self._now + d.HOLD_FOR).replace(microsecond=0),  # stored in whole seconds
            operation_id=self._operation.operation_id,
        )

    def held(self, booking: d.Booking, hold: d.Hold) -> None:
        """Count the write in: the held seats taken, the booking's own seats given back."""
        for slot_id, delta in d.counter_changes(booking.appointments, hold.appointments).items():
            if slot_id in self._slots:
                slot = self._slots[slot_id]
                self._slots[slot_id] = replace(slot, booked=slot.booked + delta)

    def taken(self, hold: d.Hold) -> None:
        """A seat of the pair was gone: read as full, so the next try takes another pair."""
        for ref in hold.appointments:
            slot = self._slots[ref.slot_id]
            self._slots[ref.slot_id] = replace(slot, booked=slot.capacity)
