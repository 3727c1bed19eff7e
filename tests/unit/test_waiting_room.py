"""The waiting room (contract §8): random order of the pre-queue, FCFS after opening, admission by rate,
admission tokens that expire and book for one person only."""

from __future__ import annotations

import ast
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.api import http
from chalicelib.booking.domain import UnknownCampaign
from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.ports import CountRefused, RoomStore
from chalicelib.waitingroom.services import COUNT_ATTEMPTS, PRE_SHARDS, SETTLED_AFTER_S, WaitingRoomService
from chalicelib.waitingroom.tokens import AdmissionTokens
from tests.fakes import FakeCatalog
from tests.unit.builders import CAMPAIGN, NOW

KEY = b"k" * 32
OPENS = NOW + timedelta(minutes=10)


class FakeRoomStore(RoomStore):
    def __init__(self):
        self.rooms: dict[str, w.RoomSettings] = {}
        self.entries: dict[str, w.Entry] = {}
        self.counters: dict[tuple, set[int]] = {}
        self.sealed: set[tuple] = set()  # counters a reader has fixed: DynamoRoomStore refuses later adds
        self.admissions: dict[str, str] = {}

    def settings(self, campaign_id):
        return self.rooms.get(campaign_id)

    def put_settings(self, settings):
        self.rooms[settings.campaign_id] = settings

    def add_entry(self, entry, expires_at):
        assert entry.entry_id not in self.entries
        self.entries[entry.entry_id] = entry

    def count_entry(self, entry, shard):
        period = "pre" if entry.phase is w.Phase.PRE else entry.second
        counter = (entry.campaign_id, entry.lane, period, shard)
        keys = self.counters.setdefault(counter, set())
        if counter in self.sealed or entry.order_key in keys:
            raise CountRefused(entry.entry_id)
        keys.add(entry.order_key)

    def entry(self, entry_id):
        return self.entries.get(entry_id)

    def _read(self, counter, seal):
        if seal:
            self.sealed.add(counter)
        return self.counters.get(counter, ())

    def pre_keys(self, campaign_id, lane, shards, seal):
        return [k for s in range(shards) for k in self._read((campaign_id, lane, "pre", s), seal)]

    def post_keys(self, campaign_id, lane, seconds, shards, seal_from):
        found = {}
        for second in seconds:
            keys = [k for s in range(shards) for k in self._read((campaign_id, lane, second, s), second >= seal_from)]
            if keys:
                found[second] = keys
        return found

    def bind_admission(self, jti, person_key, expires_at):
        return self.admissions.setdefault(jti, person_key) == person_key


class Room:
    def __init__(self, rate: int = 60, hotline_share: float = 0.0, active: bool = True, draw=None):
        self.now = NOW
        self.store = FakeRoomStore()
        catalog = FakeCatalog()
        catalog.add_campaign(CAMPAIGN)
        kwargs = {"draw": draw} if draw else {}
        self.service = WaitingRoomService(
            self.store, catalog, lambda: AdmissionTokens(KEY), clock=lambda: self.now, monotonic=lambda: 0.0, **kwargs
        )
        self.settings = w.RoomSettings(CAMPAIGN.id, active, NOW - timedelta(minutes=5), OPENS, rate, hotline_share)
        self.service.put_room(self.settings)

    def at(self, when: datetime) -> Room:
        self.now = when
        return self

    def enter(self, lane: w.Lane = w.Lane.WEB) -> str:
        return self.service.enter(CAMPAIGN.id, lane).state.entry.entry_id

    def state(self, entry_id: str) -> w.EntryState:
        return self.service.entry(entry_id).state

    def token(self, entry_id: str) -> str | None:
        return self.service.entry(entry_id).admission_token


def spearman(xs: list[int], ys: list[int]) -> float:
    n = len(xs)

    def rank(v: list[int]) -> dict[int, int]:
        return {x: i for i, x in enumerate(sorted(v))}

    rx, ry = rank(xs), rank(ys)
    return 1 - 6 * sum((rx[x] - ry[y]) ** 2 for x, y in zip(xs, ys, strict=True)) / (n * (n * n - 1))


# --- order ----------------------------------------------------------------------------------------


