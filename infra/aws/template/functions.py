"""The functions chalice emits, each with a role of its own, its log group, and the person-key pepper they read.

Memory, timeout, reserved concurrency and tracing come from `.chalice/config.json` through chalice itself;
this module only checks them against the queues (visibility timeout, SES quota) and adds what chalice cannot
set: roles, `ReportBatchItemFailures` (aws/chalice#2029), the event sources' ARNs and scaling, parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.aws.chalice_config import LambdaSettings, lambda_settings
from infra.aws.stages import StageKnobs, mail_worker_concurrency
from infra.aws.template.base import (
    API_FUNCTION,
    BOOKING_DEAD_LETTERS,
    BOOKING_WORKER,
    HAS_SITE_DOMAIN,
    MAIL_EVENTS,
    MAIL_SENDER,
    MAIL_WORKER,
    RECONCILE,
    SITE_DOMAIN,
    arn,
    dlq_id,
    mail_domain,
    queue_id,
    skip,
    sub,
    table_id,
    topic_id,
)
from infra.resources import (
    BOOKING_QUEUE,
    BOOKING_TABLE,
    IDEMPOTENCY_TABLE,
    MAIL_EVENTS_TOPIC,
    NOTIFY_QUEUE,
    QueueSpec,
    TableSpec,
    TopicSpec,
)

PEPPER_SECRET = "PersonKeyPepperSecret"
PEPPER_SECRET_ENV = "PERSON_KEY_PEPPER_SECRET_ARN"  # chalicelib/settings.py reads it
ADMISSION_KEY_SECRET = "AdmissionTokenKeySecret"
ADMISSION_KEY_SECRET_ENV = "ADMISSION_TOKEN_KEY_SECRET_ARN"  # chalicelib/settings.py reads it
# X-Ray accepts no resource-level permissions (its actions need "*"): AWS's managed policy grants exactly the two
# writes, and keeps "*" out of our own statements.
XRAY_WRITE_POLICY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}

# Chalice's event names: "<Function>SnsSubscription" for on_sns_message, "<Function>Event" for schedule.
MAIL_EVENTS_SUBSCRIPTION, RECONCILE_SCHEDULE = f"{MAIL_EVENTS}SnsSubscription", f"{RECONCILE}Event"

DYNAMODB_ACTIONS = (  # PynamoDB items, queries, transactions; DescribeTable for PynamoDB's table metadata
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
# PynamoDB 6 takes the key schema from the model, so the narrow roles below need no DescribeTable.
# The mail worker: one transaction that checks the suppression list and puts the mail's marker (TransactWriteItems
# is authorised per item action), and the marker's delete after a failed send.
MAIL_LEDGER = ("dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem")
MAIL_QUOTA = ("dynamodb:UpdateItem",)  # the mail senders: count a mail against its address's daily cap
SUPPRESSION_WRITE = ("dynamodb:PutItem",)  # mail_events: record a suppression (SuppressionItem.save)
RECONCILE_READ = ("dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem")  # active bookings, catalogue, slots
SQS_SEND_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
SQS_CONSUME_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]


@dataclass(frozen=True)
class Function:
    logical_id: str
    chalice_name: str  # the Python name: its key under `lambda_functions` in .chalice/config.json
    slug: str  # physical name: vaxslot-<stage>-<slug>
    role: str  # logical id of its IAM role
    consumes: QueueSpec | None
    sends_to: tuple[QueueSpec, ...]
    tables: tuple[tuple[TableSpec, tuple[str, ...]], ...]  # (table, DynamoDB actions on it)
    sends_mail: bool = False
    subscribes: TopicSpec | None = None  # SNS topic it is subscribed to (on_sns_message)
    scheduled: bool = False  # chalice's schedule event: keeps chalice's rate from app.py
    reads_pepper: bool = False  # fetches the pepper secret: person keys, the suppression list's and mail cap's HMAC key
    reads_admission_key: bool = False  # signs and checks waiting-room admission tokens (bootstrap.waiting_room_service)
    consumes_dead_letters: bool = False  # consumes the dead-letter queue of `consumes`, not the queue itself
    reads_depth_of: tuple[QueueSpec, ...] = ()  # GetQueueAttributes: a queued request's position (booking/position.py)
    queries_indexes: bool = (
        False  # Query on the bookings table's indexes (the centre's day list, storage/attendance.py)
    )


def consumed_queue_id(fn: Function) -> str:
    assert fn.consumes is not None
    return dlq_id(fn.consumes) if fn.consumes_dead_letters else queue_id(fn.consumes)


FUNCTIONS = (
    # The API keeps chalice's DefaultRole (chalice wires APIHandler to it) with its policy replaced.
    Function(
        API_FUNCTION,
        "api_handler",
        "api",
        "DefaultRole",
        None,
        (BOOKING_QUEUE, NOTIFY_QUEUE),
        ((BOOKING_TABLE, DYNAMODB_ACTIONS), (IDEMPOTENCY_TABLE, DYNAMODB_ACTIONS)),
        reads_pepper=True,
        reads_admission_key=True,
        reads_depth_of=(BOOKING_QUEUE,),
        queries_indexes=True,
    ),
    # The booking worker sends each decision's mail itself and queues it for the mail worker only when that fails.
    Function(
        BOOKING_WORKER,
        "booking_worker",
        "booking-worker",
        "BookingWorkerRole",
        BOOKING_QUEUE,
        (NOTIFY_QUEUE,),
        ((BOOKING_TABLE, DYNAMODB_ACTIONS),),
        sends_mail=True,
        reads_pepper=True,
    ),
    # Rejects the requests of the booking dead-letter queue as not_processed, with their mail.
    Function(
        BOOKING_DEAD_LETTERS,
        "booking_dead_letters",
        "booking-dead-letters",
        "BookingDeadLettersRole",
        BOOKING_QUEUE,
        (NOTIFY_QUEUE,),
        ((BOOKING_TABLE, DYNAMODB_ACTIONS),),
        sends_mail=True,
        reads_pepper=True,
        consumes_dead_letters=True,
    ),
    # bootstrap.mail_service(): SES, the mail markers and suppression list of the bookings table, and the daily
    # mail cap (a counter per keyed hash of the address: the pepper, which also keys the suppression list).
    Function(
        MAIL_WORKER,
        "mail_worker",
        "mail-worker",
        "MailWorkerRole",
        NOTIFY_QUEUE,
        (),
        ((BOOKING_TABLE, MAIL_LEDGER + MAIL_QUOTA),),
        sends_mail=True,
        reads_pepper=True,
    ),
    Function(
        MAIL_EVENTS,
        "mail_events",
        "mail-events",
        "MailEventsRole",
        None,
        (),
        ((BOOKING_TABLE, SUPPRESSION_WRITE),),
        subscribes=MAIL_EVENTS_TOPIC,
        reads_pepper=True,
    ),
    # bootstrap.reconciliation(): catalog() and DynamoBookings, read only; no pepper.
    Function(
        RECONCILE,
        "reconcile",
        "reconcile",
        "ReconcileRole",
        None,
        (),
        ((BOOKING_TABLE, RECONCILE_READ),),
        scheduled=True,
    ),
)


def function_of(logical_id: str) -> Function:
    return next(fn for fn in FUNCTIONS if fn.logical_id == logical_id)


def function_name(stage: str, fn: Function) -> str:
    return f"vaxslot-{stage}-{fn.slug}"


def settings_of(stage: str, fn: Function, config: dict | None = None) -> LambdaSettings:
    return lambda_settings(stage, fn.chalice_name, config)


def pepper_secret(stage: str) -> dict:
    """The person-key pepper, generated once by the stack. Never replaced or deleted with the stack: every
    booking's person key derives from it, so a new one would let everyone book again (Retain on both)."""
    return {
        PEPPER_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Name": f"vaxslot/{stage}/person-key-pepper",
                "Description": (
                    "HMAC pepper of the person keys (one booking per person); never rotate without a migration"
                ),
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
            "Metadata": skip(
                (
                    "CKV_AWS_149",
                    "Encrypted with the account's aws/secretsmanager key; only functions that hash with it may read it",
                ),
                (
                    "CKV2_AWS_57",
                    "Rotation would change every person key and reopen one-booking-per-person: never "
                    "rotate without a migration",
                ),
            ),
        }
    }


