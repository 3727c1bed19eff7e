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

It also removes the costs that made every call queue behind Queries (profiled, moto 5.2.5):

- moto's ``Table.query`` built and sorted the whole table on every call, then deep-copied the
  results; here it sees only the queried partition (its own bucket of ``Table.items``). Items are
  copied, measured and turned into dicts by equivalent code without ``copy.deepcopy``'s memo and
  moto's per-value isinstance chains. Index queries keep moto's own path.
- moto's model-driven serializer walked the botocore shape of every attribute value (~0.5 ms
  per returned item); item attribute values are now written as plain ``{type: value}`` JSON
  inside moto's own serializer, so the envelope, member order and errors stay moto's.
- The lock is held while a request reads or changes DynamoDB state, and released before the
  answer of an item operation is serialised (that answer is by then a private copy).
- moto's router listed its package directory on every request (under its own lock), and its
  handler listed the DynamoDB handler's methods with ``inspect``; both lists are taken once.
- moto's SQS computed every queue attribute over every message for each send, each attribute asked and
  each message received, so a queue's backlog slowed every call on it; see ``_patch_sqs``.
- ``GET /vaxslot/sent-mail`` lists the mail SES accepted without dumping every backend's models.

``tests/integration/test_moto_launcher_answers.py`` sends ~500 requests to stock moto and to this
launcher and compares the answers byte for byte; run it as a script to measure both servers.
Raw HTTP, table of 4,824 items, two runs on a loaded 2-core machine (load average ~10), median
(fastest) per call:

- Query of a 224-item partition: stock 701 ms (528) and 575 ms (390); launcher 9.4 ms (7.9)
  and 17.2 ms (8.0).
- GetItem: stock 15.3 ms (4.2) and 8.9 ms (3.6); launcher 2.0 ms (1.5) and 5.9 ms (1.6).

The figures move with the machine's load; compare them within one run.

Run: ``python -m infra.local.moto_server --port 4566`` (binds loopback only).
"""

from __future__ import annotations

import argparse
import copy as _real_copy
import functools
import inspect
import io
import ipaddress
import sys
import threading
from collections.abc import Callable
from typing import Any

# One process-wide lock for everything DynamoDB does. Re-entrant because backend operations call
# each other (transact_write_items -> put_item/update_item/..., get_item inside put_item, ...).
_LOCK = threading.RLock()
# Depth of patched transact_write_items calls running in this thread: while > 0, moto's
# copy.deepcopy(table) in that method returns the table itself (we back up items instead).
_TX_STATE = threading.local()
# The (table, hash key) a patched Table.query is looking up in this thread, if any.
_QUERY_STATE = threading.local()
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


class _CopyModuleWithPlainItemCopies:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models.table``.

    Query and Scan deep-copy every returned item; ``copy.deepcopy`` spends most of that time in
    its memo bookkeeping. Items are acyclic trees of DynamoType values, so they are copied here
    the way their own ``__deepcopy__`` methods do, without the memo; anything else is a real deep
    copy.
    """

    def __init__(self, real_module: Any, item_cls: type, dynamo_type: type) -> None:
        self._real = real_module
        # moto's classes, found at runtime: Any, so that X.__new__(X) is not read as type.__new__.
        self._item_cls: Any = item_cls
        self._dynamo_type: Any = dynamo_type

    def deepcopy(self, x: Any, memo: dict[int, Any] | None = None, _nil: Any = None) -> Any:
        if memo is None:
            if type(x) is list and all(type(item) is self._item_cls for item in x):
                return [self._copy_item(item) for item in x]
            if type(x) is self._item_cls:
                return self._copy_item(x)
        return self._real.deepcopy(x, memo)

    def _copy_item(self, item: Any) -> Any:
        copied = self._item_cls.__new__(self._item_cls)
        copied.hash_key = self._copy_value(item.hash_key)
        copied.range_key = self._copy_value(item.range_key)
        attrs_cls: Any = type(item.attrs)
        attrs = attrs_cls.__new__(attrs_cls)
        dict.__init__(attrs)  # as Item.__deepcopy__: no size re-check, the item passed it on write
        for key, value in item.attrs.items():
            dict.__setitem__(attrs, key, self._copy_value(value))
        copied.attrs = attrs
        return copied

    def _copy_value(self, value: Any) -> Any:
        if type(value) is not self._dynamo_type:
            return self._real.deepcopy(value)
        dynamo_type: Any = self._dynamo_type  # Any again: the test above narrowed it to type[Any]
        copied = dynamo_type.__new__(dynamo_type)
        kind = copied.type = value.type
        if kind == "L":
            copied.value = [self._copy_value(v) for v in value.value]
        elif kind == "M":
            copied.value = {k: self._copy_value(v) for k, v in value.value.items()}
        elif kind in ("SS", "NS", "BS"):
            copied.value = list(value.value)
        else:
            copied.value = value.value
        return copied

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _plain_item_size(original: Callable[..., int], dynamo_type: type[Any]) -> Callable[..., int]:
    """``Item.size`` with strings and numbers measured inline (Query and Scan ask twice per item).

    Same figure as moto's: UTF-8 length of each name plus moto's size of each value; values
    other than plain strings and numbers are measured by moto's own ``DynamoType.size``.
    """

    @functools.wraps(original)
    def size(self: Any) -> int:
        total = 0
        for key, value in self.attrs.items():
            total += len(key) if isinstance(key, bytes) else len(key.encode("utf-8"))
            if type(value) is dynamo_type:
                kind, inner = value.type, value.value
                if kind == "S" and type(inner) is str:
                    total += len(inner.encode("utf-8"))
                    continue
                if kind == "N":
                    total += len(str(inner))
                    continue
            total += value.size()
        return total

    return size


