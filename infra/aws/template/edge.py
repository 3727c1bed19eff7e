"""The read snapshots: a CloudFront distribution in front of the REST API that serves only the public read routes.

Decided (docs/capacity.md, "Reads through CloudFront"): the site sends its public reads (campaigns, centres,
availability, the room's state) here and its writes and personal reads straight to API Gateway, not everything
through one distribution. Through CloudFront, every request would reach API Gateway from CloudFront's addresses:
the regional WAF's per-IP rule and the app's per-address limit would count CloudFront, not the citizen (WAF's
forwarded-IP option reads X-Forwarded-For's left-most entry, which the client writes), and every write would pay
a CloudFront request besides the API Gateway one. Only the reads gain from the cache, so only they go through it.

What CloudFront keeps is what the origin says: `Cache-Control: public, max-age=<AVAILABILITY_MAX_AGE_SECONDS>` on a
success of those routes, `no-store` on everything else (chalicelib/api/http.py). The cache policies honour it
(MinTTL and DefaultTTL 0, MaxTTL the bound, so a longer max-age is cut to the bound); the cache key is the path
and only the query keys the route reads (SNAPSHOT_ROUTES), with no cookie, no Authorization and no other header, so
one answer serves everyone and junk query keys cannot split the cache. Origin Shield in the stack's region folds
the misses of all edge locations into one fetch per key and bound. Any other path is forwarded uncached
(CachingDisabled) and then refused by WAF (infra/aws/template/api.py), so nothing personal passes through here.

CloudFront adds a header with a secret the stack generates to each fetch; WAF checks it, so the API knows a
request came through the CDN. The secret only marks that path (it is visible in the distribution's and the web
ACL's configuration to whoever may read those); it protects no data.
"""

from __future__ import annotations

from chalicelib.api.http import EDGE_HEADER, SNAPSHOT_ROUTES
from infra.aws.template.base import API_RESOURCE, skip, sub

EDGE_SECRET = "EdgeOriginSecret"
API_DISTRIBUTION = "ApiDistribution"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # managed cache policy
# The errors CloudFront would otherwise keep for 10 s; the origin marks them no-store, and a throttle or an outage
# must not outlive itself at the edge (nor an answer in one caller's language reach another).
CACHEABLE_ERRORS = (400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504)


def edge_secret_value() -> dict:
    return sub(f"{{{{resolve:secretsmanager:${{{EDGE_SECRET}}}:SecretString}}}}")


def path_pattern(resource_path: str) -> str:
    """CloudFront's pattern for a Chalice resource path: each {parameter} becomes * (one or more characters)."""
    return "/".join("*" if part.startswith("{") else part for part in resource_path.split("/"))


def path_regex(resource_path: str, stage_prefix: str) -> str:
    """The same path as a regular expression WAF matches on the origin's URI (with or without the stage)."""
    parts = "/".join("[^/]+" if part.startswith("{") else part for part in resource_path.split("/"))
    return f"^(/{stage_prefix})?{parts}$"


def _policy_name(query_keys: tuple[str, ...]) -> str:
    return "SnapshotCache" + ("".join(k.title().replace("_", "") for k in query_keys) or "NoQuery")


def cache_policies(stage: str, max_age_s: int) -> dict:
    """One cache policy per set of query keys the snapshot routes read."""
    out = {}
    for keys in sorted({keys for keys in SNAPSHOT_ROUTES.values()}):
        out[_policy_name(keys)] = {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {
                "CachePolicyConfig": {
                    "Name": f"vaxslot-{stage}-{_policy_name(keys)}",
                    "Comment": f"Snapshots: origin's max-age up to {max_age_s} s; cache key {', '.join(keys) or '-'}",
                    "MinTTL": 0,
                    "DefaultTTL": 0,  # no Cache-Control from the origin: not kept
                    "MaxTTL": max_age_s,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "EnableAcceptEncodingGzip": True,
                        "EnableAcceptEncodingBrotli": True,
                        "CookiesConfig": {"CookieBehavior": "none"},
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "QueryStringsConfig": (
                            {"QueryStringBehavior": "whitelist", "QueryStrings": list(keys)}
                            if keys
                            else {"QueryStringBehavior": "none"}
                        ),
                    },
                }
            },
        }
    return out


def edge_secret(stage: str) -> dict:
    return {
        EDGE_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": f"vaxslot/{stage}/edge-origin-header",
                "Description": f"Value of {EDGE_HEADER}: CloudFront adds it to snapshot fetches, WAF checks it",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
            "Metadata": skip(
                (
                    "CKV_AWS_149",
                    "Marks the CDN's path to the API; protects no data: the account's default key is enough",
                ),
                ("CKV2_AWS_57", "Rotating needs a stack update of the distribution and the web ACL together"),
            ),
        }
    }


def api_distribution(stage: str, api_stage_name: str, max_age_s: int) -> dict:
    policies = cache_policies(stage, max_age_s)
    behaviours = [
        {
            "PathPattern": path_pattern(path),
            "TargetOriginId": "api",
            "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": ["GET", "HEAD", "OPTIONS"],
            "CachedMethods": ["GET", "HEAD"],
            "Compress": True,
            "CachePolicyId": {"Ref": _policy_name(keys)},
        }
        for path, keys in SNAPSHOT_ROUTES.items()
    ]
    distribution = {
        "Type": "AWS::CloudFront::Distribution",
        "Properties": {
            "DistributionConfig": {
                "Enabled": True,
                "Comment": f"vaxslot {stage} read snapshots",
                "HttpVersion": "http2and3",
                "IPV6Enabled": True,
                "PriceClass": "PriceClass_100",
                "Origins": [
                    {
                        "Id": "api",
                        "DomainName": sub(f"${{{API_RESOURCE}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"),
                        "OriginPath": f"/{api_stage_name}",
                        "CustomOriginConfig": {
                            "OriginProtocolPolicy": "https-only",
                            "OriginSSLProtocols": ["TLSv1.2"],
                        },
                        "OriginCustomHeaders": [{"HeaderName": EDGE_HEADER, "HeaderValue": edge_secret_value()}],
                        "OriginShield": {"Enabled": True, "OriginShieldRegion": {"Ref": "AWS::Region"}},
                    }
                ],
                "CacheBehaviors": behaviours,
                "DefaultCacheBehavior": {
                    "TargetOriginId": "api",
                    "ViewerProtocolPolicy": "https-only",
                    "AllowedMethods": ["GET", "HEAD"],
                    "CachePolicyId": CACHING_DISABLED,
                },
                "CustomErrorResponses": [{"ErrorCode": code, "ErrorCachingMinTTL": 0} for code in CACHEABLE_ERRORS],
            }
        },
        "Metadata": skip(
            (
                "CKV_AWS_68",
                "A CLOUDFRONT-scope WebACL must live in us-east-1; the API's regional WebACL checks every fetch",
            ),
            ("CKV_AWS_86", "CloudFront access logging not set up yet (docs/operations.md)"),
            ("CKV_AWS_174", "TLS 1.2 minimum needs a custom-domain certificate, not provisioned yet"),
            ("CKV_AWS_310", "One origin, the regional API; its failure is the API's failure"),
            ("CKV_AWS_374", "Geo restriction would lock out citizens abroad booking for relatives"),
            ("CKV2_AWS_32", "JSON answers: the origin sends nosniff and no-store/public itself"),
            ("CKV2_AWS_47", "The regional WebACL in front of the API carries the managed known-bad-inputs rules"),
        ),
    }
    return {**policies, **edge_secret(stage), API_DISTRIBUTION: distribution}
