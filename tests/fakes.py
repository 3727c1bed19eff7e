"""In-memory implementations of the ports, for service tests without AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog, MailOutbox, RequestQueue
from chalicelib.contracts.mail import MailMessage
from chalicelib.notify.ports import Mailer, SuppressionList, SuppressionRecord


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

    def __init__(self, catalog: FakeCatalog, clock: Callable[[], datetime] | None = None,
                 retention: timedelta = d.DEFAULT_RETENTION):
        self._catalog = catalog
        self._lock = threading.Lock()
        self._now = clock
        self._retention = retention
        self.requests: dict[str, d.RequestState] = {}
        self.bookings: dict[str, d.Booking] = {}
        self.locks: dict[tuple[str, str], str] = {}
        self.erased: set[str] = set()  # codes of tombstones
        self.expiry: dict[str, datetime] = {}  # "request:<id>" / "booking:<code>" → as the TTL attribute says

    def _expired(self, key: str) -> bool:
        # Without a clock nothing expires (service tests that do not care about retention).
        return self._now is not None and key in self.expiry and self.expiry[key] <= self._now()

    def add_request(self, request, created_at: datetime):
        with self._lock:
            assert request.request_id not in self.requests
            self.requests[request.request_id] = d.RequestState(request.request_id, d.RequestStatus.QUEUED)
            self.expiry[f"request:{request.request_id}"] = created_at + self._retention

    def request_state(self, request_id):
        if self._expired(f"request:{request_id}"):
            return None
        return self.requests.get(request_id)

    def reserve(self, booking, person_key):
        with self._lock:
            keys = [(booking.campaign_id, booking.center_id, a.slot_id) for a in booking.appointments]
            full = [self._catalog.slot_table.get(k) is None or self._catalog.slot_table[k].remaining <= 0
                    for k in keys]
            if self.requests[booking.request_id].status is not d.RequestStatus.QUEUED:
                raise d.RequestAlreadyDecided()
            if self.holds_booking(person_key, booking.campaign_id):
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
            expires_at = booking.personal_data_expires_at(self._retention)
            self.expiry[f"booking:{booking.code}"] = self.expiry[f"request:{booking.request_id}"] = expires_at

    def holds_booking(self, person_key, campaign_id):
        code = self.locks.get((person_key, campaign_id))
        return code is not None and not self._expired(f"booking:{code}")

    def person_locks(self, person_key):
        return {campaign: code for (key, campaign), code in self.locks.items()
                if key == person_key and not self._expired(f"booking:{code}")}

    def erase(self, booking):
        with self._lock:
            if self.bookings[booking.code].status is d.BookingStatus.ACTIVE:
                raise ValueError("cancel an active booking before erasing it")
            del self.bookings[booking.code]  # the personal data goes; the code stays as the tombstone
            self.erased.add(booking.code)

    def reject(self, request_id, reason, alternatives):
        with self._lock:
            if self.requests[request_id].status is not d.RequestStatus.QUEUED:
                return False
            self.requests[request_id] = d.RequestState(request_id, d.RequestStatus.REJECTED, reason=reason,
                                                       alternatives=tuple(alternatives))
            return True

    def booking(self, code):
        if code in self.erased or self._expired(f"booking:{code}"):
            return None
        return self.bookings.get(code)

    def active_bookings(self):
        return iter([b for b in self.bookings.values()
                     if b.status is d.BookingStatus.ACTIVE and not self._expired(f"booking:{b.code}")])

    def cancel(self, booking, person_key):
        with self._lock:
            current = self.bookings[booking.code]
            if current.status is d.BookingStatus.CANCELLED:
                return False
            for a in current.appointments:
                key = (current.campaign_id, current.center_id, a.slot_id)
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked - 1)
            self.bookings[booking.code] = current.cancelled()
            del self.locks[(person_key, current.campaign_id)]
            return True


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

    def record(self, address):
        reason = self.suppressed.get(address.strip().casefold())
        return SuppressionRecord(reason, "") if reason else None

    def forget(self, address):
        return self.suppressed.pop(address.strip().casefold(), None) is not None
