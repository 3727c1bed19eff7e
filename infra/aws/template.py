"""The CloudFormation merge template for `chalice package --merge-template`, generated from infra/resources.py.

Chalice emits the functions, the REST API and one shared role; this template adds the data resources, the
edge (site, WAF), staff sign-in, mail events and alarms, and overrides what chalice cannot set itself:
per-function roles, timeouts, memory, reserved concurrency, `ReportBatchItemFailures` (aws/chalice#2029),
stage throttling and gateway responses. Chalice deep-merges dicts, and a value from this template replaces
chalice's (lists included), so every override below names exactly chalice's logical ids and keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chalicelib.api.errors import ApiError, error_body
from infra.aws.stages import STAGES, StageKnobs, mail_worker_concurrency
from infra.resources import (BOOKING_QUEUE, BOOKING_TABLE, IDEMPOTENCY_TABLE, MAIL_EVENTS_TOPIC, NOTIFY_QUEUE, QUEUES,
                             TABLES, QueueSpec, TableSpec, TopicSpec)

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_FACTOR = 6  # AWS: a queue's visibility timeout at least 6x the timeout of the function consuming it
PEPPER_PARAMETER_ENV = "PERSON_KEY_PEPPER_PARAMETER"

# Chalice's logical ids: CamelCase of the Python handler name; the shared role is "DefaultRole".
API_FUNCTION, BOOKING_WORKER, MAIL_WORKER = "APIHandler", "BookingWorker", "MailWorker"
MAIL_EVENTS, RECONCILE = "MailEvents", "Reconcile"
# Chalice's event names: "<Function>SnsSubscription" for on_sns_message, "<Function>Event" for schedule.
MAIL_EVENTS_SUBSCRIPTION, RECONCILE_SCHEDULE = f"{MAIL_EVENTS}SnsSubscription", f"{RECONCILE}Event"
API_RESOURCE = "RestAPI"
# app.py's CognitoUserPoolAuthorizer("StaffUserPool", ...): chalice names the API's securityDefinition after it and
# fills its providerARNs from STAFF_USER_POOL_ARN at packaging time (unset for dev/prod); the merge points it at the
# stack's own pool, which has the same logical id.
STAFF_AUTHORIZER = "StaffUserPool"
STAFF_POOL = "StaffUserPool"
STAFF_PATH = "/v1/staff/"


DYNAMODB_ACTIONS = (  # PynamoDB items, queries, transactions; DescribeTable for PynamoDB's table metadata
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
)
# PynamoDB 6 takes the key schema from the model, so the narrow roles below need no DescribeTable.
SUPPRESSION_READ = ("dynamodb:GetItem",)  # the mail worker: is the recipient suppressed?
SUPPRESSION_WRITE = ("dynamodb:PutItem",)  # mail_events: record a suppression (SuppressionItem.save)
RECONCILE_READ = ("dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem")  # active bookings, catalogue, slots


@dataclass(frozen=True)
class Function:
    logical_id: str
    slug: str  # physical name: vaxslot-<stage>-<slug>
    role: str  # logical id of its IAM role
    consumes: QueueSpec | None
    sends_to: tuple[QueueSpec, ...]
    tables: tuple[tuple[TableSpec, tuple[str, ...]], ...]  # (table, DynamoDB actions on it)
    sends_mail: bool = False
    subscribes: TopicSpec | None = None  # SNS topic it is subscribed to (on_sns_message)
    scheduled: bool = False  # chalice's schedule event: keeps chalice's rate from app.py
    reads_pepper: bool = False  # builds bootstrap.booking_service(), which fetches the pepper from SSM


FUNCTIONS = (
    # The API keeps chalice's DefaultRole (chalice wires APIHandler to it) with its policy replaced.
    Function(API_FUNCTION, "api", "DefaultRole", None, (BOOKING_QUEUE, NOTIFY_QUEUE),
             ((BOOKING_TABLE, DYNAMODB_ACTIONS), (IDEMPOTENCY_TABLE, DYNAMODB_ACTIONS)), reads_pepper=True),
    Function(BOOKING_WORKER, "booking-worker", "BookingWorkerRole", BOOKING_QUEUE, (NOTIFY_QUEUE,),
             ((BOOKING_TABLE, DYNAMODB_ACTIONS),), reads_pepper=True),
    # bootstrap.mail_service(): SES, the idempotency table and the suppression list; no pepper.
    Function(MAIL_WORKER, "mail-worker", "MailWorkerRole", NOTIFY_QUEUE, (),
             ((IDEMPOTENCY_TABLE, DYNAMODB_ACTIONS), (BOOKING_TABLE, SUPPRESSION_READ)), sends_mail=True),
    Function(MAIL_EVENTS, "mail-events", "MailEventsRole", None, (), ((BOOKING_TABLE, SUPPRESSION_WRITE),),
             subscribes=MAIL_EVENTS_TOPIC),
    # bootstrap.reconciliation(): catalog() and DynamoBookings, read only; no pepper.
    Function(RECONCILE, "reconcile", "ReconcileRole", None, (), ((BOOKING_TABLE, RECONCILE_READ),), scheduled=True),
)
SQS_SEND_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
SQS_CONSUME_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]


def table_id(spec: TableSpec) -> str:
    return f"{spec.logical_id}Table"


def queue_id(spec: QueueSpec) -> str:
    return f"{spec.logical_id}Queue"


def dlq_id(spec: QueueSpec) -> str:
    return f"{spec.logical_id}DeadLetterQueue"


def topic_id(spec: TopicSpec) -> str:
    return f"{spec.logical_id.replace('-', '')}Topic"


def function_of(logical_id: str) -> Function:
    return next(fn for fn in FUNCTIONS if fn.logical_id == logical_id)


def function_name(stage: str, fn: Function) -> str:
    return f"vaxslot-{stage}-{fn.slug}"


def knobs_of(knobs: StageKnobs, fn: Function):
    by_function = {API_FUNCTION: knobs.api, BOOKING_WORKER: knobs.booking_worker, MAIL_WORKER: knobs.mail_worker,
                   MAIL_EVENTS: knobs.mail_events, RECONCILE: knobs.reconcile}
    return by_function[fn.logical_id]


def chalice_stage(stage: str) -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage]


def _skip(*checks: tuple[str, str]) -> dict:
    """checkov skips, each with its reason, on the resource they concern."""
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in checks]}}


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def _arn(service: str, resource: str) -> dict:
    return _sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


# --- data resources ---------------------------------------------------------------------------------

def _table(spec: TableSpec, stage: str, knobs: StageKnobs) -> dict:
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
    if spec.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    return {
        "Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": props,
        "Metadata": _skip(("CKV_AWS_119", "SSE with the AWS managed KMS key; a customer key adds a KMS call "
                                          "budget at launch-day rates and no access control we need")),
    }


_SSE_SQS_SKIP = _skip(("CKV_AWS_27", "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); checkov only "
                                      "recognises KmsMasterKeyId"))


def _queues(spec: QueueSpec, stage: str, consumer_timeout_s: int) -> dict:
    if spec.visibility_timeout_s < VISIBILITY_FACTOR * consumer_timeout_s:
        raise ValueError(f"{spec.logical_id}: visibility timeout {spec.visibility_timeout_s}s is below "
                         f"{VISIBILITY_FACTOR}x its consumer's timeout {consumer_timeout_s}s: raise it in "
                         "infra/resources.py or lower the function timeout in infra/aws/stages.py")
    return {
        dlq_id(spec): {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": spec.dlq_name(stage), "MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True,
        }, "Metadata": _SSE_SQS_SKIP},
        queue_id(spec): {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": spec.name(stage),
            "VisibilityTimeout": spec.visibility_timeout_s,
            "MessageRetentionPeriod": 4 * 24 * 3600,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id(spec), "Arn"]},
                              "maxReceiveCount": spec.max_receive_count},
        }, "Metadata": _SSE_SQS_SKIP},
    }


# --- functions and their roles ----------------------------------------------------------------------

def _pepper_parameter(stage: str) -> str:
    return f"/vaxslot/{stage}/person-key-pepper"


def _policy(stage: str, fn: Function) -> list[dict]:
    log_group = _arn("logs", f"log-group:/aws/lambda/{function_name(stage, fn)}:*")
    statements = [
        {"Sid": "OwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": log_group},
    ]
    if fn.reads_pepper:
        statements.append({"Sid": "PepperParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                           "Resource": _arn("ssm", f"parameter{_pepper_parameter(stage)}")})
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
            _arn("ses", f"identity/{_mail_domain(stage)}"),
            _arn("ses", "configuration-set/${MailConfigurationSet}"),
        ]})
    return [{"PolicyName": f"{fn.slug}-least-privilege",
             "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]


def _role(stage: str, fn: Function) -> dict:
    return {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": _policy(stage, fn),
    }}


def _function(stage: str, knobs: StageKnobs, fn: Function) -> dict:
    k = knobs_of(knobs, fn)
    props: dict = {
        "FunctionName": function_name(stage, fn),
        "Timeout": k.timeout_s,
        "MemorySize": k.memory_mb,
        "Role": {"Fn::GetAtt": [fn.role, "Arn"]},
        "Environment": {"Variables": {PEPPER_PARAMETER_ENV: _pepper_parameter(stage)}},
    }
    concurrency = mail_worker_concurrency(knobs) if fn.logical_id == MAIL_WORKER else k.reserved_concurrency
    if concurrency:
        props["ReservedConcurrentExecutions"] = concurrency
    skips = [("CKV_AWS_117", "No VPC: the functions reach only DynamoDB, SQS, SES and SSM endpoints"),
             ("CKV_AWS_173", "The environment holds resource names only; the pepper comes from SSM SecureString")]
    if fn.subscribes:
        # Chalice builds the ARN from the name (same region, account and name as our topic); Fn::Sub on the topic's
        # Ref (its ARN) replaces it (the same key, so chalice's deep merge cannot mix the two) and orders the
        # subscription after the topic, which chalice's literal ARN does not.
        props["Events"] = {f"{fn.logical_id}SnsSubscription": {"Properties": {
            "Topic": _sub(f"${{{topic_id(fn.subscribes)}}}")}}}
        skips.append(("CKV_AWS_116", "SNS invokes it asynchronously and Lambda retries twice; an event lost after "
                                     "that recurs, since the next mail to the address bounces again. Failures "
                                     "alarm (mail-events-errors)"))
    elif fn.scheduled:
        skips.append(("CKV_AWS_116", "Scheduled, read only: a failed run is redone by the next hour's, and a "
                                     "missing result alarms (reconciliation-missing)"))
    elif fn.consumes:
        props["Events"] = {f"{fn.logical_id}SqsEventSource": {"Properties": {
            # Fn::Sub on the queue's Arn replaces chalice's name-built ARN and orders the mapping after the queue.
            "Queue": _sub(f"${{{queue_id(fn.consumes)}.Arn}}"),
            "BatchSize": k.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": max(2, concurrency)},
        }}}
        skips.append(("CKV_AWS_116", "SQS-triggered: failed messages go to the queue's own dead-letter queue"))
    if not concurrency:
        skips.append(("CKV_AWS_115", "API concurrency is bounded by the stage throttling, not by a reservation "
                                     "that would take capacity from the workers' pool"))
    if fn.logical_id == API_FUNCTION:
        skips.append(("CKV_AWS_116", "Invoked synchronously by API Gateway: there is no event to dead-letter"))
    return {"DependsOn": [f"{fn.logical_id}LogGroup"], "Properties": props, "Metadata": _skip(*skips)}


def _log_group(stage: str, knobs: StageKnobs, name: str) -> dict:
    return {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name,
                                                          "RetentionInDays": knobs.log_retention_days},
            "Metadata": _skip(("CKV_AWS_158", "CloudWatch Logs encrypts at rest; logs carry no personal data"),
                              ("CKV_AWS_338", "Retention is kept short on purpose (data minimisation); "
                                              "see log_retention_days in infra/aws/stages.py"))}


# --- API: throttling, gateway responses, WAF -------------------------------------------------------

def _error_template(code: str) -> str:
    return json.dumps(error_body(ApiError(0, code), "de"), ensure_ascii=False)


GATEWAY_RESPONSES = {  # API Gateway's own answers in the contract's error shape (mirrors infra/local/stack.py)
    "MISSING_AUTHENTICATION_TOKEN": (404, "unknown_route"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type"),
    "THROTTLED": (429, "too_many_requests"),
    "UNAUTHORIZED": (401, "unauthorized"),  # the Cognito authorizer refused the token (missing, expired, foreign)
    "ACCESS_DENIED": (403, "forbidden"),
    "DEFAULT_4XX": (None, "invalid_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def _gateway_responses() -> dict:
    responses = {}
    for kind, (status, code) in GATEWAY_RESPONSES.items():
        response = {
            "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
            "responseTemplates": {"application/json": _error_template(code)},
        }
        if status:
            response["statusCode"] = str(status)
        if kind == "THROTTLED":
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = "'1'"
        if kind == "DEFAULT_5XX":  # the contract: a 503 (e.g. a throttled Lambda) always says when to retry
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = "'5'"
        responses[kind] = response
    return responses


def _api(stage: str, knobs: StageKnobs) -> dict:
    return {"Properties": {
        "Name": f"vaxslot-{stage}",
        "TracingEnabled": True,
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                            "ThrottlingRateLimit": knobs.api_rate_limit_rps,
                            "ThrottlingBurstLimit": knobs.api_burst_limit}],
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}, "Format": json.dumps({
            "requestId": "$context.requestId", "method": "$context.httpMethod",
            "resource": "$context.resourcePath", "status": "$context.status", "latencyMs": "$context.responseLatency",
            "error": "$context.error.responseType", "waf": "$context.waf.status"})},
        "DefinitionBody": {
            "x-amazon-apigateway-gateway-responses": _gateway_responses(),
            "securityDefinitions": {STAFF_AUTHORIZER: {"x-amazon-apigateway-authorizer": {
                "providerARNs": [{"Fn::GetAtt": [STAFF_POOL, "Arn"]}]}}},
        },
    }, "Metadata": _skip(("CKV_AWS_120", "Answers are per citizen or change with every booking: not cacheable"))}


def _waf(stage: str, knobs: StageKnobs, api_stage_name: str) -> dict:
    def visibility(name: str) -> dict:
        return {"CloudWatchMetricsEnabled": True, "MetricName": name, "SampledRequestsEnabled": True}

    def rate_rule(name: str, priority: int, limit: int, scope: dict) -> dict:
        return {"Name": name, "Priority": priority,
                "Statement": {"RateBasedStatement": {"Limit": limit, "AggregateKeyType": "IP",
                                                     "ScopeDownStatement": scope}},
                "Action": {"Block": {"CustomResponse": {
                    "ResponseCode": 429, "CustomResponseBodyKey": "too_many_requests",
                    "ResponseHeaders": [{"Name": "Retry-After", "Value": "60"}]}}},
                "VisibilityConfig": visibility(name)}

    body = _error_template("too_many_requests")
    staff = _staff_paths(api_stage_name)
    return {
        "ApiWebAcl": {"Type": "AWS::WAFv2::WebACL", "Properties": {
            "Name": f"vaxslot-{stage}-api", "Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
            "VisibilityConfig": visibility(f"vaxslot-{stage}-api"),
            "CustomResponseBodies": {"too_many_requests": {"ContentType": "APPLICATION_JSON", "Content": body}},
            "Rules": [
                # Citizens: mobile carriers' NAT shares IPs, so the limit is high but per IP.
                rate_rule("RateLimitPerIp", 0, knobs.waf_requests_per_ip_per_5min,
                          {"NotStatement": {"Statement": staff}}),
                # Staff: a hotline call centre sends every agent's requests from one IP; each needs a Cognito token.
                rate_rule("StaffRateLimitPerIp", 1, knobs.waf_staff_requests_per_ip_per_5min, staff),
                {"Name": "KnownBadInputs", "Priority": 2, "OverrideAction": {"None": {}},
                 "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS",
                                                             "Name": "AWSManagedRulesKnownBadInputsRuleSet"}},
                 "VisibilityConfig": visibility("KnownBadInputs")},
            ],
        }, "Metadata": _skip(("CKV2_AWS_31", "WAF request logging is not set up yet (docs/operations.md)"))},
        "ApiWebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "DependsOn": [f"{API_RESOURCE}{api_stage_name}Stage"],  # SAM's stage resource
            "Properties": {"WebACLArn": {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}, "ResourceArn": _sub(
                f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{API_RESOURCE}}}"
                f"/stages/{api_stage_name}")},
        },
    }


def _staff_paths(api_stage_name: str) -> dict:
    """Requests to /v1/staff/…: WAF sees the stage in the path on the execute-api endpoint, not behind a domain."""
    def starts_with(prefix: str) -> dict:
        return {"ByteMatchStatement": {"SearchString": prefix, "FieldToMatch": {"UriPath": {}},
                                       "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                       "PositionalConstraint": "STARTS_WITH"}}

    return {"OrStatement": {"Statements": [starts_with(f"/{api_stage_name}{STAFF_PATH}"), starts_with(STAFF_PATH)]}}


# --- site -------------------------------------------------------------------------------------------

def _site(stage: str) -> dict:
    return {
        "SiteBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                       "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }, "Metadata": _skip(
            ("CKV_AWS_18", "Access is logged at CloudFront, the only reader; bucket access logging not set up yet"),
            ("CKV_AWS_145", "Public static site: SSE-S3 is enough and keeps CloudFront OAC free of KMS grants"),
            ("CKV_AWS_144", "Static site is rebuilt from git; cross-region replication is not worth it"))},
        "SiteBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "SiteBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "CloudFrontReadsSite", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                 "Action": "s3:GetObject", "Resource": _sub("${SiteBucket.Arn}/*"),
                 "Condition": {"StringEquals": {"AWS:SourceArn": _sub(
                     "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}")}}},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [_sub("${SiteBucket.Arn}"), _sub("${SiteBucket.Arn}/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]},
        }},
        "SiteOriginAccessControl": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
            "OriginAccessControlConfig": {"Name": f"vaxslot-{stage}-site", "OriginAccessControlOriginType": "s3",
                                          "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "SiteDistribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True, "Comment": f"vaxslot {stage} site", "DefaultRootObject": "index.html",
            "HttpVersion": "http2and3", "IPV6Enabled": True, "PriceClass": "PriceClass_100",
            "Origins": [{"Id": "site", "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                         "S3OriginConfig": {"OriginAccessIdentity": ""},
                         "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}}],
            "DefaultCacheBehavior": {
                "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
                "AllowedMethods": ["GET", "HEAD"],
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",  # managed CachingOptimized
                "ResponseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03",  # managed SecurityHeadersPolicy
            },
        }}, "Metadata": _skip(
            ("CKV_AWS_68", "A CLOUDFRONT-scope WebACL must live in us-east-1, outside this regional stack"),
            ("CKV_AWS_86", "CloudFront access logging not set up yet (docs/operations.md)"),
            ("CKV_AWS_174", "TLS 1.2 minimum needs the custom-domain certificate, not provisioned yet"),
            ("CKV_AWS_310", "Single S3 origin; static content, no failover origin"),
            ("CKV_AWS_374", "Geo restriction would lock out citizens abroad booking for relatives"))},
    }


# --- mail, staff, alarms ----------------------------------------------------------------------------

def _mail_domain(stage: str) -> str:
    return chalice_stage(stage)["environment_variables"]["MAIL_SENDER"].split("@", 1)[1]


def _kms_key() -> dict:
    # Publishers that are AWS services need the key to encrypt (SES: mail events, CloudWatch: alarms). SNS
    # decrypts before it invokes a Lambda subscriber, so mail_events needs no grant here (an SQS subscriber
    # would: its queue's key must let sns.amazonaws.com in).
    return {"NotificationsKey": {"Type": "AWS::KMS::Key", "Properties": {
        "Description": "vaxslot SNS topics (alarms, mail events)", "EnableKeyRotation": True,
        "KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdmin", "Effect": "Allow",
             "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "PublishersEncrypt", "Effect": "Allow",
             "Principal": {"Service": ["cloudwatch.amazonaws.com", "ses.amazonaws.com"]},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
        ]},
    }}}


def _topic(name: str) -> dict:
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name,
                                                      "KmsMasterKeyId": {"Ref": "NotificationsKey"}}}


def _mail(stage: str) -> dict:
    topic = topic_id(MAIL_EVENTS_TOPIC)
    return {
        "MailConfigurationSet": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": f"vaxslot-{stage}"}},
        # Its name comes from infra/resources.py, as app.py's on_sns_message(topic=MAIL_EVENTS_TOPIC_NAME) does.
        topic: _topic(MAIL_EVENTS_TOPIC.name(stage)),
        f"{topic}Policy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": topic}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "SesPublishesMailEvents",
                "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sns:Publish",
                "Resource": {"Ref": topic},
                "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
        }},
        "MailBounceComplaintEvents": {"Type": "AWS::SES::ConfigurationSetEventDestination", "Properties": {
            "ConfigurationSetName": {"Ref": "MailConfigurationSet"},
            "EventDestination": {"Name": "bounces-and-complaints", "Enabled": True,
                                 "MatchingEventTypes": ["bounce", "complaint", "reject"],
                                 "SnsDestination": {"TopicARN": {"Ref": topic}}},
        }},
        # The configuration set is the identity's default, so the app's SendRawEmail needs no change to use it.
        "MailIdentity": {"Type": "AWS::SES::EmailIdentity", "Properties": {
            "EmailIdentity": _mail_domain(stage),
            "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "MailConfigurationSet"}},
            "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
        }},
    }


def _staff(stage: str) -> dict:
    resources = {STAFF_POOL: {"Type": "AWS::Cognito::UserPool", "Properties": {
        "UserPoolName": f"vaxslot-{stage}-staff",
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "MfaConfiguration": "ON", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
        "UsernameAttributes": ["email"], "AutoVerifiedAttributes": ["email"],
        "Policies": {"PasswordPolicy": {"MinimumLength": 14, "RequireLowercase": True, "RequireUppercase": True,
                                        "RequireNumbers": True, "RequireSymbols": False,
                                        "TemporaryPasswordValidityDays": 3}},
        "DeletionProtection": "ACTIVE",
    }}}
    # The client staff sign in with: SRP for a staff UI, ADMIN_USER_PASSWORD_AUTH for the runbook's admin CLI
    # (docs/operations.md). No secret, so the CLI needs no SECRET_HASH; ID tokens (what the API takes) live 1 h.
    resources["StaffUserPoolClient"] = {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
        "UserPoolId": {"Ref": STAFF_POOL}, "ClientName": f"vaxslot-{stage}-staff",
        "GenerateSecret": False, "PreventUserExistenceErrors": "ENABLED", "EnableTokenRevocation": True,
        "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        "IdTokenValidity": 60, "AccessTokenValidity": 60, "RefreshTokenValidity": 12,
        "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
    }}
    for group, description in (("hotline", "Hotline agents: book and cancel for callers"),
                               ("ops", "Operations: open cohorts, release contingents")):
        resources[f"Staff{group.capitalize()}Group"] = {"Type": "AWS::Cognito::UserPoolGroup", "Properties": {
            "GroupName": group, "Description": description, "UserPoolId": {"Ref": "StaffUserPool"}}}
    return resources


def _alarm(name: str, description: str, namespace: str, metric: str, dimensions: dict, threshold: float,
           statistic: str = "Sum", comparison: str = "GreaterThanThreshold", periods: int = 1, period_s: int = 60,
           missing: str = "notBreaching") -> dict:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": name, "AlarmDescription": description, "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Statistic": statistic, "Period": period_s, "EvaluationPeriods": periods, "Threshold": threshold,
        "ComparisonOperator": comparison, "TreatMissingData": missing,
        "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
    }}


def _alarms(stage: str, knobs: StageKnobs, api_stage_name: str) -> dict:
    a = knobs.alarms
    resources = {"AlarmTopic": _topic(f"vaxslot-{stage}-alarms")}
    for q in QUEUES:
        resources[f"{dlq_id(q)}NotEmptyAlarm"] = _alarm(
            f"vaxslot-{stage}-{q.logical_id.lower()}-dlq-not-empty",
            f"Messages in {q.dlq_name(stage)}: see docs/operations.md 'DLQ not empty'", "AWS/SQS",
            "ApproximateNumberOfMessagesVisible", {"QueueName": q.dlq_name(stage)}, 0, statistic="Maximum")
    resources["BookingBacklogAgeAlarm"] = _alarm(
        f"vaxslot-{stage}-booking-backlog-age", "Booking requests wait too long: see docs/operations.md",
        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": BOOKING_QUEUE.name(stage)},
        a.booking_backlog_age_s, statistic="Maximum", periods=3)
    for fn in FUNCTIONS:
        if not fn.consumes:
            continue
        name = function_name(stage, fn)
        resources[f"{fn.logical_id}ErrorsAlarm"] = _alarm(
            f"{name}-errors", f"{name} fails: see docs/operations.md 'Worker errors'", "AWS/Lambda", "Errors",
            {"FunctionName": name}, a.worker_errors_per_minute)
        resources[f"{fn.logical_id}ThrottlesAlarm"] = _alarm(
            f"{name}-throttles", f"{name} throttled: see docs/operations.md 'Worker throttles'", "AWS/Lambda",
            "Throttles", {"FunctionName": name}, a.worker_throttles_per_minute)
    mail_events = function_name(stage, function_of(MAIL_EVENTS))
    resources[f"{MAIL_EVENTS}ErrorsAlarm"] = _alarm(
        f"{mail_events}-errors", f"{mail_events} fails: bounces and complaints are not recorded: see "
        "docs/operations.md 'Mail events errors'", "AWS/Lambda", "Errors", {"FunctionName": mail_events},
        a.worker_errors_per_minute)
    resources.update(_reconciliation_alarms(stage, knobs))
    resources["Api5xxAlarm"] = _alarm(
        f"vaxslot-{stage}-api-5xx", "API answers 5xx: see docs/operations.md 'API 5xx'", "AWS/ApiGateway",
        "5XXError", {"ApiName": f"vaxslot-{stage}", "Stage": api_stage_name}, a.api_5xx_per_minute)
    resources["LaunchDashboard"] = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": f"vaxslot-{stage}-launch", "DashboardBody": _sub(_dashboard(stage, api_stage_name))}}
    return resources


# The EMF metrics of app.py's reconcile (powertools Metrics: namespace and `service` dimension from observability.py).
BUSINESS_NAMESPACE, BUSINESS_DIMENSIONS = "vaxslot", {"service": "vaxslot"}
RECONCILIATION_METRICS = ("ReconciliationDrift", "SecondDoseShortfall")
HOUR_S = 3600


def _reconciliation_alarms(stage: str, knobs: StageKnobs) -> dict:
    """Each run puts one datapoint per metric, hourly. `ignore`: an hour without a run neither raises nor
    clears a drift alarm (a missing run is not drift, nor proof that the drift is gone); the missing runs have
    their alarm of their own, on the datapoints' count, where missing data breaches."""
    resources = {}
    for metric, slug in zip(RECONCILIATION_METRICS, ("reconciliation-drift", "second-dose-shortfall")):
        resources[f"{metric}Alarm"] = _alarm(
            f"vaxslot-{stage}-{slug}", f"{metric} > 0 in the last reconciliation: see docs/operations.md '{slug}'",
            BUSINESS_NAMESPACE, metric, BUSINESS_DIMENSIONS, 0, statistic="Maximum", period_s=HOUR_S,
            missing="ignore")
    hours = knobs.alarms.reconciliation_missing_h
    resources["ReconciliationMissingAlarm"] = _alarm(
        f"vaxslot-{stage}-reconciliation-missing",
        f"No reconciliation result for {hours} hours (reconcile not run, failed or timed out): see "
        "docs/operations.md 'reconciliation-missing'", BUSINESS_NAMESPACE, RECONCILIATION_METRICS[0],
        BUSINESS_DIMENSIONS, 1, statistic="SampleCount", comparison="LessThanThreshold", periods=hours,
        period_s=HOUR_S, missing="breaching")
    return resources


