"""The REST API's overrides (stage throttling, access logs, gateway responses, the staff authorizer) and its WAF,
which also guards the read snapshots' path from CloudFront (infra/aws/template/edge.py)."""

from __future__ import annotations

import json

from chalicelib.api.errors import ApiError, error_body
from chalicelib.api.http import EDGE_HEADER, SNAPSHOT_ROUTES
from infra.aws.stages import StageKnobs
from infra.aws.template.base import API_RESOURCE, STAFF_POOL, skip, sub
from infra.aws.template.edge import edge_secret_value, path_regex

# app.py's CognitoUserPoolAuthorizer("StaffUserPool", ...): chalice names the API's securityDefinition after it and
# fills its providerARNs from STAFF_USER_POOL_ARN at packaging time (unset for dev/prod); the merge points it at the
# stack's own pool, which has the same logical id.
STAFF_AUTHORIZER = "StaffUserPool"
STAFF_PATH = "/v1/staff/"


def error_template(code: str) -> str:
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
        response: dict = {
            "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
            "responseTemplates": {"application/json": error_template(code)},
        }
        if status:
            response["statusCode"] = str(status)
        if kind == "THROTTLED":
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = "'1'"
        if kind == "DEFAULT_5XX":  # the contract: a 503 (e.g. a throttled Lambda) always says when to retry
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = "'5'"
        responses[kind] = response
    return responses


def api(stage: str, knobs: StageKnobs) -> dict:
    return {
        "Properties": {
            "Name": f"vaxslot-{stage}",
            "TracingEnabled": True,
            "MethodSettings": [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "MetricsEnabled": True,
                    "ThrottlingRateLimit": knobs.api_rate_limit_rps,
                    "ThrottlingBurstLimit": knobs.api_burst_limit,
                }
            ],
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": json.dumps(
                    {
                        "requestId": "$context.requestId",
                        "method": "$context.httpMethod",
                        "resource": "$context.resourcePath",
                        "status": "$context.status",
                        "latencyMs": "$context.responseLatency",
                        "error": "$context.error.responseType",
                        "waf": "$context.waf.status",
                    }
                ),
            },
            "DefinitionBody": {
                "x-amazon-apigateway-gateway-responses": _gateway_responses(),
                "securityDefinitions": {
                    STAFF_AUTHORIZER: {
                        "x-amazon-apigateway-authorizer": {"providerARNs": [{"Fn::GetAtt": [STAFF_POOL, "Arn"]}]}
                    }
                },
            },
        },
        "Metadata": skip(("CKV_AWS_120", "Answers are per citizen or change with every booking: not cacheable")),
    }


