"""The invariant and fairness report of a rush run: plain Python on plain records, no network, no AWS.

`store.py` turns the local DynamoDB table, the sent mails and what the load generator saw into a
`RushData`; `build_report` judges it. Invariants (a failure makes `make rush` exit non-zero) are what
the contract promises under any load; fairness goals are reported and only fail the run with `strict`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

CITIZEN, HOTLINE, BOT = "citizen", "hotline", "bot"
# Refusals that are the system defending itself, not failing: rate limits for anyone, and for bots also the
# room's gate (no or a borrowed admission) and the edge's input rules they trip with invented data.
EXPECTED_REFUSALS = {
    CITIZEN: {(429, "too_many_requests")},
    HOTLINE: {(429, "too_many_requests")},
    BOT: {(429, "too_many_requests"), (403, "admission_required")},
}
POST_OPENING_GOAL = 0.95  # rank correlation of arrival and admission among those who came after opening


@dataclass(frozen=True)
class SlotRow:
    campaign_id: str
    center_id: str
    slot_id: str
    capacity: int
    booked: int


@dataclass(frozen=True)
class BookingRow:
    code: str
    campaign_id: str
    center_id: str
    status: str  # active | cancelled
    first_slot_id: str
    second_slot_id: str | None
    person: str  # normalised name + birth date: compared here, never printed
    email: str
    request_id: str
    created_at: float  # epoch seconds


@dataclass(frozen=True)
class LockRow:
    person_hash: str
    campaign_id: str
    booking_code: str


@dataclass(frozen=True)
class RequestRow:
    request_id: str
    status: str  # queued | booked | rejected
    booking_code: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Accepted:
    """A booking request the API answered 202."""

    request_id: str
    kind: str
    email: str
    sent_at: float


@dataclass(frozen=True)
class Call:
    """One HTTP call as the load generator saw it (status 0: no answer at all)."""

    started_at: float
    name: str
    kind: str
    status: int
    code: str
    latency_ms: float


@dataclass(frozen=True)
class EntryObs:
    """One waiting-room entry: when it was asked for and answered, and when the room says it was let in."""

    entry_id: str
    kind: str
    lane: str  # web | hotline
    sent_at: float
    received_at: float
    admitted_at: float | None  # the instant the room let this place in (its order); may precede the entry
    seen_admitted_at: float | None = None  # when the visitor's poll first said so (what they experienced)

    @property
    def let_in_at(self) -> float | None:
        return self.seen_admitted_at or self.admitted_at


@dataclass
class RushData:
    campaign_id: str
    doses: int
    started_at: float
    opens_at: float | None  # None: the campaign had no active waiting room
    slots: list[SlotRow] = field(default_factory=list)
    bookings: list[BookingRow] = field(default_factory=list)
    locks: list[LockRow] = field(default_factory=list)
    requests: dict[str, RequestRow] = field(default_factory=dict)
    mail_recipients: list[tuple[str, ...]] = field(default_factory=list)  # one tuple per sent mail
    accepted: list[Accepted] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    entries: list[EntryObs] = field(default_factory=list)
    identities: dict[str, set[str]] = field(default_factory=dict)  # kind → identities that asked to book
    samples: list[str] = field(default_factory=list)  # a few unexpected answers as seen, for the reader


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    value: str
    invariant: bool  # False: a fairness goal
    detail: str = ""


@dataclass
class Report:
    checks: list[Check]
    figures: dict[str, float | int | str | None]

    def failed(self, strict: bool = False) -> list[Check]:
        return [c for c in self.checks if not c.ok and (c.invariant or strict)]

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.failed(strict) else 0

    def to_dict(self, strict: bool = False) -> dict:
        return {"ok": not self.failed(strict), "checks": [asdict(c) for c in self.checks], "figures": self.figures}


# --- statistics -------------------------------------------------------------------------------------


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on average ranks); None if undefined (n < 3 or a constant)."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    if len(xs) < 3:
        return None
    rx, ry = average_ranks(xs), average_ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def draw_band(n: int) -> float:
    """|rho| a fair random draw of n stays inside with ~99.7 % probability (3 standard errors, 1/sqrt(n-1))."""
    return 3 / math.sqrt(n - 1) if n > 1 else 1.0


def order_groups(data: RushData) -> tuple[list[EntryObs], list[EntryObs]]:
    """Web-lane entries that were let in, split into pre-queue arrivals (answered before opening) and
    arrivals after opening (asked after it). An entry whose request straddled the opening is in neither."""
    if data.opens_at is None:
        return [], []
    admitted = [e for e in data.entries if e.lane == "web" and e.admitted_at is not None]
    pre = [e for e in admitted if e.received_at < data.opens_at]
    post = [e for e in admitted if e.sent_at >= data.opens_at]
    return pre, post


def arrival_admission_rho(entries: Sequence[EntryObs]) -> float | None:
    # Callers pass admitted entries only (admitted_at set).
    return spearman([e.sent_at for e in entries], [cast(float, e.admitted_at) for e in entries])


# --- the report -------------------------------------------------------------------------------------


def _examples(items, limit: int = 3) -> str:
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (" …" if len(items) > limit else "")


def invariant_checks(data: RushData) -> list[Check]:
    slots = {(s.center_id, s.slot_id): s for s in data.slots if s.campaign_id == data.campaign_id}
    bookings = [b for b in data.bookings if b.campaign_id == data.campaign_id]
    active = [b for b in bookings if b.status == "active"]
    holding: Counter = Counter()
    for b in active:
        holding[(b.center_id, b.first_slot_id)] += 1
        if b.second_slot_id:
            holding[(b.center_id, b.second_slot_id)] += 1

    over = sorted(k[1] for k, s in slots.items() if s.booked > s.capacity or holding[k] > s.capacity)
    drift = sorted(k[1] for k, s in slots.items() if s.booked != holding[k])
    unknown_slots = sorted(k[1] for k in holding if k not in slots)
    half = [b.code for b in active if data.doses == 2 and not b.second_slot_id]
    by_person = Counter(b.person for b in active)
    doubles = [p for p, n in by_person.items() if n > 1]
    locked = {lk.booking_code for lk in data.locks if lk.campaign_id == data.campaign_id}
    unlocked = [b.code for b in active if b.code not in locked]

    booking_codes = {b.code for b in bookings}
    undecided, lost, dangling = [], [], []
    for a in data.accepted:
        row = data.requests.get(a.request_id)
        if row is None:
            lost.append(a.request_id)
        elif row.status not in {"booked", "rejected"}:
            undecided.append(a.request_id)
        elif row.status == "booked" and row.booking_code not in booking_codes:
            dangling.append(a.request_id)

    decided_per_email: Counter = Counter()
    rejected_per_email: Counter = Counter()
    for a in data.accepted:
        row = data.requests.get(a.request_id)
        if row is not None and row.status in {"booked", "rejected"} and a.email:
            decided_per_email[a.email.lower()] += 1
            rejected_per_email[a.email.lower()] += row.status == "rejected"
    mails_per_email: Counter = Counter()
    for recipients in data.mail_recipients:
        for r in {r.lower() for r in recipients}:
            mails_per_email[r] += 1
    scenario_emails = {a.email.lower() for a in data.accepted if a.email}
    wrong_mail = sorted(e for e in scenario_emails if mails_per_email[e] != decided_per_email[e])
    decided = sum(decided_per_email.values())
    mails = sum(mails_per_email[e] for e in scenario_emails)
    missing = sum(max(0, decided_per_email[e] - mails_per_email[e]) for e in wrong_mail)
    extra = sum(max(0, mails_per_email[e] - decided_per_email[e]) for e in wrong_mail)
    # Mails carry no request id; where an address is short of mails by no more than its rejections,
    # the missing ones are counted as rejection mails (the usual cause: no rejection mail is sent).
    missing_rejections = sum(
        min(rejected_per_email[e], max(0, decided_per_email[e] - mails_per_email[e])) for e in wrong_mail
    )

    unexpected = [
        c
        for c in data.calls
        if c.status == 0
        or c.status >= 500
        or (c.status >= 400 and (c.status, c.code) not in EXPECTED_REFUSALS.get(c.kind, set()))
    ]
    by_kind = Counter(f"{c.kind} {c.name} {c.status} {c.code or '-'}" for c in unexpected)

    return [
        Check("slots over capacity", not over, str(len(over)), True, _examples(over)),
        Check(
            "slot counters equal the active bookings holding them",
            not drift and not unknown_slots,
            str(len(drift) + len(unknown_slots)),
            True,
            _examples(drift + unknown_slots),
        ),
        Check(
            "half bookings (one dose of two)",
            not half and not dangling,
            str(len(half) + len(dangling)),
            True,
            f"{len(half)} active booking(s) without a second dose, {len(dangling)} booked request(s) "
            "without their booking"
            if half or dangling
            else "",
        ),
        Check("people with two active bookings", not doubles, str(len(doubles)), True),
        Check("active bookings without their person lock", not unlocked, str(len(unlocked)), True),
        Check(
            "accepted requests never decided",
            not undecided and not lost,
            str(len(undecided) + len(lost)),
            True,
            f"{len(undecided)} still queued, {len(lost)} unknown to the store" if undecided or lost else "",
        ),
        Check(
            "one mail per decided request",
            not wrong_mail,
            f"{mails} mail(s) for {decided} decision(s)",
            True,
            f"{missing} missing ({missing_rejections} of them for rejected requests), {extra} extra, "
            f"over {len(wrong_mail)} address(es)"
            if wrong_mail
            else "",
        ),
        Check(
            "requests refused with an error other than 429 (or a bot's admission_required)",
            not unexpected,
            str(len(unexpected)),
            True,
            "; ".join(f"{k}: {n}" for k, n in by_kind.most_common(5)),
        ),
    ]


def fairness_checks(data: RushData) -> tuple[list[Check], dict]:
    figures: dict = {}
    checks: list[Check] = []
    requests_by_id = {a.request_id: a for a in data.accepted}
    active = [
        b
        for b in data.bookings
        if b.campaign_id == data.campaign_id and b.status == "active" and b.request_id in requests_by_id
    ]
    kinds = Counter(requests_by_id[b.request_id].kind for b in active)
    all_identities = sum(len(v) for v in data.identities.values())
    bot_identity_share = len(data.identities.get(BOT, ())) / all_identities if all_identities else 0.0
    bot_booking_share = kinds[BOT] / len(active) if active else 0.0
    figures |= {
        "bookings": len(active),
        "bookings_by_kind": dict(kinds),
        "identities_by_kind": {k: len(v) for k, v in data.identities.items()},
        "bot_identity_share": round(bot_identity_share, 3),
        "bot_booking_share": round(bot_booking_share, 3),
    }
    # Bots book no more than their identities entitle them to (each admission books one person, and a bot
    # cannot queue faster than anyone else); more would mean they beat the room.
    checks.append(
        Check(
            "bots' share of bookings ≤ their share of identities",
            bot_booking_share <= bot_identity_share + 0.05,
            f"{bot_booking_share:.0%} of bookings, {bot_identity_share:.0%} of identities",
            False,
        )
    )

    if data.opens_at is None:
        checks.append(
            Check(
                "arrival order kept (no waiting room active)",
                False,
                "not measured",
                False,
                "the campaign had no active waiting room",
            )
        )
        return checks, figures
    # Each place in a lane's queue is one admission: two entries let in at the same instant share a place.
    shared: Counter = Counter((e.lane, e.admitted_at) for e in data.entries if e.admitted_at is not None)
    doubled = sum(n for n in shared.values() if n > 1)
    checks.append(
        Check("each admission place given to one entry", doubled == 0, f"{doubled} entr(y/ies) sharing a place", False)
    )
    pre, post = order_groups(data)
    rho_post, rho_pre = arrival_admission_rho(post), arrival_admission_rho(pre)
    band = draw_band(len(pre))
    waiting = sum(1 for e in data.entries if e.admitted_at is None)
    entries_by_kind = Counter(e.kind for e in data.entries)
    figures |= {
        "entries_by_kind": dict(entries_by_kind),
        "bot_entry_share": round(entries_by_kind[BOT] / len(data.entries), 3) if data.entries else 0.0,
    }
    figures |= {
        "entries": len(data.entries),
        "entries_never_admitted": waiting,
        "admitted_after_opening": len(post),
        "admitted_pre_queue": len(pre),
        "rho_after_opening": None if rho_post is None else round(rho_post, 4),
        "rho_pre_queue": None if rho_pre is None else round(rho_pre, 4),
        "pre_queue_band": round(band, 3),
    }
    checks.append(
        Check(
            f"arrival vs admission order after opening: rho ≥ {POST_OPENING_GOAL}",
            rho_post is not None and rho_post >= POST_OPENING_GOAL,
            "n/a" if rho_post is None else f"{rho_post:.3f} (n={len(post)})",
            False,
        )
    )
    checks.append(
        Check(
            "arrival vs admission order of pre-queue arrivals: rho near 0 (a fair draw)",
            rho_pre is not None and abs(rho_pre) <= band,
            "n/a" if rho_pre is None else f"{rho_pre:+.3f} (n={len(pre)}, |rho| ≤ {band:.2f})",
            False,
        )
    )
    return checks, figures


def build_report(data: RushData) -> Report:
    fairness, figures = fairness_checks(data)
    status = Counter(c.status for c in data.calls)
    decisions = Counter(data.requests[a.request_id].status for a in data.accepted if a.request_id in data.requests)
    reasons = Counter(
        data.requests[a.request_id].reason
        for a in data.accepted
        if a.request_id in data.requests and data.requests[a.request_id].reason
    )
    figures = {
        "campaign": data.campaign_id,
        "calls": len(data.calls),
        "calls_by_status": {str(k): v for k, v in sorted(status.items())},
        "accepted_requests": len(data.accepted),
        "decisions": dict(decisions),
        "rejection_reasons": dict(reasons),
        **figures,
        "latency_ms_p50_p95_p99": latency_summary(data.calls),
        "unexpected_samples": data.samples[:5],
    }
    return Report(invariant_checks(data) + fairness, figures)


def latency_summary(calls: Sequence[Call]) -> dict[str, list[int]]:
    by_name: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        if c.status:
            by_name[c.name].append(c.latency_ms)
    out = {}
    for name, values in sorted(by_name.items()):
        values.sort()
        out[name] = [round(values[max(0, math.ceil(q / 100 * len(values)) - 1)]) for q in (50, 95, 99)]
    return out


def format_report(report: Report, strict: bool = False) -> str:
    lines = ["", "Rush report: invariants (a failure fails the run)"]
    for section, invariant in (
        ("", True),
        ("Fairness goals" + (" (strict: a miss fails the run)" if strict else " (reported)"), False),
    ):
        if section:
            lines += ["", section]
        for c in (c for c in report.checks if c.invariant is invariant):
            mark = "ok  " if c.ok else ("FAIL" if invariant or strict else "miss")
            lines.append(f"  [{mark}] {c.name}: {c.value}" + (f"  ({c.detail})" if c.detail else ""))
    lines += ["", "Figures"]
    lines += [f"  {k}: {v}" for k, v in report.figures.items()]
    failed = report.failed(strict)
    lines += ["", f"RESULT: {'FAIL' if failed else 'PASS'}" + (f" ({len(failed)} failed)" if failed else ""), ""]
    return "\n".join(lines)


def by_second(times: Sequence[float], t0: float) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for t in times:
        counts[int(t - t0)] += 1
    return dict(counts)
