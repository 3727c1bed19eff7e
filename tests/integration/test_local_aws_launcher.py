"""The project's local AWS launcher (infra/local/moto_server.py) keeps DynamoDB transactions isolated.

Stock moto's server lets a cancelled TransactWriteItems restore a stale copy of the whole table while
other requests run, which loses committed writes and resurrects cancelled ones. These tests start
the launcher as the project does (``python -m infra.local.moto_server``) and race real transactions
against it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
CAP = 50
THREADS = 32
REQUESTS = 320


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dynamodb(endpoint_url: str | None = None):
    return boto3.client(
        "dynamodb",
        region_name=REGION,
        # In-process moto by default: named explicitly, since a running local stack sets AWS_ENDPOINT_URL.
        endpoint_url=endpoint_url or f"https://dynamodb.{REGION}.amazonaws.com",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=64, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def launcher_moto_endpoint():
    """The patched moto server, started exactly as `make run` starts it; yields its URL."""
    port = _free_loopback_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives this block: closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.moto_server", "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"launcher exited with {proc.returncode}: {log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("launcher did not answer /moto-api/ within 30 s")
            time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _create_table(client, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan_all(client, name: str) -> list[dict]:
    items, kwargs = [], {"TableName": name, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _counter_update(table: str, sk: str) -> dict:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "counter"}, "sk": {"S": sk}},
            "UpdateExpression": "SET booked = booked + :one",
            "ConditionExpression": "booked < :cap",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": str(CAP)}},
        }
    }


def _new_item_put(table: str, pk: str, sk: str) -> dict:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": pk}, "sk": {"S": sk}, "kind": {"S": "booking"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_concurrent_transactions_never_exceed_capacity_or_leave_items_behind(launcher_moto_endpoint):
    client = _dynamodb(launcher_moto_endpoint)
    table = "race"
    _create_table(client, table)
    for sk in ("A", "B"):
        client.put_item(TableName=table, Item={"pk": {"S": "counter"}, "sk": {"S": sk}, "booked": {"N": "0"}})

    def transaction(i: int) -> list[dict]:
        first = (f"booking#{i}", "1")
        # Every 7th request reuses the first key of an earlier one: cancelled after three of its
        # four writes were applied (unless that earlier request itself was cancelled).
        second = (f"booking#{i - 7}", "1") if i >= 7 and i % 7 == 0 else (f"booking#{i}", "2")
        return [
            _new_item_put(table, *first),
            _counter_update(table, "A"),
            _counter_update(table, "B"),
            _new_item_put(table, *second),
        ]

    results: list[str] = []
    unexpected: list[str] = []
    max_seen = {"A": 0, "B": 0}
    stop = threading.Event()

    def book(i: int) -> None:
        try:
            client.transact_write_items(TransactItems=transaction(i))
            results.append("ok")
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                results.append("cancelled")
            else:
                unexpected.append(f"{i}: {error.response['Error']}")
        except Exception as error:  # reported by the assertion below
            unexpected.append(f"{i}: {error!r}")

    def watch_counters() -> None:
        while not stop.is_set():
            for sk in ("A", "B"):
                item = client.get_item(
                    TableName=table, Key={"pk": {"S": "counter"}, "sk": {"S": sk}}, ConsistentRead=True
                )["Item"]
                max_seen[sk] = max(max_seen[sk], int(item["booked"]["N"]))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_counters, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(book, range(REQUESTS)))
    finally:
        stop.set()
        watcher.join(timeout=10)

    assert unexpected == []
    successes = Counter(results)["ok"]
    items = _scan_all(client, table)
    counters = {item["sk"]["S"]: int(item["booked"]["N"]) for item in items if item["pk"]["S"] == "counter"}
    bookings = [item for item in items if item["pk"]["S"] != "counter"]

    assert successes == CAP  # far more requests than places: the cap must be reached, not passed
    assert counters == {"A": successes, "B": successes}
    assert max_seen["A"] <= CAP and max_seen["B"] <= CAP
    assert len(bookings) == 2 * successes  # nothing left behind by cancelled transactions


def _run_scenarios(client, table: str) -> list[dict]:
    """Transactions moto must answer exactly as stock moto does; returns answers and table states."""
    _create_table(client, table)
    client.put_item(TableName=table, Item={"pk": {"S": "slot"}, "sk": {"S": "1"}, "booked": {"N": "3"}})
    client.put_item(TableName=table, Item={"pk": {"S": "slot"}, "sk": {"S": "2"}, "booked": {"N": "0"}})
    scenarios = {
        "condition fails on second write": [
            {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "slot"}, "sk": {"S": "1"}},
                    "UpdateExpression": "SET booked = booked + :one",
                    "ConditionExpression": "booked < :cap",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":cap": {"N": "3"}},
                }
            },
        ],
        "condition fails with ALL_OLD": [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "slot"}, "sk": {"S": "2"}},
                    "UpdateExpression": "SET booked = booked + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": {"S": "slot"}, "sk": {"S": "1"}},
                    "ConditionExpression": "booked < :cap",
                    "ExpressionAttributeValues": {":cap": {"N": "3"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ],
        "same item twice": [
            {"Put": {"TableName": table, "Item": {"pk": {"S": "dup"}, "sk": {"S": "1"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "dup"}, "sk": {"S": "1"}}}},
        ],
        "unknown table": [
            {"Put": {"TableName": table, "Item": {"pk": {"S": "other"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": "no-such-table", "Item": {"pk": {"S": "x"}, "sk": {"S": "1"}}}},
        ],
        "success": [
            {"Put": {"TableName": table, "Item": {"pk": {"S": "done"}, "sk": {"S": "1"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "slot"}, "sk": {"S": "2"}}}},
        ],
    }
    answers = []
    for name, transact_items in scenarios.items():
        before = _scan_all(client, table)
        try:
            response = client.transact_write_items(TransactItems=transact_items)
            answer = {"ok": {k: v for k, v in response.items() if k != "ResponseMetadata"}}
        except ClientError as error:
            answer = {
                "error": error.response["Error"],
                "reasons": error.response.get("CancellationReasons"),
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
            }
        answers.append({"scenario": name, "answer": answer, "before": before, "after": _scan_all(client, table)})
    return answers


def test_launcher_answers_transactions_exactly_as_stock_moto_and_cancelled_ones_change_nothing(launcher_moto_endpoint):
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    assert not getattr(DynamoDBBackend, "_vaxslot_patched", False), "the reference run needs stock moto in this process"
    with moto.mock_aws():
        stock = _run_scenarios(_dynamodb(), "answers")
    launcher = _run_scenarios(_dynamodb(launcher_moto_endpoint), "answers")

    assert launcher == stock
    by_name = {answer["scenario"]: answer for answer in launcher}
    cancelled = by_name["condition fails on second write"]
    assert cancelled["answer"]["error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled["answer"]["reasons"]] == ["None", "ConditionalCheckFailed"]
    for name in ("condition fails on second write", "condition fails with ALL_OLD", "same item twice", "unknown table"):
        assert by_name[name]["after"] == by_name[name]["before"], name
    assert by_name["success"]["after"] != by_name["success"]["before"]


def test_cancelled_transaction_removes_the_items_it_created_and_restores_those_it_changed(launcher_moto_endpoint):
    client = _dynamodb(launcher_moto_endpoint)
    table = "rollback"
    _create_table(client, table)
    for sk, booked in (("kept", "1"), ("changed", "2"), ("deleted", "3"), ("guard", "4")):
        client.put_item(TableName=table, Item={"pk": {"S": "slot"}, "sk": {"S": sk}, "booked": {"N": booked}})
    before = _scan_all(client, table)

    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "fresh"}, "sk": {"S": "1"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": "slot"}, "sk": {"S": "kept"}, "x": {"S": "y"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "slot"}, "sk": {"S": "changed"}},
                        "UpdateExpression": "SET booked = booked + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "slot"}, "sk": {"S": "deleted"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "slot"}, "sk": {"S": "guard"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in raised.value.response["CancellationReasons"]] == [
        "None",
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "fresh"}, "sk": {"S": "1"}})
    assert _scan_all(client, table) == before
    assert client.describe_table(TableName=table)["Table"]["ItemCount"] == len(before)


def test_the_sent_mail_route_lists_what_moto_s_own_dump_lists(launcher_moto_endpoint):
    from infra.local.aws import client, sent_mail

    ses = client("ses", launcher_moto_endpoint)
    ses.verify_email_identity(EmailAddress="termine@vaxslot.example")
    for n in range(2):
        raw = f"From: termine@vaxslot.example\nTo: launcher{n}@example.org\nSubject: test {n}\n\nbody {n}\n"
        ses.send_raw_email(Source="termine@vaxslot.example", RawMessage={"Data": raw})
    with urllib.request.urlopen(f"{launcher_moto_endpoint}/moto-api/data.json", timeout=30) as response:
        dumped = json.load(response)["ses"]["RawMessage"]
    listed = sent_mail(launcher_moto_endpoint)
    assert [m["raw_data"] for m in listed][-2:] == [m["raw_data"] for m in dumped][-2:]
    assert [(m["id"], m["source"], m["destinations"]) for m in listed] == [
        (m["id"], m["source"], m["destinations"]) for m in dumped
    ]
