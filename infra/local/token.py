"""A staff token for the local stack only: `python -m infra.local.token ops` (or hotline).

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


if __name__ == "__main__":
    group = sys.argv[1] if len(sys.argv) > 1 else "ops"
    print(local_staff_token(f"local-{group}", group))
