"""The capacity model (infra/capacity): its arithmetic, and drift tests that hold its per-booking counts to the code."""

from __future__ import annotations

import gzip
import inspect
import math
import re
from collections import Counter
from dataclasses import fields, replace
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.api.http import SNAPSHOT_ROUTES
from chalicelib.booking import domain as d
from chalicelib.booking.ports import Bookings
from chalicelib.booking.storage import DynamoBookings
from chalicelib.booking.storage.models import SlotItem, slots_pk
from chalicelib.waitingroom import domain as room_domain
from chalicelib.waitingroom import edge as room_edge
from chalicelib.waitingroom import services as room_services
from chalicelib.waitingroom.domain import Entry, EntryState, Lane, Phase, RoomSettings
from chalicelib.waitingroom.dynamo import CounterItem, EntryItem
from chalicelib.waitingroom.ports import RoomStore
from chalicelib.waitingroom.services import EntryView, WaitingRoomService
from chalicelib.waitingroom.tokens import AdmissionTokens
from infra.aws.chalice_config import lambda_settings
from infra.aws.stages import STAGES
from infra.aws.template import merge_template
from infra.capacity import model as m
from infra.capacity import quotas as q
from infra.capacity.prices import PRICES
from infra.capacity.scenarios import PEAK_2021, TEN_TIMES, apply_steps, target, target_steps, today, today_stage
from tests.fakes import FakeBookings, FakeCatalog
from tests.unit.builders import CAMPAIGN, DORTMUND, NOW, World, person, slot
from tests.unit.test_waiting_room import FakeRoomStore

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
TODAY, TODAY_SOURCES, _ = m.load_measured("today")


def roomy_stage(**changes) -> m.StageConfig:
    """A stage where nothing binds below 100,000 bookings/s, unless a test changes it."""
    stage = m.StageConfig(
        name="roomy",
        api_kind="REST",
        api_rate_limit_rps=1e9,
        api_burst_limit=1e9,
        api_memory_mb=1024,
        worker_reserved_concurrency=1_000,
        worker_batch_size=10,
        worker_memory_mb=1024,
        mail_worker_concurrency=2,
        mail_batch_size=10,
        mail_memory_mb=512,
        other_reserved_concurrency=0,
        ses_send_rate_per_s=1e9,
        waf_requests_per_ip_per_5min=10**9,
        slot_shards=1_000,
        bookings_warm_wru=40_000,
        bookings_warm_rru=40_000,
        availability_max_age_s=2,
        reads_through_cdn=True,
        admissions_per_minute=None,
        app_client_requests_per_min=1e9,
        account_concurrency=1e9,
        apigw_account_rps=1e12,
    )
    return replace(stage, **changes)


# Fixed figures for the arithmetic tests (today's as of writing), so that they do not move with measured.json.
PER = m.PerBooking(
    api_flow_calls=6,
    status_polls=5,
    snapshot_reads=0,
    static_requests=17,
    static_kb=33.4,
    ddb_plain_writes=1,
    ddb_tx_items=5,
    ddb_slot_tx_items=2,
    ddb_strong_gets=6,
    ddb_slot_strong_gets=2,
    ddb_window_queries=1,
    ddb_eventual_gets=1,
    claim_wru=9,
    index_wru=0,
    limit_writes=1,
    client_limit_writes=1,
    sqs_sends=2,
    ses_mails=1,
    mail_kb=14,
    api_ms=40,
    worker_record_ms=70,
    mail_record_ms=100,
    log_kb_per_invocation=1.0,
    slot_item_bytes=110,
    room_flow_calls=2,
    room_entry_writes=2,
    room_entry_item_bytes=170,
    room_counter_base_bytes=60,
    room_pre_key_bytes=11,
    room_post_key_bytes=6,
    room_poll_reads=1,
    room_admission_writes=1,
)


def per_booking(**changes) -> m.PerBooking:
    return replace(PER, **changes)


def design(stage: m.StageConfig | None = None, per: m.PerBooking | None = None) -> m.Design:
    return m.Design("test", stage or roomy_stage(), per or PER, built=True)


# --- limits -----------------------------------------------------------------------------------------


def test_the_worker_binds_at_its_concurrency_over_the_time_per_record():
    d_ = design(roomy_stage(worker_reserved_concurrency=20), per_booking(worker_record_ms=70))
    binding = m.capacity(d_, PEAK_2021)
    assert binding.name.startswith("Booking worker")
    assert binding.bookings_per_s == pytest.approx(20 / 0.070)


def test_the_api_stage_throttle_binds_at_its_rate_over_the_api_requests_per_booking():
    d_ = design(roomy_stage(api_rate_limit_rps=1_500), per_booking(api_flow_calls=6, status_polls=5))
    binding = m.capacity(d_, PEAK_2021)
    assert binding.name == "API stage throttle"
    assert binding.bookings_per_s == pytest.approx(1_500 / 11)


def test_every_write_of_a_booking_lands_in_the_bookings_table():
    """No idempotency table: the claims are items of the bookings table, the limit counters too (one per API
    request for the per-address limit, one per booking request for the per-person one)."""
    per = per_booking(ddb_plain_writes=1, ddb_tx_items=5, claim_wru=9, limit_writes=1, client_limit_writes=1)
    assert m.bookings_wru(per) == 1 + 5 * 2 + 9 + 1 + per.api_requests
    assert m.bookings_wru(replace(per, client_limit_writes=0)) == 21
    assert not any("idempotency" in f.name for f in fields(m.PerBooking)) and not any(
        "idempotency" in f.name for f in fields(m.StageConfig)
    )
    assert not any("dempotency" in c.name for c in m.ceilings(design(per=per), PEAK_2021))


