"""Response bodies: domain objects turned into the JSON of the contract (docs/openapi.yaml)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from chalicelib.api import errors
from chalicelib.booking import domain as d
from chalicelib.booking.mail import appointments
from chalicelib.booking.operations import CapacityChange, DayReport
from chalicelib.booking.queries import BookingView, DayPairs
from chalicelib.notify.calendar import booking_calendar


def center(c: d.Center) -> dict:
    return {
        "id": c.id,
        "name": c.name,
        "address": c.address,
        "region": c.region,
        "vaccines": list(c.vaccines),
        "hotline": c.hotline,
    }


def campaign(c: d.Campaign, status: d.CampaignStatus | None = None) -> dict:
    body = {
        "id": c.id,
        "name": c.name,
        "vaccine": c.vaccine,
        "center_ids": list(c.center_ids),
        "doses": c.doses,
        "interval_days": {"min": c.interval_min_days, "max": c.interval_max_days} if c.needs_second_dose else None,
        "eligibility": {
            "born_on_or_after": c.born_on_or_after.isoformat() if c.born_on_or_after else None,
            "born_on_or_before": c.born_on_or_before.isoformat() if c.born_on_or_before else None,
            "regions": sorted(c.regions),
        },
        "opens_at": c.opens_at.isoformat(),
        "closes_at": c.closes_at.isoformat() if c.closes_at else None,
        "booking_window_days": c.booking_window.max_days,
        "horizon_days": c.horizon_days,
        "bookable_until": c.bookable_until.isoformat() if c.bookable_until else None,
        "series": c.series,
        "verification": c.verification,
    }
    if status is not None:
        body["status"] = status.value
    return body


def eligibility(e: d.Eligibility) -> dict:
    body: dict = {"eligible": e.eligible, "campaigns": [campaign(c) for c in e.campaigns]}
    if not e.eligible:
        body["reason"] = (e.reason or d.IneligibleReason.NOT_YET_ELIGIBLE).value
        if e.opens_at is not None:
            body["opens_at"] = e.opens_at.isoformat()
    return body


def slot_pair(p: d.SlotPair) -> dict:
    return {
        "slot_id": p.first.slot_id,
        "start": p.first.start.isoformat(),
        "end": p.first.end.isoformat(),
        "remaining": p.first.remaining,
        "second_dose": None
        if p.second is None
        else {
            "date": p.second.day.isoformat(),
            "slot_id": p.second.slot_id,
            "start": p.second.start.isoformat(),
            "end": p.second.end.isoformat(),
        },
    }


def availability(
    center_id: str,
    campaign_id: str,
    days: list[DayPairs],
    generated_at: datetime,
    page: d.AvailabilityPage | None = None,
) -> dict:
    body: dict = {
        "center_id": center_id,
        "campaign_id": campaign_id,
        "generated_at": generated_at.isoformat(),
        "days": [{"date": day.day.isoformat(), "slots": [slot_pair(p) for p in day.pairs]} for day in days],
    }
    if page is not None:
        # Where this page sits in the campaign's booking horizon, so a client can page through all of it.
        body["from"] = page.first_day.isoformat()
        body["until"] = page.until.isoformat()
        body["bookable_until"] = page.last_day.isoformat()
        body["next_from"] = page.next_from.isoformat() if page.next_from else None
    return body


def _appointment(ref: d.SlotRef | None, center_id: str) -> dict | None:
    if ref is None:
        return None
    return {"slot_id": ref.slot_id, "start": ref.start.isoformat(), "end": ref.end.isoformat(), "center_id": center_id}


def booking_summary(view: BookingView) -> dict:
    b = view.booking
    return {
        "code": b.code,
        "campaign_id": b.campaign_id,
        "first": _appointment(b.first, b.center_id),
        "second": _appointment(b.second, b.center_id),
        "center": {
            "id": view.center.id,
            "name": view.center.name,
            "address": view.center.address,
            "hotline": view.center.hotline,
        },
    }


def booking(view: BookingView) -> dict:
    b = view.booking
    body = {
        **booking_summary(view),
        "status": b.status.value,
        "person": {"given_name": b.person.given_name, "family_name": b.person.family_name},
    }
    if view.hold is not None:
        # The pair held after a centre-day cancel: confirmed by rebooking to `first.slot_id` before `until`.
        body["held"] = {
            "first": _appointment(view.hold.first, view.hold.center_id),
            "second": _appointment(view.hold.second, view.hold.center_id),
            "until": view.hold.until.isoformat(),
        }
    return body


def request_state(state: d.RequestState, view: BookingView | None, position: int | None = None) -> dict:
    body: dict = {"request_id": state.request_id, "status": state.status.value}
    if state.status is d.RequestStatus.QUEUED and position is not None:
        body["position"] = position  # chalicelib/booking/position.py: the length of the line, at most the place
    if state.status is d.RequestStatus.BOOKED and view is not None:
        body["booking"] = booking_summary(view)
    if state.status is d.RequestStatus.REJECTED:
        body["reason"] = state.reason.value if state.reason else None
        if state.reason is d.RejectReason.SLOT_TAKEN:
            body["alternatives"] = [slot_pair(p) for p in state.alternatives]
    return body


def released_slot(s: d.Slot) -> dict:
    return {
        "slot_id": s.slot_id,
        "start": s.start.isoformat(),
        "end": s.end.isoformat(),
        "capacity": s.capacity,
        "booked": s.booked,
        "remaining": s.remaining,
        "release_at": s.release_at.isoformat() if s.release_at else None,
    }


def released_contingent(campaign_id: str, center_id: str, slots: list[d.Slot]) -> dict:
    return {"campaign_id": campaign_id, "center_id": center_id, "slots": [released_slot(s) for s in slots]}


def request_accepted(request_id: str) -> dict:
    return {"request_id": request_id, "status": "queued", "poll": f"/v1/booking-requests/{request_id}"}


def cancelled(view: BookingView) -> dict:
    return {"code": view.booking.code, "status": view.booking.status.value}


def calendar_file(view: BookingView) -> bytes:
    """The booking's appointments as an iCalendar file, in the booking's language."""
    b = view.booking
    return booking_calendar(
        b.code, appointments(b), view.center.name, view.center.address, b.language, sequence=b.version
    )


def rebooked(view: BookingView) -> dict:
    return {**booking_summary(view), "status": view.booking.status.value}


def rebook_refused(refused: d.NoPairAvailable, language: str) -> dict:
    """§7's 409: the error, and beside it (not inside) what could be booked instead."""
    body = errors.error_body(errors.ApiError(409, "slot_taken"), language)
    return {**body, "alternatives": [slot_pair(p) for p in refused.alternatives]}


