"""`python -m infra.ops redrive`: a dead-letter queue's messages go back to their queue, none lost, none left."""

from __future__ import annotations

import json
import uuid

import pytest

from infra.local.aws import client
from infra.local.pump import QueuePump
from infra.ops.__main__ import main
from infra.ops.redrive import queue_spec, redrive


def queue_pair(sqs) -> tuple[str, str]:
    name = f"redrive-{uuid.uuid4().hex[:8]}"
    return sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"], sqs.create_queue(QueueName=name)["QueueUrl"]


def bodies(sqs, url: str) -> list[str]:
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        found += [m["Body"] for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return found


def test_every_dead_letter_goes_back_to_its_queue_once(stack):
    sqs = client("sqs", stack.aws_url)
    dlq, queue = queue_pair(sqs)
    sent = [json.dumps({"n": n}) for n in range(23)]  # more than two batches
    for body in sent:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    assert redrive(sqs, dlq, queue) == 23
    assert sorted(bodies(sqs, queue)) == sorted(sent)
    assert bodies(sqs, dlq) == []


def test_a_limit_moves_no_more_than_asked(stack):
    sqs = client("sqs", stack.aws_url)
    dlq, queue = queue_pair(sqs)
    for n in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=str(n))
    assert redrive(sqs, dlq, queue, limit=3) == 3
    assert len(bodies(sqs, queue)) == 3 and len(bodies(sqs, dlq)) == 2


def test_the_command_redrives_a_stage_queue_by_its_name(stack, monkeypatch, capsys):
    sqs = client("sqs", stack.aws_url)
    spec = queue_spec("Mail")
    dlq = sqs.get_queue_url(QueueName=spec.dlq_name("local"))["QueueUrl"]
    stack.pumps["mail_worker"].stop()  # keep the moved message where the test can see it
    try:
        sqs.send_message(QueueUrl=dlq, MessageBody="{}")
        assert main(["redrive", "--stage", "local", "--queue", "mail", "--endpoint-url", stack.aws_url]) == 0
        assert "moved 1 messages" in capsys.readouterr().out
        assert bodies(sqs, stack.queue_urls[spec.name("local")]) == ["{}"]
    finally:
        mail_queue = stack.queue_urls[spec.name("local")]
        stack.pumps["mail_worker"] = QueuePump(
            sqs, mail_queue, stack.app_module.mail_worker, "mail_worker", on_error=stack.pump_errors.append
        ).start()


def test_an_unknown_queue_name_is_refused():
    with pytest.raises(ValueError):
        queue_spec("nothing")
