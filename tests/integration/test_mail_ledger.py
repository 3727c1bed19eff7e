"""The mail marker and the suppression list in DynamoDB, against the in-memory fake: one claim per mail, held for
a lease, settled once sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.connection import Connection

from chalicelib.notify.dynamo import DynamoSuppressionList
from chalicelib.notify.ports import CLAIM_LEASE_S, MailBeingSent, MailClaim, MailLedger
from infra.local.aws import REGION
from tests.fakes import FakeSuppressionList


class Clock:
    def __init__(self):
        self.now = datetime(2021, 1, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["fake", "dynamo"])
def clock_and_ledger(request) -> tuple[Clock, MailLedger]:
    clock = Clock()
    if request.param == "fake":
        return clock, FakeSuppressionList(clock=clock)
    stack = request.getfixturevalue("stack")
    return clock, DynamoSuppressionList(Connection(region=REGION, host=stack.aws_url), b"ledger-test-key", clock=clock)


def _mail() -> tuple[str, str]:
    return f"booking_confirmed:{uuid.uuid4().hex}", f"{uuid.uuid4().hex[:8]}@example.org"


def test_a_claimed_mail_is_nobody_elses_while_its_lease_runs_the_same_message_redelivered_included(
    clock_and_ledger,
):
    clock, ledger = clock_and_ledger
    key, address = _mail()
    assert ledger.claim(key, address, "attempt-1") is MailClaim.SEND
    for _ in range(2):  # another publish, or the same queue message delivered again while the first still sends
        with pytest.raises(MailBeingSent):
            ledger.claim(key, address, "attempt-2")
    clock.now += timedelta(seconds=CLAIM_LEASE_S - 1)
    with pytest.raises(MailBeingSent):
        ledger.claim(key, address, "attempt-3")


def test_a_settled_mail_is_never_claimed_again_and_a_lapsed_unsettled_one_is_taken_over(clock_and_ledger):
    clock, ledger = clock_and_ledger
    settled, abandoned = _mail(), _mail()
    assert ledger.claim(*settled, "attempt-1") is MailClaim.SEND
    ledger.settle(settled[0], "attempt-1")
    assert ledger.claim(*abandoned, "died") is MailClaim.SEND
    clock.now += timedelta(seconds=CLAIM_LEASE_S + 1)
    assert ledger.claim(*settled, "attempt-2") is MailClaim.ALREADY_SENT
    assert ledger.claim(*abandoned, "attempt-2") is MailClaim.SEND
    ledger.release(abandoned[0], "died")  # not its claim any more: no effect
    with pytest.raises(MailBeingSent):
        ledger.claim(*abandoned, "attempt-3")
    ledger.settle(abandoned[0], "died")  # it was slow, not dead: its mail is out, so the mail is settled
    assert ledger.claim(*abandoned, "attempt-3") is MailClaim.ALREADY_SENT


def test_a_released_claim_may_be_taken_at_once_and_only_its_holder_releases_it(clock_and_ledger):
    _, ledger = clock_and_ledger
    key, address = _mail()
    assert ledger.claim(key, address, "attempt-1") is MailClaim.SEND
    ledger.release(key, "attempt-2")  # not its claim: nothing happens
    with pytest.raises(MailBeingSent):
        ledger.claim(key, address, "attempt-3")
    ledger.release(key, "attempt-1")
    assert ledger.claim(key, address, "attempt-3") is MailClaim.SEND
    ledger.settle(key, "attempt-3")
    ledger.release(key, "attempt-3")  # a settled mail is not given back
    assert ledger.claim(key, address, "attempt-4") is MailClaim.ALREADY_SENT


def test_a_suppressed_address_is_never_claimed_whatever_its_case(clock_and_ledger):
    _, ledger = clock_and_ledger
    address = f"{uuid.uuid4().hex[:8]}@Example.org"
    ledger.suppress(address.lower(), "bounce")
    assert ledger.claim(f"booking_confirmed:{uuid.uuid4().hex}", address, "m-1") is MailClaim.SUPPRESSED
    assert ledger.is_suppressed(address)
