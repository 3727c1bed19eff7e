"""`make deploy STAGE=dev|prod`: check the account's limits, package, deploy through S3, upload the site.

    python -m infra.aws.deploy --stage prod --account 123456789012 --bucket <artifact-bucket> \\
        --mail-sender termine@impfzentrum.example.org [--site-domain termine.example.org] [--existing-mail-identity] \\
        --privacy-controller "<name and postal address>" --privacy-contact "<data protection officer's contact>"
    python -m infra.aws.deploy --stage prod --account 123456789012 --check-limits   # the checks only

The packaged template is over CloudFormation's 51,200-byte inline limit, so it goes through an S3 bucket of the
account (`aws cloudformation package/deploy --s3-bucket`). Then the bundled site (build/<stage>/site/, made first by
infra/site_bundle.py with esbuild: Node and npm are needed) is synced to the stack's bucket with a
`config.js` that names the stack's API, and CloudFront's cache is invalidated. It refuses to run without
credentials in the environment (AWS_PROFILE or AWS_ACCESS_KEY_ID), a stage, and the account id the credentials
must belong to, so nobody deploys prod into the wrong account by accident. The site's privacy notice names the
controller and its privacy contact from config.js: prod does not deploy without them. The AWS CLI (v2) must be
installed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path

from chalicelib.settings import Settings
from infra.aws.chalice_config import ROOT, chalice_stage, lambda_settings, load_config
from infra.aws.stages import STAGES
from infra.aws.template import FUNCTIONS
from infra.site_bundle import BundleError, build_site

INLINE_TEMPLATE_LIMIT = 51_200  # bytes CloudFormation accepts in --template-body
SITE_DIR = ROOT / "site"
HOTLINE = "0800 116 117 02"  # the hotline the site names (as infra/local/stack.py serves it locally)
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")  # per-function roles; the SAM transform
LAMBDA_UNRESERVED_MINIMUM = 100  # Lambda keeps at least this much of the account's concurrency unreserved
API_SECONDS_PER_REQUEST = 0.1  # assumed API function duration, for the concurrency the API needs at its throttle
API_GATEWAY_THROTTLE_QUOTA = ("apigateway", "L-8A5B8E43")  # Service Quotas: account-level throttle rate (req/s)


class DeployError(RuntimeError):
    pass


def stack_name(stage: str) -> str:
    return f"vaxslot-{stage}"


PRIVACY_TEXT_MAX = 300
STAGES_NEEDING_PRIVACY_NOTICE = frozenset({"prod"})  # citizens' data; dev may show the notice's placeholder
# What a function keeps personal data for when its environment does not say (chalicelib/settings.py).
DEFAULT_RETENTION_DAYS = next(f.default for f in fields(Settings) if f.name == "personal_data_retention_days")


@dataclass(frozen=True)
class PrivacyNotice:
    """Who the site's privacy notice (site/js/views/privacy.js, GDPR Art. 13) names: config.js `privacyController`
    and `privacyContact`. Not stack parameters: nothing in AWS uses them, only the site's config.js."""

    controller: str = ""  # the controller's name and postal address (Art. 13(1)(a))
    contact: str = ""  # its data protection officer's contact, an e-mail address or phone (Art. 13(1)(b))

    def require(self, stage: str) -> None:
        for what, value in (("--privacy-controller", self.controller), ("--privacy-contact", self.contact)):
            if len(value) > PRIVACY_TEXT_MAX or any(unicodedata.category(ch)[0] == "C" for ch in value):
                raise DeployError(f"{what}: at most {PRIVACY_TEXT_MAX} characters on one line")
        if stage in STAGES_NEEDING_PRIVACY_NOTICE and not (self.controller.strip() and self.contact.strip()):
            raise DeployError(
                f"{stage} needs the privacy notice's controller and contact: make deploy ... "
                'PRIVACY_CONTROLLER="<name, street, postal code and town>" PRIVACY_CONTACT="<data protection '
                "officer's e-mail>\" (--privacy-controller, --privacy-contact); without them the site's privacy "
                "notice names nobody responsible (GDPR Art. 13)"
            )


