"""`make run` with VAXSLOT_DEMO_RUSH_OPENS_IN_S=<s>: the campaign `rush-demo` behind an active waiting room.

Same cohort and centres as the demo campaign, its own slots; its room is active from start-up (the pre-queue
window is open) and opens <s> seconds later, letting in VAXSLOT_DEMO_RUSH_ADMIT_PER_MIN a minute (default 600).
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog
from chalicelib.waitingroom.domain import RoomSettings
from chalicelib.waitingroom.ports import RoomStore
from infra.local.seed import CENTERS, demo_campaigns, demo_slots

RUSH_CAMPAIGN_ID = "rush-demo"
DEFAULT_ADMIT_PER_MIN = 600


def rush_settings_from_env(env=os.environ) -> tuple[float, int] | None:
    """(opens in seconds, admitted per minute), or None if the rush demo was not asked for."""
    opens_in = env.get("VAXSLOT_DEMO_RUSH_OPENS_IN_S", "").strip()
    if not opens_in:
        return None
    return float(opens_in), int(env.get("VAXSLOT_DEMO_RUSH_ADMIT_PER_MIN", DEFAULT_ADMIT_PER_MIN))


def seed_rush(
    catalog: Catalog,
    rooms: RoomStore,
    today: date,
    now: datetime | None,
    opens_in_s: float,
    admitted_per_minute: int = DEFAULT_ADMIT_PER_MIN,
    capacity: int = 6,
    campaign_id: str = RUSH_CAMPAIGN_ID,
    born_on: date | None = None,
) -> RoomSettings:
    """now: the room opens opens_in_s after it (None: after the slots are released, the moment the room is put).
    born_on: narrow the cohort to one birth date (tests that must not change other tests' campaigns)."""
    demo, _ = demo_campaigns(today)
    campaign = dataclasses.replace(demo, id=campaign_id, name="80+ Comirnaty (Warteraum-Demo)")
    if born_on is not None:
        campaign = dataclasses.replace(campaign, born_on_or_after=born_on, born_on_or_before=born_on)
    catalog.add_campaign(campaign)
    slots = [s for center in CENTERS for s in demo_slots(campaign, center.id, today, capacity)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(catalog.release_slots, [slots[i : i + 40] for i in range(0, len(slots), 40)]))
    now = now or datetime.now(d.LOCAL_TZ)
    settings = RoomSettings(
        campaign_id,
        active=True,
        prequeue_opens_at=now - timedelta(seconds=1),
        opens_at=now + timedelta(seconds=opens_in_s),
        admitted_per_minute=admitted_per_minute,
    )
    rooms.put_settings(settings)
    return settings


def seed_rush_from_env(catalog: Catalog, today: date, capacity: int = 6) -> RoomSettings | None:
    wanted = rush_settings_from_env()
    if wanted is None:
        return None
    from chalicelib import (
        bootstrap,  # built after the stack pointed the environment at the local AWS
    )

    bootstrap.waiting_room_service()  # binds the room's models to the table
    from chalicelib.waitingroom.dynamo import DynamoRoomStore

    return seed_rush(catalog, DynamoRoomStore(), today, None, wanted[0], wanted[1], capacity)
