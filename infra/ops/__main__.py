"""`python -m infra.ops redrive --stage prod --queue mail [--limit N]`: move a dead-letter queue's messages back.

Uses the AWS credentials and region of the environment (or --endpoint-url for the local stack's moto server).
"""

from __future__ import annotations

import argparse
import sys

import boto3

from infra.ops.redrive import queue_spec, redrive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops")
    commands = parser.add_subparsers(dest="command", required=True)
    move = commands.add_parser("redrive", help="move a dead-letter queue's messages back to its queue")
    move.add_argument("--stage", required=True, help="local, dev or prod")
    move.add_argument("--queue", required=True, help="mail or bookingrequests (infra/resources.py)")
    move.add_argument("--limit", type=int, default=None, help="move at most this many (default: all)")
    move.add_argument("--endpoint-url", default=None, help="the local AWS (make run prints it)")
    args = parser.parse_args(argv)

    spec = queue_spec(args.queue)
    sqs = boto3.client("sqs", endpoint_url=args.endpoint_url)
    dlq_url = sqs.get_queue_url(QueueName=spec.dlq_name(args.stage))["QueueUrl"]
    queue_url = sqs.get_queue_url(QueueName=spec.name(args.stage))["QueueUrl"]
    moved = redrive(sqs, dlq_url, queue_url, args.limit)
    print(f"moved {moved} messages from {spec.dlq_name(args.stage)} to {spec.name(args.stage)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
