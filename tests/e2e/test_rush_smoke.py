"""`make rush` in small: a few seconds of a rush with a dozen people, then the report's invariants.

The rush runs as its own process (locust monkey-patches whatever process imports it) with its own stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUST_HOLD = (
    "slots over capacity",
    "half bookings",
    "people with two active bookings",
    "accepted requests never decided",
)


def test_a_small_rush_keeps_capacity_whole_pairs_one_booking_per_person_and_decides_every_request(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.rush",
            "--users",
            "12",
            "--agents",
            "1",
            "--bots-share",
            "0.25",
            "--duration",
            "30",
            "--opens-in",
            "6",
            "--spike",
            "3",
            "--admit-per-min",
            "600",
            "--capacity",
            "1",
            "--drain-timeout",
            "90",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]  # 1: an invariant failed
    report = json.loads((tmp_path / "report.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    for name in MUST_HOLD:
        [check] = [c for n, c in checks.items() if n.startswith(name)]
        assert check["ok"], f"{name}: {check}\n{done.stdout[-3000:]}"
    figures = report["figures"]
    # Something was really booked through the room, or the invariants above would hold vacuously.
    assert figures["accepted_requests"] > 0 and figures["bookings"] > 0, done.stdout[-3000:]
    assert figures["entries"] > 0 and figures["campaign"] == "rush-demo"
    assert report["ok"] is (done.returncode == 0)
    assert {p.name for p in (tmp_path / "plots").glob("*.png")} >= {
        "arrivals.png",
        "queue.png",
        "bookings.png",
        "latency.png",
        "errors.png",
        "overview.png",
    }
