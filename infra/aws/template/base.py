"""What every part of the merge template shares: logical ids, stack parameters, and small CloudFormation helpers."""

from __future__ import annotations

from infra.resources import QueueSpec, TableSpec, TopicSpec

# Chalice's logical ids: CamelCase of the Python handler name; the shared role is "DefaultRole".
API_FUNCTION, BOOKING_WORKER, MAIL_WORKER = "APIHandler", "BookingWorker", "MailWorker"
MAIL_EVENTS, RECONCILE = "MailEvents", "Reconcile"
BOOKING_DEAD_LETTERS = "BookingDeadLetters"
API_RESOURCE = "RestAPI"
STAFF_POOL = "StaffUserPool"

# Stack parameters: what differs between two deployments of the same stage (docs/operations.md, `make deploy`).
MAIL_SENDER = "MailSender"  # the From address; its domain is the SES identity
CREATE_MAIL_IDENTITY = "CreateMailIdentity"  # "false" when the domain is already an SES identity of the account
SITE_DOMAIN = "SiteDomain"  # where citizens reach the site (links in mails); empty: the CloudFront domain
CREATES_MAIL_IDENTITY, HAS_SITE_DOMAIN = "CreatesMailIdentity", "HasSiteDomain"  # their conditions


def table_id(spec: TableSpec) -> str:
    return f"{spec.logical_id}Table"


def queue_id(spec: QueueSpec) -> str:
    return f"{spec.logical_id}Queue"


def dlq_id(spec: QueueSpec) -> str:
    return f"{spec.logical_id}DeadLetterQueue"


def topic_id(spec: TopicSpec) -> str:
    return f"{spec.logical_id.replace('-', '')}Topic"


def skip(*checks: tuple[str, str]) -> dict:
    """checkov skips, each with its reason, on the resource they concern."""
    return {"checkov": {"skip": [{"id": i, "comment": c} for i, c in checks]}}


def sub(text: str, variables: dict | None = None) -> dict:
    return {"Fn::Sub": [text, variables] if variables else text}


def arn(service: str, resource: str, variables: dict | None = None) -> dict:
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}", variables)


def mail_domain() -> dict:
    """The domain of the MailSender parameter (the SES identity)."""
    return {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": MAIL_SENDER}]}]}


def topic(name: str) -> dict:
    """An SNS topic encrypted with the stack's key for notifications (infra/aws/template/mail.py)."""
    return {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name, "KmsMasterKeyId": {"Ref": "NotificationsKey"}}}
