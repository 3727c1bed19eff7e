"""Use cases of ops staff: open a cohort (create or change a campaign) and release a contingent of slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog


@dataclass(frozen=True)
class SlotRelease:
    start: datetime
    end: datetime
    capacity: int


class OperationsService:
    def __init__(self, catalog: Catalog, clock: Callable[[], datetime]):
        self._catalog = catalog
        self._now = clock

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
        campaign = next((c for c in self._catalog.campaigns() if c.id == campaign_id), None)
        if campaign is None:
            raise d.UnknownCampaign(campaign_id)
        if center_id not in campaign.center_ids:
            raise d.InvalidInput("center_id", "center_not_in_campaign")
        now = self._now()
        for n, release in enumerate(releases):
            if campaign.booking_window.has_started(release.start, now) or release.end <= release.start:
                raise d.InvalidInput(f"slots.{n}.start", "out_of_range")
            if release.capacity < 1:
                raise d.InvalidInput(f"slots.{n}.capacity", "out_of_range")
        slots = [d.Slot(campaign_id, center_id, d.slot_id_for(r.start), r.start, r.end, r.capacity) for r in releases]
        self._catalog.release_slots(slots)
        return [self._catalog.slot(campaign_id, center_id, s.slot_id) or s for s in slots]
