"""What vaxslot limits, and how much (docs/abuse.md lists the figures); the HTTP edge and the services call it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Admission
from chalicelib.limits.domain import Limit
from chalicelib.limits.limiter import Limiter, Ticket


@dataclass(frozen=True)
class Policy:
    code_attempts: Limit  # wrong birth dates per booking code (contract §5: 10 per clock hour)
    client: Limit  # requests per client address (only those that carry X-Forwarded-For)
    person: Limit  # booking requests per person identity (the person key)
    verification_client: Limit  # verification codes sent per client address
    verification_address: Limit  # verification codes sent per e-mail address
    verification_attempts: Limit  # wrong codes per verification (counted from when it was sent)


class AbuseLimits:
    def __init__(self, limiter: Limiter, policy: Policy, person_key_pepper: bytes):
        self._limiter = limiter
        self.policy = policy
        self._pepper = person_key_pepper

    def admit_client(self, address: str) -> None:
        self._limiter.hit(self.policy.client, address)

    def booking_request_admission(self, person: d.Person) -> Admission | None:
        """The per-person limit, counted by the write that stores the request (`Bookings.add_request`): a
        request refused stores nothing, and a retry of the same submission is not counted again."""
        return self._limiter.hit_in_write(self.policy.person, person.key(self._pepper))

    def admit_verification(self, client_address: str | None, email: str) -> None:
        if client_address is not None:
            self._limiter.hit(self.policy.verification_client, client_address)
        self._limiter.hit(self.policy.verification_address, email.strip().casefold())

    @contextmanager
    def code_attempt(self, code: str) -> Iterator[None]:
        """Around a look-up by booking code and birth date: a wrong date (or an unknown code, which must look
        the same) uses up one of the code's attempts; anything else gives it back.

        The attempt is taken before the look-up, so concurrent guesses cannot get past the limit.
        """
        ticket = self._limiter.hit(self.policy.code_attempts, d.normalise_booking_code(code))
        try:
            yield
        except d.BookingNotFound:
            raise
        except BaseException:
            self._limiter.give_back(ticket)
            raise
        self._limiter.give_back(ticket)

    def take_verification_attempt(self, verification_id: str, sent_at: float) -> Ticket | None:
        return self._limiter.hit(self.policy.verification_attempts, verification_id, anchor=sent_at)

    def give_back(self, ticket: Ticket | None) -> None:
        self._limiter.give_back(ticket)
