"""The data resources of vaxslot, defined once.

`infra/local` creates them on moto for `make run` and the tests; the packaged CloudFormation template is
generated from the same definitions, so local and AWS cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: every attribute of the item projected (its reader maps whole items)."""

    name: str
    hash_key: str
    range_key: str


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    env_var: str  # the Lambda environment variable that carries the physical name
    hash_key: str
    range_key: str | None
    ttl_attribute: str | None
    indexes: tuple[IndexSpec, ...] = ()

    def name(self, stage: str) -> str:
        return f"vaxslot-{stage}-{self.logical_id.lower()}"

    def create_table_kwargs(self, stage: str) -> dict:
        keys = [(self.hash_key, "HASH")] + ([(self.range_key, "RANGE")] if self.range_key else [])
        # Every key attribute is a string, of the table and of its indexes, each defined once.
        names = dict.fromkeys([n for n, _ in keys] + [a for i in self.indexes for a in (i.hash_key, i.range_key)])
        kwargs = {
            "TableName": self.name(stage),
            "KeySchema": [{"AttributeName": n, "KeyType": t} for n, t in keys],
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in names],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": i.name,
                    "KeySchema": [
                        {"AttributeName": i.hash_key, "KeyType": "HASH"},
                        {"AttributeName": i.range_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for i in self.indexes
            ]
        return kwargs


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    env_var: str
    visibility_timeout_s: int
    max_receive_count: int  # deliveries before a message goes to the dead-letter queue
    dlq_env_var: str | None = None  # set if a function consumes the dead-letter queue (its name's variable)

    def name(self, stage: str) -> str:
        return f"vaxslot-{stage}-{self.logical_id.lower()}"

    def dlq_name(self, stage: str) -> str:
        return f"{self.name(stage)}-dlq"


# A centre's appointments of a day (the desk's day list, chalicelib/booking/storage/attendance.py): booking items by
# centre, sorted by the slot id of either appointment, which sorts like its local start time, so a day is a key
# range. On attributes every booking item has anyway: nothing to keep in step when a booking is rebooked or moved,
# and DynamoDB fills the indexes itself for items written before them. Items without the range attribute (a
# single-dose booking in the second index, every item that is not a booking or a held pair) are not in them.
BY_CENTRE_FIRST = IndexSpec("by-centre-first", "center_id", "first_slot_id")
BY_CENTRE_SECOND = IndexSpec("by-centre-second", "center_id", "second_slot_id")
BOOKING_TABLE = TableSpec(
    "Bookings", "TABLE_NAME", "pk", "sk", ttl_attribute="expires_at", indexes=(BY_CENTRE_FIRST, BY_CENTRE_SECOND)
)
# powertools Idempotency's own layout: partition key "id", expiry in "expiration".
IDEMPOTENCY_TABLE = TableSpec("Idempotency", "IDEMPOTENCY_TABLE_NAME", "id", None, ttl_attribute="expiration")
TABLES = (BOOKING_TABLE, IDEMPOTENCY_TABLE)

# A booking request that fails 5 times goes to the dead-letter queue, whose consumer rejects it as
# not_processed (app.booking_dead_letters): every accepted request ends booked or rejected.
BOOKING_QUEUE = QueueSpec(
    "BookingRequests",
    "BOOKING_QUEUE_NAME",
    visibility_timeout_s=180,
    max_receive_count=5,
    dlq_env_var="BOOKING_DLQ_NAME",
)
# A failed mail waits 30 s, 60 s, … up to 15 min before its next try (chalicelib/notify/queue.py): 30 tries
# span about 6¼ hours (notify.services.retry_span_s), so an SES outage of six hours loses no mail.
NOTIFY_QUEUE = QueueSpec("Mail", "NOTIFY_QUEUE_NAME", visibility_timeout_s=180, max_receive_count=30)
QUEUES = (BOOKING_QUEUE, NOTIFY_QUEUE)


@dataclass(frozen=True)
class TopicSpec:
    logical_id: str
    env_var: str

    def name(self, stage: str) -> str:
        return f"vaxslot-{stage}-{self.logical_id.lower()}"


# SES publishes bounces and complaints here; the mail_events function records suppressions from it.
MAIL_EVENTS_TOPIC = TopicSpec("Mail-Events", "MAIL_EVENTS_TOPIC_NAME")
TOPICS = (MAIL_EVENTS_TOPIC,)


def environment(stage: str) -> dict[str, str]:
    """The environment variables every function gets for these resources."""
    env = {t.env_var: t.name(stage) for t in TABLES}
    env.update({q.env_var: q.name(stage) for q in QUEUES})
    env.update({q.dlq_env_var: q.dlq_name(stage) for q in QUEUES if q.dlq_env_var})
    env.update({t.env_var: t.name(stage) for t in TOPICS})
    return env
