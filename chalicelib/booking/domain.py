"""Booking rules and value objects: plain Python, no AWS, no HTTP.

Everything that decides *whether* something may be booked lives here, so that it can be tested without
any infrastructure and reads the same whichever channel (site, hotline, load test) books.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import random
import secrets
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import Enum

from chalicelib.contracts.local_time import LOCAL_TZ

# --- errors ---------------------------------------------------------------------------------------


class DomainError(Exception):
    """Base of every expected failure; the HTTP edge maps each subclass to one status code."""


class UnknownCenter(DomainError):
    pass


class UnknownCampaign(DomainError):
    pass


class UnknownSlot(DomainError):
    pass


class UnknownRequest(DomainError):
    pass


class BookingNotFound(DomainError):
    pass


class NotEligible(DomainError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InvalidInput(DomainError):
    """A value that is well-formed but not acceptable (e.g. a slot of another centre)."""

    def __init__(self, field_name: str, code: str):
        super().__init__(f"{field_name}: {code}")
        self.field = field_name
        self.code = code


# Outcomes of one reservation attempt; raised by the storage port, decided by the service.
class FirstSlotTaken(DomainError):
    pass


class SecondSlotTaken(DomainError):
    pass


class AlreadyBooked(DomainError):
    pass


class RequestAlreadyDecided(DomainError):
    """The request was booked or rejected before (a duplicate delivery); nothing must change."""


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key sent again with a different body: the key names another request."""


class DuplicateSubmission(DomainError):
    """The same request was submitted before (same Idempotency-Key, or the same body): answer its id."""

    def __init__(self, request_id: str, status: RequestStatus):
        super().__init__(request_id)
        self.request_id = request_id
        self.status = status


class BookingChanged(DomainError):
    """A rebook found the booking no longer as it was read (cancelled or rebooked meanwhile); nothing changed."""


class BookingNotActive(DomainError):
    """A cancelled booking cannot be rebooked: its person lock is gone, so a new booking is the way."""


class AppointmentStarted(DomainError):
    """The booking's first appointment has begun: the first dose may have been given, so no swap any more."""


class NoPairAvailable(DomainError):
    """A rebook found no pair it could take; the old booking is untouched. Carries what could be booked."""

    def __init__(self, alternatives: tuple[SlotPair, ...] = ()):
        super().__init__("no pair available")
        self.alternatives = alternatives


# --- catalogue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Center:
    id: str
    name: str
    address: str
    region: str
    postal_codes: frozenset[str]
    vaccines: tuple[str, ...]
    # The phone hotline of the centre's region (KV Nordrhein and KV Westfalen-Lippe each ran their own).
    hotline: str | None = None

    def serves(self, postal_code: str) -> bool:
        return postal_code in self.postal_codes

    def require_serves(self, postal_code: str) -> None:
        """Booking applies the catchment the centre list shows (§1): a centre that would not be listed for the
        person's postal code is not an acceptable choice of `center_id`."""
        if not self.serves(postal_code):
            raise InvalidInput("center_id", "outside_catchment")


# One page of availability: the API's `days` bound (contract §3: `days` is at most 28).
PAGE_DAYS = 28
# How far ahead a campaign without a horizon of its own may be booked: four weeks, what centres plan staff and
# vaccine deliveries for.
DEFAULT_HORIZON_DAYS = 28
# A horizon longer than a year is a typing error, not a plan (a vaccine's deliveries are not known that far).
MAX_HORIZON_DAYS = 366


