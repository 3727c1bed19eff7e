"""`make run`: the whole system on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import threading
import warnings

from infra.local.stack import LocalStack

DEFAULT_AWS_PORT = 4566
# Both are true and expected here (metrics are switched off locally; chalice local does not check Cognito
# signatures, see infra/local/token.py), so they would only bury the banner. pytest.ini ignores the same.
QUIET = ("No application metrics to publish", "CognitoUserPoolAuthorizer is not a supported in local mode")


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def quiet_expected_warnings() -> None:
    for message in QUIET:
        warnings.filterwarnings("ignore", message=message, category=UserWarning)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("VAXSLOT_AWS_PORT", DEFAULT_AWS_PORT)))
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("VAXSLOT_API_PORT", 8000)))
    parser.add_argument("--site-port", type=int, default=int(os.environ.get("VAXSLOT_SITE_PORT", 8080)))
    args = parser.parse_args()
    for name, port in (
        ("VAXSLOT_AWS_PORT", args.aws_port),
        ("VAXSLOT_API_PORT", args.api_port),
        ("VAXSLOT_SITE_PORT", args.site_port),
    ):
        if not port_is_free(port):
            sys.exit(
                f"Port {port} on 127.0.0.1 is in use (is `make run` already running?). "
                f"Stop that, or choose another port: {name}=... make run"
            )
    quiet_expected_warnings()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print("Starting vaxslot on loopback (local AWS, tables, queues, demo data, API, queue workers, site) ...")
    with LocalStack(aws_port=args.aws_port, api_port=args.api_port, site_port=args.site_port) as stack:
        api = stack.api_url
        # `make mail` reads the local AWS on VAXSLOT_AWS_PORT, so name the port when it is not the default.
        mail = "make mail" if args.aws_port == DEFAULT_AWS_PORT else f"VAXSLOT_AWS_PORT={args.aws_port} make mail"
        print(
            f"""
vaxslot is running. Open the booking site:

    {stack.site_url}

  API                 {api}
  local AWS (moto)    {stack.aws_url}
  sent mail           {mail}   (or {stack.aws_url}/vaxslot/sent-mail)
  staff token         TOKEN=$(.venv/bin/python -m infra.local.token ops)

Try it with curl:
  curl '{api}/v1/centers?postal_code=44141'
  curl -X POST {api}/v1/eligibility -H 'Content-Type: application/json' \\
       -d '{{"birth_date": "1940-05-01", "postal_code": "44141"}}'
  curl '{api}/v1/centers/dortmund/availability?campaign=80plus-comirnaty&days=7'

Ctrl-C stops everything.
""",
            flush=True,
        )
        # [waiting room] say when the rush-demo room opens (VAXSLOT_DEMO_RUSH_OPENS_IN_S, infra/local/seed_rush.py)
        if room := getattr(stack, "rush_room", None):
            print(f"  waiting room demo: campaign rush-demo opens at {room.opens_at:%H:%M:%S}\n", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
        print("\nStopping ...", flush=True)


if __name__ == "__main__":
    main()
