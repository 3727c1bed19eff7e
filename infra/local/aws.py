"""Create vaxslot's tables, queues and mail identity on the local AWS, from infra/resources.py."""

from __future__ import annotations

import json
import urllib.request

import boto3
from botocore.config import Config

from infra.resources import QUEUES, TABLES

REGION = "eu-central-1"
# moto needs some credentials; these reach nothing but the local server.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}


def client(service: str, endpoint_url: str):
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(max_pool_connections=64, retries={"mode": "standard", "max_attempts": 3}),
    )


def sent_mail(endpoint_url: str, timeout_s: float = 30) -> list[dict]:
    """The mail the local SES accepted, newest last: id, source, destinations, raw_data (infra/local/moto_server.py)."""
    with urllib.request.urlopen(f"{endpoint_url}/vaxslot/sent-mail", timeout=timeout_s) as response:
        return json.load(response)


def create_resources(endpoint_url: str, stage: str, mail_sender: str) -> dict[str, str]:
    """Create (or find) every table and queue; returns the queue URLs by queue name."""
    dynamodb = client("dynamodb", endpoint_url)
    existing = set(dynamodb.list_tables()["TableNames"])
    for table in TABLES:
        if table.name(stage) not in existing:
            dynamodb.create_table(**table.create_table_kwargs(stage))
            if table.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=table.name(stage),
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )
    sqs = client("sqs", endpoint_url)
    urls = {}
    for queue in QUEUES:
        dlq_url = sqs.create_queue(QueueName=queue.dlq_name(stage))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        urls[queue.name(stage)] = sqs.create_queue(
            QueueName=queue.name(stage),
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        urls[queue.dlq_name(stage)] = dlq_url
    # SES refuses mail from an unverified sender, as the real one does.
    client("ses", endpoint_url).verify_email_identity(EmailAddress=mail_sender)
    return urls