@dataclass(frozen=True)
class BookingWindow:
    """Which first-dose slots may be offered and booked: those that start after now and on or before the last
    day of the campaign's horizon; one availability answer covers at most `max_days` of them (a page).

    The horizon is rolling (`horizon_days` from today on), fixed (`bookable_until`, the last day), or both
    (whichever ends first). The API's `days` bound, the campaign's fields, availability, alternatives, flexible
    booking, rebooking and the check of a submitted slot all come from here."""

    max_days: int
    horizon_days: int | None = DEFAULT_HORIZON_DAYS
    bookable_until: date | None = None

    def has_started(self, start: datetime, now: datetime) -> bool:
        """A slot that has begun (or is over) can be neither offered, requested nor released."""
        return start <= now

    def last_day(self, now: datetime) -> date:
        """The last day on which a first dose may start, as of now (Berlin days)."""
        today = now.astimezone(LOCAL_TZ).date()
        ends = [] if self.horizon_days is None else [today + timedelta(days=self.horizon_days - 1)]
        if self.bookable_until is not None:
            ends.append(self.bookable_until)
        return min(ends) if ends else today + timedelta(days=DEFAULT_HORIZON_DAYS - 1)

    def beyond_horizon(self, start: datetime, now: datetime) -> bool:
        """A first dose that starts after the horizon's last day may be neither offered nor requested."""
        return start.astimezone(LOCAL_TZ).date() > self.last_day(now)

    def first_dose_range(
        self, now: datetime, from_day: date | None = None, days: int | None = None
    ) -> tuple[datetime, datetime]:
        """[from, until) of first-dose starts: from the day asked for (today by default) but never before
        now, for `days` days capped at `max_days`, and never past the horizon's last day. Empty (until <= from)
        when the day asked for lies beyond the horizon."""
        start_day = from_day or now.astimezone(LOCAL_TZ).date()
        first_from = max(datetime.combine(start_day, time(0), LOCAL_TZ), now)
        span = self.max_days if days is None else min(days, self.max_days)
        end_day = min(start_day + timedelta(days=span), self.last_day(now) + timedelta(days=1))
        return first_from, datetime.combine(end_day, time(0), LOCAL_TZ)

    def page(self, now: datetime, from_day: date | None = None, days: int | None = None) -> AvailabilityPage:
        """The days one availability answer covers and where the next one starts (None: the horizon ends)."""
        today = now.astimezone(LOCAL_TZ).date()
        start_day = from_day or today  # as first_dose_range counts: a page asked from the past ends sooner
        first_day = max(start_day, today)
        last_day = self.last_day(now)
        span = self.max_days if days is None else min(days, self.max_days)
        until = min(start_day + timedelta(days=span - 1), last_day)
        after = max(until + timedelta(days=1), first_day)
        return AvailabilityPage(first_day, until, last_day, after if after <= last_day else None)


@dataclass(frozen=True)
class AvailabilityPage:
    """One page of the horizon: first and last day covered (until < first when the page lies beyond the
    horizon), the horizon's last day, and the first day of the next page (None when this one reaches the end)."""

    first_day: date
    until: date
    last_day: date
    next_from: date | None


BOOKING_WINDOW = BookingWindow(max_days=PAGE_DAYS)


# Campaigns of one series share one person lock: a person gets one primary course, whichever vaccine.
DEFAULT_SERIES = "covid-19-primary"


class CampaignStatus(str, Enum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    vaccine: str
    doses: int
    interval_min_days: int
    interval_max_days: int
    regions: frozenset[str]
    center_ids: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime | None = None
    born_on_or_after: date | None = None
    born_on_or_before: date | None = None
    series: str = DEFAULT_SERIES
    verification: str = "none"  # contact verification before a booking request: "none" or "email"
    # The booking horizon (see BookingWindow): both None means the default rolling DEFAULT_HORIZON_DAYS.
    horizon_days: int | None = None
    bookable_until: date | None = None  # the last day a first dose may be booked for (2021: end of April)

    def status(self, now: datetime) -> CampaignStatus:
        if now < self.opens_at:
            return CampaignStatus.UPCOMING
        if self.closes_at is not None and now >= self.closes_at:
            return CampaignStatus.CLOSED
        return CampaignStatus.OPEN

    def admits_birth_date(self, birth_date: date) -> bool:
        if self.born_on_or_after is not None and birth_date < self.born_on_or_after:
            return False
        return self.born_on_or_before is None or birth_date <= self.born_on_or_before

    @property
    def needs_second_dose(self) -> bool:
        return self.doses == 2

    @property
    def booking_window(self) -> BookingWindow:
        """The campaign's horizon; without one, the default four weeks."""
        if self.horizon_days is None and self.bookable_until is None:
            return BOOKING_WINDOW
        return BookingWindow(PAGE_DAYS, self.horizon_days, self.bookable_until)

    def validate(self) -> None:
        """What ops may not set up: raises InvalidInput naming the field."""
        if self.doses not in (1, 2):
            raise InvalidInput("doses", "out_of_range")
        if self.needs_second_dose and not 0 < self.interval_min_days <= self.interval_max_days:
            raise InvalidInput("interval_days", "out_of_range")
        if self.closes_at is not None and self.closes_at <= self.opens_at:
            raise InvalidInput("closes_at", "out_of_range")
        if self.horizon_days is not None and not 1 <= self.horizon_days <= MAX_HORIZON_DAYS:
            raise InvalidInput("horizon_days", "out_of_range")
        # A last day before the opening would make a campaign nobody can book.
        if self.bookable_until is not None and self.bookable_until < self.opens_at.astimezone(LOCAL_TZ).date():
            raise InvalidInput("bookable_until", "out_of_range")

    def second_dose_window(self, first_day: date) -> tuple[date, date]:
        return (
            first_day + timedelta(days=self.interval_min_days),
            first_day + timedelta(days=self.interval_max_days),
        )


@dataclass(frozen=True)
class Slot:
    campaign_id: str
    center_id: str
    slot_id: str
    start: datetime
    end: datetime
    capacity: int
    booked: int = 0
    # A contingent released ahead of time: the slot can be neither seen nor booked before this moment.
    release_at: datetime | None = None

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)

    def is_released(self, now: datetime) -> bool:
        return self.release_at is None or self.release_at <= now

    @property
    def day(self) -> date:
        return self.start.date()

    @property
    def ref(self) -> SlotRef:
        return SlotRef(self.slot_id, self.start, self.end)