NO_CLAIMS = {"claim_wru": 0, "limit_writes": 0, "client_limit_writes": 0}


def test_a_new_table_takes_4000_write_units_and_each_transactional_item_costs_two():
    per = per_booking(ddb_plain_writes=1, ddb_tx_items=5, **NO_CLAIMS)
    assert m.bookings_wru(per) == 11
    d_ = design(roomy_stage(bookings_warm_wru=None), per)
    binding = m.capacity(d_, PEAK_2021)
    assert binding.name == "DynamoDB bookings table, writes"
    assert binding.bookings_per_s == pytest.approx(4_000 / 11)


def test_warm_throughput_lifts_the_table_but_not_past_the_per_table_quota():
    per = per_booking(ddb_plain_writes=1, ddb_tx_items=5, **NO_CLAIMS)
    warm = {c.name: c for c in m.ceilings(design(roomy_stage(bookings_warm_wru=100_000), per), PEAK_2021)}
    assert warm["DynamoDB bookings table, writes"].bookings_per_s == pytest.approx(q.DDB_TABLE_MAX.value / 11)


def test_slot_partition_writes_scale_with_shards_and_with_the_busiest_centres_share():
    per = per_booking(ddb_slot_tx_items=2)
    launch = replace(PEAK_2021, hottest_centre_share=0.1)

    def ceiling(shards: int) -> float:
        found = {c.name: c for c in m.ceilings(design(roomy_stage(slot_shards=shards), per), launch)}
        return found["Slot partition writes (busiest centre)"].bookings_per_s

    assert ceiling(1) == pytest.approx(1_000 / 4 / 0.1)  # 250 bookings/s at the centre itself
    assert ceiling(4) == pytest.approx(4 * ceiling(1))


def test_availability_reads_from_every_api_instance_eat_the_slot_partitions_read_units():
    cached = design(roomy_stage(slot_shards=1, reads_through_cdn=False, api_rate_limit_rps=1e9))
    snapshots = design(roomy_stage(slot_shards=1, reads_through_cdn=True))
    assert m.availability_load_rru(cached, TEN_TIMES, 1000) > 10 * m.availability_load_rru(snapshots, TEN_TIMES, 1000)

    def reads(d_):
        return {c.name: c for c in m.ceilings(d_, TEN_TIMES)}["Slot partition reads (busiest centre)"]

    assert reads(cached).bookings_per_s < reads(snapshots).bookings_per_s


def test_a_limit_without_room_means_nothing_is_ever_decided():
    starved = design(
        roomy_stage(slot_shards=1, reads_through_cdn=False), per_booking(slot_item_bytes=2_000)
    )  # availability reads alone exceed the partition
    assert m.capacity(starved, TEN_TIMES).bookings_per_s == 0
    assert math.isinf(m.run_launch(starved, TEN_TIMES).max_wait_s)
    assert math.isinf(m.polls_for_wait(math.inf))
    assert math.isinf(m.seconds_to_book(starved, 1_000, TEN_TIMES))


def test_the_waiting_room_caps_the_rate_at_its_admissions():
    binding = m.capacity(design(roomy_stage(admissions_per_minute=6_000)), PEAK_2021)
    assert (binding.name, binding.bookings_per_s) == ("Waiting room admissions", 100)


def test_the_sqs_event_source_caps_the_worker_at_1000_concurrent_batches():
    found = {c.name: c for c in m.ceilings(design(roomy_stage(worker_reserved_concurrency=5_000)), PEAK_2021)}
    assert found["Booking worker (reserved concurrency)"].bookings_per_s == pytest.approx(
        q.SQS_ESM_MAX.value / (PER.worker_record_ms / 1000)
    )


def test_the_edge_splits_between_api_and_snapshots_and_flags_the_throttle_it_exceeds():
    per = per_booking(api_flow_calls=2, status_polls=2, snapshot_reads=4)
    stage = roomy_stage(api_rate_limit_rps=3_000, reads_through_cdn=False)  # no CDN misses on top
    checks = {c.name: c for c in m.edge_checks(design(stage, per), TEN_TIMES)}
    assert checks["API stage throttle"].load == pytest.approx(3_500)
    assert not checks["API stage throttle"].ok
    assert checks["CloudFront snapshots"].load == pytest.approx(3_500) and checks["CloudFront snapshots"].ok


def test_time_to_book_includes_the_pollers_ramp_up():
    d_ = design(roomy_stage(admissions_per_minute=60_000))  # 1,000/s
    workers = 1_000 * PER.worker_record_ms / 1000
    ramp = m.worker_ramp_s(workers)
    assert ramp == pytest.approx((workers - 5) / 300 * 60)
    assert m.seconds_to_book(d_, 239_500, PEAK_2021) == pytest.approx(ramp + (239_500 - 1_000 * ramp / 2) / 1_000)


def test_a_queue_builds_only_when_arrivals_outrun_the_binding_limit():
    fast = m.run_launch(design(roomy_stage(admissions_per_minute=120_000)), TEN_TIMES)
    slow = m.run_launch(design(roomy_stage(admissions_per_minute=30_000)), TEN_TIMES)
    assert fast.max_backlog == 0
    # 998/s arrive for 10 minutes while 500/s are served.
    assert slow.max_backlog == pytest.approx((TEN_TIMES.peak_arrivals_per_s() - 500) * 600, rel=0.02)


