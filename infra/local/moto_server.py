"""The project's local AWS: moto's server with DynamoDB transactions made safe.

Why this exists (measured with moto 5.2.5 on the threaded server): stock moto's
``transact_write_items`` deep-copies every table it touches and, when the transaction is
cancelled, puts those copies back. The threaded moto server does not serialise requests, so a
cancelled transaction can drop other requests' committed writes or bring back half-written
transactions (32 threads racing booking transactions left cancelled items behind in every run and
once reported 51 bookings for 50 places). The copy also makes every transaction O(table size).

``apply_patches()`` serialises the DynamoDB backend behind one lock and rolls a cancelled
transaction back item by item; moto's answers are unchanged. Every benchmark figure of this
project (docs/benchmarks.md) is for this patched server, not for stock moto.

Run: ``python -m infra.local.moto_server --port 4566`` (binds loopback only).
"""

from __future__ import annotations

import argparse
import copy as _real_copy
import functools
import inspect
import ipaddress
import sys
import threading
from typing import Any, Callable

# One process-wide lock for everything DynamoDB does. Re-entrant because backend operations call
# each other (transact_write_items -> put_item/update_item/..., get_item inside put_item, ...).
_LOCK = threading.RLock()
# Depth of patched transact_write_items calls running in this thread: while > 0, moto's
# copy.deepcopy(table) in that method returns the table itself (we back up items instead).
_TX_STATE = threading.local()
_MARKER = "_vaxslot_patched"