@dataclass(frozen=True)
class SlotRef:
    """One appointment of a booking: which slot, and when."""

    slot_id: str
    start: datetime
    end: datetime


def slot_id_for(start: datetime) -> str:
    """Slot ids sort like their (local) start times, so a key range is a time range."""
    return start.astimezone(LOCAL_TZ).strftime("%Y%m%dT%H%M")


def slot_day(slot_id: str) -> date | None:
    """The day a slot id names (see slot_id_for), or None if it names none."""
    try:
        return datetime.strptime(slot_id, "%Y%m%dT%H%M").date()
    except ValueError:
        return None


# --- eligibility ----------------------------------------------------------------------------------


class IneligibleReason(str, Enum):
    NOT_YET_ELIGIBLE = "not_yet_eligible"
    OUTSIDE_REGION = "outside_region"
    CAMPAIGN_CLOSED = "campaign_closed"


@dataclass(frozen=True)
class Eligibility:
    campaigns: tuple[Campaign, ...]
    reason: IneligibleReason | None = None
    opens_at: datetime | None = None

    @property
    def eligible(self) -> bool:
        return bool(self.campaigns)


def decide_eligibility(campaigns: list[Campaign], region: str | None, birth_date: date, now: datetime) -> Eligibility:
    """Which campaigns this person may book now; if none, the most helpful reason why not."""
    if region is None:
        return Eligibility((), IneligibleReason.OUTSIDE_REGION)
    in_region = [c for c in campaigns if region in c.regions]
    if not in_region:
        return Eligibility((), IneligibleReason.OUTSIDE_REGION)
    admitting = [c for c in in_region if c.admits_birth_date(birth_date)]
    open_now = tuple(c for c in admitting if c.status(now) is CampaignStatus.OPEN)
    if open_now:
        return Eligibility(open_now)
    upcoming = [c for c in admitting if c.status(now) is CampaignStatus.UPCOMING]
    if upcoming:
        return Eligibility((), IneligibleReason.NOT_YET_ELIGIBLE, min(c.opens_at for c in upcoming))
    if admitting:
        return Eligibility((), IneligibleReason.CAMPAIGN_CLOSED)
    return Eligibility((), IneligibleReason.NOT_YET_ELIGIBLE)


def region_of(centers: list[Center], postal_code: str) -> str | None:
    for center in centers:
        if center.serves(postal_code):
            return center.region
    return None


# --- pairing first and second doses ---------------------------------------------------------------


@dataclass(frozen=True)
class SlotPair:
    first: Slot
    second: Slot | None


