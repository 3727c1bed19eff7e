"""The static site: a private S3 bucket read only through CloudFront (Origin Access Control).

`make deploy` (infra/aws/deploy.py) uploads site/ and writes its config.js; the stack holds no site files.
"""

from __future__ import annotations

from infra.aws.template.base import skip, sub


def site(stage: str) -> dict:
    return {
        "SiteBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                       "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }, "Metadata": skip(
            ("CKV_AWS_18", "Access is logged at CloudFront, the only reader; bucket access logging not set up yet"),
            ("CKV_AWS_145", "Public static site: SSE-S3 is enough and keeps CloudFront OAC free of KMS grants"),
            ("CKV_AWS_144", "Static site is rebuilt from git; cross-region replication is not worth it"))},
        "SiteBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "SiteBucket"},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "CloudFrontReadsSite", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                 "Action": "s3:GetObject", "Resource": sub("${SiteBucket.Arn}/*"),
                 "Condition": {"StringEquals": {"AWS:SourceArn": sub(
                     "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}")}}},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [sub("${SiteBucket.Arn}"), sub("${SiteBucket.Arn}/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]},
        }},
        "SiteOriginAccessControl": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
            "OriginAccessControlConfig": {"Name": f"vaxslot-{stage}-site", "OriginAccessControlOriginType": "s3",
                                          "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "SiteDistribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True, "Comment": f"vaxslot {stage} site", "DefaultRootObject": "index.html",
            "HttpVersion": "http2and3", "IPV6Enabled": True, "PriceClass": "PriceClass_100",
            "Origins": [{"Id": "site", "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                         "S3OriginConfig": {"OriginAccessIdentity": ""},
                         "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}}],
            "DefaultCacheBehavior": {
                "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
                "AllowedMethods": ["GET", "HEAD"],
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",  # managed CachingOptimized
                "ResponseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03",  # managed SecurityHeadersPolicy
            },
        }}, "Metadata": skip(
            ("CKV_AWS_68", "A CLOUDFRONT-scope WebACL must live in us-east-1, outside this regional stack"),
            ("CKV_AWS_86", "CloudFront access logging not set up yet (docs/operations.md)"),
            ("CKV_AWS_174", "TLS 1.2 minimum needs the custom-domain certificate, not provisioned yet"),
            ("CKV_AWS_310", "Single S3 origin; static content, no failover origin"),
            ("CKV_AWS_374", "Geo restriction would lock out citizens abroad booking for relatives"))},
    }