def admission_key_secret(stage: str) -> dict:
    """The HS256 key of the waiting room's admission tokens, generated by the stack. Replacing it only voids
    the tokens handed out in the last 10 minutes (domain.ADMISSION_TTL), so it follows the stack's lifecycle."""
    return {
        ADMISSION_KEY_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": f"vaxslot/{stage}/admission-token-key",
                "Description": "HS256 key of the waiting room's admission tokens (chalicelib/waitingroom/tokens.py)",
                # 64 alphanumerics: ~380 bits, well above HS256's 32-byte minimum (tokens.MIN_KEY_BYTES).
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
            "Metadata": skip(
                ("CKV_AWS_149", "Encrypted with the account's aws/secretsmanager key; only the API's role may read it"),
                (
                    "CKV2_AWS_57",
                    "Not rotated by a Lambda: a new key voids the tokens of the last 10 minutes; rotate "
                    "by replacing the secret outside a rush",
                ),
            ),
        }
    }


def policy(stage: str, fn: Function) -> list[dict]:
    log_group = arn("logs", f"log-group:/aws/lambda/{function_name(stage, fn)}:*")
    statements = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": log_group,
        },
    ]
    if fn.reads_pepper:
        statements.append(
            {
                "Sid": "PepperSecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": {"Ref": PEPPER_SECRET},
            }
        )
    if fn.reads_admission_key:
        statements.append(
            {
                "Sid": "AdmissionKeySecret",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": {"Ref": ADMISSION_KEY_SECRET},
            }
        )
    for table, actions in fn.tables:
        statements.append(
            {
                "Sid": table_id(table),
                "Effect": "Allow",
                "Action": list(actions),
                "Resource": {"Fn::GetAtt": [table_id(table), "Arn"]},
            }
        )
    if fn.queries_indexes:  # a Query of an index is authorised on the index's ARN, not on the table's
        statements.append(
            {
                "Sid": "BookingsTableIndexes",
                "Effect": "Allow",
                "Action": ["dynamodb:Query"],
                "Resource": [
                    {"Fn::Sub": f"${{{table_id(BOOKING_TABLE)}.Arn}}/index/{index.name}"}
                    for index in BOOKING_TABLE.indexes
                ],
            }
        )
    if fn.consumes:
        statements.append(
            {
                "Sid": "ConsumeQueue",
                "Effect": "Allow",
                "Action": SQS_CONSUME_ACTIONS,
                "Resource": {"Fn::GetAtt": [consumed_queue_id(fn), "Arn"]},
            }
        )
    if fn.sends_to:
        statements.append(
            {
                "Sid": "SendToQueues",
                "Effect": "Allow",
                "Action": SQS_SEND_ACTIONS,
                "Resource": [{"Fn::GetAtt": [queue_id(q), "Arn"]} for q in fn.sends_to],
            }
        )
    if fn.reads_depth_of:
        statements.append(
            {
                "Sid": "ReadQueueDepth",
                "Effect": "Allow",
                "Action": ["sqs:GetQueueAttributes"],
                "Resource": [{"Fn::GetAtt": [queue_id(q), "Arn"]} for q in fn.reads_depth_of],
            }
        )
    if fn.sends_mail:
        statements.append(
            {
                "Sid": "SendMail",
                "Effect": "Allow",
                "Action": ["ses:SendRawEmail"],
                "Resource": [
                    arn("ses", "identity/${MailDomain}", {"MailDomain": mail_domain()}),
                    arn("ses", "configuration-set/${MailConfigurationSet}"),
                ],
            }
        )
    return [
        {
            "PolicyName": f"{fn.slug}-least-privilege",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        }
    ]


