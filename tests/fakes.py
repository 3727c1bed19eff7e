"""In-memory implementations of the ports, for service tests without AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.attendance import AttendanceStore
from chalicelib.booking.audit import AuditLog, AuditRecord, sort_key
from chalicelib.booking.letter_marks import LetterMarks
from chalicelib.booking.ports import Admission, Bookings, CallerIndex, Catalog, MailOutbox, RequestQueue, Supply
from chalicelib.contracts.mail import MailMessage
from chalicelib.notify.ports import (
    CLAIM_LEASE_S,
    MailBeingSent,
    MailClaim,
    Mailer,
    MailLedger,
    MailMark,
    MailOutcome,
    MailQuota,
    SuppressionRecord,
)


class FakeCatalog(Catalog):
    def __init__(self):
        self._centers: dict[str, d.Center] = {}
        self._campaigns: dict[str, d.Campaign] = {}
        self.slot_table: dict[tuple[str, str, str], d.Slot] = {}

    def centers(self):
        return list(self._centers.values())

    def campaigns(self):
        return list(self._campaigns.values())

    def slots(self, campaign_id, center_id, start, end, max_age_s=0):
        return sorted(
            (
                s
                for (ca, ce, _), s in self.slot_table.items()
                if ca == campaign_id and ce == center_id and start <= s.start < end
            ),
            key=lambda s: s.start,
        )

    def slot(self, campaign_id, center_id, slot_id):
        return self.slot_table.get((campaign_id, center_id, slot_id))

    def add_center(self, center):
        self._centers[center.id] = center

    def add_campaign(self, campaign):
        self._campaigns[campaign.id] = campaign

    def release_slots(self, slots):
        for slot in slots:
            key = (slot.campaign_id, slot.center_id, slot.slot_id)
            current = self.slot_table.get(key)
            if current is not None and slot.release_at is not None:
                raise d.InvalidInput("slots", "slot_exists")
            capacity = slot.capacity + (current.capacity if current else 0)
            self.slot_table[key] = replace(slot, capacity=capacity, booked=current.booked if current else 0)


class FakeBookings(Bookings):
    """Keeps the same all-or-nothing rules as the DynamoDB transaction, under one lock."""

    def __init__(
        self,
        catalog: FakeCatalog,
        audit_log: FakeAuditLog | None = None,
        clock: Callable[[], datetime] | None = None,
        retention: timedelta = d.DEFAULT_RETENTION,
    ):
        self._catalog = catalog
        self._audit_log = audit_log
        self._lock = threading.Lock()
        self._now = clock
        self._retention = retention
        self.requests: dict[str, d.RequestState] = {}
        self.bookings: dict[str, d.Booking] = {}
        self.locks: dict[tuple[str, str], str] = {}
        self.submissions: dict[str, tuple[str, str]] = {}
        self.erased: set[str] = set()  # codes of tombstones
        self.expiry: dict[str, datetime] = {}  # "request:<id>" / "booking:<code>" → as the TTL attribute says
        self.held: dict[str, d.Hold] = {}  # booking code → the pair held for it after a centre-day cancel
        # (person key, booking code) → the hold's end: the adapter's HELD# pointer items in the person's partition
        self.held_pointers: dict[tuple[str, str], datetime] = {}
        self.changed_by: dict[str, str] = {}  # booking code → the operation that changed it last (its item's field)
        # operation id → booking code → its letter mark: FakeLetterMarks' store, here as the adapter's items share
        # the bookings table (an erasure deletes the mark with the booking's data).
        self.letter_marks: dict[str, dict] = {}

    def _expired(self, key: str) -> bool:
        # Without a clock nothing expires (service tests that do not care about retention).
        return self._now is not None and key in self.expiry and self.expiry[key] <= self._now()

    def add_request(self, request, created_at: datetime, submission=None, admission=None):
        with self._lock:
            assert request.request_id not in self.requests
            if submission is not None:
                earlier = self.submissions.get(submission.key)
                if earlier is not None:
                    request_id, body_hash = earlier
                    if body_hash != submission.body_hash:
                        raise d.IdempotencyKeyReused()
                    if self.requests[request_id].reason is not d.RejectReason.NOT_PROCESSED:
                        raise d.DuplicateSubmission(request_id, self.requests[request_id].status)
            if admission is not None and not admission.take():  # FakeAdmission: counted with the request
                raise admission.refusal()
            if submission is not None:
                self.submissions[submission.key] = (request.request_id, submission.body_hash)
            self.requests[request.request_id] = d.RequestState(request.request_id, d.RequestStatus.QUEUED)
            self.expiry[f"request:{request.request_id}"] = created_at + self._retention

    def request_state(self, request_id):
        if self._expired(f"request:{request_id}"):
            return None
        return self.requests.get(request_id)

    def reserve(self, booking, person_key):
        with self._lock:
            keys = [(booking.campaign_id, booking.center_id, a.slot_id) for a in booking.appointments]
            full = [self._catalog.slot_table.get(k) is None or self._catalog.slot_table[k].remaining <= 0 for k in keys]
            if self.requests[booking.request_id].status is not d.RequestStatus.QUEUED:
                raise d.RequestAlreadyDecided()
            if self._holds(person_key, booking.series):  # not holds_booking: subclasses count that as a read
                raise d.AlreadyBooked()
            if full[0]:
                raise d.FirstSlotTaken()
            if len(full) > 1 and full[1]:
                raise d.SecondSlotTaken()
            for key in keys:
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked + 1)
            self.bookings[booking.code] = booking
            self.locks[(person_key, booking.series)] = booking.code
            self.requests[booking.request_id] = d.RequestState(
                booking.request_id, d.RequestStatus.BOOKED, booking_code=booking.code
            )
            expires_at = booking.personal_data_expires_at(self._retention)
            self.expiry[f"booking:{booking.code}"] = self.expiry[f"request:{booking.request_id}"] = expires_at

    def holds_booking(self, person_key, series):
        return self._holds(person_key, series)

    def _holds(self, person_key, series):
        code = self.locks.get((person_key, series))
        return code is not None and not self._expired(f"booking:{code}")

    def person_locks(self, person_key):
        return {
            series: code
            for (key, series), code in self.locks.items()
            if key == person_key and not self._expired(f"booking:{code}")
        }

    def erase(self, booking):
        with self._lock:
            if self.bookings[booking.code].status is d.BookingStatus.ACTIVE:
                raise ValueError("cancel an active booking before erasing it")
            del self.bookings[booking.code]  # the personal data goes; the code stays as the tombstone
            self.erased.add(booking.code)
            # With it its letter marks, under every operation it was marked under (as the adapter's marked_under).
            for marks in self.letter_marks.values():
                marks.pop(booking.code, None)

    def reject(self, request_id, reason, alternatives):
        with self._lock:
            current = self.requests.get(request_id)
            if current is None or current.status is not d.RequestStatus.QUEUED:
                return False
            self.requests[request_id] = d.RequestState(
                request_id, d.RequestStatus.REJECTED, reason=reason, alternatives=tuple(alternatives)
            )
            return True

    def booking(self, code):
        if code in self.erased or self._expired(f"booking:{code}"):
            return None
        return self.bookings.get(code)

    def active_bookings(self):
        return iter(
            [
                b
                for b in self.bookings.values()
                if b.status is d.BookingStatus.ACTIVE and not self._expired(f"booking:{b.code}")
            ]
        )

    def cancel(self, booking, person_key, audit=None):
        with self._lock:
            current = self.bookings[booking.code]
            if current.status is d.BookingStatus.CANCELLED:
                return False
            if not self._as_read(booking):
                raise d.BookingChanged()
            self._audit(audit)
            for a in current.appointments:
                key = (current.campaign_id, current.center_id, a.slot_id)
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked - 1)
            self.bookings[booking.code] = current.cancelled()
            del self.locks[(person_key, current.series)]
            return True

    def rebook(self, old, new, person_key, audit=None):
        with self._lock:
            if not self._as_read(old):
                raise d.BookingChanged()
            changes = d.counter_changes(old.appointments, new.appointments)
            keys = {slot_id: (old.campaign_id, old.center_id, slot_id) for slot_id in changes}
            for ref, outcome in zip(new.appointments, (d.FirstSlotTaken, d.SecondSlotTaken), strict=False):
                slot = self._catalog.slot_table.get(keys.get(ref.slot_id, ("", "", "")))
                if changes.get(ref.slot_id, 0) > 0 and (slot is None or slot.booked >= slot.capacity):
                    raise outcome()
            for slot_id, delta in changes.items():
                slot = self._catalog.slot_table[keys[slot_id]]
                assert slot.booked + delta >= 0, "counters drifted"
                self._catalog.slot_table[keys[slot_id]] = replace(slot, booked=slot.booked + delta)
            self._audit(audit)
            self.bookings[old.code] = new
            self._refresh(new, person_key)

    def change_contact(self, old, new, audit):
        with self._lock:
            current = self.booking(old.code)
            if current is None:
                raise d.BookingNotFound()
            if current.status is not d.BookingStatus.ACTIVE:
                raise d.BookingNotActive()
            contact = (current.person.email, current.person.phone, current.contact_revision)
            if not self._as_read(old) or contact != (old.person.email, old.person.phone, old.contact_revision):
                raise d.BookingChanged()
            self._audit(audit)
            self.bookings[old.code] = replace(
                current,
                person=replace(current.person, email=new.person.email, phone=new.person.phone),
                contact_revision=new.contact_revision,
                contact_changed_at=new.contact_changed_at,
            )

    def _refresh(self, booking, person_key):
        """The lock and the request share the booking's expiry (the adapter writes all three)."""
        self.locks[(person_key, booking.series)] = booking.code
        expires_at = booking.personal_data_expires_at(self._retention)
        self.expiry[f"booking:{booking.code}"] = expires_at
        if booking.request_id in self.requests:
            self.expiry[f"request:{booking.request_id}"] = expires_at

    def _audit(self, record):
        if record is not None:  # in the same "transaction" as the change, as the DynamoDB adapter does
            assert self._audit_log is not None, "a staff action needs the audit log"
            self._audit_log.append(record)

    def _add_seats(self, booking, changes: dict[str, int]):
        for slot_id, delta in changes.items():
            key = (booking.campaign_id, booking.center_id, slot_id)
            slot = self._catalog.slot_table[key]
            assert slot.booked + delta >= 0, "counters drifted"
            self._catalog.slot_table[key] = replace(slot, booked=slot.booked + delta)

    def hold(self, code):
        return self.held.get(code)

    def holds(self):
        return iter(list(self.held.values()))

    def confirm_hold(self, booking, hold, person_key, audit=None, pair=None):
        with self._lock:
            current = self.bookings.get(booking.code)
            now = self._now() if self._now else None
            if current is None or current.status is not d.BookingStatus.CANCELLED or current.version != booking.version:
                raise d.HoldLapsed()
            if self.held.get(booking.code) != hold or (now is not None and not hold.is_live(now)):
                raise d.HoldLapsed()
            first, second = pair if pair is not None else (hold.first, hold.second)
            new = (first,) if second is None else (first, second)
            changes = d.counter_changes(hold.appointments, new)
            for ref, outcome in zip(new, (d.FirstSlotTaken, d.SecondSlotTaken), strict=False):
                slot = self._catalog.slot_table.get((hold.campaign_id, hold.center_id, ref.slot_id))
                if changes.get(ref.slot_id, 0) > 0 and (slot is None or slot.booked >= slot.capacity):
                    raise outcome()
            if self._holds(person_key, booking.series):
                raise d.AlreadyBooked()
            self._audit(audit)
            self._add_seats(hold, changes)
            del self.held[booking.code]
            self.changed_by.pop(booking.code, None)
            confirmed = replace(current.rebooked(first, second), status=d.BookingStatus.ACTIVE)
            self.bookings[booking.code] = confirmed
            self._refresh(confirmed, person_key)
            return confirmed

    def release_hold(self, hold, lapsed_only):
        with self._lock:
            if self.held.get(hold.code) != hold:
                return False
            if lapsed_only and self._now is not None and hold.is_live(self._now()):
                return False
            del self.held[hold.code]
            self._add_seats(hold, {a.slot_id: -1 for a in hold.appointments})
            return True

    def _as_read(self, booking):
        """The booking is stored as it was read: active, same slots, same version (the adapter's condition)."""
        current = self.bookings.get(booking.code)
        return (
            current is not None
            and current.status is d.BookingStatus.ACTIVE
            and (current.first.slot_id, current.second and current.second.slot_id, current.version)
            == (booking.first.slot_id, booking.second and booking.second.slot_id, booking.version)
        )


