"""The waiting room's rules: who stands where in the queue, and when they are let in (plain Python only).

Order: everyone who enters between `prequeue_opens_at` and `opens_at` draws a random key at entry; at
opening they stand in the order of their keys (arriving at 7:59:59.9 gives no edge). Whoever enters later
queues behind all of them, first come first served (by arrival second, then by arrival time inside it).

Admission is a pure function of (rank, now, rate): from `opens_at` the head of the queue is let in at
`admitted_per_minute`, so an entry of rank r is admitted once `admitted(now) > r`. No process has to
walk the queue; any reader can tell from the counts whether an entry is in.

Hotline agents' callers stand in their own lane of the same room with the same rules; the lane gets a
reserved share of the admission rate (a capacity the web cannot take away from the phone).
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# Entries written by a request that started just before a boundary may land a little after it (and Lambda
# clocks differ slightly): counts of a closed period are only trusted this long after it closed.
CLOSE_GRACE_S = 2.0
ADMISSION_TTL = timedelta(minutes=10)  # how long an admission can be used to send a booking request
MAX_ADMITTED_PER_MINUTE = 100_000
# Polling pace (Retry-After). Before opening nobody's place is known: each pre-queue entry is sent to come back
# once, at a random moment of the first OPENING_SPREAD seconds after its rank is known (a tenth of the pre-queue
# window, at most 3 minutes: a longer window gathers more people). After that the ETA is exact (admission is a
# function of rank and rate), so the next poll comes at the ETA, or after RETRY_AFTER_MAX_S if that is sooner (a
# change of the rate by ops reaches everyone within it). ETA/4 would cost ~3.5 x ln(wait) polls per visitor:
# ~28,000 req/s after opening at 10 x 2021 (infra/capacity, docs/waiting-room.md).
OPENING_SPREAD_MAX_S = 180.0
RETRY_AFTER_MAX_S = 180
UNKNOWN_RETRY_S = 2
BUSY_RETRY_S = 2  # Retry-After of a 503 when no count of an entry was taken (RoomBusy)
MAX_HOTLINE_SHARE = 0.5


class WaitingRoomError(Exception):
    """Base of the waiting room's expected failures; the HTTP edge maps each to one status code."""


class UnknownEntry(WaitingRoomError):
    pass


class RoomNotOpen(WaitingRoomError):
    """Entering a room that is not active, or before its pre-queue window."""


class AdmissionRequired(WaitingRoomError):
    """A booking request for a campaign with an active room, without a valid admission for this person."""


class RoomBusy(WaitingRoomError):
    """Every try to count a new entry was refused (its periods sealed under it, or its keys taken): no entry was
    handed out, nothing is owed, and the visitor may simply enter again a moment later (a 503 with Retry-After)."""

    retry_after_s = BUSY_RETRY_S


class InvalidRoom(WaitingRoomError):
    def __init__(self, field_name: str, code: str):
        super().__init__(f"{field_name}: {code}")
        self.field = field_name
        self.code = code


class Lane(enum.Enum):
    WEB = "web"
    HOTLINE = "hotline"


class Phase(enum.Enum):
    PRE = "pre"  # entered in the pre-queue window: random place at opening
    POST = "post"  # entered after opening: first come first served


@dataclass(frozen=True)
class RoomSettings:
    campaign_id: str
    active: bool
    prequeue_opens_at: datetime
    opens_at: datetime
    admitted_per_minute: int
    hotline_share: float = 0.0  # share of admissions reserved for the hotline lane

    def __post_init__(self):
        if self.prequeue_opens_at.tzinfo is None or self.opens_at.tzinfo is None:
            raise InvalidRoom("opens_at", "invalid")
        if self.prequeue_opens_at > self.opens_at:
            raise InvalidRoom("prequeue_opens_at", "out_of_range")
        if not 1 <= self.admitted_per_minute <= MAX_ADMITTED_PER_MINUTE:
            raise InvalidRoom("admitted_per_minute", "out_of_range")
        if not 0.0 <= self.hotline_share <= MAX_HOTLINE_SHARE:
            raise InvalidRoom("hotline_share", "out_of_range")

    def rate_per_minute(self, lane: Lane) -> int:
        # Whole admissions a minute per lane: a vanishing share gives the hotline none rather than one a year.
        hotline = round(self.admitted_per_minute * self.hotline_share)
        return hotline if lane is Lane.HOTLINE else self.admitted_per_minute - hotline

    def phase_at(self, now: datetime) -> Phase:
        """Which part of the queue an entry made now joins; RoomNotOpen if it cannot be entered now."""
        if not self.active or now < self.prequeue_opens_at:
            raise RoomNotOpen(self.campaign_id)
        return Phase.PRE if now < self.opens_at else Phase.POST

    def admitted(self, lane: Lane, now: datetime) -> int:
        """How many of the lane's queue have been let in by `now` (the head of the queue first)."""
        elapsed = (now - self.opens_at).total_seconds()
        if elapsed <= 0:
            return 0
        return math.floor(elapsed * self.rate_per_minute(lane) / 60)

    def admitted_at(self, lane: Lane, rank: int) -> datetime | None:
        """When the entry of this rank is (or was) let in; None if the lane has no admission rate."""
        rate = self.rate_per_minute(lane)
        if rate <= 0:
            return None
        # The first moment with floor(elapsed * rate / 60) > rank; a hair later so that rounding never
        # makes admitted(admitted_at) disagree with it.
        return self.opens_at + timedelta(seconds=(rank + 1) * 60 / rate + 1e-6)