def test_pre_queue_entries_have_no_position_until_the_room_opens():
    room = Room()
    entry = room.service.enter(CAMPAIGN.id)
    assert entry.state.position is None and entry.state.eta_seconds is None and entry.admission_token is None
    assert room.at(OPENS - timedelta(seconds=1)).state(entry.state.entry.entry_id).position is None
    assert room.at(OPENS + timedelta(seconds=w.CLOSE_GRACE_S)).state(entry.state.entry.entry_id).position == 0


def test_at_opening_the_pre_queue_stands_in_the_order_of_its_random_draws_not_of_arrival():
    draws = iter([30, 10, 20])
    room = Room(rate=1, draw=lambda bits: next(draws))
    first, second, third = (room.enter() for _ in range(3))
    room.at(OPENS + timedelta(seconds=3))
    assert [room.state(e).position for e in (first, second, third)] == [2, 0, 1]


def test_the_real_draw_makes_the_pre_queue_order_independent_of_arrival():
    room = Room(rate=1)
    entries = [room.enter() for _ in range(300)]
    room.at(OPENS + timedelta(seconds=3))
    # An entry without a position drops out here, and the next line fails on the length.
    positions = [p for e in entries if (p := room.state(e).position) is not None]
    assert sorted(positions) == list(range(300))  # everyone has a distinct place
    # Independent order: Spearman's rho ~ N(0, 1/299); |rho| > 0.3 has a chance of about 1e-7.
    assert abs(spearman(list(range(300)), positions)) < 0.3


def test_after_opening_later_arrivals_queue_behind_the_pre_queue_first_come_first_served():
    room = Room(rate=1)
    pre = [room.enter() for _ in range(3)]
    later = []
    for offset in (0.2, 0.7, 1.1, 5.0):
        room.at(OPENS + timedelta(seconds=offset))
        later.append(room.enter())
    room.at(OPENS + timedelta(seconds=10))
    assert sorted(p for e in pre if (p := room.state(e).position) is not None) == [0, 1, 2]
    assert [room.state(e).position for e in later] == [3, 4, 5, 6]


def test_a_post_opening_entry_gets_its_position_once_its_arrival_second_has_closed():
    room = Room(rate=1)
    room.at(OPENS + timedelta(seconds=30))
    entry = room.enter()
    assert room.state(entry).position is None
    assert room.at(OPENS + timedelta(seconds=31 + w.CLOSE_GRACE_S)).state(entry).position == 0


class SlowCountStore(FakeRoomStore):
    """A store whose next count lands only after `meanwhile` has run: a write delayed past its period's close
    (botocore retries, a throttled partition, a paused Lambda)."""

    def __init__(self):
        super().__init__()
        self.meanwhile = None

    def count_entry(self, entry, shard):
        if self.meanwhile:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        super().count_entry(entry, shard)


def instance(store: FakeRoomStore, clock) -> WaitingRoomService:
    catalog = FakeCatalog()
    catalog.add_campaign(CAMPAIGN)
    return WaitingRoomService(store, catalog, lambda: AdmissionTokens(KEY), clock=clock, monotonic=lambda: 0.0)


def test_a_count_that_lands_after_its_second_was_read_never_gives_two_entries_one_place():
    # Two API instances on one store; rush's 150-user run saw four entries with one admitted_at this way:
    # an instance ranked a closed second before a slow count of it landed, another one after.
    store, now = SlowCountStore(), [OPENS + timedelta(seconds=30.1)]
    a, b = instance(store, lambda: now[0]), instance(store, lambda: now[0])
    a.put_room(w.RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=5), OPENS, 1))
    first = b.enter(CAMPAIGN.id).state.entry.entry_id
    seen_by_b = []

    def b_ranks_the_closed_second():
        now[0] = OPENS + timedelta(seconds=31 + w.CLOSE_GRACE_S)
        seen_by_b.append(b.entry(first).state.position)

    now[0] = OPENS + timedelta(seconds=30.6)
    store.meanwhile = b_ranks_the_closed_second
    slow = a.enter(CAMPAIGN.id).state.entry  # entered in second 30; its count lands after b ranked second 30
    now[0] = OPENS + timedelta(seconds=38)
    third = b.enter(CAMPAIGN.id).state.entry.entry_id
    now[0] = OPENS + timedelta(seconds=43)

    entries = [first, slow.entry_id, third]
    positions = {name: [service.entry(e).state.position for e in entries] for name, service in (("a", a), ("b", b))}
    assert positions == {"a": [0, 1, 2], "b": [0, 1, 2]}
    assert seen_by_b == [0]
    # The slow visitor queues as arriving when its count could land, behind whoever b had already ranked.
    assert slow.second == int((OPENS + timedelta(seconds=31 + w.CLOSE_GRACE_S)).timestamp())