class FakeAuditLog(AuditLog):
    def __init__(self, failures: int = 0):
        self.records: list[AuditRecord] = []
        self.failures = failures  # the next appends that fail (a store that is briefly unavailable)

    def append(self, record):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("audit store unavailable")
        self.records.append(record)

    def day(self, day, after, limit, actor):
        found = sorted(
            (
                r
                for r in self.records
                if r.day == day and (actor is None or r.actor == actor) and (after is None or sort_key(r) > after)
            ),
            key=sort_key,
        )
        page = found[:limit]
        return page, (sort_key(page[-1]) if len(found) > limit else None)


class FakeCallerIndex(CallerIndex):
    def __init__(self, bookings: FakeBookings):
        self._bookings = bookings

    def booking_codes(self, person_key):
        locked = [code for (key, _), code in self._bookings.locks.items() if key == person_key]
        return locked + [code for (key, code) in self._bookings.held_pointers if key == person_key]


class FakeSupply(Supply):
    """The supply port over the fake catalogue and bookings, with the same conditions as the DynamoDB writes.

    `bookings_in` reads in code order, as a scan reads in key order, and its cursor is the last code returned."""

    def __init__(self, catalog: FakeCatalog, bookings: FakeBookings):
        self._catalog = catalog
        self._bookings = bookings
        self.operations: dict[str, d.CentreDayOperation] = {}
        self.changed_by = bookings.changed_by  # booking code → operation id

    def set_capacity(self, slot, capacity, audit=None):
        key = (slot.campaign_id, slot.center_id, slot.slot_id)
        current = self._catalog.slot_table[key]
        if current.booked > capacity or current.capacity != slot.capacity:
            return False
        self._bookings._audit(audit)
        self._catalog.slot_table[key] = replace(current, capacity=capacity)
        return True

    def bookings_in(self, campaign_id, center_id, first_slot_id, last_slot_id, operation_id, cursor, limit):
        def matches(b: d.Booking) -> bool:
            if b.campaign_id != campaign_id or b.center_id != center_id:
                return False
            in_range = any(first_slot_id <= a.slot_id <= last_slot_id for a in b.appointments)
            return (b.status is d.BookingStatus.ACTIVE and in_range) or self.changed_by.get(b.code) == operation_id

        codes = sorted(c for c in self._bookings.bookings if cursor is None or c > cursor)
        found = [self._bookings.bookings[c] for c in codes if matches(self._bookings.bookings[c])]
        page = found[:limit]
        more = len(found) > limit
        return page, (page[-1].code if more else None)

    def cancel_for_operation(self, booking, person_key, operation_id, hold=None, audit=None):
        current = self._bookings.bookings[booking.code]
        if not self._bookings._as_read(booking):
            return False
        if hold is not None:
            if booking.code in self._bookings.held:
                raise d.FirstSlotTaken()
            changes = d.counter_changes(current.appointments, hold.appointments)
            for ref, outcome in zip(hold.appointments, (d.FirstSlotTaken, d.SecondSlotTaken), strict=False):
                slot = self._catalog.slot_table.get((current.campaign_id, current.center_id, ref.slot_id))
                if changes.get(ref.slot_id, 0) > 0 and (slot is None or slot.remaining <= 0):
                    raise outcome()
        self._bookings.cancel(current, person_key, audit=audit)
        if hold is not None:
            self._bookings._add_seats(current, {a.slot_id: 1 for a in hold.appointments})
            self._bookings.held[booking.code] = hold
            self._bookings.held_pointers[(person_key, booking.code)] = hold.until
        self.changed_by[booking.code] = operation_id
        return True

    def move_for_operation(self, booking, appointment, to, operation_id, person_key, audit=None):
        current = self._bookings.bookings[booking.code]
        if not self._bookings._as_read(booking) or appointment not in current.appointments:
            return False
        target_key = (to.campaign_id, to.center_id, to.slot_id)
        target = self._catalog.slot_table[target_key]
        if target.remaining <= 0:
            raise d.FirstSlotTaken()
        self._bookings._audit(audit)
        old_key = (current.campaign_id, current.center_id, appointment.slot_id)
        old = self._catalog.slot_table[old_key]
        self._catalog.slot_table[old_key] = replace(old, booked=old.booked - 1)
        self._catalog.slot_table[target_key] = replace(target, booked=target.booked + 1)
        which = "first" if current.first == appointment else "second"
        moved = replace(current, **{which: to.ref})
        self._bookings.bookings[booking.code] = moved
        self._bookings._refresh(moved, person_key)
        self.changed_by[booking.code] = operation_id
        return True

    def add_second(self, booking, second, person_key, audit=None):
        current = self._bookings.bookings.get(booking.code)
        if current is None or not self._bookings._as_read(booking):
            raise d.BookingNotFound()
        key = (second.campaign_id, second.center_id, second.slot_id)
        slot = self._catalog.slot_table[key]
        if slot.remaining <= 0:
            raise d.SecondSlotTaken()
        self._bookings._audit(audit)
        self._catalog.slot_table[key] = replace(slot, booked=slot.booked + 1)
        repaired = current.rebooked(current.first, second.ref)
        self._bookings.bookings[booking.code] = repaired
        self._bookings._refresh(repaired, person_key)

    def all_bookings(self, campaign_id):
        return iter([b for b in self._bookings.bookings.values() if b.campaign_id == campaign_id])

    def start_operation(self, operation):
        return self.operations.setdefault(operation.operation_id, operation)

    def operation(self, operation_id):
        return self.operations.get(operation_id)

    def record_progress(self, operation_id, cursor, done, cancelled, moved=0):
        current = self.operations[operation_id]
        self.operations[operation_id] = replace(
            current, cursor=cursor, done=done, cancelled=current.cancelled + cancelled, moved=current.moved + moved
        )


