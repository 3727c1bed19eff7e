"""`make rush`: launch day replayed on this machine (issue #11).

    python -m infra.rush [--users 60] [--duration 90] [--opens-in 20] [--bots-share 0.2] [--out build/rush]

Starts the local stack in a child process (infra/rush/serve.py), sets the `rush-demo` campaign's waiting
room through the ops route (pre-queue from now, opening --opens-in seconds later), releases citizens,
bots and hotline agents on a launch-day arrival curve with locust, waits for the queues to drain, reads
the store and the sent mails, prints the invariant and fairness report, writes plots and report.json to
--out, and exits 1 if an invariant failed (with --strict also if a fairness goal was missed).
"""

from __future__ import annotations

# locust monkey-patches the process for gevent when imported: before anything opens a socket.
from infra.rush import scenario  # isort: skip

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import requests

from infra.local.token import local_staff_token
from infra.rush import store
from infra.rush.plots import write_plots
from infra.rush.report import RushData, build_report, format_report

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m infra.rush", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=60, help="citizens and bots arriving (default 60)")
    p.add_argument("--duration", type=float, default=90, help="seconds of load from the start (default 90)")
    p.add_argument("--opens-in", type=float, default=20, help="seconds of pre-queue before opening (default 20)")
    p.add_argument("--bots-share", type=float, default=0.2, help="share of users that are bots (default 0.2)")
    p.add_argument("--agents", type=int, default=2, help="hotline agents, at work from the start (default 2)")
    p.add_argument("--admit-per-min", type=int, default=300, help="room admissions per minute (default 300)")
    p.add_argument("--hotline-share", type=float, default=0.1, help="admissions reserved for the hotline (0.1)")
    p.add_argument("--pre-share", type=float, default=0.4, help="share of users arriving before opening (0.4)")
    p.add_argument("--spike", type=float, default=10, help="seconds over which the rest arrive (default 10)")
    p.add_argument("--capacity", type=int, default=2, help="places per slot of rush-demo (default 2)")
    p.add_argument("--workers", type=int, default=2, help="booking queue workers (default 2)")
    p.add_argument("--bot-clients", type=int, default=3, help="client addresses the bots share (default 3)")
    p.add_argument("--bot-entries", type=int, default=3, help="room entries a bot opens at once (default 3)")
    p.add_argument("--bot-poll", type=float, default=2.0, help="seconds between a bot's polls (default 2)")
    p.add_argument("--drain-timeout", type=float, default=90, help="seconds to wait for the queues (90)")
    p.add_argument("--no-room", action="store_true", help="switch the campaign's room off (for comparison)")
    p.add_argument("--strict", action="store_true", help="a missed fairness goal fails the run too")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "build" / "rush", help="folder for plots and report")
    return p.parse_args(argv)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def start_stack(args, out: Path) -> tuple[subprocess.Popen, dict]:
    info_path = out / "stack.json"
    info_path.unlink(missing_ok=True)
    log = (out / "stack.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.rush.serve", str(info_path), str(args.capacity), str(args.workers)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while not info_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the local stack did not start; see {out / 'stack.log'}")
        time.sleep(0.2)
    return proc, json.loads(info_path.read_text())


def stop_stack(proc: subprocess.Popen) -> None:
    assert proc.stdin is not None  # started with stdin=PIPE
    try:
        proc.stdin.close()
        proc.wait(timeout=60)
    except (subprocess.TimeoutExpired, OSError):
        proc.kill()
        proc.wait()


def set_room(api_url: str, campaign_id: str, args, started_at: float) -> bool:
    """Open the room's pre-queue now and its doors --opens-in seconds later; whether a room is active."""
    ops = {"Authorization": local_staff_token("rush-ops", "ops")}
    body = {
        "active": not args.no_room,
        "prequeue_opens_at": _iso(started_at),
        "opens_at": _iso(started_at + args.opens_in),
        "admitted_per_minute": args.admit_per_min,
        "hotline_share": args.hotline_share,
    }
    put = requests.put(f"{api_url}/v1/staff/campaigns/{campaign_id}/waiting-room", json=body, headers=ops, timeout=30)
    if put.status_code not in (200, 404):
        raise SystemExit(f"setting the waiting room failed: {put.status_code} {put.text[:300]}")
    # The contract's own check, as any client would make it: no room or an inactive one needs no token.
    room = requests.get(f"{api_url}/v1/campaigns/{campaign_id}/waiting-room", timeout=30)
    return room.status_code == 200 and room.json().get("active") is True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"rush: starting the local stack (log: {out / 'stack.log'})", flush=True)
    proc, info = start_stack(args, out)
    try:
        api_url, aws_url, campaign_id = info["api_url"], info["aws_url"], info["campaign_id"]
        started_at = time.time()
        room_active = set_room(api_url, campaign_id, args, started_at)
        cfg = scenario.RushConfig(
            campaign_id=campaign_id,
            room_active=room_active,
            started_at=started_at,
            opens_at=started_at + args.opens_in,
            ends_at=started_at + args.duration,
            hotline_token=local_staff_token("rush-hotline", "hotline"),
            bot_clients=tuple(f"203.0.113.{i + 10}" for i in range(args.bot_clients)),
            bot_entries=args.bot_entries,
            bot_poll_s=args.bot_poll,
            seed=args.seed,
        )
        print(
            f"rush: {args.users} users ({args.bots_share:.0%} bots) + {args.agents} hotline agents on "
            f"{campaign_id}; room {'active, opens' if room_active else 'not active; would open'} in "
            f"{args.opens_in:g} s; load for {args.duration:g} s",
            flush=True,
        )
        recorder = scenario.run(
            api_url, cfg, args.users, args.agents, args.bots_share, args.spike, args.pre_share, finish_s=30
        )
        print(f"rush: load stopped after {len(recorder.calls)} calls; waiting for the queues to drain", flush=True)
        drained = store.wait_for_idle_queues(aws_url, args.drain_timeout)
        data = RushData(
            campaign_id=campaign_id,
            doses=2,
            started_at=started_at,
            opens_at=cfg.opens_at if room_active else None,
            accepted=recorder.accepted,
            calls=recorder.calls,
            entries=recorder.entry_obs(),
            identities=recorder.identities,
            samples=recorder.samples,
        )
        store.fill_from_store(data, store.scan(aws_url))
        data.mail_recipients = store.sent_mail_recipients(aws_url)
        dead = store.dead_letters(aws_url)
    finally:
        stop_stack(proc)

    report = build_report(data)
    report.figures |= {"queues_drained": drained, "dead_letters": dead}
    text = format_report(report, args.strict)
    print(text, flush=True)
    (out / "report.txt").write_text(text)
    (out / "report.json").write_text(
        json.dumps(
            {
                **report.to_dict(args.strict),
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            },
            indent=2,
        )
    )
    # What was seen, for a second look (invented people only; no store contents).
    (out / "seen.json").write_text(
        json.dumps(
            {
                "started_at": data.started_at,
                "opens_at": data.opens_at,
                "calls": [asdict(c) for c in data.calls],
                "entries": [asdict(e) for e in data.entries],
            }
        )
    )
    plots = write_plots(data, out / "plots")
    print(f"rush: report and {len(plots)} plots in {out}", flush=True)
    return report.exit_code(args.strict)


if __name__ == "__main__":
    sys.exit(main())