def _dashboard(stage: str, api_stage_name: str) -> str:
    api = {"ApiName": f"vaxslot-{stage}", "Stage": api_stage_name}
    workers = [function_name(stage, f) for f in FUNCTIONS if f.consumes]

    def widget(title: str, metrics: list, stat: str = "Sum", period: int = 60) -> dict:
        return {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": title, "region": "${AWS::Region}", "stat": stat, "period": period, "view": "timeSeries",
            "metrics": metrics}}

    def m(namespace: str, metric: str, dims: dict) -> list:
        return [namespace, metric] + [x for k, v in dims.items() for x in (k, v)]

    widgets = [
        widget("API requests, 4xx, 5xx", [m("AWS/ApiGateway", n, api) for n in ("Count", "4XXError", "5XXError")]),
        widget("API latency p99 (ms)", [m("AWS/ApiGateway", "Latency", api)], stat="p99"),
        widget("Booking queue: waiting, oldest (s)", [
            m("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": BOOKING_QUEUE.name(stage)}),
            m("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": BOOKING_QUEUE.name(stage)})], stat="Maximum"),
        widget("Dead-letter queues", [
            m("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": q.dlq_name(stage)}) for q in QUEUES],
            stat="Maximum"),
        widget("Workers: invocations, errors, throttles", [
            m("AWS/Lambda", n, {"FunctionName": w}) for w in workers for n in ("Invocations", "Errors", "Throttles")]),
        widget("Workers: concurrency", [m("AWS/Lambda", "ConcurrentExecutions", {"FunctionName": w}) for w in workers],
               stat="Maximum"),
        widget("Bookings (business metrics)", [
            m("vaxslot", n, {"service": "vaxslot"}) for n in
            ("BookingRequestAccepted", "BookingRequestConfirmed", "BookingRequestRejected", "MailSent")]),
        widget("DynamoDB throttles", [m("AWS/DynamoDB", n, {"TableName": t.name(stage)})
                                      for t in TABLES for n in ("ReadThrottleEvents", "WriteThrottleEvents")]),
        widget("Reconciliation: slot drift, second-dose shortfall (max per hour)", [
            m(BUSINESS_NAMESPACE, n, BUSINESS_DIMENSIONS) for n in RECONCILIATION_METRICS],
            stat="Maximum", period=HOUR_S),
        widget("Mail events, reconcile: invocations, errors; mails not sent to suppressed addresses", [
            m("AWS/Lambda", n, {"FunctionName": function_name(stage, function_of(f))})
            for f in (MAIL_EVENTS, RECONCILE) for n in ("Invocations", "Errors")]
            + [m(BUSINESS_NAMESPACE, "MailSuppressed", BUSINESS_DIMENSIONS)], period=HOUR_S),
    ]
    return json.dumps({"widgets": widgets})