def retention_days(stage: str, config: dict | None = None) -> int:
    """PERSONAL_DATA_RETENTION_DAYS as the stage's functions get it (chalice merges the top level's environment
    with the stage's), else chalicelib.settings' default: the notice must state what the TTL does."""
    config = config or load_config()
    env = {**config.get("environment_variables", {}), **chalice_stage(stage, config).get("environment_variables", {})}
    return int(env.get("PERSONAL_DATA_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


@dataclass(frozen=True)
class Deployment:
    stage: str
    region: str
    bucket: str  # artifacts: the Lambda bundle and the packaged template
    mail_sender: str
    site_domain: str = ""
    existing_mail_identity: bool = False
    privacy: PrivacyNotice = field(default_factory=PrivacyNotice)

    @property
    def build(self) -> Path:
        return ROOT / "build" / self.stage

    @property
    def site(self) -> Path:
        """The bundled site (infra/site_bundle.py) that is uploaded, not site/ as `make run` serves it."""
        return self.build / "site"

    def package_command(self) -> list[str]:
        return [
            "aws",
            "cloudformation",
            "package",
            "--region",
            self.region,
            "--template-file",
            str(self.build / "sam.json"),
            "--s3-bucket",
            self.bucket,
            "--s3-prefix",
            stack_name(self.stage),
            "--output-template-file",
            str(self.build / "packaged.yaml"),
        ]

    def parameter_overrides(self) -> list[str]:
        return [
            f"MailSender={self.mail_sender}",
            f"CreateMailIdentity={'false' if self.existing_mail_identity else 'true'}",
            f"SiteDomain={self.site_domain}",
        ]

    def deploy_command(self) -> list[str]:
        # --s3-bucket again: the packaged template is still over the inline limit.
        return [
            "aws",
            "cloudformation",
            "deploy",
            "--region",
            self.region,
            "--template-file",
            str(self.build / "packaged.yaml"),
            "--stack-name",
            stack_name(self.stage),
            "--s3-bucket",
            self.bucket,
            "--s3-prefix",
            stack_name(self.stage),
            "--capabilities",
            *CAPABILITIES,
            "--parameter-overrides",
            *self.parameter_overrides(),
            "--no-fail-on-empty-changeset",
        ]

    def outputs_command(self) -> list[str]:
        return [
            "aws",
            "cloudformation",
            "describe-stacks",
            "--region",
            self.region,
            "--stack-name",
            stack_name(self.stage),
            "--query",
            "Stacks[0].Outputs",
            "--output",
            "json",
        ]

    def after_deploy_commands(self, outputs: dict[str, str]) -> list[list[str]]:
        """What the stack cannot do itself: the site's files and config.js, CloudFront's cache, and the default
        configuration set of an SES identity the stack did not create (bounces reach the suppression list)."""
        bucket, config_path = outputs["SiteBucketName"], self.build / "config.js"
        commands = [
            [
                "aws",
                "s3",
                "sync",
                f"{self.site}/",
                f"s3://{bucket}/",
                "--region",
                self.region,
                "--delete",
                "--exclude",
                "config.js",
            ],
            # no-cache: a new API URL must reach browsers at once; the rest follows CloudFront's policy.
            [
                "aws",
                "s3",
                "cp",
                str(config_path),
                f"s3://{bucket}/config.js",
                "--region",
                self.region,
                "--content-type",
                "application/javascript; charset=utf-8",
                "--cache-control",
                "no-cache",
            ],
            [
                "aws",
                "cloudfront",
                "create-invalidation",
                "--distribution-id",
                outputs["SiteDistributionId"],
                "--paths",
                "/*",
            ],
        ]
        if self.existing_mail_identity:
            commands.append(
                [
                    "aws",
                    "sesv2",
                    "put-email-identity-configuration-set-attributes",
                    "--region",
                    self.region,
                    "--email-identity",
                    outputs["MailDomain"],
                    "--configuration-set-name",
                    outputs["MailConfigurationSetName"],
                ]
            )
        return commands


def outputs_of(describe_stacks_outputs: list[dict]) -> dict[str, str]:
    """`describe-stacks --query Stacks[0].Outputs` → {OutputKey: OutputValue}."""
    return {o["OutputKey"]: o["OutputValue"] for o in describe_stacks_outputs or []}


def config_js(outputs: dict[str, str], privacy: PrivacyNotice | None = None, retention: int | None = None) -> str:
    """The site's config.js for the deployed stack: the API is chalice's `EndpointURL` (…/api/), the public reads
    go to the read snapshots' distribution (`ReadBaseUrl`, infra/aws/template/edge.py); the privacy notice's
    controller, contact and the stage's retention days."""
    privacy = privacy or PrivacyNotice()
    urls = {}
    for output in ("EndpointURL", "ReadBaseUrl"):
        try:
            urls[output] = outputs[output]
        except KeyError:
            raise DeployError(f"the stack has no {output} output: did the deploy finish?") from None
        if not urls[output].startswith("https://"):
            raise DeployError(f"{output} {urls[output]!r} is not an https URL")
    config = {
        "apiBaseUrl": urls["EndpointURL"].rstrip("/"),
        "readBaseUrl": urls["ReadBaseUrl"].rstrip("/"),
        "hotline": HOTLINE,
        "privacyController": privacy.controller.strip(),
        "privacyContact": privacy.contact.strip(),
        "retentionDays": DEFAULT_RETENTION_DAYS if retention is None else retention,
    }
    return "window.VAXSLOT_CONFIG = " + json.dumps(config, ensure_ascii=False) + ";\n"


# --- account limits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    what: str
    needed: float
    have: float | None  # None: not known (no credentials, or the API refused)
    how: str  # how to check it by hand, or raise it

    @property
    def ok(self) -> bool | None:
        return None if self.have is None else self.have >= self.needed

    def line(self) -> str:
        state = {True: "ok  ", False: "LOW ", None: "?   "}[self.ok]
        have = "unknown" if self.have is None else f"{self.have:g}"
        return f"{state}{self.what}: need {self.needed:g}, have {have} ({self.how})"


def needed_limits(stage: str) -> dict[str, float]:
    """What the stage's configuration needs of the account (docs/operations.md, 'Account limits')."""
    knobs = STAGES[stage]
    reserved = sum(lambda_settings(stage, fn.chalice_name).reserved_concurrency or 0 for fn in FUNCTIONS)
    api_concurrency = math.ceil(knobs.api_rate_limit_rps * API_SECONDS_PER_REQUEST)
    return {
        "lambda_concurrency": reserved + max(LAMBDA_UNRESERVED_MINIMUM, api_concurrency),
        "api_gateway_rps": knobs.api_rate_limit_rps,
        "ses_send_rate": knobs.ses_send_rate_per_s,
        "ses_production_access": 1 if stage == "prod" else 0,
        "api_gateway_logs_role": 1,  # the stage's access logs: without the account's role the deploy fails
    }


def check_limits(stage: str, region: str, session=None) -> list[Limit]:
    """The account's limits against needed_limits(stage), read with the caller's credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.Session(region_name=region)
    needed = needed_limits(stage)

    def read(call):
        try:
            return call()
        except (BotoCoreError, ClientError) as error:  # a missing permission leaves a check unknown, not failed
            print(f"  (could not read: {error})", file=sys.stderr)
            return None

    lambda_limit = read(lambda: session.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"])
    service, code = API_GATEWAY_THROTTLE_QUOTA
    api_limit = read(
        lambda: session.client("service-quotas").get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"][
            "Value"
        ]
    )
    ses = read(lambda: session.client("sesv2").get_account())
    apigateway = read(lambda: session.client("apigateway").get_account())
    return [
        Limit(
            "Lambda concurrent executions (reserved + unreserved minimum + API at its throttle)",
            needed["lambda_concurrency"],
            lambda_limit,
            "aws lambda get-account-settings; raise in Service Quotas L-B99A9384",
        ),
        Limit(
            "API Gateway account throttle, requests/s",
            needed["api_gateway_rps"],
            api_limit,
            f"Service Quotas {service} {code}",
        ),
        Limit(
            "SES sending rate, mails/s",
            needed["ses_send_rate"],
            None if ses is None else ses["SendQuota"]["MaxSendRate"],
            "aws sesv2 get-account",
        ),
        Limit(
            "SES production access (out of the sandbox)",
            needed["ses_production_access"],
            None if ses is None else int(bool(ses.get("ProductionAccessEnabled"))),
            "aws sesv2 get-account; request it in the SES console",
        ),
        Limit(
            "API Gateway CloudWatch Logs role of the account and region (AWS::ApiGateway::Account)",
            needed["api_gateway_logs_role"],
            None if apigateway is None else int(bool(apigateway.get("cloudwatchRoleArn"))),
            "aws apigateway get-account; set once: aws apigateway update-account --patch-operations "
            "op=replace,path=/cloudwatchRoleArn,value=<role ARN>",
        ),
    ]


# --- running it -----------------------------------------------------------------------------------


def require_credentials(account: str, session=None) -> None:
    if not (os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID")):
        raise DeployError("no explicit AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    import boto3

    actual = (session or boto3.Session()).client("sts").get_caller_identity()["Account"]
    if actual != account:
        raise DeployError(f"the credentials belong to account {actual}, not {account}: refusing to deploy")


def run(command: list[str], capture: bool = False) -> str:
    print("+ " + shlex.join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, check=False, text=True, capture_output=capture)
    if result.returncode != 0:
        raise DeployError(f"failed ({result.returncode}): {shlex.join(command)}\n{result.stderr or ''}")
    return result.stdout if capture else ""


def deploy(d: Deployment) -> dict[str, str]:
    from infra.aws.package import package

    d.privacy.require(d.stage)  # before anything is built or sent
    try:
        build_site(d.site)  # first: without esbuild (`make site-deps`) nothing is sent
    except BundleError as error:
        raise DeployError(str(error)) from None
    template = package(d.stage, d.build)
    print(f"packaged {template} ({template.stat().st_size} bytes; inline limit {INLINE_TEMPLATE_LIMIT})")
    run(d.package_command())
    run(d.deploy_command())
    outputs = outputs_of(json.loads(run(d.outputs_command(), capture=True)))
    (d.build / "config.js").write_text(config_js(outputs, d.privacy, retention_days(d.stage)))
    for command in d.after_deploy_commands(outputs):
        run(command)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.aws.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=sorted(STAGES))
    parser.add_argument("--account", required=True, help="the AWS account id the credentials must belong to")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
    )
    parser.add_argument("--bucket", help="S3 bucket for the Lambda bundle and the packaged template")
    parser.add_argument("--mail-sender", help="From address of the mails (stack parameter MailSender)")
    parser.add_argument("--site-domain", default="", help="domain of the site, if not CloudFront's")
    parser.add_argument(
        "--existing-mail-identity",
        action="store_true",
        help="the sender's domain is already an SES identity of the account",
    )
    parser.add_argument("--privacy-controller", default="", help="the privacy notice's controller: name, address")
    parser.add_argument("--privacy-contact", default="", help="the privacy notice's contact (the DPO's e-mail)")
    parser.add_argument("--check-limits", action="store_true", help="only check the account's limits")
    parser.add_argument("--ignore-limits", action="store_true", help="deploy even if a limit is too low")
    args = parser.parse_args(argv)
    privacy = PrivacyNotice(args.privacy_controller, args.privacy_contact)
    try:
        if not args.check_limits:
            privacy.require(args.stage)  # fail before touching AWS
        require_credentials(args.account)
        limits = check_limits(args.stage, args.region)
        print(f"Account limits for {args.stage} in {args.region} (docs/operations.md 'Account limits'):")
        print("\n".join("  " + limit.line() for limit in limits))
        if args.check_limits:
            return 0 if all(limit.ok for limit in limits) else 1
        if any(limit.ok is False for limit in limits) and not args.ignore_limits:
            raise DeployError("a limit is too low (see above): raise it, or deploy with --ignore-limits")
        if not (args.bucket and args.mail_sender):
            raise DeployError("--bucket and --mail-sender are required to deploy")
        outputs = deploy(
            Deployment(
                args.stage,
                args.region,
                args.bucket,
                args.mail_sender,
                args.site_domain,
                args.existing_mail_identity,
                privacy,
            )
        )
    except DeployError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"deployed {stack_name(args.stage)}: site {outputs.get('SiteUrl')}, API {outputs.get('EndpointURL')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