def second_dose_candidates(campaign: Campaign, first: Slot, slots: list[Slot]) -> list[Slot]:
    """Second-dose slots in the interval window with capacity, best first.

    Best means the earliest day of the window (the vaccine's recommended interval) and, on that day,
    the time closest to the first appointment: people keep the same routine for both visits.
    """
    window_start, window_end = campaign.second_dose_window(first.day)
    first_minutes = first.start.hour * 60 + first.start.minute
    candidates = [
        s for s in slots if s.remaining > 0 and window_start <= s.day <= window_end and s.slot_id != first.slot_id
    ]
    return sorted(
        candidates,
        key=lambda s: (s.day, abs(s.start.hour * 60 + s.start.minute - first_minutes), s.start),
    )


def spread_second_doses(candidates: list[Slot], rng: random.Random, attempts: int, among: int) -> list[Slot]:
    """`attempts` second-dose slots for a worker to try, drawn at random from the best `among` candidates
    (`second_dose_candidates`' order). Workers that book the same first slot at once would otherwise all try
    the same best second slot and all but a few fail on it; every candidate is in the window and had room."""
    pool = candidates[:among]
    return rng.sample(pool, min(attempts, len(pool)))


def bookable_pairs(
    campaign: Campaign, slots: list[Slot], first_from: datetime, first_until: datetime
) -> list[SlotPair]:
    """First-dose slots starting in [first_from, first_until) that can really be booked as a whole.

    A first slot is offered only if it has capacity AND (for two-dose vaccines) some second-dose slot
    in the window still has capacity: never half a booking. Each is shown with its best second dose
    (`second_dose_candidates`' first).

    O(n log n): the slots with room are grouped by day and time of day once; each first slot then looks at
    the days of its window until one has room and bisects that day's times, instead of sorting every slot
    for every first slot (which took seconds for a centre with 48 slots a day).
    """
    firsts = [
        s for s in sorted(slots, key=lambda s: s.start) if first_from <= s.start < first_until and s.remaining > 0
    ]
    if not campaign.needs_second_dose:
        return [SlotPair(first, None) for first in firsts]
    # Day → time of day (minutes) → the slots with room then, in the given order (ties go to the same slot as
    # the stable sort in second_dose_candidates), and each day's times sorted once for a bisect.
    with_room: dict[date, dict[int, list[Slot]]] = {}
    for s in slots:
        if s.remaining > 0:
            with_room.setdefault(s.day, {}).setdefault(_minutes(s), []).append(s)
    times = {day: sorted(at) for day, at in with_room.items()}
    pairs = []
    for first in firsts:
        second = _best_second_dose(campaign, first, with_room, times)
        if second is not None:
            pairs.append(SlotPair(first, second))
    return pairs


def _minutes(s: Slot) -> int:
    return s.start.hour * 60 + s.start.minute


def _best_second_dose(
    campaign: Campaign, first: Slot, with_room: dict[date, dict[int, list[Slot]]], times: dict[date, list[int]]
) -> Slot | None:
    """The first of `second_dose_candidates(campaign, first, slots)`: the earliest day of the window with room,
    and on it the nearest time of day (a bisect: only the times just before and after can be nearest)."""
    window_start, window_end = campaign.second_dose_window(first.day)
    first_minutes = _minutes(first)
    day = window_start
    while day <= window_end:
        at = with_room.get(day)
        if at:
            day_times = times[day]
            i = bisect.bisect_left(day_times, first_minutes)
            near = [s for m in day_times[max(0, i - 1) : i + 1] for s in at[m] if s.slot_id != first.slot_id]
            if near:
                return min(near, key=lambda s: (abs(_minutes(s) - first_minutes), s.start))
            if any(s.slot_id != first.slot_id for m in day_times for s in at[m]):
                # Only when the window holds the first slot itself (never for a valid campaign): look further.
                others = [s for m in day_times for s in at[m] if s.slot_id != first.slot_id]
                return min(others, key=lambda s: (abs(_minutes(s) - first_minutes), s.start))
        day += timedelta(days=1)
    return None