def test_settings_for_a_target_reach_it_when_applied():
    for d_ in (today(), target()):
        for launch in (PEAK_2021, TEN_TIMES):
            settings = m.settings_for(d_, launch)
            sized = replace(d_, stage=settings.applied_to(d_.stage))
            assert m.capacity(sized, launch).bookings_per_s >= launch.target_pair_bookings_per_s, (d_.name, launch.name)
            assert all(c.ok for c in m.edge_checks(sized, launch)), (d_.name, launch.name)


# --- cost -------------------------------------------------------------------------------------------


def test_cost_lines_come_from_the_price_table():
    per = per_booking(api_flow_calls=6, status_polls=5, snapshot_reads=0, static_requests=17, static_kb=0)
    rest = m.cost_per_million(design(roomy_stage(api_kind="REST"), per), PEAK_2021)
    http = m.cost_per_million(design(roomy_stage(api_kind="HTTP"), per), PEAK_2021)
    assert rest["API Gateway (REST)"] == pytest.approx(11e6 * PRICES["apigw_rest_request"].usd)
    assert http["API Gateway (HTTP)"] == pytest.approx(11e6 * PRICES["apigw_http_request"].usd)
    assert rest["WAF"] == pytest.approx(11e6 * PRICES["waf_request"].usd)
    assert rest["CloudFront"] == pytest.approx(17e6 * PRICES["cloudfront_request"].usd)
    # An HTTP API cannot carry WAF: CloudFront in front of it is charged for every API request.
    assert http["CloudFront"] == pytest.approx(28e6 * PRICES["cloudfront_request"].usd)
    assert rest["DynamoDB"] == pytest.approx(
        1e6
        * (
            m.bookings_wru(per) * PRICES["dynamodb_wru"].usd
            + m.bookings_rru(per, PEAK_2021) * PRICES["dynamodb_rru"].usd
        )
    )


def test_index_entries_are_billed_but_written_against_each_indexs_own_throughput():
    per = per_booking(index_wru=2)
    costs = m.cost_per_million(design(per=per), PEAK_2021)
    without = m.cost_per_million(design(per=per_booking(index_wru=0)), PEAK_2021)
    assert costs["DynamoDB"] - without["DynamoDB"] == pytest.approx(2e6 * PRICES["dynamodb_wru"].usd)
    assert m.bookings_wru(per) == m.bookings_wru(per_booking(index_wru=0))  # not the table's write units
    [index] = [c for c in m.ceilings(design(per=per), PEAK_2021) if "indexes" in c.name]
    assert index.bookings_per_s == q.DDB_NEW_TABLE_WRU.value / 1  # 2 WRU over 2 indexes: 1 on each
    assert not [c for c in m.ceilings(design(), PEAK_2021) if "indexes" in c.name]


def test_mail_is_a_separate_line_and_the_total_beside_it_is_the_sum_of_the_rest():
    costs = m.cost_per_million(design(), PEAK_2021)
    assert costs["SES mail"] >= 1e6 * PRICES["ses_mail"].usd  # $100 per mail per booking, plus its bytes
    assert m.cost_beside_mail(costs) == pytest.approx(sum(costs.values()) - costs["SES mail"])


def test_todays_stage_prices_the_issues_counts_as_the_issue_estimated():
    """Issue #12 estimated $41 API Gateway, $23 CloudFront, $7 WAF per 1 M bookings from 11 API requests and the
    17 static files of its day (PER); today's counts (measured.json) have grown since and cost more."""
    issue_counts = replace(
        today(),
        stage=replace(today().stage, reads_through_cdn=False),
        per=replace(
            today().per, api_flow_calls=6, status_polls=5, snapshot_reads=0, static_requests=17, static_kb=33.4
        ),
    )
    costs = m.cost_per_million(issue_counts, PEAK_2021)
    assert costs["API Gateway (REST)"] == pytest.approx(41, abs=1)
    assert costs["CloudFront"] == pytest.approx(23, abs=1.5)
    assert costs["WAF"] == pytest.approx(7, abs=0.5)
    # The issue's ~$5 per poll, plus the per-address limit's counter write each poll now makes.
    limit_write = today().per.client_limit_writes * 1e6 * PRICES["dynamodb_wru"].usd
    assert limit_write > 0 and m.cost_per_extra_poll(today()) - limit_write == pytest.approx(5, abs=0.5)
    now = m.cost_per_million(today(), PEAK_2021)
    # Today's API requests: the flow's and the polls, plus the CDN's misses at the launch's target rate.
    misses = m.snapshot_fetches_per_booking(today(), PEAK_2021)
    assert 0 < misses < TODAY.snapshot_reads
    assert now["API Gateway (REST)"] == pytest.approx(
        (TODAY.api_requests + misses) * 1e6 * PRICES["apigw_rest_request"].usd
    )


# --- goals ------------------------------------------------------------------------------------------


def test_a_configuration_below_target_is_reported_as_missing_it_with_the_limit_that_stops_it():
    slow = design(roomy_stage(worker_reserved_concurrency=20))
    goals = {g.name: g for g in m.goals(slow, PEAK_2021, TEN_TIMES)}
    sustained = goals["≥ 1,000 pair bookings/s sustained"]
    assert not sustained.met
    assert sustained.stopped_by.startswith("Booking worker (reserved concurrency)")
    assert not goals["479,000 appointments in < 10 min"].met


def test_a_configuration_above_target_meets_the_throughput_goals():
    goals = {g.name: g for g in m.goals(design(), PEAK_2021, TEN_TIMES)}
    assert goals["≥ 1,000 pair bookings/s sustained"].met
    assert goals["479,000 appointments in < 10 min"].met
    assert goals["7,000 requests/s at the edge, nothing lost"].met


