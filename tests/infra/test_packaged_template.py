"""What `make package STAGE=prod` must hand to CloudFormation, checked on chalice's real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.aws import template as t
from infra.aws.chalice_config import lambda_settings, load_config
from infra.aws.package import checkov
from infra.aws.stages import STAGES, mail_worker_concurrency
from infra.resources import BOOKING_TABLE, MAIL_EVENTS_TOPIC, QUEUES, TABLES, environment

STAGE = "prod"
KNOBS = STAGES[STAGE]


def of_type(resources: dict, kind: str) -> dict:
    return {rid: r for rid, r in resources.items() if r["Type"] == kind}


def sqs_events(resources: dict):
    for rid, fn in of_type(resources, "AWS::Serverless::Function").items():
        for name, event in (fn["Properties"].get("Events") or {}).items():
            if event["Type"] == "SQS":
                yield rid, name, event["Properties"]


def queue_of(event_props: dict) -> str:
    """The queue's logical id, from `Fn::Sub: ${XQueue.Arn}`."""
    ref = event_props["Queue"]["Fn::Sub"]
    assert ref.startswith("${") and ref.endswith(".Arn}"), f"event source not wired to a queue of the template: {ref}"
    return ref[2:-5]


def statements(resources: dict):
    for rid, role in of_type(resources, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for s in policy["PolicyDocument"]["Statement"]:
                yield rid, s


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_of(resources: dict, function_id: str) -> str:
    return resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]


def granted(resources: dict, function_id: str) -> dict[str, set[str]]:
    """action -> logical ids of the resources it is granted on (literal ARNs kept as text)."""
    grants: dict[str, set[str]] = {}
    role = role_of(resources, function_id)
    for rid, s in statements(resources):
        if rid != role:
            continue
        targets = {
            r["Fn::GetAtt"][0] if isinstance(r, dict) and "Fn::GetAtt" in r else json.dumps(r)
            for r in as_list(s["Resource"])
        }
        for action in as_list(s["Action"]):
            grants.setdefault(action, set()).update(targets)
    return grants


# --- queues and their consumers ------------------------------------------------------------------


def test_every_sqs_event_source_reports_batch_item_failures(resources):
    events = list(sqs_events(resources))
    assert {rid for rid, _, _ in events} == {t.BOOKING_WORKER, t.BOOKING_DEAD_LETTERS, t.MAIL_WORKER}
    for rid, name, props in events:
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"{rid}.{name}"


def test_every_sqs_event_source_reads_its_queue_of_this_template(resources):
    wired = {rid: queue_of(props) for rid, _, props in sqs_events(resources)}
    assert wired == {
        t.BOOKING_WORKER: t.queue_id(t.BOOKING_QUEUE),
        t.MAIL_WORKER: t.queue_id(t.NOTIFY_QUEUE),
        t.BOOKING_DEAD_LETTERS: t.dlq_id(t.BOOKING_QUEUE),
    }
    assert "vaxslot-local" not in json.dumps(resources)


def test_every_queue_has_a_dead_letter_queue_with_the_specified_receive_count(resources):
    for spec in QUEUES:
        queue = resources[t.queue_id(spec)]["Properties"]
        assert queue["QueueName"] == spec.name(STAGE)
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [t.dlq_id(spec), "Arn"]},
            "maxReceiveCount": spec.max_receive_count,
        }
        assert resources[t.dlq_id(spec)]["Properties"]["QueueName"] == spec.dlq_name(STAGE)


def test_every_queue_stays_invisible_at_least_six_times_its_consumers_timeout(resources):
    for rid, _, props in sqs_events(resources):
        visibility = resources[queue_of(props)]["Properties"]["VisibilityTimeout"]
        assert visibility >= 6 * resources[rid]["Properties"]["Timeout"], rid


def test_every_queue_and_dead_letter_queue_is_encrypted(resources):
    for rid, queue in of_type(resources, "AWS::SQS::Queue").items():
        assert queue["Properties"].get("SqsManagedSseEnabled") or queue["Properties"].get("KmsMasterKeyId"), rid
    assert len(of_type(resources, "AWS::SQS::Queue")) == 2 * len(QUEUES)


