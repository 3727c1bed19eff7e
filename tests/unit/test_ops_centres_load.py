"""`python -m infra.ops.centres load`: the file's centres are checked with the domain's rules, then added or
updated once; a rerun writes nothing (against the in-memory catalogue)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from infra.local.seed import CENTERS, REGION_HOTLINES
from infra.ops import centres as c
from tests.fakes import FakeCatalog


class CountingCatalog(FakeCatalog):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def add_center(self, center):
        self.writes += 1
        super().add_center(center)


def row(**changes) -> dict:
    base = {
        "id": "bielefeld",
        "name": "Impfzentrum Bielefeld (Lokschuppen)",
        "address": "Stadtheider Str. 11, 33609 Bielefeld",
        "region": "westfalen-lippe",
        "postal_codes": ["33602-33619", "33647"],
        "vaccines": ["comirnaty"],
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def test_the_shipped_example_is_the_local_demo_s_centres():
    assert sorted(c.parse(c.read_rows(c.EXAMPLE)), key=lambda x: x.id) == sorted(CENTERS, key=lambda x: x.id)


def test_a_centre_gets_its_catchment_from_codes_and_ranges_and_its_region_s_hotline():
    (centre,) = c.parse([row()])
    assert centre.postal_codes == frozenset({*(str(p) for p in range(33602, 33620)), "33647"})
    assert centre.hotline == REGION_HOTLINES["westfalen-lippe"]
    assert centre.serves("33647") and not centre.serves("33620")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"region": "bayern"}, "region: one of nordrhein, westfalen-lippe"),
        ({"postal_codes": ["3360"]}, "neither a five-digit postal code"),
        ({"postal_codes": ["33619-33602"]}, "range '33619-33602'"),
        ({"postal_codes": ["10000-19999"]}, "at most 1000"),
        ({"postal_codes": []}, "at least one postal code"),
        ({"address": "Stadtheider Str. 11, Bielefeld"}, "address: needs the postal code and town"),
        ({"name": "  "}, "name: must not be empty"),
        ({"id": "biele feld"}, "id: letters, digits"),
        ({"vaccines": []}, "vaccines: at least one vaccine"),
        ({"hotline": REGION_HOTLINES["nordrhein"]}, "is not the hotline of KV Westfalen-Lippe"),
        ({"capacity": 5}, "capacity: Extra inputs are not permitted"),
        ({"region": None}, "region: Field required"),
    ],
)
def test_a_centre_that_breaks_a_rule_is_refused_naming_entry_and_field(changes, message):
    with pytest.raises(c.InvalidCentres) as refused:
        c.parse([row(id="ok"), row(**changes)])
    assert len(refused.value.errors) == 1
    assert refused.value.errors[0].startswith("entry 2 (") and message in refused.value.errors[0]


def test_a_file_naming_a_centre_twice_is_refused():
    with pytest.raises(c.InvalidCentres, match="'bielefeld' appears 2 times"):
        c.parse([row(), row(name="Impfzentrum Bielefeld 2")])


def test_a_load_adds_the_centres_and_a_rerun_writes_nothing():
    catalog = CountingCatalog()
    first = c.load(catalog, list(CENTERS))
    assert [x.id for x in first.added] == [x.id for x in CENTERS] and catalog.writes == 3
    again = c.load(catalog, list(CENTERS))
    assert (again.added, again.updated, again.kept) == ([], [], []) and len(again.unchanged) == 3
    assert catalog.writes == 3
    assert again.lines(dry_run=False)[-1] == "0 added, 0 updated, 3 unchanged, 0 kept"


def test_a_changed_centre_is_updated_whole_and_a_stored_one_missing_from_the_file_is_kept():
    catalog = CountingCatalog()
    c.load(catalog, list(CENTERS))
    moved = replace(CENTERS[0], address="Strobelallee 50, 44139 Dortmund", postal_codes=frozenset({"44135"}))
    done = c.load(catalog, [moved, CENTERS[1]])
    assert done.updated == [(CENTERS[0], moved)] and [x.id for x in done.kept] == [CENTERS[2].id]
    assert {x.id: x for x in catalog.centers()} == {
        moved.id: moved,
        CENTERS[1].id: CENTERS[1],
        CENTERS[2].id: CENTERS[2],
    }
    assert f"updated {moved.id}: address, postal_codes" in done.lines(dry_run=False)
    assert catalog.writes == 4


def test_a_dry_run_reports_the_changes_and_writes_nothing():
    catalog = CountingCatalog()
    done = c.load(catalog, list(CENTERS), dry_run=True)
    assert catalog.writes == 0 and catalog.centers() == []
    lines = done.lines(dry_run=True)
    assert lines[0].startswith("would add ") and lines[-1].endswith("(dry run: nothing written)")


def test_a_postal_code_served_in_both_regions_is_refused_before_anything_is_written():
    catalog = CountingCatalog()
    c.load(catalog, list(CENTERS))
    koeln = next(x for x in CENTERS if x.region == "nordrhein")
    across = replace(koeln, id="koeln-2", postal_codes=frozenset({"44141"}))  # a Dortmund code, other region
    with pytest.raises(c.InvalidCentres, match="both regions: 44141"):
        c.load(catalog, [across])
    assert catalog.writes == 3


def test_a_csv_with_space_separated_lists_reads_as_the_json(tmp_path: Path):
    csv_file = tmp_path / "centres.csv"
    csv_file.write_text(
        "\ufeffid,name,address,region,postal_codes,vaccines,hotline\n"
        'bielefeld,Impfzentrum Bielefeld (Lokschuppen),"Stadtheider Str. 11, 33609 Bielefeld",westfalen-lippe,'
        "33602-33619 33647,comirnaty,\n",
        encoding="utf-8",
    )
    json_file = tmp_path / "centres.json"
    json_file.write_text(json.dumps([row()]), encoding="utf-8")
    assert c.parse(c.read_rows(csv_file)) == c.parse(c.read_rows(json_file))


def test_the_command_refuses_a_bad_file_and_a_deployed_stage_without_an_account(tmp_path: Path, capsys):
    bad = tmp_path / "centres.json"
    bad.write_text(json.dumps([row(region="bayern")]), encoding="utf-8")
    assert c.main(["load", str(bad), "--stage", "dev", "--account", "111122223333"]) == 2
    assert "nothing written" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(json.dumps([row()]), encoding="utf-8")
    assert c.main(["load", str(good), "--stage", "dev"]) == 2
    assert "--account is required" in capsys.readouterr().err


def test_a_csv_row_with_more_fields_than_its_header_is_refused(tmp_path: Path):
    csv_file = tmp_path / "centres.csv"
    csv_file.write_text(
        "id,name,address,region,postal_codes,vaccines\n"
        'bielefeld,Impfzentrum Bielefeld,"Stadtheider Str. 11, 33609 Bielefeld",westfalen-lippe,33602,comirnaty,x\n',
        encoding="utf-8",
    )
    with pytest.raises(c.InvalidCentres, match="entries 1 have more fields than the header"):
        c.read_rows(csv_file)
