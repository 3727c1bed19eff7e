"""The notify queue's retry path: a mail message whose send failed waits longer before each new try.

SQS would redeliver it after the queue's fixed visibility timeout; an SES outage longer than
maxReceiveCount times that timeout then lost mail for good. Changing the message's visibility after each
failure spaces the tries out (30 s doubling to 15 min, `services.retry_delay_s`) over hours instead.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.notify.services import retry_delay_s


class MailRetry:
    def __init__(self, sqs_client, queue_url_of: Callable[[str], str]):
        self._sqs = sqs_client
        self._queue_url_of = queue_url_of  # queue name → URL (cached by the caller)

    def later(self, queue_arn: str, receipt_handle: str, receive_count: int) -> int:
        """Hide the message (of the queue the event came from) for the delay its try number earns; returns
        the delay in seconds."""
        delay = retry_delay_s(receive_count)
        self._sqs.change_message_visibility(
            QueueUrl=self._queue_url_of(queue_arn.rsplit(":", 1)[-1]),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=delay,
        )
        return delay
