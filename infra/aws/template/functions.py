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
    BOOKING_WORKER,
    HAS_SITE_DOMAIN,
    MAIL_EVENTS,
    MAIL_SENDER,
    MAIL_WORKER,
    RECONCILE,
    SITE_DOMAIN,
    arn,
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
# X-Ray accepts no resource-level permissions (its actions need "*"): AWS's managed policy grants exactly the two
# writes, and keeps "*" out of our own statements.
XRAY_WRITE_POLICY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}

# Chalice's event names: "<Function>SnsSubscription" for on_sns_message, "<Function>Event" for schedule.
MAIL_EVENTS_SUBSCRIPTION, RECONCILE_SCHEDULE = f"{MAIL_EVENTS}SnsSubscription", f"{RECONCILE}Event"

DYNAMODB_ACTIONS = (  # PynamoDB items, queries, transactions; DescribeTable for PynamoDB's table metadata
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
)
# PynamoDB 6 takes the key schema from the model, so the narrow roles below need no DescribeTable.
SUPPRESSION_READ = ("dynamodb:GetItem",)  # the mail worker: is the recipient suppressed?
SUPPRESSION_WRITE = ("dynamodb:PutItem",)  # mail_events: record a suppression (SuppressionItem.save)
RECONCILE_READ = ("dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem")  # active bookings, catalogue, slots
SQS_SEND_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
SQS_CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]


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
    reads_pepper: bool = False  # fetches the pepper secret: person keys, and the suppression list's HMAC key


