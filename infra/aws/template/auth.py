"""Staff sign-in: the Cognito user pool whose tokens the API's staff authorizer trusts, its client and groups."""

from __future__ import annotations

from infra.aws.template.base import STAFF_POOL


def staff(stage: str) -> dict:
    resources = {
        STAFF_POOL: {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": f"vaxslot-{stage}-staff",
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "MfaConfiguration": "ON",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": 14,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": False,
                        "TemporaryPasswordValidityDays": 3,
                    }
                },
                "DeletionProtection": "ACTIVE",
            },
        }
    }
    # The client staff sign in with: SRP for a staff UI, ADMIN_USER_PASSWORD_AUTH for the runbook's admin CLI
    # (docs/operations.md). No secret, so the CLI needs no SECRET_HASH; ID tokens (what the API takes) live 1 h.
    resources["StaffUserPoolClient"] = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "UserPoolId": {"Ref": STAFF_POOL},
            "ClientName": f"vaxslot-{stage}-staff",
            "GenerateSecret": False,
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "IdTokenValidity": 60,
            "AccessTokenValidity": 60,
            "RefreshTokenValidity": 12,
            "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
        },
    }
    for group, description in (
        ("hotline", "Hotline agents: book and cancel for callers"),
        ("ops", "Operations: open cohorts, release contingents"),
        ("admin", "Administrators: read the audit of staff actions (docs/hotline.md)"),
    ):
        resources[f"Staff{group.capitalize()}Group"] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"GroupName": group, "Description": description, "UserPoolId": {"Ref": "StaffUserPool"}},
        }
    return resources
