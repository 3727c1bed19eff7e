"""The launcher's faster DynamoDB (partition lookup for Query, plain JSON for items, shorter lock)
answers byte for byte as stock moto does.

A stock moto server (``python -m moto.server``) and the project's launcher
(``python -m infra.local.moto_server``) run side by side; the same sequence of raw DynamoDB JSON
requests goes to both, each following its own pagination keys, and the transcripts (status, body
bytes, content type and CRC32 header) must be equal (both servers run with one hash seed, since
moto's projections pass through Python sets). Only table descriptions are compared parsed,
without their creation time and random table id.

Run this module directly to print Query latencies of both servers for a 224-item partition in a
table of several thousand items: ``PYTHONPATH=. .venv/bin/python tests/integration/test_moto_launcher_answers.py``.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    # moto routes by the credential scope; it does not check the signature.
    "Authorization": (
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
    ),
}
STOCK = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p"]
LAUNCHER = [sys.executable, "-m", "infra.local.moto_server", "--port"]

Call = Callable[[str, dict], tuple[int, dict[str, str], bytes]]


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(command: list[str]) -> Iterator[int]:
    port = _free_loopback_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this block: closed after the server stops
    # moto's projections go through Python sets: one hash seed for both servers, so that stock moto
    # itself answers in the same order twice.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([*command, str(port)], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{command} exited: {log.read().decode(errors='replace')}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/moto-api/")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not answer within 60 s")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _caller(port: int) -> Call:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(operation: str, body: dict) -> tuple[int, dict[str, str], bytes]:
        conn.request("POST", "/", json.dumps(body), {**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{operation}"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    return call


@pytest.fixture(scope="module")
def ports():
    """(stock moto's port, the launcher's port)."""
    with _server(STOCK) as stock_port, _server(LAUNCHER) as launcher_port:
        yield stock_port, launcher_port


# ---------------------------------------------------------------------------------------------
# The sequence of requests


def _table(name: str, keys: list[tuple[str, str, str]], **extra: Any) -> dict:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": n, "KeyType": k} for n, _, k in keys],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t, _ in keys]
        + extra.pop("more_attributes", []),
        "BillingMode": "PAY_PER_REQUEST",
        **extra,
    }


def _rich_attributes(i: int) -> dict:
    """Every attribute type, with values that vary per item (some absent on some items)."""
    attrs: dict[str, Any] = {
        "s": {"S": f"text {i} ü €"},
        "empty": {"S": ""},
        "n": {"N": str(i)},
        "dec": {"N": f"{i}.50" if i % 2 else f"-{i}.25"},
        "b": {"B": base64.b64encode(bytes([i % 256, 0, 255])).decode()},
        "ss": {"SS": [f"a{i}", f"b{i % 3}"]},
        "ns": {"NS": [str(i), "1.5"]},
        "bs": {"BS": [base64.b64encode(b"x").decode(), base64.b64encode(bytes([i % 256])).decode()]},
        "m": {"M": {"x": {"S": "y"}, "deep": {"M": {"n": {"N": str(i % 7)}, "l": {"L": [{"BOOL": True}]}}}}},
        "l": {"L": [{"S": "first"}, {"N": str(i)}, {"NULL": True}, {"M": {}}, {"L": []}]},
        "flag": {"BOOL": i % 2 == 0},
        "nothing": {"NULL": True},
        "booked": {"N": str(i % 6)},
    }
    if i % 5 == 0:
        del attrs["flag"]
    return attrs


def _fill(call: Call, transcript: list) -> None:
    record = _recorder(call, transcript)
    record("CreateTable", _table("slots", [("pk", "S", "HASH"), ("sk", "S", "RANGE")]))
    record(
        "CreateTable",
        _table(
            "numbers",
            [("pk", "S", "HASH"), ("n", "N", "RANGE")],
            more_attributes=[{"AttributeName": "g", "AttributeType": "S"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "n", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        ),
    )
    record("CreateTable", _table("ids", [("id", "S", "HASH")]))
    # Several partitions of different sizes, written in an order that is not key order.
    sizes = {"SLOTS#a": 224, "SLOTS#b": 180, "SLOTS#c": 3, "REQ#x": 40, "ZZ": 60}
    for pk, size in sizes.items():
        order = sorted(range(size), key=lambda i: (i * 37) % size)
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": f"SLOT#{i:04d}"}, **_rich_attributes(i)}}}
            for i in order
        ]
        for start in range(0, len(puts), 25):
            # Answers compared too, apart from their content (same on both).
            call("BatchWriteItem", {"RequestItems": {"slots": puts[start : start + 25]}})
    for i in range(60):
        value = ["-3", "0", "1", "1.5", "2", "10", "10.01", "100", "-0.5", "7"][i % 10] + ("" if i < 10 else f"{i:03d}")
        call(
            "PutItem",
            {"TableName": "numbers", "Item": {"pk": {"S": f"p{i % 2}"}, "n": {"N": value}, "g": {"S": f"g{i % 3}"}}},
        )
    for i in range(30):
        call("PutItem", {"TableName": "ids", "Item": {"id": {"S": f"id-{i}"}, **_rich_attributes(i)}})


def _recorder(call: Call, transcript: list) -> Callable[[str, dict], dict | None]:
    def record(operation: str, body: dict) -> dict | None:
        status, headers, raw = call(operation, body)
        parsed = json.loads(raw) if raw else None
        if operation in ("CreateTable", "DescribeTable") and status == 200:
            assert parsed is not None
            description = parsed.get("TableDescription") or parsed.get("Table")
            for volatile in ("CreationDateTime", "TableId"):
                description.pop(volatile, None)
            for index in description.get("GlobalSecondaryIndexes", []):
                index.pop("IndexArn", None)
            transcript.append((operation, body, status, headers.get("content-type"), parsed))
        else:
            transcript.append((operation, body, status, headers.get("content-type"), headers.get("x-amz-crc32"), raw))
        return parsed

    return record


def _query_all_pages(record: Callable[[str, dict], dict | None], body: dict) -> None:
    """Follows LastEvaluatedKey; every page lands in the transcript."""
    request = dict(body)
    for _ in range(500):
        page = record("Query", request)
        if not page or "LastEvaluatedKey" not in page:
            return
        request = {**body, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    raise AssertionError("pagination did not end")


def _queries(record: Callable[[str, dict], dict | None]) -> None:
    def slots(condition: str, values: dict, **extra: Any) -> dict:
        return {
            "TableName": "slots",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            **extra,
        }

    a = {":p": {"S": "SLOTS#a"}}
    conditions = [
        ("pk = :p", {}),
        ("pk = :p AND sk = :v", {":v": {"S": "SLOT#0100"}}),
        ("pk = :p AND sk < :v", {":v": {"S": "SLOT#0050"}}),
        ("pk = :p AND sk <= :v", {":v": {"S": "SLOT#0050"}}),
        ("pk = :p AND sk > :v", {":v": {"S": "SLOT#0200"}}),
        ("pk = :p AND sk >= :v", {":v": {"S": "SLOT#0200"}}),
        ("pk = :p AND sk BETWEEN :lo AND :hi", {":lo": {"S": "SLOT#0010"}, ":hi": {"S": "SLOT#0030"}}),
        ("pk = :p AND begins_with(sk, :v)", {":v": {"S": "SLOT#01"}}),
        ("pk = :p AND begins_with(sk, :v)", {":v": {"S": "NOPE"}}),
    ]
    for condition, values in conditions:
        record("Query", slots(condition, {**a, **values}))
        record("Query", slots(condition, {**a, **values}, ScanIndexForward=False, ConsistentRead=True))
        _query_all_pages(record, slots(condition, {**a, **values}, Limit=7))
        _query_all_pages(record, slots(condition, {**a, **values}, Limit=9, ScanIndexForward=False))

    # Filters after the key condition (Count/ScannedCount, and pages that come back empty).
    for filtered in (
        {"FilterExpression": "booked < :cap", "ExpressionAttributeValues": {**a, ":cap": {"N": "2"}}},
        {
            "FilterExpression": "attribute_exists(flag) AND #f = :t",
            "ExpressionAttributeNames": {"#f": "flag"},
            "ExpressionAttributeValues": {**a, ":t": {"BOOL": True}},
        },
        {"FilterExpression": "contains(ss, :v)", "ExpressionAttributeValues": {**a, ":v": {"S": "b1"}}},
        {"FilterExpression": "m.deep.n > :v", "ExpressionAttributeValues": {**a, ":v": {"N": "4"}}},
    ):
        body = {"TableName": "slots", "KeyConditionExpression": "pk = :p", **filtered}
        record("Query", body)
        _query_all_pages(record, {**body, "Limit": 11})
        _query_all_pages(record, {**body, "Limit": 5, "ScanIndexForward": False})

    # Projections, Select, consumed capacity, other partitions, missing partition.
    record("Query", slots("pk = :p", a, ProjectionExpression="sk, booked, m.deep.n, l[1], ss"))
    record(
        "Query",
        slots("pk = :p", a, ProjectionExpression="#s, #m.x", ExpressionAttributeNames={"#s": "s", "#m": "m"}),
    )
    _query_all_pages(record, slots("pk = :p", a, ProjectionExpression="sk", Limit=50))
    record("Query", slots("pk = :p", a, Select="COUNT"))
    record("Query", slots("pk = :p AND sk > :v", {**a, ":v": {"S": "SLOT#0100"}}, Select="COUNT", Limit=13))
    record("Query", slots("pk = :p", a, ReturnConsumedCapacity="TOTAL", Limit=3))
    record("Query", slots("pk = :p", a, ReturnConsumedCapacity="INDEXES", Limit=3))
    for pk in ("SLOTS#b", "SLOTS#c", "REQ#x", "ZZ", "SLOTS#none", ""):
        record("Query", slots("pk = :p", {":p": {"S": pk}}))
    record("Query", slots("pk = :p", {":p": {"N": "1"}}))  # wrong key type
    record("Query", slots("pk = :p", a, Limit=5, ExclusiveStartKey={"pk": {"S": "SLOTS#a"}, "sk": {"S": "SLOT#0003x"}}))
    # The older KeyConditions/QueryFilter form.
    record(
        "Query",
        {
            "TableName": "slots",
            "KeyConditions": {
                "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "SLOTS#a"}]},
                "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "SLOT#00"}]},
            },
            "QueryFilter": {"booked": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "3"}]}},
            "Limit": 20,
        },
    )
    # Numeric range keys sort as numbers; the GSI (moto's own code path) answers the same too.
    numbers = {"TableName": "numbers", "KeyConditionExpression": "pk = :p AND n BETWEEN :lo AND :hi"}
    values = {":p": {"S": "p0"}, ":lo": {"N": "-1"}, ":hi": {"N": "10.01"}}
    record("Query", {**numbers, "ExpressionAttributeValues": values})
    _query_all_pages(record, {**numbers, "ExpressionAttributeValues": values, "Limit": 2, "ScanIndexForward": False})
    _query_all_pages(
        record,
        {
            "TableName": "numbers",
            "IndexName": "by-g",
            "KeyConditionExpression": "g = :g AND n > :n",
            "ExpressionAttributeValues": {":g": {"S": "g1"}, ":n": {"N": "0"}},
            "Limit": 4,
        },
    )
    # A table with a hash key only.
    record(
        "Query",
        {"TableName": "ids", "KeyConditionExpression": "id = :i", "ExpressionAttributeValues": {":i": {"S": "id-7"}}},
    )
    record(
        "Query",
        {"TableName": "ids", "KeyConditionExpression": "id = :i", "ExpressionAttributeValues": {":i": {"S": "id-99"}}},
    )
    # Errors come back unchanged.
    record("Query", slots("pk = :p AND nope = :v", {**a, ":v": {"S": "x"}}))
    record("Query", slots("sk = :p", a))
    record("Query", {"TableName": "no-such-table", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": a})
    record(
        "Query",
        {
            "TableName": "numbers",
            "IndexName": "by-g",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "g1"}},
            "ConsistentRead": True,
        },
    )


def _item_operations(record: Callable[[str, dict], dict | None]) -> None:
    key = {"pk": {"S": "SLOTS#a"}, "sk": {"S": "SLOT#0005"}}
    new_key = {"pk": {"S": "SLOTS#new"}, "sk": {"S": "1"}}
    record("GetItem", {"TableName": "slots", "Key": key})
    record("GetItem", {"TableName": "slots", "Key": key, "ConsistentRead": True, "ReturnConsumedCapacity": "TOTAL"})
    record("GetItem", {"TableName": "slots", "Key": key, "ProjectionExpression": "m.deep, l[0], bs"})
    record("GetItem", {"TableName": "slots", "Key": new_key})
    record("GetItem", {"TableName": "slots", "Key": {"pk": {"S": "SLOTS#a"}}})
    record("GetItem", {"TableName": "ids", "Key": {"id": {"S": "id-3"}}})
    record("PutItem", {"TableName": "slots", "Item": {**new_key, **_rich_attributes(3)}, "ReturnValues": "ALL_OLD"})
    record("PutItem", {"TableName": "slots", "Item": {**new_key, "v": {"N": "1"}}, "ReturnValues": "ALL_OLD"})
    record(
        "PutItem",
        {
            "TableName": "slots",
            "Item": {**new_key, "v": {"N": "2"}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    record(
        "PutItem",
        {
            "TableName": "slots",
            "Item": {**new_key, "v": {"N": "3"}},
            "ConditionExpression": "v = :two",
            "ExpressionAttributeValues": {":two": {"N": "2"}},
        },
    )
    for return_values in ("ALL_NEW", "UPDATED_NEW", "ALL_OLD", "UPDATED_OLD", "NONE"):
        record(
            "UpdateItem",
            {
                "TableName": "slots",
                "Key": key,
                "UpdateExpression": "SET booked = booked + :one, m.deep.n = :n ADD ss :s REMOVE nothing",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":n": {"N": "9"}, ":s": {"SS": ["added"]}},
                "ReturnValues": return_values,
                "ReturnConsumedCapacity": "TOTAL",
            },
        )
    record(
        "UpdateItem",
        {
            "TableName": "slots",
            "Key": key,
            "UpdateExpression": "SET booked = booked + :one",
            "ConditionExpression": "booked < :cap",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "0"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    record("DeleteItem", {"TableName": "slots", "Key": new_key, "ReturnValues": "ALL_OLD"})
    record("DeleteItem", {"TableName": "slots", "Key": new_key, "ReturnValues": "ALL_OLD"})
    record(
        "BatchGetItem",
        {
            "RequestItems": {
                "slots": {"Keys": [key, new_key, {"pk": {"S": "ZZ"}, "sk": {"S": "SLOT#0001"}}]},
                "ids": {"Keys": [{"id": {"S": "id-1"}}], "ProjectionExpression": "id, m"},
            }
        },
    )
    record(
        "BatchWriteItem",
        {
            "RequestItems": {
                "slots": [
                    {"PutRequest": {"Item": {"pk": {"S": "SLOTS#c"}, "sk": {"S": "batch"}, "b": {"B": "AAE="}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "SLOTS#c"}, "sk": {"S": "SLOT#0001"}}}},
                ]
            }
        },
    )
    record(
        "TransactGetItems",
        {
            "TransactItems": [
                {"Get": {"TableName": "slots", "Key": key}},
                {"Get": {"TableName": "ids", "Key": {"id": {"S": "missing"}}}},
            ]
        },
    )
    record(
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": "slots", "Key": key}}], "ReturnConsumedCapacity": "TOTAL"},
    )
    transaction = [
        {
            "Put": {
                "TableName": "ids",
                "Item": {"id": {"S": "tx-1"}, "n": {"N": "1"}},
                "ConditionExpression": "attribute_not_exists(id)",
            }
        },
        {
            "Update": {
                "TableName": "slots",
                "Key": key,
                "UpdateExpression": "SET booked = booked + :one",
                "ConditionExpression": "booked < :cap",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "100"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": "ids",
                "Key": {"id": {"S": "id-2"}},
                "ConditionExpression": "attribute_exists(id)",
            }
        },
    ]
    record("TransactWriteItems", {"TransactItems": transaction})
    record(
        "TransactWriteItems",
        {
            "TransactItems": [
                dict(transaction[0], Put={**transaction[0]["Put"], "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
            ]
        },
    )
    record("Scan", {"TableName": "ids", "Limit": 4})
    record(
        "Scan",
        {
            "TableName": "slots",
            "Limit": 25,
            "FilterExpression": "booked = :b",
            "ExpressionAttributeValues": {":b": {"N": "3"}},
            "ProjectionExpression": "pk, sk, booked",
        },
    )
    record("Scan", {"TableName": "slots", "Select": "COUNT"})
    # The table after all of the above, seen through Query.
    _query_all_pages(
        record,
        {
            "TableName": "slots",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "SLOTS#a"}},
            "Limit": 60,
        },
    )
    _query_all_pages(
        record,
        {
            "TableName": "slots",
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "SLOTS#c"}},
        },
    )
    record("DescribeTable", {"TableName": "slots"})
    record("DescribeTable", {"TableName": "numbers"})
    record("DescribeTable", {"TableName": "no-such-table"})
    record("ListTables", {})


def _transcript(call: Call) -> list:
    transcript: list = []
    _fill(call, transcript)
    record = _recorder(call, transcript)
    _queries(record)
    _item_operations(record)
    return transcript


def test_launcher_answers_every_query_and_item_operation_with_stock_motos_bytes(ports):
    stock_port, launcher_port = ports
    stock_transcript = _transcript(_caller(stock_port))
    launcher_transcript = _transcript(_caller(launcher_port))

    assert len(launcher_transcript) == len(stock_transcript)
    for stock_entry, launcher_entry in zip(stock_transcript, launcher_transcript, strict=True):
        assert launcher_entry == stock_entry, stock_entry[:2]
    # The sequence exercised what it claims to: pages, errors and every key-condition operator.
    statuses = [entry[2] for entry in stock_transcript]
    assert statuses.count(400) >= 6
    pages = [entry for entry in stock_transcript if entry[0] == "Query" and b"LastEvaluatedKey" in entry[-1]]
    assert len(pages) > 100
    assert any(b'"B": "' in entry[-1] and b'"BS": [' in entry[-1] for entry in stock_transcript if entry[0] == "Query")


def test_launcher_answers_queries_during_concurrent_writes_from_a_consistent_state(ports):
    """Items written while Queries run: every answer is a sorted, complete snapshot of the partition."""
    _, launcher_port = ports
    _caller(launcher_port)("CreateTable", _table("busy", [("pk", "S", "HASH"), ("sk", "S", "RANGE")]))
    writers_done = []

    def write(i: int) -> None:
        call = _caller(launcher_port)
        call(
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "busy", "Item": {"pk": {"S": "p"}, "sk": {"S": f"{i:04d}a"}}}},
                    {"Put": {"TableName": "busy", "Item": {"pk": {"S": "p"}, "sk": {"S": f"{i:04d}b"}}}},
                ]
            },
        )
        writers_done.append(i)

    answers = []

    def read(_: int) -> None:
        call = _caller(launcher_port)
        status, _headers, raw = call(
            "Query",
            {"TableName": "busy", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}},
        )
        answers.append((status, json.loads(raw)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        wait([pool.submit(write, i) for i in range(60)] + [pool.submit(read, i) for i in range(60)])

    assert len(writers_done) == 60
    for status, answer in answers:
        assert status == 200
        keys = [item["sk"]["S"] for item in answer["Items"]]
        assert keys == sorted(keys)
        # Both puts of a transaction, or neither.
        assert {k[:4] for k in keys if k.endswith("a")} == {k[:4] for k in keys if k.endswith("b")}


_LOCK_PROBE = """
import json, boto3, moto
import moto.core.serialize as serialize
from infra.local import moto_server

