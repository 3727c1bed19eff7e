"""SQS adapters: the booking-request queue and the mail outbox, and the booking-request message schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from chalicelib.booking import domain as d
from chalicelib.booking.ports import MailOutbox, RequestQueue
from chalicelib.booking.position import Backlog
from chalicelib.contracts.mail import MailMessage


class PersonMessage(BaseModel):
    given_name: str
    family_name: str
    birth_date: date
    postal_code: str
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None


class SlotRefMessage(BaseModel):
    slot_id: str
    start: datetime
    end: datetime

    @classmethod
    def from_domain(cls, ref: d.SlotRef | None) -> SlotRefMessage | None:
        return cls(slot_id=ref.slot_id, start=ref.start, end=ref.end) if ref else None

    def to_domain(self) -> d.SlotRef:
        return d.SlotRef(self.slot_id, self.start, self.end)


class BookingRequestMessage(BaseModel):
    """What travels through the booking queue; versioned so a deploy mid-rush can read old messages.

    Version 2 adds the pair submit saw (`first`, `second`); a version-1 message lacks them and the worker
    reads the slots before its transaction."""

    version: int = 2
    request_id: str
    campaign_id: str
    center_id: str
    slot_id: str
    flexible: bool
    language: str
    person: PersonMessage
    channel: d.Channel = d.Channel.WEB  # absent in messages of older deploys: they came from the web
    agent: str | None = None
    first: SlotRefMessage | None = None
    second: SlotRefMessage | None = None

    @classmethod
    def from_domain(cls, request: d.BookingRequest) -> BookingRequestMessage:
        return cls(
            request_id=request.request_id,
            campaign_id=request.campaign_id,
            center_id=request.center_id,
            slot_id=request.slot_id,
            flexible=request.flexible,
            language=request.language,
            person=PersonMessage(**request.person.__dict__),
            channel=request.channel,
            agent=request.agent,
            first=SlotRefMessage.from_domain(request.first),
            second=SlotRefMessage.from_domain(request.second),
        )

    def to_domain(self) -> d.BookingRequest:
        return d.BookingRequest(
            request_id=self.request_id,
            campaign_id=self.campaign_id,
            center_id=self.center_id,
            slot_id=self.slot_id,
            flexible=self.flexible,
            language=self.language,
            person=d.Person(**self.person.model_dump()),
            channel=self.channel,
            agent=self.agent,
            first=self.first.to_domain() if self.first else None,
            second=self.second.to_domain() if self.second else None,
        )


class SqsRequestQueue(RequestQueue):
    def __init__(self, sqs_client, queue_url: str):
        self._sqs = sqs_client
        self._queue_url = queue_url

    def send(self, request: d.BookingRequest) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=BookingRequestMessage.from_domain(request).model_dump_json(),
        )


class SqsBacklog(Backlog):
    """The booking queue's messages not yet deleted: waiting, being handled (in flight) and delayed."""

    ATTRIBUTES = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )

    def __init__(self, sqs_client, queue_url: Callable[[], str]):
        self._sqs = sqs_client
        self._queue_url = queue_url

    def waiting(self) -> int | None:
        try:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self._queue_url(), AttributeNames=self.ATTRIBUTES)
        except (ClientError, BotoCoreError):
            return None  # a position is optional ("if known"): the state is answered without it
        return sum(int(attributes["Attributes"].get(name, 0)) for name in self.ATTRIBUTES)


class SqsMailOutbox(MailOutbox):
    def __init__(self, sqs_client, queue_url: str):
        self._sqs = sqs_client
        self._queue_url = queue_url

    def publish(self, message: MailMessage) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json())


class SendNowMailOutbox(MailOutbox):
    """Sends each mail at once, in the worker that decided it, and queues it for the notify worker only when
    that fails (SES down or throttled, or anything else): the queue then retries it with backoff.

    Sending at once saves a send, a receive and a delete on the mail queue per booking (issue #9). `send` is
    notify's use case, handed in by the composition root (booking never imports notify); it claims the mail's
    marker, so a mail is sent once whichever path sends it.
    """

    def __init__(
        self,
        send: Callable[[MailMessage], object],
        fallback: MailOutbox,
        on_fallback: Callable[[MailMessage, Exception], None] = lambda message, error: None,
    ):
        self._send = send
        self._fallback = fallback
        self._on_fallback = on_fallback

    def publish(self, message: MailMessage) -> None:
        try:
            self._send(message)
        except Exception as error:  # whatever failed, the mail must not block the decision
            self._on_fallback(message, error)
            self._fallback.publish(message)
