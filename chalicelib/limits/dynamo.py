"""Limit counters in the bookings table: pk `LIMIT#<limit>#<keyed hash>#<shard>`, sk `WINDOW#<start>`.

The key holds no personal data: the service hashes every subject (code, address, person) with the pepper.
The window is part of the key, so an old window is never read again; `expires_at` lets DynamoDB's TTL
delete it later (moto never does, which changes nothing here).
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.booking.ports import Admission
from chalicelib.dynamo_binding import TableItem
from chalicelib.limits.ports import Counters


class CounterItem(TableItem):
    n = NumberAttribute(default=0)
    expires_at = NumberAttribute()  # TTL


def _keys(key: str, window_start: int) -> tuple[str, str]:
    return f"LIMIT#{key}", f"WINDOW#{window_start}"


@dataclass(frozen=True)
class CounterAdmission(Admission):
    """One conditional ADD in another adapter's transaction (booking's WritableAdmission)."""

    item: CounterItem
    amount: int
    expires_at: int
    ceiling: int
    refused: Exception

    def conditional_update(self) -> tuple[Model, list[Action], Condition]:
        actions: list[Action] = [CounterItem.n.add(self.amount), CounterItem.expires_at.set(self.expires_at)]
        return self.item, actions, _at_most(self.ceiling, self.amount)

    def refusal(self) -> Exception:
        return self.refused


def _at_most(ceiling: int, amount: int) -> Condition:
    # One conditional ADD: no read-then-write race, whatever the number of concurrent callers.
    return CounterItem.n.does_not_exist() | (CounterItem.n <= ceiling - amount)


class DynamoCounters(Counters):
    def add_in_write(
        self, key: str, window_start: int, expires_at: int, amount: int, ceiling: int, refusal: Exception
    ) -> Admission:
        return CounterAdmission(CounterItem(*_keys(key, window_start)), amount, expires_at, ceiling, refusal)

    def add(self, key: str, window_start: int, expires_at: int, amount: int, ceiling: int | None) -> bool:
        item = CounterItem(*_keys(key, window_start))
        condition = None if ceiling is None else _at_most(ceiling, amount)
        try:
            item.update(
                actions=[CounterItem.n.add(amount), CounterItem.expires_at.set(expires_at)], condition=condition
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def value(self, key: str, window_start: int) -> int:
        try:
            return int(CounterItem.get(*_keys(key, window_start), consistent_read=True).n)
        except CounterItem.DoesNotExist:
            return 0