def _plain_dynamo_to_dict(original: Callable[[Any], Any], dynamo_type: type, attrs_dict: type) -> Callable[[Any], Any]:
    """moto's ``dynamo_to_dict`` (items to plain dicts for the serializer) without its per-value
    chain of isinstance/hasattr checks for the common shapes; everything else is moto's."""
    leaves = (str, int, float, bool, type(None))

    def convert(obj: Any) -> Any:
        kind = type(obj)
        if kind is dynamo_type:
            value_type = obj.type
            if value_type != "B" and value_type != "BS":
                inner = obj.value
                if type(inner) in leaves:
                    return {value_type: inner}
                return {value_type: convert(inner)}
            return original(obj)
        if kind in leaves:
            return obj
        if kind is dict or kind is attrs_dict:
            return {k: convert(v) for k, v in obj.items()}
        if kind is list:
            return [convert(v) for v in obj]
        return original(obj)

    return functools.wraps(original)(convert)


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
            except Exception:  # any malformed key: fall back to a full copy
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
    operations: list[tuple[str, Callable[..., Any]]] = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod, property)):
            continue
        if inspect.isfunction(attr):
            operations.append((name, attr))
    return operations


def _query_one_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.query`` that lets moto see only the queried partition of the table (not of an index)."""

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or not _hashable(hash_key):  # an index, or no usable key: moto's own way
            return original(self, hash_key, *args, **kwargs)
        previous = getattr(_QUERY_STATE, "partition", None)
        _QUERY_STATE.partition = (self, hash_key)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            _QUERY_STATE.partition = previous

    return query


def _hashable(value: Any) -> bool:
    if value is None:
        return False
    try:
        hash(value)
    except TypeError:  # e.g. a set or map value, which moto compares but cannot look up
        return False
    return True


def _items_of_queried_partition(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Table.all_items`` that, inside a patched table query, returns only that query's partition.

    moto's query keeps the items whose hash key equals the queried one and sorts them by range key;
    the partition's bucket holds exactly those items (buckets are keyed by the same DynamoType
    equality and hash), so the answer is the same without building and sorting the whole table.
    """

    @functools.wraps(original)
    def all_items(self: Any) -> list[Any]:
        hint = getattr(_QUERY_STATE, "partition", None)
        if hint is None or hint[0] is not self:
            return original(self)
        bucket = self.items.get(hint[1])  # .get: the defaultdict must not grow an empty bucket
        if bucket is None:
            return []
        if self.range_key_attr is None:
            return [bucket]
        return list(bucket.values())

    return all_items


