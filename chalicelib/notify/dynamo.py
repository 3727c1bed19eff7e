"""Notify's items in the bookings table: suppressed addresses (`SUPPRESSED#<sha256 of the address>`, no address
in clear) and one marker per mail sent (`MAIL#<kind>:<booking code or request id>`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamo_binding import TableItem
from chalicelib.notify.feedback import address_key
from chalicelib.notify.ports import MailClaim, MailLedger

# Longer than any redelivery or redrive of a mail message, and than requests are kept (90 days).
MARKER_RETENTION = timedelta(days=90)


class SuppressionItem(TableItem):
    reason = UnicodeAttribute()
    suppressed_at = UnicodeAttribute()


class MailMarkItem(TableItem):
    delivery = UnicodeAttribute()  # the queue message that claimed the mail
    claimed_at = UnicodeAttribute()
    expires_at = NumberAttribute()  # TTL


def _suppression_key(address: str) -> tuple[str, str]:
    return f"SUPPRESSED#{address_key(address)}", "MAIL"


def _marker_key(mail_key: str) -> tuple[str, str]:
    return f"MAIL#{mail_key}", "MAIL"


class DynamoSuppressionList(MailLedger):
    def __init__(self, connection: Connection | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._connection = connection or Connection()
        self._now = clock

    def is_suppressed(self, address: str) -> bool:
        try:
            SuppressionItem.get(*_suppression_key(address))
        except SuppressionItem.DoesNotExist:
            return False
        return True

    def suppress(self, address: str, reason: str) -> None:
        SuppressionItem(*_suppression_key(address), reason=reason, suppressed_at=self._now().isoformat()).save()

    def claim(self, mail_key: str, recipient: str, delivery: str) -> MailClaim:
        now = self._now()
        marker = MailMarkItem(*_marker_key(mail_key), delivery=delivery, claimed_at=now.isoformat(),
                              expires_at=int((now + MARKER_RETENTION).timestamp()))
        try:
            # One write instead of a suppression read plus two idempotency writes (issue #9).
            with TransactWrite(connection=self._connection) as tx:
                tx.condition_check(SuppressionItem, _suppression_key(recipient)[0], _suppression_key(recipient)[1],
                                   condition=SuppressionItem.pk.does_not_exist())
                tx.save(marker, condition=MailMarkItem.pk.does_not_exist() | (MailMarkItem.delivery == delivery))
        except TransactWriteError as error:
            # Condition checks come first in the reasons, then the puts.
            failed = [r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or []]
            if failed[:1] == [True]:
                return MailClaim.SUPPRESSED
            if failed[1:2] == [True]:
                return MailClaim.ALREADY_SENT
            raise
        return MailClaim.SEND

    def release(self, mail_key: str, delivery: str) -> None:
        try:
            MailMarkItem(*_marker_key(mail_key)).delete(condition=MailMarkItem.delivery == delivery)
        except DeleteError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
