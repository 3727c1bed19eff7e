"""In-memory implementations of the ports, for service tests without AWS."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings, Catalog, MailOutbox, RequestQueue
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

    def __init__(self, catalog: FakeCatalog):
        self._catalog = catalog
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
            if (person_key, booking.series) in self.locks:
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
            self.requests[booking.request_id] = d.RequestState(booking.request_id, d.RequestStatus.BOOKED,
                                                               booking_code=booking.code)

    def holds_booking(self, person_key, series):
        return (person_key, series) in self.locks

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

    def cancel(self, booking, person_key):
        with self._lock:
            current = self.bookings[booking.code]
            if current.status is d.BookingStatus.CANCELLED:
                return False
            if not self._as_read(booking):
                raise d.BookingChanged()
            for a in current.appointments:
                key = (current.campaign_id, current.center_id, a.slot_id)
                slot = self._catalog.slot_table[key]
                self._catalog.slot_table[key] = replace(slot, booked=slot.booked - 1)
            self.bookings[booking.code] = current.cancelled()
            del self.locks[(person_key, current.series)]
            return True

    def rebook(self, old, new):
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
            self.bookings[old.code] = new

    def _as_read(self, booking):
        """The booking is stored as it was read: active, same slots, same version (the adapter's condition)."""
        current = self.bookings.get(booking.code)
        return (current is not None and current.status is d.BookingStatus.ACTIVE
                and (current.first.slot_id, current.second and current.second.slot_id, current.version)
                == (booking.first.slot_id, booking.second and booking.second.slot_id, booking.version))


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