def _plain_item_serializer(json_serializer: type, attribute_value: str = "AttributeValue") -> type:
    """moto's JSON response serializer, with item attribute values written as plain JSON.

    Everything else (member order, names, timestamps, errors) stays moto's. moto walks the
    botocore shape of every attribute value (ten members, each looked up through several name
    aliases), about 0.5 ms per returned item; an attribute value's wire form is just
    ``{type: value}``, so it is written directly, with moto's own conversions per type (``str``
    for strings and numbers, moto's base64 for binaries). Anything that is not a one-key
    ``{type: value}`` dict of a known type goes through moto's walk unchanged.
    """

    class PlainItemJSONSerializer(json_serializer):
        def _plain_value(self, value: Any) -> dict[str, Any]:
            if type(value) is not dict or len(value) != 1:
                raise _NotPlain
            ((kind, inner),) = value.items()
            if inner is None:
                raise _NotPlain
            if kind == "S" or kind == "N":
                return {kind: str(inner) if inner not in _EMPTY_VALUES else inner}
            if kind == "BOOL" or kind == "NULL":
                return {kind: inner}
            if kind == "M":
                if not isinstance(inner, dict):
                    raise _NotPlain
                return {kind: {k: self._plain_value(v) for k, v in inner.items()}}
            if kind == "L":
                return {kind: [self._plain_value(v) for v in inner]}
            if kind == "SS" or kind == "NS":
                return {kind: [str(v) if v not in _EMPTY_VALUES else v for v in inner]}
            if kind == "B":
                return {kind: self._base64(inner)}
            if kind == "BS":
                return {kind: [self._base64(v) for v in inner]}
            raise _NotPlain

        def _serialize_type_map(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
            if shape.value.name == attribute_value and isinstance(value, dict):
                try:
                    plain = {k: self._plain_value(v) for k, v in value.items()}
                except _NotPlain:
                    pass
                else:
                    self._default_serialize(serialized, plain, shape, key)
                    return
            super()._serialize_type_map(serialized, value, shape, key)

        def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
            if key and shape.name == attribute_value:
                try:
                    plain = self._plain_value(value)
                except _NotPlain:
                    pass
                else:
                    self._default_serialize(serialized, plain, shape, key)
                    return
            super()._serialize_type_structure(serialized, value, shape, key)

    return PlainItemJSONSerializer


class _NotPlain(Exception):
    """An attribute value the plain writer does not handle: moto's own serializer writes it."""


# moto's JSON string serializer keeps these values as they are instead of calling str().
_EMPTY_VALUES: tuple[Any, ...] = (None, {}, [])

# Handler actions whose results are fresh containers built under the lock (moto's DynamoResult
# converts items into new dicts and lists; the others build their answer from scratch), so they
# can be serialised after the lock is released.
_PRIVATE_RESULT_ACTIONS = frozenset(
    {
        "get_item",
        "put_item",
        "update_item",
        "delete_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
        "transact_get_items",
        "transact_write_items",
    }
)


def _locked_action(name: str, action: Callable[..., Any], action_result_cls: type) -> Callable[..., Any]:
    """A DynamoDB handler action that runs under the lock; its answer is serialised outside it.

    Answers that may still reference live backend objects (other than the actions above) are
    serialised while the lock is held, as before.
    """
    serialise_after_unlock = name in _PRIVATE_RESULT_ACTIONS

    @functools.wraps(action)
    def locked_action(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            result = action(self, *args, **kwargs)
            if serialise_after_unlock or not isinstance(result, action_result_cls):
                return result
            return _serialised_result(action_result_cls)(*self.serialized(result))

    return locked_action


@functools.cache
def _serialised_result(action_result_cls: type) -> type:
    class SerialisedResult(action_result_cls):
        """An answer already serialised (under the lock); moto's handler just sends it."""

        def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
            super().__init__(None)
            self._serialised = (status, headers, body)

        def execute_result(self, context: Any) -> Any:
            status, headers, body = self._serialised
            return status, dict(headers), body

    return SerialisedResult


def _cached_module_list(original: Callable[[], Any]) -> Callable[[], Any]:
    """moto's server lists its package directory on every request to route it; the installed
    package does not change while the server runs, so list it once."""
    modules = tuple(original())

    @functools.wraps(original)
    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    return list_of_moto_modules


def _cached_method_names(original: Callable[[type], list[str]], handler_cls: type) -> Callable[[type], list[str]]:
    """moto looks up a handler's methods with ``inspect.getmembers`` on every request; the
    DynamoDB handler's methods are fixed once patched, so they are listed once."""
    names = tuple(original(handler_cls))

    @functools.wraps(original)
    def method_names_from_class(clazz: type) -> list[str]:
        if clazz is handler_cls:
            return list(names)
        return original(clazz)

    return method_names_from_class


def apply_patches() -> None:
    """Patch moto's DynamoDB in this process. Idempotent; call before the server handles requests."""
    with _LOCK:
        import moto.backends
        import moto.core.responses as core_responses
        import moto.dynamodb.models.table as table_module
        import moto.dynamodb.responses as dynamodb_responses
        from moto.core import serialize
        from moto.core.responses import ActionResult
        from moto.core.utils import camelcase_to_underscores, get_service_model
        from moto.dynamodb import models
        from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
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
        # The request handler also reads live Item objects while building its answer
        # (ReturnValues, GetItem, ...): each action runs under the same lock, so no answer is built
        # from an item another request is changing. Serialising the answer happens after it.
        for operation in get_service_model("dynamodb").operation_names:
            name = camelcase_to_underscores(operation)
            action = DynamoHandler.__dict__.get(name)
            if inspect.isfunction(action):
                setattr(DynamoHandler, name, _locked_action(name, action, ActionResult))
        # (c) a Query reads its own partition, not the whole table, and copies items cheaply.
        if not isinstance(table_module.copy, _CopyModuleWithPlainItemCopies):
            table_module.copy = _CopyModuleWithPlainItemCopies(  # type: ignore[assignment]
                _real_copy, Item, DynamoType
            )
        Table.query = _query_one_partition(Table.query)  # type: ignore[method-assign]
        Table.all_items = _items_of_queried_partition(Table.all_items)  # type: ignore[method-assign]
        # (d) item attribute values are written as plain JSON.
        Item.size = _plain_item_size(Item.size, DynamoType)  # type: ignore[method-assign]
        # (d) item attribute values are written as plain JSON.
        dynamodb_responses.dynamo_to_dict = _plain_dynamo_to_dict(  # type: ignore[assignment]
            dynamodb_responses.dynamo_to_dict, DynamoType, LimitedSizeDict
        )
        serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("dynamodb", {})["json"] = _plain_item_serializer(
            serialize.get_serializer_class("dynamodb", "json")
        )
        # (e) request routing lists moto's package directory once, not per request.
        moto.backends.list_of_moto_modules = _cached_module_list(moto.backends.list_of_moto_modules)
        # After the handler's actions are wrapped above.
        core_responses.method_names_from_class = _cached_method_names(  # type: ignore[assignment]
            core_responses.method_names_from_class, DynamoHandler
        )
        _patch_sqs()
        setattr(backend_cls, _MARKER, True)


def _patch_sqs() -> None:
    """(f) SQS costs the same per call whatever the queue's backlog, for what the app sends and receives.

    moto 5.2.5 computes every queue attribute (three passes over all messages, each reading the clock per
    message) for each `SendMessage` (to read ContentBasedDeduplication), three times per name asked in
    `GetQueueAttributes`, and three times for each message `ReceiveMessage` returns (to read the retention
    period). With a backlog of ~150 booking requests that cost the local AWS ~5 ms per send and ~75 ms per
    receive (`python -m infra.local.profile_p1`), which real SQS does not. Here a pass reads the clock once,
    the attributes asked for are computed once per call, and the retention period is read from the queue.
    The answers stay stock moto's (tests/integration/test_moto_launcher_sqs.py)."""
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Message, Queue, SQSBackend

    if getattr(SQSBackend, _MARKER, False):
        return

    def counted(keep: Callable[[Message, float], bool]) -> property:
        def count(queue: Queue) -> int:
            now = unix_time_millis()
            return sum(1 for m in queue._messages if keep(m, now))

        return property(count)

    def visible(queue: Queue) -> list[Message]:
        now = unix_time_millis()  # Message.visible and .delayed, with one reading of the clock
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    Queue.messages = property(visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages = property(lambda queue: len(queue.messages))  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = counted(lambda m, now: now < m.delayed_until)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = counted(lambda m, now: not now > m.visible_at)  # type: ignore[method-assign,assignment]

    original_get_attributes = SQSBackend.get_queue_attributes

    def get_queue_attributes(self: SQSBackend, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        queue = self.get_queue(queue_name)
        known = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
        if not attribute_names or "All" in attribute_names or not set(attribute_names) <= known:
            return original_get_attributes(self, queue_name, attribute_names)  # moto's answer and errors
        current = queue.attributes
        return {name: current[name] for name in attribute_names if current.get(name) is not None}

    def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Message) -> bool:
        retention_s = getattr(self.get_queue(queue_name), "message_retention_period")  # noqa: B009 - set by moto's _set_attributes
        return retention_s + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    setattr(SQSBackend, _MARKER, True)


def _loopback_host(value: str) -> str:
    if value == "localhost":
        return value
    try:
        if ipaddress.ip_address(value).is_loopback:
            return value
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a loopback address; the local AWS binds loopback only")


class _CpuByOperation:
    """WSGI wrapper: CPU seconds (this request's thread) and count per AWS operation, served as JSON at
    GET /vaxslot/cpu. Opt-in (``--cpu-by-operation``), for `python -m infra.local.profile_p1`: it shows which
    calls cost the local AWS what. werkzeug runs each connection in a thread of its own, so thread CPU
    time is the request's, without time spent waiting for the GIL or the DynamoDB lock."""

    def __init__(self, app: Callable) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._cpu: dict[str, list[float]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        import json
        import time
        from urllib.parse import parse_qs

        if environ.get("PATH_INFO") == "/vaxslot/cpu":
            with self._lock:
                body = json.dumps(self._cpu).encode()
                if environ.get("REQUEST_METHOD") == "DELETE":
                    self._cpu.clear()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[-1]
        if not operation and environ.get("REQUEST_METHOD") == "POST":
            # Query-protocol services (SES) name the action in the form body: read it, and hand it on.
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            operation = parse_qs(raw.decode("utf-8", "replace")).get("Action", ["?"])[0]
        started = time.thread_time()
        try:
            return list(self._app(environ, start_response))
        finally:
            spent = time.thread_time() - started
            with self._lock:
                totals = self._cpu.setdefault(operation or "?", [0, 0.0])
                totals[0] += 1
                totals[1] += spent


SENT_MAIL_PATH = "/vaxslot/sent-mail"


class _SentMail:
    """WSGI wrapper: the mail moto's SES accepted, as JSON at GET /vaxslot/sent-mail (newest last), in the shape of
    moto's `/moto-api/data.json` entries. data.json serialises every model of every backend, so it grows with the
    tables and took more than 10 s on a loaded test run; this reads the SES backends alone."""

    def __init__(self, app: Callable) -> None:
        self._app = app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != SENT_MAIL_PATH:
            return self._app(environ, start_response)
        import json

        from moto.ses.models import ses_backends

        sent = [
            {"id": m.id, "source": m.source, "destinations": list(m.destinations), "raw_data": m.raw_data}
            for account in list(ses_backends.values())
            for backend in list(account.values())
            for m in list(backend.sent_messages)
            if hasattr(m, "raw_data")
        ]
        body = json.dumps(sent).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.moto_server",
        description="moto server for local development, tests and benchmarks (DynamoDB patched).",
    )
    parser.add_argument("--host", type=_loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=4566, help="port to listen on (default 4566)")
    parser.add_argument(
        "--cpu-by-operation", action="store_true", help="measure CPU per AWS operation (GET /vaxslot/cpu)"
    )
    args = parser.parse_args(argv)

    apply_patches()
    print(f"vaxslot local AWS (patched moto) on http://{args.host}:{args.port}", file=sys.stderr, flush=True)

    import moto.server

    run_simple = moto.server.run_simple
    wrap = (lambda app: _SentMail(_CpuByOperation(app))) if args.cpu_by_operation else _SentMail
    moto.server.run_simple = lambda host, port, app, **kw: run_simple(host, port, wrap(app), **kw)

    moto.server.main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
