"""A staff token for the local stack only: `python -m infra.local.token ops` (or hotline, admin), and for a
centre's staff `python -m infra.local.token center_staff dortmund` (the group `center_staff:dortmund`).

Chalice's local server reads the claims of a Cognito token without checking its signature, so this
unsigned token works on `make run` and nowhere else; on AWS, API Gateway verifies real Cognito tokens.
"""

from __future__ import annotations

import base64
import json
import sys
import time


def _part(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def local_staff_token(user: str, *groups: str) -> str:
    claims = {
        "cognito:username": user,
        "cognito:groups": list(groups),
        "token_use": "id",
        "exp": int(time.time()) + 3600,
    }
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}.local"


def group_of(role: str, center_id: str | None = None) -> str:
    """A role as its Cognito group: centre staff are bound to one centre by the group's name."""
    if role == "center_staff":
        if not center_id:
            raise SystemExit("usage: python -m infra.local.token center_staff <center_id>")
        return f"center_staff:{center_id}"
    return role


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else "ops"
    group = group_of(role, sys.argv[2] if len(sys.argv) > 2 else None)
    print(local_staff_token(f"local-{group.replace(':', '-')}", group))
