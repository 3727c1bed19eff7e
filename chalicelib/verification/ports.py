"""Where verifications are kept."""

from __future__ import annotations

import abc
from datetime import datetime

from chalicelib.verification.domain import Verification


class Verifications(abc.ABC):
    @abc.abstractmethod
    def add(self, verification: Verification) -> None: ...

    @abc.abstractmethod
    def get(self, verification_id: str) -> Verification | None: ...

    @abc.abstractmethod
    def mark_verified(self, verification_id: str, until: datetime) -> None:
        """Record the first right code; a later call keeps the first `until`."""