def waf(stage: str, knobs: StageKnobs, api_stage_name: str) -> dict:
    def visibility(name: str) -> dict:
        return {"CloudWatchMetricsEnabled": True, "MetricName": name, "SampledRequestsEnabled": True}

    def rate_rule(name: str, priority: int, limit: int, scope: dict) -> dict:
        return {
            "Name": name,
            "Priority": priority,
            "Statement": {
                "RateBasedStatement": {"Limit": limit, "AggregateKeyType": "IP", "ScopeDownStatement": scope}
            },
            "Action": {
                "Block": {
                    "CustomResponse": {
                        "ResponseCode": 429,
                        "CustomResponseBodyKey": "too_many_requests",
                        "ResponseHeaders": [{"Name": "Retry-After", "Value": "60"}],
                    }
                }
            },
            "VisibilityConfig": visibility(name),
        }

    def block(name: str, priority: int, statement: dict) -> dict:
        return {
            "Name": name,
            "Priority": priority,
            "Statement": statement,
            "Action": {"Block": {}},
            "VisibilityConfig": visibility(name),
        }

    body = error_template("too_many_requests")
    staff = staff_paths(api_stage_name)
    edge = _edge_header_is(edge_secret_value())
    return {
        "ApiWebAcl": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": f"vaxslot-{stage}-api",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "VisibilityConfig": visibility(f"vaxslot-{stage}-api"),
                "CustomResponseBodies": {"too_many_requests": {"ContentType": "APPLICATION_JSON", "Content": body}},
                "Rules": [
                    # The CDN's header with a wrong value: someone pretends to be CloudFront (template/edge.py).
                    block(
                        "EdgeHeaderForged",
                        0,
                        {
                            "AndStatement": {
                                "Statements": [_edge_header_present(), {"NotStatement": {"Statement": edge}}]
                            }
                        },
                    ),
                    # Through the CDN only the public reads: anything else there would reach the API from
                    # CloudFront's addresses, past the per-IP limits (the site sends it to API Gateway directly).
                    block(
                        "EdgeServesSnapshotsOnly",
                        1,
                        {
                            "AndStatement": {
                                "Statements": [edge, {"NotStatement": {"Statement": snapshot_reads(api_stage_name)}}]
                            }
                        },
                    ),
                    # Citizens' requests that do not come through the CDN: writes, status polls, look-ups (and a
                    # public read sent here directly). Mobile carriers' NAT puts many people behind one address, so
                    # the limit is high but per IP; the CDN's cache misses come from CloudFront's addresses and are
                    # bounded by the cache itself, so they are not counted.
                    rate_rule(
                        "RateLimitPerIp",
                        2,
                        knobs.waf_requests_per_ip_per_5min,
                        {
                            "AndStatement": {
                                "Statements": [
                                    {"NotStatement": {"Statement": staff}},
                                    {"NotStatement": {"Statement": edge}},
                                ]
                            }
                        },
                    ),
                    # Staff: a hotline call centre sends every agent's requests from one IP; each needs a Cognito token.
                    rate_rule("StaffRateLimitPerIp", 3, knobs.waf_staff_requests_per_ip_per_5min, staff),
                    {
                        "Name": "KnownBadInputs",
                        "Priority": 4,
                        "OverrideAction": {"None": {}},
                        "Statement": {
                            "ManagedRuleGroupStatement": {
                                "VendorName": "AWS",
                                "Name": "AWSManagedRulesKnownBadInputsRuleSet",
                            }
                        },
                        "VisibilityConfig": visibility("KnownBadInputs"),
                    },
                ],
            },
            "Metadata": skip(("CKV2_AWS_31", "WAF request logging is not set up yet (docs/operations.md)")),
        },
        "ApiWebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "DependsOn": [f"{API_RESOURCE}{api_stage_name}Stage"],  # SAM's stage resource
            "Properties": {
                "WebACLArn": {"Fn::GetAtt": ["ApiWebAcl", "Arn"]},
                "ResourceArn": sub(
                    f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{API_RESOURCE}}}"
                    f"/stages/{api_stage_name}"
                ),
            },
        },
    }


def _edge_header_present() -> dict:
    return {
        "SizeConstraintStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": EDGE_HEADER.lower()}},
            "ComparisonOperator": "GT",
            "Size": 0,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
    }


def _edge_header_is(value: dict) -> dict:
    return {
        "ByteMatchStatement": {
            "SearchString": value,
            "FieldToMatch": {"SingleHeader": {"Name": EDGE_HEADER.lower()}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "EXACTLY",
        }
    }


def snapshot_reads(api_stage_name: str) -> dict:
    """A GET of one of the public read routes (chalicelib/api/http.py SNAPSHOT_ROUTES), with or without the stage."""
    paths = [
        {
            "RegexMatchStatement": {
                "RegexString": path_regex(path, api_stage_name),
                "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        }
        for path in SNAPSHOT_ROUTES
    ]
    get = {
        "ByteMatchStatement": {
            "SearchString": "GET",
            "FieldToMatch": {"Method": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "EXACTLY",
        }
    }
    return {"AndStatement": {"Statements": [get, {"OrStatement": {"Statements": paths}}]}}


def staff_paths(api_stage_name: str) -> dict:
    """Requests to /v1/staff/…: WAF sees the stage in the path on the execute-api endpoint, not behind a domain."""

    def starts_with(prefix: str) -> dict:
        return {
            "ByteMatchStatement": {
                "SearchString": prefix,
                "FieldToMatch": {"UriPath": {}},
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                "PositionalConstraint": "STARTS_WITH",
            }
        }

    return {"OrStatement": {"Statements": [starts_with(f"/{api_stage_name}{STAFF_PATH}"), starts_with(STAFF_PATH)]}}
