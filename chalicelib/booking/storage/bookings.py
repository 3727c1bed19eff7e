"""The bookings adapter: requests, bookings and person locks, changed together in transactions.

A cancelled transaction is translated here into the domain outcome it means.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditRecord
from chalicelib.booking.ports import Admission, Bookings
from chalicelib.booking.storage.audit import audit_item
from chalicelib.booking.storage.models import (
    ERASED,
    PERSONAL_ATTRIBUTES,
    BookingItem,
    HoldItem,
    PersonLockItem,
    RequestItem,
    SlotItem,
    SubmissionItem,
    booking_from_item,
    booking_item,
    booking_key,
    epoch,
    hold_from_item,
    hold_key,
    letter_mark_key,
    lock_key,
    pairs_from_json,
    pairs_to_json,
    request_key,
    slots_pk,
    submission_key,
)
from chalicelib.dynamo_binding import TableItem

# How long a submission answers with the same request: a client's retries come within seconds or minutes;
# the same body sent the next day (e.g. after a rejection) is a new request.
SUBMISSION_WINDOW = timedelta(hours=24)
# DynamoDB cancels a transaction that races another one on the same item (TransactionConflict);
# that is contention, not an answer, so it is retried here a few times with jitter.
CONFLICT_RETRIES = 4


class WritableAdmission(Protocol):
    """An admission this adapter can write: one conditional update (model, actions, condition) in the
    request's transaction. The limits package's DynamoDB adapter makes them; booking never imports it."""

    def conditional_update(self) -> tuple[Model, list[Action], Condition]: ...

    def refusal(self) -> Exception: ...


# An erasure reads the booking's marked operations, then writes: a mark made in between makes it read again.
ERASE_ATTEMPTS = 3


def _writable(admission: Admission | None) -> WritableAdmission | None:
    if admission is not None and not hasattr(admission, "conditional_update"):
        raise TypeError(f"{type(admission).__name__} cannot be written in a DynamoDB transaction")
    return cast(WritableAdmission | None, admission)


def _refuse_if_full(failed: set[str], admission: WritableAdmission | None) -> None:
    if "limit" in failed and admission is not None:
        raise admission.refusal()


def failed_conditions(error: TransactWriteError) -> list[bool]:
    return [r is not None and r.code == "ConditionalCheckFailed" for r in error.cancellation_reasons or []]


def _is_conflict(error: TransactWriteError) -> bool:
    codes = {r.code for r in error.cancellation_reasons or [] if r is not None}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


def _version_is(booking: d.Booking):
    """Items written before versions existed have none, which is version 0."""
    if booking.version:
        return BookingItem.version == booking.version
    return BookingItem.version.does_not_exist() | (BookingItem.version == 0)


def _attribute_is(attribute, value: str | None):
    """The attribute holds `value`; None is an absent attribute (PynamoDB does not write None)."""
    return attribute == value if value is not None else attribute.does_not_exist()


def _as_read(booking: d.Booking):
    """The condition that the booking item is still what was read: active, on the same slots, same version."""
    version = _version_is(booking)
    second = (
        BookingItem.second_slot_id == booking.second.slot_id
        if booking.second
        else BookingItem.second_slot_id.does_not_exist()
    )
    return (
        (BookingItem.status == d.BookingStatus.ACTIVE.value)
        & (BookingItem.first_slot_id == booking.first.slot_id)
        & second
        & version
    )


class Items:
    """The items of one transaction, each with what its failed condition means (a label, or None: no domain
    outcome). PynamoDB sends them grouped by kind (condition checks, deletes, puts, updates), not in the order
    added, so a cancelled transaction's reasons are matched to labels in that order, not by counting."""

    def __init__(self, tx: TransactWrite):
        self._tx = tx
        self._labels: dict[str, list[str | None]] = {"delete": [], "put": [], "update": []}

    def delete(self, model, condition=None, label: str | None = None) -> None:
        self._tx.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def save(self, model, condition=None, label: str | None = None) -> None:
        self._tx.save(model, condition=condition)
        self._labels["put"].append(label)

    def update(self, model, actions, condition=None, label: str | None = None) -> None:
        self._tx.update(model, actions=actions, condition=condition)
        self._labels["update"].append(label)

    def failed(self, error: TransactWriteError) -> set[str]:
        order = self._labels["delete"] + self._labels["put"] + self._labels["update"]
        return {label for label, hit in zip(order, failed_conditions(error), strict=False) if hit and label}


