"""`make deploy`'s pure parts: the commands it runs, the site's config.js, the limits it checks, its refusals.
No AWS here: nothing below reaches the network."""

from __future__ import annotations

import ast
import json
import re

import pytest

from infra.aws import deploy as d
from infra.aws.chalice_config import lambda_settings
from infra.aws.stages import STAGES
from infra.aws.template import FUNCTIONS, merge_template

PROD = d.Deployment("prod", "eu-central-1", "artifacts-123", "termine@impfen.example.org")
OUTPUTS = {
    "EndpointURL": "https://abc123.execute-api.eu-central-1.amazonaws.com/api/",
    "ReadBaseUrl": "https://d111111abcdef8.cloudfront.net",
    "SiteBucketName": "vaxslot-prod-sitebucket-1x2y",
    "SiteDistributionId": "E2ABCDEF",
    "MailDomain": "impfen.example.org",
    "MailConfigurationSetName": "vaxslot-prod",
}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_package_and_deploy_go_through_the_s3_bucket_because_the_template_is_over_the_inline_limit():
    package, deploy = PROD.package_command(), PROD.deploy_command()
    assert package[:3] == ["aws", "cloudformation", "package"] and deploy[:3] == ["aws", "cloudformation", "deploy"]
    assert option(package, "--s3-bucket") == option(deploy, "--s3-bucket") == "artifacts-123"
    assert option(package, "--output-template-file") == option(deploy, "--template-file")
    assert option(package, "--template-file").endswith("build/prod/sam.json")  # what `make package` writes
    assert option(deploy, "--stack-name") == "vaxslot-prod"
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(deploy)
    assert "--template-body" not in deploy


def test_the_deploy_passes_every_parameter_the_template_declares_and_no_other():
    overrides = dict(p.split("=", 1) for p in PROD.parameter_overrides())
    assert set(overrides) == set(merge_template("prod")["Parameters"])
    assert overrides == {"MailSender": "termine@impfen.example.org", "CreateMailIdentity": "true", "SiteDomain": ""}
    existing = d.Deployment("prod", "eu-central-1", "b", "a@b.org", "termine.example.org", existing_mail_identity=True)
    assert dict(p.split("=", 1) for p in existing.parameter_overrides())["CreateMailIdentity"] == "false"


def test_the_bundled_site_is_synced_but_config_js_is_uploaded_uncached_then_cloudfront_is_invalidated():
    sync, upload, invalidate = PROD.after_deploy_commands(OUTPUTS)
    assert sync[:3] == ["aws", "s3", "sync"] and sync[4] == "s3://vaxslot-prod-sitebucket-1x2y/"
    assert sync[3] == f"{d.ROOT}/build/prod/site/"  # the bundled site (infra/site_bundle.py), not site/ itself
    assert option(sync, "--exclude") == "config.js" and "--delete" in sync
    assert option(upload, "--cache-control") == "no-cache"
    assert upload[4] == "s3://vaxslot-prod-sitebucket-1x2y/config.js" and upload[3].endswith("build/prod/config.js")
    assert option(invalidate, "--distribution-id") == "E2ABCDEF" and option(invalidate, "--paths") == "/*"


def test_an_existing_ses_identity_gets_the_stacks_configuration_set_as_its_default():
    existing = d.Deployment("prod", "eu-central-1", "b", "termine@impfen.example.org", existing_mail_identity=True)
    commands = existing.after_deploy_commands(OUTPUTS)
    (ses,) = [c for c in commands if c[1] == "sesv2"]
    assert ses[2] == "put-email-identity-configuration-set-attributes"
    assert option(ses, "--email-identity") == "impfen.example.org"
    assert option(ses, "--configuration-set-name") == "vaxslot-prod"
    assert not [c for c in PROD.after_deploy_commands(OUTPUTS) if c[1] == "sesv2"]  # the stack made it