def role(stage: str, fn: Function, settings: LambdaSettings) -> dict:
    """Chalice's DefaultRole gets only the properties to replace; the others are whole roles."""
    props: dict = {"Policies": policy(stage, fn)}
    if settings.xray:
        props["ManagedPolicyArns"] = [XRAY_WRITE_POLICY]
    if fn.role == "DefaultRole":
        return {"Properties": props}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            **props,
        },
    }


def check_settings(fn: Function, settings: LambdaSettings, knobs: StageKnobs) -> None:
    if fn.logical_id == MAIL_WORKER:
        limit = mail_worker_concurrency(knobs)
        if not settings.reserved_concurrency or settings.reserved_concurrency > limit:
            raise ValueError(
                f"mail_worker's reserved_concurrency {settings.reserved_concurrency} in "
                f".chalice/config.json must be 1..{limit}: the SES quota of {knobs.ses_send_rate_per_s} "
                "mails/s (ses_send_rate_per_s in infra/aws/stages.py) at ~10 mails/s per worker"
            )


def function(stage: str, knobs: StageKnobs, fn: Function, settings: LambdaSettings) -> dict:
    check_settings(fn, settings, knobs)
    props: dict = {
        "FunctionName": function_name(stage, fn),
        "Role": {"Fn::GetAtt": [fn.role, "Arn"]},
        "Environment": {
            "Variables": {
                PEPPER_SECRET_ENV: {"Ref": PEPPER_SECRET},
                "MAIL_SENDER": {"Ref": MAIL_SENDER},
                "SITE_URL": {
                    "Fn::If": [
                        HAS_SITE_DOMAIN,
                        sub(f"https://${{{SITE_DOMAIN}}}"),
                        sub("https://${SiteDistribution.DomainName}"),
                    ]
                },
            }
        },
    }
    if fn.reads_admission_key:
        props["Environment"]["Variables"][ADMISSION_KEY_SECRET_ENV] = {"Ref": ADMISSION_KEY_SECRET}
    concurrency = settings.reserved_concurrency
    skips = [
        ("CKV_AWS_117", "No VPC: the functions reach only DynamoDB, SQS, SES and Secrets Manager endpoints"),
        ("CKV_AWS_173", "The environment holds resource names and the pepper secret's ARN, no secret"),
    ]
    if fn.subscribes:
        # Chalice builds the ARN from the name (same region, account and name as our topic); Fn::Sub on the topic's
        # Ref (its ARN) replaces it (the same key, so chalice's deep merge cannot mix the two) and orders the
        # subscription after the topic, which chalice's literal ARN does not.
        props["Events"] = {
            f"{fn.logical_id}SnsSubscription": {"Properties": {"Topic": sub(f"${{{topic_id(fn.subscribes)}}}")}}
        }
        skips.append(
            (
                "CKV_AWS_116",
                "SNS invokes it asynchronously and Lambda retries twice; an event lost after "
                "that recurs, since the next mail to the address bounces again. Failures "
                "alarm (mail-events-errors)",
            )
        )
    elif fn.scheduled:
        skips.append(
            (
                "CKV_AWS_116",
                "Scheduled, read only: a failed run is redone by the next hour's, and a "
                "missing result alarms (reconciliation-missing)",
            )
        )
    elif fn.consumes:
        props["Events"] = {
            f"{fn.logical_id}SqsEventSource": {
                "Properties": {
                    # Fn::Sub on the queue's Arn replaces chalice's name-built ARN and orders the mapping after
                    # the queue.
                    "Queue": sub(f"${{{consumed_queue_id(fn)}.Arn}}"),
                    "BatchSize": knobs.sqs_batch_size[fn.chalice_name],
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "ScalingConfig": {"MaximumConcurrency": max(2, concurrency or 0)},
                }
            }
        }
        skips.append(
            (
                "CKV_AWS_116",
                "SQS-triggered: failed messages go to the queue's own dead-letter queue"
                if not fn.consumes_dead_letters
                else "Consumes a dead-letter queue: a message it fails stays there (14 days) and its errors alarm",
            )
        )
    if not concurrency:
        skips.append(
            (
                "CKV_AWS_115",
                "API concurrency is bounded by the stage throttling, not by a reservation "
                "that would take capacity from the workers' pool",
            )
        )
    if fn.logical_id == API_FUNCTION:
        skips.append(("CKV_AWS_116", "Invoked synchronously by API Gateway: there is no event to dead-letter"))
    return {"DependsOn": [f"{fn.logical_id}LogGroup"], "Properties": props, "Metadata": skip(*skips)}


def log_group(knobs: StageKnobs, name: str) -> dict:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": name, "RetentionInDays": knobs.log_retention_days},
        "Metadata": skip(
            ("CKV_AWS_158", "CloudWatch Logs encrypts at rest; logs carry no personal data"),
            (
                "CKV_AWS_338",
                "Retention is kept short on purpose (data minimisation); see log_retention_days in infra/aws/stages.py",
            ),
        ),
    }
