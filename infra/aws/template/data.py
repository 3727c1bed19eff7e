"""Tables and queues: the CloudFormation form of infra/resources.py."""

from __future__ import annotations

import os

from infra.aws.stages import StageKnobs
from infra.aws.template.base import dlq_id, queue_id, skip
from infra.resources import BOOKING_TABLE, QueueSpec, TableSpec

INDEXES_AT_MOST_ENV = "VAXSLOT_TABLE_INDEXES"
VISIBILITY_FACTOR = 6  # AWS: a queue's visibility timeout at least 6x the timeout of the function consuming it


def table(spec: TableSpec, stage: str, knobs: StageKnobs) -> dict:
    kwargs = spec.create_table_kwargs(stage)
    props = {
        "TableName": kwargs["TableName"],
        "KeySchema": kwargs["KeySchema"],
        "AttributeDefinitions": kwargs["AttributeDefinitions"],
        "BillingMode": kwargs["BillingMode"],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": knobs.deletion_protection,
    }
    if "GlobalSecondaryIndexes" in kwargs:
        # CloudFormation adds one index per stack update: a stage made before its table had indexes is deployed once
        # with VAXSLOT_TABLE_INDEXES=1, then without (docs/operations.md "Centre staff").
        at_most = int(os.environ.get(INDEXES_AT_MOST_ENV) or len(kwargs["GlobalSecondaryIndexes"]))
        props["GlobalSecondaryIndexes"] = kwargs["GlobalSecondaryIndexes"][:at_most]
    warm = knobs.bookings_warm_throughput
    if spec is BOOKING_TABLE and warm is not None:
        # Pre-warmed for the opening: without it the table takes minutes to double from 4,000 writes/s.
        props["WarmThroughput"] = {
            "WriteUnitsPerSecond": warm.write_units_per_s,
            "ReadUnitsPerSecond": warm.read_units_per_s,
        }
    if spec.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": props,
        "Metadata": skip(
            (
                "CKV_AWS_119",
                "SSE with the AWS managed KMS key; a customer key adds a KMS call "
                "budget at launch-day rates and no access control we need",
            )
        ),
    }


_SSE_SQS_SKIP = skip(
    ("CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only recognises KmsMasterKeyId")
)


def queues(spec: QueueSpec, stage: str, consumer_timeout_s: int) -> dict:
    if spec.visibility_timeout_s < VISIBILITY_FACTOR * consumer_timeout_s:
        raise ValueError(
            f"{spec.logical_id}: visibility timeout {spec.visibility_timeout_s}s is below "
            f"{VISIBILITY_FACTOR}x its consumer's timeout {consumer_timeout_s}s: raise it in "
            "infra/resources.py or lower the function's lambda_timeout in .chalice/config.json"
        )
    return {
        dlq_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": spec.dlq_name(stage),
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
                # Some dead-letter queues have a consumer (app.booking_dead_letters): the same visibility as the queue.
                "VisibilityTimeout": spec.visibility_timeout_s,
            },
            "Metadata": _SSE_SQS_SKIP,
        },
        queue_id(spec): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": spec.name(stage),
                "VisibilityTimeout": spec.visibility_timeout_s,
                "MessageRetentionPeriod": 4 * 24 * 3600,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id(spec), "Arn"]},
                    "maxReceiveCount": spec.max_receive_count,
                },
            },
            "Metadata": _SSE_SQS_SKIP,
        },
    }