def rebook_candidates(
    campaign: Campaign,
    slots: list[Slot],
    booking: Booking,
    first_slot_id: str,
    first_from: datetime,
    first_until: datetime,
    flexible: bool,
    seconds_per_first: int,
    other_firsts: int,
) -> list[SlotPair]:
    """The pairs a rebook tries, in order, from slots as `freeing` gives them.

    The chosen first slot with its best few second-dose slots (the booking's own second first, so that
    rebooking to the first slot one holds keeps the pair), then, if flexible, the nearest other bookable pairs.
    """
    candidates: list[SlotPair] = []
    chosen = next((s for s in slots if s.slot_id == first_slot_id), None)
    if chosen is not None and first_from <= chosen.start < first_until and chosen.remaining > 0:
        if not campaign.needs_second_dose:
            candidates.append(SlotPair(chosen, None))
        else:
            seconds = second_dose_candidates(campaign, chosen, slots)
            own = booking.second.slot_id if booking.second else None
            seconds.sort(key=lambda s: s.slot_id != own)  # stable: otherwise best first
            candidates += [SlotPair(chosen, s) for s in seconds[:seconds_per_first]]
    if flexible:
        pairs = bookable_pairs(campaign, slots, first_from, first_until)
        candidates += [p for p in pairs if p.first.slot_id != first_slot_id][:other_firsts]
    return candidates


def freeing(slots: list[Slot], booking: Booking) -> list[Slot]:
    """The slots as they would be if the booking gave its seats back: what a rebook of it may take."""
    held = {(booking.center_id, a.slot_id) for a in booking.appointments}
    return [replace(s, booked=s.booked - 1) if (s.center_id, s.slot_id) in held else s for s in slots]


def counter_changes(old: tuple[SlotRef, ...], new: tuple[SlotRef, ...]) -> dict[str, int]:
    """Slot id → net change of its booked counter when a booking moves from the old to the new appointments.

    A slot in both keeps its seat (0, and left out): DynamoDB allows one operation per item in a transaction.
    """
    changes: dict[str, int] = {}
    for ref in new:
        changes[ref.slot_id] = changes.get(ref.slot_id, 0) + 1
    for ref in old:
        changes[ref.slot_id] = changes.get(ref.slot_id, 0) - 1
    return {slot_id: delta for slot_id, delta in changes.items() if delta}


# --- people and bookings --------------------------------------------------------------------------


_TRANSLITERATIONS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalise_name(name: str) -> str:
    """'  Müller ' and 'MUELLER' are the same person to a hotline agent, so they are the same here.

    So are spellings that only look alike: NFKC folds full-width and compatibility letters (Ｊ → J) and
    composes combining marks; format characters (Unicode Cf: zero-width spaces, joiners, bidi controls)
    are dropped, since they are invisible and would otherwise make a second "person" for the
    one-booking-per-person lock. NFKC again after casefold, as Unicode's NFKC_Casefold does, so that
    the result is stable (normalising it again changes nothing).
    """
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) != "Cf")
    folded = unicodedata.normalize("NFKC", visible.casefold()).translate(_TRANSLITERATIONS)
    return " ".join(folded.replace("-", " ").split())


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    birth_date: date
    postal_code: str
    email: str | None = None  # None only for callers booked by a hotline agent: no mail is sent to them
    phone: str | None = None
    postal_address: str | None = None  # where a printed confirmation goes (hotline callers without e-mail)

    def key(self, pepper: bytes) -> str:
        """A keyed hash: the lock item says 'this person booked' without holding the name in clear."""
        material = "|".join(
            (normalise_name(self.given_name), normalise_name(self.family_name), self.birth_date.isoformat())
        )
        return hmac.new(pepper, material.encode(), hashlib.sha256).hexdigest()


# No 0/O, 1/I/L: codes are read out on the phone by people in their eighties.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ≈ 2**49.5


def new_booking_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_booking_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(compact) != CODE_LENGTH:
        return compact
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


class Channel(str, Enum):
    """How a request reached us: the citizen site/API, or a hotline agent on the phone."""

    WEB = "web"
    HOTLINE = "hotline"


