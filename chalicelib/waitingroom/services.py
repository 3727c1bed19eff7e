"""The waiting room's use cases: settings, entering, polling an entry, and the admission check for booking."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.booking.domain import UnknownCampaign
from chalicelib.booking.ports import Catalog
from chalicelib.waitingroom import domain as w
from chalicelib.waitingroom.ports import CountRefused, RoomStore
from chalicelib.waitingroom.tokens import AdmissionTokens

# The pre-queue's counter, spread over this many items: each is written by ~1/256 of the visitors and holds
# ~1/256 of the draws (a write is charged for the whole item: ~26 KB, 26 WRU, at the end of a 10 x 2021 window).
PRE_SHARDS = 256
POST_SHARDS = 4  # per arrival second; 4 items take ~4,000 entries/s before one partition is the limit
COUNT_ATTEMPTS = 3  # a refused count (sealed period, key taken) is retried as a new entry this often
# A count is sent by a request that started inside its period, and the API function's timeout (10 s,
# .chalice/config.json) ends it: a period closed longer ago than this cannot change and is read without sealing
# (so a late first reader of a long rush does not write a seal for every second of it).
SETTLED_AFTER_S = 60
ENTRY_RETENTION = timedelta(days=2)
PRE_KEY_BITS = 62
_SYSTEM_RANDOM = secrets.SystemRandom()  # the jitter of the pre-queue's first polls
SETTINGS_CACHE_S = 5.0  # ops' changes reach every instance within this; a rush reads settings per request
# A poll that finds another of this process's polls reading (and sealing) the counts it needs waits this long for
# that read, then answers "not known yet" (position null, Retry-After domain.UNKNOWN_RETRY_S) instead of holding
# on: at opening the whole pre-queue comes back within seconds, and the first read seals up to 256 shards.
READ_WAIT_S = 1.0


@dataclass(frozen=True)
class EntryView:
    state: w.EntryState
    admission_token: str | None
    retry_after_s: int = w.UNKNOWN_RETRY_S  # when the next poll is worth making (domain.retry_after_s)


class WaitingRoomService:
    def __init__(
        self,
        store: RoomStore,
        catalog: Catalog,
        tokens: Callable[[], AdmissionTokens],
        clock: Callable[[], datetime],
        draw: Callable[[int], int] = secrets.randbits,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = _SYSTEM_RANDOM.random,
        read_wait_s: float = READ_WAIT_S,
    ):
        self._store = store
        self._catalog = catalog
        # Built on first use: a stage without any active room never needs the signing key.
        self._tokens = tokens
        self._now = clock
        self._draw = draw
        self._monotonic = monotonic
        self._jitter = jitter
        self._read_wait_s = read_wait_s
        self._lock = threading.Lock()
        self._settings_cache: dict[str, tuple[float, w.RoomSettings | None]] = {}
        # Counts of closed periods are read sealed (the store refuses later writes), so they never change:
        # kept for the life of the process.
        self._pre_cache: dict[tuple[str, w.Lane], list[int]] = {}
        self._second_cache: dict[tuple[str, w.Lane, int], list[int]] = {}
        # One read of a lane's counts at a time per process: the polls that arrive together at opening wait for
        # the first one's read (and its up to 256 seals) instead of each making it again, READ_WAIT_S at most.
        self._read_locks: dict[tuple[str, w.Lane, str], threading.Lock] = {}

    # --- settings (ops) -----------------------------------------------------------------------------

    def room(self, campaign_id: str) -> w.RoomSettings | None:
        """The campaign's room settings (None: it has none, so no room); UnknownCampaign if no such campaign."""
        if campaign_id not in {c.id for c in self._catalog.campaigns()}:
            raise UnknownCampaign(campaign_id)
        return self._settings(campaign_id)

    def put_room(self, settings: w.RoomSettings) -> w.RoomSettings:
        if settings.campaign_id not in {c.id for c in self._catalog.campaigns()}:
            raise UnknownCampaign(settings.campaign_id)
        self._store.put_settings(settings)
        with self._lock:
            self._settings_cache.pop(settings.campaign_id, None)
        return settings

    # --- visitors -----------------------------------------------------------------------------------

    def enter(self, campaign_id: str, lane: w.Lane = w.Lane.WEB) -> EntryView:
        settings = self.room(campaign_id)
        now = self._now()
        if settings is None:
            raise w.RoomNotOpen(campaign_id)
        phase = settings.phase_at(now)
        if settings.rate_per_minute(lane) == 0:
            lane = w.Lane.WEB  # no share reserved for the hotline: its callers queue with everyone else
        for attempt in range(1, COUNT_ATTEMPTS + 1):
            entry, shard = self._new_entry(campaign_id, lane, phase, now)
            # The entry first: if counting fails, the client gets an error and no id, so the orphan is never used.
            self._store.add_entry(entry, now + ENTRY_RETENTION)
            try:
                self._store.count_entry(entry, shard)
            except CountRefused:
                # Its period was sealed before the count landed (a slow write), or its key was taken: this
                # entry is never handed out; the visitor queues as arriving now, with a fresh key.
                if attempt == COUNT_ATTEMPTS:
                    raise w.RoomBusy(campaign_id) from None
                now = self._now()
                phase = settings.phase_at(now)
                continue
            return self._view(settings, entry, now)
        raise AssertionError("the loop returns or raises")

    def _new_entry(self, campaign_id: str, lane: w.Lane, phase: w.Phase, now: datetime) -> tuple[w.Entry, int]:
        if phase is w.Phase.PRE:
            key, second = self._draw(PRE_KEY_BITS), 0
            shards = PRE_SHARDS
        else:
            epoch = now.timestamp()
            second = int(epoch)
            # Microseconds into the second, and a random tie-break for the same microsecond.
            key = int((epoch - second) * 1_000_000) * 1000 + secrets.randbelow(1000)
            shards = POST_SHARDS
        # The shard follows from the key (random in its low bits), so a key drawn twice meets itself in one
        # counter, which refuses it.
        return w.Entry(secrets.token_urlsafe(18), campaign_id, lane, phase, key, second, now), key % shards

    def entry(self, entry_id: str) -> EntryView:
        entry = self._store.entry(entry_id)
        if entry is None:
            raise w.UnknownEntry(entry_id)
        settings = self._settings(entry.campaign_id)
        if settings is None:
            raise w.UnknownEntry(entry_id)  # the room was removed: the entry means nothing any more
        return self._view(settings, entry, self._now())

    # --- booking ------------------------------------------------------------------------------------

    def check_admission(self, campaign_id: str, token: str | None, person_key: str) -> None:
        """Raise AdmissionRequired unless the campaign has no active room, or the token is a valid admission
        to it that is unused or was used by this same person."""
        settings = self._settings(campaign_id)
        if settings is None or not settings.active:
            return
        admission = self._tokens().verify(token, self._now()) if token else None
        if admission is None or admission.campaign_id != campaign_id:
            raise w.AdmissionRequired(campaign_id)
        if not self._store.bind_admission(admission.jti, person_key, admission.expires_at):
            raise w.AdmissionRequired(campaign_id)

    # --- internals ----------------------------------------------------------------------------------

    def _settings(self, campaign_id: str) -> w.RoomSettings | None:
        now = self._monotonic()
        with self._lock:
            cached = self._settings_cache.get(campaign_id)
        if cached and now - cached[0] < SETTINGS_CACHE_S:
            return cached[1]
        settings = self._store.settings(campaign_id)
        with self._lock:
            self._settings_cache[campaign_id] = (now, settings)
        return settings

    def _view(self, settings: w.RoomSettings, entry: w.Entry, now: datetime) -> EntryView:
        rank = self._rank(settings, entry) if now >= w.rank_known_at(settings, entry) else None
        state = w.entry_state(settings, entry, rank, now)
        token = None
        if state.admitted:
            assert state.admitted_at is not None  # what admitted means
            # jti = entry id: every token of one entry is the same admission, bound to one person at first use.
            token = self._tokens().issue(
                entry.campaign_id,
                entry.entry_id,
                entry.entry_id,
                state.admitted_at,
                state.admitted_at + w.ADMISSION_TTL,
            )
        return EntryView(state, token, w.retry_after_s(settings, state, now, self._jitter()))

    def _rank(self, settings: w.RoomSettings, entry: w.Entry) -> int | None:
        """The entry's rank from its lane's closed counts; None while another poll of this process reads them."""
        pre = self._pre_keys(settings, entry.lane)
        if pre is None:
            return None
        if entry.phase is w.Phase.PRE:
            return w.QueueSnapshot(pre).rank(entry)
        first = int(settings.opens_at.timestamp())
        seconds = self._seconds(entry.campaign_id, entry.lane, first, entry.second + 1)
        if seconds is None:
            return None
        before = sum(len(seconds[s]) for s in range(first, entry.second))
        return w.QueueSnapshot(pre, before, seconds[entry.second]).rank(entry)

    def _read_lock(self, campaign_id: str, lane: w.Lane, part: str) -> threading.Lock:
        with self._lock:
            return self._read_locks.setdefault((campaign_id, lane, part), threading.Lock())

    def _pre_keys(self, settings: w.RoomSettings, lane: w.Lane) -> list[int] | None:
        key = (settings.campaign_id, lane)
        with self._lock:
            cached = self._pre_cache.get(key)
        if cached is not None:
            return cached
        lock = self._read_lock(settings.campaign_id, lane, "pre")
        if not lock.acquire(timeout=self._read_wait_s):
            return None  # still being read: answered as not known yet, and the poll comes back soon
        try:
            with self._lock:
                cached = self._pre_cache.get(key)  # read by whoever held the lock before
            if cached is None:
                settled = self._now() > settings.opens_at + timedelta(seconds=SETTLED_AFTER_S)
                cached = sorted(self._store.pre_keys(settings.campaign_id, lane, PRE_SHARDS, seal=not settled))
                with self._lock:
                    self._pre_cache[key] = cached
        finally:
            lock.release()
        return cached

    def _seconds(self, campaign_id: str, lane: w.Lane, first: int, end: int) -> dict[int, list[int]] | None:
        """The sorted keys of each arrival second in [first, end): closed seconds only (the caller checks); None
        while another poll of this process reads them."""
        known = self._cached_seconds(campaign_id, lane, first, end)
        if len(known) == end - first:
            return known
        lock = self._read_lock(campaign_id, lane, "post")
        if not lock.acquire(timeout=self._read_wait_s):
            return None
        try:
            known = self._cached_seconds(campaign_id, lane, first, end)  # some read by whoever held the lock
            missing = [s for s in range(first, end) if s not in known]
            if missing:
                seal_from = int(self._now().timestamp() - SETTLED_AFTER_S)
                read = self._store.post_keys(campaign_id, lane, missing, POST_SHARDS, seal_from)
                fresh = {s: sorted(read.get(s, ())) for s in missing}
                with self._lock:
                    self._second_cache.update({(campaign_id, lane, s): keys for s, keys in fresh.items()})
                known.update(fresh)
        finally:
            lock.release()
        return known

    def _cached_seconds(self, campaign_id: str, lane: w.Lane, first: int, end: int) -> dict[int, list[int]]:
        with self._lock:
            return {
                s: self._second_cache[(campaign_id, lane, s)]
                for s in range(first, end)
                if (campaign_id, lane, s) in self._second_cache
            }