def test_a_key_drawn_twice_is_counted_once_and_the_second_visitor_gets_a_place_of_its_own():
    draws = iter([7, 7, 9])
    room = Room(rate=1, draw=lambda bits: next(draws))
    first, second = room.enter(), room.enter()
    room.at(OPENS + timedelta(seconds=3))
    assert sorted(p for e in (first, second) if (p := room.state(e).position) is not None) == [0, 1]
    assert room.store.entries[second].order_key == 9


def test_periods_closed_longer_than_a_request_can_last_are_read_without_sealing():
    room = Room(rate=1)
    room.enter()
    room.at(OPENS + timedelta(seconds=30.5))
    late = room.enter()
    room.at(OPENS + timedelta(seconds=30 + SETTLED_AFTER_S + 5))
    assert room.state(late).eta_seconds == 26  # rank 1 (behind the pre-queue's one): let in at 120 s, now is 95 s
    assert not room.store.sealed  # nothing could land in them any more: no seal writes
    fresh = Room(rate=1)
    entry = fresh.enter()
    assert fresh.at(OPENS + timedelta(seconds=3)).state(entry).position == 0
    assert len(fresh.store.sealed) == PRE_SHARDS  # read right after opening: every pre-queue shard sealed


# --- polling pace (Retry-After) -------------------------------------------------------------------


def retry_after(room: Room, entry_id: str) -> int:
    return room.service.entry(entry_id).retry_after_s


def test_a_pre_queue_entry_is_sent_to_come_back_after_opening_spread_over_a_tenth_of_the_window():
    room = Room(rate=60)  # pre-queue window: 15 minutes, so the first polls spread over 90 s
    entry = room.service.enter(CAMPAIGN.id)
    until_ranked = (OPENS - NOW).total_seconds() + w.CLOSE_GRACE_S
    assert until_ranked <= entry.retry_after_s <= until_ranked + 90 + 1
    waits = {retry_after(room, entry.state.entry.entry_id) for _ in range(40)}
    assert min(waits) >= until_ranked and max(waits) <= until_ranked + 91 and len(waits) > 10
    assert w.opening_spread_s(room.settings) == 90
    long = w.RoomSettings(CAMPAIGN.id, True, OPENS - timedelta(hours=5), OPENS, 60)
    assert w.opening_spread_s(long) == w.OPENING_SPREAD_MAX_S


def test_after_opening_polls_come_at_the_eta_or_every_three_minutes_if_that_is_sooner():
    room = Room(rate=1)  # one a minute: long waits
    entries = [room.enter() for _ in range(20)]
    room.at(OPENS + timedelta(seconds=3))
    for entry in entries:
        state = room.state(entry)
        wait = retry_after(room, entry)
        if state.admitted:
            assert wait == 0
        else:
            assert state.eta_seconds is not None
            assert 1 <= wait <= min(state.eta_seconds, w.RETRY_AFTER_MAX_S)
            assert wait == max(1, min(w.RETRY_AFTER_MAX_S, state.eta_seconds))
    assert max(retry_after(room, e) for e in entries) == w.RETRY_AFTER_MAX_S
    head = min(entries, key=lambda e: room.state(e).eta_seconds or 0)  # an admitted one (None) fails below
    wait = retry_after(room, head)
    assert not room.state(head).admitted
    assert room.at(room.now + timedelta(seconds=wait)).state(head).admitted  # coming back then finds it let in


def test_a_post_opening_entry_comes_back_when_its_second_is_counted():
    room = Room(rate=60).at(OPENS + timedelta(seconds=30.4))
    entry = room.service.enter(CAMPAIGN.id)
    assert entry.retry_after_s == 3  # 31 s + 2 s grace - 30.4 s, rounded up


