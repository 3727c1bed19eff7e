"""The waiting room's HTTP edge: request model for ops' settings and the response bodies of contract §8."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from chalicelib.api.schemas import _Body
from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.services import EntryView


class RoomBody(_Body):
    active: bool
    prequeue_opens_at: AwareDatetime
    opens_at: AwareDatetime
    admitted_per_minute: int = Field(ge=1, le=w.MAX_ADMITTED_PER_MINUTE)
    hotline_share: float = Field(default=0.0, ge=0.0, le=w.MAX_HOTLINE_SHARE)

    def to_domain(self, campaign_id: str) -> w.RoomSettings:
        return w.RoomSettings(
            campaign_id,
            self.active,
            self.prequeue_opens_at,
            self.opens_at,
            self.admitted_per_minute,
            self.hotline_share,
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def room(campaign_id: str, settings: w.RoomSettings | None) -> dict:
    if settings is None:
        return {
            "campaign_id": campaign_id,
            "active": False,
            "prequeue_opens_at": None,
            "opens_at": None,
            "admitted_per_minute": None,
            "hotline_share": None,
        }
    return {
        "campaign_id": campaign_id,
        "active": settings.active,
        "prequeue_opens_at": _iso(settings.prequeue_opens_at),
        "opens_at": _iso(settings.opens_at),
        "admitted_per_minute": settings.admitted_per_minute,
        "hotline_share": settings.hotline_share,
    }


def entry(view: EntryView) -> dict:
    s = view.state
    body = {
        "entry_id": s.entry.entry_id,
        "campaign_id": s.entry.campaign_id,
        "status": "admitted" if s.admitted else "waiting",
        "position": s.position,
        "eta_seconds": s.eta_seconds,
        "poll": f"/v1/waiting-room/entries/{s.entry.entry_id}",
    }
    if s.admitted:
        assert s.admitted_at is not None  # what admitted means
        body |= {
            "admission_token": view.admission_token,
            "admitted_at": _iso(s.admitted_at),
            "admission_expires_at": _iso(s.admitted_at + w.ADMISSION_TTL),
        }
    return body


def retry_after_s(view: EntryView) -> int:
    """How long a client should wait before polling again (the service's domain.retry_after_s)."""
    return view.retry_after_s
