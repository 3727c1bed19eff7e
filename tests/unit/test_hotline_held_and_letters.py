"""The hotline after a centre-day operation, with fakes: an agent finds a caller whose booking was cancelled with a
pair held for them (by code, and by name through the person's pointer) and sees the hold; callers without e-mail
get a letter (who, where, the held pair or how to book again, the text), listed per operation and audited; so do
those whose address bounced; staff mark each letter sent or its caller reached, once, and can take a mark back;
an erasure on request deletes the booking's mark."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.api import staff as staff_edge
from chalicelib.booking import domain as d
from chalicelib.booking.audit import AuditAction
from chalicelib.booking.letter_marks import LetterMark, LetterMarkKind, LetterReason
from chalicelib.booking.operations import LetterKind, OperationsService
from chalicelib.bootstrap import SuppressedAddresses
from chalicelib.privacy.services import PersonQuery, PrivacyService
from tests.fakes import FakeLetterMarks, FakeSuppressionList
from tests.unit.builders import NOW, PEPPER, person, slot
from tests.unit.test_hotline import AGENT, StaffWorld, caller_without_email
from tests.unit.test_supply_changes import OLGA, Clock, day_operation, move_operation, supply_of

SITE = "https://impfen.example.org"


_MARKS: dict[int, FakeLetterMarks] = {}
_BOUNCES: dict[int, FakeSuppressionList] = {}


def marks_of(world: StaffWorld) -> FakeLetterMarks:
    return _MARKS.setdefault(id(world), FakeLetterMarks(world.bookings))


def bounces_of(world: StaffWorld) -> FakeSuppressionList:
    return _BOUNCES.setdefault(id(world), FakeSuppressionList())


def ops(world: StaffWorld, clock=lambda: NOW) -> OperationsService:
    return OperationsService(
        world.catalog,
        clock=clock,
        supply=supply_of(world),  # type: ignore[arg-type]  # any world with catalog and bookings
        bookings=world.bookings,
        outbox=world.outbox,
        person_key_pepper=b"test-pepper",
        site_url=SITE,
        letter_marks=marks_of(world),
        # The composition's adapter over notify's suppression list (here its fake).
        bounced=SuppressedAddresses(bounces_of(world)),
    )


def cancelled_world(clock=None) -> tuple[StaffWorld, dict[str, str], d.Slot, d.Slot]:
    """Day 3 (+24) cancelled for three people: Erna (phone only), Frieda (post only), Grete (e-mail). One spare
    pair on day 5 (+26): the first of them in code order is held it, the others are offered to book again."""
    spare_first, spare_second = slot(5, 9, 1), slot(26, 9, 1)
    world = StaffWorld([slot(3, 9, 5), slot(24, 9, 5), spare_first, spare_second])
    codes = {}
    for who in (caller_without_email("Erna"), replace(caller_without_email("Frieda"), phone=None), person("Grete")):
        code = world.book_by_phone(slot(3, 9, 5), who).booking_code
        assert code is not None
        codes[who.given_name] = code
    ops(world, clock or (lambda: NOW)).cancel_centre_days(day_operation("letters"), batch=50, actor=OLGA)
    return world, codes, spare_first, spare_second


def holder(world: StaffWorld, codes: dict[str, str]) -> str:
    [hold] = world.bookings.holds()
    return next(name for name, code in codes.items() if code == hold.code)


def test_an_agent_finds_a_centre_cancelled_caller_by_code_or_by_name_with_the_pair_held_for_them():
    world, codes, spare_first, spare_second = cancelled_world()
    name = holder(world, codes)
    who = next(
        p
        for p in (caller_without_email("Erna"), caller_without_email("Frieda"), person("Grete"))
        if p.given_name == name
    )

    by_code = world.staff.lookup(codes[name], who.birth_date)
    [by_name] = world.staff.find(who.given_name, who.family_name, who.birth_date, who.postal_code)

    for view in (by_code, by_name):
        assert view.booking.status is d.BookingStatus.CANCELLED and view.booking.code == codes[name]
        assert view.hold is not None and (view.hold.first, view.hold.second) == (spare_first.ref, spare_second.ref)
    body = staff_edge.staff_booking(by_name)
    assert body["held"]["first"]["slot_id"] == spare_first.slot_id
    assert body["held"]["until"] == (NOW + d.HOLD_FOR).isoformat()
    # The wrong postal code finds nothing, as for active bookings.
    assert world.staff.find(who.given_name, who.family_name, who.birth_date, "50679") == []
    # Cancelled with nothing held: nothing for the agent to act on, so not listed by name.
    other = next(p for p in (caller_without_email("Erna"), caller_without_email("Frieda")) if p.given_name != name)
    assert world.staff.find(other.given_name, other.family_name, other.birth_date, other.postal_code) == []


def test_once_the_hold_lapses_the_caller_is_no_longer_listed_and_the_look_up_names_no_pair():
    clock = Clock()
    world, codes, _, _ = cancelled_world(clock)
    world.staff._now = clock  # the staff service reads the hold's time with the same clock
    world.queries._now = clock
    name = holder(world, codes)
    who = caller_without_email(name) if name != "Grete" else person("Grete")
    clock.now = NOW + d.HOLD_FOR

    assert world.staff.find(who.given_name, who.family_name, who.birth_date, who.postal_code) == []
    assert world.staff.lookup(codes[name], who.birth_date).hold is None


def test_callers_without_e_mail_get_a_letter_with_the_held_pair_or_how_to_book_again_and_the_mail_ones_do_not():
    world, codes, _, _ = cancelled_world()
    name = holder(world, codes)

    page = ops(world).letters("letters", None, 100)

    by_name = {x.booking.person.given_name: x for x in page.letters}
    assert set(by_name) == {"Erna", "Frieda"} and page.cursor is None
    assert all(x.kind is LetterKind.CANCELLED for x in page.letters)
    for given, letter in by_name.items():
        text = letter.text()
        assert letter.booking.code in text and f"{given} Müller" in text
        assert "1940" not in text  # no birth date: it is what the person proves themselves with
        if given == name:
            assert letter.hold is not None and "06.02.2021, 09:00 Uhr" in text  # the held first dose
            assert f"{SITE}/#/booking?code={letter.booking.code}" in text
        else:
            assert letter.hold is None and "Bitte buchen Sie neue Termine" in text
    body = staff_edge.letter(by_name["Frieda"])
    assert body["recipient"] == {
        "given_name": "Frieda",
        "family_name": "Müller",
        "postal_address": "Hauptstr. 1\n44141 Dortmund",
        "phone": None,
    }
    assert "birth_date" not in str(body) and "email" not in body["recipient"] and "@" not in str(body)


def test_a_moved_booking_gets_a_letter_with_its_new_appointments_and_a_confirmed_hold_none():
    first, second, target = slot(3, 9, 5), slot(24, 9, 5), slot(2, 9, 5)
    world = StaffWorld([first, second, target])
    code = world.book_by_phone(first, caller_without_email()).booking_code
    ops(world).cancel_centre_days(move_operation("letters-move", 3, 2), batch=50, actor=OLGA)

    [letter] = ops(world).letters("letters-move", None, 100).letters

    assert (letter.booking.code, letter.kind, letter.booking.first) == (code, LetterKind.MOVED, target.ref)
    assert "03.02.2021, 09:00 Uhr" in letter.text() and "verlegen" in letter.text()

    held_world, codes, spare_first, _ = cancelled_world()
    name = holder(held_world, codes)
    held_world.service.rebook(codes[name], caller_without_email(name).birth_date, spare_first.slot_id, False)
    assert {x.booking.person.given_name for x in ops(held_world).letters("letters", None, 100).letters} == (
        {"Erna", "Frieda"} - {name}
    )


def test_letters_are_read_in_pages_and_each_read_is_audited_with_the_codes_only():
    world, codes, _, _ = cancelled_world()
    seen, cursor, pages = [], None, 0
    while True:
        page = ops(world).letters("letters", cursor, 1)
        world.staff.letters_listed(AGENT, "letters", [x.booking.code for x in page.letters])
        seen += [x.booking.code for x in page.letters]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted([codes["Erna"], codes["Frieda"]]) and pages >= 2
    records = [r for r in world.audit_log.records if r.action == AuditAction.LETTERS_LISTED]
    assert len(records) == pages and all(r.target == "letters" and r.actor == AGENT.user for r in records)
    assert sorted(c for r in records for c in r.after["codes"]) == sorted(seen)
    assert "Müller" not in str([r.after for r in records]) and "Hauptstr" not in str([r.after for r in records])


def test_a_letter_marked_sent_or_called_is_shown_counted_and_left_out_of_the_open_ones_and_the_first_mark_stands():
    world, codes, _, _ = cancelled_world()
    service = ops(world)

    mark, changed = service.mark_letter(AGENT, "letters", codes["Erna"].lower(), LetterMarkKind.CALLED)
    again, changed_again = service.mark_letter(
        replace(AGENT, user="agent-2"), "letters", codes["Erna"], LetterMarkKind.SENT
    )

    assert changed and (mark.code, mark.kind, mark.by, mark.at) == (
        codes["Erna"],
        LetterMarkKind.CALLED,
        AGENT.user,
        NOW,
    )
    assert not changed_again and again == mark  # marking twice changes nothing: the first mark stands
    [record] = [r for r in world.audit_log.records if r.action == AuditAction.LETTER_MARKED]
    assert (record.target, record.actor, record.after) == (
        "letters",
        AGENT.user,
        {"code": codes["Erna"], "mark": "called"},
    )

    page = service.letters("letters", None, 100)
    by_name = {x.booking.person.given_name: x for x in page.letters}
    assert by_name["Erna"].mark == mark and by_name["Frieda"].mark is None
    assert (page.open, page.done, page.done_in_operation) == (1, 1, 1)
    assert staff_edge.letter(by_name["Erna"])["mark"] == {"mark": "called", "by": AGENT.user, "at": NOW.isoformat()}
    assert staff_edge.letters_page(page)["counts"] == {"open": 1, "done": 1, "done_in_operation": 1}

    open_only = service.letters("letters", None, 100, only_open=True)
    assert [x.booking.code for x in open_only.letters] == [codes["Frieda"]]
    assert (open_only.open, open_only.done) == (1, 1)  # the page's counts still name the letter left out


def test_only_a_booking_the_operation_owes_a_letter_can_be_marked_and_a_refused_mark_writes_nothing():
    world, codes, _, _ = cancelled_world()
    other = StaffWorld([slot(3, 9, 5), slot(24, 9, 5)])
    stranger = other.book_by_phone(slot(3, 9, 5), caller_without_email("Ida")).booking_code
    assert stranger is not None
    # Cancelled on the operation's centre and days, but not by the operation (by the person, say): no letter.
    world.bookings.bookings[stranger] = other.bookings.bookings[stranger].cancelled()
    service = ops(world)

    for code in (codes["Grete"], "ZZZZ-ZZZZ-ZZ", stranger):  # Grete's notice went out by mail
        with pytest.raises(d.BookingNotFound):
            service.mark_letter(AGENT, "letters", code, LetterMarkKind.SENT)
        with pytest.raises(d.BookingNotFound):  # nor taken back: not on the list, whatever is stored
            service.unmark_letter(AGENT, "letters", code)
    with pytest.raises(d.UnknownOperation):
        service.mark_letter(AGENT, "no-such-operation", codes["Erna"], LetterMarkKind.SENT)
    with pytest.raises(d.UnknownOperation):
        service.unmark_letter(AGENT, "no-such-operation", codes["Erna"])
    assert marks_of(world).marks("letters") == {}
    assert not [
        r for r in world.audit_log.records if r.action in (AuditAction.LETTER_MARKED, AuditAction.LETTER_UNMARKED)
    ]


def test_a_mark_taken_back_opens_the_letter_again_audited_with_the_mark_it_took_and_a_repeat_changes_nothing():
    world, codes, _, _ = cancelled_world()
    service = ops(world)
    mark, _ = service.mark_letter(AGENT, "letters", codes["Erna"], LetterMarkKind.SENT)
    service.mark_letter(AGENT, "letters", codes["Frieda"], LetterMarkKind.CALLED)
    colleague = replace(AGENT, user="agent-2")

    code, removed = service.unmark_letter(colleague, "letters", codes["Erna"].lower())
    again = service.unmark_letter(AGENT, "letters", codes["Erna"])

    assert (code, removed) == (codes["Erna"], mark)
    assert again == (codes["Erna"], None)  # nothing to take back: answered as it is
    [record] = [r for r in world.audit_log.records if r.action == AuditAction.LETTER_UNMARKED]
    assert (record.target, record.actor, record.before, record.after) == (
        "letters",
        colleague.user,
        {"code": codes["Erna"], "mark": "sent", "by": AGENT.user, "at": NOW.isoformat()},
        {"code": codes["Erna"], "mark": None},
    )
    page = service.letters("letters", None, 100)
    assert {x.booking.person.given_name: x.mark is None for x in page.letters} == {"Erna": True, "Frieda": False}
    assert (page.open, page.done, page.done_in_operation) == (1, 1, 1)
    assert [x.booking.code for x in service.letters("letters", None, 100, only_open=True).letters] == [codes["Erna"]]
    # Open again, so it can be marked again (the other way this time), audited as a new mark.
    remarked, changed = service.mark_letter(colleague, "letters", codes["Erna"], LetterMarkKind.CALLED)
    assert changed and remarked.kind is LetterMarkKind.CALLED


class ColleagueInBetween(FakeLetterMarks):
    """Between the service's read of the mark and its write, a colleague takes it back and marks anew (once)."""

    def __init__(self, bookings, anew: LetterMark):
        super().__init__(bookings)
        self.anew: LetterMark | None = anew

    def unmark(self, operation_id, booking, mark, audit):
        if self.anew is not None:
            self.marks_by_operation[operation_id][booking.code], self.anew = self.anew, None
        return super().unmark(operation_id, booking, mark, audit)


