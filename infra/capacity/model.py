"""The capacity and cost model: a launch, a stage's configuration and what one booking costs → limits, settings,
time to book, cost per 1 M bookings, and the goals of issue #12.

Everything is a rate in pair bookings per second unless a name says otherwise. Plain arithmetic, no AWS calls.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, fields, replace
from pathlib import Path

from infra.capacity import quotas as q
from infra.capacity.prices import price
from infra.resources import BOOKING_TABLE

MEASURED = Path(__file__).with_name("measured.json")
HEADROOM = 1.25  # settings are sized for the target rate plus this margin
KB, GB = 1024, 1024**3
RRU_BYTES, WRU_BYTES = 4096, 1024


@dataclass(frozen=True)
class Launch:
    name: str
    eligible_people: int
    pair_bookings: int  # bookings to take (appointments / 2 for a two-dose vaccine)
    # Cumulative share of the bookings whose people arrive by minute m after opening: ((m, share), …), last share 1.
    arrival: tuple[tuple[float, float], ...]
    edge_rps: float  # requests/s reaching API Gateway and the snapshots at the peak (static site files not counted)
    target_pair_bookings_per_s: float
    centres: int
    hottest_centre_share: float  # share of all bookings that go to the busiest centre
    slots_per_day: int  # per centre and campaign
    interval_days: tuple[int, int]  # second dose window after the first (Comirnaty 21..42)
    busiest_ip_share: float  # share of all edge requests behind the busiest shared IP (carrier NAT)
    postal_codes: int  # distinct postal codes people ask the centre list for (one cached answer each)
    booking_window_days: int  # days ahead a first dose may be booked (one cached one-day view per centre and day)
    regional_caches: int = 3  # CloudFront regional edge caches in front of Origin Shield (Europe, assumed)

    def peak_arrivals_per_s(self) -> float:
        previous_m, previous_share, peak = 0.0, 0.0, 0.0
        for minute, share in self.arrival:
            peak = max(peak, (share - previous_share) * self.pair_bookings / ((minute - previous_m) * 60))
            previous_m, previous_share = minute, share
        return peak


@dataclass(frozen=True)
class StageConfig:
    name: str
    api_kind: str  # "REST" or "HTTP" (HTTP sits behind CloudFront so that WAF can stay in front of it)
    api_rate_limit_rps: float  # stage throttle
    api_burst_limit: float
    api_memory_mb: int
    worker_reserved_concurrency: int
    worker_batch_size: int
    worker_memory_mb: int
    mail_worker_concurrency: int
    mail_batch_size: int
    mail_memory_mb: int
    other_reserved_concurrency: int  # mail_events, reconcile …: taken from the account's pool
    ses_send_rate_per_s: float
    waf_requests_per_ip_per_5min: int
    slot_shards: int  # partitions the slots of one centre and campaign are spread over
    bookings_warm_wru: float | None  # warm throughput set on the table (None: a new table's 4,000 / 12,000)
    bookings_warm_rru: float | None
    # The freshness bound (AVAILABILITY_MAX_AGE_SECONDS, one setting): how long one API instance reuses an
    # availability read, and the max-age of the public reads' answers that CloudFront honours.
    availability_max_age_s: float
    reads_through_cdn: bool  # the public reads are served by CloudFront from the API's cacheable answers
    admissions_per_minute: float | None  # waiting room; None: no waiting room
    app_client_requests_per_min: float = 300  # LIMIT_CLIENT_REQUESTS_PER_MINUTE (chalicelib/api/limits.py), 0: off
    prequeue_minutes: float = 30  # the room's pre-queue window before opening (a per-campaign ops setting)
    prequeue_share: float = 0.25  # share of the bookings whose people enter during the pre-queue window
    account_concurrency: float = q.LAMBDA_ACCOUNT_CONCURRENCY.value
    apigw_account_rps: float = q.APIGW_ACCOUNT_RPS.value
    ddb_table_max: float = q.DDB_TABLE_MAX.value  # per-table on-demand quota, read or write units/s


@dataclass(frozen=True)
class PerBooking:
    """The calls of one pair booking; see measured.json for where each figure comes from."""

    api_flow_calls: float
    status_polls: float
    snapshot_reads: float
    static_requests: float
    static_kb: float
    ddb_plain_writes: float
    ddb_tx_items: float
    ddb_slot_tx_items: float
    ddb_strong_gets: float
    ddb_slot_strong_gets: float
    ddb_window_queries: float
    ddb_eventual_gets: float
    claim_wru: float  # the claims folded into items of the bookings table (submission claim, mail claim), in WRU
    index_wru: float  # the booking item's entries in the table's indexes (the centre day list's), in WRU
    limit_writes: float  # per-person limit counter of the booking request (one UpdateItem)
    client_limit_writes: float  # per API request that reaches the API with X-Forwarded-For (the per-address limit)
    sqs_sends: float
    ses_mails: float
    mail_kb: float
    api_ms: float
    worker_record_ms: float
    mail_record_ms: float
    log_kb_per_invocation: float
    slot_item_bytes: float
    # The waiting room (chalicelib/waitingroom), paid only while a campaign's room is active.
    room_flow_calls: float  # API calls of the room's page besides its entry polls
    room_entry_writes: float  # DynamoDB writes of one entry: the entry item + one counter-shard set ADD
    room_entry_item_bytes: float
    room_counter_base_bytes: float  # a counter item without keys (pk, sk, attribute name)
    room_pre_key_bytes: float  # one pre-queue draw in a counter's number set
    room_post_key_bytes: float  # one post-opening arrival key
    room_poll_reads: float  # DynamoDB reads of one entry poll (eventually consistent GetItem)
    room_admission_writes: float  # the admission's bind to the person at the booking request

    @property
    def api_requests(self) -> float:
        return self.api_flow_calls + self.status_polls

    @property
    def edge_requests(self) -> float:
        """Requests to API Gateway and snapshots, the 'edge' of issue #12 (static site files not counted)."""
        return self.api_requests + self.snapshot_reads


