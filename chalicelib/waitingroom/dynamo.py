"""DynamoDB adapter (PynamoDB) of the waiting room, on the same single table (pk/sk) as booking; its models
are bound to the table with every other item by `chalicelib.dynamo_binding.bind_table`.

Items (see docs/waiting-room.md and docs/data-model.md):
  WAITROOM#<campaign>                          SETTINGS   the room's settings, written by ops
  WAITENTRY#<entry id>                         ENTRY      one per visitor, written once (conditional put)
  WAITCOUNT#<campaign>#<lane>#pre#<shard>      COUNT      number set of pre-queue draws, one of 256 shards
  WAITCOUNT#<campaign>#<lane>#<second>#<shard> COUNT      number set of arrival keys of one second, 1 of 4
  ADMISSION#<jti>                              ADMISSION  the person an admission was first used for
Counter shards are separate partition keys, so no single item (or partition) is written by every visitor.
A counter is sealed by its first reader (`sealed`), after which no write can change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError

from chalicelib.dynamo_binding import TableItem
from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.ports import CountRefused, RoomStore

# Seals of one read are sent this many at a time: the first read after opening seals up to 256 shards, one
# UpdateItem each, and one after another that took 5-8 s on the loaded local stack (docs/rush.md). As many as
# PynamoDB keeps connections per model (its max_pool_connections, 10), so no connection is opened and dropped.
SEAL_WORKERS = 10
# One pool for the life of the process (a Lambda instance, the local server): it starts its threads at first use,
# and they (with the botocore session PynamoDB keeps per thread) last, instead of being made for every read.
_SEAL_POOL = ThreadPoolExecutor(max_workers=SEAL_WORKERS, thread_name_prefix="room-seal")


class RoomItem(TableItem):
    active = BooleanAttribute()
    prequeue_opens_at = UnicodeAttribute()
    opens_at = UnicodeAttribute()
    admitted_per_minute = NumberAttribute()
    hotline_share = NumberAttribute()


class EntryItem(TableItem):
    campaign_id = UnicodeAttribute()
    lane = UnicodeAttribute()
    phase = UnicodeAttribute()
    order_key = NumberAttribute()
    second = NumberAttribute()
    entered_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL; moto never expires, and an old entry is harmless


class CounterItem(TableItem):
    order_keys = NumberSetAttribute(null=True)
    sealed = BooleanAttribute(null=True)  # set by the first reader of a closed period; refuses later adds


class AdmissionItem(TableItem):
    person_key = UnicodeAttribute()
    expires_at = NumberAttribute()


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
        return w.RoomSettings(
            campaign_id,
            item.active,
            datetime.fromisoformat(item.prequeue_opens_at),
            datetime.fromisoformat(item.opens_at),
            int(item.admitted_per_minute),
            float(item.hotline_share),
        )

    def put_settings(self, settings: w.RoomSettings) -> None:
        RoomItem(
            f"WAITROOM#{settings.campaign_id}",
            "SETTINGS",
            active=settings.active,
            prequeue_opens_at=settings.prequeue_opens_at.isoformat(),
            opens_at=settings.opens_at.isoformat(),
            admitted_per_minute=settings.admitted_per_minute,
            hotline_share=settings.hotline_share,
        ).save()

    def add_entry(self, entry: w.Entry, expires_at: datetime) -> None:
        EntryItem(
            f"WAITENTRY#{entry.entry_id}",
            "ENTRY",
            campaign_id=entry.campaign_id,
            lane=entry.lane.value,
            phase=entry.phase.value,
            order_key=entry.order_key,
            second=entry.second,
            entered_at=entry.entered_at.isoformat(),
            expires_at=int(expires_at.timestamp()),
        ).save(condition=EntryItem.pk.does_not_exist())

    def count_entry(self, entry: w.Entry, shard: int) -> None:
        # A set add, refused once a reader sealed the period or if the key is there already (so a key counts
        # one entry at most). No return values: a write never reads the (growing) set back.
        try:
            CounterItem._get_connection().update_item(
                _counter_pk(entry.campaign_id, entry.lane, _period(entry), shard),
                "COUNT",
                actions=[CounterItem.order_keys.add({entry.order_key})],
                condition=CounterItem.sealed.does_not_exist() & ~CounterItem.order_keys.contains(entry.order_key),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise CountRefused(entry.entry_id) from error
            raise

    def entry(self, entry_id: str) -> w.Entry | None:
        try:
            item = EntryItem.get(f"WAITENTRY#{entry_id}", "ENTRY")
        except EntryItem.DoesNotExist:
            return None
        return w.Entry(
            entry_id,
            item.campaign_id,
            w.Lane(item.lane),
            w.Phase(item.phase),
            int(item.order_key),
            int(item.second),
            datetime.fromisoformat(item.entered_at),
        )

    def pre_keys(self, campaign_id: str, lane: w.Lane, shards: int, seal: bool) -> list[int]:
        return _counted(campaign_id, lane, ["pre"], shards, {"pre"} if seal else set()).get("pre", [])

    def post_keys(
        self, campaign_id: str, lane: w.Lane, seconds: Iterable[int], shards: int, seal_from: int
    ) -> dict[int, list[int]]:
        periods = [str(s) for s in seconds]
        to_seal = {p for p in periods if int(p) >= seal_from}
        return {int(p): keys for p, keys in _counted(campaign_id, lane, periods, shards, to_seal).items()}

    def bind_admission(self, jti: str, person_key: str, expires_at: datetime) -> bool:
        try:
            AdmissionItem(
                f"ADMISSION#{jti}", "ADMISSION", person_key=person_key, expires_at=int(expires_at.timestamp())
            ).save(condition=AdmissionItem.pk.does_not_exist() | (AdmissionItem.person_key == person_key))
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _counted(
    campaign_id: str, lane: w.Lane, periods: list[str], shards: int, to_seal: set[str]
) -> dict[str, list[int]]:
    """The counted keys of each period over all its shards (periods without any left out); every shard of the
    periods in `to_seal` is sealed as `_read` says."""
    pks = [_counter_pk(campaign_id, lane, p, shard) for p in periods for shard in range(shards)]
    sealing = {_counter_pk(campaign_id, lane, p, shard) for p in to_seal for shard in range(shards)}
    found: dict[str, list[int]] = {}
    for item in _read(pks, sealing):
        if item.order_keys:
            period = item.pk.rsplit("#", 2)[1]
            found.setdefault(period, []).extend(int(k) for k in item.order_keys)
    return found


def _read(pks: list[str], to_seal: set[str]) -> list[CounterItem]:
    """The counters (missing ones left out), those in `to_seal` sealed: a consistent read, then a seal (SET
    sealed, answering the whole item) for those no reader has sealed yet, missing ones included, SEAL_WORKERS at a
    time. Whatever a seal returns is final: a count that lands later is refused, and its writer re-enters the
    visitor as arriving now. Each seal stands alone (a seal is idempotent), so their order does not matter."""
    read = {item.pk: item for item in CounterItem.batch_get([(pk, "COUNT") for pk in pks], consistent_read=True)}
    unsealed = [pk for pk in pks if pk in to_seal and (pk not in read or not read[pk].sealed)]
    if unsealed:
        # map() hands back the answers in order; on an error it drops the seals not yet started (the next read
        # makes them: a seal is idempotent) and raises it, as the serial loop did.
        read.update(zip(unsealed, _SEAL_POOL.map(_seal, unsealed), strict=True))
    return [read[pk] for pk in pks if pk in read]


def _seal(pk: str) -> CounterItem:
    item = CounterItem(pk, "COUNT")
    item.update(actions=[CounterItem.sealed.set(True)])  # returns and loads the item as sealed
    return item