FUNCTIONS = (
    # The API keeps chalice's DefaultRole (chalice wires APIHandler to it) with its policy replaced.
    Function(API_FUNCTION, "api_handler", "api", "DefaultRole", None, (BOOKING_QUEUE, NOTIFY_QUEUE),
             ((BOOKING_TABLE, DYNAMODB_ACTIONS), (IDEMPOTENCY_TABLE, DYNAMODB_ACTIONS)), reads_pepper=True),
    Function(BOOKING_WORKER, "booking_worker", "booking-worker", "BookingWorkerRole", BOOKING_QUEUE, (NOTIFY_QUEUE,),
             ((BOOKING_TABLE, DYNAMODB_ACTIONS),), reads_pepper=True),
    # bootstrap.mail_service(): SES, the idempotency table and the suppression list, whose keys are an HMAC
    # with the pepper (so the mail functions read it too).
    Function(MAIL_WORKER, "mail_worker", "mail-worker", "MailWorkerRole", NOTIFY_QUEUE, (),
             ((IDEMPOTENCY_TABLE, DYNAMODB_ACTIONS), (BOOKING_TABLE, SUPPRESSION_READ)), sends_mail=True,
             reads_pepper=True),
    Function(MAIL_EVENTS, "mail_events", "mail-events", "MailEventsRole", None, (),
             ((BOOKING_TABLE, SUPPRESSION_WRITE),), subscribes=MAIL_EVENTS_TOPIC, reads_pepper=True),
    # bootstrap.reconciliation(): catalog() and DynamoBookings, read only; no pepper.
    Function(RECONCILE, "reconcile", "reconcile", "ReconcileRole", None, (), ((BOOKING_TABLE, RECONCILE_READ),),
             scheduled=True),
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
    return {PEPPER_SECRET: {
        "Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Name": f"vaxslot/{stage}/person-key-pepper",
            "Description": "HMAC pepper of the person keys (one booking per person); never rotate without a migration",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
        "Metadata": skip(
            ("CKV_AWS_149", "Encrypted with the account's aws/secretsmanager key; only functions that hash with it "
                            "may read it"),
            ("CKV2_AWS_57", "Rotation would change every person key and reopen one-booking-per-person: never "
                            "rotate without a migration")),
    }}


def policy(stage: str, fn: Function) -> list[dict]:
    log_group = arn("logs", f"log-group:/aws/lambda/{function_name(stage, fn)}:*")
    statements = [
        {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": log_group},
    ]
    if fn.reads_pepper:
        statements.append({"Sid": "PepperSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": {"Ref": PEPPER_SECRET}})
    for table, actions in fn.tables:
        statements.append({"Sid": table_id(table), "Effect": "Allow", "Action": list(actions),
                           "Resource": {"Fn::GetAtt": [table_id(table), "Arn"]}})
    if fn.consumes:
        statements.append({"Sid": "ConsumeQueue", "Effect": "Allow", "Action": SQS_CONSUME_ACTIONS,
                           "Resource": {"Fn::GetAtt": [queue_id(fn.consumes), "Arn"]}})
    if fn.sends_to:
        statements.append({"Sid": "SendToQueues", "Effect": "Allow", "Action": SQS_SEND_ACTIONS,
                           "Resource": [{"Fn::GetAtt": [queue_id(q), "Arn"]} for q in fn.sends_to]})
    if fn.sends_mail:
        statements.append({"Sid": "SendMail", "Effect": "Allow", "Action": ["ses:SendRawEmail"], "Resource": [
            arn("ses", "identity/${MailDomain}", {"MailDomain": mail_domain()}),
            arn("ses", "configuration-set/${MailConfigurationSet}"),
        ]})
    return [{"PolicyName": f"{fn.slug}-least-privilege",
             "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]


def role(stage: str, fn: Function, settings: LambdaSettings) -> dict:
    """Chalice's DefaultRole gets only the properties to replace; the others are whole roles."""
    props: dict = {"Policies": policy(stage, fn)}
    if settings.xray:
        props["ManagedPolicyArns"] = [XRAY_WRITE_POLICY]
    if fn.role == "DefaultRole":
        return {"Properties": props}
    return {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        **props,
    }}


def check_settings(fn: Function, settings: LambdaSettings, knobs: StageKnobs) -> None:
    if fn.logical_id == MAIL_WORKER:
        limit = mail_worker_concurrency(knobs)
        if not settings.reserved_concurrency or settings.reserved_concurrency > limit:
            raise ValueError(f"mail_worker's reserved_concurrency {settings.reserved_concurrency} in "
                             f".chalice/config.json must be 1..{limit}: the SES quota of {knobs.ses_send_rate_per_s} "
                             "mails/s (ses_send_rate_per_s in infra/aws/stages.py) at ~10 mails/s per worker")


def function(stage: str, knobs: StageKnobs, fn: Function, settings: LambdaSettings) -> dict:
    check_settings(fn, settings, knobs)
    props: dict = {
        "FunctionName": function_name(stage, fn),
        "Role": {"Fn::GetAtt": [fn.role, "Arn"]},
        "Environment": {"Variables": {
            PEPPER_SECRET_ENV: {"Ref": PEPPER_SECRET},
            "MAIL_SENDER": {"Ref": MAIL_SENDER},
            "SITE_URL": {"Fn::If": [HAS_SITE_DOMAIN, sub(f"https://${{{SITE_DOMAIN}}}"),
                                    sub("https://${SiteDistribution.DomainName}")]},
        }},
    }
    concurrency = settings.reserved_concurrency
    skips = [("CKV_AWS_117", "No VPC: the functions reach only DynamoDB, SQS, SES and Secrets Manager endpoints"),
             ("CKV_AWS_173", "The environment holds resource names and the pepper secret's ARN, no secret")]
    if fn.subscribes:
        # Chalice builds the ARN from the name (same region, account and name as our topic); Fn::Sub on the topic's
        # Ref (its ARN) replaces it (the same key, so chalice's deep merge cannot mix the two) and orders the
        # subscription after the topic, which chalice's literal ARN does not.
        props["Events"] = {f"{fn.logical_id}SnsSubscription": {"Properties": {
            "Topic": sub(f"${{{topic_id(fn.subscribes)}}}")}}}
        skips.append(("CKV_AWS_116", "SNS invokes it asynchronously and Lambda retries twice; an event lost after "
                                     "that recurs, since the next mail to the address bounces again. Failures "
                                     "alarm (mail-events-errors)"))
    elif fn.scheduled:
        skips.append(("CKV_AWS_116", "Scheduled, read only: a failed run is redone by the next hour's, and a "
                                     "missing result alarms (reconciliation-missing)"))
    elif fn.consumes:
        props["Events"] = {f"{fn.logical_id}SqsEventSource": {"Properties": {
            # Fn::Sub on the queue's Arn replaces chalice's name-built ARN and orders the mapping after the queue.
            "Queue": sub(f"${{{queue_id(fn.consumes)}.Arn}}"),
            "BatchSize": knobs.sqs_batch_size[fn.chalice_name],
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": max(2, concurrency or 0)},
        }}}
        skips.append(("CKV_AWS_116", "SQS-triggered: failed messages go to the queue's own dead-letter queue"))
    if not concurrency:
        skips.append(("CKV_AWS_115", "API concurrency is bounded by the stage throttling, not by a reservation "
                                     "that would take capacity from the workers' pool"))
    if fn.logical_id == API_FUNCTION:
        skips.append(("CKV_AWS_116", "Invoked synchronously by API Gateway: there is no event to dead-letter"))
    return {"DependsOn": [f"{fn.logical_id}LogGroup"], "Properties": props, "Metadata": skip(*skips)}


def log_group(knobs: StageKnobs, name: str) -> dict:
    return {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name,
                                                          "RetentionInDays": knobs.log_retention_days},
            "Metadata": skip(("CKV_AWS_158", "CloudWatch Logs encrypts at rest; logs carry no personal data"),
                             ("CKV_AWS_338", "Retention is kept short on purpose (data minimisation); "
                                             "see log_retention_days in infra/aws/stages.py"))}