def load_measured(design: str, path: Path = MEASURED) -> tuple[PerBooking, dict[str, str], bool]:
    """The figures of `design` ("today" or "target"), their sources, and whether that design is built."""
    document = json.loads(path.read_text())
    data = {**document["today"], **document[design]}  # a planned design lists only the figures it changes
    names = [f.name for f in fields(PerBooking)]
    # A figure counted per route (the site's API calls, measured in tests/browser/test_api_calls_per_booking.py)
    # is their sum, so that the counts the test compares and the figure the model uses are one and the same.
    values = {n: float(sum(data[n]["routes"].values()) if "routes" in data[n] else data[n]["value"]) for n in names}
    return PerBooking(**values), {n: data[n]["source"] for n in names}, bool(data["built"])


@dataclass(frozen=True)
class Design:
    name: str
    stage: StageConfig
    per: PerBooking
    built: bool
    changes: tuple[str, ...] = ()  # what this design changes over today's, each with its status


# --- what one booking costs the table, per partition ----------------------------------------------


def window_query_rru(per: PerBooking, launch: Launch, strong: bool = True) -> float:
    days = launch.interval_days[1] - launch.interval_days[0] + 1
    units = math.ceil(days * launch.slots_per_day * per.slot_item_bytes / RRU_BYTES)
    return units if strong else units / 2


def availability_query_rru(per: PerBooking, launch: Launch) -> float:
    """One availability read: 28 days of first slots plus the second-dose horizon, eventually consistent."""
    days = 28 + launch.interval_days[1] + 1
    return math.ceil(days * launch.slots_per_day * per.slot_item_bytes / RRU_BYTES) / 2


def bookings_wru(per: PerBooking) -> float:
    """Every write of one booking lands in the bookings table: the request and its claims, the reservation, the
    mail claim, the limit counters (the per-address one on every API request). Its index entries are written to the
    indexes, which have throughput of their own (index_wru_each); both are billed (cost)."""
    return (
        per.ddb_plain_writes
        + per.ddb_tx_items * q.DDB_TX_WRU_PER_ITEM.value
        + per.claim_wru
        + per.limit_writes
        + per.client_limit_writes * per.api_requests
    )


def index_wru_each(per: PerBooking) -> float:
    """WRU per booking on each of the bookings table's indexes (a booking item has an entry in every one)."""
    return per.index_wru / len(BOOKING_TABLE.indexes) if BOOKING_TABLE.indexes else 0.0


def bookings_rru(per: PerBooking, launch: Launch) -> float:
    strong = per.ddb_strong_gets + per.status_polls
    return strong + per.ddb_window_queries * window_query_rru(per, launch) + per.ddb_eventual_gets / 2


def slot_partition_wru(per: PerBooking) -> float:
    return per.ddb_slot_tx_items * q.DDB_TX_WRU_PER_ITEM.value


def slot_partition_rru(per: PerBooking, launch: Launch) -> float:
    return per.ddb_slot_strong_gets + per.ddb_window_queries * window_query_rru(per, launch)


def api_instances(design: Design, api_rps: float) -> float:
    return api_rps * design.per.api_ms / 1000


def availability_load_rru(design: Design, launch: Launch, rate: float) -> float:
    """Read units/s of availability reads on the busiest centre's slot data at `rate` bookings/s."""
    per, stage = design.per, design.stage
    query = availability_query_rru(per, launch)
    if stage.reads_through_cdn:
        # What reaches the API: the cache misses of the busiest centre's two availability views (its booking
        # window, one key; its days, one key each), as if every miss read DynamoDB (an instance's reuse only
        # lowers it).
        b = stage.availability_max_age_s
        requests = rate * launch.hottest_centre_share * per.snapshot_reads / 5
        return (ttl_misses(requests, 1, b) + ttl_misses(requests, launch.booking_window_days, b)) * query
    # Each API instance reads each view once per max-age; two views (28 days, one day) per centre.
    api_rps = rate * per.api_requests
    requests = rate * launch.hottest_centre_share * 2
    misses = (
        requests
        if stage.availability_max_age_s <= 0
        else min(requests, 2 * api_instances(design, api_rps) / stage.availability_max_age_s)
    )
    return misses * query


# --- read snapshots through CloudFront ----------------------------------------------------------------
# A cached answer lives `availability_max_age_s` (the origin's max-age, CloudFront's MaxTTL). A key asked r times
# a second (Poisson) is fetched from the origin r / (1 + r·b) times a second: each fetch opens a window of b seconds
# in which every request is a hit. Requests are spread evenly over a class's keys (the worst case: real demand is
# skewed to a few centres and days, which hit more). Origin Shield folds all edge locations into this one cache.


@dataclass(frozen=True)
class SnapshotClass:
    keys: float
    requests_per_s: float
    fetches_per_s: float  # cache misses that reach the API

    @property
    def hit_ratio(self) -> float:
        return 1 - self.fetches_per_s / self.requests_per_s if self.requests_per_s else 1.0


def ttl_misses(requests_per_s: float, keys: float, max_age_s: float) -> float:
    if requests_per_s <= 0:
        return 0.0
    return requests_per_s / (1 + requests_per_s * max_age_s / keys)


def snapshot_classes(design: Design, launch: Launch, rate: float) -> dict[str, SnapshotClass]:
    """The public reads by route at `rate` bookings/s: each read once per booking (measured.json
    snapshot_reads = 5: campaigns, the room's state, centres, the booking window, one day), over its keys."""
    per, s = design.per, design.stage
    if not s.reads_through_cdn or per.snapshot_reads <= 0:
        return {}
    share = per.snapshot_reads / 5  # the five reads of the flow, in the measured proportion
    keys = {
        "campaigns": 1.0,
        "waiting-room state": 1.0,  # one campaign at a time in the launch
        "centres by postal code": float(launch.postal_codes),
        "availability, booking window": float(launch.centres),
        "availability, one day": float(launch.centres * launch.booking_window_days),
    }
    out = {}
    for name, k in keys.items():
        requests = rate * share
        out[name] = SnapshotClass(k, requests, ttl_misses(requests, k, s.availability_max_age_s))
    return out