def test_the_cost_goal_fails_above_25_dollars_beside_the_mail():
    cheap = per_booking(api_flow_calls=0, status_polls=0, snapshot_reads=0, static_requests=0, static_kb=0)
    dear = per_booking(api_flow_calls=20)
    assert {g.name: g for g in m.goals(design(per=dear), PEAK_2021, TEN_TIMES)}[
        "≤ $25 per 1 M bookings beside the mails"
    ].met is False
    assert m.cost_beside_mail(m.cost_per_million(design(per=cheap), PEAK_2021)) < m.cost_beside_mail(
        m.cost_per_million(design(per=dear), PEAK_2021)
    )


def test_every_target_step_is_labelled_as_not_built_or_not_set():
    assert not target().built
    for label, _ in target_steps():
        assert "not built" in label or "not set" in label, label


def test_report_prints_both_launches_both_designs_and_every_goal():
    from infra.capacity.__main__ import report

    text = report()
    for needle in (
        "2021 peak",
        "10 x 2021",
        "today design",
        "target design (planned, not built)",
        "≥ 1,000 pair bookings/s",
        "479,000 appointments",
        "7,000 requests/s",
        "≤ $25 per 1 M",
    ):
        assert needle in text, needle


# --- drift: the model's inputs against the code ----------------------------------------------------


def test_todays_stage_is_read_from_the_prod_knobs_and_the_chalice_config():
    k = STAGES["prod"]
    worker, mail = lambda_settings("prod", "booking_worker"), lambda_settings("prod", "mail_worker")
    s = today_stage()
    assert (s.worker_reserved_concurrency, s.worker_batch_size, s.api_rate_limit_rps) == (
        worker.reserved_concurrency,
        k.sqs_batch_size["booking_worker"],
        k.api_rate_limit_rps,
    )
    assert (s.worker_memory_mb, s.mail_worker_concurrency, s.mail_batch_size) == (
        worker.memory_mb,
        mail.reserved_concurrency,
        k.sqs_batch_size["mail_worker"],
    )
    assert s.api_memory_mb == lambda_settings("prod", "api_handler").memory_mb


def test_today_has_one_slot_partition_per_campaign_and_centre():
    assert list(inspect.signature(slots_pk).parameters) == ["campaign_id", "center_id"]
    assert today_stage().slot_shards == 1


def test_the_template_pre_warms_the_bookings_table_as_the_stage_says_and_the_model_reads_the_same_figures():
    def warm_by_table(stage: str) -> dict:
        resources = merge_template(stage)["Resources"]
        tables = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
        return {t["TableName"]: t.get("WarmThroughput") for t in tables}

    warm = STAGES["prod"].bookings_warm_throughput
    assert warm is not None
    assert warm_by_table("prod") == {
        "vaxslot-prod-bookings": {
            "WriteUnitsPerSecond": warm.write_units_per_s,
            "ReadUnitsPerSecond": warm.read_units_per_s,
        },
        "vaxslot-prod-idempotency": None,  # off the booking path
    }
    assert set(warm_by_table("dev").values()) == {None}
    stage = today_stage()
    assert (stage.bookings_warm_wru, stage.bookings_warm_rru) == (warm.write_units_per_s, warm.read_units_per_s)
    assert warm.write_units_per_s <= q.DDB_TABLE_MAX.value and warm.read_units_per_s <= q.DDB_TABLE_MAX.value


class RecordingConnection:
    """Stands in for PynamoDB's Connection: records what one TransactWrite would send."""

    def __init__(self):
        self.transactions: list[dict] = []

    def transact_write_items(self, condition_check_items, delete_items, put_items, update_items, **_):
        self.transactions.append(
            {"checks": condition_check_items, "deletes": delete_items, "puts": put_items, "updates": update_items}
        )


def test_the_booking_transaction_writes_as_many_items_as_the_model_counts():
    first, second = slot(1, 9), slot(22, 9)
    booking = d.Booking(
        code="ABCD-EFGH-JK",
        request_id="r1",
        campaign_id=CAMPAIGN.id,
        center_id=DORTMUND.id,
        first=first.ref,
        second=second.ref,
        person=person(),
        language="de",
        created_at=NOW,
    )
    connection = RecordingConnection()
    DynamoBookings(connection).reserve(booking, "person-key")  # type: ignore[arg-type]  # a duck-typed stand-in
    [tx] = connection.transactions
    items = [i for kind in ("checks", "deletes", "puts", "updates") for i in tx[kind]]
    assert len(items) == TODAY.ddb_tx_items
    on_slots = [i for i in items if (i.get("Key") or i["Item"])["pk"]["S"].startswith("SLOTS#")]
    assert len(on_slots) == TODAY.ddb_slot_tx_items
    for put in tx["puts"]:  # 2 WRU per transactional item holds up to 1 KB: the booking is the largest item
        assert _dynamodb_size(put["Item"]) <= 1024


def test_a_bookings_index_entries_are_as_many_and_as_large_as_the_model_counts():
    """Every index whose key attributes the reserved booking item has holds an entry of it (ALL projection: the
    whole item, so under 1 KB it is 1 WRU)."""
    from chalicelib.booking.storage.models import booking_item
    from infra.resources import BOOKING_TABLE

    booking = d.Booking(
        "ABCD-EFGH-JK", "r1", CAMPAIGN.id, DORTMUND.id, slot(1, 9).ref, slot(22, 9).ref, person(), "de", created_at=NOW
    )
    item = booking_item(booking, NOW, NOW + timedelta(days=90)).serialize()
    indexes = BOOKING_TABLE.create_table_kwargs("test")["GlobalSecondaryIndexes"]
    assert {i["Projection"]["ProjectionType"] for i in indexes} == {"ALL"}
    holding = [i for i in indexes if all(k["AttributeName"] in item for k in i["KeySchema"])]
    entry_wru = math.ceil(_dynamodb_size(item) / 1024)
    assert len(holding) * entry_wru == TODAY.index_wru, TODAY_SOURCES["index_wru"]


