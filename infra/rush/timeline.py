"""Per-second series of a rush run for the plots (plain Python; seconds counted from the run's start)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from infra.rush.report import EXPECTED_REFUSALS, Call, EntryObs


def per_second(times: Iterable[float], t0: float, length: int) -> list[int]:
    counts = [0] * length
    for t in times:
        i = math.floor(t - t0)
        if 0 <= i < length:
            counts[i] += 1
    return counts


def queue_length(entries: Sequence[EntryObs], t0: float, length: int) -> list[int]:
    """Entries that had been made and were not yet let in (as their visitors learnt), at the end of each second."""
    out = []
    for i in range(length):
        t = t0 + i + 1
        out.append(sum(1 for e in entries if e.sent_at <= t and (e.let_in_at is None or e.let_in_at > t)))
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_percentiles(
    calls: Sequence[Call], t0: float, length: int, qs: Sequence[float] = (50, 95, 99)
) -> dict[float, list[float | None]]:
    buckets: dict[int, list[float]] = defaultdict(list)
    for c in calls:
        if c.status:  # a call with no answer has no latency worth plotting; it shows as an error
            buckets[int(c.started_at - t0)].append(c.latency_ms)
    return {q: [percentile(buckets[i], q) if buckets.get(i) else None for i in range(length)] for q in qs}


def error_class(call: Call) -> str | None:
    if call.status == 0:
        return "no answer"
    if call.status >= 500:
        return "5xx"
    if call.status == 429:
        return "429"
    if call.status >= 400:
        expected = (call.status, call.code) in EXPECTED_REFUSALS.get(call.kind, set())
        return f"{call.status} {call.code}" if expected else "other 4xx"
    return None


def errors_per_second(calls: Sequence[Call], t0: float, length: int) -> dict[str, list[int]]:
    series: dict[str, list[int]] = {}
    for c in calls:
        cls = error_class(c)
        i = int(c.started_at - t0)
        if cls is None or not 0 <= i < length:
            continue
        series.setdefault(cls, [0] * length)[i] += 1
    return series
