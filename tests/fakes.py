"""In-memory implementations of the ports, for service tests without AWS."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditLog, AuditRecord, sort_key
from chalicelib.booking.ports import Bookings, CallerIndex, Catalog, MailOutbox, RequestQueue
from chalicelib.contracts.mail import MailMessage
from chalicelib.notify.ports import Mailer, SuppressionList


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
            (s for (ca, ce, _), s in self.slot_table.items()
             if ca == campaign_id and ce == center_id and start <= s.start < end),
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
            capacity = slot.capacity + (current.capacity if current else 0)
            self.slot_table[key] = replace(slot, capacity=capacity, booked=current.booked if current else 0)


class FakeBookings(Bookings):
    """Keeps the same all-or-nothing rules as the DynamoDB transaction, under one lock."""

    def __init__(self, catalog: FakeCatalog, audit_log: FakeAuditLog | None = None):
        self._catalog = catalog
        self._audit_log = audit_log
        self._lock = threading.Lock()
        self.requests: dict[str, d.RequestState] = {}
        self.bookings: dict[str, d.Booking] = {}
        self.locks: dict[tuple[str, str], str] = {}

    def add_request(self, request, created_at: datetime):
        with self._lock:
            assert request.request_id not in self.requests
            self.requests[request.request_id] = d.RequestState(request.request_id, d.RequestStatus.QUEUED)

    def request_state(self, request_id):
        return self.requests.get(request_id)

    def reserve(self, booking, person_key):
        with self._lock:
            keys = [(booking.campaign_id, booking.center_id, a.slot_id) for a in booking.appointments]
            full = [self._catalog.slot_table.get(k) is None or self._catalog.slot_table[k].remaining <= 0
                    for k in keys]
            if self.requests[booking.request_id].status is not d.RequestStatus.QUEUED:
                raise d.RequestAlreadyDecided()
            if (person_key, booking.campaign_id) in self.locks:
                raise d.AlreadyBooked()
            if full[0]:
                raise d.FirstSlotTaken()
            if len(full) > 1 and full[1]:
                raise d.SecondSlotTaken()
            for key in keys:
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked + 1)
            self.bookings[booking.code] = booking
            self.locks[(person_key, booking.campaign_id)] = booking.code
            self.requests[booking.request_id] = d.RequestState(booking.request_id, d.RequestStatus.BOOKED,
                                                               booking_code=booking.code)

    def holds_booking(self, person_key, campaign_id):
        return (person_key, campaign_id) in self.locks

    def reject(self, request_id, reason, alternatives):
        with self._lock:
            if self.requests[request_id].status is not d.RequestStatus.QUEUED:
                return False
            self.requests[request_id] = d.RequestState(request_id, d.RequestStatus.REJECTED, reason=reason,
                                                       alternatives=tuple(alternatives))
            return True

    def booking(self, code):
        return self.bookings.get(code)

    def active_bookings(self):
        return iter([b for b in self.bookings.values() if b.status is d.BookingStatus.ACTIVE])

    def cancel(self, booking, person_key, audit=None):
        with self._lock:
            current = self.bookings[booking.code]
            if current.status is d.BookingStatus.CANCELLED:
                return False
            if audit is not None:  # in the same "transaction" as the cancel, as the DynamoDB adapter does
                assert self._audit_log is not None, "a staff cancel needs the audit log"
                self._audit_log.append(audit)
            for a in current.appointments:
                key = (current.campaign_id, current.center_id, a.slot_id)
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked - 1)
            self.bookings[booking.code] = current.cancelled()
            del self.locks[(person_key, current.campaign_id)]
            return True


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
        found = sorted((r for r in self.records if r.day == day and (actor is None or r.actor == actor)
                        and (after is None or sort_key(r) > after)), key=sort_key)
        page = found[:limit]
        return page, (sort_key(page[-1]) if len(found) > limit else None)


class FakeCallerIndex(CallerIndex):
    def __init__(self, bookings: FakeBookings):
        self._bookings = bookings

    def booking_codes(self, person_key):
        return [code for (key, _), code in self._bookings.locks.items() if key == person_key]


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


class FakeSuppressionList(SuppressionList):
    def __init__(self):
        self.suppressed: dict[str, str] = {}

    def is_suppressed(self, address):
        return address.strip().casefold() in self.suppressed

    def suppress(self, address, reason):
        self.suppressed[address.strip().casefold()] = reason


# --- limits and verification (chalicelib/limits, chalicelib/verification) -----------------------------

from chalicelib.limits.ports import Counters  # noqa: E402
from chalicelib.verification.domain import Verification  # noqa: E402
from chalicelib.verification.ports import Verifications  # noqa: E402


class FakeCounters(Counters):
    def __init__(self):
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = {}

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
