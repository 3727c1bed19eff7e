"""Queue workers as Lambda runs them (partial batch failures, retries, DLQ) and what the logs may not contain."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from datetime import datetime, timedelta

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from chalicelib.booking.domain import LOCAL_TZ
from chalicelib.contracts.mail import Appointment, MailKind, MailMessage
from chalicelib.notify.services import retry_delay_s
from infra.local.aws import client
from infra.local.pump import PumpContext, QueuePump, sqs_event
from tests.e2e.test_booking_invariants import new_campaign, request_body, wait_decided


def mail_message(code: str) -> MailMessage:
    start = datetime.now(LOCAL_TZ) + timedelta(days=3)
    return MailMessage(
        kind=MailKind.BOOKING_CONFIRMED,
        booking_code=code,
        language="de",
        recipient="retry@example.org",
        given_name="Retry",
        family_name="Test",
        center_name="Impfzentrum Dortmund",
        center_address="Rheinlanddamm 200",
        appointments=[Appointment(dose=1, start=start, end=start + timedelta(minutes=30))],
    )


def short_lived_queue(stack, max_receive_count: int = 2) -> tuple[str, str]:
    sqs = client("sqs", stack.aws_url)
    name = f"test-{uuid.uuid4().hex[:8]}"
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    return queue, dlq


def visible_and_hidden(sqs, queue: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_a_mail_that_cannot_be_sent_waits_longer_before_each_try_and_lands_in_the_dead_letter_queue_alone(stack):
    sqs = client("sqs", stack.aws_url)
    queue, dlq = short_lived_queue(stack)  # visibility 1 s: without the backoff it would be back within a second
    handled: list[dict] = []

    def mail_worker(event, context):
        handled.extend(event["Records"])
        return stack.app_module.mail_worker(event, context)

    pump = QueuePump(sqs, queue, mail_worker, "mail_worker", wait_s=1)
    good, bad = mail_message(f"GOOD-{uuid.uuid4().hex[:6]}"), mail_message(f"BADX-{uuid.uuid4().hex[:6]}")
    bad = bad.model_copy(update={"recipient": "not-an-address"})  # SES refuses it: a permanent failure
    for message in (good, bad):
        sqs.send_message(QueueUrl=queue, MessageBody=message.model_dump_json())

    deadline = time.monotonic() + 20
    while len(handled) < 2 and time.monotonic() < deadline:
        pump.pump_once()
    time.sleep(2)
    assert visible_and_hidden(sqs, queue) == (0, 1)  # the failed one waits its 30 s, not the queue's 1 s
    assert len([m for m in stack.sent_mail() if good.booking_code in m["raw_data"]]) == 1

    # Its wait over (cut short by hand here), the second failure is its last: maxReceiveCount is 2.
    while not visible_and_hidden(sqs, dlq)[0] and time.monotonic() < deadline + 20:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=handled[-1]["receiptHandle"], VisibilityTimeout=0)
        pump.pump_once()
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [MailMessage.model_validate_json(m["Body"]).booking_code for m in dead] == [bad.booking_code]
    assert len([m for m in stack.sent_mail() if good.booking_code in m["raw_data"]]) == 1


def test_a_mail_refused_by_ses_is_retried_later_and_sent_once_while_the_booking_stands(stack, api):
    sender = "termine@vaxslot.example"
    ses, sqs = client("ses", stack.aws_url), client("sqs", stack.aws_url)
    mail_queue = stack.queue_urls["vaxslot-local-mail"]
    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    stack.pumps["mail_worker"].stop()  # hold mail while SES refuses the sender
    try:
        ses.delete_identity(Identity=sender)
        request_id = api.post(
            "/v1/booking-requests",
            json=request_body(campaign_id, first_id, f"Nomail{uuid.uuid4().hex[:6]}"),
        ).json()["request_id"]
        state = wait_decided(stack.api_url, request_id)
        assert state["status"] == "booked"
        code = state["booking"]["code"]
        received: list[dict] = []
        while not any(code in m["Body"] for m in received):
            received += sqs.receive_message(
                QueueUrl=mail_queue,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=2,
                VisibilityTimeout=1,
                AttributeNames=["All"],
            ).get("Messages", [])
        arn = sqs.get_queue_attributes(QueueUrl=mail_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # Every record failing makes powertools fail the whole invocation, which Lambda retries as a batch.
        with pytest.raises(BatchProcessingError):
            stack.app_module.mail_worker(sqs_event(received, arn), PumpContext("mail_worker", 10))
        assert api.get(f"/v1/bookings/{code}?birth_date=1940-05-01").json()["status"] == "active"
    finally:
        ses.verify_email_identity(EmailAddress=sender)
        stack.pumps["mail_worker"] = QueuePump(
            sqs, mail_queue, stack.app_module.mail_worker, "mail_worker", on_error=stack.pump_errors.append
        ).start()
    # The failed try hid the message for the backoff of its receive count (this test's own receives count too):
    # the pump restarted above does not see it. Its wait over (cut short by hand here), the retry sends it once.
    [ours] = [m for m in received if code in m["Body"]][-1:]
    assert retry_delay_s(int(ours["Attributes"]["ApproximateReceiveCount"])) >= 30
    time.sleep(3)
    hidden = sqs.get_queue_attributes(QueueUrl=mail_queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert int(hidden["Attributes"]["ApproximateNumberOfMessagesNotVisible"]) >= 1
    assert not [m for m in stack.sent_mail() if code in m["raw_data"]]
    sqs.change_message_visibility(QueueUrl=mail_queue, ReceiptHandle=ours["ReceiptHandle"], VisibilityTimeout=0)
    stack.wait_for_idle_queues(timeout_s=60)
    assert len([m for m in stack.sent_mail() if code in m["raw_data"]]) == 1


def test_logs_of_a_whole_booking_flow_hold_no_personal_data(stack, api):
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("vaxslot")]
    for logger in watched:
        logger.addHandler(handler)
    # powertools writes its JSON lines to stdout through its own handler: capture that stream too
    from chalicelib.observability import logger as app_logger

    own = [h for h in app_logger.handlers if isinstance(h, logging.StreamHandler)]
    original_streams = [h.setStream(captured) for h in own]
    try:
        campaign_id, first_id, _ = new_campaign(stack, 3, 3)
        body = request_body(campaign_id, first_id, "Zwetschgenbaum", phone="+49 231 987654")
        body["person"].update(
            given_name="Hildegard", email="hildegard.zwetschgenbaum@example.org", birth_date="1936-07-19"
        )
        state = wait_decided(stack.api_url, api.post("/v1/booking-requests", json=body).json()["request_id"])
        code = state["booking"]["code"]
        api.get(f"/v1/bookings/{code}?birth_date=1936-07-19")
        api.get(f"/v1/bookings/{code}?birth_date=1936-07-20")
        api.post(f"/v1/bookings/{code}/cancel", json={"birth_date": "1936-07-19"})
        stack.wait_for_idle_queues()
    finally:
        for h, stream in zip(own, original_streams, strict=True):
            h.setStream(stream)
        for logger in watched:
            logger.removeHandler(handler)
    logs = captured.getvalue()
    assert "booking request decided" in logs  # the flow was logged at all
    for secret in (
        "Hildegard",
        "Zwetschgenbaum",
        "zwetschgenbaum",
        "1936-07-19",
        "987654",
        code,
        code.replace("-", ""),
    ):
        assert secret not in logs


def sns_event(message: str) -> dict:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:eu-central-1:123456789012:vaxslot-local-mail-events:x",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "Subject": None,
                    "Message": message,
                    "Timestamp": "2021-01-25T08:00:00.000Z",
                    "TopicArn": "arn:aws:sns:eu-central-1:123456789012:vaxslot-local-mail-events",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def test_an_address_that_bounced_gets_no_more_mail_and_its_booking_still_stands(stack, api):
    address = f"gone-{uuid.uuid4().hex[:6]}@example.org"
    bounce = json.dumps(
        {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]}}
    )
    stack.app_module.mail_events(sns_event(bounce), PumpContext("mail_events", 10))

    campaign_id, first_id, _ = new_campaign(stack, 2, 2)
    body = request_body(campaign_id, first_id, f"Bounced{uuid.uuid4().hex[:6]}")
    body["person"]["email"] = address
    state = wait_decided(stack.api_url, api.post("/v1/booking-requests", json=body).json()["request_id"])
    stack.wait_for_idle_queues()
    assert state["status"] == "booked"
    assert not [m for m in stack.sent_mail() if state["booking"]["code"] in m["raw_data"]]
