"""A small world for service tests: one centre, one open two-dose campaign, a few slots, a fixed clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.queries import BookingQueries
from chalicelib.booking.services import BookingService
from tests.fakes import FakeBookings, FakeCatalog, FakeOutbox, FakeQueue

NOW = datetime(2021, 2, 1, 8, 0, tzinfo=d.LOCAL_TZ)
PEPPER = b"test-pepper"
DORTMUND = d.Center(
    "dortmund",
    "Impfzentrum Dortmund",
    "Rheinlanddamm 200, 44139 Dortmund",
    "westfalen-lippe",
    frozenset({"44141", "44139"}),
    ("comirnaty",),
)
KOELN = d.Center(
    "koeln", "Impfzentrum Köln", "Messeplatz 1, 50679 Köln", "nordrhein", frozenset({"50679"}), ("comirnaty",)
)
CAMPAIGN = d.Campaign(
    "80plus",
    "80+ Comirnaty",
    "comirnaty",
    2,
    21,
    42,
    frozenset({"westfalen-lippe", "nordrhein"}),
    ("dortmund", "koeln"),
    opens_at=NOW - timedelta(days=1),
    born_on_or_before=date(1940, 12, 31),
)


def slot(day_offset: int, hour: int, capacity: int = 1, center: str = "dortmund") -> d.Slot:
    start = datetime.combine(NOW.date() + timedelta(days=day_offset), time(hour), d.LOCAL_TZ)
    return d.Slot(CAMPAIGN.id, center, d.slot_id_for(start), start, start + timedelta(minutes=30), capacity)


def person(given: str = "Erna", family: str = "Müller", born: date = date(1940, 5, 1)) -> d.Person:
    return d.Person(given, family, born, "44141", f"{given.lower()}@example.org")


class World:
    def __init__(
        self,
        slots: list[d.Slot],
        campaign: d.Campaign = CAMPAIGN,
        service_catalog=None,
        availability_max_age_s: float = 0,
        catalog_type=FakeCatalog,
        bookings_type=FakeBookings,
        clock=None,
        outbox=None,
    ):
        """service_catalog(catalog) may wrap the catalogue the service sees (e.g. in a cache); catalog_type and
        bookings_type may be subclasses of the fakes that count what the services read; clock replaces the
        fixed NOW, outbox the recording FakeOutbox."""
        self.catalog = catalog_type()
        self.catalog.add_center(DORTMUND)
        self.catalog.add_center(KOELN)
        self.catalog.add_campaign(campaign)
        self.catalog.release_slots(slots)
        self.bookings = bookings_type(self.catalog)
        self.queue = FakeQueue()
        self.outbox = outbox or FakeOutbox()
        now = clock or (lambda: NOW)
        seen = service_catalog(self.catalog) if service_catalog else self.catalog
        self.queries = BookingQueries(seen, self.bookings, clock=now, availability_max_age_s=availability_max_age_s)
        self.service = BookingService(self.queries, seen, self.bookings, self.queue, self.outbox, PEPPER, clock=now)

    def submit(self, first: d.Slot, who: d.Person | None = None, flexible: bool = False) -> d.BookingRequest:
        request_id = self.service.submit(CAMPAIGN.id, first.center_id, first.slot_id, flexible, "de", who or person())
        return next(r for r in self.queue.sent if r.request_id == request_id)

    def book(self, first: d.Slot, who: d.Person | None = None, flexible: bool = False) -> d.RequestState:
        return self.service.process(self.submit(first, who, flexible))

    def remaining(self, s: d.Slot) -> int:
        return self.catalog.slot(s.campaign_id, s.center_id, s.slot_id).remaining