def add_cancel_items(
    items: Items,
    booking: d.Booking,
    person_key: str,
    cancelled_at: datetime,
    operation_id: str | None = None,
    audit: AuditRecord | None = None,
    taking: tuple[d.SlotRef, ...] = (),
) -> None:
    """Cancel the booking as read, give its slots back and free the person's lock (label "booking": it changed
    since it was read, or was cancelled before). One way for a person's, an agent's and an operation's cancel.

    `taking`: seats taken in the same write (a pair held for the person; labels "first", "second": full),
    netted per slot against those given back as a rebook nets them (one operation per item)."""
    actions = [
        BookingItem.status.set(d.BookingStatus.CANCELLED.value),
        BookingItem.cancelled_at.set(cancelled_at.isoformat()),
    ]
    if operation_id is not None:
        actions.append(BookingItem.operation_id.set(operation_id))
    # On the slots and version as read: a booking rebooked since gives back its new slots, not the old ones.
    items.update(BookingItem(*booking_key(booking.code)), actions, condition=_as_read(booking), label="booking")
    slots_key = slots_pk(booking.campaign_id, booking.center_id)
    labels = {ref.slot_id: label for ref, label in zip(taking, ("first", "second"), strict=False)}
    for slot_id, delta in d.counter_changes(booking.appointments, taking).items():
        if delta > 0:
            items.update(
                SlotItem(slots_key, slot_id),
                [SlotItem.booked.add(1)],
                condition=SlotItem.booked < SlotItem.capacity,
                label=labels[slot_id],
            )
        else:
            items.update(SlotItem(slots_key, slot_id), [SlotItem.booked.add(-1)], condition=SlotItem.booked > 0)
    items.delete(
        PersonLockItem(*lock_key(person_key, booking.series)), condition=PersonLockItem.booking_code == booking.code
    )
    if audit is not None:  # a staff action: its record is written with it or not at all
        items.save(audit_item(audit))


def _appointment_actions(booking: d.Booking) -> list:
    """Set the booking item's appointments to the booking's (removing a second dose it no longer has)."""
    second = booking.second
    return [
        BookingItem.first_slot_id.set(booking.first.slot_id),
        BookingItem.first_start.set(booking.first.start.isoformat()),
        BookingItem.first_end.set(booking.first.end.isoformat()),
        *(
            [
                BookingItem.second_slot_id.set(second.slot_id),
                BookingItem.second_start.set(second.start.isoformat()),
                BookingItem.second_end.set(second.end.isoformat()),
            ]
            if second
            else [
                BookingItem.second_slot_id.remove(),
                BookingItem.second_start.remove(),
                BookingItem.second_end.remove(),
            ]
        ),
    ]


def add_retention_items(
    items: Items, booking: d.Booking, person_key: str, expires_at: datetime, with_request: bool = True
) -> None:
    """Give the person lock and the request the booking's new expiry: the retention runs from the last
    appointment, which a rebook, a move or an added second dose changes, and DynamoDB must not delete the lock
    (letting the person book twice) or the request while the booking is active. The lock is written back if
    its TTL removed it already; one that names another booking is not ours (label "lock")."""
    items.update(
        PersonLockItem(*lock_key(person_key, booking.series)),
        [PersonLockItem.booking_code.set(booking.code), PersonLockItem.expires_at.set(epoch(expires_at))],
        condition=PersonLockItem.pk.does_not_exist() | (PersonLockItem.booking_code == booking.code),
        label="lock",
    )
    if not with_request:
        return
    items.update(
        RequestItem(*request_key(booking.request_id)),
        [RequestItem.expires_at.set(epoch(expires_at))],
        condition=RequestItem.pk.exists(),
        label="request",
    )