class CountingCatalog(FakeCatalog):
    """Counts every catalogue call. In Lambda, centres and campaigns come from CachedCatalog's per-instance copy;
    slot gets and slot queries without a max age reach DynamoDB every time (chalicelib/booking/catalog_cache.py)."""

    def __init__(self):
        super().__init__()
        self.calls: Counter[str] = Counter()

    def slot(self, *args):
        self.calls["slot"] += 1
        return super().slot(*args)

    def slots(self, *args, **kwargs):
        self.calls["slots"] += 1
        return super().slots(*args, **kwargs)


class CountingBookings(FakeBookings):
    """Counts every call of the Bookings port: each one is one DynamoDB request in DynamoBookings."""

    def __init__(self, catalog):
        super().__init__(catalog)
        self.calls: Counter[str] = Counter()

    def __getattribute__(self, name):
        attribute = super().__getattribute__(name)
        if name in BOOKINGS_PORT:
            super().__getattribute__("calls")[name] += 1
        return attribute


BOOKINGS_PORT = {name for name, value in vars(Bookings).items() if getattr(value, "__isabstractmethod__", False)}


def test_one_booking_makes_the_reads_writes_and_queue_sends_the_model_counts():
    """Submit (BookingService), the worker's decision (BookingService.process) and the one poll that sees 'booked'
    (BookingQueries.request_state, what GET /v1/booking-requests/{id} calls), with counting fakes."""
    first = slot(1, 9)
    world = World([first, slot(22, 9)], catalog_type=CountingCatalog, bookings_type=CountingBookings)
    catalog, bookings = world.catalog, world.bookings
    request_id = world.service.submit(CAMPAIGN.id, first.center_id, first.slot_id, False, "de", person())
    [request] = world.queue.sent
    state = world.service.process(request)
    assert state.status is d.RequestStatus.BOOKED
    final_poll, view = world.queries.request_state(request_id)
    assert final_poll.status is d.RequestStatus.BOOKED and view is not None

    gets = bookings.calls["request_state"] + bookings.calls["booking"] + bookings.calls["holds_booking"]
    polls_seen = 1  # the final poll's request read is one of the model's status polls
    assert gets + catalog.calls["slot"] - polls_seen == TODAY.ddb_strong_gets, TODAY_SOURCES["ddb_strong_gets"]
    assert catalog.calls["slot"] == TODAY.ddb_slot_strong_gets
    assert catalog.calls["slots"] == TODAY.ddb_window_queries
    assert bookings.calls["add_request"] == TODAY.ddb_plain_writes
    assert bookings.calls["reserve"] == 1
    # Nothing else of the port is called on the way: a new call would be a cost the model does not count.
    assert set(bookings.calls) == {"add_request", "request_state", "reserve", "booking"}
    assert len(world.queue.sent) + len(world.outbox.published) == TODAY.sqs_sends


