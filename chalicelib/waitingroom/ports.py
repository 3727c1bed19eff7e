"""What the waiting room needs from storage: a small interface (PynamoDB adapter in dynamo.py, fake in tests)."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from datetime import datetime

from chalicelib.waitingroom.domain import Entry, Lane, RoomSettings


class CountRefused(Exception):
    """The counter would not take the key: its period is sealed (a reader has fixed its counts), or the key is
    counted already (another entry drew it, or a retried write of this one landed before)."""


class RoomStore(abc.ABC):
    @abc.abstractmethod
    def settings(self, campaign_id: str) -> RoomSettings | None: ...

    @abc.abstractmethod
    def put_settings(self, settings: RoomSettings) -> None: ...

    @abc.abstractmethod
    def add_entry(self, entry: Entry, expires_at: datetime) -> None:
        """Store a new entry (one conditional write); raise if its id exists already."""

    @abc.abstractmethod
    def count_entry(self, entry: Entry, shard: int) -> None:
        """Add the entry's order key to one shard of its period's counter: one conditional set ADD, refused
        (CountRefused) if the shard is sealed or holds the key already, so counted keys are unique and a
        sealed count never changes."""

    @abc.abstractmethod
    def entry(self, entry_id: str) -> Entry | None: ...

    @abc.abstractmethod
    def pre_keys(self, campaign_id: str, lane: Lane, shards: int, seal: bool) -> list[int]:
        """Every counted pre-queue key of the lane, over all shards (unsorted). With `seal`, seals every shard
        it reads (missing ones too), so the answer is final: every later read gives the same keys."""

    @abc.abstractmethod
    def post_keys(
        self, campaign_id: str, lane: Lane, seconds: Iterable[int], shards: int, seal_from: int
    ) -> dict[int, list[int]]:
        """The counted keys of each given arrival second of the lane, over all shards (seconds without
        entries may be missing). Seals the shards of seconds from `seal_from` on, like pre_keys."""

    @abc.abstractmethod
    def bind_admission(self, jti: str, person_key: str, expires_at: datetime) -> bool:
        """Bind an admission to a person: True if it is now (or already was) bound to this person, False if
        another person holds it. One conditional write."""