class BookingStatus(str, Enum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class Attendance(str, Enum):
    """What happened at one appointment, as centre staff mark it (chalicelib/booking/attendance.py)."""

    EXPECTED = "expected"  # not marked (yet)
    ATTENDED = "attended"  # checked in: the dose was given
    NO_SHOW = "no_show"  # the person did not come


@dataclass(frozen=True)
class Booking:
    code: str
    request_id: str
    campaign_id: str
    center_id: str
    first: SlotRef
    second: SlotRef | None
    person: Person
    language: str
    status: BookingStatus = BookingStatus.ACTIVE
    created_at: datetime | None = None
    channel: Channel = Channel.WEB
    agent: str | None = None  # the staff user name that booked for the person (hotline), else None
    # The series whose person lock this booking holds (its campaign's when booked): cancel frees that lock.
    series: str = DEFAULT_SERIES
    # Counts rebookings: a rebook is conditioned on it, and each change mail is sent once per version.
    version: int = 0
    # Marked by centre staff on the day (check-in, no-show); see decide_attendance.
    first_attendance: Attendance = Attendance.EXPECTED
    second_attendance: Attendance = Attendance.EXPECTED
    # The second appointment given back when the first dose was marked a no-show (see with_attendance): not
    # held (not in `appointments`), kept so that taking the mark back can take the seat again.
    released_second: SlotRef | None = None
    # Counts corrections of the e-mail address that sent the confirmation again (to the new address): each such
    # confirmation is its own mail, once. Apart from `version`, which numbers appointment changes.
    contact_revision: int = 0
    contact_changed_at: datetime | None = None  # the last correction of e-mail or phone, if any

    def cancelled(self) -> Booking:
        return replace(self, status=BookingStatus.CANCELLED)

    def rebooked(self, first: SlotRef, second: SlotRef | None) -> Booking:
        return replace(self, first=first, second=second, version=self.version + 1)

    def has_started(self, now: datetime) -> bool:
        return self.first.start <= now

    def with_contact(self, email: str | None, phone: str | None, at: datetime) -> Booking:
        """The booking with the person's corrected e-mail and phone (as given: None removes one). A new address
        sends the confirmation again, so it counts a contact revision; removing the address or changing only
        the phone does not (nothing is sent)."""
        resend = email is not None and email != self.person.email
        return replace(
            self,
            person=replace(self.person, email=email, phone=phone),
            contact_revision=self.contact_revision + 1 if resend else self.contact_revision,
            contact_changed_at=at,
        )

    def contact_fields_changed(self, other: Booking) -> list[str]:
        """Which of the person's contact fields differ in `other` ("email", "phone"): the audit names them, never
        their values."""
        mine, theirs = self.person, other.person
        return [name for name in ("email", "phone") if getattr(mine, name) != getattr(theirs, name)]

    @property
    def appointments(self) -> tuple[SlotRef, ...]:
        return (self.first,) if self.second is None else (self.first, self.second)

    def appointment(self, dose: int) -> SlotRef | None:
        """Dose 1 or 2's appointment (None: the booking has no such dose)."""
        return {1: self.first, 2: self.second}.get(dose)

    def attendance(self, dose: int) -> Attendance:
        return self.first_attendance if dose == 1 else self.second_attendance

    def marked(self, dose: int, mark: Attendance) -> Booking:
        return replace(self, first_attendance=mark) if dose == 1 else replace(self, second_attendance=mark)

    def personal_data_expires_at(self, retention: timedelta) -> datetime:
        """When the booking's personal data is deleted: `retention` after its last appointment ends
        (GDPR Art. 5(1)(e): kept no longer than needed — a question about the day can come afterwards)."""
        return max(a.end for a in self.appointments) + retention


# How long personal data outlives the last appointment unless a setting says otherwise.
DEFAULT_RETENTION = timedelta(days=90)


# --- booking requests -----------------------------------------------------------------------------


class RequestStatus(str, Enum):
    QUEUED = "queued"
    BOOKED = "booked"
    REJECTED = "rejected"


class RejectReason(str, Enum):
    SLOT_TAKEN = "slot_taken"
    ALREADY_BOOKED = "already_booked"
    NOT_ELIGIBLE = "not_eligible"
    NO_CAPACITY = "no_capacity"
    SLOT_STARTED = "slot_started"  # decided after the slot began: nothing booked
    NOT_PROCESSED = "not_processed"  # the system could not decide it (dead-letter queue): nothing booked


@dataclass(frozen=True)
class BookingRequest:
    request_id: str
    campaign_id: str
    center_id: str
    slot_id: str
    flexible: bool
    language: str
    person: Person
    channel: Channel = Channel.WEB
    agent: str | None = None
    # The pair as submit saw it (from a short-lived copy): the worker tries these in its transaction first
    # and reads the slots only when that fails. None (old messages, no second dose known): read first.
    first: SlotRef | None = None
    second: SlotRef | None = None


@dataclass(frozen=True)
class Submission:
    """What makes two submissions the same request: the client's Idempotency-Key (else the body), and the
    hash of the body, so that a key reused for a different body is caught."""

    key: str
    body_hash: str


@dataclass(frozen=True)
class RequestState:
    request_id: str
    status: RequestStatus
    booking_code: str | None = None
    reason: RejectReason | None = None
    alternatives: tuple[SlotPair, ...] = field(default=())


# --- supply changes (ops) -------------------------------------------------------------------------


class OperationConflict(DomainError):
    """The operation id (from an Idempotency-Key) was used before for a different operation."""


@dataclass(frozen=True)
class CentreDayOperation:
    """Cancel every active booking with an appointment at a centre on [from_day, to_day] (a failed delivery), or
    move each such appointment to the same time on `target_day` where both doses stay valid (else cancel).

    Stored with its progress, so that running it again (a retry, a resume after a crash) does only the rest.
    """

    operation_id: str
    campaign_id: str
    center_id: str
    from_day: date
    to_day: date
    created_by: str
    cursor: str | None = None  # where the next batch reads on; opaque to the domain
    done: bool = False
    cancelled: int = 0  # bookings this operation cancelled (each got one notice)
    target_day: date | None = None  # None: cancel; a day: move each appointment to the same time that day
    moved: int = 0  # bookings this operation moved (each got one change notice)

    @property
    def slot_id_range(self) -> tuple[str, str]:
        """Slot ids sort like local start times: the day range as a key range."""
        return f"{self.from_day:%Y%m%d}T0000", f"{self.to_day:%Y%m%d}T2359"

    def same_request(self, other: CentreDayOperation) -> bool:
        return (self.campaign_id, self.center_id, self.from_day, self.to_day, self.target_day) == (
            other.campaign_id,
            other.center_id,
            other.from_day,
            other.to_day,
            other.target_day,
        )


class UnknownOperation(DomainError):
    pass


def moved_to(campaign: Campaign, booking: Booking, appointment: SlotRef, target_day: date) -> datetime:
    """The same local time on the target day, if the booking's doses stay valid there; else InvalidInput.

    Moving a first dose keeps its second inside the interval window from the new first day; moving a second
    dose puts it inside the window from the first.
    """
    local = appointment.start.astimezone(LOCAL_TZ)
    start = datetime.combine(target_day, local.time(), LOCAL_TZ)
    if booking.second is None or not campaign.needs_second_dose:
        return start
    if appointment.slot_id == booking.first.slot_id:
        window_start, window_end = campaign.second_dose_window(target_day)
        if window_start <= booking.second.start.astimezone(LOCAL_TZ).date() <= window_end:
            return start
    else:
        window_start, window_end = campaign.second_dose_window(booking.first.start.astimezone(LOCAL_TZ).date())
        if window_start <= target_day <= window_end:
            return start
    raise InvalidInput("target_day", "outside_interval_window")


# --- a pair held for a person whose appointments a centre-day operation cancelled ------------------

# How long a held pair waits for the person to confirm it (a notice by post or mail takes a day or two to read).
HOLD_FOR = timedelta(hours=48)


@dataclass(frozen=True)
class Hold:
    """A replacement pair held for the person whose booking `code` an operation cancelled: its seats are taken
    until the person confirms it (it becomes the booking's pair again, same code) or it lapses (seats given back).
    Both end it exactly once: each is conditioned on the hold still being there."""

    code: str
    campaign_id: str
    center_id: str
    first: SlotRef
    second: SlotRef | None
    until: datetime
    operation_id: str

    @property
    def appointments(self) -> tuple[SlotRef, ...]:
        return (self.first,) if self.second is None else (self.first, self.second)

    def is_live(self, now: datetime) -> bool:
        return now < self.until


class HoldLapsed(DomainError):
    """The booking has no held pair to confirm (none was held, it lapsed, or it was confirmed or given back)."""


def replacement_pair(
    campaign: Campaign,
    slots: list[Slot],
    booking: Booking,
    first_from: datetime,
    first_until: datetime,
    avoid: set[str],
) -> SlotPair | None:
    """The bookable pair whose first dose is nearest the cancelled one's time, using no slot in `avoid` (the
    cancelled days' slots); None if there is none. Seats the booking itself gave back count as free."""
    usable = [s for s in freeing(slots, booking) if s.slot_id not in avoid]
    pairs = bookable_pairs(campaign, usable, first_from, first_until)
    if not pairs:
        return None
    return min(pairs, key=lambda p: abs((p.first.start - booking.first.start).total_seconds()))


# --- attendance (centre staff: check-in and no-show) ----------------------------------------------


def decide_attendance(booking: Booking, dose: int, mark: Attendance, now: datetime) -> Attendance:
    """What the dose's attendance becomes when staff mark it `mark` — the same as now for a repeated mark.

    The rules (docs/operations.md "Centre staff"):
    - only an active booking's existing dose is marked; a check-in from the appointment's (local) day on, a
      no-show once the appointment has begun (nobody misses what has not started);
    - a given dose stays given: attended → no-show is refused; no-show → attended is allowed (came late, or
      a mistake corrected);
    - a second dose is given only after the first: its check-in needs the first dose attended.
    Raises InvalidInput naming `dose` (or `code` for a cancelled booking).
    """
    if mark is Attendance.EXPECTED:
        raise InvalidInput("mark", "invalid")
    if booking.status is not BookingStatus.ACTIVE:
        raise InvalidInput("code", "booking_cancelled")
    appointment = booking.appointment(dose)
    if appointment is None:
        raise InvalidInput("dose", "no_such_dose")
    current = booking.attendance(dose)
    if current is mark:
        return current
    if current is Attendance.ATTENDED:
        raise InvalidInput("dose", "already_attended")
    local_day_start = datetime.combine(appointment.start.astimezone(LOCAL_TZ).date(), time(0), LOCAL_TZ)
    if mark is Attendance.ATTENDED:
        if now < local_day_start:
            raise InvalidInput("dose", "appointment_not_yet")
        if dose == 2 and booking.first_attendance is not Attendance.ATTENDED:
            raise InvalidInput("dose", "first_dose_not_given")
    elif now < appointment.start:
        raise InvalidInput("dose", "appointment_not_yet")
    return mark


def decide_undo(booking: Booking, dose: int, now: datetime) -> Attendance:
    """What the dose's attendance becomes when staff take its mark back (a wrong row clicked): `expected`.

    Only a mark of today's appointment (Berlin day) is taken back at the desk; older ones are history, which
    an admin corrects with its audit record. A first dose's check-in stays while the second dose is given (it
    depends on it). An unmarked dose is answered as it is. Raises InvalidInput naming `dose` (or `code`)."""
    if booking.status is not BookingStatus.ACTIVE:
        raise InvalidInput("code", "booking_cancelled")
    appointment = booking.appointment(dose)
    if appointment is None:
        raise InvalidInput("dose", "no_such_dose")
    if booking.attendance(dose) is Attendance.EXPECTED:
        return Attendance.EXPECTED
    if appointment.start.astimezone(LOCAL_TZ).date() != now.astimezone(LOCAL_TZ).date():
        raise InvalidInput("dose", "not_today")
    if dose == 1 and booking.second_attendance is Attendance.ATTENDED:
        raise InvalidInput("dose", "second_dose_given")
    return Attendance.EXPECTED


def with_attendance(booking: Booking, dose: int, mark: Attendance) -> Booking:
    """The booking with the dose marked, its second seat following the first dose's mark (docs/operations.md
    "Centre staff"): a first-dose no-show gives the second appointment back (`released_second`); taking the
    no-show back, or checking the person in after all, takes it again. Whether the seat is still free is the
    store's to find out; `marked` without the seat is the fallback of a check-in (the dose was given anyway)."""
    marked = booking.marked(dose, mark)
    if dose != 1:
        return marked
    if mark is Attendance.NO_SHOW and booking.second is not None:
        return replace(marked, second=None, released_second=booking.second)
    leaves_no_show = booking.first_attendance is Attendance.NO_SHOW and mark is not Attendance.NO_SHOW
    if leaves_no_show and booking.second is None and booking.released_second is not None:
        return replace(marked, second=booking.released_second, released_second=None)
    return marked