def snapshot_keys(launch: Launch) -> float:
    return 2 + launch.postal_codes + launch.centres * (1 + launch.booking_window_days)


def origin_fetch_bound(design: Design, launch: Launch) -> float:
    """The most requests/s the CDN's misses can send to the API, whatever the load: each key once per max-age."""
    s = design.stage
    if not s.reads_through_cdn or design.per.snapshot_reads <= 0:
        return 0.0
    return snapshot_keys(launch) / s.availability_max_age_s if s.availability_max_age_s > 0 else math.inf


def snapshot_fetches_per_booking(design: Design, launch: Launch, rate: float | None = None) -> float:
    """Origin fetches (API requests) per booking at `rate` (default: the launch's target rate)."""
    rate = launch.target_pair_bookings_per_s if rate is None else rate
    return sum(c.fetches_per_s for c in snapshot_classes(design, launch, rate).values()) / rate


def snapshot_hit_ratio(design: Design, launch: Launch, rate: float | None = None) -> float:
    rate = launch.target_pair_bookings_per_s if rate is None else rate
    classes = snapshot_classes(design, launch, rate).values()
    requests = sum(c.requests_per_s for c in classes)
    return 1 - sum(c.fetches_per_s for c in classes) / requests if requests else 0.0


# --- limits -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ceiling:
    """The most pair bookings/s one limit allows, and what to set to lift it."""

    name: str
    bookings_per_s: float
    detail: str
    remedy: str


def ceilings(design: Design, launch: Launch) -> list[Ceiling]:
    per, s = design.per, design.stage
    target = launch.target_pair_bookings_per_s
    api = per.api_requests
    # The CDN's misses take their share of the API's throttles first (at most every key once per max-age).
    fetches = min(origin_fetch_bound(design, launch), target * per.snapshot_reads)
    misses = f" − {fetches:,.0f} CDN misses" if fetches else ""
    out: list[Ceiling] = []
    out.append(
        Ceiling(
            "API Gateway account throttle",
            max(0.0, s.apigw_account_rps - fetches) / api,
            f"({s.apigw_account_rps:,.0f} req/s{misses}) ÷ {api:g} API requests per booking",
            "fewer API requests per booking, or a Service Quotas increase",
        )
    )
    out.append(
        Ceiling(
            "API stage throttle",
            max(0.0, s.api_rate_limit_rps - fetches) / api,
            f"({s.api_rate_limit_rps:,.0f} req/s{misses}) ÷ {api:g}",
            "api_rate_limit_rps in infra/aws/stages.py",
        )
    )
    free = (
        s.account_concurrency - s.worker_reserved_concurrency - s.mail_worker_concurrency - s.other_reserved_concurrency
    )
    out.append(
        Ceiling(
            "Lambda account concurrency (API function)",
            max(0.0, free - fetches * per.api_ms / 1000) / (api * per.api_ms / 1000),
            f"({s.account_concurrency:,.0f} − {s.account_concurrency - free:,.0f} reserved) ÷ "
            f"({api:g} × {per.api_ms:g} ms)",
            "a Lambda concurrency quota increase",
        )
    )
    workers = min(s.worker_reserved_concurrency, q.SQS_ESM_MAX.value)
    out.append(
        Ceiling(
            "Booking worker (reserved concurrency)",
            workers / (per.worker_record_ms / 1000),
            f"{workers:,.0f} instances ÷ {per.worker_record_ms:g} ms per record (batch of "
            f"{s.worker_batch_size} runs one record after the other)",
            "booking_worker reserved_concurrency in .chalice/config.json (also the event source's MaximumConcurrency)",
        )
    )
    wru = s.bookings_warm_wru or q.DDB_NEW_TABLE_WRU.value
    out.append(
        Ceiling(
            "DynamoDB bookings table, writes",
            min(wru, s.ddb_table_max) / bookings_wru(per),
            f"{wru:,.0f} WRU/s {'(warm throughput)' if s.bookings_warm_wru else '(new on-demand table)'} "
            f"÷ {bookings_wru(per):g} WRU per booking",
            "WarmThroughput.WriteUnitsPerSecond",
        )
    )
    if index_wru_each(per):
        # A new index of an on-demand table starts with a new table's write throughput, each index its own.
        out.append(
            Ceiling(
                "DynamoDB bookings table indexes, writes (each)",
                q.DDB_NEW_TABLE_WRU.value / index_wru_each(per),
                f"{q.DDB_NEW_TABLE_WRU.value:,.0f} WRU/s (new on-demand index) ÷ {index_wru_each(per):g} WRU per "
                "booking",
                "WarmThroughput of the index (GlobalSecondaryIndexes[].WarmThroughput)",
            )
        )
    rru = s.bookings_warm_rru or q.DDB_NEW_TABLE_RRU.value
    out.append(
        Ceiling(
            "DynamoDB bookings table, reads",
            min(rru, s.ddb_table_max) / bookings_rru(per, launch),
            f"{rru:,.0f} RRU/s ÷ {bookings_rru(per, launch):g} RRU per booking",
            "WarmThroughput.ReadUnitsPerSecond",
        )
    )
    share = launch.hottest_centre_share
    out.append(
        Ceiling(
            "Slot partition writes (busiest centre)",
            q.DDB_PARTITION_WCU.value * s.slot_shards / slot_partition_wru(per) / share,
            f"{q.DDB_PARTITION_WCU.value:,.0f} WCU × {s.slot_shards} shard(s) ÷ {slot_partition_wru(per):g} "
            f"WRU per booking ÷ {share:.0%} of bookings",
            "shard SLOTS#<campaign>#<centre>",
        )
    )
    avail = availability_load_rru(design, launch, target)
    room = q.DDB_PARTITION_RCU.value * s.slot_shards - avail
    out.append(
        Ceiling(
            "Slot partition reads (busiest centre)",
            max(room, 0) / slot_partition_rru(per, launch) / share,
            f"({q.DDB_PARTITION_RCU.value:,.0f} RCU × {s.slot_shards} − {avail:,.0f} availability reads at "
            f"{target:,.0f}/s) ÷ {slot_partition_rru(per, launch):g} RRU per booking ÷ {share:.0%}",
            "shard the slots; serve availability through the CDN",
        )
    )
    if s.admissions_per_minute:
        out.append(
            Ceiling(
                "Waiting room admissions",
                s.admissions_per_minute / 60,
                f"{s.admissions_per_minute:,.0f} per minute",
                "admissions_per_minute",
            )
        )
    return out