class FakeLetterMarks(LetterMarks):
    """Marks of operations' letters, with the adapter's conditions (the booking names the operation, not marked
    yet) and its audit record in one step."""

    def __init__(self, bookings: FakeBookings):
        self._bookings = bookings
        self.marks_by_operation = bookings.letter_marks

    def marks(self, operation_id):
        return dict(self.marks_by_operation.get(operation_id, {}))

    def mark_of(self, operation_id, code):
        if self._bookings.changed_by.get(code) != operation_id:
            raise d.BookingNotFound()
        return self.marks_by_operation.get(operation_id, {}).get(code)

    def unmark(self, operation_id, booking, mark, audit):
        with self._bookings._lock:
            if self._bookings.changed_by.get(booking.code) != operation_id:
                raise d.BookingNotFound()
            marks = self.marks_by_operation.get(operation_id, {})
            if marks.get(booking.code) != mark:
                return False  # gone, or another mark stands: nothing written
            self._bookings._audit(audit)
            del marks[booking.code]
            return True

    def mark(self, operation_id, booking, mark, audit):
        with self._bookings._lock:
            if self._bookings.changed_by.get(booking.code) != operation_id:
                raise d.BookingNotFound()
            marks = self.marks_by_operation.setdefault(operation_id, {})
            if booking.code in marks:
                return marks[booking.code]
            self._bookings._audit(audit)
            marks[booking.code] = mark
            return mark


