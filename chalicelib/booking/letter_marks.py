"""Working through the letters of a centre-day operation: a mark per booking that its letter was sent or its
caller reached, so that a team sharing 2,000 letters sees what is done.

Plain Python: the mark, why a person is on the list, and the port its store implements. A mark is written once
with its audit record in the same write; marking again (by anyone, either way) changes nothing and writes no
record: the first mark stands. Taking a mark back (a wrong line clicked, a letter that came back) deletes it with
its own audit record in one write; taking back a letter that has no mark changes nothing. A mark names the
booking code, how, who and when; nothing about the person. It goes when the booking is erased on request
(`Bookings.erase`), since the code links it to the person.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditRecord


class LetterMarkKind(str, Enum):
    SENT = "sent"  # the letter went out by post
    CALLED = "called"  # the caller was reached by phone and told


class LetterReason(str, Enum):
    """Why no mail carried the notice."""

    NO_EMAIL = "no_email"  # booked by a hotline agent with a phone number or a postal address only
    # The address is on the suppression list (a permanent bounce or a complaint): no mail goes there.
    EMAIL_BOUNCED = "email_bounced"


@dataclass(frozen=True)
class LetterMark:
    code: str
    kind: LetterMarkKind
    by: str  # the staff user name, as in the audit
    at: datetime


class LetterMarks(abc.ABC):
    """The marks of an operation's letters (in the bookings table: one item per marked booking)."""

    @abc.abstractmethod
    def marks(self, operation_id: str) -> dict[str, LetterMark]:
        """Every mark of the operation, by booking code."""

    @abc.abstractmethod
    def mark(self, operation_id: str, booking: d.Booking, mark: LetterMark, audit: AuditRecord) -> LetterMark:
        """Store the mark and its audit record, all or nothing, if the booking was changed by this operation and
        is not marked yet. Returns the mark that stands: this one, or the one stored before (then nothing was
        written). Raises BookingNotFound if the booking was not changed by this operation."""

    @abc.abstractmethod
    def mark_of(self, operation_id: str, code: str) -> LetterMark | None:
        """The booking's mark in the operation, or None (a read of the one mark, not the operation's). Raises
        BookingNotFound if the booking was not changed by this operation (it is on no list of it)."""

    @abc.abstractmethod
    def unmark(self, operation_id: str, booking: d.Booking, mark: LetterMark, audit: AuditRecord) -> bool:
        """Delete the mark and store its audit record, all or nothing, if the booking was changed by this operation
        and `mark` is still the one stored (as read: a colleague may have taken it back and marked it anew since).
        Returns False, having written nothing, if it is not. Raises BookingNotFound if the booking was not changed by
        this operation."""