def capacity(design: Design, launch: Launch) -> Ceiling:
    """The binding limit: the lowest ceiling."""
    return min(ceilings(design, launch), key=lambda c: c.bookings_per_s)


def mail_rate(design: Design) -> float:
    s, per = design.stage, design.per
    return min(s.ses_send_rate_per_s, s.mail_worker_concurrency / (per.mail_record_ms / 1000)) / per.ses_mails


def worker_ramp_s(workers: float) -> float:
    """Seconds until Lambda's SQS poller runs `workers` batches at once (5 at first, +300 per minute)."""
    return max(0.0, workers - q.SQS_ESM_INITIAL.value) / q.SQS_ESM_RAMP_PER_MIN.value * 60


def seconds_to_book(design: Design, bookings: float, launch: Launch) -> float:
    """Everyone already queued: the ramp-up (at half speed on average), then the binding limit's rate."""
    rate = capacity(design, launch).bookings_per_s
    if rate <= 0:
        return math.inf
    workers = min(design.stage.worker_reserved_concurrency, rate * design.per.worker_record_ms / 1000)
    ramp = worker_ramp_s(workers)
    during_ramp = rate * ramp / 2
    if during_ramp >= bookings:
        return math.sqrt(2 * bookings * ramp / rate)
    return ramp + (bookings - during_ramp) / rate


@dataclass(frozen=True)
class QueueRun:
    peak_arrivals_per_s: float
    max_backlog: float  # booking requests waiting in the queue
    max_wait_s: float  # the longest a request waits for its decision
    max_mail_lag_s: float  # the longest a confirmation waits behind the SES rate


def run_launch(design: Design, launch: Launch, step_s: float = 10.0) -> QueueRun:
    """Arrivals per the launch's curve into the booking queue, served at the binding rate (fluid model)."""
    rate = capacity(design, launch).bookings_per_s
    mails = mail_rate(design)
    if rate <= 0 or mails <= 0:  # a limit leaves no room at all: nothing is ever decided (or mailed)
        return QueueRun(launch.peak_arrivals_per_s(), launch.pair_bookings, math.inf, math.inf)
    points = [(0.0, 0.0), *launch.arrival]
    # At most ~20,000 steps, however slow the binding limit: the step grows with the time the run needs.
    step_s = max(step_s, (points[-1][0] * 60 + launch.pair_bookings / min(rate, mails)) / 20_000)
    t = booked = mailed = max_backlog = max_wait = max_lag = 0.0
    while booked < launch.pair_bookings - 0.5 or mailed < booked - 0.5:
        t += step_s
        backlog = launch.pair_bookings * _share_by(points, t / 60) - booked
        booked += min(backlog, rate * step_s)
        backlog = launch.pair_bookings * _share_by(points, t / 60) - booked
        mailed += min(booked - mailed, mails * step_s)
        max_backlog = max(max_backlog, backlog)
        max_wait = max(max_wait, backlog / rate)
        max_lag = max(max_lag, (booked - mailed) / mails)
    return QueueRun(launch.peak_arrivals_per_s(), max_backlog, max_wait, max_lag)


def api_ramp_s(instances: float) -> float:
    """Seconds until the API function runs `instances` at once (Lambda adds 1,000 per 10 s per function)."""
    return math.ceil(instances / q.LAMBDA_SCALING_PER_10S.value) * 10


def hottest_share_limit(design: Design, launch: Launch) -> float:
    """The share of all bookings one centre may take before its slot partition(s) bind at the target rate."""
    per, s = design.per, design.stage
    rate = launch.target_pair_bookings_per_s
    writes = q.DDB_PARTITION_WCU.value * s.slot_shards / (rate * slot_partition_wru(per))
    reads = (q.DDB_PARTITION_RCU.value * s.slot_shards - availability_load_rru(design, launch, rate)) / (
        rate * slot_partition_rru(per, launch)
    )
    return max(0.0, min(writes, reads))


def _share_by(points, minute: float) -> float:
    for (m0, s0), (m1, s1) in itertools.pairwise(points):
        if minute <= m1:
            return s0 + (s1 - s0) * (minute - m0) / (m1 - m0)
    return points[-1][1]


# --- the edge ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeCheck:
    name: str
    load: float
    limit: float
    unit: str

    @property
    def ok(self) -> bool:
        return self.load <= self.limit


