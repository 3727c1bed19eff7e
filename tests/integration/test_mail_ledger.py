"""The mail marker and the suppression list in DynamoDB, against the in-memory fake: one claim per mail, held for
a lease, settled once sent (with when and how: the hotline reads it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.connection import Connection

from chalicelib.notify.dynamo import DynamoSuppressionList, MailMarkItem
from chalicelib.notify.ports import CLAIM_LEASE_S, MailBeingSent, MailClaim, MailLedger, MailMark, MailOutcome
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


def test_the_hotline_reads_a_mails_marker_claimed_then_settled_with_when_and_how(clock_and_ledger):
    clock, ledger = clock_and_ledger
    (sent, address), (capped, _), (released, _) = _mail(), _mail(), _mail()
    assert ledger.mark(sent) is None  # never claimed
    ledger.claim(sent, address, "attempt-1")
    assert ledger.mark(sent) == MailMark(settled=False, settled_at=None, outcome=None)
    clock.now += timedelta(seconds=3)
    ledger.settle(sent, "attempt-1")
    ledger.claim(capped, address, "attempt-2")
    ledger.settle(capped, "attempt-2", MailOutcome.CAPPED)
    assert ledger.mark(sent) == MailMark(settled=True, settled_at=clock.now, outcome=MailOutcome.SENT)
    assert ledger.mark(capped) == MailMark(settled=True, settled_at=clock.now, outcome=MailOutcome.CAPPED)
    ledger.claim(released, address, "attempt-3")
    ledger.release(released, "attempt-3")  # the send failed: nothing recorded until a retry claims it again
    assert ledger.mark(released) is None


def test_a_marker_settled_before_the_outcome_was_stored_reads_settled_at_its_settle_without_an_outcome(stack):
    ledger = DynamoSuppressionList(Connection(region=REGION, host=stack.aws_url), b"ledger-test-key")
    key, settled_at = _mail()[0], datetime(2021, 1, 25, 8, 3, tzinfo=UTC)
    pk, sk = f"MAIL#{key}", "MAIL"  # as the settle wrote it before: the time only as the lease's end
    MailMarkItem(pk, sk, holder="old", state="settled", lease_until=settled_at.timestamp(), expires_at=2**31).save()
    assert ledger.mark(key) == MailMark(settled=True, settled_at=settled_at, outcome=None)
