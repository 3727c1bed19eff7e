"""Mail: the SES identity and configuration set, bounce and complaint events to an SNS topic, and the KMS key
of the stack's topics (mail events, alarms)."""

from __future__ import annotations

from infra.aws.template.base import CREATES_MAIL_IDENTITY, mail_domain, sub, topic, topic_id
from infra.resources import MAIL_EVENTS_TOPIC


def kms_key() -> dict:
    # Publishers that are AWS services need the key to encrypt (SES: mail events, CloudWatch: alarms). SNS
    # decrypts before it invokes a Lambda subscriber, so mail_events needs no grant here (an SQS subscriber
    # would: its queue's key must let sns.amazonaws.com in).
    return {
        "NotificationsKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": "vaxslot SNS topics (alarms, mail events)",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdmin",
                            "Effect": "Allow",
                            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "PublishersEncrypt",
                            "Effect": "Allow",
                            "Principal": {"Service": ["cloudwatch.amazonaws.com", "ses.amazonaws.com"]},
                            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                            "Resource": "*",
                        },
                    ],
                },
            },
        }
    }


def mail(stage: str) -> dict:
    events_topic = topic_id(MAIL_EVENTS_TOPIC)
    return {
        "MailConfigurationSet": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": f"vaxslot-{stage}"}},
        # Its name comes from infra/resources.py, as app.py's on_sns_message(topic=MAIL_EVENTS_TOPIC_NAME) does.
        events_topic: topic(MAIL_EVENTS_TOPIC.name(stage)),
        f"{events_topic}Policy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": events_topic}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesPublishesMailEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": events_topic},
                            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
            },
        },
        "MailBounceComplaintEvents": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "MailConfigurationSet"},
                "EventDestination": {
                    "Name": "bounces-and-complaints",
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint", "reject"],
                    "SnsDestination": {"TopicARN": {"Ref": events_topic}},
                },
            },
        },
        # The configuration set is the identity's default, so the app's SendRawEmail needs no change to use it.
        # An identity the account already has cannot be created again (the deploy would fail): with
        # CreateMailIdentity=false the stack leaves it alone and `make deploy` makes the set its default instead.
        "MailIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Condition": CREATES_MAIL_IDENTITY,
            "Properties": {
                "EmailIdentity": mail_domain(),
                "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "MailConfigurationSet"}},
                "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
            },
        },
    }