def _dynamodb_size(serialized: dict) -> float:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers ~1 byte per 2 digits + 1, a
    number set the sum of its numbers, a boolean 1 byte)."""
    size = 0.0
    for name, value in serialized.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += _number_size(int(value["N"]))
        elif "NS" in value:
            size += sum(_number_size(int(n)) for n in value["NS"])
        elif "BOOL" in value:
            size += 1
    return size


def test_the_slot_item_size_matches_the_model():
    start = slot(1, 9).start
    item = SlotItem(
        slots_pk("80plus-comirnaty", "dortmund"),
        d.slot_id_for(start),
        start=start.isoformat(),
        end=start.isoformat(),
        capacity=120,
        booked=37,
    )
    size = _dynamodb_size(item.serialize() | {"pk": {"S": item.pk}, "sk": {"S": item.sk}})
    assert size == pytest.approx(TODAY.slot_item_bytes, rel=0.15)


# --- drift: the site ---------------------------------------------------------------------------------
# The API calls on the way to a booking are counted in a browser: tests/browser/test_api_calls_per_booking.py.


def _is_snapshot(method: str, js_path: str) -> bool:
    """Whether a call of the site goes to the CDN: a GET of a public read route (chalicelib/api/http.py), whose
    path site/js/api.js SNAPSHOT_PATHS sends to config.readBaseUrl (tests/unit/test_snapshot_cache_headers.py
    holds the two lists together)."""
    path = re.sub(r"\$\{[^}]+\}", "x", js_path)
    routes = [re.sub(r"\{[^}]+\}", "[^/]+", route) for route in SNAPSHOT_ROUTES]
    return method == "GET" and any(re.fullmatch(route, path) for route in routes)


def _function_body(source: str, name: str) -> str:
    """The text of `export async function name(…) {…}` up to the next top-level function."""
    start = source.index(f"export async function {name}(")
    following = re.search(r"\n(?:export )?(?:async )?function ", source[start + 1 :])
    return source[start : start + 1 + following.start()] if following else source[start:]


def test_the_waiting_rooms_page_makes_the_calls_the_model_counts_besides_its_polls():
    waiting = (SITE / "js" / "views" / "waiting.js").read_text()
    view = _function_body(waiting, "waitingView")
    calls = re.findall(r"\bcall\('(GET|POST)', `([^`]+)`\)", view)
    polls = [c for c in calls if c == ("GET", "/v1/waiting-room/entries/${enc(entryId)}")]
    assert len(polls) == 1  # the entry poll, counted by model.room_load from Retry-After
    cdn = [c for c in calls if _is_snapshot(*c)]  # the room's state: a CDN read, not an API call
    assert len(calls) - len(polls) - len(cdn) == TODAY.room_flow_calls, TODAY_SOURCES["room_flow_calls"]
    # The site paces entry polls by Retry-After alone, as given (the cap, hours, only guards against nonsense):
    # the schedule the model follows, up to the opening spread and the 3-minute cap of the room's own answers.
    found = re.search(r"const MAX_RETRY_AFTER_S = ([\d *]+);", waiting)
    assert found, "MAX_RETRY_AFTER_S in the waiting room's script"
    factors = found.group(1).split("*")
    cap = math.prod(int(f) for f in factors)
    assert cap >= 3_600 and cap >= m.ROOM_OPENING_SPREAD_MAX_S
    assert "Math.min(MAX_RETRY_AFTER_S, Math.max(1, answer.retryAfter != null ? answer.retryAfter : delay))" in view


def _static_files(site: Path) -> list[Path]:
    """What a first visit loads: index.html, what it links, the scripts reachable from it by a relative import (static
    or `import()`, minified or not), one language."""
    index = site / "index.html"
    html = index.read_text()
    files = [index] + [site / ref.lstrip("/") for ref in re.findall(r'(?:href|src)="(/?[\w./-]+\.(?:css|js))"', html)]
    pending = [f for f in files if f.suffix == ".js" and f.parent.name == "js"]
    while pending:
        module = pending.pop()
        for ref in re.findall(r"""(?:\bfrom|\bimport\(?)\s*["'](\.{1,2}/[\w./-]+\.js)["']""", module.read_text()):
            found = (module.parent / ref).resolve()
            if found not in files:
                files.append(found)
                pending.append(found)
    return [*files, site / "i18n" / "de.json"]


def test_the_static_file_count_follows_the_sites_imports_unbundled():
    """The counter reads imports: site/ as `make run` serves it loads every module, the lazy views too."""
    modules = {p.resolve() for p in (SITE / "js").rglob("*.js")}
    assert modules <= set(_static_files(SITE))


def test_the_deployed_site_loads_the_static_files_the_model_prices(bundled_site):
    """What `make deploy` uploads (infra/site_bundle.py) is what a visit costs: one bundle, no module behind it."""
    files = _static_files(bundled_site)
    assert len(files) == TODAY.static_requests, [f.name for f in files]
    kb = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files) / 1024
    assert kb == pytest.approx(TODAY.static_kb, rel=0.15)


def test_the_models_poll_schedule_is_the_sites():
    source = (SITE / "js" / "views" / "request.js").read_text()

    def const(name: str) -> float:
        found = re.search(rf"const {name} = (\d+);", source)
        assert found, name
        return float(found.group(1)) / 1000

    found = re.search(r"delay \* ([\d.]+), Date\.now\(\) - started < SOON_MS", source)
    assert found, "the poll back-off factor"
    factor = float(found.group(1))
    defaults = inspect.signature(m.polls_for_wait).parameters
    assert (const("FIRST_DELAY"), factor, const("SOON_MAX"), const("LATER_MAX"), const("SOON_MS")) == tuple(
        defaults[n].default for n in ("first_s", "factor", "soon_max_s", "later_max_s", "soon_s")
    )


def test_each_target_step_changes_something():
    previous = today()
    for label, step in apply_steps(today(), target_steps()):
        assert step != previous, label
        previous = step


# --- drift: the waiting room ---------------------------------------------------------------------------


class CountingRoomStore(FakeRoomStore):
    """Counts every call of the RoomStore port: each one is one DynamoDB request in DynamoRoomStore."""

    def __init__(self):
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __getattribute__(self, name):
        attribute = super().__getattribute__(name)
        if name in ROOM_PORT:
            super().__getattribute__("calls")[name] += 1
        return attribute


ROOM_PORT = {name for name, value in vars(RoomStore).items() if getattr(value, "__isabstractmethod__", False)}


def test_entering_polling_and_booking_through_the_room_make_the_calls_the_model_counts():
    store, catalog = CountingRoomStore(), FakeCatalog()
    catalog.add_campaign(CAMPAIGN)
    now = [NOW]
    service = WaitingRoomService(
        store, catalog, lambda: AdmissionTokens(b"k" * 32), clock=lambda: now[0], monotonic=lambda: 0.0
    )  # one instance within its 5-s settings cache
    opens = NOW + timedelta(minutes=10)
    service.put_room(RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=5), opens, 60))
    store.calls.clear()

    entry = service.enter(CAMPAIGN.id).state.entry.entry_id
    writes = store.calls["add_entry"] + store.calls["count_entry"]
    assert writes == TODAY.room_entry_writes, TODAY_SOURCES["room_entry_writes"]

    store.calls.clear()
    now[0] = opens + timedelta(seconds=3)
    polls = 3
    for _ in range(polls):
        view = service.entry(entry)
    assert view.admission_token is not None
    # The pre-queue's counts are read once per instance and kept: per-instance, not per-poll, reads.
    assert store.calls["pre_keys"] == 1
    assert store.calls["entry"] == polls * TODAY.room_poll_reads, TODAY_SOURCES["room_poll_reads"]
    assert set(store.calls) == {"entry", "pre_keys"}

    store.calls.clear()
    service.check_admission(CAMPAIGN.id, view.admission_token, "person-key")
    assert dict(store.calls) == {"bind_admission": TODAY.room_admission_writes}