moto_server.apply_patches()
serializer = serialize.get_serializer_class("dynamodb", "json")
held = []
original = serializer.serialize

def serialize_and_note_the_lock(self, result):
    held.append((self.operation_name, moto_server._LOCK._is_owned()))
    return original(self, result)

serializer.serialize = serialize_and_note_the_lock
with moto.mock_aws():
    c = boto3.client("dynamodb", region_name="eu-central-1", aws_access_key_id="t", aws_secret_access_key="t")
    c.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    c.put_item(TableName="t", Item={"pk": {"S": "a"}})
    c.get_item(TableName="t", Key={"pk": {"S": "a"}})
    c.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    c.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}}}])
    c.describe_table(TableName="t")
print(json.dumps(held))
"""


def test_launcher_serialises_item_answers_outside_its_lock_and_table_descriptions_inside_it():
    # In a child process: this test process keeps stock moto for the reference runs.
    # Without the endpoint a running local stack sets (AWS_ENDPOINT_URL): moto's mock must answer.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    probe = subprocess.run(
        [sys.executable, "-c", _LOCK_PROBE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    held = dict(json.loads(probe.stdout.strip().splitlines()[-1]))

    assert held == {
        "CreateTable": True,
        "PutItem": False,
        "GetItem": False,
        "Query": False,
        "TransactWriteItems": False,
        "DescribeTable": True,
    }


# ---------------------------------------------------------------------------------------------
# Latency, printed (not asserted): python tests/integration/test_moto_launcher_answers.py


def _sqs_transcript(port: int) -> list:
    """A queue with a backlog (visible, in flight, delayed) as the pumps and the position reads see it."""
    import boto3
    from botocore.exceptions import ClientError

    sqs = boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    dlq = sqs.create_queue(QueueName="answers-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(
        QueueName="answers",
        Attributes={"VisibilityTimeout": "30", "MessageRetentionPeriod": "600", "RedrivePolicy": redrive},
    )["QueueUrl"]
    for n in range(40):
        sqs.send_message(QueueUrl=url, MessageBody=f"request {n}", DelaySeconds=120 if n % 8 == 0 else 0)
    counts = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    asked = [[*counts, "VisibilityTimeout", "RedrivePolicy", "Policy"], ["MessageRetentionPeriod"], ["All"]]
    transcript: list = []
    variable = {"CreatedTimestamp", "LastModifiedTimestamp"}
    for names in asked:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        transcript.append({k: v for k, v in attributes.items() if k not in variable})
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    transcript.append([(m["Body"], m["Attributes"]) for m in received["Messages"]])
    transcript.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"])
    first = received["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first, VisibilityTimeout=0)
    transcript.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"])
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    transcript.append(sorted(m["Body"] for m in rest["Messages"]))
    for names in (["NoSuchAttribute"], [""], [*counts, "Nope"]):
        try:
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        except ClientError as error:
            transcript.append(error.response["Error"]["Code"])
    return transcript


def test_launcher_answers_sqs_over_a_backlog_as_stock_moto_does(ports):
    stock, launcher = (_sqs_transcript(port) for port in ports)
    assert launcher == stock
    # What was compared: a backlog with delayed and in-flight messages, and the three refusals.
    assert stock[0]["ApproximateNumberOfMessagesDelayed"] == "5" and len(stock[3]) == 10
    assert stock[-3:] == ["InvalidAttributeName"] * 3


def _measure(call: Call, rounds: int) -> dict[str, list[float]]:
    call("CreateTable", _table("measure", [("pk", "S", "HASH"), ("sk", "S", "RANGE")]))
    for p in range(24):
        size = 224 if p == 0 else 200
        for start in range(0, size, 25):
            call(
                "BatchWriteItem",
                {
                    "RequestItems": {
                        "measure": [
                            {
                                "PutRequest": {
                                    "Item": {
                                        "pk": {"S": f"SLOTS#80plus#centre-{p}"},
                                        "sk": {"S": f"SLOT#{i:04d}"},
                                        "start": {"S": "2026-12-01T09:00:00+01:00"},
                                        "end": {"S": "2026-12-01T09:30:00+01:00"},
                                        "capacity": {"N": "6"},
                                        "booked": {"N": str(i % 6)},
                                    }
                                }
                            }
                            for i in range(start, min(size, start + 25))
                        ]
                    }
                },
            )
    query = {
        "TableName": "measure",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "SLOTS#80plus#centre-0"}},
    }
    get = {"TableName": "measure", "Key": {"pk": {"S": "SLOTS#80plus#centre-0"}, "sk": {"S": "SLOT#0100"}}}
    timings: dict[str, list[float]] = {"Query (224 items)": [], "GetItem": []}
    for _ in range(rounds):
        for name, operation, body in (("Query (224 items)", "Query", query), ("GetItem", "GetItem", get)):
            started = time.perf_counter()
            status, _, raw = call(operation, body)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert status == 200 and raw
    return timings


if __name__ == "__main__":
    with _server(STOCK) as stock_port, _server(LAUNCHER) as launcher_port:
        results = {
            name: _measure(_caller(port), 30)
            for name, port in (("stock moto", stock_port), ("launcher", launcher_port))
        }
    print(f"table of 4,824 items, raw HTTP, load average {os.getloadavg()[0]:.1f}")
    for server, by_operation in results.items():
        for operation, timings in by_operation.items():
            print(
                f"{server}: {operation}: median {statistics.median(timings):.1f} ms, "
                f"fastest {min(timings):.1f} ms over {len(timings)} calls"
            )
