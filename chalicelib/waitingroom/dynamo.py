"""DynamoDB adapter (PynamoDB) of the waiting room, on the same single table (pk/sk) as booking.

Items (see docs/waiting-room.md):
  WAITROOM#<campaign>                          SETTINGS   the room's settings, written by ops
  WAITENTRY#<entry id>                         ENTRY      one per visitor, written once (conditional put)
  WAITCOUNT#<campaign>#<lane>#pre#<shard>      COUNT      number set of pre-queue draws, one of 64 shards
  WAITCOUNT#<campaign>#<lane>#<second>#<shard> COUNT      number set of arrival keys of one second, 1 of 4
  ADMISSION#<jti>                              ADMISSION  the person an admission was first used for
Counter shards are separate partition keys, so no single item (or partition) is written by every visitor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.ports import RoomStore


class _Item(Model):
    class Meta:
        table_name = "unbound"  # set by bind(); models are never used before that

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class RoomItem(_Item):
    active = BooleanAttribute()
    prequeue_opens_at = UnicodeAttribute()
    opens_at = UnicodeAttribute()
    admitted_per_minute = NumberAttribute()
    hotline_share = NumberAttribute()


class EntryItem(_Item):
    campaign_id = UnicodeAttribute()
    lane = UnicodeAttribute()
    phase = UnicodeAttribute()
    order_key = NumberAttribute()
    second = NumberAttribute()
    entered_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL; moto never expires, and an old entry is harmless


class CounterItem(_Item):
    order_keys = NumberSetAttribute(null=True)


class AdmissionItem(_Item):
    person_key = UnicodeAttribute()
    expires_at = NumberAttribute()


MODELS: tuple[type[Model], ...] = (RoomItem, EntryItem, CounterItem, AdmissionItem)


def bind(table_name: str, region: str, host: str | None) -> None:
    for model in MODELS:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None  # PynamoDB caches the connection per class


def _counter_pk(campaign_id: str, lane: w.Lane, period: str, shard: int) -> str:
    return f"WAITCOUNT#{campaign_id}#{lane.value}#{period}#{shard}"


def _period(entry: w.Entry) -> str:
    return "pre" if entry.phase is w.Phase.PRE else str(entry.second)


class DynamoRoomStore(RoomStore):
    def settings(self, campaign_id: str) -> w.RoomSettings | None:
        try:
            item = RoomItem.get(f"WAITROOM#{campaign_id}", "SETTINGS")
        except RoomItem.DoesNotExist:
            return None
        return w.RoomSettings(campaign_id, item.active, datetime.fromisoformat(item.prequeue_opens_at),
                              datetime.fromisoformat(item.opens_at), int(item.admitted_per_minute),
                              float(item.hotline_share))

    def put_settings(self, settings: w.RoomSettings) -> None:
        RoomItem(f"WAITROOM#{settings.campaign_id}", "SETTINGS", active=settings.active,
                 prequeue_opens_at=settings.prequeue_opens_at.isoformat(), opens_at=settings.opens_at.isoformat(),
                 admitted_per_minute=settings.admitted_per_minute, hotline_share=settings.hotline_share).save()

    def add_entry(self, entry: w.Entry, expires_at: datetime) -> None:
        EntryItem(f"WAITENTRY#{entry.entry_id}", "ENTRY", campaign_id=entry.campaign_id, lane=entry.lane.value,
                  phase=entry.phase.value, order_key=entry.order_key, second=entry.second,
                  entered_at=entry.entered_at.isoformat(), expires_at=int(expires_at.timestamp())
                  ).save(condition=EntryItem.pk.does_not_exist())

    def count_entry(self, entry: w.Entry, shard: int) -> None:
        # A set add, not a counter increment: a retried write cannot count one entry twice. No return values,
        # so a write never reads the (growing) set back.
        CounterItem._get_connection().update_item(
            _counter_pk(entry.campaign_id, entry.lane, _period(entry), shard), "COUNT",
            actions=[CounterItem.order_keys.add({entry.order_key})])

    def entry(self, entry_id: str) -> w.Entry | None:
        try:
            item = EntryItem.get(f"WAITENTRY#{entry_id}", "ENTRY")
        except EntryItem.DoesNotExist:
            return None
        return w.Entry(entry_id, item.campaign_id, w.Lane(item.lane), w.Phase(item.phase), int(item.order_key),
                       int(item.second), datetime.fromisoformat(item.entered_at))

    def pre_keys(self, campaign_id: str, lane: w.Lane, shards: int) -> list[int]:
        keys = [(_counter_pk(campaign_id, lane, "pre", s), "COUNT") for s in range(shards)]
        # Consistent reads: the caller keeps these counts for good, so they must include every acknowledged write.
        return [int(k) for item in CounterItem.batch_get(keys, consistent_read=True) for k in item.order_keys or ()]

    def post_keys(self, campaign_id: str, lane: w.Lane, seconds: Iterable[int], shards: int) -> dict[int, list[int]]:
        keys = [(_counter_pk(campaign_id, lane, str(s), shard), "COUNT") for s in seconds for shard in range(shards)]
        found: dict[int, list[int]] = {}
        for item in CounterItem.batch_get(keys, consistent_read=True):
            second = int(item.pk.rsplit("#", 2)[1])
            found.setdefault(second, []).extend(int(k) for k in item.order_keys or ())
        return found

    def bind_admission(self, jti: str, person_key: str, expires_at: datetime) -> bool:
        try:
            AdmissionItem(f"ADMISSION#{jti}", "ADMISSION", person_key=person_key,
                          expires_at=int(expires_at.timestamp())).save(
                condition=AdmissionItem.pk.does_not_exist() | (AdmissionItem.person_key == person_key))
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
