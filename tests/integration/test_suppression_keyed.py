"""The suppression list against the moto server: keyed hash (HMAC) in the key, legacy sha256 items still honoured,
and what is stored about an address can be shown and erased (GDPR Art. 15, 17)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import boto3
import pytest
from pynamodb.connection import Connection

from chalicelib.dynamo_binding import bind_table
from chalicelib.notify.dynamo import DynamoSuppressionList
from chalicelib.notify.feedback import address_key, legacy_address_key
from chalicelib.notify.ports import MailClaim
from infra.local.aws import REGION
from infra.resources import BOOKING_TABLE

KEY = b"suppression-test-key"
WHEN = datetime(2031, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture()
def table(stack):
    bind_table(BOOKING_TABLE.name("local"), REGION, stack.aws_url)
    return boto3.resource(
        "dynamodb",
        region_name=REGION,
        endpoint_url=stack.aws_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(BOOKING_TABLE.name("local"))


def address() -> str:
    return f"erna-{uuid.uuid4().hex[:8]}@example.org"


def test_a_suppression_is_stored_under_the_hmac_of_the_address_and_nothing_in_clear(table):
    suppressions, mail = DynamoSuppressionList(None, KEY, clock=lambda: WHEN), address()
    suppressions.suppress(mail, "bounce")
    item = table.get_item(Key={"pk": f"SUPPRESSED#{address_key(mail, KEY)}", "sk": "MAIL"})["Item"]
    assert item["reason"] == "bounce" and mail not in str(item)
    assert "Item" not in table.get_item(Key={"pk": f"SUPPRESSED#{legacy_address_key(mail)}", "sk": "MAIL"})
    assert suppressions.is_suppressed(mail.upper())
    assert not DynamoSuppressionList(None, b"another-key").is_suppressed(mail)


def test_an_item_written_with_the_old_plain_sha256_still_suppresses_and_is_erased(table):
    suppressions, mail = DynamoSuppressionList(None, KEY), address()
    table.put_item(
        Item={
            "pk": f"SUPPRESSED#{legacy_address_key(mail)}",
            "sk": "MAIL",
            "reason": "complaint",
            "suppressed_at": WHEN.isoformat(),
        }
    )
    assert suppressions.is_suppressed(mail)
    record = suppressions.record(mail)
    assert record is not None and record.reason == "complaint"
    assert suppressions.forget(mail) is True
    assert not suppressions.is_suppressed(mail) and suppressions.forget(mail) is False


def test_what_is_stored_about_an_address_can_be_shown_and_erased(table):
    suppressions, mail = DynamoSuppressionList(None, KEY, clock=lambda: WHEN), address()
    assert suppressions.record(mail) is None
    suppressions.suppress(mail, "complaint")
    record = suppressions.record(mail)
    assert record is not None
    assert (record.reason, record.suppressed_at) == ("complaint", WHEN.isoformat())
    assert suppressions.forget(mail) is True
    assert suppressions.record(mail) is None


def test_a_claim_is_refused_for_a_keyed_and_for_a_legacy_suppression_and_claims_once_neither_is_there(table, stack):
    suppressions = DynamoSuppressionList(Connection(region=REGION, host=stack.aws_url), KEY, clock=lambda: WHEN)
    keyed, legacy, clear = address(), address(), address()
    suppressions.suppress(keyed, "bounce")
    table.put_item(
        Item={
            "pk": f"SUPPRESSED#{legacy_address_key(legacy)}",
            "sk": "MAIL",
            "reason": "complaint",
            "suppressed_at": WHEN.isoformat(),
        }
    )
    assert suppressions.claim(f"booking_confirmed:{uuid.uuid4().hex}", keyed, "m-1") is MailClaim.SUPPRESSED
    assert suppressions.claim(f"booking_confirmed:{uuid.uuid4().hex}", legacy.upper(), "m-1") is MailClaim.SUPPRESSED
    mail_key = f"booking_confirmed:{uuid.uuid4().hex}"
    assert suppressions.claim(mail_key, clear, "m-1") is MailClaim.SEND
    suppressions.settle(mail_key, "m-1")
    assert suppressions.claim(mail_key, clear, "m-2") is MailClaim.ALREADY_SENT  # the marker, after both checks