class _CopyModuleSkippingTableCopies:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``.

    ``deepcopy`` hands back a ``Table`` unchanged only while a patched ``transact_write_items``
    runs in the calling thread; everything else (e.g. ``copy.deepcopy(item)`` in ``update_item``)
    is a real deep copy.
    """

    def __init__(self, real_module: Any, table_cls: type) -> None:
        self._real = real_module
        self._table_cls = table_cls

    def deepcopy(self, x: Any, memo: dict[int, Any] | None = None, _nil: Any = None) -> Any:
        if getattr(_TX_STATE, "depth", 0) > 0 and isinstance(x, self._table_cls):
            return x
        return self._real.deepcopy(x, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _locked(func: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(func):
        # Never hold the lock across a yield (an abandoned generator would keep it): collect the
        # results under the lock, then hand them out.
        @functools.wraps(func)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            with _LOCK:
                results = list(func(*args, **kwargs))
            yield from results

        return generator_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return func(*args, **kwargs)

    return wrapper


def _item_location(table: Any, attrs: dict[str, Any], dynamo_type: type) -> tuple[Any, Any]:
    """(hash DynamoType, range DynamoType or None) of an item or key dict; KeyError/... if malformed."""
    hash_value = dynamo_type(attrs[table.hash_key_attr])
    range_value = None
    if table.range_key_attr is not None:
        range_value = dynamo_type(attrs[table.range_key_attr])
    hash(hash_value), hash(range_value)  # unhashable values would break the lookup below
    return hash_value, range_value


class _ItemBackup:
    """Deep copies of the items a transaction may touch, taken before it runs."""

    def __init__(self) -> None:
        # (id(table), hash, range) -> (table, hash, range, bucket existed, item copy or None)
        self.items: dict[tuple[int, Any, Any], tuple[Any, Any, Any, bool, Any]] = {}
        # Tables for which a key could not be computed: whole `items` mapping copied (rare,
        # malformed requests only; moto normally rejects them without writing).
        self.whole_tables: dict[int, tuple[Any, Any]] = {}
        # Stream records a cancelled transaction must not leave behind: id(shard) -> (shard, list, len)
        self.streams: dict[int, tuple[Any, list[Any], int]] = {}

    def remember_table(self, table: Any) -> None:
        shard = getattr(table, "stream_shard", None)
        if shard is not None and id(shard) not in self.streams:
            self.streams[id(shard)] = (shard, shard.items, len(shard.items))

    def remember_item(self, table: Any, hash_value: Any, range_value: Any) -> None:
        slot = (id(table), hash_value, range_value)
        if slot in self.items or id(table) in self.whole_tables:
            return
        self.remember_table(table)
        # Read without going through table.items[...] so the defaultdict grows no empty bucket.
        bucket = table.items.get(hash_value)
        if table.range_key_attr is not None:
            current = bucket.get(range_value) if bucket is not None else None
        else:
            current = bucket
        self.items[slot] = (
            table,
            hash_value,
            range_value,
            bucket is not None,
            _real_copy.deepcopy(current) if current is not None else None,
        )

    def remember_whole_table(self, table: Any) -> None:
        if id(table) not in self.whole_tables:
            self.remember_table(table)
            self.whole_tables[id(table)] = (table, _real_copy.deepcopy(table.items))

    def restore(self) -> None:
        for table, items_copy in self.whole_tables.values():
            table.items = items_copy
        emptied: list[tuple[Any, Any]] = []
        for table, hash_value, range_value, bucket_existed, item in self.items.values():
            if id(table) in self.whole_tables:
                continue
            if table.range_key_attr is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
                continue
            if item is None:
                bucket = table.items.get(hash_value)
                if bucket is not None:
                    bucket.pop(range_value, None)
                if not bucket_existed:
                    emptied.append((table, hash_value))
            else:
                table.items[hash_value][range_value] = item
        # Partitions the transaction created (moto's get_item on a defaultdict adds empty ones).
        for table, hash_value in emptied:
            if not table.items.get(hash_value, True):
                del table.items[hash_value]
        for shard, records, length in self.streams.values():
            del records[length:]
            shard.items = records


def _backup_for(backend: Any, transact_items: Any, table_cls: type, dynamo_type: type) -> _ItemBackup:
    from moto.dynamodb.exceptions import ResourceNotFoundException

    backup = _ItemBackup()
    if not isinstance(transact_items, list):
        return backup
    for entry in transact_items:
        if not isinstance(entry, dict):
            continue
        for op_type, op in entry.items():
            if not isinstance(op, dict):
                continue
            table_name = op.get("TableName")
            if not isinstance(table_name, str):
                continue
            try:
                table = backend.get_table(table_name)  # by name or ARN
            except ResourceNotFoundException:
                continue  # moto answers with its own error for a missing table
            if not isinstance(table, table_cls):
                continue
            attrs = op.get("Item") if op_type == "Put" else op.get("Key")
            try:
                if not isinstance(attrs, dict):
                    raise TypeError("no key")
                hash_value, range_value = _item_location(table, attrs, dynamo_type)
            except Exception:  # noqa: BLE001 - any malformed key: fall back to a full copy
                backup.remember_whole_table(table)
                continue
            backup.remember_item(table, hash_value, range_value)
    return backup


def _with_item_level_rollback(original: Callable[..., Any], table_cls: type, dynamo_type: type) -> Callable[..., Any]:
    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            backup = _backup_for(self, transact_items, table_cls, dynamo_type)
            _TX_STATE.depth = getattr(_TX_STATE, "depth", 0) + 1
            try:
                return original(self, transact_items, *args, **kwargs)
            except BaseException:
                backup.restore()
                raise
            finally:
                _TX_STATE.depth -= 1

    return transact_write_items


def _public_operations(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    operations = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod, property)):
            continue
        if inspect.isfunction(attr):
            operations.append((name, attr))
    return operations


def apply_patches() -> None:
    """Patch moto's DynamoDB in this process. Idempotent; call before the server handles requests."""
    with _LOCK:
        import moto.dynamodb.models as models
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table
        from moto.dynamodb.responses import DynamoHandler

        backend_cls = models.DynamoDBBackend
        if getattr(backend_cls, _MARKER, False):
            return

        # (b) item-level backup/rollback around moto's own transaction code.
        if not isinstance(models.copy, _CopyModuleSkippingTableCopies):
            models.copy = _CopyModuleSkippingTableCopies(_real_copy, Table)  # type: ignore[assignment]
        original_transact = backend_cls.transact_write_items
        # (a) every public backend operation (own or inherited, e.g. reset) under one lock.
        for name, func in _public_operations(backend_cls):
            if name == "transact_write_items":
                continue
            setattr(backend_cls, name, _locked(func))
        backend_cls.transact_write_items = _with_item_level_rollback(  # type: ignore[method-assign]
            original_transact, Table, DynamoType
        )
        # The request handler also turns live Item objects into the response (ReturnValues,
        # GetItem, ...) after the backend call returns: hold the same lock for the whole request,
        # so no answer is built from an item another request is changing.
        DynamoHandler.call_action = _locked(DynamoHandler.call_action)  # type: ignore[method-assign]
        setattr(backend_cls, _MARKER, True)


def _loopback_host(value: str) -> str:
    if value == "localhost":
        return value
    try:
        if ipaddress.ip_address(value).is_loopback:
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a loopback address; the local AWS binds loopback only")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.moto_server",
        description="moto server for local development, tests and benchmarks (DynamoDB patched).",
    )
    parser.add_argument("--host", type=_loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    args = parser.parse_args(argv)

    apply_patches()
    print(f"vaxslot local AWS (patched moto) on http://{args.host}:{args.port}", file=sys.stderr, flush=True)

    import moto.server

    moto.server.main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