def test_config_js_points_the_site_at_the_stacks_api_without_the_trailing_slash():
    text = d.config_js(d.outputs_of([{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]))
    match = re.fullmatch(r"window\.VAXSLOT_CONFIG = (\{.*\});\n", text)
    assert match, text
    config = json.loads(match.group(1))
    # site/js/api.js appends /v1/... to apiBaseUrl.
    assert config["apiBaseUrl"] == "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
    # The public reads go to the read snapshots' distribution, which fronts the same stage (OriginPath /api).
    assert config["readBaseUrl"] == "https://d111111abcdef8.cloudfront.net"
    assert config["hotline"] == d.HOTLINE


@pytest.mark.parametrize(
    "outputs, message",
    [
        ({}, "EndpointURL"),
        ({"EndpointURL": "http://x/api/", "ReadBaseUrl": "https://d.cloudfront.net"}, "https"),
        ({"EndpointURL": "https://x/api/"}, "ReadBaseUrl"),
        ({"EndpointURL": "https://x/api/", "ReadBaseUrl": "http://d.cloudfront.net"}, "https"),
    ],
)
def test_config_js_refuses_outputs_without_an_https_api(outputs, message):
    with pytest.raises(d.DeployError, match=message):
        d.config_js(outputs)


def site_config(text: str) -> dict:
    match = re.search(r"window\.VAXSLOT_CONFIG = (\{.*\});", text)
    assert match, text
    return json.loads(match.group(1))


def test_the_site_config_the_deploy_writes_keeps_the_keys_of_the_default_config():
    default = site_config((d.SITE_DIR / "config.js").read_text())
    assert set(site_config(d.config_js(OUTPUTS))) == set(default)


def test_the_needed_lambda_concurrency_is_every_reservation_plus_what_the_api_and_aws_keep_unreserved():
    needed = d.needed_limits("prod")
    reserved = sum(lambda_settings("prod", fn.chalice_name).reserved_concurrency or 0 for fn in FUNCTIONS)
    assert (
        reserved == 158
    )  # booking 100, its dead letters 2, mail 50, mail events 5, reconcile 1 (.chalice/config.json)
    api = STAGES["prod"].api_rate_limit_rps * d.API_SECONDS_PER_REQUEST
    assert needed["lambda_concurrency"] == reserved + max(d.LAMBDA_UNRESERVED_MINIMUM, api)
    assert needed["api_gateway_rps"] == STAGES["prod"].api_rate_limit_rps
    assert needed["ses_production_access"] == 1 and d.needed_limits("dev")["ses_production_access"] == 0


class FakeSession:
    """boto3.Session's clients, answering as an account with AWS's defaults for a new account would."""

    def __init__(
        self,
        lambda_limit=1000,
        api_rps=10000.0,
        ses_rate=1.0,
        production=False,
        account="111122223333",
        logs_role="arn:aws:iam::111122223333:role/apigateway-logs",
    ):
        apigateway = {"throttleSettings": {"rateLimit": 10000.0}} | (
            {"cloudwatchRoleArn": logs_role} if logs_role else {}
        )
        self.answers = {
            "apigateway": {"get_account": apigateway},
            "lambda": {"get_account_settings": {"AccountLimit": {"ConcurrentExecutions": lambda_limit}}},
            "service-quotas": {"get_service_quota": {"Quota": {"Value": api_rps}}},
            "sesv2": {"get_account": {"SendQuota": {"MaxSendRate": ses_rate}, "ProductionAccessEnabled": production}},
            "sts": {"get_caller_identity": {"Account": account}},
        }

    def client(self, service):
        answers = self.answers[service]

        class Client:
            def __getattr__(self, name):
                return lambda **kwargs: answers[name]

        return Client()


def test_a_sandboxed_ses_account_fails_the_prod_limits_and_a_raised_one_passes():
    sandbox = {limit.what: limit.ok for limit in d.check_limits("prod", "eu-central-1", FakeSession())}
    assert sandbox["SES production access (out of the sandbox)"] is False
    assert sandbox["SES sending rate, mails/s"] is False  # 1/s against the 500/s prod is sized for
    raised = d.check_limits("prod", "eu-central-1", FakeSession(lambda_limit=2000, ses_rate=500, production=True))
    assert all(limit.ok for limit in raised), [limit.line() for limit in raised]
    for lambda_limit in (10, 1000):  # a new account's 10 concurrent, and the default 1,000 (prod needs 1,158)
        low = d.check_limits("prod", "eu-central-1", FakeSession(lambda_limit, ses_rate=500, production=True))
        assert [limit.what for limit in low if not limit.ok] == [low[0].what]


def test_an_account_without_api_gateways_logs_role_fails_the_check_instead_of_the_deploy():
    # The stage writes access logs; API Gateway refuses that stage until the account names a CloudWatch role.
    assert d.needed_limits("dev")["api_gateway_logs_role"] == d.needed_limits("prod")["api_gateway_logs_role"] == 1
    without = d.check_limits("dev", "eu-central-1", FakeSession(logs_role=None))
    assert [limit.what for limit in without if limit.ok is False] == [
        "API Gateway CloudWatch Logs role of the account and region (AWS::ApiGateway::Account)"
    ]
    assert all(limit.ok for limit in d.check_limits("dev", "eu-central-1", FakeSession()))


def test_every_deployed_function_runs_inside_powertools_tracer_and_no_deployed_stage_switches_it_off():
    # Read from app.py's source: importing the app needs a stage's environment (its queue names).
    registered = [
        call
        for call in ast.walk(ast.parse((d.ROOT / "app.py").read_text()))
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "app.register_middleware"
    ]
    traced = [c for c in registered if ast.unparse(c.args[0]) == "ConvertToMiddleware(tracer.capture_lambda_handler)"]
    # One registration for every event type (routes, queue workers, schedules): no event_type argument.
    assert len(traced) == 1 and len(traced[0].args) == 1 and not traced[0].keywords
    assert "tracer = Tracer(" in (d.ROOT / "chalicelib" / "observability.py").read_text()
    config = json.loads((d.ROOT / ".chalice" / "config.json").read_text())["stages"]
    for stage in ("dev", "prod"):
        assert config[stage]["xray"] is True, stage
        assert config[stage]["environment_variables"].get("POWERTOOLS_TRACE_DISABLED", "false") == "false", stage


def test_the_deploy_refuses_without_explicit_credentials_or_in_another_account(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(d.DeployError, match="no explicit AWS credentials"):
        d.require_credentials("111122223333", FakeSession())
    monkeypatch.setenv("AWS_PROFILE", "vaxslot-prod")
    d.require_credentials("111122223333", FakeSession())
    with pytest.raises(d.DeployError, match="not 999999999999"):
        d.require_credentials("999999999999", FakeSession())


def test_the_command_line_needs_a_stage_and_an_account(capsys):
    for argv in ([], ["--stage", "prod"], ["--account", "111122223333"], ["--stage", "local", "--account", "1"]):
        with pytest.raises(SystemExit) as exit_:
            d.main(argv)
        assert exit_.value.code == 2, argv


def test_a_limit_the_credentials_may_not_read_is_unknown_and_does_not_stop_the_deploy():
    from botocore.exceptions import ClientError

    session = FakeSession(lambda_limit=2000, ses_rate=500, production=True)
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetServiceQuota")

    class Denying(FakeSession):
        def client(self, service):
            if service == "service-quotas":

                class Client:
                    def get_service_quota(self, **kwargs):
                        raise denied

                return Client()
            return session.client(service)

    limits = {limit.what: limit for limit in d.check_limits("prod", "eu-central-1", Denying())}
    api = limits["API Gateway account throttle, requests/s"]
    assert api.ok is None and "unknown" in api.line()
    assert all(limit.ok for what, limit in limits.items() if limit is not api)


NOTICE = d.PrivacyNotice(
    "Kassenärztliche Vereinigung Westfalen-Lippe, Robert-Schimrigk-Str. 4, 44141 Dortmund", "dsb@kvwl.example"
)


def test_config_js_names_the_privacy_notices_controller_contact_and_the_stages_retention():
    config = site_config(d.config_js(OUTPUTS, NOTICE, retention=30))
    assert config["privacyController"] == NOTICE.controller and config["privacyContact"] == "dsb@kvwl.example"
    assert config["retentionDays"] == 30
    # Without a notice (dev): empty fields, which the site shows as its placeholder; the settings' default days.
    bare = site_config(d.config_js(OUTPUTS))
    assert bare["privacyController"] == bare["privacyContact"] == "" and bare["retentionDays"] == 90


def test_the_retention_in_config_js_is_what_the_stages_functions_get():
    config = {
        "environment_variables": {"PERSONAL_DATA_RETENTION_DAYS": "60"},
        "stages": {"dev": {}, "prod": {"environment_variables": {"PERSONAL_DATA_RETENTION_DAYS": "45"}}},
    }
    assert d.retention_days("prod", config) == 45 and d.retention_days("dev", config) == 60
    assert d.retention_days("dev", {"stages": {"dev": {}}}) == d.DEFAULT_RETENTION_DAYS == 90


@pytest.mark.parametrize(
    "notice", [d.PrivacyNotice(), d.PrivacyNotice(NOTICE.controller), d.PrivacyNotice("", "x@y.z")]
)
def test_prod_does_not_deploy_without_the_privacy_notices_controller_and_contact(notice):
    with pytest.raises(d.DeployError, match=r"PRIVACY_CONTROLLER=.*PRIVACY_CONTACT="):
        notice.require("prod")
    notice.require("dev")  # dev may show the placeholder
    NOTICE.require("prod")
    with pytest.raises(d.DeployError, match="one line"):
        d.PrivacyNotice("KVWL\n44141 Dortmund", "x@y.z").require("dev")


def test_a_prod_deploy_without_the_notice_stops_before_it_reads_credentials_or_limits(monkeypatch, capsys):
    def never(*args, **kwargs):
        raise AssertionError("reached AWS")

    monkeypatch.setattr(d, "require_credentials", never)
    monkeypatch.setattr(d, "check_limits", never)
    argv = ["--stage", "prod", "--account", "111122223333", "--bucket", "b", "--mail-sender", "termine@impfen.example"]
    assert d.main(argv) == 1
    assert "prod needs the privacy notice's controller and contact" in capsys.readouterr().err
