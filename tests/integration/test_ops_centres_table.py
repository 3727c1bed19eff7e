"""`python -m infra.ops.centres load` against the stage's table on the moto server: a centre read back through
the catalogue adapter equals the file's, so a rerun of the seeded centres changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from infra.ops import centres
from tests.e2e.test_privacy import run_ops_command


def run_command(stack, capsys, *args: str) -> tuple[int, str]:
    return run_ops_command(centres.main, stack, capsys, *args)


def test_loading_the_seeded_centres_again_changes_nothing_and_a_dry_run_names_a_change(stack, capsys, tmp_path: Path):
    status, out = run_command(stack, capsys, "load", str(centres.EXAMPLE))
    assert status == 0, out
    assert out.splitlines()[-1].startswith("0 added, 0 updated, 3 unchanged"), out

    moved = json.loads(centres.EXAMPLE.read_text(encoding="utf-8"))
    moved[0]["address"] = "Strobelallee 50, 44139 Dortmund"
    changed = tmp_path / "centres.json"
    changed.write_text(json.dumps(moved), encoding="utf-8")
    status, out = run_command(stack, capsys, "load", str(changed), "--dry-run")
    assert status == 0 and f"would update {moved[0]['id']}: address" in out, out
    dortmund = next(x for x in stack.catalog.centers() if x.id == moved[0]["id"])
    assert dortmund.address == "Rheinlanddamm 200, 44139 Dortmund"  # the dry run wrote nothing
