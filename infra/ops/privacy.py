"""Export or erase one person's data on request (GDPR Art. 15, 17) — a thin adapter over PrivacyService.

    python -m infra.ops.privacy export --stage prod --code ABCD-EFGH-JK --birth-date 1940-05-01
    python -m infra.ops.privacy export --stage prod --given-name Erna --family-name Müller --birth-date 1940-05-01
    python -m infra.ops.privacy erase  --stage prod --code ABCD-EFGH-JK --birth-date 1940-05-01 --yes

Export prints a JSON of everything stored about the person; erase cancels an active booking first (slots back,
cancellation mail queued), then leaves a tombstone without personal data and forgets the suppressed address.
Uses the AWS credentials and region of the environment, or --endpoint-url for the local stack's moto server.
docs/operations.md ("Privacy") says when to use it and what it does not reach.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def add_parser(commands) -> None:
    """The `privacy` sub-command of `python -m infra.ops` (infra/ops/__main__.py)."""
    arguments(commands.add_parser("privacy", help="export or erase one person's data on request"))


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("export", "erase"))
    parser.add_argument("--stage", required=True, help="local, dev or prod")
    parser.add_argument("--birth-date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--code", help="the booking code (any spelling: abcd efgh jk)")
    parser.add_argument("--given-name", help="instead of --code: finds the person's active bookings")
    parser.add_argument("--family-name")
    parser.add_argument("--yes", action="store_true", help="erase: really erase (it cannot be undone)")
    parser.add_argument("--endpoint-url", default=None, help="the local AWS (make run prints it)")


def configure(stage: str, endpoint_url: str | None) -> None:
    """Give this process the environment the stage's functions have, so bootstrap builds the same services."""
    from infra.resources import environment

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for name, value in config["stages"][stage]["environment_variables"].items():
        os.environ.setdefault(name, value)
    # What names the stage's data always follows --stage, whatever the shell had.
    os.environ.update({**environment(stage), "VAXSLOT_STAGE": stage})
    os.environ.setdefault("MAIL_SENDER", "ops@vaxslot.invalid")  # not used: the mail worker sends with its own
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    if stage == "local":
        from infra.local.aws import LOCAL_CREDENTIALS, REGION

        for name, value in {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():
            os.environ.setdefault(name, value)
    else:
        from infra.aws.template.functions import PEPPER_SECRET, PEPPER_SECRET_ENV, pepper_secret

        os.environ.setdefault(PEPPER_SECRET_ENV, pepper_secret(stage)[PEPPER_SECRET]["Properties"]["Name"])
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    from chalicelib import bootstrap

    bootstrap.reset()


def run(args, out=None) -> int:
    from chalicelib import bootstrap
    from chalicelib.booking.domain import BookingNotFound
    from chalicelib.privacy.services import PersonQuery

    try:
        who = PersonQuery(args.birth_date, code=args.code, given_name=args.given_name, family_name=args.family_name)
    except ValueError as error:
        print(f"privacy: {error}", file=sys.stderr)
        return 2
    if args.action == "erase" and not args.yes:
        print("privacy: erasure cannot be undone; run `export` first, then add --yes", file=sys.stderr)
        return 2
    configure(args.stage, args.endpoint_url)
    service = bootstrap.privacy_service()
    try:
        result = service.export(who) if args.action == "export" else [asdict(e) for e in service.erase(who)]
    except BookingNotFound:
        print("privacy: no booking for this code (or name) and birth date", file=sys.stderr)
        return 1
    out = out or sys.stdout
    json.dump(result, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.privacy", description=__doc__.split("\n")[0])
    arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
