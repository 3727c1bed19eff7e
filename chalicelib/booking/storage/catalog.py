"""The catalogue adapter: centres, campaigns and slots in the bookings table."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog
from chalicelib.booking.storage.models import (
    CAMPAIGNS_PK,
    CENTERS_PK,
    CampaignItem,
    CenterItem,
    SlotItem,
    date_or_none,
    datetime_or_none,
    slot_from_item,
    slots_pk,
)


class DynamoCatalog(Catalog):
    def centers(self) -> list[d.Center]:
        return [
            d.Center(
                id=i.sk,
                name=i.name,
                address=i.address,
                region=i.region,
                postal_codes=frozenset(i.postal_codes or ()),
                vaccines=tuple(str(v) for v in i.vaccines or ()),
                hotline=i.hotline,
            )
            for i in CenterItem.query(CENTERS_PK)
        ]

    def campaigns(self) -> list[d.Campaign]:
        return [
            d.Campaign(
                id=i.sk,
                name=i.name,
                vaccine=i.vaccine,
                doses=int(i.doses),
                interval_min_days=int(i.interval_min_days),
                interval_max_days=int(i.interval_max_days),
                regions=frozenset(i.regions or ()),
                center_ids=tuple(str(c) for c in i.center_ids or ()),
                opens_at=datetime.fromisoformat(i.opens_at),
                closes_at=datetime_or_none(i.closes_at),
                born_on_or_after=date_or_none(i.born_on_or_after),
                born_on_or_before=date_or_none(i.born_on_or_before),
                series=i.series or d.DEFAULT_SERIES,
                verification=i.verification or "none",
                horizon_days=None if i.horizon_days is None else int(i.horizon_days),
                bookable_until=date_or_none(i.bookable_until),
            )
            for i in CampaignItem.query(CAMPAIGNS_PK)
        ]

    def slots(
        self, campaign_id: str, center_id: str, start: datetime, end: datetime, max_age_s: float = 0
    ) -> list[d.Slot]:
        last = d.slot_id_for(end - timedelta(minutes=1))
        items = SlotItem.query(
            slots_pk(campaign_id, center_id),
            SlotItem.sk.between(d.slot_id_for(start), last),
            consistent_read=max_age_s <= 0,  # an eventually consistent read is about a second behind, at half the cost
        )
        return [s for s in (slot_from_item(i, campaign_id, center_id) for i in items) if start <= s.start < end]

    def slot(self, campaign_id: str, center_id: str, slot_id: str) -> d.Slot | None:
        try:
            item = SlotItem.get(slots_pk(campaign_id, center_id), slot_id, consistent_read=True)
        except SlotItem.DoesNotExist:
            return None
        return slot_from_item(item, campaign_id, center_id)

    def add_center(self, center: d.Center) -> None:
        CenterItem(
            CENTERS_PK,
            center.id,
            name=center.name,
            address=center.address,
            region=center.region,
            postal_codes=set(center.postal_codes),
            vaccines=list(center.vaccines),
            hotline=center.hotline,
        ).save()

    def add_campaign(self, campaign: d.Campaign) -> None:
        CampaignItem(
            CAMPAIGNS_PK,
            campaign.id,
            name=campaign.name,
            vaccine=campaign.vaccine,
            doses=campaign.doses,
            interval_min_days=campaign.interval_min_days,
            interval_max_days=campaign.interval_max_days,
            regions=set(campaign.regions),
            center_ids=list(campaign.center_ids),
            opens_at=campaign.opens_at.isoformat(),
            closes_at=campaign.closes_at.isoformat() if campaign.closes_at else None,
            born_on_or_after=campaign.born_on_or_after.isoformat() if campaign.born_on_or_after else None,
            born_on_or_before=campaign.born_on_or_before.isoformat() if campaign.born_on_or_before else None,
            series=campaign.series,
            verification=campaign.verification,
            horizon_days=campaign.horizon_days,
            bookable_until=campaign.bookable_until.isoformat() if campaign.bookable_until else None,
        ).save()

    def release_slots(self, slots: list[d.Slot]) -> None:
        # An atomic add, so a contingent released while people book never loses their bookings.
        for slot in slots:
            actions: list[Action] = [
                SlotItem.start.set(slot.start.isoformat()),
                SlotItem.end.set(slot.end.isoformat()),
                SlotItem.capacity.add(slot.capacity),
                SlotItem.booked.set(SlotItem.booked | 0),
            ]
            condition = None
            if slot.release_at is not None:
                # A scheduled release creates its slots: on an existing slot it would hide what is already bookable.
                actions.append(SlotItem.release_at.set(slot.release_at.isoformat()))
                condition = SlotItem.pk.does_not_exist()
            try:
                SlotItem(slots_pk(slot.campaign_id, slot.center_id), slot.slot_id).update(
                    actions=actions, condition=condition
                )
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                raise d.InvalidInput("slots", "slot_exists") from None
