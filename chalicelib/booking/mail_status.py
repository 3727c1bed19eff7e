"""What became of a booking's mails, for the hotline (docs/hotline.md "Was my mail sent?"): the confirmation, the
latest mail about the booking's current state if it changed since, and whether the address is blocked.

Read from notify's records through the `MailRecords` port: a few key reads per booking, no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from chalicelib.booking import domain as d
from chalicelib.booking.mail import mail_for
from chalicelib.booking.ports import AddressBlock, MailRecords
from chalicelib.booking.queries import BookingView
from chalicelib.contracts.mail import MailKind


class MailState(str, Enum):
    SENT = "sent"  # SES accepted it at `at`
    CAPPED = "capped"  # not sent (nor later): the address had had its mails for that day
    SENDING = "sending"  # claimed by a send attempt that has not finished (or died: a retry takes over)
    NOT_SENT = "not_sent"  # no record yet: queued, or waiting to be tried again after a failed send
    SUPPRESSED = "suppressed"  # no record, and the address is blocked: it is not sent
    UNKNOWN = "unknown"  # no record, but the mail is older than records are kept: nothing can be said


@dataclass(frozen=True)
class MailStatus:
    kind: MailKind
    state: MailState
    at: datetime | None = None  # for sent and capped


@dataclass(frozen=True)
class BookingMails:
    confirmation: MailStatus
    latest: MailStatus | None  # the mail about the booking's current state, if it changed since the confirmation
    block: AddressBlock | None


def _latest_kinds(view: BookingView) -> list[MailKind]:
    """The mails that can announce the booking's current state, the likelier first (the first is named if none
    was recorded). A booking moved by a centre-day operation keeps its version: its notice is not looked for."""
    booking = view.booking
    if booking.status is d.BookingStatus.CANCELLED:
        by_centre, by_person = MailKind.APPOINTMENT_CANCELLED_BY_CENTRE, MailKind.BOOKING_CANCELLED
        return [by_centre, by_person] if view.hold is not None else [by_person, by_centre]
    if booking.version > 0:  # rebooked (or a held pair confirmed), or given its missing second dose
        return [MailKind.BOOKING_CHANGED, MailKind.SECOND_APPOINTMENT_ADDED]
    return []


def booking_mails(view: BookingView, records: MailRecords, now: datetime) -> BookingMails | None:
    """None for a person without e-mail: no mail is sent to them."""
    booking = view.booking
    if not booking.person.email:
        return None
    block = records.block(booking.person.email)

    def recent(since: datetime | None) -> bool:
        # Every mail about the booking was published after it was made: while the booking is younger than the
        # records are kept, a missing record means "not sent (yet)", not "forgotten".
        return since is not None and now - since < records.kept_for

    def status(kinds: list[MailKind], since: datetime | None) -> MailStatus:
        for kind in kinds:
            message = mail_for(kind, booking, view.center)
            assert message is not None  # the person has an address
            trace = records.mail(message.idempotency_key)
            if trace is None:
                continue
            if not trace.settled:
                return MailStatus(kind, MailState.SENDING)
            return MailStatus(kind, MailState.CAPPED if trace.capped else MailState.SENT, trace.at)
        missing = MailState.UNKNOWN if not recent(since) else MailState.SUPPRESSED if block else MailState.NOT_SENT
        return MailStatus(kinds[0], missing)

    latest = _latest_kinds(view)
    # The confirmation under its current key (`mail_for` carries the contact revision): after an agent corrected
    # the address, the one sent again to the new address, published at the correction.
    confirmed_since = booking.contact_changed_at if booking.contact_revision else booking.created_at
    return BookingMails(
        confirmation=status([MailKind.BOOKING_CONFIRMED], confirmed_since),
        latest=status(latest, booking.created_at) if latest else None,
        block=block,
    )