class FakeQueue(RequestQueue):
    def __init__(self):
        self.sent: list[d.BookingRequest] = []

    def send(self, request):
        self.sent.append(request)


class FakeOutbox(MailOutbox):
    def __init__(self):
        self.published: list[MailMessage] = []

    def publish(self, message):
        self.published.append(message)


class FakeMailer(Mailer):
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


class FakeMailQuota(MailQuota):
    """Each address may have `per_address` mails counted (the day never ends here)."""

    def __init__(self, per_address: int):
        self.per_address = per_address
        self.taken: dict[str, int] = {}

    def take(self, address):
        if self.taken.get(address, 0) >= self.per_address:
            return False
        self.taken[address] = self.taken.get(address, 0) + 1
        return True


class FakeSuppressionList(MailLedger):
    """The suppression list and the mail markers, with the same claim rules as the DynamoDB write."""

    def __init__(self, clock=lambda: datetime.now(UTC), lease_s: float = CLAIM_LEASE_S):
        self.suppressed: dict[str, str] = {}
        self.markers: dict[str, tuple[str, float | None]] = {}  # mail key → (holder, lease end; None once settled)
        self.settled: dict[str, tuple[datetime, MailOutcome]] = {}  # mail key → when and how it was settled
        self.suppressed_at: dict[str, str] = {}
        self._lock = threading.Lock()
        self._now = clock
        self._lease_s = lease_s

    def is_suppressed(self, address):
        return address.strip().casefold() in self.suppressed

    def suppress(self, address, reason):
        self.suppressed[address.strip().casefold()] = reason
        self.suppressed_at[address.strip().casefold()] = self._now().isoformat()

    def record(self, address):
        reason = self.suppressed.get(address.strip().casefold())
        return SuppressionRecord(reason, self.suppressed_at.get(address.strip().casefold(), "")) if reason else None

    def forget(self, address):
        self.suppressed_at.pop(address.strip().casefold(), None)
        return self.suppressed.pop(address.strip().casefold(), None) is not None

    def claim(self, mail_key, recipient, holder):
        with self._lock:
            if self.is_suppressed(recipient):
                return MailClaim.SUPPRESSED
            now = self._now().timestamp()
            if mail_key in self.markers:
                _, lease_until = self.markers[mail_key]
                if lease_until is None:
                    return MailClaim.ALREADY_SENT
                if lease_until >= now:
                    raise MailBeingSent(mail_key)
            self.markers[mail_key] = (holder, now + self._lease_s)
            return MailClaim.SEND

    def settle(self, mail_key, holder, outcome=MailOutcome.SENT):
        with self._lock:
            self.markers[mail_key] = (holder, None)
            self.settled[mail_key] = (self._now(), outcome)

    def mark(self, mail_key):
        with self._lock:
            if mail_key not in self.markers:
                return None
            if mail_key not in self.settled:
                return MailMark(settled=False, settled_at=None, outcome=None)
            at, outcome = self.settled[mail_key]
            return MailMark(settled=True, settled_at=at, outcome=outcome)

    def release(self, mail_key, holder):
        with self._lock:
            current = self.markers.get(mail_key)
            if current is not None and current[0] == holder and current[1] is not None:
                del self.markers[mail_key]


