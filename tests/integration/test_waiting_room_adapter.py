"""The waiting room's counters in DynamoDB (patched moto server): the first reader of a closed period seals every
shard, several at a time, and after that no count lands and every reader gets the same keys."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest

from chalicelib import bootstrap
from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.dynamo import SEAL_WORKERS, CounterItem, DynamoRoomStore
from chalicelib.waitingroom.ports import CountRefused

SHARDS = 64  # enough shards for the seals to need several of the pool's threads


@pytest.fixture()
def store(stack):
    bootstrap.catalog()  # binds the table's models to the stack's moto server
    return DynamoRoomStore()


def pre_entry(campaign_id: str, key: int) -> w.Entry:
    return w.Entry(uuid.uuid4().hex, campaign_id, w.Lane.WEB, w.Phase.PRE, key, 0, datetime.now(UTC))


def test_the_first_read_seals_every_shard_in_parallel_and_later_counts_are_refused(store):
    campaign_id = f"seal-{uuid.uuid4().hex[:8]}"
    counted = [101, 202, 303, 404]
    for key in counted:
        store.count_entry(pre_entry(campaign_id, key), key % SHARDS)
    sealers: set[str] = set()

    def record_sealer(**_):
        sealers.add(threading.current_thread().name)

    events = CounterItem._get_connection().connection.client.meta.events
    events.register("before-send.dynamodb.UpdateItem", record_sealer)
    try:
        assert sorted(store.pre_keys(campaign_id, w.Lane.WEB, SHARDS, seal=True)) == counted
    finally:
        events.unregister("before-send.dynamodb.UpdateItem", record_sealer)
    assert 1 < len(sealers) <= SEAL_WORKERS and all(name.startswith("room-seal") for name in sealers)

    late = pre_entry(campaign_id, 505)
    with pytest.raises(CountRefused):
        store.count_entry(late, late.order_key % SHARDS)  # on a shard that held keys
    with pytest.raises(CountRefused):
        store.count_entry(pre_entry(campaign_id, 7), 7)  # on one that was empty: sealed all the same
    assert sorted(store.pre_keys(campaign_id, w.Lane.WEB, SHARDS, seal=True)) == counted