def with_function_setting(function: str, **settings) -> dict:
    """.chalice/config.json with `settings` for `function` in the stage's lambda_functions."""
    config = load_config()
    config["stages"][STAGE]["lambda_functions"][function].update(settings)
    return config


def test_a_function_timeout_above_a_sixth_of_its_queues_visibility_stops_the_generation():
    slow = with_function_setting("booking_worker", lambda_timeout=t.BOOKING_QUEUE.visibility_timeout_s // 6 + 1)
    with pytest.raises(ValueError, match="visibility timeout"):
        t.merge_template(STAGE, config=slow)


# --- tables ----------------------------------------------------------------------------------------


def test_every_table_has_recovery_encryption_ttl_and_on_demand_billing(resources):
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert set(tables) == {t.table_id(spec) for spec in TABLES}
    for spec in TABLES:
        props = tables[t.table_id(spec)]["Properties"]
        assert props["TableName"] == spec.name(STAGE)
        assert props["KeySchema"] == spec.create_table_kwargs(STAGE)["KeySchema"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        assert tables[t.table_id(spec)]["DeletionPolicy"] == "Retain"
        assert props.get("GlobalSecondaryIndexes") == spec.create_table_kwargs(STAGE).get("GlobalSecondaryIndexes")
        assert props["AttributeDefinitions"] == spec.create_table_kwargs(STAGE)["AttributeDefinitions"]


def test_a_stage_without_indexes_gets_them_one_deploy_at_a_time(monkeypatch):
    from infra.aws.template.data import INDEXES_AT_MOST_ENV

    monkeypatch.setenv(INDEXES_AT_MOST_ENV, "1")
    [first] = t.merge_template(STAGE)["Resources"][t.table_id(BOOKING_TABLE)]["Properties"]["GlobalSecondaryIndexes"]
    assert first["IndexName"] == BOOKING_TABLE.indexes[0].name


def test_the_bookings_tables_indexes_are_the_ones_the_day_list_queries_and_only_the_api_may_query_them(resources):
    from chalicelib.booking.storage.models import BookingItem

    props = of_type(resources, "AWS::DynamoDB::Table")[t.table_id(BOOKING_TABLE)]["Properties"]
    schema = BookingItem._get_schema()["global_secondary_indexes"]
    assert [(i["IndexName"], i["KeySchema"], i["Projection"]) for i in props["GlobalSecondaryIndexes"]] == [
        (i["index_name"], i["key_schema"], i["projection"]) for i in schema
    ]
    on_indexes = {
        rid: s for rid, s in statements(resources) if "/index/" in json.dumps(s["Resource"]) and s["Effect"] == "Allow"
    }
    assert set(on_indexes) == {role_of(resources, t.API_FUNCTION)}
    [statement] = on_indexes.values()
    assert as_list(statement["Action"]) == ["dynamodb:Query"]
    assert [r["Fn::Sub"].rsplit("/", 1)[1] for r in as_list(statement["Resource"])] == [
        i.name for i in BOOKING_TABLE.indexes
    ]


def test_the_stage_config_names_exactly_the_resources_the_template_creates():
    stage_env = t.chalice_stage(STAGE)["environment_variables"]
    assert {k: stage_env.get(k) for k in environment(STAGE)} == environment(STAGE)


# --- least privilege -------------------------------------------------------------------------------


def test_no_role_grants_wildcard_actions_or_resources(resources):
    for rid, s in statements(resources):
        assert not any("*" in a for a in as_list(s["Action"])), (rid, s["Action"])
        assert "*" not in as_list(s["Resource"]), (rid, s)


def test_every_function_of_app_py_is_one_the_template_knows(resources):
    assert set(of_type(resources, "AWS::Serverless::Function")) == {fn.logical_id for fn in t.FUNCTIONS}


def test_every_function_has_a_role_of_its_own(resources):
    roles = [role_of(resources, fn) for fn in of_type(resources, "AWS::Serverless::Function")]
    assert len(roles) == len(set(roles)) == len(t.FUNCTIONS) == 6


def test_the_api_may_use_both_tables_and_only_send_to_the_queues(resources):
    grants = granted(resources, t.API_FUNCTION)
    assert grants["dynamodb:PutItem"] == {"BookingsTable", "IdempotencyTable"}
    assert grants["sqs:SendMessage"] == {"BookingRequestsQueue", "MailQueue"}
    assert "sqs:ReceiveMessage" not in grants and "ses:SendRawEmail" not in grants


@pytest.mark.parametrize(
    "function, queue",
    [("BookingWorker", "BookingRequestsQueue"), ("BookingDeadLetters", "BookingRequestsDeadLetterQueue")],
)
def test_the_booking_workers_may_use_the_bookings_table_consume_their_queue_send_mail_and_queue_it(
    resources, function, queue
):
    grants = granted(resources, function)
    assert grants["dynamodb:UpdateItem"] == {"BookingsTable"}
    assert grants["sqs:ReceiveMessage"] == grants["sqs:DeleteMessage"] == {queue}
    assert grants["sqs:SendMessage"] == {"MailQueue"}  # a mail that could not be sent at once is queued
    assert "ses:SendRawEmail" in grants


def test_the_mail_worker_may_send_mail_claim_its_marker_and_consume_the_mail_queue(resources):
    grants = granted(resources, t.MAIL_WORKER)
    assert "IdempotencyTable" not in json.dumps({a: sorted(v) for a, v in grants.items()})
    # Markers, the suppression list and the daily mail counters live in the bookings table: a marker is checked
    # and claimed in one transaction, a counter counted with UpdateItem.
    assert {a for a, targets in grants.items() if "BookingsTable" in targets} == {
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }
    # The mail cap keys its counters with the pepper, and the suppression list its items.
    assert grants["secretsmanager:GetSecretValue"] == {json.dumps({"Ref": t.PEPPER_SECRET})}
    assert grants["sqs:ReceiveMessage"] == {"MailQueue"}
    assert "sqs:SendMessage" not in grants
    assert "ses:SendRawEmail" in grants


LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}


@pytest.mark.parametrize(
    "function_id, table_actions, reads_pepper",
    [
        (t.MAIL_EVENTS, {"dynamodb:PutItem"}, True),  # record a suppression, keyed with the pepper
        (t.RECONCILE, {"dynamodb:Scan", "dynamodb:Query", "dynamodb:GetItem"}, False),  # read only
    ],
)
def test_the_mail_events_and_reconcile_roles_grant_only_their_named_actions(
    resources, function_id, table_actions, reads_pepper
):
    grants = granted(resources, function_id)
    pepper = {"secretsmanager:GetSecretValue"} if reads_pepper else set()
    assert set(grants) == table_actions | LOGS | pepper, grants  # no queue, no SES
    for action in table_actions:
        assert grants[action] == {"BookingsTable"}, action
    log_group = f"log-group:/aws/lambda/{t.function_name(STAGE, t.function_of(function_id))}:*"
    for action in LOGS:
        (target,) = grants[action]
        assert target.endswith(f'{log_group}"}}'), target
    role = role_of(resources, function_id)
    own = [s for rid, s in statements(resources) if rid == role]
    assert all(s["Effect"] == "Allow" and not any("*" in a for a in as_list(s["Action"])) for s in own)
    assert "*" not in json.dumps([s["Resource"] for s in own if s["Sid"] != "OwnLogs"])


# --- mail events and reconciliation ----------------------------------------------------------------


def test_the_mail_events_function_is_subscribed_to_the_topic_of_infra_resources(resources):
    function = resources[t.MAIL_EVENTS]["Properties"]
    topic_id = t.topic_id(MAIL_EVENTS_TOPIC)
    assert function["Events"] == {
        t.MAIL_EVENTS_SUBSCRIPTION: {"Type": "SNS", "Properties": {"Topic": {"Fn::Sub": f"${{{topic_id}}}"}}}
    }  # Ref of a topic: its ARN
    assert resources[topic_id]["Type"] == "AWS::SNS::Topic"
    assert resources[topic_id]["Properties"]["TopicName"] == MAIL_EVENTS_TOPIC.name(STAGE)
    # app.py subscribes by the name in its environment: the same name.
    assert function["Environment"]["Variables"][MAIL_EVENTS_TOPIC.env_var] == MAIL_EVENTS_TOPIC.name(STAGE)
    sns_events = [
        (rid, name)
        for rid, fn in of_type(resources, "AWS::Serverless::Function").items()
        for name, e in (fn["Properties"].get("Events") or {}).items()
        if e["Type"] == "SNS"
    ]
    assert sns_events == [(t.MAIL_EVENTS, t.MAIL_EVENTS_SUBSCRIPTION)]


def test_ses_publishes_bounces_and_complaints_to_that_topic_and_may_use_its_key(resources):
    topic_id = t.topic_id(MAIL_EVENTS_TOPIC)
    destination = resources["MailBounceComplaintEvents"]["Properties"]["EventDestination"]
    assert destination["SnsDestination"] == {"TopicARN": {"Ref": topic_id}}
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    (publish,) = resources[f"{topic_id}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (publish["Principal"], publish["Action"]) == ({"Service": "ses.amazonaws.com"}, "sns:Publish")
    key_id = resources[topic_id]["Properties"]["KmsMasterKeyId"]["Ref"]
    key_statements = resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    ses = [s for s in key_statements if "ses.amazonaws.com" in as_list(s["Principal"].get("Service", []))]
    assert ses and {"kms:GenerateDataKey*", "kms:Decrypt"} <= {a for s in ses for a in as_list(s["Action"])}


def test_reconcile_runs_on_chalices_hourly_schedule(resources):
    assert resources[t.RECONCILE]["Properties"]["Events"] == {
        t.RECONCILE_SCHEDULE: {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)"}}
    }


def test_the_reconciliation_metrics_have_alarms_and_a_missing_run_alarms_too(resources):
    app_source = (Path(t.ROOT) / "app.py").read_text()
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
    }
    for metric, name in (
        ("ReconciliationDrift", "reconciliation-drift"),
        ("SecondDoseShortfall", "second-dose-shortfall"),
    ):
        assert f'measure("{metric}"' in app_source, metric  # the metric app.py emits
        alarm = alarms[f"vaxslot-{STAGE}-{name}"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("vaxslot", metric)
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "vaxslot"}]
        assert (alarm["Statistic"], alarm["Period"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "Maximum",
            3600,
            "GreaterThanThreshold",
            0,
        )
        assert alarm["TreatMissingData"] == "ignore"
    missing = alarms[f"vaxslot-{STAGE}-reconciliation-missing"]
    assert (missing["MetricName"], missing["Statistic"], missing["ComparisonOperator"], missing["Threshold"]) == (
        "ReconciliationDrift",
        "SampleCount",
        "LessThanThreshold",
        1,
    )
    assert missing["TreatMissingData"] == "breaching"
    assert missing["Period"] * missing["EvaluationPeriods"] == 2 * 3600
    mail_events = alarms[f"{t.function_name(STAGE, t.function_of(t.MAIL_EVENTS))}-errors"]
    assert (mail_events["Namespace"], mail_events["MetricName"]) == ("AWS/Lambda", "Errors")
    dashboard = resources["LaunchDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = {m[1] for w in json.loads(dashboard)["widgets"] for m in w["properties"]["metrics"]}
    assert {"ReconciliationDrift", "SecondDoseShortfall", "MailSuppressed"} <= shown


# --- capacity knobs --------------------------------------------------------------------------------


def test_every_queue_worker_polls_with_no_more_concurrency_than_it_has_reserved(resources):
    for fn in (t.BOOKING_WORKER, t.MAIL_WORKER):
        worker = resources[fn]["Properties"]
        assert worker["ReservedConcurrentExecutions"] > 0, fn
        event = worker["Events"][f"{fn}SqsEventSource"]["Properties"]
        assert 2 <= event["ScalingConfig"]["MaximumConcurrency"] <= worker["ReservedConcurrentExecutions"], fn


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_has_its_memory_timeout_and_concurrency_in_the_stages_chalice_config(stage):
    # Explicit per function, so chalice's top-level defaults (meant for the local stage) never reach AWS.
    functions = load_config()["stages"][stage]["lambda_functions"]
    assert set(functions) == {fn.chalice_name for fn in t.FUNCTIONS}
    for name, settings in functions.items():
        assert {"lambda_memory_size", "lambda_timeout"} <= set(settings), name


def test_the_packaged_functions_have_the_memory_timeout_concurrency_and_tracing_of_the_chalice_config(resources):
    for fn in t.FUNCTIONS:
        props, settings = resources[fn.logical_id]["Properties"], lambda_settings(STAGE, fn.chalice_name)
        assert (props["MemorySize"], props["Timeout"], props.get("ReservedConcurrentExecutions")) == (
            settings.memory_mb,
            settings.timeout_s,
            settings.reserved_concurrency,
        ), fn.logical_id
        assert props["Tracing"] == ("Active" if settings.xray else "PassThrough"), fn.logical_id
    reserved = lambda_settings(STAGE, "booking_worker").reserved_concurrency
    assert reserved is not None
    assert resources[t.BOOKING_WORKER]["Properties"]["ReservedConcurrentExecutions"] == reserved > 0


def test_a_mail_worker_concurrency_above_the_ses_quota_stops_the_generation():
    reserved = lambda_settings(STAGE, "mail_worker").reserved_concurrency
    assert reserved is not None and reserved <= mail_worker_concurrency(KNOBS)
    greedy = with_function_setting("mail_worker", reserved_concurrency=mail_worker_concurrency(KNOBS) + 1)
    with pytest.raises(ValueError, match="SES quota"):
        t.merge_template(STAGE, config=greedy)


def test_the_api_stage_is_throttled(resources):
    (setting,) = resources[t.API_RESOURCE]["Properties"]["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == KNOBS.api_rate_limit_rps
    assert setting["ThrottlingBurstLimit"] == KNOBS.api_burst_limit


def test_the_waf_rate_rules_guard_the_api_stage_with_the_staff_paths_limited_apart(resources):
    acl = resources["ApiWebAcl"]["Properties"]
    rates = {
        r["Name"]: r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]
    }
    assert set(rates) == {"RateLimitPerIp", "StaffRateLimitPerIp"}
    public, staff = rates["RateLimitPerIp"], rates["StaffRateLimitPerIp"]
    assert public["Limit"] == KNOBS.waf_requests_per_ip_per_5min
    assert staff["Limit"] == KNOBS.waf_staff_requests_per_ip_per_5min > public["Limit"]
    # Citizens are counted per IP unless they are staff or the request is a CDN fetch (docs/capacity.md).
    not_staff, not_edge = public["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert not_staff == {"NotStatement": {"Statement": staff["ScopeDownStatement"]}}
    assert "x-vaxslot-edge" in json.dumps(not_edge["NotStatement"])
    matches = [s["ByteMatchStatement"] for s in staff["ScopeDownStatement"]["OrStatement"]["Statements"]]
    prefixes = {m["SearchString"] for m in matches if m["PositionalConstraint"] == "STARTS_WITH"}
    assert prefixes == {"/api/v1/staff/", "/v1/staff/"}
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    association = resources["ApiWebAclAssociation"]
    assert association["DependsOn"] == ["RestAPIapiStage"]
    assert "/stages/api" in association["Properties"]["ResourceArn"]["Fn::Sub"]


# --- errors, edge, staff, alarms -----------------------------------------------------------------


def test_unknown_routes_answer_a_json_404_in_the_contract_error_shape(resources):
    responses = resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"])["error"]["code"] == "unknown_route"
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"):
        body = json.loads(responses[kind]["responseTemplates"]["application/json"])
        assert set(body["error"]) == {"code", "message"}, kind


def test_throttling_and_server_errors_of_the_gateway_say_when_to_retry(resources):
    responses = resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert responses["THROTTLED"]["statusCode"] == "429"
    for kind in ("THROTTLED", "DEFAULT_5XX"):
        assert responses[kind]["responseParameters"]["gatewayresponse.header.Retry-After"].strip("'").isdigit(), kind


def test_a_refused_staff_token_or_role_answers_in_the_contract_error_shape(resources):
    responses = resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    for kind, status, code in (("UNAUTHORIZED", "401", "unauthorized"), ("ACCESS_DENIED", "403", "forbidden")):
        response = responses[kind]
        assert response["statusCode"] == status, kind
        body = json.loads(response["responseTemplates"]["application/json"])
        assert body["error"]["code"] == code and body["error"]["message"], kind
        assert response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"


def _methods(resources: dict):
    for path, item in resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_staff_method_has_the_cognito_authorizer_of_the_stacks_own_user_pool(resources):
    definition = resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]
    authorizer = definition["securityDefinitions"][t.STAFF_AUTHORIZER]
    assert (authorizer["type"], authorizer["in"], authorizer["name"]) == ("apiKey", "header", "Authorization")
    assert authorizer["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert authorizer["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": [{"Fn::GetAtt": [t.STAFF_POOL, "Arn"]}],
    }
    assert resources[t.STAFF_POOL]["Type"] == "AWS::Cognito::UserPool"
    staff = [
        (path, method)
        for path, method, _ in _methods(resources)
        if path.startswith(t.STAFF_PATH) and method != "options"
    ]
    # The spec's staff paths: tests/e2e/test_openapi_contract.py checks them against the app's routes.
    spec = yaml.safe_load((Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert {p for p, _ in staff} == {p for p in spec["paths"] if p.startswith(t.STAFF_PATH)}
    for path, method, operation in _methods(resources):
        if (path, method) in staff:
            assert operation.get("security") == [{t.STAFF_AUTHORIZER: []}], f"{method} {path}"


def test_no_public_route_and_no_preflight_has_an_authorizer(resources):
    for path, method, operation in _methods(resources):
        if not path.startswith(t.STAFF_PATH) or method == "options":
            assert "security" not in operation, f"{method} {path}"
    assert len(resources[t.API_RESOURCE]["Properties"]["DefinitionBody"]["securityDefinitions"]) == 1


def test_staff_can_sign_in_with_a_client_of_the_pool_and_the_outputs_name_it(template, resources):
    client = resources["StaffUserPoolClient"]["Properties"]
    assert client["UserPoolId"] == {"Ref": t.STAFF_POOL} and client["GenerateSecret"] is False
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert not {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH"} & set(client["ExplicitAuthFlows"])
    assert template["Outputs"]["StaffUserPoolArn"]["Value"] == {"Fn::GetAtt": [t.STAFF_POOL, "Arn"]}
    assert template["Outputs"]["StaffUserPoolClientId"]["Value"] == {"Ref": "StaffUserPoolClient"}


def test_the_dev_stage_points_the_authorizer_at_its_own_pool_too():
    definition = t.merge_template("dev")["Resources"][t.API_RESOURCE]["Properties"]["DefinitionBody"]
    assert definition["securityDefinitions"][t.STAFF_AUTHORIZER]["x-amazon-apigateway-authorizer"]["providerARNs"] == [
        {"Fn::GetAtt": [t.STAFF_POOL, "Arn"]}
    ]


def test_the_packaging_check_catches_an_authorizer_the_merge_missed():
    from infra.aws.package import merge_problems

    def api(security_definitions):
        return {
            "Resources": {
                t.API_RESOURCE: {
                    "Type": "AWS::Serverless::Api",
                    "Properties": {"DefinitionBody": {"securityDefinitions": security_definitions}},
                }
            }
        }

    literal = {"type": "apiKey", "x-amazon-apigateway-authorizer": {"providerARNs": [""]}}
    assert any("literal providerARNs" in p for p in merge_problems(api({"StaffUserPool": literal})))
    renamed = {"x-amazon-apigateway-authorizer": {"providerARNs": [{"Fn::GetAtt": [t.STAFF_POOL, "Arn"]}]}}
    assert any("has no type" in p for p in merge_problems(api({"StaffUserPool": renamed})))


def test_the_site_bucket_is_private_encrypted_versioned_and_read_only_through_cloudfront(resources):
    bucket = resources["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    assert config["Origins"][0]["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in {"https-only", "redirect-to-https"}


def test_bounces_and_complaints_are_published_to_a_topic(resources):
    destination = resources["MailBounceComplaintEvents"]["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    assert destination["SnsDestination"]["TopicARN"] == {"Ref": "MailEventsTopic"}


def test_staff_sign_in_has_hotline_and_ops_groups_and_outputs_their_ids(template, resources):
    groups = of_type(resources, "AWS::Cognito::UserPoolGroup")
    assert {g["Properties"]["GroupName"] for g in groups.values()} == {"hotline", "ops", "admin"}
    assert {"StaffUserPoolId", "StaffHotlineGroup", "StaffOpsGroup"} <= set(template["Outputs"])


def test_every_dead_letter_queue_and_worker_has_alarms_that_notify_the_alarm_topic(resources):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["MetricName"], a["Properties"]["Dimensions"][0]["Value"]) for a in alarms.values()}
    for spec in QUEUES:
        assert ("ApproximateNumberOfMessagesVisible", spec.dlq_name(STAGE)) in watched
    for fn in t.FUNCTIONS:
        if fn.consumes:
            assert {("Errors", t.function_name(STAGE, fn)), ("Throttles", t.function_name(STAGE, fn))} <= watched
    assert any(m == "5XXError" for m, _ in watched)
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert of_type(resources, "AWS::CloudWatch::Dashboard")


def test_the_packaging_check_catches_a_function_the_template_does_not_know():
    from infra.aws.package import merge_problems

    shared = {"Type": "AWS::Serverless::Function", "Properties": {"Role": {"Fn::GetAtt": ["DefaultRole", "Arn"]}}}
    assert merge_problems({"Resources": {t.API_FUNCTION: shared}}) == []
    (problem,) = merge_problems({"Resources": {"NewHandler": shared}})
    assert "DefaultRole" in problem and "FUNCTIONS" in problem


def test_the_dev_stage_generates_too():
    assert t.merge_template("dev")["Resources"]


# --- deployable as is: tracing, the pepper, parameters ----------------------------------------------


def test_every_traced_function_may_write_to_x_ray_and_the_api_stage_traces_too(resources):
    for fn in t.FUNCTIONS:
        assert resources[fn.logical_id]["Properties"]["Tracing"] == "Active", fn.logical_id  # xray: true in prod
        managed = resources[role_of(resources, fn.logical_id)]["Properties"].get("ManagedPolicyArns", [])
        assert [json.dumps(p) for p in managed] == [json.dumps(t.functions.XRAY_WRITE_POLICY)], fn.logical_id
    assert resources[t.API_RESOURCE]["Properties"]["TracingEnabled"] is True


def test_the_stack_generates_the_pepper_keeps_it_and_only_the_functions_that_key_with_it_may_read_it(resources):
    secret = resources[t.PEPPER_SECRET]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"  # person keys derive from it
    for fn in t.FUNCTIONS:
        env = resources[fn.logical_id]["Properties"]["Environment"]["Variables"]
        assert env[t.PEPPER_SECRET_ENV] == {"Ref": t.PEPPER_SECRET}, fn.logical_id
        assert "PERSON_KEY_PEPPER" not in env and "PERSON_KEY_PEPPER_PARAMETER" not in env
        readers = granted(resources, fn.logical_id).get("secretsmanager:GetSecretValue", set())
        readers -= {json.dumps({"Ref": t.ADMISSION_KEY_SECRET})}  # the API's other secret (test below)
        assert readers == ({json.dumps({"Ref": t.PEPPER_SECRET})} if fn.reads_pepper else set()), fn.logical_id
    assert {fn.logical_id for fn in t.FUNCTIONS if fn.reads_pepper} == {
        t.API_FUNCTION,
        t.BOOKING_WORKER,
        t.MAIL_WORKER,
        t.BOOKING_DEAD_LETTERS,
        t.MAIL_EVENTS,
    }  # suppression HMAC


def test_the_stack_generates_the_admission_token_key_and_only_the_api_may_read_it(resources):
    secret = resources[t.ADMISSION_KEY_SECRET]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32  # tokens.MIN_KEY_BYTES
    for fn in t.FUNCTIONS:
        env = resources[fn.logical_id]["Properties"]["Environment"]["Variables"]
        readers = granted(resources, fn.logical_id).get("secretsmanager:GetSecretValue", set())
        key = json.dumps({"Ref": t.ADMISSION_KEY_SECRET})
        if fn.logical_id == t.API_FUNCTION:
            assert env[t.ADMISSION_KEY_SECRET_ENV] == {"Ref": t.ADMISSION_KEY_SECRET}
            assert key in readers
        else:
            assert t.ADMISSION_KEY_SECRET_ENV not in env and key not in readers, fn.logical_id
        assert "ADMISSION_TOKEN_KEY" not in env and "ADMISSION_TOKEN_KEY_PARAMETER" not in env


def test_the_site_sends_a_content_security_policy_that_allows_only_itself_and_its_api(resources):
    behaviour = resources["SiteDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    policy = resources[behaviour["ResponseHeadersPolicyId"]["Ref"]]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    csp = headers["ContentSecurityPolicy"]
    assert csp["Override"] is True
    directives = dict(
        d.strip().split(" ", 1) if " " in d.strip() else (d.strip(), "")
        for d in csp["ContentSecurityPolicy"]["Fn::Sub"].split(";")
    )
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and "upgrade-insecure-requests" in directives
    # The API the site calls: an execute-api host of this stack's region (by wildcard: naming ${RestAPI} would
    # make a cycle, as the functions' SITE_URL names the distribution), over https only.
    # The read snapshots' distribution: a CloudFront host (by wildcard, for the same reason).
    assert directives["connect-src"].split() == [
        "'self'",
        "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        "https://*.cloudfront.net",
    ]


def test_the_sender_and_site_domain_are_parameters_and_no_placeholder_domain_is_deployed(template, resources):
    assert "vaxslot.example" not in json.dumps(template)
    params = template["Parameters"]
    assert "Default" not in params[t.MAIL_SENDER]  # no deploy without a real sender
    assert params[t.SITE_DOMAIN]["Default"] == ""
    for fn in t.FUNCTIONS:
        env = resources[fn.logical_id]["Properties"]["Environment"]["Variables"]
        assert env["MAIL_SENDER"] == {"Ref": t.MAIL_SENDER}, fn.logical_id
        assert env["SITE_URL"]["Fn::If"][0] == t.HAS_SITE_DOMAIN, fn.logical_id
    identity = resources["MailIdentity"]
    assert identity["Properties"]["EmailIdentity"] == {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": t.MAIL_SENDER}]}]}


def test_an_ses_identity_the_account_already_has_is_left_alone(template, resources):
    assert resources["MailIdentity"]["Condition"] == t.CREATES_MAIL_IDENTITY
    assert template["Conditions"][t.CREATES_MAIL_IDENTITY] == {"Fn::Equals": [{"Ref": t.CREATE_MAIL_IDENTITY}, "true"]}
    assert template["Parameters"][t.CREATE_MAIL_IDENTITY]["AllowedValues"] == ["true", "false"]
    # Nothing unconditional may depend on the optional identity.
    dependants = [rid for rid, r in resources.items() if rid != "MailIdentity" and "MailIdentity" in json.dumps(r)]
    assert dependants == []


def test_the_template_is_too_big_to_deploy_inline_so_the_deploy_uploads_it(packaged):
    # CloudFormation takes at most 51,200 bytes inline: `make deploy` goes through an S3 bucket (infra/aws/deploy.py).
    from infra.aws.deploy import INLINE_TEMPLATE_LIMIT

    assert INLINE_TEMPLATE_LIMIT == 51_200 and packaged.stat().st_size > INLINE_TEMPLATE_LIMIT


# --- linters ---------------------------------------------------------------------------------------


def test_cfn_lint_finds_no_errors(packaged):
    # The console script: cfn-lint 1.x has no `python -m cfnlint` (that printed nothing, and passed, before).
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", str(packaged)],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip(), result.stderr
    findings = json.loads(result.stdout)
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)
    # Warnings are allowed only with a reason here; there are none today.
    assert not findings, json.dumps(findings, indent=1)


def test_checkov_finds_no_failed_checks(packaged):
    # Every skip is a Metadata.checkov.skip entry with its reason on the resource (infra/aws/template/).
    result = subprocess.run(
        [str(checkov()), "-f", str(packaged), "--framework", "cloudformation", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    failed = report["results"]["failed_checks"] if isinstance(report, dict) else []
    assert not failed, [(f["check_id"], f["resource"]) for f in failed]
    assert report["summary"]["passed"] > 0


def test_a_lost_audit_record_alarms(resources):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
    }
    alarm = alarms[f"vaxslot-{STAGE}-audit-write-failed"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("vaxslot", "AuditWriteFailed", 0)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "vaxslot"}]  # as count() emits it
