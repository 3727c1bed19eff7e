"""Notify's items in the bookings table: suppressed addresses (`SUPPRESSED#<HMAC of the address>`, no address
in clear) and one marker per mail (`MAIL#<kind>:<booking code or request id>`), claimed then settled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo_binding import TableItem
from chalicelib.notify.feedback import address_key, legacy_address_key
from chalicelib.notify.ports import (
    CLAIM_LEASE_S,
    MailBeingSent,
    MailClaim,
    MailLedger,
    MailMark,
    MailOutcome,
    SuppressionRecord,
)

# Longer than any redelivery or redrive of a mail message, and than requests are kept (90 days).
MARKER_RETENTION = timedelta(days=90)


class SuppressionItem(TableItem):
    reason = UnicodeAttribute()
    suppressed_at = UnicodeAttribute()


class MailMarkItem(TableItem):
    holder = UnicodeAttribute()  # the send attempt that claimed the mail
    state = UnicodeAttribute()  # CLAIMED, then SETTLED
    lease_until = NumberAttribute()  # epoch seconds: an unsettled claim older than this was abandoned
    expires_at = NumberAttribute()  # TTL
    # Written by the settle (the hotline shows them): when, and whether the mail went out or was capped.
    settled_at = NumberAttribute(null=True)  # epoch seconds
    outcome = UnicodeAttribute(null=True)  # a MailOutcome


CLAIMED, SETTLED = "claimed", "settled"


def _marker_key(mail_key: str) -> tuple[str, str]:
    return f"MAIL#{mail_key}", "MAIL"


class DynamoSuppressionList(MailLedger):
    """`key` is the stack's secret pepper (the one of the person key). Items written before the HMAC (plain
    sha256) are still honoured and erased, so a deployed list needs no migration to stay effective."""

    def __init__(
        self,
        connection: Connection | None,
        key: bytes,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease_s: float = CLAIM_LEASE_S,
    ):
        self._connection = connection or Connection()
        self._key = key
        self._now = clock
        self._lease_s = lease_s

    def _keys(self, address: str) -> list[str]:
        """The keyed pk (the one written) first, then the legacy one (only read and erased)."""
        return [f"SUPPRESSED#{address_key(address, self._key)}", f"SUPPRESSED#{legacy_address_key(address)}"]

    def is_suppressed(self, address: str) -> bool:
        return self.record(address) is not None

    def record(self, address: str) -> SuppressionRecord | None:
        for pk in self._keys(address):
            try:
                item = SuppressionItem.get(pk, "MAIL")
            except SuppressionItem.DoesNotExist:
                continue
            return SuppressionRecord(item.reason, item.suppressed_at)
        return None

    def suppress(self, address: str, reason: str) -> None:
        SuppressionItem(self._keys(address)[0], "MAIL", reason=reason, suppressed_at=self._now().isoformat()).save()

    def forget(self, address: str) -> bool:
        found = False
        for pk in self._keys(address):
            try:
                SuppressionItem(pk, "MAIL").delete(condition=SuppressionItem.pk.exists())
            except DeleteError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            found = True
        return found

    def claim(self, mail_key: str, recipient: str, holder: str) -> MailClaim:
        now = self._now()
        marker = MailMarkItem(
            *_marker_key(mail_key),
            holder=holder,
            state=CLAIMED,
            lease_until=now.timestamp() + self._lease_s,
            expires_at=int((now + MARKER_RETENTION).timestamp()),
        )
        abandoned = (MailMarkItem.state == CLAIMED) & (MailMarkItem.lease_until < now.timestamp())
        keys = self._keys(recipient)
        try:
            # One write instead of a suppression read plus two idempotency writes (issue #9). Both the keyed
            # and the legacy suppression are checked: a list from before the HMAC stays effective.
            with TransactWrite(connection=self._connection) as tx:
                for pk in keys:
                    tx.condition_check(SuppressionItem, pk, "MAIL", condition=SuppressionItem.pk.does_not_exist())
                tx.save(marker, condition=MailMarkItem.pk.does_not_exist() | abandoned)
        except TransactWriteError as error:
            # Condition checks come first in the reasons (in the order added), then the put.
            failed = [r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or []]
            if any(failed[: len(keys)]):
                return MailClaim.SUPPRESSED
            if failed[len(keys) : len(keys) + 1] == [True]:
                return self._taken(mail_key)
            raise
        return MailClaim.SEND

    def _taken(self, mail_key: str) -> MailClaim:
        """Why the marker was not ours: settled, or another holder's lease still runs (read only on this path)."""
        try:
            current = MailMarkItem.get(*_marker_key(mail_key), consistent_read=True)
        except MailMarkItem.DoesNotExist:  # released in between: the caller's next try claims it
            raise MailBeingSent(mail_key) from None
        if current.state == CLAIMED:
            raise MailBeingSent(mail_key)
        return MailClaim.ALREADY_SENT

    def settle(self, mail_key: str, holder: str, outcome: MailOutcome = MailOutcome.SENT) -> None:
        # Unconditional: only a holder whose send went through settles, so "settled" is true whoever holds the
        # marker now. A plain put costs the local AWS less than half an UpdateItem (P1, issue #9); the time and
        # the outcome ride in the same put (about 40 bytes more: the marker stays far under 1 KB).
        now = self._now()
        MailMarkItem(
            *_marker_key(mail_key),
            holder=holder,
            state=SETTLED,
            lease_until=now.timestamp(),
            expires_at=int((now + MARKER_RETENTION).timestamp()),
            settled_at=int(now.timestamp()),
            outcome=outcome.value,
        ).save()

    def mark(self, mail_key: str) -> MailMark | None:
        try:
            item = MailMarkItem.get(*_marker_key(mail_key))  # eventually consistent: a look-up, not a decision
        except MailMarkItem.DoesNotExist:
            return None
        if item.state != SETTLED:
            return MailMark(settled=False, settled_at=None, outcome=None)
        # A marker settled before settled_at was stored: its settle wrote the time as lease_until.
        at = item.settled_at if item.settled_at is not None else item.lease_until
        return MailMark(
            settled=True,
            settled_at=datetime.fromtimestamp(at, UTC),
            outcome=MailOutcome(item.outcome) if item.outcome else None,
        )

    def release(self, mail_key: str, holder: str) -> None:
        try:
            MailMarkItem(*_marker_key(mail_key)).delete(
                condition=(MailMarkItem.holder == holder) & (MailMarkItem.state == CLAIMED)
            )
        except DeleteError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
