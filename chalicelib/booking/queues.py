"""SQS adapters: the booking-request queue and the mail outbox, and the booking-request message schema."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from chalicelib.booking import domain as d
from chalicelib.booking.ports import MailOutbox, RequestQueue
from chalicelib.contracts.mail import MailMessage


class PersonMessage(BaseModel):
    given_name: str
    family_name: str
    birth_date: date
    postal_code: str
    email: str | None = None
    phone: str | None = None
    postal_address: str | None = None


class BookingRequestMessage(BaseModel):
    """What travels through the booking queue; versioned so a deploy mid-rush can read old messages."""

    version: int = 1
    request_id: str
    campaign_id: str
    center_id: str
    slot_id: str
    flexible: bool
    language: str
    person: PersonMessage
    channel: d.Channel = d.Channel.WEB  # absent in messages of older deploys: they came from the web
    agent: str | None = None

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


class SqsMailOutbox(MailOutbox):
    def __init__(self, sqs_client, queue_url: str):
        self._sqs = sqs_client
        self._queue_url = queue_url

    def publish(self, message: MailMessage) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json())
