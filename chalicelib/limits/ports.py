"""What the limiter needs from storage: counters that add atomically, conditionally."""

from __future__ import annotations

import abc

from chalicelib.booking.ports import Admission


class Counters(abc.ABC):
    @abc.abstractmethod
    def add(self, key: str, window_start: int, expires_at: int, amount: int, ceiling: int | None) -> bool:
        """Add `amount` to the counter of (key, window_start) and return True; if `ceiling` is given and the
        counter would go above it, change nothing and return False. Atomic per counter."""

    @abc.abstractmethod
    def value(self, key: str, window_start: int) -> int:
        """The counter's value (0 if it was never added to)."""

    @abc.abstractmethod
    def add_in_write(
        self, key: str, window_start: int, expires_at: int, amount: int, ceiling: int, refusal: Exception
    ) -> Admission:
        """The same conditional add, made not now but by the write that stores what it admits (a booking
        request: one call instead of two); when the counter would go above `ceiling`, that write changes
        nothing and raises `refusal`."""