def _number_size(value: int) -> int:
    return math.ceil(len(str(abs(value)).lstrip("0") or "0") / 2) + 1


def test_the_room_items_sizes_match_the_model():
    entry = EntryItem(
        f"WAITENTRY#{'x' * 24}",
        "ENTRY",
        campaign_id="80plus-comirnaty",
        lane="web",
        phase="pre",
        order_key=2**room_services.PRE_KEY_BITS - 1,
        second=0,
        entered_at="2021-01-25T07:45:00.123456+01:00",
        expires_at=1_611_730_000,
    )
    assert _dynamodb_size(entry.serialize()) == pytest.approx(TODAY.room_entry_item_bytes, rel=0.15)
    assert _dynamodb_size(entry.serialize()) <= 1024  # one write unit
    counter = CounterItem("WAITCOUNT#80plus-comirnaty#web#1611561600#3", "COUNT", order_keys={1})
    base = _dynamodb_size(counter.serialize()) - _number_size(1)
    assert base == pytest.approx(TODAY.room_counter_base_bytes, rel=0.15)
    # The largest keys: a pre-queue draw of PRE_KEY_BITS bits; after opening, microseconds x 1000 + 0..999.
    assert _number_size(2**room_services.PRE_KEY_BITS - 1) == TODAY.room_pre_key_bytes
    assert _number_size(999_999 * 1000 + 999) == TODAY.room_post_key_bytes


def test_the_models_room_constants_and_retry_after_are_the_rooms():
    assert (m.ROOM_PRE_SHARDS, m.ROOM_POST_SHARDS) == (room_services.PRE_SHARDS, room_services.POST_SHARDS)
    assert (m.ROOM_RETRY_MAX_S, m.ROOM_UNKNOWN_RETRY_S) == (room_domain.RETRY_AFTER_MAX_S, room_domain.UNKNOWN_RETRY_S)
    settings = RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=30), NOW, 60)
    entry = Entry("e", CAMPAIGN.id, Lane.WEB, Phase.PRE, 1, 0, NOW)
    later = NOW + timedelta(seconds=10)
    for eta in (1, 3, 4, 7, 40, 119, 120, 121, 500, 10_000):
        state = EntryState(entry, 5, eta, None)
        assert m.room_retry_after_s(eta) == room_edge.retry_after_s(
            EntryView(state, None, room_domain.retry_after_s(settings, state, later, 0.5))
        ), eta
    for minutes in (0.5, 5, 30, 120):
        settings = RoomSettings(CAMPAIGN.id, True, NOW - timedelta(minutes=minutes), NOW, 60)
        assert m.room_opening_spread_s(minutes) == room_domain.opening_spread_s(settings), minutes


# --- the waiting room's own load ------------------------------------------------------------------------


def test_a_counter_set_add_is_charged_for_the_whole_item():
    per = per_booking(room_counter_base_bytes=60, room_pre_key_bytes=11)
    assert m.counter_add_wru(per, 0, 11) == 1
    assert m.counter_add_wru(per, 10_000, 11) == math.ceil((60 + 10_001 * 11) / 1024)
    assert m.counter_fill_wru(per, 3, 11) == 3


def test_before_opening_pre_queue_entries_wait_and_their_first_polls_spread_after_opening():
    room = design(roomy_stage(admissions_per_minute=60_000, prequeue_share=0.5, prequeue_minutes=20))
    load = m.room_load(room, PEAK_2021)
    assert load.prequeue_entries == PEAK_2021.pair_bookings * 0.5
    assert m.room_opening_spread_s(20) == 120  # a tenth of the window
    assert load.prequeue_polls_per_s == pytest.approx(load.prequeue_entries / 120)
    assert load.prequeue_entries_per_s == pytest.approx(load.prequeue_entries / (20 * 60))
    # No polls before opening: at least the first poll after it for the pre-queue, 2 for the others.
    assert 0.5 * 1 + 0.5 * 2 <= load.polls_per_booking < 0.5 * (20 * 60 / 2 / 2)


def test_after_opening_an_entry_polls_at_its_eta_or_every_three_minutes():
    assert m.room_polls_for_wait(0) == 1
    assert m.room_polls_for_wait(3) == 2  # now, and when it is let in
    assert m.room_polls_for_wait(3_600) == 1 + 3_600 // 180
    slow = m.room_load(design(roomy_stage(admissions_per_minute=6_000)), PEAK_2021)
    fast = m.room_load(design(roomy_stage(admissions_per_minute=60_000)), PEAK_2021)
    assert slow.polls_per_booking > fast.polls_per_booking


def test_the_busiest_polls_after_opening_are_the_spread_first_polls_plus_those_let_in():
    launch = replace(PEAK_2021, pair_bookings=2_000_000)
    room = design(roomy_stage(admissions_per_minute=60_000, prequeue_share=0.5, prequeue_minutes=30))
    load = m.room_load(room, launch)
    # 1,000,000 first polls over 180 s, and 1,000 a second let in, each polling when it is.
    assert 1_000_000 / 180 < load.opening_polls_per_s < 1_000_000 / 180 + 1_000 + 1_000_000 / 180 * 0.25


def test_the_room_checks_flag_polls_beyond_the_api_throttle_and_a_counter_beyond_400_kb():
    big = replace(PEAK_2021, pair_bookings=20_000_000)
    room = design(roomy_stage(admissions_per_minute=60_000, api_rate_limit_rps=10_000, prequeue_share=0.5))
    checks = {c.name.split(" (")[0].split(",")[0]: c for c in m.room_checks(room, big)}
    assert not checks["pre-queue's first polls after opening"].ok
    assert checks["pre-queue counter item at opening"].load == pytest.approx(60 + math.ceil(1e7 / 256) * 11)
    assert not checks["pre-queue counter item at opening"].ok
    small = {c.name: c for c in m.room_checks(room, replace(PEAK_2021, pair_bookings=1_000))}
    assert all(c.ok for c in small.values())