# --- admission ------------------------------------------------------------------------------------


def test_the_head_of_the_queue_is_let_in_at_the_admission_rate():
    room = Room(rate=60)  # one a second
    entries = sorted((room.enter() for _ in range(10)), key=lambda e: room.store.entries[e].order_key)
    room.at(OPENS + timedelta(seconds=4.5))
    states = [room.state(e) for e in entries]
    assert [s.admitted for s in states] == [True] * 4 + [False] * 6
    assert [s.position for s in states[4:]] == [0, 1, 2, 3, 4, 5]
    assert [s.eta_seconds for s in states[4:]] == [1, 2, 3, 4, 5, 6]
    assert states[0].admitted_at == OPENS + timedelta(seconds=1, microseconds=1)


def test_entering_is_refused_before_the_pre_queue_window_and_while_the_room_is_inactive():
    room = Room()
    with pytest.raises(w.RoomNotOpen):
        room.at(NOW - timedelta(minutes=6)).enter()
    inactive = Room(active=False)
    with pytest.raises(w.RoomNotOpen):
        inactive.enter()


def test_unknown_campaigns_and_entries_are_named_as_such():
    room = Room()
    with pytest.raises(UnknownCampaign):
        room.service.room("no-such-campaign")
    with pytest.raises(w.UnknownEntry):
        room.service.entry("no-such-entry")


class SlowReadStore(FakeRoomStore):
    """Reads that take a while (256 seals on DynamoDB), counted."""

    def __init__(self):
        super().__init__()
        self.reads = 0

    def pre_keys(self, campaign_id, lane, shards, seal):
        self.reads += 1
        time.sleep(0.05)
        return super().pre_keys(campaign_id, lane, shards, seal)

    def post_keys(self, campaign_id, lane, seconds, shards, seal_from):
        self.reads += 1
        time.sleep(0.05)
        return super().post_keys(campaign_id, lane, seconds, shards, seal_from)


@pytest.mark.parametrize("entered_at", [NOW, OPENS + timedelta(seconds=0.5)], ids=["pre-queue", "after opening"])
def test_polls_that_arrive_together_share_one_read_of_the_counts_per_process(entered_at):
    # At opening every pre-queue visitor is sent back within a few seconds; each read seals up to 256 items.
    store, now = SlowReadStore(), [entered_at]
    service = instance(store, lambda: now[0])
    service.put_room(w.RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=5), OPENS, 1))
    entries = [service.enter(CAMPAIGN.id).state.entry.entry_id for _ in range(8)]
    now[0] = OPENS + timedelta(seconds=4)
    with ThreadPoolExecutor(8) as pool:
        positions = sorted(p for p in pool.map(lambda e: service.entry(e).state.position, entries) if p is not None)
    assert positions == list(range(8))  # nobody let in yet (one a minute)
    assert store.reads == (1 if entered_at == NOW else 2)  # the pre-queue's keys; and the one closed second's


class HeldReadStore(FakeRoomStore):
    """A read of the pre-queue's counts that holds on until released (the first read after opening sealing 256
    shards on a loaded store), counted."""

    def __init__(self):
        super().__init__()
        self.reads = 0
        self.reading = threading.Event()
        self.release = threading.Event()

    def pre_keys(self, campaign_id, lane, shards, seal):
        self.reads += 1
        self.reading.set()
        assert self.release.wait(5)
        return super().pre_keys(campaign_id, lane, shards, seal)


def test_a_poll_that_finds_the_counts_being_read_answers_not_known_yet_and_comes_back_soon():
    store, now = HeldReadStore(), [NOW]
    catalog = FakeCatalog()
    catalog.add_campaign(CAMPAIGN)
    service = WaitingRoomService(
        store, catalog, lambda: AdmissionTokens(KEY), clock=lambda: now[0], monotonic=lambda: 0.0, read_wait_s=0.05
    )
    service.put_room(w.RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=5), OPENS, 60))
    first, second = (service.enter(CAMPAIGN.id).state.entry.entry_id for _ in range(2))
    now[0] = OPENS + timedelta(seconds=4)  # both are let in by now (one a second)
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(service.entry, first)
        assert store.reading.wait(5)
        meanwhile = service.entry(second)  # answers after read_wait_s, while the first read goes on
        store.release.set()
        assert reading.result().state.admitted
    assert meanwhile.state.position is None and meanwhile.admission_token is None
    assert meanwhile.retry_after_s == w.UNKNOWN_RETRY_S
    assert service.entry(second).state.admitted  # when it comes back, from the one read
    assert store.reads == 1


