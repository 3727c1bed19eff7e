"""The mail claim's lease against the functions that send mail and the queues that redeliver to them
(chalicelib/notify/ports.py CLAIM_LEASE_S): a live sender must never see its claim taken over, and a message
redelivered after its sender died must find the lease lapsed."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.notify.ports import CLAIM_LEASE_S
from infra.resources import BOOKING_QUEUE, NOTIFY_QUEUE

CONFIG = json.loads((Path(__file__).parents[2] / ".chalice" / "config.json").read_text())
# Its operations service only queues mail (SqsMailOutbox): it never holds a claim.
QUEUES_ITS_MAIL = {"reconcile"}


def test_the_lease_outlasts_every_function_that_sends_mail_in_every_stage():
    for stage, settings in CONFIG["stages"].items():
        functions = settings.get("lambda_functions", {})
        default = settings.get("lambda_timeout", CONFIG["lambda_timeout"])
        for name in {"api_handler", "booking_worker", "booking_dead_letters", "mail_worker"} | set(functions):
            if name in QUEUES_ITS_MAIL:
                continue
            timeout = functions.get(name, {}).get("lambda_timeout", default)
            assert timeout < CLAIM_LEASE_S, (stage, name, timeout)


def test_a_message_redelivered_after_its_sender_died_finds_the_lease_lapsed():
    for queue in (BOOKING_QUEUE, NOTIFY_QUEUE):
        assert queue.visibility_timeout_s > CLAIM_LEASE_S, queue.name
