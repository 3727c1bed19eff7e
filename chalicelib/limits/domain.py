"""The arithmetic of fixed-window limits, in plain Python (no storage, no clock of its own).

A limit allows `max_hits` in each window of `window_s` seconds; windows are aligned to multiples of
`window_s` since the Unix epoch (so an hour window is a clock hour, in UTC and in Berlin alike), unless a
use anchors its own window (a verification's attempts count from when the code was sent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class TooManyRequests(Exception):
    """A limit is reached: answer 429 with Retry-After; nothing was changed."""

    def __init__(self, retry_after_s: int):
        super().__init__(retry_after_s)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Limit:
    name: str  # part of the stored key: one counter space per limit
    max_hits: int
    window_s: int
    # A key that many requests hit at once (one client address under attack) is split over shards, each
    # allowing max_hits // shards: never more than max_hits in total (at most shards - 1 fewer), and no
    # counter item takes all the writes. A shard is drawn at random, so a client may be refused a little
    # before the total is reached (when its shard is full and another is not).
    shards: int = 1

    def __post_init__(self):
        if self.max_hits < 0 or self.window_s < 1 or not 1 <= self.shards <= max(1, self.max_hits):
            raise ValueError(f"limit {self.name}: max_hits >= 0, window_s >= 1, 1 <= shards <= max_hits")

    @property
    def enabled(self) -> bool:
        return self.max_hits > 0

    @property
    def max_per_shard(self) -> int:
        return self.max_hits // self.shards


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds, inclusive
    end: int  # epoch seconds, exclusive

    def retry_after_s(self, now: float) -> int:
        """Whole seconds until the window ends, at least 1 (a Retry-After of 0 invites a tight loop)."""
        return max(1, math.ceil(self.end - now))

    def contains(self, now: float) -> bool:
        return self.start <= now < self.end


def window_of(limit: Limit, now: float, anchor: float | None = None) -> Window:
    """The window `now` falls in: aligned to the epoch, or counted from `anchor` in steps of window_s."""
    origin = 0.0 if anchor is None else anchor
    index = math.floor((now - origin) / limit.window_s)
    start = int(origin + index * limit.window_s)
    return Window(start, start + limit.window_s)


def shard_of(limit: Limit, draw: float) -> int:
    """The shard for a uniform draw in [0, 1)."""
    return min(limit.shards - 1, int(draw * limit.shards))
