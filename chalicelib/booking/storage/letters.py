"""The marks of an operation's letters: one item per marked booking in the operation's partition
(`OPERATION#<id>` / `LETTER#<code>`), so that one Query reads them all beside the operation item.

A mark holds the code, how, who and when (nothing about the person) and expires with the booking's personal
data; an erasure on request deletes it with the booking's data (`DynamoBookings.erase`). It is written, and taken
back, with its audit record and a check that the booking item names the operation, in one transaction: a mark
that stands (or went) is audited, and a code of another operation is refused.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind, LetterMarks
from chalicelib.booking.storage.audit import audit_item
from chalicelib.booking.storage.bookings import DynamoBookings, failed_conditions
from chalicelib.booking.storage.models import (
    LETTER_PREFIX,
    BookingItem,
    booking_key,
    epoch,
    letter_mark_key,
    operation_key,
)
from chalicelib.dynamo_binding import TableItem


class LetterMarkItem(TableItem):
    kind = UnicodeAttribute()  # sent | called
    by = UnicodeAttribute()  # the staff user name
    at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)  # TTL: the booking's; a mark must not outlive its booking's data


def _mark(item: LetterMarkItem) -> LetterMark:
    code = item.sk.removeprefix(LETTER_PREFIX)
    return LetterMark(code, LetterMarkKind(item.kind), item.by, datetime.fromisoformat(item.at))


class DynamoLetterMarks(LetterMarks):
    def __init__(self, bookings: DynamoBookings):
        self._bookings = bookings  # its transaction helper retries conflicts; its retention sets the TTL

    def marks(self, operation_id):
        pk = operation_key(operation_id)[0]
        items = LetterMarkItem.query(pk, LetterMarkItem.sk.startswith(LETTER_PREFIX), consistent_read=True)
        return {m.code: m for m in map(_mark, items)}

    def mark(self, operation_id, booking, mark, audit: AuditRecord):
        key = letter_mark_key(operation_id, mark.code)
        expires_at = booking.personal_data_expires_at(self._bookings._retention)

        def add_items(tx: TransactWrite) -> None:
            tx.update(
                BookingItem(*booking_key(booking.code)),
                actions=[BookingItem.marked_under.add({operation_id})],
                condition=BookingItem.operation_id == operation_id,
            )
            tx.save(
                LetterMarkItem(
                    *key,
                    kind=mark.kind.value,
                    by=mark.by,
                    at=mark.at.isoformat(),
                    expires_at=epoch(expires_at),
                ),
                condition=LetterMarkItem.pk.does_not_exist(),
            )
            tx.save(audit_item(audit))  # the mark and its record: both or neither

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            # In PynamoDB's order: the puts (mark, audit record), then the update (booking).
            failed = failed_conditions(error)
            if failed[2:3] == [True]:
                raise d.BookingNotFound() from None  # the booking names another operation (or none)
            if failed[:1] == [True]:
                return _mark(LetterMarkItem.get(*key, consistent_read=True))  # the first stands
            raise
        return mark

    def mark_of(self, operation_id, code):
        try:
            # With the key: an item without operation_id would read as absent, its projection being empty.
            names = BookingItem.get(*booking_key(code), consistent_read=True, attributes_to_get=["pk", "operation_id"])
        except BookingItem.DoesNotExist:
            raise d.BookingNotFound() from None
        if names.operation_id != operation_id:
            raise d.BookingNotFound()
        try:
            return _mark(LetterMarkItem.get(*letter_mark_key(operation_id, code), consistent_read=True))
        except LetterMarkItem.DoesNotExist:
            return None

    def unmark(self, operation_id, booking, mark, audit: AuditRecord):
        def add_items(tx: TransactWrite) -> None:
            tx.condition_check(
                BookingItem, *booking_key(booking.code), condition=BookingItem.operation_id == operation_id
            )
            tx.delete(
                LetterMarkItem(*letter_mark_key(operation_id, mark.code)),
                # The mark as read, not whichever stands now: the record names the one taken back.
                condition=(LetterMarkItem.kind == mark.kind.value)
                & (LetterMarkItem.by == mark.by)
                & (LetterMarkItem.at == mark.at.isoformat()),
            )
            tx.save(audit_item(audit))  # the mark's removal and its record: both or neither

        try:
            self._bookings._transact(add_items)
        except TransactWriteError as error:
            # PynamoDB sends condition checks, then deletes, then puts: the reasons come in that order.
            failed = failed_conditions(error)
            if failed[:1] == [True]:
                raise d.BookingNotFound() from None
            if failed[1:2] == [True]:
                return False  # gone already, or another mark stands now
            raise
        return True
