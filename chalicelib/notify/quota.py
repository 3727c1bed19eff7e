"""The daily mail quota per address, on the shared limiter (keyed hash of the address, no address stored)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.limits.domain import Limit, TooManyRequests
from chalicelib.limits.limiter import Limiter
from chalicelib.notify.ports import MailQuota

DAY_S = 24 * 3600


def daily_limit(mails_per_day: int) -> Limit:
    return Limit("mails", mails_per_day, DAY_S)


class LimiterMailQuota(MailQuota):
    def __init__(self, limiter: Callable[[], Limiter], mails_per_day: int):
        # The limiter is asked for on the first mail: mail_events builds the same MailService to record
        # feedback only, and must not need the pepper the limiter hashes addresses with.
        self._limiter = limiter
        self._limit = daily_limit(mails_per_day)

    def take(self, address: str) -> bool:
        try:
            self._limiter().hit(self._limit, address.strip().casefold())
        except TooManyRequests:
            return False
        return True