# --- the whole merge template -------------------------------------------------------------------------

def merge_template(stage: str, knobs: StageKnobs | None = None) -> dict:
    """The merge template for `stage`, with the knobs of infra/aws/stages.py unless others are given."""
    knobs = knobs or STAGES[stage]
    api_stage_name = chalice_stage(stage).get("api_gateway_stage", "api")
    timeouts = {fn.consumes.logical_id: knobs_of(knobs, fn).timeout_s for fn in FUNCTIONS if fn.consumes}
    resources: dict = {}
    for t in TABLES:
        resources[table_id(t)] = _table(t, stage, knobs)
    for q in QUEUES:
        if q.logical_id not in timeouts:
            raise ValueError(f"queue {q.logical_id} has no consuming function in infra/aws/template.py FUNCTIONS")
        resources.update(_queues(q, stage, timeouts[q.logical_id]))
    for fn in FUNCTIONS:
        resources[fn.logical_id] = _function(stage, knobs, fn)
        resources[f"{fn.logical_id}LogGroup"] = _log_group(stage, knobs, f"/aws/lambda/{function_name(stage, fn)}")
        if fn.role == "DefaultRole":
            resources["DefaultRole"] = {"Properties": {"Policies": _policy(stage, fn)}}
        else:
            resources[fn.role] = _role(stage, fn)
    resources[API_RESOURCE] = _api(stage, knobs)
    resources["ApiAccessLogGroup"] = _log_group(stage, knobs, f"/aws/apigateway/vaxslot-{stage}-access")
    resources.update(_waf(stage, knobs, api_stage_name))
    resources.update(_site(stage))
    resources.update(_kms_key())
    resources.update(_mail(stage))
    resources.update(_staff(stage))
    resources.update(_alarms(stage, knobs, api_stage_name))
    outputs = {
        "StaffUserPoolId": {"Value": {"Ref": "StaffUserPool"}},
        "StaffUserPoolArn": {"Value": {"Fn::GetAtt": [STAFF_POOL, "Arn"]}},
        "StaffUserPoolClientId": {"Value": {"Ref": "StaffUserPoolClient"}},
        "StaffHotlineGroup": {"Value": {"Ref": "StaffHotlineGroup"}},
        "StaffOpsGroup": {"Value": {"Ref": "StaffOpsGroup"}},
        "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
        "SiteDistributionId": {"Value": {"Ref": "SiteDistribution"}},
        "SiteUrl": {"Value": _sub("https://${SiteDistribution.DomainName}/")},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        "MailEventsTopicArn": {"Value": {"Ref": topic_id(MAIL_EVENTS_TOPIC)}},
        "LaunchDashboard": {"Value": {"Ref": "LaunchDashboard"}},
    }
    return {"Resources": resources, "Outputs": outputs}
