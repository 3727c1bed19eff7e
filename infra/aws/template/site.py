"""The static site: a private S3 bucket read only through CloudFront (Origin Access Control).

`make deploy` (infra/aws/deploy.py) uploads the bundled site (build/<stage>/site/, infra/site_bundle.py) and writes its
config.js; the stack holds no site files.
"""

from __future__ import annotations

from infra.aws.template.base import skip, sub

# What the site may load: its own files, and calls to the stage's REST API (config.js points it at execute-api)
# and to its read snapshots' distribution (config.js readBaseUrl, a *.cloudfront.net host).
# No inline script or style (site/js/ui.js builds text nodes), no frames, no plug-ins.
# The API's host is named by a wildcard in this region, not by ${RestAPI}: the functions' SITE_URL already
# refers to the distribution, so the distribution referring to the API (through this policy) would be a
# dependency cycle (cfn-lint E3004); the snapshots' distribution fronts the API, so the same holds for it.
# Naming both exactly needs SITE_URL from a parameter or custom domains.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self' https://*.execute-api.${AWS::Region}.${AWS::URLSuffix} https://*.cloudfront.net; "
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'; "
    "upgrade-insecure-requests"
)


def security_headers(stage: str) -> dict:
    """The managed SecurityHeadersPolicy's headers (frames denied outright) plus the site's CSP."""
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": f"vaxslot-{stage}-site-security-headers",
                "Comment": "HSTS, nosniff, no framing, referrer policy and the site's Content-Security-Policy",
                "SecurityHeadersConfig": {
                    "StrictTransportSecurity": {
                        "AccessControlMaxAgeSec": 31_536_000,
                        "IncludeSubdomains": False,
                        "Override": True,
                    },
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True},
                    "ContentSecurityPolicy": {"ContentSecurityPolicy": sub(CONTENT_SECURITY_POLICY), "Override": True},
                },
            }
        },
    }


def site(stage: str) -> dict:
    return {
        "SiteSecurityHeaders": security_headers(stage),
        "SiteBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
            "Metadata": skip(
                ("CKV_AWS_18", "Access is logged at CloudFront, the only reader; bucket access logging not set up yet"),
                ("CKV_AWS_145", "Public static site: SSE-S3 is enough and keeps CloudFront OAC free of KMS grants"),
                ("CKV_AWS_144", "Static site is rebuilt from git; cross-region replication is not worth it"),
            ),
        },
        "SiteBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "SiteBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudFrontReadsSite",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": sub("${SiteBucket.Arn}/*"),
                            "Condition": {
                                "StringEquals": {
                                    "AWS:SourceArn": sub(
                                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}"
                                    )
                                }
                            },
                        },
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [sub("${SiteBucket.Arn}"), sub("${SiteBucket.Arn}/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
        "SiteOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": f"vaxslot-{stage}-site",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "SiteDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Enabled": True,
                    "Comment": f"vaxslot {stage} site",
                    "DefaultRootObject": "index.html",
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": "PriceClass_100",
                    "Origins": [
                        {
                            "Id": "site",
                            "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                            "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]},
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "site",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "Compress": True,
                        "AllowedMethods": ["GET", "HEAD"],
                        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",  # managed CachingOptimized
                        "ResponseHeadersPolicyId": {"Ref": "SiteSecurityHeaders"},
                    },
                }
            },
            "Metadata": skip(
                ("CKV_AWS_68", "A CLOUDFRONT-scope WebACL must live in us-east-1, outside this regional stack"),
                ("CKV_AWS_86", "CloudFront access logging not set up yet (docs/operations.md)"),
                ("CKV_AWS_174", "TLS 1.2 minimum needs the custom-domain certificate, not provisioned yet"),
                ("CKV_AWS_310", "Single S3 origin; static content, no failover origin"),
                ("CKV_AWS_374", "Geo restriction would lock out citizens abroad booking for relatives"),
            ),
        },
    }