class RefusingStore(FakeRoomStore):
    """Every count refused, as when each try's period is sealed under it (a reader closing seconds at the pace
    of a rush) or its key is taken."""

    def count_entry(self, entry, shard):
        raise CountRefused(entry.entry_id)


def test_when_every_count_is_refused_the_visitor_is_told_to_come_back_with_a_503_not_a_500():
    store = RefusingStore()
    service = instance(store, lambda: OPENS + timedelta(seconds=5))
    service.put_room(w.RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=5), OPENS, 60))
    with pytest.raises(w.RoomBusy) as raised:
        service.enter(CAMPAIGN.id)
    assert len(store.entries) == COUNT_ATTEMPTS  # each try was a fresh entry; none was handed out

    response = http.error_response(http._translate(raised.value), "en")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(w.BUSY_RETRY_S)
    assert json.loads(response.body)["error"]["code"] == "service_unavailable"


def test_hotline_callers_are_let_in_from_their_reserved_share_of_the_rate():
    room = Room(rate=60, hotline_share=0.5)  # 30 a minute each: one every 2 s
    web = [room.enter() for _ in range(3)]
    phone = room.enter(w.Lane.HOTLINE)
    room.at(OPENS + timedelta(seconds=2.5))
    assert room.state(phone).admitted  # the only caller: at the head of the hotline lane
    assert sum(room.state(e).admitted for e in web) == 1


def test_without_a_hotline_share_callers_queue_in_the_web_lane_instead_of_waiting_for_ever():
    room = Room(rate=60, hotline_share=0.0)
    phone = room.enter(w.Lane.HOTLINE)
    assert room.store.entries[phone].lane is w.Lane.WEB
    assert room.at(OPENS + timedelta(seconds=3)).state(phone).admitted


# --- admission tokens -----------------------------------------------------------------------------


def admitted_token(room: Room) -> str:
    entry = room.enter()
    room.at(OPENS + timedelta(seconds=3))
    token = room.token(entry)
    assert token is not None
    return token


def test_booking_needs_an_admission_while_the_room_is_active():
    room = Room()
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, None, "person-a")
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, "not-a-token", "person-a")
    forged = AdmissionTokens(b"x" * 32).issue(CAMPAIGN.id, "e", "e", NOW, OPENS + timedelta(hours=1))
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, forged, "person-a")


def test_no_admission_is_needed_without_an_active_room():
    Room(active=False).service.check_admission(CAMPAIGN.id, None, "person-a")


def test_an_admission_books_for_one_person_only_who_may_use_it_again():
    room = Room()
    token = admitted_token(room)
    room.service.check_admission(CAMPAIGN.id, token, "person-a")
    room.service.check_admission(CAMPAIGN.id, token, "person-a")  # a retry of the same person
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, token, "person-b")


def test_polling_again_gives_the_same_admission_not_a_new_one():
    room = Room()
    entry = room.enter()
    room.at(OPENS + timedelta(seconds=3))
    room.service.check_admission(CAMPAIGN.id, room.token(entry), "person-a")
    room.at(OPENS + timedelta(seconds=4))
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, room.token(entry), "person-b")


def test_an_admission_expires_and_is_only_for_its_campaign():
    room = Room()
    token = admitted_token(room)
    room.store.put_settings(w.RoomSettings("other", True, NOW, OPENS, 60))
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission("other", token, "person-a")
    room.at(OPENS + timedelta(seconds=1) + w.ADMISSION_TTL + timedelta(seconds=1))
    with pytest.raises(w.AdmissionRequired):
        room.service.check_admission(CAMPAIGN.id, token, "person-a")


# --- properties -----------------------------------------------------------------------------------

settings_strategy = st.builds(
    lambda rate, share: w.RoomSettings("c", True, OPENS - timedelta(minutes=5), OPENS, rate, share),
    st.integers(1, w.MAX_ADMITTED_PER_MINUTE),
    st.floats(0, w.MAX_HOTLINE_SHARE),
)
lanes = st.sampled_from(list(w.Lane))
offsets = st.floats(min_value=-60, max_value=7200, allow_nan=False)


