"""`make loadtest`: the rush of `make rush` (infra/rush/scenario.py's citizens, bots and hotline agents on a
launch-day arrival curve) against a deployed stack, for a staged load test before launch.

    python -m infra.loadtest --stage dev --account 123456789012 \\
        --url https://abc123.execute-api.eu-central-1.amazonaws.com/api --campaign loadtest-comirnaty \\
        [--users 200] [--duration 300] [--spike 60] [--bots-share 0.1] [--agents 0] [--i-know-this-is-prod]

It refuses to start unless infra/loadtest/guard.py passes (a named stage that is not prod unless told so, the URL
of that stage's own stack, bounded users and time). Every invented person's mail goes to SES's mailbox simulator
(success+…@simulator.amazonses.com), which accepts it without a bounce or a complaint against the account. The
report is what the load generator saw (no table is read): calls by status, latencies, and whether every booking
request the API accepted (202) was decided; runbook in docs/operations.md ("Staged load test").
"""

from __future__ import annotations

# locust monkey-patches the process for gevent when imported: before anything opens a socket.
from infra.rush import scenario  # isort: skip

import json
import os
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import gevent
import requests
from gevent.pool import Pool

from infra.aws.deploy import DeployError, require_credentials
from infra.loadtest import guard
from infra.rush.report import EXPECTED_REFUSALS, Call, latency_summary

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = "success+{local}@simulator.amazonses.com"  # SES mailbox simulator: delivered, never bounces
DECIDED = {"booked", "rejected"}


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def read_room(url: str, campaign_id: str) -> tuple[bool, float | None]:
    """Whether the campaign's waiting room is active, and when it opens (the contract's public route)."""
    r = requests.get(f"{url}/v1/campaigns/{campaign_id}/waiting-room", timeout=30)
    if r.status_code == 404:
        raise guard.Refused(f"the stage has no campaign {campaign_id!r}")
    r.raise_for_status()
    room = r.json()
    return room["active"] is True, _epoch(room.get("opens_at"))


def decisions(url: str, request_ids: list[str], timeout_s: float) -> Counter[str]:
    """The status of each accepted request once decided, 'queued' if still not after timeout_s, 'unknown' if the
    API does not know it (lost), polled as a citizen's page would (every 2 s, 20 at a time)."""
    deadline = time.time() + timeout_s
    found: Counter[str] = Counter()

    def follow(request_id: str) -> None:
        status = "queued"
        while True:
            r = requests.get(f"{url}/v1/booking-requests/{request_id}", timeout=30)
            if r.status_code == 404:
                status = "unknown"
            elif r.status_code == 200:
                status = r.json()["status"]
            if status in DECIDED or status == "unknown" or time.time() > deadline:
                found[status] += 1
                return
            gevent.sleep(2)

    Pool(20).map(follow, request_ids)
    return found


def unexpected(calls: list[Call]) -> list[Call]:
    """No answer, a 5xx, or a refusal the scenario does not expect of that kind of user (WAF blocks included)."""
    return [
        c
        for c in calls
        if c.status == 0 or (c.status >= 400 and (c.status, c.code) not in EXPECTED_REFUSALS.get(c.kind, set()))
    ]


def main(argv: list[str] | None = None) -> int:
    args = guard.parse_args(argv, __doc__.split("\n\n")[0])
    target = guard.target_of(args)
    url = target.url
    try:
        guard.check_request(target)
        require_credentials(args.account)
        import boto3

        guard.check_stack(target, guard.stage_endpoint(args.stage, boto3.Session(region_name=args.region)))
        token = os.environ.get("VAXSLOT_HOTLINE_TOKEN", "")
        if args.agents and not token:
            raise guard.Refused("--agents needs a hotline ID token in VAXSLOT_HOTLINE_TOKEN (docs/operations.md)")
        room_active, opens_at = read_room(url, args.campaign)
    except (DeployError, guard.Refused) as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2

    started_at = time.time()
    cfg = scenario.RushConfig(
        campaign_id=args.campaign,
        room_active=room_active,
        started_at=started_at,
        # Arrivals ramp up to the room's opening if it is ahead, else they all come in the spike.
        opens_at=max(started_at, opens_at or started_at) if room_active else started_at,
        ends_at=started_at + args.duration,
        hotline_token=token,
        bot_clients=("198.51.100.7",),  # API Gateway ignores X-Forwarded-For: bots share the generator's IP anyway
        seed=args.seed,
        mail_address=SIMULATOR,
    )
    print(
        f"loadtest: {args.users} users ({args.bots_share:.0%} bots) + {args.agents} agents against {url} "
        f"({args.stage}), campaign {args.campaign}, room {'active' if room_active else 'not active'}, "
        f"{args.duration:g} s; stop with Ctrl-C",
        flush=True,
    )
    try:
        recorder = scenario.run(
            url, cfg, args.users, args.agents, args.bots_share, args.spike, args.pre_share, finish_s=60
        )
    except KeyboardInterrupt:
        print("loadtest: stopped by hand", file=sys.stderr)
        return 130
    print(f"loadtest: load stopped after {len(recorder.calls)} calls; following the accepted requests", flush=True)
    outcome = decisions(url, [a.request_id for a in recorder.accepted], args.drain_timeout)
    bad = unexpected(recorder.calls)
    report = {
        "stage": args.stage,
        "url": url,
        "campaign": args.campaign,
        "room_active": room_active,
        "users": args.users,
        "duration_s": args.duration,
        "calls": len(recorder.calls),
        "calls_by_status": {str(k): v for k, v in sorted(Counter(c.status for c in recorder.calls).items())},
        "unexpected_answers": len(bad),
        "unexpected_by_call": dict(Counter(f"{c.name} {c.status} {c.code}".strip() for c in bad)),
        "unexpected_samples": recorder.samples[:5],
        "accepted_requests": len(recorder.accepted),
        "decisions": dict(outcome),
        "latency_ms_p50_p95_p99": latency_summary(recorder.calls),
    }
    lost = outcome["queued"] + outcome["unknown"]
    report["ok"] = not bad and not lost
    out = (args.out or ROOT / "build" / "loadtest" / args.stage).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    print("\n".join(f"  {k}: {v}" for k, v in report.items()), flush=True)
    print(f"loadtest: {'PASS' if report['ok'] else 'FAIL'}; report in {out / 'report.json'}", flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
