"""The CloudFormation merge template for `chalice package --merge-template`, generated from infra/resources.py,
`.chalice/config.json` and infra/aws/stages.py.

Chalice emits the functions (with the memory, timeout, reserved concurrency and tracing of config.json), the
REST API and one shared role; this template adds the data resources, the edge (site, WAF), staff sign-in, mail
and alarms, and overrides what chalice cannot set itself: per-function roles, `ReportBatchItemFailures`
(aws/chalice#2029), stage throttling and gateway responses. Chalice deep-merges dicts, and a value from this
template replaces chalice's (lists included), so every override names exactly chalice's logical ids and keys.

One module per concern: data (tables, queues), functions (functions, roles, pepper), api (API, WAF), site
(bucket, CloudFront), edge (the read snapshots' CloudFront in front of the API), auth (staff pool), mail (SES,
mail events), alarms (alarms, dashboard).
"""

from __future__ import annotations

import math

from infra.aws.chalice_config import ROOT, chalice_stage, load_config
from infra.aws.stages import STAGES, StageKnobs
from infra.aws.template.alarms import alarms
from infra.aws.template.api import STAFF_AUTHORIZER, STAFF_PATH, api, waf
from infra.aws.template.auth import staff
from infra.aws.template.base import (
    API_FUNCTION,
    API_RESOURCE,
    BOOKING_DEAD_LETTERS,
    BOOKING_WORKER,
    CREATE_MAIL_IDENTITY,
    CREATES_MAIL_IDENTITY,
    HAS_SITE_DOMAIN,
    MAIL_EVENTS,
    MAIL_SENDER,
    MAIL_WORKER,
    RECONCILE,
    SITE_DOMAIN,
    STAFF_POOL,
    dlq_id,
    queue_id,
    sub,
    table_id,
    topic_id,
)
from infra.aws.template.data import queues, table
from infra.aws.template.edge import API_DISTRIBUTION, api_distribution
from infra.aws.template.functions import (
    ADMISSION_KEY_SECRET,
    ADMISSION_KEY_SECRET_ENV,
    FUNCTIONS,
    MAIL_EVENTS_SUBSCRIPTION,
    PEPPER_SECRET,
    PEPPER_SECRET_ENV,
    RECONCILE_SCHEDULE,
    Function,
    admission_key_secret,
    function,
    function_name,
    function_of,
    log_group,
    pepper_secret,
    role,
    settings_of,
)
from infra.aws.template.mail import kms_key, mail
from infra.aws.template.site import site
from infra.resources import BOOKING_QUEUE, MAIL_EVENTS_TOPIC, NOTIFY_QUEUE, QUEUES, TABLES

__all__ = [
    "ADMISSION_KEY_SECRET",
    "ADMISSION_KEY_SECRET_ENV",
    "API_DISTRIBUTION",
    "API_FUNCTION",
    "API_RESOURCE",
    "BOOKING_DEAD_LETTERS",
    "BOOKING_QUEUE",
    "BOOKING_WORKER",
    "CREATES_MAIL_IDENTITY",
    "CREATE_MAIL_IDENTITY",
    "FUNCTIONS",
    "HAS_SITE_DOMAIN",
    "MAIL_EVENTS",
    "MAIL_EVENTS_SUBSCRIPTION",
    "MAIL_SENDER",
    "MAIL_WORKER",
    "NOTIFY_QUEUE",
    "PEPPER_SECRET",
    "PEPPER_SECRET_ENV",
    "RECONCILE",
    "RECONCILE_SCHEDULE",
    "ROOT",
    "SITE_DOMAIN",
    "STAFF_AUTHORIZER",
    "STAFF_PATH",
    "STAFF_POOL",
    "Function",
    "chalice_stage",
    "dlq_id",
    "function_name",
    "function_of",
    "merge_template",
    "parameters",
    "queue_id",
    "settings_of",
    "snapshot_max_age_s",
    "table_id",
    "topic_id",
]


def parameters() -> dict:
    """What an operator sets per deployment (`make deploy` passes them), instead of placeholders in config."""
    return {
        MAIL_SENDER: {
            "Type": "String",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
            "Description": "From address of the citizens' mails; its domain becomes (or is) the SES "
            "identity, e.g. termine@impfzentren.example.org",
        },
        CREATE_MAIL_IDENTITY: {
            "Type": "String",
            "AllowedValues": ["true", "false"],
            "Default": "true",
            "Description": "false when the sender's domain is already an SES identity of the "
            "account (creating it again would fail the deploy)",
        },
        SITE_DOMAIN: {
            "Type": "String",
            "Default": "",
            "AllowedPattern": r"^$|^[a-z0-9.-]+\.[a-z]{2,}$",
            "Description": "Domain citizens reach the site at (links in mails); empty: the CloudFront "
            "domain. Its DNS, certificate and CloudFront alias are not part of the stack",
        },
    }


