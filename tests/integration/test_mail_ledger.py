"""The mail marker and the suppression list in DynamoDB, against the in-memory fake: one claim per mail."""

from __future__ import annotations

import uuid

import pytest
from pynamodb.connection import Connection

from chalicelib.notify.dynamo import DynamoSuppressionList
from chalicelib.notify.ports import MailClaim, MailLedger
from infra.local.aws import REGION
from tests.fakes import FakeSuppressionList


@pytest.fixture(params=["fake", "dynamo"])
def ledger(request) -> MailLedger:
    if request.param == "fake":
        return FakeSuppressionList()
    stack = request.getfixturevalue("stack")
    return DynamoSuppressionList(Connection(region=REGION, host=stack.aws_url), b"ledger-test-key")


def test_one_delivery_claims_a_mail_and_only_it_may_claim_again(ledger):
    key, address = f"booking_confirmed:{uuid.uuid4().hex}", f"{uuid.uuid4().hex[:8]}@example.org"
    assert ledger.claim(key, address, "m-1") is MailClaim.SEND
    assert ledger.claim(key, address, "m-2") is MailClaim.ALREADY_SENT
    assert ledger.claim(key, address, "m-1") is MailClaim.SEND  # the same message after a crash mid-send


def test_a_released_claim_may_be_taken_by_another_delivery_and_only_its_owner_releases_it(ledger):
    key, address = f"request_rejected:{uuid.uuid4().hex}", f"{uuid.uuid4().hex[:8]}@example.org"
    assert ledger.claim(key, address, "m-1") is MailClaim.SEND
    ledger.release(key, "m-2")  # not its claim: nothing happens
    assert ledger.claim(key, address, "m-3") is MailClaim.ALREADY_SENT
    ledger.release(key, "m-1")
    assert ledger.claim(key, address, "m-3") is MailClaim.SEND


def test_a_suppressed_address_is_never_claimed_whatever_its_case(ledger):
    address = f"{uuid.uuid4().hex[:8]}@Example.org"
    ledger.suppress(address.lower(), "bounce")
    assert ledger.claim(f"booking_confirmed:{uuid.uuid4().hex}", address, "m-1") is MailClaim.SUPPRESSED
    assert ledger.is_suppressed(address)