def add_counter_changes(items: Items, slots_key: str, changes: dict[str, int], taken: dict[str, str]) -> None:
    """A swap's slot counters, netted per slot: a seat taken needs room (its label, "first" or "second", names
    the slot that had none); a seat given back needs a count to give back (a failure there, without a label,
    means the counters drifted: no domain outcome, raised as is)."""
    for slot_id, delta in changes.items():
        items.update(
            SlotItem(slots_key, slot_id),
            [SlotItem.booked.add(1 if delta > 0 else -1)],
            condition=(SlotItem.booked < SlotItem.capacity) if delta > 0 else (SlotItem.booked > 0),
            label=taken[slot_id] if delta > 0 else None,
        )


class DynamoBookings(Bookings):
    def __init__(
        self,
        connection: Connection,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(d.LOCAL_TZ),
        retention: timedelta = d.DEFAULT_RETENTION,
    ):
        self._connection = connection
        self._sleep = sleep
        self._now = clock
        self._retention = retention

    def _expired(self, item) -> bool:
        """DynamoDB deletes an item up to 48 h after its TTL (moto never does): past it, it reads as gone."""
        return item.expires_at is not None and item.expires_at <= self._now().timestamp()

    def _transact(self, add_items: Callable[[TransactWrite], None], token: str | None = None) -> None:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with TransactWrite(connection=self._connection, client_request_token=token) as tx:
                    add_items(tx)
                return
            except TransactWriteError as error:
                if not _is_conflict(error) or attempt == CONFLICT_RETRIES:
                    raise
                self._sleep(random.uniform(0, 0.02 * 2**attempt))

    def _write(self, add_items: Callable[[Items], None]) -> set[str]:
        """Run the transaction (conflicts retried); the labels of the items whose condition failed, empty when it
        committed. A transaction cancelled for a reason no label names is raised as it is."""
        last: list[Items] = []

        def fill(tx: TransactWrite) -> None:
            items = Items(tx)
            last[:] = [items]
            add_items(items)

        try:
            self._transact(fill)
        except TransactWriteError as error:
            failed = last[0].failed(error) if last else set()
            if not failed:
                raise
            return failed
        return set()

    def add_request(
        self,
        request: d.BookingRequest,
        created_at: datetime,
        submission: d.Submission | None = None,
        admission: Admission | None = None,
    ) -> None:
        pk, sk = request_key(request.request_id)
        item = RequestItem(
            pk,
            sk,
            status=d.RequestStatus.QUEUED.value,
            campaign_id=request.campaign_id,
            created_at=created_at.isoformat(),
            expires_at=epoch(created_at + self._retention),
            channel=request.channel.value,
            agent=request.agent,
        )
        counted = _writable(admission)
        if submission is None and counted is None:
            item.save(condition=RequestItem.pk.does_not_exist())
            return

        def add_request_items(items: Items) -> None:
            # One call for all: the request, the claim of its submission and its count against the limit (issue #9).
            items.save(item, condition=RequestItem.pk.does_not_exist())
            if counted is not None:
                items.update(*counted.conditional_update(), label="limit")

        if submission is None:
            _refuse_if_full(self._write(add_request_items), counted)
            return
        key = submission_key(submission.key)
        claim = SubmissionItem(
            *key,
            request_id=request.request_id,
            body_hash=submission.body_hash,
            expires_at=int((created_at + SUBMISSION_WINDOW).timestamp()),
        )

        def add_items(items: Items) -> None:
            condition = SubmissionItem.pk.does_not_exist() | (SubmissionItem.expires_at < int(created_at.timestamp()))
            items.save(claim, condition=condition, label="submission")
            add_request_items(items)

        failed = self._write(add_items)
        if not failed:
            return
        if "submission" not in failed:
            _refuse_if_full(failed, counted)
        # Read only now that the claim is known to be held by an earlier submission.
        earlier = SubmissionItem.get(*key, consistent_read=True)
        if earlier.body_hash != submission.body_hash:
            raise d.IdempotencyKeyReused() from None
        state = self.request_state(earlier.request_id)
        if state is not None and state.reason is d.RejectReason.NOT_PROCESSED:
            # The system could not decide it, and asking again must be safe: this one is a new request.
            def replace_claim(items: Items) -> None:
                items.save(claim, condition=SubmissionItem.request_id == earlier.request_id)
                add_request_items(items)

            _refuse_if_full(self._write(replace_claim), counted)
            return
        status = state.status if state else d.RequestStatus.QUEUED
        raise d.DuplicateSubmission(earlier.request_id, status) from None

    def request_state(self, request_id: str) -> d.RequestState | None:
        try:
            item = RequestItem.get(*request_key(request_id), consistent_read=True)
        except RequestItem.DoesNotExist:
            return None
        if self._expired(item):
            return None
        alternatives: tuple[d.SlotPair, ...] = ()
        if item.alternatives:
            campaign_center = json.loads(item.alternatives)
            alternatives = pairs_from_json(
                json.dumps(campaign_center["pairs"]), item.campaign_id, campaign_center["center_id"]
            )
        return d.RequestState(
            request_id=request_id,
            status=d.RequestStatus(item.status),
            booking_code=item.booking_code,
            reason=d.RejectReason(item.reason) if item.reason else None,
            alternatives=alternatives,
        )

    def reserve(self, booking: d.Booking, person_key: str) -> None:
        slots_key = slots_pk(booking.campaign_id, booking.center_id)
        token_source = "|".join([booking.request_id] + [a.slot_id for a in booking.appointments])
        # What a failed condition of each item means, in the order DynamoDB reports the reasons. PynamoDB
        # sends items grouped by kind (condition checks, deletes, puts, updates), not in the order added.
        meanings: list[type[d.DomainError] | None] = [
            None,  # put booking: a booking-code collision (p ≈ 2**-49), not a domain outcome
            d.AlreadyBooked,  # put person lock
            *[d.FirstSlotTaken, d.SecondSlotTaken][: len(booking.appointments)],  # update slot counters
            d.RequestAlreadyDecided,  # update request
        ]

        # Booking, lock and request (it names the code) are deleted together, a retention after the last appointment.
        expires_at = booking.personal_data_expires_at(self._retention)

        def add_items(tx: TransactWrite) -> None:
            for appointment in booking.appointments:
                tx.update(
                    SlotItem(slots_key, appointment.slot_id),
                    actions=[SlotItem.booked.add(1)],
                    condition=SlotItem.booked < SlotItem.capacity,
                )
            tx.save(
                booking_item(booking, booking.created_at or self._now(), expires_at),
                condition=BookingItem.pk.does_not_exist(),
            )
            # A lock past its TTL that DynamoDB has not deleted yet no longer counts (as in holds_booking).
            tx.save(
                PersonLockItem(
                    *lock_key(person_key, booking.series), booking_code=booking.code, expires_at=epoch(expires_at)
                ),
                condition=PersonLockItem.pk.does_not_exist() | (PersonLockItem.expires_at <= epoch(self._now())),
            )
            tx.update(
                RequestItem(*request_key(booking.request_id)),
                actions=[
                    RequestItem.status.set(d.RequestStatus.BOOKED.value),
                    RequestItem.booking_code.set(booking.code),
                    RequestItem.expires_at.set(epoch(expires_at)),
                ],
                condition=RequestItem.status == d.RequestStatus.QUEUED.value,
            )

        try:
            # Same request, same pair → same token: a call retried by the SDK cannot book twice.
            self._transact(add_items, token=hashlib.sha256(token_source.encode()).hexdigest()[:36])
        except TransactWriteError as error:
            # An error without cancellation reasons names no failed condition: strict=False on purpose.
            failed = {meaning for meaning, hit in zip(meanings, failed_conditions(error), strict=False) if hit}
            # A decided request outranks everything (duplicate delivery), then the person lock.
            for outcome in (d.RequestAlreadyDecided, d.AlreadyBooked, d.FirstSlotTaken, d.SecondSlotTaken):
                if outcome in failed:
                    raise outcome() from error
            raise

    def holds_booking(self, person_key: str, series: str) -> bool:
        try:
            item = PersonLockItem.get(*lock_key(person_key, series), consistent_read=True)
        except PersonLockItem.DoesNotExist:
            return False
        return not self._expired(item)

    def person_locks(self, person_key: str) -> dict[str, str]:
        pk, _ = lock_key(person_key, "")
        return {
            item.sk.removeprefix("SERIES#"): item.booking_code
            for item in PersonLockItem.query(pk, PersonLockItem.sk.startswith("SERIES#"), consistent_read=True)
            if not self._expired(item)
        }

    def reject(self, request_id: str, reason: d.RejectReason, alternatives: list[d.SlotPair]) -> bool:
        center_id = alternatives[0].first.center_id if alternatives else ""
        payload = json.dumps({"center_id": center_id, "pairs": json.loads(pairs_to_json(alternatives))})
        try:
            RequestItem(*request_key(request_id)).update(
                actions=[
                    RequestItem.status.set(d.RequestStatus.REJECTED.value),
                    RequestItem.reason.set(reason.value),
                    RequestItem.alternatives.set(payload),
                ],
                condition=RequestItem.status == d.RequestStatus.QUEUED.value,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def booking(self, code: str) -> d.Booking | None:
        try:
            item = BookingItem.get(*booking_key(code), consistent_read=True)
        except BookingItem.DoesNotExist:
            return None
        if item.status == ERASED or self._expired(item):
            return None
        return booking_from_item(item)

    def active_bookings(self) -> Iterator[d.Booking]:
        scan = BookingItem.scan(
            (BookingItem.sk == "BOOKING") & (BookingItem.status == d.BookingStatus.ACTIVE.value),
            consistent_read=True,
        )
        return (booking_from_item(item) for item in scan if not self._expired(item))

    def erase(self, booking: d.Booking) -> None:
        """Leave a tombstone: the booking item without personal data (status `erased`). The booking must be
        cancelled first (that gave its slots back and deleted its lock). Its letter marks go in the same
        transaction, under every operation it was marked under (`marked_under`): their code links them to the
        person."""
        if booking.status is d.BookingStatus.ACTIVE:
            raise ValueError("cancel an active booking before erasing it: its slots must go back first")
        for _ in range(ERASE_ATTEMPTS):  # a mark made between the read and the write: read the marks again
            if self._erase_as_marked(booking.code):
                return
            current = self.booking(booking.code)
            if current is not None and current.status is d.BookingStatus.ACTIVE:
                break
        raise d.BookingChanged()  # active again (a held pair taken meanwhile): cancel it first, then erase

    def _erase_as_marked(self, code: str) -> bool:
        """One erasure with the marks read now; False if the booking is active or was marked meanwhile."""
        try:
            # With the key: an item without marked_under would read as absent, its projection being empty.
            stored = BookingItem.get(*booking_key(code), consistent_read=True, attributes_to_get=["pk", "marked_under"])
        except BookingItem.DoesNotExist:
            raise d.BookingNotFound() from None
        marked_under = sorted(stored.marked_under or ())
        same_marks = (
            BookingItem.marked_under == set(marked_under) if marked_under else BookingItem.marked_under.does_not_exist()
        )

        def add_items(items: Items) -> None:
            for operation_id in marked_under:  # an undone mark is no longer there: deleting it is no error
                items.delete(TableItem(*letter_mark_key(operation_id, code)))
            items.update(
                BookingItem(*booking_key(code)),
                [
                    BookingItem.status.set(ERASED),
                    BookingItem.erased_at.set(self._now().isoformat()),
                    *[getattr(BookingItem, name).remove() for name in PERSONAL_ATTRIBUTES],
                ],
                condition=BookingItem.pk.exists() & (BookingItem.status != d.BookingStatus.ACTIVE.value) & same_marks,
                label="booking",
            )

        return not self._write(add_items)

    def _moved_actions(self, new: d.Booking, expires_at: datetime) -> list:
        return [
            *_appointment_actions(new),
            BookingItem.version.set(new.version),
            BookingItem.rebooked_at.set(self._now().isoformat()),
            BookingItem.expires_at.set(epoch(expires_at)),
        ]

    def cancel(self, booking: d.Booking, person_key: str, audit: AuditRecord | None = None) -> bool:
        failed = self._write(lambda items: add_cancel_items(items, booking, person_key, self._now(), audit=audit))
        if "booking" in failed:
            current = self.booking(booking.code)
            if current is not None and current.status is d.BookingStatus.ACTIVE:
                raise d.BookingChanged()
            return False  # cancelled before: nothing to give back
        return True

    def rebook(self, old: d.Booking, new: d.Booking, person_key: str, audit: AuditRecord | None = None) -> None:
        slots_key = slots_pk(old.campaign_id, old.center_id)
        changes = d.counter_changes(old.appointments, new.appointments)
        outcomes = {"first": d.FirstSlotTaken, "second": d.SecondSlotTaken}
        taken = {ref.slot_id: label for ref, label in zip(new.appointments, outcomes, strict=False)}
        expires_at = new.personal_data_expires_at(self._retention)

        def add_items(items: Items, with_request: bool) -> None:
            items.update(
                BookingItem(*booking_key(old.code)),
                # The retention runs from the last appointment, which may have moved.
                self._moved_actions(new, expires_at),
                condition=_as_read(old),
                label="booking",
            )
            add_counter_changes(items, slots_key, changes, taken)
            add_retention_items(items, new, person_key, expires_at, with_request)
            if audit is not None:  # an agent's rebook: its record is written with the swap or not at all
                items.save(audit_item(audit))

        failed = self._write(lambda items: add_items(items, True))
        if failed == {"request"}:
            # Only a booking written before requests shared its expiry can outlive its request: swap without it.
            failed = self._write(lambda items: add_items(items, False))
        for label, outcome in (
            ("booking", d.BookingChanged),
            ("first", d.FirstSlotTaken),
            ("second", d.SecondSlotTaken),
        ):
            if label in failed:
                raise outcome()
        if failed:  # the lock names another booking: the person holds two, which the swap must not hide
            raise d.AlreadyBooked()

    def change_contact(self, old: d.Booking, new: d.Booking, audit: AuditRecord) -> None:
        # As read: active, same appointments and version, and the same contact (another agent's correction in
        # between is not overwritten unseen). The version is left alone: it numbers appointment changes.
        person = new.person
        contact_as_read = (
            _attribute_is(BookingItem.email, old.person.email)
            & _attribute_is(BookingItem.phone, old.person.phone)
            & (
                (BookingItem.contact_revision == old.contact_revision)
                if old.contact_revision
                else BookingItem.contact_revision.does_not_exist()
            )
        )
        changed_at = new.contact_changed_at
        assert changed_at is not None  # set by Booking.with_contact

        def add_items(items: Items) -> None:
            items.update(
                BookingItem(*booking_key(old.code)),
                [
                    BookingItem.email.set(person.email) if person.email else BookingItem.email.remove(),
                    BookingItem.phone.set(person.phone) if person.phone else BookingItem.phone.remove(),
                    BookingItem.contact_revision.set(new.contact_revision),
                    BookingItem.contact_changed_at.set(changed_at.isoformat()),
                ],
                condition=_as_read(old) & contact_as_read,
                label="booking",
            )
            items.save(audit_item(audit))  # written with the change or not at all

        if "booking" in self._write(add_items):
            current = self.booking(old.code)
            if current is None:
                raise d.BookingNotFound()
            if current.status is not d.BookingStatus.ACTIVE:
                raise d.BookingNotActive()
            raise d.BookingChanged()

    # --- a pair held after a centre-day cancel (placed by `DynamoSupply.cancel_for_operation`) ---------------

    def hold(self, code: str) -> d.Hold | None:
        try:
            return hold_from_item(HoldItem.get(*hold_key(code), consistent_read=True))
        except HoldItem.DoesNotExist:
            return None

    def holds(self) -> Iterator[d.Hold]:
        scan = HoldItem.scan(HoldItem.sk == "HOLD", consistent_read=True)
        return (hold_from_item(item) for item in scan)

    def confirm_hold(
        self,
        booking: d.Booking,
        hold: d.Hold,
        person_key: str,
        audit: AuditRecord | None = None,
        pair: tuple[d.SlotRef, d.SlotRef | None] | None = None,
    ) -> d.Booking:
        first, second = pair if pair is not None else (hold.first, hold.second)
        confirmed = replace(booking.rebooked(first, second), status=d.BookingStatus.ACTIVE)
        expires_at = confirmed.personal_data_expires_at(self._retention)
        now = epoch(self._now())
        slots_key = slots_pk(hold.campaign_id, hold.center_id)
        # The held pair: no counter changes (its seats pass to the booking). Another pair: its seats taken and the
        # held ones given back, netted per slot (one operation per item), as a rebook nets them.
        changes = d.counter_changes(hold.appointments, confirmed.appointments)
        taken = {ref.slot_id: label for ref, label in zip(confirmed.appointments, ("first", "second"), strict=False)}

        def add_items(items: Items, with_request: bool) -> None:
            add_counter_changes(items, slots_key, changes, taken)
            items.update(
                BookingItem(*booking_key(booking.code)),
                [
                    BookingItem.status.set(d.BookingStatus.ACTIVE.value),
                    BookingItem.cancelled_at.remove(),
                    # Not the operation's any more: a rerun of it must not find the booking again.
                    BookingItem.operation_id.remove(),
                    *self._moved_actions(confirmed, expires_at),
                ],
                condition=(BookingItem.status == d.BookingStatus.CANCELLED.value)
                & (BookingItem.operation_id == hold.operation_id)
                & _version_is(booking),
                label="booking",
            )
            items.delete(
                HoldItem(*hold_key(hold.code)),
                condition=_hold_as_read(hold) & (HoldItem.held_until > now),
                label="hold",
            )
            # A lock past its TTL that DynamoDB has not deleted yet no longer counts (as in reserve).
            items.save(
                PersonLockItem(
                    *lock_key(person_key, booking.series), booking_code=booking.code, expires_at=epoch(expires_at)
                ),
                condition=PersonLockItem.pk.does_not_exist() | (PersonLockItem.expires_at <= now),
                label="lock",
            )
            if with_request:
                items.update(
                    RequestItem(*request_key(booking.request_id)),
                    [RequestItem.expires_at.set(epoch(expires_at))],
                    condition=RequestItem.pk.exists(),
                    label="request",
                )
            if audit is not None:
                items.save(audit_item(audit))

        failed = self._write(lambda items: add_items(items, True))
        if failed == {"request"}:
            failed = self._write(lambda items: add_items(items, False))
        for label, outcome in (
            ("booking", d.HoldLapsed),
            ("hold", d.HoldLapsed),
            ("first", d.FirstSlotTaken),
            ("second", d.SecondSlotTaken),
            ("lock", d.AlreadyBooked),
        ):
            if label in failed:
                raise outcome()
        return confirmed

    def release_hold(self, hold: d.Hold, lapsed_only: bool) -> bool:
        condition = _hold_as_read(hold)
        if lapsed_only:
            condition &= HoldItem.held_until <= epoch(self._now())
        slots_key = slots_pk(hold.campaign_id, hold.center_id)

        def add_items(items: Items) -> None:
            items.delete(HoldItem(*hold_key(hold.code)), condition=condition, label="hold")
            for appointment in hold.appointments:
                items.update(
                    SlotItem(slots_key, appointment.slot_id), [SlotItem.booked.add(-1)], condition=SlotItem.booked > 0
                )

        return "hold" not in self._write(add_items)


def _hold_as_read(hold: d.Hold):
    """The hold item is still this hold: a later operation may hold another pair for the same booking."""
    return (
        HoldItem.pk.exists()
        & (HoldItem.operation_id == hold.operation_id)
        & (HoldItem.first_slot_id == hold.first.slot_id)
        & (HoldItem.held_until == epoch(hold.until))
    )