def edge_checks(design: Design, launch: Launch) -> list[EdgeCheck]:
    """`launch.edge_rps` split between API Gateway and CloudFront snapshots in this design's proportions."""
    per, s = design.per, design.stage
    direct_rps = launch.edge_rps * per.api_requests / per.edge_requests
    cdn_rps = launch.edge_rps - direct_rps
    bookings_per_s = launch.edge_rps / per.edge_requests
    api_rps = direct_rps + snapshot_fetches_per_booking(design, launch, bookings_per_s) * bookings_per_s
    free = (
        s.account_concurrency - s.worker_reserved_concurrency - s.mail_worker_concurrency - s.other_reserved_concurrency
    )
    # The per-IP rule and the app's per-address limit count what reaches the API from the citizen's address:
    # everything but the CDN's reads (its misses come from CloudFront and are not counted).
    ip_rps = direct_rps * launch.busiest_ip_share
    checks = [
        EdgeCheck("API stage throttle", api_rps, s.api_rate_limit_rps, "req/s"),
        EdgeCheck("API Gateway account throttle", api_rps, s.apigw_account_rps, "req/s"),
        EdgeCheck("Lambda concurrency for the API", api_instances(design, api_rps), free, "instances"),
        EdgeCheck(
            "WAF per-IP rule (busiest carrier NAT)",
            ip_rps * q.WAF_WINDOW_S,
            s.waf_requests_per_ip_per_5min,
            "req per 5 min",
        ),
        EdgeCheck("CloudFront snapshots", cdn_rps, q.CLOUDFRONT_RPS.value, "req/s"),
    ]
    if s.app_client_requests_per_min:
        checks.append(
            EdgeCheck("app per-address limit (busiest NAT)", ip_rps * 60, s.app_client_requests_per_min, "req per min")
        )
    return checks


# --- settings for a target -------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What to set for a target rate and edge load (with HEADROOM), in the stage's own terms."""

    worker_reserved_concurrency: int
    worker_batch_size: int
    api_rate_limit_rps: int
    api_burst_limit: int
    apigw_account_rps: int  # API requests/s this needs from the account's regional throttle
    account_concurrency: int  # Lambda concurrent executions this needs from the account
    bookings_warm_wru: int
    bookings_warm_rru: int
    ddb_table_units: int  # the per-table quota (units/s) these warm throughputs need
    slot_shards: int
    ses_send_rate_per_s: int
    mail_worker_concurrency: int
    admissions_per_minute: int
    waf_requests_per_ip_per_5min: int

    def applied_to(self, stage: StageConfig) -> StageConfig:
        """`stage` with these settings; the waiting room is left as the stage has it (ops set it per campaign)."""
        return replace(
            stage,
            worker_reserved_concurrency=self.worker_reserved_concurrency,
            api_rate_limit_rps=self.api_rate_limit_rps,
            api_burst_limit=self.api_burst_limit,
            apigw_account_rps=max(stage.apigw_account_rps, self.apigw_account_rps),
            account_concurrency=max(stage.account_concurrency, self.account_concurrency),
            bookings_warm_wru=self.bookings_warm_wru,
            bookings_warm_rru=self.bookings_warm_rru,
            slot_shards=self.slot_shards,
            ddb_table_max=max(stage.ddb_table_max, self.ddb_table_units),
            ses_send_rate_per_s=self.ses_send_rate_per_s,
            mail_worker_concurrency=self.mail_worker_concurrency,
            waf_requests_per_ip_per_5min=self.waf_requests_per_ip_per_5min,
        )

    def lines(self) -> list[tuple[str, str]]:
        def quota(need: int, default: float) -> str:
            return f"{need:,} (default {default:,.0f}{' is enough' if need <= default else ': ask Service Quotas'})"

        return [
            ("booking_worker reserved_concurrency (.chalice/config.json)", f"{self.worker_reserved_concurrency}"),
            (
                'sqs_batch_size["booking_worker"]',
                f"{self.worker_batch_size} (sets invocations and SQS calls, not throughput)",
            ),
            ("api_rate_limit_rps / api_burst_limit", f"{self.api_rate_limit_rps:,} / {self.api_burst_limit:,}"),
            ("API Gateway account throttle needed", quota(self.apigw_account_rps, q.APIGW_ACCOUNT_RPS.value)),
            ("Lambda account concurrency needed", quota(self.account_concurrency, q.LAMBDA_ACCOUNT_CONCURRENCY.value)),
            ("bookings table WarmThroughput write / read", f"{self.bookings_warm_wru:,} / {self.bookings_warm_rru:,}"),
            ("DynamoDB per-table throughput needed", quota(self.ddb_table_units, q.DDB_TABLE_MAX.value)),
            ("slot shards per centre and campaign", f"{self.slot_shards}"),
            (
                "ses_send_rate_per_s (mail keeps pace)",
                f"{self.ses_send_rate_per_s:,} (mail worker concurrency {self.mail_worker_concurrency})",
            ),
            ("waiting room admitted_per_minute (ops, per campaign)", f"{self.admissions_per_minute:,}"),
            ("waf_requests_per_ip_per_5min", f"{self.waf_requests_per_ip_per_5min:,}"),
        ]


def settings_for(design: Design, launch: Launch) -> Settings:
    """What to set for the launch's target rate and edge load, with HEADROOM."""
    per, s = design.per, design.stage
    target = launch.target_pair_bookings_per_s
    rate = target * HEADROOM
    fetches = min(origin_fetch_bound(design, launch), rate * per.snapshot_reads)  # the CDN's misses
    api_rps = math.ceil(
        max(rate * per.api_requests, launch.edge_rps * per.api_requests / per.edge_requests * HEADROOM) + fetches
    )
    workers = math.ceil(rate * per.worker_record_ms / 1000)
    share = launch.hottest_centre_share
    sized = replace(design, stage=replace(s, worker_reserved_concurrency=workers))
    shards = math.ceil(
        max(
            rate * share * slot_partition_wru(per) / q.DDB_PARTITION_WCU.value,
            (rate * share * slot_partition_rru(per, launch) + availability_load_rru(sized, launch, rate))
            / q.DDB_PARTITION_RCU.value,
        )
    )
    mails = math.ceil(rate * per.ses_mails)
    mail_workers = max(2, math.ceil(mails * per.mail_record_ms / 1000))
    api_conc = math.ceil(api_instances(design, api_rps))
    return Settings(
        worker_reserved_concurrency=workers,
        worker_batch_size=s.worker_batch_size,
        api_rate_limit_rps=api_rps,
        api_burst_limit=min(2 * api_rps, int(q.APIGW_ACCOUNT_BURST.value)),
        apigw_account_rps=api_rps,
        account_concurrency=api_conc + workers + mail_workers + s.other_reserved_concurrency,
        bookings_warm_wru=math.ceil(rate * bookings_wru(per)),
        bookings_warm_rru=math.ceil(rate * bookings_rru(per, launch)),
        ddb_table_units=math.ceil(rate * max(bookings_wru(per), bookings_rru(per, launch))),
        slot_shards=max(1, shards),
        ses_send_rate_per_s=mails,
        mail_worker_concurrency=mail_workers,
        admissions_per_minute=math.ceil(target * 60 * (1 + (HEADROOM - 1) / 2)),
        waf_requests_per_ip_per_5min=max(
            s.waf_requests_per_ip_per_5min,
            math.ceil(
                launch.edge_rps
                * per.api_requests
                / per.edge_requests
                * launch.busiest_ip_share
                * q.WAF_WINDOW_S
                * HEADROOM
            ),
        ),
    )