# --- supply changes and reports (ops) --------------------------------------------------------------


def capacity_cut(campaign_id: str, center_id: str, changes: list[CapacityChange]) -> dict:
    return {
        "campaign_id": campaign_id,
        "center_id": center_id,
        "slots": [
            {
                "slot_id": c.slot_id,
                "capacity_before": c.capacity_before,
                "capacity": c.capacity,
                "booked": c.booked,
                "outcome": c.outcome,
            }
            for c in changes
        ],
    }


def centre_day_operation(o: d.CentreDayOperation) -> dict:
    return {
        "operation_id": o.operation_id,
        "action": "move" if o.target_day else "cancel",
        "campaign_id": o.campaign_id,
        "center_id": o.center_id,
        "from": o.from_day.isoformat(),
        "to": o.to_day.isoformat(),
        "target_day": o.target_day.isoformat() if o.target_day else None,
        "status": "done" if o.done else "running",
        "cancelled": o.cancelled,
        "moved": o.moved,
        "poll": f"/v1/staff/operations/{o.operation_id}",
    }


def second_dose(b: d.Booking) -> dict:
    return {
        "code": b.code,
        "campaign_id": b.campaign_id,
        "status": b.status.value,
        "first": _appointment(b.first, b.center_id),
        "second": _appointment(b.second, b.center_id),
    }


REPORT_COLUMNS = (
    "campaign_id",
    "center_id",
    "day",
    "capacity",
    "booked",
    "free",
    "first_doses",
    "second_doses",
    "cancellations",
    "checked_in",
    "no_shows",
    "second_doses_after_no_show",
)


def _report_row(r: DayReport) -> dict:
    return {**{column: getattr(r, column) for column in REPORT_COLUMNS}, "day": r.day.isoformat()}


def daily_report(rows: list[DayReport]) -> dict:
    notes = {
        "checked_in": "doses marked given by centre staff; appointments not (yet) marked are in neither count",
        "second_doses_after_no_show": "second appointments still held whose first dose was a no-show",
    }
    return {"days": [_report_row(r) for r in rows], "notes": notes}


def daily_report_csv(rows: list[DayReport]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_report_row(r) for r in rows)
    return out.getvalue()