# --- limits and verification (chalicelib/limits, chalicelib/verification) -----------------------------

from chalicelib.limits.ports import Counters  # noqa: E402
from chalicelib.verification.domain import Verification  # noqa: E402
from chalicelib.verification.ports import Verifications  # noqa: E402


@dataclass
class FakeAdmission(Admission):
    """A count made by the fake bookings' add_request, under its lock (as the adapter's one transaction)."""

    counters: FakeCounters
    args: tuple
    refused: Exception

    def take(self) -> bool:
        return self.counters.add(*self.args)

    def refusal(self):
        return self.refused


class FakeCounters(Counters):
    def __init__(self):
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = {}

    def add_in_write(self, key, window_start, expires_at, amount, ceiling, refusal):
        return FakeAdmission(self, (key, window_start, expires_at, amount, ceiling), refusal)

    def add(self, key, window_start, expires_at, amount, ceiling):
        with self._lock:
            current = self.counts.get((key, window_start), 0)
            if ceiling is not None and current + amount > ceiling:
                return False
            self.counts[(key, window_start)] = current + amount
            return True

    def value(self, key, window_start):
        return self.counts.get((key, window_start), 0)


class FakeVerifications(Verifications):
    def __init__(self):
        self.items: dict[str, Verification] = {}

    def add(self, verification):
        assert verification.id not in self.items
        self.items[verification.id] = verification

    def get(self, verification_id):
        return self.items.get(verification_id)

    def mark_verified(self, verification_id, until):
        current = self.items[verification_id]
        if current.verified_until is None:
            self.items[verification_id] = replace(current, verified_until=until)