# --- cost -------------------------------------------------------------------------------------------


def cost_per_million(design: Design, launch: Launch) -> dict[str, float]:
    """USD per 1 M pair bookings at list prices, by service; 'SES mail' is the mail itself, kept apart.

    The CDN's misses are priced at the launch's target rate (snapshot_fetches_per_booking): each is an API request
    (API Gateway, WAF, Lambda) and, for availability, one Query; the per-address limit skips them."""
    per, s = design.per, design.stage
    n = 1_000_000
    fetches = snapshot_fetches_per_booking(design, launch) * n
    api = per.api_requests * n + fetches
    behind_cloudfront = s.api_kind == "HTTP"  # WAF cannot attach to an HTTP API: CloudFront (with WAF) fronts it
    apigw = api * price("apigw_http_request" if s.api_kind == "HTTP" else "apigw_rest_request")
    worker_invocations = n / s.worker_batch_size
    mail_invocations = n * per.ses_mails / s.mail_batch_size
    gb_s = (
        api * per.api_ms / 1000 * s.api_memory_mb / 1024
        + n * per.worker_record_ms / 1000 * s.worker_memory_mb / 1024
        + n * per.ses_mails * per.mail_record_ms / 1000 * s.mail_memory_mb / 1024
    )
    invocations = api + worker_invocations + mail_invocations
    lam = invocations * price("lambda_request") + gb_s * price("lambda_gb_s")
    availability_fetches = (
        sum(
            c.fetches_per_s
            for name, c in snapshot_classes(design, launch, launch.target_pair_bookings_per_s).items()
            if name.startswith("availability")
        )
        / launch.target_pair_bookings_per_s
    )
    ddb = n * (bookings_wru(per) + per.index_wru) * price("dynamodb_wru") + n * (
        bookings_rru(per, launch) + availability_fetches * availability_query_rru(per, launch)
    ) * price("dynamodb_rru")
    # Sends, plus one receive and one delete per full batch on each queue.
    sqs = n * (per.sqs_sends + 2 / s.worker_batch_size + 2 * per.ses_mails / s.mail_batch_size) * price("sqs_request")
    cdn_requests = n * (per.static_requests + per.snapshot_reads) + (api if behind_cloudfront else 0)
    # Origin Shield is charged per request a regional cache sends it: at most one per regional cache and miss.
    shield = min(n * per.snapshot_reads, fetches * launch.regional_caches) if s.reads_through_cdn else 0.0
    cdn = (
        cdn_requests * price("cloudfront_request")
        + shield * price("cloudfront_origin_shield_request")
        + n * per.static_kb * KB / GB * price("cloudfront_gb")
    )
    waf = api * price("waf_request")
    logs = invocations * per.log_kb_per_invocation * KB / GB * price("logs_ingest_gb")
    mail = n * per.ses_mails * (price("ses_mail") + per.mail_kb * KB / GB * price("ses_attachment_gb"))
    return {
        f"API Gateway ({s.api_kind})": apigw,
        "CloudFront": cdn,
        "DynamoDB": ddb,
        "Lambda": lam,
        "WAF": waf,
        "SQS": sqs,
        "CloudWatch Logs": logs,
        "SES mail": mail,
    }


def cost_beside_mail(costs: dict[str, float]) -> float:
    return sum(v for k, v in costs.items() if k != "SES mail")


def cost_per_extra_poll(design: Design) -> float:
    """What one more status poll per booking adds per 1 M bookings (API, WAF, Lambda, one strong read)."""
    s, per = design.stage, design.per
    n = 1_000_000
    apigw = price("apigw_http_request" if s.api_kind == "HTTP" else "apigw_rest_request") + price("waf_request")
    if s.api_kind == "HTTP":
        apigw += price("cloudfront_request")
    lam = price("lambda_request") + per.api_ms / 1000 * s.api_memory_mb / 1024 * price("lambda_gb_s")
    return n * (apigw + lam + price("dynamodb_rru") + per.client_limit_writes * price("dynamodb_wru"))


def polls_for_wait(
    wait_s: float,
    first_s: float = 1.0,
    factor: float = 1.25,
    soon_max_s: float = 2.0,
    later_max_s: float = 5.0,
    soon_s: float = 60.0,
) -> float:
    """Polls the site sends while a request waits `wait_s` (site/js/views/request.js's schedule)."""
    if math.isinf(wait_s):
        return math.inf
    t, delay, polls = 0.0, first_s, 0
    while True:
        t += delay
        polls += 1
        if t >= wait_s:
            return polls
        delay = min(delay * factor, soon_max_s if t < soon_s else later_max_s)


# --- goals ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    name: str
    met: bool
    value: str
    stopped_by: str  # the exact limit, when not met


