"""The read snapshots' CloudFront distribution and the WAF rules that guard its path to the API (prod, packaged)."""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.api.http import EDGE_HEADER, SNAPSHOT_ROUTES
from infra.aws.stages import STAGES
from infra.aws.template import API_DISTRIBUTION, snapshot_max_age_s
from infra.aws.template.edge import CACHING_DISABLED, EDGE_SECRET

CACHED = {
    "/v1/campaigns": "/v1/campaigns",
    "/v1/centers": "/v1/centers",
    "/v1/centers/{center_id}/availability": "/v1/centers/dortmund/availability",
    "/v1/campaigns/{campaign_id}/waiting-room": "/v1/campaigns/80plus-comirnaty/waiting-room",
}
NOT_CACHED = [
    "/v1/booking-requests/0f8fad5b-d9cb-469f-a165-70867728950e",
    "/v1/bookings/ABCD-EFGH-JK",
    "/v1/campaigns/80plus-comirnaty/waiting-room/entries",
    "/v1/waiting-room/entries/e1",
    "/v1/staff/bookings",
    "/v1/eligibility",
    "/v1/centers/dortmund",
]


@pytest.fixture(scope="module")
def config(resources) -> dict:
    return resources[API_DISTRIBUTION]["Properties"]["DistributionConfig"]


def _matches(pattern: str, path: str) -> bool:
    """CloudFront's path pattern: * is any run of characters (also none), the rest is literal."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), path) is not None


def _behaviour(config: dict, path: str) -> dict:
    """The behaviour CloudFront picks for `path`: the first pattern that matches, else the default."""
    return next(
        (b for b in config["CacheBehaviors"] if _matches(b["PathPattern"], path)), config["DefaultCacheBehavior"]
    )


def test_each_public_read_is_cached_by_its_path_and_only_the_query_keys_it_reads(resources, config):
    bound = snapshot_max_age_s("prod")
    assert bound == 2  # AVAILABILITY_MAX_AGE_SECONDS of the prod stage: one setting for the API and the CDN
    for route, path in CACHED.items():
        behaviour = _behaviour(config, path)
        assert behaviour["CachedMethods"] == ["GET", "HEAD"], route
        policy = resources[behaviour["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        # The origin's max-age decides, never longer than the bound; no Cache-Control: not kept.
        assert (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]) == (0, 0, bound), route
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert key["CookiesConfig"] == {"CookieBehavior": "none"}, route
        assert key["HeadersConfig"] == {"HeaderBehavior": "none"}, route  # no Authorization, no language
        keys = key["QueryStringsConfig"].get("QueryStrings", [])
        assert sorted(keys) == sorted(SNAPSHOT_ROUTES[route]), route
        assert "OriginRequestPolicyId" not in behaviour  # nothing forwarded beyond the cache key


def test_every_other_path_is_not_cached(config):
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_DISABLED
    for path in NOT_CACHED:
        assert _behaviour(config, path) is config["DefaultCacheBehavior"], path


def test_the_cdn_keeps_no_error_answer(config):
    kept = {e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in config["CustomErrorResponses"]}
    assert set(kept) >= {400, 403, 404, 500, 502, 503, 504} and set(kept.values()) == {0}
    assert not any("ResponsePagePath" in e for e in config["CustomErrorResponses"])


def test_the_origin_is_the_api_stage_over_https_with_one_shield_and_the_stacks_edge_header(template, resources, config):
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["OriginPath"] == "/api"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["OriginShield"]["Enabled"] is True
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == EDGE_HEADER
    assert f"{{{{resolve:secretsmanager:${{{EDGE_SECRET}}}:SecretString}}}}" == header["HeaderValue"]["Fn::Sub"]
    assert resources[EDGE_SECRET]["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert template["Outputs"]["ReadBaseUrl"]["Value"] == {"Fn::Sub": f"https://${{{API_DISTRIBUTION}.DomainName}}"}


def _rules(resources) -> dict:
    return {r["Name"]: r for r in resources["ApiWebAcl"]["Properties"]["Rules"]}


def test_waf_refuses_a_forged_edge_header_and_anything_but_the_public_reads_through_the_cdn(resources):
    rules = _rules(resources)
    forged, only_reads = rules["EdgeHeaderForged"], rules["EdgeServesSnapshotsOnly"]
    assert "Block" in forged["Action"] and "Block" in only_reads["Action"]
    rate = rules["RateLimitPerIp"]
    assert forged["Priority"] < only_reads["Priority"] < rate["Priority"]  # checked before anything is counted
    present, wrong = forged["Statement"]["AndStatement"]["Statements"]
    assert present["SizeConstraintStatement"]["FieldToMatch"] == {"SingleHeader": {"Name": EDGE_HEADER.lower()}}
    assert wrong["NotStatement"]["Statement"]["ByteMatchStatement"]["PositionalConstraint"] == "EXACTLY"
    edge, not_reads = only_reads["Statement"]["AndStatement"]["Statements"]
    assert edge == wrong["NotStatement"]["Statement"]
    get, paths = not_reads["NotStatement"]["Statement"]["AndStatement"]["Statements"]
    assert get["ByteMatchStatement"]["SearchString"] == "GET"
    regexes = [p["RegexMatchStatement"]["RegexString"] for p in paths["OrStatement"]["Statements"]]
    for path in CACHED.values():  # WAF sees the stage in the path on the execute-api endpoint
        assert any(re.search(r, "/api" + path) for r in regexes), path
        assert any(re.search(r, path) for r in regexes), path
    for path in NOT_CACHED:
        assert not any(re.search(r, "/api" + path) for r in regexes), path


def test_the_per_ip_limit_was_raised_above_what_a_carrier_nat_reaches():
    # 3,000 per 5 min (10 req/s) is reached by one carrier-NAT address at the launch's peak (issue #12).
    assert STAGES["prod"].waf_requests_per_ip_per_5min >= 10_000


def test_the_snapshots_distribution_depends_on_nothing_that_names_the_site(resources):
    # The functions' SITE_URL names the site's distribution; the snapshots' one must not name it back (no cycle).
    text = json.dumps(resources[API_DISTRIBUTION])
    assert "SiteDistribution" not in text and "SiteBucket" not in text
