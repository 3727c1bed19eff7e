"""What the booking services need from the outside world, as small abstract interfaces.

Adapters (DynamoDB, SQS) implement them for Lambda; `tests/fakes.py` implements them in memory.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.domain import (
    Booking,
    BookingRequest,
    Campaign,
    Center,
    CentreDayOperation,
    Hold,
    RejectReason,
    RequestState,
    Slot,
    SlotPair,
    SlotRef,
    Submission,
)
from chalicelib.contracts.mail import MailMessage


class Catalog(abc.ABC):
    """Centres, campaigns and slots (read side, plus what ops and seeding write)."""

    @abc.abstractmethod
    def centers(self) -> list[Center]: ...

    @abc.abstractmethod
    def campaigns(self) -> list[Campaign]: ...

    @abc.abstractmethod
    def slots(
        self, campaign_id: str, center_id: str, start: datetime, end: datetime, max_age_s: float = 0
    ) -> list[Slot]:
        """Slots whose start lies in [start, end). With max_age_s = 0 (booking decisions) read consistently;
        display may accept a copy up to max_age_s old, which keeps a rush off one hot partition."""

    @abc.abstractmethod
    def slot(self, campaign_id: str, center_id: str, slot_id: str) -> Slot | None: ...

    @abc.abstractmethod
    def add_center(self, center: Center) -> None: ...

    @abc.abstractmethod
    def add_campaign(self, campaign: Campaign) -> None: ...

    @abc.abstractmethod
    def release_slots(self, slots: list[Slot]) -> None:
        """Create slots, or raise the capacity of existing ones (a contingent is released)."""


class Admission(abc.ABC):
    """A limit a new request must be within (the per-person limit), checked and counted by the same write that
    stores the request, so a request costs one write (issue #9). Made by the limits package; the Bookings
    adapter knows how to write it."""

    @abc.abstractmethod
    def refusal(self) -> Exception:
        """What to raise when the limit is full: the write then stored and counted nothing."""


class Bookings(abc.ABC):
    """Bookings, the person locks and the booking requests, changed atomically."""

    @abc.abstractmethod
    def add_request(
        self,
        request: BookingRequest,
        created_at: datetime,
        submission: Submission | None = None,
        admission: Admission | None = None,
    ) -> None:
        """Store a queued request. With a submission, claim its key in the same write (for a day): if an earlier
        request holds the key, raise DuplicateSubmission with its id (same body) or IdempotencyKeyReused;
        a request rejected `not_processed` gives its key up to the new one (asking again is safe).
        With an admission, count it in the same write; if its limit is full, store nothing and raise its
        refusal (a duplicate submission is answered as such first: a retry is not a new request)."""

    @abc.abstractmethod
    def request_state(self, request_id: str) -> RequestState | None: ...

    @abc.abstractmethod
    def reserve(self, booking: Booking, person_key: str) -> None:
        """Book both slots, store the booking, lock the person for the booking's series, and mark the request
        booked — all or nothing. Raises FirstSlotTaken, SecondSlotTaken, AlreadyBooked or
        RequestAlreadyDecided (checked in that order of precedence: RequestAlreadyDecided first)."""

    @abc.abstractmethod
    def holds_booking(self, person_key: str, series: str) -> bool:
        """Whether this person has an active booking in a campaign of the series (the lock exists)."""

    @abc.abstractmethod
    def reject(self, request_id: str, reason: RejectReason, alternatives: list[SlotPair]) -> bool:
        """Mark a queued request rejected; a request that was decided already stays as it is (False)."""

    @abc.abstractmethod
    def booking(self, code: str) -> Booking | None: ...

    @abc.abstractmethod
    def active_bookings(self) -> Iterator[Booking]:
        """Every active booking (a full read: for the hourly reconciliation, not for requests)."""

    @abc.abstractmethod
    def cancel(self, booking: Booking, person_key: str, audit: AuditRecord | None = None) -> bool:
        """Cancel an active booking and give both slots back at once. False if it was cancelled already;
        BookingChanged if it was rebooked since it was read (nothing changed: read it again). With `audit`
        (a staff cancel), the record is stored in the same transaction."""

    @abc.abstractmethod
    def rebook(self, old: Booking, new: Booking, person_key: str, audit: AuditRecord | None = None) -> None:
        """Move a booking from its appointments to new ones (same code, same person lock) — all or nothing:
        the new slots are taken and the old ones given back (netted: a slot in both is left alone), and
        the booking is rewritten only if it is still active with the old slots and version. The person lock
        and the request get the booking's new expiry (retention runs from the last appointment). Raises
        BookingChanged, FirstSlotTaken or SecondSlotTaken (in that order of precedence). With `audit` (an
        agent's rebook), the record is stored in the same transaction."""

    @abc.abstractmethod
    def change_contact(self, old: Booking, new: Booking, audit: AuditRecord) -> None:
        """Write `new`'s e-mail, phone and contact revision onto the booking and store the audit record, in one
        transaction, if the booking is still as read (`old`: active, same appointments, version and contact).
        The version is not changed. Raises BookingNotFound, BookingNotActive (cancelled since) or BookingChanged
        (changed otherwise since: read it again)."""

    # --- a pair held for a person whose booking a centre-day operation cancelled ---

    @abc.abstractmethod
    def hold(self, code: str) -> Hold | None:
        """The pair held for the booking, live or lapsed (not yet given back); None if there is none."""

    @abc.abstractmethod
    def holds(self) -> Iterator[Hold]:
        """Every hold not yet confirmed or given back (a full read: for the sweep and the reconciliation)."""

    @abc.abstractmethod
    def confirm_hold(
        self,
        booking: Booking,
        hold: Hold,
        person_key: str,
        audit: AuditRecord | None = None,
        pair: tuple[SlotRef, SlotRef | None] | None = None,
    ) -> Booking:
        """Make the cancelled booking (as read) active again on the held pair, taking the person lock again — all
        or nothing; the seats pass from the hold to the booking. With `pair` (the person chose other appointments),
        the booking is made active on that pair instead: its seats are taken and the held ones given back in the
        same write (netted per slot), so the person keeps the held pair until the new one is theirs. Raises
        HoldLapsed (the hold is gone or past its time, or the booking changed), FirstSlotTaken / SecondSlotTaken
        (a seat of `pair` is full: nothing changed, the hold stays) or AlreadyBooked (the person booked again
        meanwhile), in that order of precedence."""

    @abc.abstractmethod
    def release_hold(self, hold: Hold, lapsed_only: bool) -> bool:
        """Give the held seats back and delete the hold, if it is still there (and, with lapsed_only, past its
        time): False if it was confirmed or released before, so seats go back exactly once."""

    # --- privacy (GDPR Art. 15, 17): a booking past its retention, or erased, reads as absent everywhere ---

    @abc.abstractmethod
    def person_locks(self, person_key: str) -> dict[str, str]:
        """The person's locks: vaccination series → booking code of their active booking in it."""

    @abc.abstractmethod
    def erase(self, booking: Booking) -> None:
        """Remove a cancelled booking's personal data, keeping a tombstone without it (ValueError if active), and
        in the same write the letter mark of the centre-day operation that changed it last, if any."""


class RequestQueue(abc.ABC):
    @abc.abstractmethod
    def send(self, request: BookingRequest) -> None:
        """Durably queue the request; raise if it could not be queued."""


class MailOutbox(abc.ABC):
    @abc.abstractmethod
    def publish(self, message: MailMessage) -> None:
        """Have the mail sent (now, or by the notify worker), once however often it is published."""


class CallerIndex(abc.ABC):
    """How an agent finds a caller's bookings from who they are (the hotline, `hotline.StaffService.find`)."""

    @abc.abstractmethod
    def booking_codes(self, person_key: str) -> list[str]:
        """The codes named by the person's lock items (active bookings, one per campaign or series) and by the
        pointers to bookings a centre-day cancel cancelled with a pair held (live or lapsed: the caller checks)."""


class BouncedAddresses(abc.ABC):
    """Whether mail can reach an address (notify's suppression list, wired in `bootstrap`): booking reads it to put
    a person whose notice bounced on the letters list, without depending on notify."""

    @abc.abstractmethod
    def bounced(self, addresses: list[str]) -> set[str]:
        """Those of the addresses no mail goes to (they bounced permanently or complained), as given."""


@dataclass(frozen=True)
class MailTrace:
    """What notify recorded about one mail: claimed and not yet settled (being sent), or settled at `at` — sent,
    or dropped for good because the address had had its mails for the day (`capped`)."""

    settled: bool
    capped: bool = False
    at: datetime | None = None


@dataclass(frozen=True)
class AddressBlock:
    """Why no mail goes to an address any more: "bounce" (it bounced permanently) or "complaint"; since when."""

    reason: str
    since: datetime | None


class MailRecords(abc.ABC):
    """What became of a booking's mails (notify's mail markers and suppression list, wired in `bootstrap`): the
    hotline answers "was my mail sent?" without booking depending on notify. Each read is one cheap key read."""

    @property
    @abc.abstractmethod
    def kept_for(self) -> timedelta:
        """How long a mail's record is kept after it was written: for an older mail, a missing one says nothing."""

    @abc.abstractmethod
    def mail(self, mail_key: str) -> MailTrace | None:
        """The record of the mail with this idempotency key, or None (not sent yet, dropped, or expired)."""

    @abc.abstractmethod
    def block(self, address: str) -> AddressBlock | None:
        """Why no mail goes to the address, or None if mail may go there."""


class Supply(abc.ABC):
    """What ops change in bulk when supply changes (capacity cuts, centre-day cancellations, repairs) and
    what their reports read. Each write is conditional, so a retried or resumed operation changes nothing twice."""

    @abc.abstractmethod
    def set_capacity(self, slot: Slot, capacity: int, audit: AuditRecord | None = None) -> bool:
        """Set the slot's capacity if it is still `slot.capacity` and no more than `capacity` are booked (with
        `audit` written in the same transaction)."""

    @abc.abstractmethod
    def bookings_in(
        self,
        campaign_id: str,
        center_id: str,
        first_slot_id: str,
        last_slot_id: str,
        operation_id: str,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Booking], str | None]:
        """Up to `limit` bookings of the centre that are active with an appointment in [first, last] slot id,
        or were changed by `operation_id`; and the cursor to read on from (None: nothing left)."""

    @abc.abstractmethod
    def cancel_for_operation(
        self,
        booking: Booking,
        person_key: str,
        operation_id: str,
        hold: Hold | None = None,
        audit: AuditRecord | None = None,
    ) -> bool:
        """Cancel the booking as read (still active, same appointments and version) and give its slots back,
        marking it with the operation; with `hold`, take the held pair's seats and store the hold in the same
        transaction (FirstSlotTaken / SecondSlotTaken if one is full: then nothing changed), with a pointer from
        the person to the booking that `CallerIndex` finds (an agent looks the caller up by name while the
        booking has no lock). False if the booking changed in the meantime (or was cancelled already)."""

    @abc.abstractmethod
    def move_for_operation(
        self,
        booking: Booking,
        appointment: SlotRef,
        to: Slot,
        operation_id: str,
        person_key: str,
        audit: AuditRecord | None = None,
    ) -> bool:
        """Move one appointment of the booking as read to the slot `to`: the old slot given back, the new one
        taken, the booking changed, its lock and request given its new expiry — all or nothing. False if the
        booking changed in the meantime; raises FirstSlotTaken if `to` is full."""

    @abc.abstractmethod
    def add_second(self, booking: Booking, second: Slot, person_key: str, audit: AuditRecord | None = None) -> None:
        """Give an active booking without a second appointment this one (a new version of the booking), taking the
        slot's capacity and giving the lock and request the new expiry — all or nothing. Raises SecondSlotTaken
        (the slot is full) or BookingNotFound (changed in the meantime)."""

    @abc.abstractmethod
    def all_bookings(self, campaign_id: str) -> Iterator[Booking]:
        """Every booking of the campaign, active or cancelled (a full read: for reports)."""

    @abc.abstractmethod
    def start_operation(self, operation: CentreDayOperation) -> CentreDayOperation:
        """Store a new operation; if one with its id exists, return that one unchanged."""

    @abc.abstractmethod
    def operation(self, operation_id: str) -> CentreDayOperation | None: ...

    @abc.abstractmethod
    def record_progress(
        self, operation_id: str, cursor: str | None, done: bool, cancelled: int, moved: int = 0
    ) -> None:
        """Move the operation's cursor on and add `cancelled` and `moved` to its counts."""
