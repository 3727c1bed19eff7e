"""The stack under test, in a process of its own: `python -m infra.rush.serve <info.json> [capacity] [workers]`.

Starts infra.local.stack.LocalStack with the `rush-demo` campaign seeded (its room's times are set later
by the rush through the ops route), writes the URLs to <info.json>, and runs until its stdin closes.
Its own process because locust monkey-patches the rush's process for gevent, and so that the API has
an interpreter (and a core) of its own, as it would on AWS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# rush-demo is seeded only when this is set; the far opening is replaced by the rush's own times at once.
os.environ.setdefault("VAXSLOT_DEMO_RUSH_OPENS_IN_S", "3600")


def main(argv: list[str]) -> None:
    info_path = Path(argv[0])
    capacity = int(argv[1]) if len(argv) > 1 else 6
    workers = int(argv[2]) if len(argv) > 2 else 2
    from infra.local.seed import OPEN_CAMPAIGN_ID
    from infra.local.stack import LocalStack

    with LocalStack(slot_capacity=capacity, booking_workers=workers) as stack:
        room = getattr(stack, "rush_room", None)  # None: this tree has no waiting room (infra/local/seed_rush.py)
        info = {
            "api_url": stack.api_url,
            "aws_url": stack.aws_url,
            "campaign_id": room.campaign_id if room else OPEN_CAMPAIGN_ID,
        }
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(info_path)
        sys.stdin.read()  # until the rush closes it (or dies)


if __name__ == "__main__":
    main(sys.argv[1:])
