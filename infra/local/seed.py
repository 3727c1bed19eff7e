"""Demo data for `make run` and the tests: three centres in both regions and an open 80+ campaign."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog
from chalicelib.booking.storage.models import SlotItem, slots_pk

# The appointment hotlines of 2021: each Kassenärztliche Vereinigung ran its own (116 117 plus a suffix).
REGION_HOTLINES = {"nordrhein": "0800 116 117 01", "westfalen-lippe": "0800 116 117 02"}
CENTERS = (
    d.Center(
        "dortmund",
        "Impfzentrum Dortmund (Messe Westfalenhallen)",
        "Rheinlanddamm 200, 44139 Dortmund",
        "westfalen-lippe",
        frozenset(str(p) for p in range(44135, 44150)),
        ("comirnaty",),
        REGION_HOTLINES["westfalen-lippe"],
    ),
    d.Center(
        "muenster",
        "Impfzentrum Münster (Halle Münsterland)",
        "Albersloher Weg 32, 48155 Münster",
        "westfalen-lippe",
        frozenset(str(p) for p in range(48143, 48168)),
        ("comirnaty",),
        REGION_HOTLINES["westfalen-lippe"],
    ),
    d.Center(
        "koeln",
        "Impfzentrum Köln (Messe Köln)",
        "Messeplatz 1, 50679 Köln",
        "nordrhein",
        frozenset(str(p) for p in range(50667, 50680)),
        ("comirnaty",),
        REGION_HOTLINES["nordrhein"],
    ),
)
OPEN_CAMPAIGN_ID = "80plus-comirnaty"
UPCOMING_CAMPAIGN_ID = "jahrgang-1941-comirnaty"
FIRST_DOSE_DAYS = 28
# The open campaign's booking horizon: five weeks, one more than a page of availability, so that the site shows
# the first four and offers later appointments. First doses in week five pair with the slots laid out for
# second doses (up to FIRST_DOSE_DAYS + 21 + SECOND_DOSE_SPREAD_DAYS), so no extra slots are needed.
DEMO_HORIZON_DAYS = 35
SLOT_HOURS = (9, 11, 14, 16)  # few slots with more capacity each: the local stack starts in seconds
SLOT_MINUTES = 30
# Second doses are placed as early in their window as possible, so a week beyond the earliest one is enough.
SECOND_DOSE_SPREAD_DAYS = 7


def demo_campaigns(today: date) -> tuple[d.Campaign, d.Campaign]:
    opened = datetime.combine(today - timedelta(days=1), time(8), d.LOCAL_TZ)
    centre_ids = tuple(c.id for c in CENTERS)
    regions = frozenset({"westfalen-lippe", "nordrhein"})
    return (
        d.Campaign(
            OPEN_CAMPAIGN_ID,
            "80+ Comirnaty",
            "comirnaty",
            doses=2,
            interval_min_days=21,
            interval_max_days=42,
            regions=regions,
            center_ids=centre_ids,
            opens_at=opened,
            born_on_or_before=date(1940, 12, 31),
            horizon_days=DEMO_HORIZON_DAYS,
        ),
        d.Campaign(
            UPCOMING_CAMPAIGN_ID,
            "Jahrgang 1941 Comirnaty",
            "comirnaty",
            doses=2,
            interval_min_days=21,
            interval_max_days=42,
            regions=regions,
            center_ids=centre_ids,
            opens_at=datetime.combine(today + timedelta(days=14), time(8), d.LOCAL_TZ),
            born_on_or_after=date(1941, 1, 1),
            born_on_or_before=date(1941, 12, 31),
        ),
    )


def demo_slots(campaign: d.Campaign, center_id: str, today: date, capacity: int) -> list[d.Slot]:
    """Slots from tomorrow for four weeks of first doses, and beyond for their second doses."""
    days = FIRST_DOSE_DAYS + campaign.interval_min_days + SECOND_DOSE_SPREAD_DAYS
    slots = []
    for offset in range(1, days + 1):
        day = today + timedelta(days=offset)
        for hour in SLOT_HOURS:
            start = datetime.combine(day, time(hour), d.LOCAL_TZ)
            end = start + timedelta(minutes=SLOT_MINUTES)
            slots.append(d.Slot(campaign.id, center_id, d.slot_id_for(start), start, end, capacity))
    return slots


def write_new_slots(slots: list[d.Slot]) -> None:
    """Put fresh slots (nothing booked) in BatchWriteItem calls of 25 items.

    Only for a table that does not hold these slots yet (a fresh local stack, a new campaign): a put
    replaces an item, whereas `Catalog.release_slots` adds capacity atomically to whatever is there, one
    UpdateItem per slot (672 calls took 18 s of start-up; batched they take well under a second).
    """
    with SlotItem.batch_write() as batch:
        for slot in slots:
            batch.save(
                SlotItem(
                    slots_pk(slot.campaign_id, slot.center_id),
                    slot.slot_id,
                    start=slot.start.isoformat(),
                    end=slot.end.isoformat(),
                    capacity=slot.capacity,
                    booked=0,
                )
            )


def seed_demo(catalog: Catalog, today: date, capacity: int = 6) -> None:
    """Demo data for a freshly started local AWS (the catalogue's models must be bound: bootstrap.catalog())."""
    for center in CENTERS:
        catalog.add_center(center)
    open_campaign, upcoming = demo_campaigns(today)
    for campaign in (open_campaign, upcoming):
        catalog.add_campaign(campaign)
    write_new_slots([s for center in CENTERS for s in demo_slots(open_campaign, center.id, today, capacity)])
