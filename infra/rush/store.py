"""Read what a rush left behind: the bookings table on the local moto server and the mails its SES accepted.

Only the run's campaign is read into the report's records (see chalicelib/booking/dynamo.py for the keys).
"""

from __future__ import annotations

import time
from datetime import date, datetime

from chalicelib.booking.domain import normalise_name
from infra.local.aws import client, sent_mail
from infra.resources import BOOKING_TABLE, QUEUES
from infra.rush.report import BookingRow, LockRow, RequestRow, RushData, SlotRow

STAGE = "local"


def _s(item: dict, name: str) -> str | None:
    value = item.get(name)
    return None if value is None or "NULL" in value else value.get("S")


def _required(item: dict, name: str) -> str:
    value = _s(item, name)
    if value is None:
        raise KeyError(f"item without {name}")
    return value


def _n(item: dict, name: str) -> int:
    return int(item[name]["N"])


def scan(aws_url: str) -> list[dict]:
    dynamodb = client("dynamodb", aws_url)
    items, kwargs = [], {"TableName": BOOKING_TABLE.name(STAGE), "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def person_of(given: str, family: str, birth: str) -> str:
    """The identity the one-booking rule is about, spelled as the domain normalises names."""
    return f"{normalise_name(given)}|{normalise_name(family)}|{date.fromisoformat(birth).isoformat()}"


def fill_from_store(data: RushData, items: list[dict]) -> None:
    campaign = data.campaign_id
    # Person locks are per vaccination series (SERIES#<series>), not per campaign: the campaign's are those
    # that name one of its bookings.
    locks: list[LockRow] = []
    for item in items:
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk == "CAMPAIGNS" and sk == campaign:
            data.doses = _n(item, "doses")
        elif pk.startswith(f"SLOTS#{campaign}#"):
            data.slots.append(SlotRow(campaign, pk.rsplit("#", 1)[1], sk, _n(item, "capacity"), _n(item, "booked")))
        elif pk.startswith("BOOKING#") and _s(item, "campaign_id") == campaign:
            data.bookings.append(
                BookingRow(
                    code=pk.removeprefix("BOOKING#"),
                    campaign_id=campaign,
                    center_id=_required(item, "center_id"),
                    status=_required(item, "status"),
                    first_slot_id=_required(item, "first_slot_id"),
                    second_slot_id=_s(item, "second_slot_id"),
                    person=person_of(
                        _required(item, "given_name"), _required(item, "family_name"), _required(item, "birth_date")
                    ),
                    email=_s(item, "email") or "",
                    request_id=_required(item, "request_id"),
                    created_at=datetime.fromisoformat(_required(item, "created_at")).timestamp(),
                )
            )
        elif pk.startswith("PERSON#") and sk.startswith("SERIES#"):
            locks.append(LockRow(pk.removeprefix("PERSON#"), campaign, _required(item, "booking_code")))
        elif pk.startswith("REQUEST#") and sk == "REQUEST":
            request_id = pk.removeprefix("REQUEST#")
            data.requests[request_id] = RequestRow(
                request_id, _required(item, "status"), _s(item, "booking_code"), _s(item, "reason")
            )
    codes = {b.code for b in data.bookings}
    data.locks.extend(lock for lock in locks if lock.booking_code in codes)


def sent_mail_recipients(aws_url: str) -> list[tuple[str, ...]]:
    return [tuple(m.get("destinations") or ()) for m in sent_mail(aws_url, timeout_s=60)]


def queue_depth(aws_url: str) -> int:
    """Messages waiting or in flight on every work queue (dead-letter queues are not work)."""
    sqs = client("sqs", aws_url)
    total = 0
    for queue in QUEUES:
        url = sqs.get_queue_url(QueueName=queue.name(STAGE))["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        total += int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
    return total


def dead_letters(aws_url: str) -> int:
    """Messages in the dead-letter queues: requests answered `not_processed`, or mails never sent."""
    sqs = client("sqs", aws_url)
    total = 0
    for queue in QUEUES:
        url = sqs.get_queue_url(QueueName=queue.dlq_name(STAGE))["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        total += int(attrs["Attributes"]["ApproximateNumberOfMessages"])
    return total


def wait_for_idle_queues(aws_url: str, timeout_s: float) -> bool:
    """Until every work queue is empty twice in a row (a booking's mail is queued after the booking)."""
    deadline = time.monotonic() + timeout_s
    empty = 0
    while time.monotonic() < deadline:
        empty = empty + 1 if queue_depth(aws_url) == 0 else 0
        if empty >= 2:
            return True
        time.sleep(0.5)
    return False
