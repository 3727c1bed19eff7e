"""The launches of issue #12 (2021 and ten times it) and the two designs: today's, read from the code, and the target.

Today's prod stage is sized for ten times 2021 (infra/aws/stages.py, .chalice/config.json). The target is today's
design with the remaining changes of issue #12 applied one by one, so each step shows what it buys. None of those
changes is built yet; each says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from infra.aws.chalice_config import lambda_settings
from infra.aws.stages import STAGES
from infra.capacity.model import Design, Launch, PerBooking, StageConfig, load_measured

ROOT = Path(__file__).resolve().parents[2]

# Westfalen-Lippe, 25 January 2021 (seeds 000 and 003): ~700 requests/s at 8:00, 479,000 appointments for
# ~240,000 people of ~350,000 over-80s living at home.
PEAK_2021 = Launch(
    name="2021 peak (Westfalen-Lippe, 25 Jan 2021)",
    eligible_people=350_000,
    pair_bookings=239_500,
    # Assumed: a quarter of the bookings arrive in the first 10 minutes, half in the first hour, all within a day.
    arrival=((10, 0.25), (60, 0.5), (240, 0.8), (1440, 1.0)),
    edge_rps=700,
    target_pair_bookings_per_s=239_500 / 600,  # the goal: all of them in 10 minutes
    centres=27,  # assumed: one per district and district-free city of Westfalen-Lippe (18 + 9)
    hottest_centre_share=0.072,  # assumed: Dortmund, ~588,000 of ~8.2 M inhabitants
    slots_per_day=20,  # assumed: 30-minute slots over 10 hours, per centre and campaign
    interval_days=(21, 42),  # Comirnaty, as the demo campaign of infra/local/seed.py
    busiest_ip_share=0.001,  # assumed: one carrier-NAT address fronts 0.1 % of the traffic
    postal_codes=400,  # assumed: postal codes of Westfalen-Lippe people ask the centre list for
    booking_window_days=28,  # the demo campaign's booking window (infra/local/seed.py)
)

TEN_TIMES = replace(
    PEAK_2021,
    name="10 x 2021",
    eligible_people=PEAK_2021.eligible_people * 10,
    pair_bookings=PEAK_2021.pair_bookings * 10,
    edge_rps=PEAK_2021.edge_rps * 10,
    target_pair_bookings_per_s=1000,
)


def _prod_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"]["prod"]["environment_variables"]


def _prod_availability_max_age_s() -> float:
    return float(_prod_environment()["AVAILABILITY_MAX_AGE_SECONDS"])


def _prod_client_requests_per_min() -> float:
    """chalicelib/settings.py's LIMIT_CLIENT_REQUESTS_PER_MINUTE, 300 unless the prod stage sets it."""
    return float(_prod_environment().get("LIMIT_CLIENT_REQUESTS_PER_MINUTE", "300"))


def today_stage() -> StageConfig:
    """The prod stage as infra/aws/stages.py and .chalice/config.json (`lambda_functions`) set it."""
    k = STAGES["prod"]
    warm = k.bookings_warm_throughput
    api, worker, mail = (lambda_settings("prod", f) for f in ("api_handler", "booking_worker", "mail_worker"))
    others = sum(lambda_settings("prod", f).reserved_concurrency or 0 for f in ("mail_events", "reconcile"))
    return StageConfig(
        name="prod today",
        api_kind="REST",  # chalice deploys a REST API
        api_rate_limit_rps=k.api_rate_limit_rps,
        api_burst_limit=k.api_burst_limit,
        api_memory_mb=api.memory_mb,
        worker_reserved_concurrency=worker.reserved_concurrency or 0,
        worker_batch_size=k.sqs_batch_size["booking_worker"],
        worker_memory_mb=worker.memory_mb,
        mail_worker_concurrency=mail.reserved_concurrency or 0,
        mail_batch_size=k.sqs_batch_size["mail_worker"],
        mail_memory_mb=mail.memory_mb,
        other_reserved_concurrency=others,
        ses_send_rate_per_s=k.ses_send_rate_per_s,
        waf_requests_per_ip_per_5min=k.waf_requests_per_ip_per_5min,
        slot_shards=1,  # chalicelib/booking/storage/models.py slots_pk: SLOTS#<campaign>#<centre>
        bookings_warm_wru=warm.write_units_per_s if warm else None,  # infra/aws/template/data.py WarmThroughput
        bookings_warm_rru=warm.read_units_per_s if warm else None,
        availability_max_age_s=_prod_availability_max_age_s(),
        # Built: the site reads campaigns, centres, availability and the room's state through the read snapshots'
        # CloudFront (infra/aws/template/edge.py, config.js readBaseUrl), which honours the API's max-age.
        reads_through_cdn=True,
        app_client_requests_per_min=_prod_client_requests_per_min(),
        # The room is built (chalicelib/waitingroom) but is a per-campaign setting that ops switch on; the
        # stage sets no rate, so today's design is modelled without it (its own load: model.room_load).
        admissions_per_minute=None,
    )


def today() -> Design:
    per, _, built = load_measured("today")
    return Design("today", today_stage(), per, built)


Step = tuple[str, Callable[[Design], Design]]


def _stage(**changes) -> Callable[[Design], Design]:
    return lambda d: replace(d, stage=replace(d.stage, **changes))


def _per(target: PerBooking, *names: str) -> Callable[[Design], Design]:
    return lambda d: replace(d, per=replace(d.per, **{n: getattr(target, n) for n in names}))


def target_steps() -> list[Step]:
    """Issue #12's changes beyond the built prod stage (whose knobs are already sized for ten times 2021), cheapest
    first; each is planned (not built) or a setting not set."""
    planned, _, _ = load_measured("target")
    return [
        (
            "status polls: 2, decided within ~2 s (planned, not built)",
            _per(planned, "status_polls"),
        ),
        ("slot partitions sharded x4 (planned, not built)", _stage(slot_shards=4)),
        # Built (chalicelib/waitingroom); its rate is ops' admitted_per_minute, set per campaign, not in the stage.
        (
            "waiting room on at 66,000/min (built; a per-campaign setting, not set)",
            _stage(admissions_per_minute=66_000),
        ),
    ]


def apply_steps(design: Design, steps: list[Step]) -> list[tuple[str, Design]]:
    out, current = [], design
    for label, change in steps:
        current = change(current)
        out.append((label, current))
    return out


def target() -> Design:
    _, _, built = load_measured("target")
    steps = target_steps()
    final = apply_steps(today(), steps)[-1][1]
    return replace(
        final,
        name="target",
        built=built,
        stage=replace(final.stage, name="target"),
        changes=tuple(label for label, _ in steps),
    )