@given(settings_strategy, lanes, offsets, offsets)
def test_admissions_never_go_down_as_time_goes_on(settings, lane, a, b):
    early, late = sorted((a, b))
    assert settings.admitted(lane, OPENS + timedelta(seconds=early)) <= settings.admitted(
        lane, OPENS + timedelta(seconds=late)
    )


@given(settings_strategy, lanes, st.integers(0, 10**6), st.integers(0, 10**6), offsets)
def test_whoever_stands_ahead_is_let_in_no_later(settings, lane, r1, r2, offset):
    ahead, behind = sorted((r1, r2))
    now = OPENS + timedelta(seconds=offset)
    entry = w.Entry("e", "c", lane, w.Phase.PRE, 0, 0, OPENS)
    first, second = w.entry_state(settings, entry, ahead, now), w.entry_state(settings, entry, behind, now)
    assert first.admitted or not second.admitted
    if settings.rate_per_minute(lane) > 0:
        assert settings.admitted_at(lane, ahead) <= settings.admitted_at(lane, behind)
        assert (first.position or 0) <= (second.position or 0)


@given(settings_strategy, lanes, st.integers(0, 10**6))
def test_admitted_at_is_the_moment_the_rate_reaches_the_rank(settings, lane, rank):
    at = settings.admitted_at(lane, rank)
    if at is None:
        assert settings.rate_per_minute(lane) == 0
        return
    assert settings.admitted(lane, at) > rank
    assert settings.admitted(lane, at - timedelta(milliseconds=1)) <= rank


@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=50, unique=True))
def test_pre_queue_ranks_are_a_permutation_ordered_by_the_draw(keys):
    snapshot = w.QueueSnapshot(sorted(keys))
    ranks = [snapshot.rank(w.Entry(str(i), "c", w.Lane.WEB, w.Phase.PRE, k, 0, OPENS)) for i, k in enumerate(keys)]
    assert sorted(ranks) == list(range(len(keys)))
    for (k1, r1), (k2, r2) in itertools.combinations(zip(keys, ranks, strict=True), 2):
        assert (k1 < k2) == (r1 < r2)


# --- layering and settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["chalicelib/waitingroom/domain.py", "chalicelib/waitingroom/ports.py", "chalicelib/waitingroom/services.py"],
)
def test_the_waiting_rooms_rules_import_no_infrastructure(path):
    tree = ast.parse((Path(__file__).resolve().parents[2] / path).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"boto3", "botocore", "pynamodb", "chalice", "aws_lambda_powertools", "jwt"}


def test_only_the_local_stage_has_a_default_admission_token_key(monkeypatch):
    from chalicelib import settings

    for name, value in {
        "TABLE_NAME": "t",
        "IDEMPOTENCY_TABLE_NAME": "i",
        "BOOKING_QUEUE_NAME": "b",
        "NOTIFY_QUEUE_NAME": "n",
        "MAIL_SENDER": "m@example.org",
        "PERSON_KEY_PEPPER": "p",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ADMISSION_TOKEN_KEY", raising=False)
    monkeypatch.setenv("VAXSLOT_STAGE", "local")
    settings.get_settings.cache_clear()
    assert settings.get_settings().admission_token_key
    monkeypatch.setenv("VAXSLOT_STAGE", "prod")
    monkeypatch.setenv("PERSON_KEY_PEPPER_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:000000000000:secret:p")
    settings.get_settings.cache_clear()
    try:
        assert settings.get_settings().admission_token_key is None
    finally:
        settings.get_settings.cache_clear()


def test_a_short_admission_token_key_is_refused():
    with pytest.raises(ValueError):
        AdmissionTokens(b"short")


def test_without_an_active_room_booking_never_needs_the_signing_key():
    def no_key():
        raise RuntimeError("no admission token key on this stage")

    room = Room(active=False)
    service = WaitingRoomService(room.store, room.service._catalog, no_key, clock=lambda: NOW)
    service.check_admission(CAMPAIGN.id, None, "person-a")
    service.check_admission("campaign-without-room", "whatever", "person-a")