def goals(design: Design, peak_2021: Launch, ten_times: Launch) -> list[Goal]:
    out = []
    binding = capacity(design, ten_times)
    met = binding.bookings_per_s >= 1000
    out.append(
        Goal(
            "≥ 1,000 pair bookings/s sustained",
            met,
            f"{binding.bookings_per_s:,.0f}/s",
            "" if met else f"{binding.name}: {binding.detail}",
        )
    )
    secs = seconds_to_book(design, peak_2021.pair_bookings, peak_2021)
    binding_2021 = capacity(design, peak_2021)
    met = secs < 600
    out.append(
        Goal(
            f"{2 * peak_2021.pair_bookings:,} appointments in < 10 min",
            met,
            duration(secs),
            "" if met else f"{binding_2021.name} ({binding_2021.bookings_per_s:,.0f}/s): {binding_2021.detail}",
        )
    )
    failing = [c for c in edge_checks(design, ten_times) if not c.ok]
    out.append(
        Goal(
            f"{ten_times.edge_rps:,.0f} requests/s at the edge, nothing lost",
            not failing,
            "all within limits" if not failing else f"{len(failing)} limit(s) exceeded",
            "; ".join(f"{c.name}: {c.load:,.0f} > {c.limit:,.0f} {c.unit}" for c in failing),
        )
    )
    if design.stage.admissions_per_minute:
        over = [c for c in room_checks(design, ten_times) if not c.ok]
        out.append(
            Goal(
                f"waiting room's own load at {ten_times.name}",
                not over,
                "all within limits" if not over else f"{len(over)} limit(s) exceeded",
                "; ".join(f"{c.name}: {c.load:,.0f} > {c.limit:,.0f} {c.unit}" for c in over),
            )
        )
    costs = cost_per_million(design, peak_2021)
    beside = cost_beside_mail(costs)
    biggest = sorted(((v, k) for k, v in costs.items() if k != "SES mail"), reverse=True)[:3]
    out.append(
        Goal(
            "≤ $25 per 1 M bookings beside the mails",
            beside <= 25,
            f"${beside:,.2f}",
            "" if beside <= 25 else "largest lines: " + ", ".join(f"{k} ${v:,.2f}" for v, k in biggest),
        )
    )
    return out


# --- the waiting room's own load ---------------------------------------------------------------------
# One entry per pair booking (people who enter and never book are not counted). The room holds the rush in
# front of the booking API: its admissions are a ceiling above; what the room itself costs is here.

ROOM_PRE_SHARDS = 256  # chalicelib/waitingroom/services.py PRE_SHARDS
ROOM_POST_SHARDS = 4  # POST_SHARDS, per arrival second
ROOM_UNKNOWN_RETRY_S = 2  # chalicelib/waitingroom/domain.py UNKNOWN_RETRY_S
ROOM_RETRY_MAX_S = 180  # domain.RETRY_AFTER_MAX_S: the longest Retry-After once the rank is known
ROOM_OPENING_SPREAD_MAX_S = 180  # domain.OPENING_SPREAD_MAX_S
ITEM_MAX_BYTES = 400 * 1024


def room_retry_after_s(eta_s: float | None) -> int:
    """The Retry-After of a ranked entry's poll (domain.retry_after_s): the ETA, at most 180 s, at least 1 s."""
    if eta_s is None:
        return ROOM_UNKNOWN_RETRY_S
    return max(1, min(ROOM_RETRY_MAX_S, math.ceil(eta_s)))


def room_opening_spread_s(prequeue_minutes: float) -> float:
    """Over how long the pre-queue's first polls after opening are spread (domain.opening_spread_s)."""
    return min(ROOM_OPENING_SPREAD_MAX_S, max(1.0, prequeue_minutes * 60 / 10))


def room_polls_for_wait(wait_s: float) -> int:
    """Entry polls from the moment the rank is known until the one that carries the admission (the site follows
    Retry-After: site/js/views/waiting.js)."""
    t, polls = 0.0, 0
    while True:
        polls += 1
        if t >= wait_s:
            return polls
        t += room_retry_after_s(wait_s - t)


def counter_item_bytes(per: PerBooking, keys: float, key_bytes: float) -> float:
    return per.room_counter_base_bytes + keys * key_bytes


def counter_add_wru(per: PerBooking, keys_before: float, key_bytes: float) -> float:
    """An UpdateItem is charged for the larger of the item before and after it: the whole growing set."""
    return math.ceil(counter_item_bytes(per, keys_before + 1, key_bytes) / WRU_BYTES)


def counter_fill_wru(per: PerBooking, keys: int, key_bytes: float) -> float:
    """Write units of filling one counter item with `keys` keys, one ADD each."""
    return sum(counter_add_wru(per, n, key_bytes) for n in range(keys))


