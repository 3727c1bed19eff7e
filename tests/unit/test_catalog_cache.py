from datetime import timedelta

from chalicelib.booking.catalog_cache import CachedCatalog
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