class FakeAttendance(AttendanceStore):
    """Marks on the fake bookings, with the adapter's condition (the booking as read) and its audit in one step."""

    def __init__(self, bookings: FakeBookings, audit_log: FakeAuditLog):
        self._bookings = bookings
        self._audit_log = audit_log

    def day(self, center_id, day):
        return [
            b
            for b in self._bookings.bookings.values()
            if b.center_id == center_id
            and b.status is d.BookingStatus.ACTIVE
            and any(a.start.astimezone(d.LOCAL_TZ).date() == day for a in b.appointments)
        ]

    def change(self, before, after, dose, at, audit):
        with self._bookings._lock:
            current = self._bookings.bookings.get(before.code)
            if current is None or not self._bookings._as_read(before):
                return False
            if (current.first_attendance, current.second_attendance, current.released_second) != (
                before.first_attendance,
                before.second_attendance,
                before.released_second,
            ):
                return False
            slots = self._bookings._catalog.slot_table
            if before.second is not None and after.second is None:  # given back
                key = (before.campaign_id, before.center_id, before.second.slot_id)
                slots[key] = replace(slots[key], booked=slots[key].booked - 1)
            elif before.second is None and after.second is not None:  # taken again, if it is free
                key = (before.campaign_id, before.center_id, after.second.slot_id)
                if slots[key].remaining <= 0:
                    raise d.SecondSlotTaken()
                slots[key] = replace(slots[key], booked=slots[key].booked + 1)
            self._audit_log.append(audit)
            self._bookings.bookings[before.code] = replace(
                current,
                first_attendance=after.first_attendance,
                second_attendance=after.second_attendance,
                second=after.second,
                released_second=after.released_second,
            )
            return True