def test_a_mark_taken_back_and_made_anew_meanwhile_is_read_again_so_the_record_names_the_mark_that_went():
    world, codes, _, _ = cancelled_world()
    made, _ = ops(world).mark_letter(AGENT, "letters", codes["Erna"], LetterMarkKind.SENT)
    anew = replace(made, kind=LetterMarkKind.CALLED, by="agent-3")
    _MARKS[id(world)] = ColleagueInBetween(world.bookings, anew)  # the same store: the fakes share the bookings'

    _, removed = ops(world).unmark_letter(AGENT, "letters", codes["Erna"])

    assert removed == anew and marks_of(world).mark_of("letters", codes["Erna"]) is None
    [record] = [r for r in world.audit_log.records if r.action == AuditAction.LETTER_UNMARKED]
    assert (record.before["mark"], record.before["by"]) == ("called", "agent-3")


def test_erasing_a_person_on_request_deletes_their_letter_mark_and_no_one_elses():
    world, codes, _, _ = cancelled_world()
    service = ops(world)
    for name in ("Erna", "Frieda"):
        service.mark_letter(AGENT, "letters", codes[name], LetterMarkKind.SENT)
    privacy = PrivacyService(
        world.queries, world.service, world.bookings, FakeSuppressionList(), PEPPER, d.HOLD_FOR, clock=lambda: NOW
    )

    [erasure] = privacy.erase(PersonQuery(caller_without_email("Erna").birth_date, code=codes["Erna"]))

    assert erasure.code == codes["Erna"] and codes["Erna"] in world.bookings.erased
    assert set(marks_of(world).marks("letters")) == {codes["Frieda"]}


def test_a_person_whose_notice_bounced_gets_a_letter_with_the_reason_and_can_be_marked():
    world, codes, _, _ = cancelled_world()
    service = ops(world)
    assert "Grete" not in {x.booking.person.given_name for x in service.letters("letters", None, 100).letters}

    bounces_of(world).suppress(world.bookings.booking(codes["Grete"]).person.email.upper(), "bounce")

    page = service.letters("letters", None, 100)
    reasons = {x.booking.person.given_name: x.reason for x in page.letters}
    assert reasons == {
        "Erna": LetterReason.NO_EMAIL,
        "Frieda": LetterReason.NO_EMAIL,
        "Grete": LetterReason.EMAIL_BOUNCED,
    }
    body = staff_edge.letter(next(x for x in page.letters if x.booking.code == codes["Grete"]))
    assert body["reason"] == "email_bounced" and "email" not in body["recipient"] and "@" not in str(body)
    _, changed = service.mark_letter(AGENT, "letters", codes["Grete"], LetterMarkKind.SENT)
    assert changed
