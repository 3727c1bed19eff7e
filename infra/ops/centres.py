"""Load a stage's vaccination centres from a file (JSON or CSV): validated, idempotent, printed.

    python -m infra.ops.centres load centres.json --stage dev --account 123456789012 [--dry-run]
    python -m infra.ops.centres load infra/ops/centres-example.json --stage local --endpoint-url http://127.0.0.1:4566
    make centres STAGE=dev ACCOUNT=123456789012 FILE=centres.json [DRY_RUN=1]

Every centre of the file is checked first (id, name, an address with its postal code, region KV Nordrhein or
KV Westfalen-Lippe, a catchment of five-digit postal codes, vaccines, the region's hotline); one error and nothing
is written. Then each centre is added, updated (only if it differs from the stored one) or left as it is; a
rerun of the same file writes nothing. A stored centre missing from the file is kept and named: campaigns and
bookings refer to it, so removing one is a decision, not a side effect of a file. Writes go through the
catalogue adapter (chalicelib/booking/storage/catalog.py) to the stage's bookings table, with the environment's
AWS credentials (docs/operations.md, "Deploy").
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from chalicelib.booking import domain as d
from chalicelib.booking.ports import Catalog
from infra.local.seed import REGION_HOTLINES

EXAMPLE = Path(__file__).with_name("centres-example.json")

# The two Kassenärztliche Vereinigungen of NRW; each ran its own appointment hotline (REGION_HOTLINES).
REGIONS = {"nordrhein": "KV Nordrhein", "westfalen-lippe": "KV Westfalen-Lippe"}

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # what the API accepts as a centre id in its paths (schemas.py)
_POSTAL_CODE = re.compile(r"^\d{5}$")
_POSTAL_RANGE = re.compile(r"^(\d{5})-(\d{5})$")
_ADDRESS = re.compile(r"\b\d{5} \S")  # "Rheinlanddamm 200, 44139 Dortmund": a street and "<postal code> <town>"
MAX_TEXT = 200
MAX_RANGE = 1000  # a catchment range wider than this is a typing error (one district spans a few hundred codes)
CSV_COLUMNS = ("id", "name", "address", "region", "postal_codes", "vaccines", "hotline")


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > MAX_TEXT or any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise ValueError(f"at most {MAX_TEXT} characters, no control characters")
    return value


def postal_codes(entries: Iterable[str]) -> frozenset[str]:
    """Five-digit codes, or inclusive ranges "44135-44149" (the file would otherwise list thousands)."""
    codes: set[str] = set()
    for entry in entries:
        entry = entry.strip()
        if _POSTAL_CODE.match(entry):
            codes.add(entry)
        elif match := _POSTAL_RANGE.match(entry):
            low, high = int(match.group(1)), int(match.group(2))
            if not 0 <= high - low < MAX_RANGE:
                raise ValueError(f"range {entry!r}: the first code must not be above the last, at most {MAX_RANGE}")
            codes.update(f"{code:05d}" for code in range(low, high + 1))
        else:
            raise ValueError(f"{entry!r} is neither a five-digit postal code nor a range 12345-12399")
    if not codes:
        raise ValueError("a centre needs at least one postal code in its catchment")
    return frozenset(codes)


class CentreEntry(BaseModel):
    """One centre as the file states it; `center()` is the domain's value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    name: str
    address: str
    region: str
    postal_codes: list[str]
    vaccines: list[str]
    hotline: str | None = None  # absent: the region's

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("letters, digits and _ . : - only, 1 to 64 characters")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _text(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        value = _text(value)
        if not _ADDRESS.search(value):
            raise ValueError("needs the postal code and town, e.g. 'Rheinlanddamm 200, 44139 Dortmund'")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"one of {', '.join(sorted(REGIONS))} ({', '.join(REGIONS.values())})")
        return value

    @field_validator("postal_codes")
    @classmethod
    def _postal_codes(cls, value: list[str]) -> list[str]:
        return sorted(postal_codes(value))

    @field_validator("vaccines")
    @classmethod
    def _vaccines(cls, value: list[str]) -> list[str]:
        if not value or not all(_ID.match(v) for v in value):
            raise ValueError("at least one vaccine id (letters, digits and _ . : -)")
        return value

    @model_validator(mode="after")
    def _hotline_of_the_region(self) -> CentreEntry:
        # The site and the mails tell a person to call this number; another region's hotline cannot book them.
        expected = REGION_HOTLINES[self.region]
        if self.hotline is None:
            self.hotline = expected
        elif self.hotline != expected:
            raise ValueError(f"hotline {self.hotline!r} is not the hotline of {REGIONS[self.region]} ({expected})")
        return self

    def center(self) -> d.Center:
        return d.Center(
            self.id,
            self.name,
            self.address,
            self.region,
            frozenset(self.postal_codes),
            tuple(self.vaccines),
            self.hotline,
        )