def test_an_active_room_is_a_goal_of_its_own_and_costs_its_polls():
    without = {g.name for g in m.goals(design(), PEAK_2021, TEN_TIMES)}
    room = design(roomy_stage(admissions_per_minute=66_000))
    goals = {g.name: g for g in m.goals(room, PEAK_2021, TEN_TIMES)}
    assert set(goals) - without == {"waiting room's own load at 10 x 2021"}
    assert m.room_cost_per_million(room, PEAK_2021) > m.room_load(room, PEAK_2021).polls_per_booking * 1e6 * (
        PRICES["apigw_rest_request"].usd
    )


# --- the read snapshots through CloudFront --------------------------------------------------------------


def test_a_cached_key_is_fetched_at_most_once_per_max_age_and_every_time_without_one():
    assert m.ttl_misses(1_000, 1, 2) == pytest.approx(1_000 / (1 + 2_000))  # < 1 fetch per 2 s
    assert m.ttl_misses(1_000, 1, 0) == 1_000  # max-age 0: nothing is kept
    assert m.ttl_misses(1_000, 400, 2) < 400 / 2  # never more than every key once per max-age
    assert m.ttl_misses(0, 400, 2) == 0


def test_the_hit_ratio_grows_with_the_request_rate_and_the_freshness_bound():
    per = per_booking(snapshot_reads=5)
    d1 = design(roomy_stage(availability_max_age_s=1), per)
    d4 = design(roomy_stage(availability_max_age_s=4), per)
    assert m.snapshot_hit_ratio(d1, TEN_TIMES, 100) < m.snapshot_hit_ratio(d1, TEN_TIMES, 1_000)
    assert m.snapshot_hit_ratio(d1, TEN_TIMES, 1_000) < m.snapshot_hit_ratio(d4, TEN_TIMES, 1_000)
    no_cdn = design(roomy_stage(reads_through_cdn=False), per)
    assert m.snapshot_fetches_per_booking(no_cdn, TEN_TIMES) == 0 and m.origin_fetch_bound(no_cdn, TEN_TIMES) == 0


def test_the_cdns_misses_are_api_requests_that_take_their_share_of_the_throttle():
    per = per_booking(api_flow_calls=2, status_polls=2, snapshot_reads=5)
    cdn = design(roomy_stage(api_rate_limit_rps=5_000), per)
    bound = m.origin_fetch_bound(cdn, TEN_TIMES)
    assert bound == pytest.approx(m.snapshot_keys(TEN_TIMES) / 2)
    throttle = {c.name: c for c in m.ceilings(cdn, TEN_TIMES)}["API stage throttle"]
    assert throttle.bookings_per_s == pytest.approx((5_000 - bound) / 4)
    costs = m.cost_per_million(cdn, PEAK_2021)
    fetches = m.snapshot_fetches_per_booking(cdn, PEAK_2021)
    assert costs["API Gateway (REST)"] == pytest.approx((4 + fetches) * 1e6 * PRICES["apigw_rest_request"].usd)


def test_the_per_ip_checks_count_only_what_does_not_come_through_the_cdn():
    per = per_booking(api_flow_calls=2, status_polls=2, snapshot_reads=5)
    checks = {c.name: c for c in m.edge_checks(design(roomy_stage(), per), TEN_TIMES)}
    direct = TEN_TIMES.edge_rps * 4 / 9 * TEN_TIMES.busiest_ip_share
    assert checks["WAF per-IP rule (busiest carrier NAT)"].load == pytest.approx(direct * 300)
    tight = {c.name: c for c in m.edge_checks(design(roomy_stage(app_client_requests_per_min=60), per), TEN_TIMES)}
    assert not tight["app per-address limit (busiest NAT)"].ok


def test_one_freshness_bound_drives_the_api_the_cdn_and_the_model():
    from infra.aws.template import snapshot_max_age_s

    assert today_stage().availability_max_age_s == snapshot_max_age_s("prod") == 2
    assert today_stage().reads_through_cdn
    assert today_stage().waf_requests_per_ip_per_5min == STAGES["prod"].waf_requests_per_ip_per_5min


def test_the_busiest_centres_slot_partition_binds_once_its_share_passes_what_one_partition_takes():
    per = per_booking(ddb_slot_tx_items=2)
    hot = replace(TEN_TIMES, hottest_centre_share=0.5)  # a campaign of two centres, one taking half
    found = {c.name: c for c in m.ceilings(design(roomy_stage(slot_shards=1), per), hot)}
    assert found["Slot partition writes (busiest centre)"].bookings_per_s == pytest.approx(1_000 / 4 / 0.5)
    # The worker's strongly consistent window Query binds even a little earlier, on the partition's reads.
    binding = m.capacity(design(roomy_stage(slot_shards=1), per), hot)
    assert binding.name.startswith("Slot partition") and binding.bookings_per_s < 1_000
    # Today's assumption (7.2 % at the busiest centre) leaves it well clear at 10 x 2021: 72/s of 250/s.
    assert TEN_TIMES.target_pair_bookings_per_s * TEN_TIMES.hottest_centre_share < 1_000 / 4
    assert m.hottest_share_limit(design(roomy_stage(slot_shards=1), per), TEN_TIMES) > TEN_TIMES.hottest_centre_share
