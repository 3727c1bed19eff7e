"""iCalendar file with the appointments of a booking (attached to mails, offered by the API)."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from chalicelib.contracts.mail import Appointment

_SUMMARY = {"de": "Impftermin {dose} ({code})", "en": "Vaccination appointment {dose} ({code})"}
_DESCRIPTION = {
    "de": "Buchungscode {code}. Bitte Ausweis, Versichertenkarte und (falls vorhanden) Impfpass mitbringen.",
    "en": "Booking code {code}. Please bring your ID card, health insurance card and vaccination record "
    "if you have one.",
}


def booking_calendar(
    code: str, appointments: list[Appointment], center_name: str, center_address: str, language: str, sequence: int = 0
) -> bytes:
    """`sequence` is the booking's version: same UIDs with a higher SEQUENCE move the events a calendar holds."""
    lang = language if language in _SUMMARY else "de"
    calendar = Calendar()
    calendar.add("prodid", "-//vaxslot//booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{code}-{appointment.dose}@vaxslot")
        event.add("sequence", sequence)
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", appointment.start)
        event.add("dtend", appointment.end)
        event.add("summary", _SUMMARY[lang].format(dose=appointment.dose, code=code))
        event.add("location", f"{center_name}, {center_address}")
        event.add("description", _DESCRIPTION[lang].format(code=code))
        calendar.add_component(event)
    return calendar.to_ical()