def _ranked_polls(
    rate_per_s: float, queued: float, spread_s: float, samples: int = 2_000, bin_s: float = 10
) -> tuple[float, float]:
    """(polls per entry on average, the busiest `bin_s` of entry polls after opening, per second) for `queued`
    pre-queue entries let in at `rate_per_s`: the entry of rank r is let in (r + 1) / rate_per_s after opening,
    makes its first poll at a random moment of the opening spread (independent of its rank: the draw), then
    follows Retry-After."""
    if queued <= 0:
        return 0.0, 0.0
    step = queued / samples
    first = list(range(samples))
    random.Random(0).shuffle(first)  # the same figures on every run
    bins: dict[int, int] = {}
    polls = 0
    for i in range(samples):
        admitted_s = ((i + 0.5) * step + 1) / rate_per_s
        t = (first[i] + 0.5) / samples * spread_s
        while True:
            polls += 1
            bins[int(t // bin_s)] = bins.get(int(t // bin_s), 0) + 1
            if t >= admitted_s:
                break
            t += room_retry_after_s(admitted_s - t)
    return polls / samples, max(bins.values()) * step / bin_s


@dataclass(frozen=True)
class RoomLoad:
    prequeue_entries: float
    prequeue_polls_per_s: float  # the pre-queue's first polls, spread over the first seconds after opening
    opening_polls_per_s: float  # the busiest 10 s of entry polls after opening (first polls + Retry-After)
    polls_per_booking: float  # entry polls, averaged over all bookings (a lower bound, see room_load)
    prequeue_entries_per_s: float
    prequeue_item_bytes: float  # one pre-queue counter shard at opening
    prequeue_write_wru_per_s: float  # entry puts + counter ADDs at the end of the pre-queue window
    prequeue_shard_wcu: float  # on one pre-queue counter shard (its own partition) at the window's end
    post_shard_wcu: float  # on one counter shard of an arrival second at the peak arrival rate
    wru_per_booking: float
    rru_per_booking: float


def room_load(design: Design, launch: Launch) -> RoomLoad:
    """What an active room costs at `launch` with the design's admission rate."""
    per, s = design.per, design.stage
    rate = (s.admissions_per_minute or 0) / 60
    n = launch.pair_bookings
    pre = n * s.prequeue_share
    window_s = s.prequeue_minutes * 60
    # Before opening nobody's rank is known: the answer to the entry itself sends each pre-queue entry to come
    # back once after opening, at a random moment of the opening spread (its first ranked poll, counted below).
    spread_s = room_opening_spread_s(s.prequeue_minutes)
    ranked_polls, opening_per_s = _ranked_polls(rate, pre, spread_s) if rate else (math.inf, math.inf)
    pre_per_shard = math.ceil(pre / ROOM_PRE_SHARDS)
    full_wru = counter_add_wru(per, pre_per_shard, per.room_pre_key_bytes)
    entry_wru = math.ceil(per.room_entry_item_bytes / WRU_BYTES)
    pre_rate = pre / window_s
    post_arrivals = launch.peak_arrivals_per_s()  # conservative: as if the launch's peak came after opening
    post_keys = post_arrivals / ROOM_POST_SHARDS
    pre_fill = counter_fill_wru(per, pre_per_shard, per.room_pre_key_bytes) * ROOM_PRE_SHARDS
    post_wru = counter_add_wru(per, post_keys / 2, per.room_post_key_bytes)
    counter_wru = (pre_fill + (n - pre) * post_wru) / n
    # A later entry polls every 2 s until its arrival second is counted (~3 s: 2 polls); its wait behind the
    # pre-queue is left out, so `polls_per_booking` is a lower bound.
    post_polls = 2
    polls = s.prequeue_share * ranked_polls + (1 - s.prequeue_share) * post_polls
    return RoomLoad(
        prequeue_entries=pre,
        prequeue_polls_per_s=pre / spread_s,
        opening_polls_per_s=opening_per_s,
        polls_per_booking=polls,
        prequeue_entries_per_s=pre_rate,
        prequeue_item_bytes=counter_item_bytes(per, pre_per_shard, per.room_pre_key_bytes),
        prequeue_write_wru_per_s=pre_rate * (entry_wru + full_wru),
        prequeue_shard_wcu=pre_rate / ROOM_PRE_SHARDS * full_wru,
        post_shard_wcu=post_keys * counter_add_wru(per, post_keys, per.room_post_key_bytes),
        # The entry's writes beside its counter ADD are small item puts; the bind is one more.
        wru_per_booking=entry_wru * (per.room_entry_writes - 1) + counter_wru + per.room_admission_writes,
        rru_per_booking=polls * per.room_poll_reads / 2,
    )


def room_checks(design: Design, launch: Launch) -> list[EdgeCheck]:
    s = design.stage
    load = room_load(design, launch)
    api = min(s.api_rate_limit_rps, s.apigw_account_rps)
    wru = min(s.bookings_warm_wru or q.DDB_NEW_TABLE_WRU.value, s.ddb_table_max)
    return [
        EdgeCheck(
            f"pre-queue's first polls after opening (over {room_opening_spread_s(s.prequeue_minutes):,.0f} s)",
            load.prequeue_polls_per_s,
            api,
            "req/s",
        ),
        EdgeCheck("entry polls after opening, busiest 10 s (Retry-After)", load.opening_polls_per_s, api, "req/s"),
        EdgeCheck("pre-queue counter item at opening", load.prequeue_item_bytes, ITEM_MAX_BYTES, "bytes"),
        EdgeCheck("pre-queue writes, end of the window (table)", load.prequeue_write_wru_per_s, wru, "WRU/s"),
        EdgeCheck(
            "one pre-queue counter shard, end of window", load.prequeue_shard_wcu, q.DDB_PARTITION_WCU.value, "WCU"
        ),
        EdgeCheck(
            "one arrival-second counter shard at the peak", load.post_shard_wcu, q.DDB_PARTITION_WCU.value, "WCU"
        ),
    ]


def room_cost_per_million(design: Design, launch: Launch) -> float:
    """What an active room adds per 1 M pair bookings: its API calls and polls, and its DynamoDB units."""
    per, s = design.per, design.stage
    load = room_load(design, launch)
    requests = (per.room_flow_calls + load.polls_per_booking) * 1_000_000
    api = price("apigw_http_request" if s.api_kind == "HTTP" else "apigw_rest_request") + price("waf_request")
    if s.api_kind == "HTTP":
        api += price("cloudfront_request")
    lam = price("lambda_request") + per.api_ms / 1000 * s.api_memory_mb / 1024 * price("lambda_gb_s")
    ddb = 1_000_000 * (load.wru_per_booking * price("dynamodb_wru") + load.rru_per_booking * price("dynamodb_rru"))
    limit = per.client_limit_writes * price("dynamodb_wru")  # the per-address counter of each call
    return requests * (api + lam + limit) + ddb


def duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds / 3600:,.1f} h"
