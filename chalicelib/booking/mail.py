"""Bookings and decisions turned into the mail contract (`chalicelib/contracts/mail.py`): what notify needs."""

from __future__ import annotations

from chalicelib.booking import domain as d
from chalicelib.booking.ports import MailOutbox
from chalicelib.contracts.mail import Alternative, Appointment, MailKind, MailMessage


def appointments(booking: d.Booking) -> list[Appointment]:
    """The booking's appointments numbered by dose, as the mail and the calendar file show them."""
    return [Appointment(dose=i, start=s.start, end=s.end) for i, s in enumerate(booking.appointments, start=1)]


def mail_for(kind: MailKind, booking: d.Booking, center: d.Center) -> MailMessage | None:
    """The message, or None for a person without e-mail (a hotline caller): nothing is published for them,
    so the mail worker never sees a message without a recipient."""
    if not booking.person.email:
        return None
    return MailMessage(
        kind=kind,
        booking_code=booking.code,
        language=booking.language,
        recipient=booking.person.email,
        given_name=booking.person.given_name,
        family_name=booking.person.family_name,
        center_name=center.name,
        center_address=center.address,
        appointments=appointments(booking),
        version=booking.version,
        contact_revision=booking.contact_revision,
    )


def second_released_mail(booking: d.Booking, center: d.Center) -> MailMessage | None:
    """A missed first dose gave the second appointment back: the missed first and the released second, or None
    for a person without e-mail (the hotline calls them)."""
    message = mail_for(MailKind.SECOND_APPOINTMENT_RELEASED, booking, center)
    if message is None or booking.released_second is None:
        return None
    first, second = booking.first, booking.released_second
    missed = [
        Appointment(dose=1, start=first.start, end=first.end),
        Appointment(dose=2, start=second.start, end=second.end),
    ]
    return message.model_copy(update={"appointments": missed})


def publish_mail(outbox: MailOutbox, kind: MailKind, booking: d.Booking, center: d.Center) -> bool:
    """Publish the booking's mail if the person has an address; False if there was none to send to."""
    message = mail_for(kind, booking, center)
    if message is None:
        return False
    outbox.publish(message)
    return True


def rejection_mail(request: d.BookingRequest, state: d.RequestState, center: d.Center) -> MailMessage | None:
    """The one mail of a rejected request: why, the pairs that were free when it was decided, and what was asked.
    None for a person without e-mail (a hotline caller)."""
    if not request.person.email:
        return None
    asked = [
        Appointment(dose=i, start=r.start, end=r.end)
        for i, r in enumerate((r for r in (request.first, request.second) if r is not None), start=1)
    ]
    return MailMessage(
        kind=MailKind.REQUEST_REJECTED,
        request_id=request.request_id,
        reason=state.reason.value if state.reason else None,
        alternatives=[
            Alternative(first=p.first.start, second=p.second.start if p.second else None) for p in state.alternatives
        ],
        language=request.language,
        recipient=request.person.email,
        given_name=request.person.given_name,
        family_name=request.person.family_name,
        center_name=center.name,
        center_address=center.address,
        appointments=asked,
    )