class InvalidCentres(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def read_rows(path: Path) -> list[dict]:
    """The file's entries as dicts: a JSON list of objects, or CSV with CSV_COLUMNS (lists space-separated)."""
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise InvalidCentres([f"{path}: a JSON list of centre objects is expected"])
        return rows
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as file:  # -sig: spreadsheets save UTF-8 with a BOM
            reader = csv.DictReader(file)
            missing = set(CSV_COLUMNS) - {"hotline"} - set(reader.fieldnames or ())
            if missing:
                raise InvalidCentres([f"{path}: missing columns {', '.join(sorted(missing))}"])
            rows = list(reader)
            long = [str(n) for n, row in enumerate(rows, start=1) if None in row]  # DictReader's key for the rest
            if long:
                raise InvalidCentres([f"{path}: entries {', '.join(long)} have more fields than the header"])
            return [
                {
                    **{k: v for k, v in row.items() if k not in ("postal_codes", "vaccines", "hotline")},
                    "postal_codes": (row.get("postal_codes") or "").split(),
                    "vaccines": (row.get("vaccines") or "").split(),
                    **({"hotline": row["hotline"]} if (row.get("hotline") or "").strip() else {}),
                }
                for row in rows
            ]
    raise InvalidCentres([f"{path}: a .json or .csv file is expected"])


def parse(rows: list[dict]) -> list[d.Center]:
    """Every centre of the file, or InvalidCentres naming every problem (entry number, id, field)."""
    errors: list[str] = []
    centres: list[d.Center] = []
    for number, row in enumerate(rows, start=1):
        try:
            centres.append(CentreEntry.model_validate(row).center())
        except ValidationError as error:
            label = f"entry {number} ({row.get('id', 'no id')})"
            for problem in error.errors():
                where = ".".join(str(part) for part in problem["loc"]) or "centre"
                errors.append(f"{label}: {where}: {problem['msg'].removeprefix('Value error, ')}")
    seen: dict[str, int] = {}
    for centre in centres:
        seen[centre.id] = seen.get(centre.id, 0) + 1
    errors += [f"centre {cid!r} appears {count} times" for cid, count in seen.items() if count > 1]
    if errors:
        raise InvalidCentres(errors)
    return centres


def region_conflicts(centres: Iterable[d.Center]) -> list[str]:
    """A postal code served in both regions: the person's region (domain.region_of) would depend on the order."""
    regions: dict[str, set[str]] = {}
    for centre in centres:
        for code in centre.postal_codes:
            regions.setdefault(code, set()).add(centre.region)
    both = sorted(code for code, names in regions.items() if len(names) > 1)
    return (
        [f"postal codes served in both regions: {', '.join(both[:20])}{' …' if len(both) > 20 else ''}"] if both else []
    )


@dataclass(frozen=True)
class Plan:
    added: list[d.Center]
    updated: list[tuple[d.Center, d.Center]]  # (stored, from the file)
    unchanged: list[d.Center]
    kept: list[d.Center]  # stored, not in the file: left alone

    def lines(self, dry_run: bool) -> list[str]:
        verb = {"add": "would add", "update": "would update"} if dry_run else {"add": "added", "update": "updated"}
        out = [f"{verb['add']} {c.id} ({c.name}, {REGIONS[c.region]})" for c in self.added]
        for stored, new in self.updated:
            changed = [f.name for f in fields(d.Center) if getattr(stored, f.name) != getattr(new, f.name)]
            out.append(f"{verb['update']} {new.id}: {', '.join(changed)}")
        out += [f"unchanged {c.id}" for c in self.unchanged]
        out += [f"kept {c.id} (stored, not in the file; not removed)" for c in self.kept]
        out.append(
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.kept)} kept" + (" (dry run: nothing written)" if dry_run else "")
        )
        return out


def plan(catalog: Catalog, centres: list[d.Center]) -> Plan:
    stored = {c.id: c for c in catalog.centers()}
    wanted = {c.id for c in centres}
    problems = region_conflicts([*centres, *(c for c in stored.values() if c.id not in wanted)])
    if problems:
        raise InvalidCentres(problems)
    return Plan(
        added=[c for c in centres if c.id not in stored],
        updated=[(stored[c.id], c) for c in centres if c.id in stored and stored[c.id] != c],
        unchanged=[c for c in centres if stored.get(c.id) == c],
        kept=sorted((c for c in stored.values() if c.id not in wanted), key=lambda c: c.id),
    )


def load(catalog: Catalog, centres: list[d.Center], dry_run: bool = False) -> Plan:
    """Add and update the file's centres (an update replaces the stored centre whole); returns what it did."""
    todo = plan(catalog, centres)
    if not dry_run:
        for centre in [*todo.added, *(new for _, new in todo.updated)]:
            catalog.add_center(centre)  # a put of the whole item: writing the same centre twice is harmless
    return todo


# --- command line ---------------------------------------------------------------------------------


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("load",))
    parser.add_argument("file", type=Path, help=".json (a list of centres) or .csv; see infra/ops/centres-example.json")
    parser.add_argument("--stage", required=True, choices=("local", "dev", "prod"))
    parser.add_argument("--account", help="the AWS account id the credentials must belong to (dev, prod)")
    parser.add_argument("--dry-run", action="store_true", help="validate and print what would change; write nothing")
    parser.add_argument("--endpoint-url", default=None, help="the local AWS (make run prints it)")


def run(args, out=None) -> int:
    out = out or sys.stdout
    try:
        centres = parse(read_rows(args.file))
    except (InvalidCentres, OSError, json.JSONDecodeError, csv.Error) as error:
        print(f"centres: {args.file}: nothing written:\n{error}", file=sys.stderr)
        return 2
    if args.stage != "local":
        from infra.aws.deploy import DeployError, require_credentials

        if not args.account:
            print("centres: --account is required for a deployed stage", file=sys.stderr)
            return 2
        try:
            require_credentials(args.account)
        except DeployError as error:
            print(f"centres: {error}", file=sys.stderr)
            return 2
    from chalicelib import bootstrap
    from infra.ops.privacy import configure

    configure(args.stage, args.endpoint_url)
    try:
        done = load(bootstrap.catalog(), centres, args.dry_run)
    except InvalidCentres as error:
        print(f"centres: nothing written:\n{error}", file=sys.stderr)
        return 2
    print("\n".join(done.lines(args.dry_run)), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.centres", description=__doc__.split("\n")[0])
    arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
