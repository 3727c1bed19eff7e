"""The rush's plots: matplotlib (Agg, no display), one PNG per view and one overview of all five."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and before pyplot is imported
import matplotlib.pyplot as plt

from infra.rush import timeline as tl
from infra.rush.report import RushData


def _span(data: RushData) -> int:
    ends = [c.started_at for c in data.calls] + [e.let_in_at for e in data.entries if e.let_in_at]
    ends += [b.created_at for b in data.bookings]
    return max(1, math.ceil(max(ends, default=data.started_at + 1) - data.started_at) + 1)


def _opening(ax, data: RushData) -> None:
    if data.opens_at is not None:
        ax.axvline(data.opens_at - data.started_at, color="grey", linestyle="--", linewidth=1, label="opening")


def arrivals(ax, data: RushData, n: int) -> None:
    xs = range(n)
    ax.step(
        xs, tl.per_second((e.sent_at for e in data.entries), data.started_at, n), where="post", label="entered the room"
    )
    ax.step(
        xs,
        tl.per_second((e.let_in_at for e in data.entries if e.let_in_at), data.started_at, n),
        where="post",
        label="let in (as the visitor learnt)",
    )
    ax.set_title("Arrivals and admissions per second")
    ax.set_ylabel("per second")


def queue(ax, data: RushData, n: int) -> None:
    ax.plot(range(n), tl.queue_length(data.entries, data.started_at, n), label="waiting")
    ax.set_title("Queue length (entries made, not yet let in)")
    ax.set_ylabel("entries")


def bookings(ax, data: RushData, n: int) -> None:
    ax.step(
        range(n),
        tl.per_second((b.created_at for b in data.bookings), data.started_at, n),
        where="post",
        label="bookings",
    )
    ax.set_title("Bookings per second (both doses, as stored)")
    ax.set_ylabel("per second")


def latency(ax, data: RushData, n: int) -> None:
    for q, series in tl.latency_percentiles(data.calls, data.started_at, n).items():
        ax.plot(range(n), [math.nan if v is None else v for v in series], label=f"p{q:g}")
    ax.set_yscale("log")
    ax.set_title("Latency of every call (ms)")
    ax.set_ylabel("ms")


def errors(ax, data: RushData, n: int) -> None:
    for name, series in sorted(tl.errors_per_second(data.calls, data.started_at, n).items()):
        ax.step(range(n), series, where="post", label=name)
    ax.set_title("Refusals and errors per second")
    ax.set_ylabel("per second")


VIEWS: dict[str, Callable] = {
    "arrivals": arrivals,
    "queue": queue,
    "bookings": bookings,
    "latency": latency,
    "errors": errors,
}


def _finish(ax, data: RushData) -> None:
    _opening(ax, data)
    ax.set_xlabel("seconds since the start")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize="small")


def write_plots(data: RushData, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    n = _span(data)
    written = []
    for name, draw in VIEWS.items():
        fig, ax = plt.subplots(figsize=(9, 3.5))
        draw(ax, data, n)
        _finish(ax, data)
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=90)
        plt.close(fig)
        written.append(folder / f"{name}.png")
    fig, axes = plt.subplots(len(VIEWS), 1, figsize=(9, 2.6 * len(VIEWS)), sharex=True)
    for ax, draw in zip(axes, VIEWS.values(), strict=True):
        draw(ax, data, n)
        _finish(ax, data)
    fig.tight_layout()
    fig.savefig(folder / "overview.png", dpi=80)
    plt.close(fig)
    written.append(folder / "overview.png")
    return written
