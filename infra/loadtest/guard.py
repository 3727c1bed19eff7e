"""What `make loadtest` checks before it sends a single request: the stage, the URL, the bounds.

A load test against the wrong stack books real appointments away from real people and mails invented ones.
So the run needs the stage named, refuses prod unless told `--i-know-this-is-prod`, and only runs against the
URL that the stage's own CloudFormation stack (`vaxslot-<stage>`, in the account the credentials must belong
to) gives as its `EndpointURL`: a prod URL passed with `--stage dev` does not match dev's stack and is refused.
Users and duration are bounded, so a typo cannot start an hour of 100,000 users. No locust here (importing
locust patches the process for gevent), so the checks are unit-tested on their own.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from infra.aws.deploy import outputs_of, stack_name
from infra.aws.stages import STAGES

PROD = "prod"
MAX_USERS = 5_000  # people released over a run; more needs several load generators anyway (one IP, see WAF)
MAX_DURATION_S = 1_800
PROD_FLAG = "--i-know-this-is-prod"


class Refused(RuntimeError):
    """The load test does not start; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    stage: str
    url: str  # the API's base URL, as the stage's stack gives it (…/api)
    users: int
    duration_s: float
    i_know_this_is_prod: bool = False


def parse_args(argv: list[str] | None, description: str = "") -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m infra.loadtest", description=description)
    p.add_argument("--stage", required=True, choices=sorted(STAGES), help="the stage whose stack is loaded")
    p.add_argument("--account", required=True, help="the AWS account id the credentials must belong to")
    p.add_argument("--url", required=True, help="the stage's API (its stack's EndpointURL)")
    p.add_argument("--campaign", required=True, help="an open campaign of the stage, with slots at the demo centres")
    p.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    )
    p.add_argument(
        "--users", type=int, default=200, help=f"citizens and bots arriving (default 200, at most {MAX_USERS:,})"
    )
    p.add_argument(
        "--duration", type=float, default=300, help=f"seconds of load (default 300, at most {MAX_DURATION_S:,})"
    )
    p.add_argument("--spike", type=float, default=60, help="seconds over which those after opening arrive (60)")
    p.add_argument("--pre-share", type=float, default=0.4, help="share arriving before the room opens (0.4)")
    p.add_argument("--bots-share", type=float, default=0.1, help="share of users that are bots (default 0.1)")
    p.add_argument("--agents", type=int, default=0, help="hotline agents (need VAXSLOT_HOTLINE_TOKEN; default 0)")
    p.add_argument("--drain-timeout", type=float, default=300, help="seconds to wait for every decision (300)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(PROD_FLAG, dest="i_know_this_is_prod", action="store_true", help="allow --stage prod")
    p.add_argument("--out", type=Path, help="folder for report.json (default build/loadtest/<stage>)")
    return p.parse_args(argv)


def target_of(args: argparse.Namespace) -> Target:
    return Target(args.stage, normalised(args.url), args.users, args.duration, args.i_know_this_is_prod)


def normalised(url: str) -> str:
    """Scheme and host in lower case, no trailing slash: the form two URLs of one API are compared in."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def check_request(target: Target) -> None:
    """Raise Refused unless the request itself may run: a known stage, prod only when told, https, bounds.
    Needs no AWS, so it runs before the credentials are even looked at."""
    if target.stage not in STAGES:
        raise Refused(f"unknown stage {target.stage!r}: one of {', '.join(sorted(STAGES))}")
    if target.stage == PROD and not target.i_know_this_is_prod:
        raise Refused(
            f"refusing to load prod: run against a staged stack, or say {PROD_FLAG} (before launch only: "
            "the run books real slots and its invented people stay in the tables)"
        )
    if urlsplit(target.url).scheme != "https":
        raise Refused(f"{target.url!r} is not an https URL of a deployed stack (for the local stack: make rush)")
    if not 1 <= target.users <= MAX_USERS:
        raise Refused(f"--users must be 1..{MAX_USERS:,} (got {target.users:,})")
    if not 0 < target.duration_s <= MAX_DURATION_S:
        raise Refused(f"--duration must be over 0 and at most {MAX_DURATION_S:,} s (got {target.duration_s:g})")


def check_stack(target: Target, stage_endpoint: str | None) -> None:
    """Raise Refused unless `target.url` is the API of the stage's own stack; `stage_endpoint` is that stack's
    EndpointURL output as CloudFormation gives it (None: no such stack in that account and region)."""
    if stage_endpoint is None:
        raise Refused(f"no stack {stack_name(target.stage)} with an EndpointURL in this account and region")
    if normalised(target.url) != normalised(stage_endpoint):
        raise Refused(
            f"{target.url} is not the API of {stack_name(target.stage)} (its EndpointURL is {stage_endpoint}): "
            "refusing to load a stack of another stage"
        )


def stage_endpoint(stage: str, session) -> str | None:
    """The EndpointURL output of the stack `vaxslot-<stage>`, or None if there is no such stack (boto3 session);
    a stack it may not read refuses the run too."""
    from botocore.exceptions import ClientError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name(stage))["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise Refused(f"could not read the stack {stack_name(stage)}: {error}") from error
    return outputs_of(stacks[0].get("Outputs", [])).get("EndpointURL") if stacks else None
