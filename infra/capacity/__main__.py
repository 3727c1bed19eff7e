"""`python -m infra.capacity` (`make capacity`): the model for the 2021 peak and ten times it, today and target."""

from __future__ import annotations

from dataclasses import replace

from infra.capacity import model as m
from infra.capacity import quotas as q
from infra.capacity.prices import PRICES_AS_OF, PRICES_REGION, PRICES_SOURCE
from infra.capacity.scenarios import PEAK_2021, TEN_TIMES, apply_steps, target, target_steps, today


def _rule(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def _design_block(design: m.Design, launch: m.Launch) -> list[str]:
    lines = [f"\n-- {design.name} design{'' if design.built else ' (planned, not built)'}, {launch.name} --"]
    per = design.per
    lines.append(
        f"per booking: {per.api_requests:g} API requests ({per.api_flow_calls:g} flow + "
        f"{per.status_polls:g} polls), {per.snapshot_reads:g} snapshot reads, {per.static_requests:g} "
        f"static files; bookings table {m.bookings_wru(per):g} WRU (claims {per.claim_wru:g}, limit counters "
        f"{per.limit_writes + per.client_limit_writes * per.api_requests:g}) / {m.bookings_rru(per, launch):g} RRU; "
        f"its indexes {per.index_wru:g} WRU; "
        f"slot partition {m.slot_partition_wru(per):g} WRU / {m.slot_partition_rru(per, launch):g} RRU"
    )
    lines += _snapshot_lines(design, launch)
    binding = m.capacity(design, launch)
    lines.append(f"{'limit':44} {'pair bookings/s':>15}  from")
    for c in sorted(m.ceilings(design, launch), key=lambda c: c.bookings_per_s):
        mark = "  <- binds" if c == binding else ""
        lines.append(f"{c.name:44} {c.bookings_per_s:>15,.0f}  {c.detail}{mark}")
    target = launch.target_pair_bookings_per_s
    verdict = "meets" if binding.bookings_per_s >= target else "MISSES"
    lines.append(
        f"sustained: {binding.bookings_per_s:,.0f} pair bookings/s — {verdict} the target {target:,.0f}/s "
        f"(binding: {binding.name}; lift it with {binding.remedy})"
    )
    lines.append(f"edge at {launch.edge_rps:,.0f} req/s:")
    for e in m.edge_checks(design, launch):
        lines.append(f"  {'ok  ' if e.ok else 'OVER'} {e.name:40} {e.load:>10,.0f} of {e.limit:>10,.0f} {e.unit}")
    instances = m.api_instances(design, launch.edge_rps * per.api_requests / per.edge_requests)
    lines.append(
        f"API function: {instances:,.0f} instances at this edge load, reached within "
        f"{m.api_ramp_s(instances):,.0f} s (Lambda adds 1,000 per 10 s)"
    )
    lines += _hot_partition_lines(design, launch)
    run = m.run_launch(design, launch)
    lines.append(
        f"launch run (arrival curve): peak arrivals {run.peak_arrivals_per_s:,.0f}/s, max backlog "
        f"{run.max_backlog:,.0f}, longest wait for a decision {m.duration(run.max_wait_s)} "
        f"(≈ {m.polls_for_wait(run.max_wait_s)} polls each), longest mail lag "
        f"{m.duration(run.max_mail_lag_s)}"
    )
    lines.append(
        f"all {launch.pair_bookings:,} already queued: booked in "
        f"{m.duration(m.seconds_to_book(design, launch.pair_bookings, launch))}"
    )
    return lines


def _snapshot_lines(design: m.Design, launch: m.Launch) -> list[str]:
    """The public reads through CloudFront at the launch's target rate: requests, keys, misses, hit ratio."""
    rate = launch.target_pair_bookings_per_s
    classes = m.snapshot_classes(design, launch, rate)
    if not classes:
        return ["public reads: all through API Gateway (no CDN)"]
    b = design.stage.availability_max_age_s
    lines = [
        f"public reads through CloudFront (max-age {b:g} s, Origin Shield; keys evenly loaded, so hits are a lower "
        f"bound), at {rate:,.0f} bookings/s: hit ratio "
        f"{m.snapshot_hit_ratio(design, launch):.1%}, {m.snapshot_fetches_per_booking(design, launch):.2f} API "
        f"requests per booking from misses (at most {m.origin_fetch_bound(design, launch):,.0f}/s whatever the load; "
        f"at a tenth of the rate the hit ratio is {m.snapshot_hit_ratio(design, launch, rate / 10):.1%})"
    ]
    for name, c in classes.items():
        lines.append(
            f"  {name:30} {c.requests_per_s:>8,.0f} req/s over {c.keys:>5,.0f} keys → {c.fetches_per_s:>6,.0f} "
            f"misses/s ({c.hit_ratio:.0%} hits)"
        )
    return lines


def _hot_partition_lines(design: m.Design, launch: m.Launch) -> list[str]:
    """Issue #12's per-centre hot partition: does SLOTS#<campaign>#<centre> bind at the target rate?"""
    target = launch.target_pair_bookings_per_s
    share = launch.hottest_centre_share
    per, s = design.per, design.stage
    per_centre = q.DDB_PARTITION_WCU.value * s.slot_shards / m.slot_partition_wru(per)
    reads = (q.DDB_PARTITION_RCU.value * s.slot_shards - m.availability_load_rru(design, launch, target)) / (
        m.slot_partition_rru(per, launch)
    )
    limit = m.hottest_share_limit(design, launch)
    at_busiest = target * share
    verdict = (
        f"binds: {at_busiest:,.0f}/s at the busiest centre ({share:.1%} of {target:,.0f}/s, assumed) > what its "
        f"partition takes"
        if limit < share
        else f"does not bind: the busiest centre (assumed {share:.1%} of bookings) takes {at_busiest:,.0f}/s; it "
        f"would bind above {min(limit, 1):.0%} of all bookings"
    )
    return [
        f"slot partition per centre and campaign ({s.slot_shards} shard(s)) takes {per_centre:,.0f} pair bookings/s "
        f"of writes ({q.DDB_PARTITION_WCU.value:,.0f} WCU ÷ {m.slot_partition_wru(per):g} WRU) and {reads:,.0f}/s of "
        f"reads (window Query + availability misses); at {target:,.0f}/s it {verdict}"
    ]


def _room_block(design: m.Design, launch: m.Launch) -> list[str]:
    """The waiting room's own load: built, but only the target design switches it on (ops do, per campaign)."""
    s, per = design.stage, design.per
    assert s.admissions_per_minute is not None, "the room block is for a design with a waiting room"
    load = m.room_load(design, launch)
    lines = [
        f"\nwaiting room ({design.name} design: admits {s.admissions_per_minute:,.0f}/min, pre-queue "
        f"{s.prequeue_minutes:g} min before opening, {s.prequeue_share:.0%} of the bookings enter it), "
        f"{launch.name}:",
        f"  per booking: {per.room_flow_calls:g} room calls + ≥ {load.polls_per_booking:,.0f} entry polls on "
        f"average; {load.wru_per_booking:,.1f} WRU (entry {per.room_entry_writes:g} writes, counter set ADDs "
        f"priced by the whole item, admission bind {per.room_admission_writes:g}), "
        f"{load.rru_per_booking:,.1f} RRU; "
        f"+ ≥ ${m.room_cost_per_million(design, launch):,.2f} per 1 M bookings",
        f"  {load.prequeue_entries:,.0f} in the pre-queue: {load.prequeue_entries_per_s:,.0f} entries/s during "
        f"its window, {m.duration(load.prequeue_entries / (s.admissions_per_minute / 60))} to let them all in",
    ]
    for c in m.room_checks(design, launch):
        lines.append(f"  {'ok  ' if c.ok else 'OVER'} {c.name:48} {c.load:>10,.0f} of {c.limit:>10,.0f} {c.unit}")
    return lines


def _settings_block(design: m.Design, launch: m.Launch) -> list[str]:
    title = (
        f"\nsettings for {launch.target_pair_bookings_per_s:,.0f} pair bookings/s and {launch.edge_rps:,.0f} "
        f"req/s ({design.name} design's call counts, +{m.HEADROOM - 1:.0%} headroom):"
    )
    lines = [title]
    lines += [f"  {k:58} {v}" for k, v in m.settings_for(design, launch).lines()]
    return lines


def _cost_block(design: m.Design) -> list[str]:
    costs = m.cost_per_million(design, PEAK_2021)
    lines = [f"\ncost per 1 M pair bookings, {design.name} design (list prices {PRICES_REGION}, {PRICES_AS_OF}):"]
    for name, usd in costs.items():
        if name != "SES mail":
            lines.append(f"  {name:24} ${usd:>9,.2f}")
    lines.append(f"  {'= beside the mail':24} ${m.cost_beside_mail(costs):>9,.2f}")
    lines.append(f"  {'SES mail (separate)':24} ${costs['SES mail']:>9,.2f}")
    lines.append(
        f"  each extra status poll: +${m.cost_per_extra_poll(design):,.2f}; a minute in the queue "
        f"(≈ {m.polls_for_wait(60) - m.polls_for_wait(0)} more polls at the site's schedule): "
        f"+${(m.polls_for_wait(60) - m.polls_for_wait(0)) * m.cost_per_extra_poll(design):,.2f}"
    )
    return lines


def report() -> str:
    now, planned = today(), target()
    lines = [
        _rule("vaxslot capacity and cost model (issue #12)"),
        f"prices: {PRICES_SOURCE}, {PRICES_REGION}, as of {PRICES_AS_OF}",
        "per-booking counts: infra/capacity/measured.json ('today' read from the code; 'target' planned)",
        f"launch assumptions: infra/capacity/scenarios.py (busiest centre {PEAK_2021.hottest_centre_share:.1%} of "
        f"bookings, {PEAK_2021.postal_codes} postal codes, busiest NAT address {PEAK_2021.busiest_ip_share:.1%} of "
        "the traffic)",
    ]
    for launch in (PEAK_2021, TEN_TIMES):
        lines.append(_rule(launch.name))
        lines.append(
            f"{launch.pair_bookings:,} pair bookings ({2 * launch.pair_bookings:,} appointments), "
            f"{launch.edge_rps:,.0f} req/s at the edge, target {launch.target_pair_bookings_per_s:,.0f} "
            f"pair bookings/s"
        )
        for design in (now, planned):
            lines += _design_block(design, launch)
        lines += _room_block(planned, launch)
        lines += _settings_block(now, launch) + _settings_block(planned, launch)
    lines.append(_rule("What each change buys (10 x 2021; cumulative, starting from today)"))
    lines.append(f"{'':78} {'pair bk/s':>9} {'$/1M':>8}  binding limit")
    lines.append(
        f"{'today':78} {m.capacity(now, TEN_TIMES).bookings_per_s:>9,.0f} "
        f"{m.cost_beside_mail(m.cost_per_million(now, PEAK_2021)):>8,.2f}  {m.capacity(now, TEN_TIMES).name}"
    )
    for label, design in apply_steps(now, target_steps()):
        c = m.capacity(design, TEN_TIMES)
        cost = m.cost_beside_mail(m.cost_per_million(design, PEAK_2021))
        lines.append(f"+ {label:76} {c.bookings_per_s:>9,.0f} {cost:>8,.2f}  {c.name}")
    lines.append(_rule("Costs"))
    lines += _cost_block(now) + _cost_block(planned)
    http = m.cost_beside_mail(
        m.cost_per_million(replace(planned, stage=replace(planned.stage, api_kind="HTTP")), PEAK_2021)
    )
    lines.append(
        f"\nnot taken: an HTTP API (CloudFront + a us-east-1 WAF in front of it) would cost ${http:,.2f} beside the "
        f"mail in the target instead of ${m.cost_beside_mail(m.cost_per_million(planned, PEAK_2021)):,.2f}; see "
        "docs/capacity.md, 'REST or HTTP API'"
    )
    lines.append(_rule("Goals of issue #12"))
    for design in (now, planned):
        lines.append(f"\n{design.name} design{'' if design.built else ' (planned, not built)'}:")
        for g in m.goals(design, PEAK_2021, TEN_TIMES):
            lines.append(f"  {'MET ' if g.met else 'NOT MET'} {g.name:48} {g.value}")
            if not g.met:
                lines.append(f"          stopped by: {g.stopped_by}")
    lines.append(
        "\nNot modelled: per-item transaction conflicts (hot slots, the deterministic second dose), "
        "DynamoDB split-for-heat, cold starts, data transfer out of API Gateway, X-Ray, fixed monthly "
        "fees. See docs/capacity.md."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
