import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.booking.catalog_cache import CachedCatalog
from chalicelib.settings import get_settings
from tests.fakes import FakeCatalog
from tests.unit.builders import CAMPAIGN, DORTMUND, KOELN, slot


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_centres_are_read_once_per_ttl_and_again_after_it():
    inner, clock = FakeCatalog(), Clock()
    inner.add_center(DORTMUND)
    cached = CachedCatalog(inner, ttl_s=5, clock=clock)
    assert cached.centers() == [DORTMUND]
    inner.add_center(KOELN)  # written elsewhere (another Lambda, ops)
    clock.now = 4.9
    assert cached.centers() == [DORTMUND]
    clock.now = 5.0
    assert {c.id for c in cached.centers()} == {"dortmund", "koeln"}


def test_a_write_through_the_cache_is_seen_at_once():
    cached = CachedCatalog(FakeCatalog(), ttl_s=60, clock=Clock())
    assert cached.campaigns() == []
    cached.add_campaign(CAMPAIGN)
    assert cached.campaigns() == [CAMPAIGN]


def test_slots_for_a_decision_are_never_cached():
    inner = FakeCatalog()
    cached = CachedCatalog(inner, ttl_s=60, clock=Clock())
    s = slot(1, 9)
    assert cached.slot(s.campaign_id, s.center_id, s.slot_id) is None
    inner.release_slots([s])
    assert cached.slot(s.campaign_id, s.center_id, s.slot_id) == s


def test_a_ttl_of_zero_reads_through_every_time():
    inner = FakeCatalog()
    cached = CachedCatalog(inner, ttl_s=0, clock=Clock())
    assert cached.centers() == []
    inner.add_center(DORTMUND)
    assert cached.centers() == [DORTMUND]


def test_slots_shown_may_be_a_copy_of_the_given_age_but_never_older():
    inner, clock = FakeCatalog(), Clock()
    cached = CachedCatalog(inner, ttl_s=60, clock=clock)
    s = slot(1, 9)
    window = (s.start - timedelta(hours=1), s.start + timedelta(hours=1))
    assert cached.slots(s.campaign_id, s.center_id, *window, max_age_s=2) == []
    inner.release_slots([s])
    clock.now = 1.9
    assert cached.slots(s.campaign_id, s.center_id, *window, max_age_s=2) == []
    assert cached.slots(s.campaign_id, s.center_id, *window) == [s]  # a decision reads fresh
    clock.now = 2.0
    assert cached.slots(s.campaign_id, s.center_id, *window, max_age_s=2) == [s]


class SlowCatalog(FakeCatalog):
    """Counts reads and holds each one until the test lets it go: concurrent misses overlap for sure."""

    def __init__(self):
        super().__init__()
        self.reads = 0
        self.release = threading.Event()
        self.reading = threading.Event()

    def campaigns(self):
        self.reads += 1
        self.reading.set()
        assert self.release.wait(5)
        return super().campaigns()

    def slots(self, campaign_id, center_id, start, end, max_age_s=0):
        self.reads += 1
        self.reading.set()
        assert self.release.wait(5)
        return super().slots(campaign_id, center_id, start, end, max_age_s)


def _concurrently(calls: int, read, inner: SlowCatalog) -> list:
    with ThreadPoolExecutor(calls) as pool:
        first = pool.submit(read)
        assert inner.reading.wait(5)  # the first read is under way ...
        rest = [pool.submit(read) for _ in range(calls - 1)]
        time.sleep(0.05)  # ... and the others have asked while it runs
        inner.release.set()
        return [first.result(5)] + [f.result(5) for f in rest]


def test_concurrent_misses_of_an_expired_copy_share_one_read():
    inner = SlowCatalog()
    inner.add_campaign(CAMPAIGN)
    cached = CachedCatalog(inner, ttl_s=60, clock=Clock())
    assert _concurrently(12, cached.campaigns, inner) == [[CAMPAIGN]] * 12
    assert inner.reads == 1


def test_concurrent_availability_misses_share_one_slot_query_and_its_answer():
    inner = SlowCatalog()
    s = slot(1, 9)
    inner.release_slots([s])
    cached = CachedCatalog(inner, ttl_s=60, clock=Clock())
    window = (s.start - timedelta(hours=1), s.start + timedelta(hours=1))
    answers = _concurrently(12, lambda: cached.slots(s.campaign_id, s.center_id, *window, max_age_s=2), inner)
    assert answers == [[s]] * 12 and inner.reads == 1


def test_a_failed_shared_read_fails_its_waiters_and_the_next_call_reads_again():
    class Failing(SlowCatalog):
        def campaigns(self):
            super().campaigns()
            if self.reads == 1:
                raise ConnectionError("throttled")
            return [CAMPAIGN]

    inner = Failing()
    cached = CachedCatalog(inner, ttl_s=60, clock=Clock())
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cached.campaigns)
        assert inner.reading.wait(5)
        second = pool.submit(cached.campaigns)
        time.sleep(0.05)
        inner.release.set()
        for future in (first, second):
            with pytest.raises(ConnectionError):
                future.result(5)
    assert cached.campaigns() == [CAMPAIGN] and inner.reads == 2


def test_a_read_that_began_before_a_write_through_the_cache_is_not_kept():
    inner = SlowCatalog()
    cached = CachedCatalog(inner, ttl_s=60, clock=Clock())
    with ThreadPoolExecutor(1) as pool:
        stale = pool.submit(cached.campaigns)
        assert inner.reading.wait(5)
        inner.add_campaign(CAMPAIGN)  # the write lands in the store while the old read is under way ...
        cached._forget()  # ... and the cache is told (add_campaign through the cache does both)
        inner.release.set()
        stale.result(5)
    assert cached.campaigns() == [CAMPAIGN]


def test_availability_has_one_freshness_bound_locally_and_on_aws(monkeypatch):
    """Tests and `make run` see what AWS does: the copy behind availability is as old locally as in dev and prod,
    and a function without the variable gets the same bound."""
    config = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
    stages = config["stages"]
    bounds = {name: float(s["environment_variables"]["AVAILABILITY_MAX_AGE_SECONDS"]) for name, s in stages.items()}
    assert set(bounds) >= {"local", "dev", "prod"} and set(bounds.values()) == {2.0}

    local = {k: v for k, v in stages["local"]["environment_variables"].items() if k != "AVAILABILITY_MAX_AGE_SECONDS"}
    for key, value in local.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AVAILABILITY_MAX_AGE_SECONDS", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().availability_max_age_s == 2.0
    finally:
        get_settings.cache_clear()