@dataclass(frozen=True)
class Entry:
    entry_id: str
    campaign_id: str
    lane: Lane
    phase: Phase
    order_key: int  # PRE: the random draw; POST: microseconds into the arrival second (plus a tie-break)
    second: int  # POST: the arrival second (epoch); PRE: 0
    entered_at: datetime


@dataclass(frozen=True)
class QueueSnapshot:
    """The counted keys ahead of an entry: every pre-queue key of its lane, and for a POST entry the count
    of each earlier arrival second and the keys of its own second. Built only from closed periods."""

    pre_keys: Sequence[int]  # sorted
    post_counts_before: int = 0  # POST entries of the lane in seconds before the entry's own
    own_second_keys: Sequence[int] = ()  # sorted

    def rank(self, entry: Entry) -> int:
        """How many entries of the lane stand ahead of this one (0: at the head)."""
        if entry.phase is Phase.PRE:
            return bisect.bisect_left(self.pre_keys, entry.order_key)
        return len(self.pre_keys) + self.post_counts_before + bisect.bisect_left(self.own_second_keys, entry.order_key)


@dataclass(frozen=True)
class EntryState:
    entry: Entry
    position: int | None  # entries of the lane ahead that are not yet let in; None until known
    eta_seconds: int | None
    admitted_at: datetime | None  # set once admitted

    @property
    def admitted(self) -> bool:
        return self.admitted_at is not None


def rank_known_at(settings: RoomSettings, entry: Entry) -> datetime:
    """From when an entry's rank can be computed from closed counts."""
    grace = timedelta(seconds=CLOSE_GRACE_S)
    if entry.phase is Phase.PRE:
        return settings.opens_at + grace
    return datetime.fromtimestamp(entry.second + 1, settings.opens_at.tzinfo) + grace


def entry_state(settings: RoomSettings, entry: Entry, rank: int | None, now: datetime) -> EntryState:
    """Position, ETA and admission of an entry whose rank is `rank` (None: not known yet)."""
    if rank is None:
        return EntryState(entry, None, None, None)
    admitted_at = settings.admitted_at(entry.lane, rank)
    if admitted_at is None:
        return EntryState(entry, rank, None, None)
    if admitted_at <= now:
        return EntryState(entry, 0, 0, admitted_at)
    position = max(0, rank - settings.admitted(entry.lane, now))
    return EntryState(entry, position, math.ceil((admitted_at - now).total_seconds()), None)


def opening_spread_s(settings: RoomSettings) -> float:
    window = (settings.opens_at - settings.prequeue_opens_at).total_seconds()
    return min(OPENING_SPREAD_MAX_S, max(1.0, window / 10))


def retry_after_s(settings: RoomSettings, state: EntryState, now: datetime, jitter: float) -> int:
    """Seconds until the entry's next poll is worth making; `jitter` in [0, 1) spreads the pre-queue's first poll."""
    if state.admitted:
        return 0
    if state.eta_seconds is not None:
        return max(1, min(RETRY_AFTER_MAX_S, state.eta_seconds))
    until = (rank_known_at(settings, state.entry) - now).total_seconds()
    if until > 0:
        spread = opening_spread_s(settings) if state.entry.phase is Phase.PRE else 0.0
        return max(1, math.ceil(until + jitter * spread))
    # Ranked but without an ETA: the lane has no admission rate (ops set it to 0); nothing changes soon.
    return RETRY_AFTER_MAX_S if state.position is not None else UNKNOWN_RETRY_S


def post_counts_before(counts: Mapping[int, int], first_second: int, second: int) -> int:
    return sum(counts.get(s, 0) for s in range(first_second, second))