def conditions() -> dict:
    return {
        CREATES_MAIL_IDENTITY: {"Fn::Equals": [{"Ref": CREATE_MAIL_IDENTITY}, "true"]},
        HAS_SITE_DOMAIN: {"Fn::Not": [{"Fn::Equals": [{"Ref": SITE_DOMAIN}, ""]}]},
    }


def snapshot_max_age_s(stage: str, config: dict | None = None) -> int:
    """The freshness bound of the read snapshots: the stage's AVAILABILITY_MAX_AGE_SECONDS, one setting for the
    API's answers (their max-age) and CloudFront's cache policies (their MaxTTL)."""
    environment = chalice_stage(stage, config or load_config())["environment_variables"]
    return math.floor(float(environment.get("AVAILABILITY_MAX_AGE_SECONDS", "0")))


def merge_template(stage: str, knobs: StageKnobs | None = None, config: dict | None = None) -> dict:
    """The merge template for `stage`, with the knobs of infra/aws/stages.py and the chalice config of
    .chalice/config.json unless others are given."""
    knobs = knobs or STAGES[stage]
    config = config or load_config()
    api_stage_name = chalice_stage(stage, config).get("api_gateway_stage", "api")
    settings = {fn.logical_id: settings_of(stage, fn, config) for fn in FUNCTIONS}
    timeouts = {
        fn.consumes.logical_id: settings[fn.logical_id].timeout_s
        for fn in FUNCTIONS
        if fn.consumes and not fn.consumes_dead_letters
    }
    resources: dict = {}
    for t in TABLES:
        resources[table_id(t)] = table(t, stage, knobs)
    for q in QUEUES:
        if q.logical_id not in timeouts:
            raise ValueError(f"queue {q.logical_id} has no consuming function in infra/aws/template/functions.py")
        resources.update(queues(q, stage, timeouts[q.logical_id]))
    resources.update(pepper_secret(stage))
    resources.update(admission_key_secret(stage))
    for fn in FUNCTIONS:
        resources[fn.logical_id] = function(stage, knobs, fn, settings[fn.logical_id])
        resources[f"{fn.logical_id}LogGroup"] = log_group(knobs, f"/aws/lambda/{function_name(stage, fn)}")
        resources[fn.role] = role(stage, fn, settings[fn.logical_id])
    resources[API_RESOURCE] = api(stage, knobs)
    resources["ApiAccessLogGroup"] = log_group(knobs, f"/aws/apigateway/vaxslot-{stage}-access")
    resources.update(waf(stage, knobs, api_stage_name))
    resources.update(site(stage))
    resources.update(api_distribution(stage, api_stage_name, snapshot_max_age_s(stage, config)))
    resources.update(kms_key())
    resources.update(mail(stage))
    resources.update(staff(stage))
    resources.update(alarms(stage, knobs, api_stage_name))
    outputs = {
        "StaffUserPoolId": {"Value": {"Ref": "StaffUserPool"}},
        "StaffUserPoolArn": {"Value": {"Fn::GetAtt": [STAFF_POOL, "Arn"]}},
        "StaffUserPoolClientId": {"Value": {"Ref": "StaffUserPoolClient"}},
        "StaffHotlineGroup": {"Value": {"Ref": "StaffHotlineGroup"}},
        "StaffOpsGroup": {"Value": {"Ref": "StaffOpsGroup"}},
        "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
        "SiteDistributionId": {"Value": {"Ref": "SiteDistribution"}},
        "SiteUrl": {"Value": sub("https://${SiteDistribution.DomainName}/")},
        # Where the site sends its public reads (config.js readBaseUrl, written by `make deploy`).
        "ReadBaseUrl": {"Value": sub(f"https://${{{API_DISTRIBUTION}.DomainName}}")},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        "MailEventsTopicArn": {"Value": {"Ref": topic_id(MAIL_EVENTS_TOPIC)}},
        "MailConfigurationSetName": {"Value": {"Ref": "MailConfigurationSet"}},
        "MailDomain": {"Value": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": MAIL_SENDER}]}]}},
        "PersonKeyPepperSecretArn": {"Value": {"Ref": PEPPER_SECRET}},
        "LaunchDashboard": {"Value": {"Ref": "LaunchDashboard"}},
    }
    return {"Parameters": parameters(), "Conditions": conditions(), "Resources": resources, "Outputs": outputs}
