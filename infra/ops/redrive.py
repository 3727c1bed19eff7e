"""Move the messages of a dead-letter queue back to its queue, after the fault that put them there is fixed.

SQS's own redrive (StartMessageMoveTask) is not implemented by moto, so the move is done here with
receive, send and delete, which works on both: each message is sent to the queue before it is deleted from
the dead-letter queue, so a crash mid-way can only duplicate a message, never lose one, and both consumers
are idempotent (a mail has its marker, a booking request its status).
"""

from __future__ import annotations

from infra.resources import QUEUES, QueueSpec

BATCH = 10  # SQS's most per receive, send batch and delete batch


def queue_spec(name: str) -> QueueSpec:
    """The queue of infra/resources.py named by its logical id, case-insensitively ("mail", "bookingrequests")."""
    for spec in QUEUES:
        if spec.logical_id.lower() == name.lower():
            return spec
    raise ValueError(f"unknown queue {name!r}: one of {', '.join(q.logical_id.lower() for q in QUEUES)}")


def redrive(sqs, dlq_url: str, queue_url: str, limit: int | None = None) -> int:
    """Move up to `limit` messages (all if None) from the dead-letter queue to the queue; returns how many."""
    moved = 0
    while limit is None or moved < limit:
        wanted = BATCH if limit is None else min(BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=wanted,
            WaitTimeSeconds=1,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        entries = [
            {
                "Id": str(i),
                "MessageBody": m["Body"],
                **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {}),
            }
            for i, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Successful", [])
        done = {int(s["Id"]) for s in sent}
        if done:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(done)],
            )
        moved += len(done)
        if len(done) < len(messages):
            raise RuntimeError(
                f"{len(messages) - len(done)} messages could not be sent back; they stay in the "
                "dead-letter queue (visible again in 60 s)"
            )
    return moved
