"""Each detection fires on every documented shape of the calls it is about, not only the
shape Stratus Red Team happened to capture, and stays quiet on the near misses.

Every event here is written by hand from the request shapes of the AWS API references and
of real CloudTrail records (the Stratus, Invictus, StreamAlert, Panther and Cribl samples):
``ipPermissions`` as ``items`` or as a list, the old top-level ``cidrIp``,
``ModifySecurityGroupRules``; trails named by name or ARN; policy documents as JSON text,
URL-encoded or escaped; snapshot and image permissions as ``add.items`` or the older
``operationType`` + ``userIds``; ACL grants as ``AccessControlPolicy`` or ``x-amz-grant-*``
headers. Each case is one event delivered as CloudTrail delivers it (see
``test_detections.deliver``) and one detection run over its day.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from test_detections import deliver
from trailsql.library import load_library
from trailsql.library.run import run_query
from trailsql.session import Session

ACCOUNT = "123456789012"
OTHER = "444455556666"
DAY = "2025-05-05"


def event(source: str, name: str, params: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A successful API call by an IAM user of ``ACCOUNT``, as CloudTrail records it."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEEXAMPLE01",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLEEXAMPLE01",
            "userName": "mallory",
        },
        "eventTime": f"{DAY}T10:20:30Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": params,
        "responseElements": None,
        "requestID": "0f6a3c1e-5b1d-4a1e-9d6e-3b8f4c2a1d00",
        "eventID": "7c1f1f5e-2a4b-4c1d-8e9f-000000000001",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        **extra,
    }


def ec2(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("ec2.amazonaws.com", name, params)


def iam(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("iam.amazonaws.com", name, params)


def pretty_group_policy(actions: list[str]) -> dict[str, Any]:
    """PutGroupPolicy with an Allow of ``actions`` on everything, its document pretty-printed."""
    statement = [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    return iam(
        "PutGroupPolicy",
        {
            "groupName": "devs",
            "policyName": "p",
            "policyDocument": json.dumps({"Version": "2012-10-17", "Statement": statement}, indent=4),
        },
    )


def s3(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("s3.amazonaws.com", name, params)


def cloudtrail(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("cloudtrail.amazonaws.com", name, params)


def lam(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("lambda.amazonaws.com", name, params)


def kms(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("kms.amazonaws.com", name, params)


def rds(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return event("rds.amazonaws.com", name, params)


def doc(*statements: dict[str, Any]) -> str:
    """A policy document as the JSON text IAM's requestParameters hold."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
TRUST_EVERYONE = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}


def trust(principal: Any) -> str:
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def sg_rule(**rule: Any) -> dict[str, Any]:
    """ModifySecurityGroupRules as CloudTrail records it (the request wrapped in its name)."""
    return {
        "ModifySecurityGroupRulesRequest": {
            "GroupId": "sg-0123456789abcdef0",
            "SecurityGroupRule": {
                "SecurityGroupRuleId": "sgr-0123456789abcdef0",
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **rule},
                "tag": 1,
            },
        }
    }


def permissions(*ranges: dict[str, Any], key: str = "ipRanges") -> dict[str, Any]:
    """ipPermissions in the items form of the EC2 query API."""
    return {
        "groupId": "sg-0123456789abcdef0",
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "groups": {},
                    key: {"items": list(ranges)},
                    "prefixListIds": {},
                }
            ]
        },
    }


def grant(uri: str, permission: str = "READ") -> dict[str, Any]:
    return {
        "AccessControlPolicy": {
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
            "Owner": {"ID": "abc123canonical"},
            "AccessControlList": {
                "Grant": [
                    {
                        "Grantee": {"xsi:type": "CanonicalUser", "ID": "abc123canonical"},
                        "Permission": "FULL_CONTROL",
                    },
                    {"Grantee": {"xsi:type": "Group", "URI": uri}, "Permission": permission},
                ]
            },
        },
        "bucketName": "reports",
        "acl": [""],
        "Host": "reports.s3.amazonaws.com",
    }


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "bucketName": "reports",
        "bucketPolicy": {"Version": "2012-10-17", "Statement": list(statements)},
        "policy": [""],
        "Host": "reports.s3.amazonaws.com",
    }


def block(value: bool, **flags: bool) -> dict[str, Any]:
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return {
        "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        **{n: value for n in names},
        **flags,
    }


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"

#: (detection, case name, event): the detection must fire.
POSITIVE: list[tuple[str, str, dict[str, Any]]] = [
    # ---- security groups
    (
        "security-group-open-to-world",
        "ipRanges items cidrIp 0.0.0.0/0",
        ec2("AuthorizeSecurityGroupIngress", permissions({"cidrIp": "0.0.0.0/0", "description": "ssh"})),
    ),
    (
        "security-group-open-to-world",
        "ipv6Ranges items cidrIpv6 ::/0",
        ec2("AuthorizeSecurityGroupIngress", permissions({"cidrIpv6": "::/0"}, key="ipv6Ranges")),
    ),
    (
        "security-group-open-to-world",
        "ipPermissions as a list",
        ec2(
            "AuthorizeSecurityGroupIngress",
            {
                "groupId": "sg-0123456789abcdef0",
                "ipPermissions": [
                    {"ipProtocol": "tcp", "fromPort": 3389, "toPort": 3389, "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}
                ],
            },
        ),
    ),
    (
        "security-group-open-to-world",
        "top-level cidrIp (EC2-Classic / old CLI form)",
        ec2(
            "AuthorizeSecurityGroupIngress",
            {
                "groupId": "sg-0123456789abcdef0",
                "ipPermissions": {},
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "cidrIp": "0.0.0.0/0",
            },
        ),
    ),
    (
        "security-group-open-to-world",
        "top-level cidrIp with a group name",
        ec2("AuthorizeSecurityGroupIngress", {"groupName": "default", "ipProtocol": "-1", "cidrIp": "0.0.0.0/0"}),
    ),
    (
        "security-group-open-to-world",
        "ModifySecurityGroupRules CidrIpv4",
        ec2("ModifySecurityGroupRules", sg_rule(CidrIpv4="0.0.0.0/0")),
    ),
    (
        "security-group-open-to-world",
        "ModifySecurityGroupRules CidrIpv6",
        ec2("ModifySecurityGroupRules", sg_rule(CidrIpv6="::/0")),
    ),
    # ---- CloudTrail
    ("cloudtrail-tampering", "StopLogging by name", cloudtrail("StopLogging", {"name": "org-trail"})),
    ("cloudtrail-tampering", "StopLogging by ARN", cloudtrail("StopLogging", {"name": TRAIL_ARN})),
    ("cloudtrail-tampering", "DeleteTrail by name", cloudtrail("DeleteTrail", {"name": "org-trail"})),
    ("cloudtrail-tampering", "DeleteTrail by ARN", cloudtrail("DeleteTrail", {"name": TRAIL_ARN})),
    (
        "cloudtrail-tampering",
        "PutEventSelectors without management events",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": TRAIL_ARN,
                "eventSelectors": [
                    {
                        "readWriteType": "All",
                        "includeManagementEvents": False,
                        "dataResources": [],
                        "excludeManagementEventSources": [],
                    }
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "PutEventSelectors write-only",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "eventSelectors": [{"readWriteType": "WriteOnly", "includeManagementEvents": True}],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "PutEventSelectors excluding KMS events",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "eventSelectors": [
                    {
                        "readWriteType": "All",
                        "includeManagementEvents": True,
                        "excludeManagementEventSources": ["kms.amazonaws.com"],
                    }
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "UpdateTrail to a single region",
        cloudtrail("UpdateTrail", {"name": TRAIL_ARN, "isMultiRegionTrail": False}),
    ),
    (
        "cloudtrail-tampering",
        "UpdateTrail without global service events",
        cloudtrail("UpdateTrail", {"name": "org-trail", "includeGlobalServiceEvents": False}),
    ),
    (
        "cloudtrail-tampering",
        "UpdateTrail without log file validation",
        cloudtrail("UpdateTrail", {"name": "org-trail", "enableLogFileValidation": False}),
    ),
    (
        "cloudtrail-tampering",
        "PutEventSelectors two selectors, neither all management (defaults read)",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "eventSelectors": [
                    {"readWriteType": "ReadOnly"},
                    {
                        "includeManagementEvents": False,
                        "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
                    },
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "advanced selectors: data events only",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": TRAIL_ARN,
                "advancedEventSelectors": [
                    {
                        "name": "S3 data",
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Data"]},
                            {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        ],
                    }
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "advanced selectors: management writes only",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "advancedEventSelectors": [
                    {
                        "name": "writes",
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Management"]},
                            {"field": "readOnly", "equals": ["false"]},
                        ],
                    }
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "advanced selectors: management without KMS",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "advancedEventSelectors": [
                    {
                        "fieldSelectors": [
                            {"equals": ["Management"], "field": "eventCategory"},
                            {"field": "eventSource", "notEquals": ["kms.amazonaws.com"]},
                        ]
                    }
                ],
            },
        ),
    ),
    # ---- IAM policies
    (
        "iam-admin-policy-attached",
        "AttachUserPolicy AdministratorAccess",
        iam("AttachUserPolicy", {"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ),
    (
        "iam-admin-policy-attached",
        "PutRolePolicy plain JSON text",
        iam("PutRolePolicy", {"roleName": "ops", "policyName": "p", "policyDocument": doc(ADMIN)}),
    ),
    (
        "iam-admin-policy-attached",
        "PutUserPolicy URL-encoded",
        iam("PutUserPolicy", {"userName": "mallory", "policyName": "p", "policyDocument": quote(doc(ADMIN), safe="")}),
    ),
    (
        "iam-admin-policy-attached",
        "PutUserPolicy form-encoded (plus for blanks)",
        iam(
            "PutUserPolicy",
            {
                "userName": "mallory",
                "policyName": "p",
                "policyDocument": quote_plus(json.dumps({"Version": "2012-10-17", "Statement": ADMIN}, indent=2)),
            },
        ),
    ),
    (
        "iam-admin-policy-attached",
        "PutGroupPolicy pretty-printed, Action a list holding *",
        pretty_group_policy(["s3:GetObject", "*"]),
    ),
    (
        "iam-admin-policy-attached",
        "CreatePolicyVersion setAsDefault",
        iam(
            "CreatePolicyVersion",
            {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ops", "policyDocument": doc(ADMIN), "setAsDefault": True},
        ),
    ),
    # ---- role trust
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy Principal *",
        iam("UpdateAssumeRolePolicy", {"roleName": "ops", "policyDocument": doc(TRUST_EVERYONE)}),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy AWS *",
        iam("UpdateAssumeRolePolicy", {"roleName": "ops", "policyDocument": trust({"AWS": "*"})}),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy AWS [own root, *]",
        iam(
            "UpdateAssumeRolePolicy",
            {"roleName": "ops", "policyDocument": trust({"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]})},
        ),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy external account ARN",
        iam(
            "UpdateAssumeRolePolicy",
            {"roleName": "ops", "policyDocument": trust({"AWS": f"arn:aws:iam::{OTHER}:root"})},
        ),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy external bare account id",
        iam("UpdateAssumeRolePolicy", {"roleName": "ops", "policyDocument": trust({"AWS": OTHER})}),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy URL-encoded, external account",
        iam(
            "UpdateAssumeRolePolicy",
            {
                "roleName": "ops",
                "policyDocument": quote(trust({"AWS": [ACCOUNT, f"arn:aws:iam::{OTHER}:user/x"]}), safe=""),
            },
        ),
    ),
    (
        "iam-role-trust-opened",
        "CreateRole trusting everyone, pretty-printed",
        iam(
            "CreateRole",
            {
                "roleName": "ops",
                "assumeRolePolicyDocument": json.dumps(
                    {"Version": "2012-10-17", "Statement": [TRUST_EVERYONE]}, indent=2
                ),
            },
        ),
    ),
    # ---- snapshots and images
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute add userId",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": OTHER}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute add group all",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute attributeType + operationType add + userIds",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "createVolumePermission",
                "operationType": "add",
                "userIds": {"items": [{"userId": OTHER}]},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute operationType add + userIds as a list",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attribute": "createVolumePermission",
                "operationType": "add",
                "userIds": [OTHER],
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute operationType add + group all",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "operationType": "add",
                "groupNames": {"items": [{"groupName": "all"}]},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute launchPermission add userId",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "launchPermission": {"add": {"items": [{"userId": OTHER}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute launchPermission add group all",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "launchPermission": {"add": {"items": [{"group": "all"}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute launchPermission add organizationArn",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "launchPermission": {
                    "add": {"items": [{"organizationArn": "arn:aws:organizations::999988887777:organization/o-abc"}]}
                },
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute operationType add + userGroups all",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "operationType": "add",
                "userGroups": ["all"],
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBSnapshotAttribute valuesToAdd account",
        rds(
            "ModifyDBSnapshotAttribute",
            {"dBSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": [OTHER]},
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBSnapshotAttribute valuesToAdd all",
        rds(
            "ModifyDBSnapshotAttribute",
            {"dBSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": ["all"]},
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBClusterSnapshotAttribute valuesToAdd account",
        rds(
            "ModifyDBClusterSnapshotAttribute",
            {"dBClusterSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": [OTHER]},
        ),
    ),
    # ---- S3
    ("s3-bucket-opened-to-everyone", "PutBucketAcl grant to AllUsers", s3("PutBucketAcl", grant(ALL_USERS))),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl grant to AuthenticatedUsers",
        s3("PutBucketAcl", grant(AUTHENTICATED, "WRITE")),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl x-amz-grant-read header",
        s3(
            "PutBucketAcl",
            {
                "bucketName": "reports",
                "acl": [""],
                "x-amz-grant-read": [f'uri="{ALL_USERS}"'],
                "Host": "reports.s3.amazonaws.com",
            },
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl canned public-read",
        s3("PutBucketAcl", {"bucketName": "reports", "acl": [""], "x-amz-acl": ["public-read"]}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "CreateBucket canned public-read-write",
        s3(
            "CreateBucket",
            {"bucketName": "reports", "x-amz-acl": "public-read-write", "Host": "reports.s3.amazonaws.com"},
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy Principal *",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy AWS *",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"],
                }
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy AWS [account, *]",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*",
                }
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy single statement object, after a deny",
        s3(
            "PutBucketPolicy",
            {
                "bucketName": "reports",
                "bucketPolicy": {
                    "Version": "2012-10-17",
                    "Statement": {
                        "Sid": "Public",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::reports/*",
                    },
                },
            },
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy as escaped JSON text",
        s3(
            "PutBucketPolicy",
            {
                "bucketName": "reports",
                "bucketPolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::reports/*",
                    }
                ),
            },
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "DeleteBucketPublicAccessBlock",
        s3("DeleteBucketPublicAccessBlock", {"bucketName": "reports", "publicAccessBlock": [""]}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPublicAccessBlock all false",
        s3(
            "PutBucketPublicAccessBlock",
            {"bucketName": "reports", "publicAccessBlock": [""], "PublicAccessBlockConfiguration": block(False)},
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPublicAccessBlock one false",
        s3(
            "PutBucketPublicAccessBlock",
            {
                "bucketName": "reports",
                "publicAccessBlock": [""],
                "PublicAccessBlockConfiguration": block(True, BlockPublicPolicy=False),
            },
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "account DeletePublicAccessBlock (s3control)",
        s3("DeleteAccountPublicAccessBlock", {"x-amz-account-id": ACCOUNT}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "account PutPublicAccessBlock false (s3control)",
        s3(
            "PutAccountPublicAccessBlock", {"x-amz-account-id": ACCOUNT, "PublicAccessBlockConfiguration": block(False)}
        ),
    ),
    # ---- Lambda, EC2 user data, KMS
    (
        "lambda-function-tampering",
        "AddPermission to *",
        lam(
            "AddPermission20150331v2",
            {"functionName": "f", "statementId": "s", "action": "lambda:InvokeFunction", "principal": "*"},
        ),
    ),
    (
        "lambda-function-tampering",
        "AddPermission to another account",
        lam(
            "AddPermission20150331v2",
            {
                "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",
                "statementId": "s",
                "action": "lambda:InvokeFunction",
                "principal": OTHER,
            },
        ),
    ),
    (
        "lambda-function-tampering",
        "CreateFunctionUrlConfig authType NONE",
        lam("CreateFunctionUrlConfig20211031", {"functionName": "f", "authType": "NONE"}),
    ),
    (
        "lambda-function-tampering",
        "UpdateFunctionUrlConfig authType NONE",
        lam("UpdateFunctionUrlConfig20211031", {"functionName": "f", "authType": "NONE", "qualifier": "live"}),
    ),
    (
        "ec2-user-data-or-password-read",
        "ModifyInstanceAttribute userData",
        ec2("ModifyInstanceAttribute", {"instanceId": "i-0123456789abcdef0", "userData": "<sensitiveDataRemoved>"}),
    ),
    (
        "ec2-user-data-or-password-read",
        "ModifyInstanceAttribute userData value object",
        ec2(
            "ModifyInstanceAttribute",
            {"instanceId": "i-0123456789abcdef0", "userData": {"value": "<sensitiveDataRemoved>"}},
        ),
    ),
    (
        "ec2-user-data-or-password-read",
        "ModifyInstanceAttribute attribute userData + value",
        ec2(
            "ModifyInstanceAttribute",
            {"instanceId": "i-0123456789abcdef0", "attribute": "userData", "value": "<sensitiveDataRemoved>"},
        ),
    ),
    (
        "ec2-user-data-or-password-read",
        "DescribeInstanceAttribute userData",
        ec2("DescribeInstanceAttribute", {"instanceId": "i-0123456789abcdef0", "attribute": "userData"}),
    ),
    (
        "kms-key-deletion",
        "ScheduleKeyDeletion by key ARN",
        kms(
            "ScheduleKeyDeletion",
            {
                "keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "pendingWindowInDays": 7,
            },
        ),
    ),
    ("kms-key-deletion", "DisableKey by id", kms("DisableKey", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"})),
    (
        "kms-key-deletion",
        "DeleteImportedKeyMaterial",
        kms("DeleteImportedKeyMaterial", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
    ),
]

#: (detection, case name, event): a near miss, the detection must not fire.
NEGATIVE: list[tuple[str, str, dict[str, Any]]] = [
    (
        "security-group-open-to-world",
        "ipRanges 10.0.0.0/8",
        ec2("AuthorizeSecurityGroupIngress", permissions({"cidrIp": "10.0.0.0/8"})),
    ),
    (
        "security-group-open-to-world",
        "ipv6Ranges a /64",
        ec2("AuthorizeSecurityGroupIngress", permissions({"cidrIpv6": "2001:db8::/64"}, key="ipv6Ranges")),
    ),
    (
        "security-group-open-to-world",
        "top-level cidrIp a /32",
        ec2(
            "AuthorizeSecurityGroupIngress",
            {
                "groupId": "sg-0123456789abcdef0",
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "cidrIp": "198.51.100.10/32",
            },
        ),
    ),
    (
        "security-group-open-to-world",
        "ModifySecurityGroupRules CidrIpv4 10.0.0.0/8",
        ec2("ModifySecurityGroupRules", sg_rule(CidrIpv4="10.0.0.0/8")),
    ),
    (
        "security-group-open-to-world",
        "world ingress refused",
        {
            **ec2("AuthorizeSecurityGroupIngress", permissions({"cidrIp": "0.0.0.0/0"})),
            "errorCode": "Client.UnauthorizedOperation",
            "errorMessage": "You are not authorized",
        },
    ),
    (
        "cloudtrail-tampering",
        "StopLogging refused",
        {**cloudtrail("StopLogging", {"name": TRAIL_ARN}), "errorCode": "AccessDenied"},
    ),
    ("cloudtrail-tampering", "StartLogging", cloudtrail("StartLogging", {"name": TRAIL_ARN})),
    (
        "cloudtrail-tampering",
        "PutEventSelectors logging everything",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "eventSelectors": [
                    {
                        "readWriteType": "All",
                        "includeManagementEvents": True,
                        "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
                        "excludeManagementEventSources": [],
                    }
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "UpdateTrail to log more",
        cloudtrail(
            "UpdateTrail",
            {
                "name": TRAIL_ARN,
                "isMultiRegionTrail": True,
                "includeGlobalServiceEvents": True,
                "enableLogFileValidation": True,
            },
        ),
    ),
    (
        "iam-admin-policy-attached",
        "AttachUserPolicy ReadOnlyAccess",
        iam("AttachUserPolicy", {"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ),
    (
        "iam-admin-policy-attached",
        "PutRolePolicy s3:*",
        iam(
            "PutRolePolicy",
            {
                "roleName": "ops",
                "policyName": "p",
                "policyDocument": quote(doc({"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}), safe=""),
            },
        ),
    ),
    (
        "iam-admin-policy-attached",
        "PutUserPolicy denying everything",
        iam(
            "PutUserPolicy",
            {
                "userName": "mallory",
                "policyName": "p",
                "policyDocument": doc({"Effect": "Deny", "Action": "*", "Resource": "*"}),
            },
        ),
    ),
    (
        "iam-admin-policy-attached",
        "CreatePolicyVersion not the default",
        iam(
            "CreatePolicyVersion",
            {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ops", "policyDocument": doc(ADMIN), "setAsDefault": False},
        ),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy service principal",
        iam("UpdateAssumeRolePolicy", {"roleName": "ops", "policyDocument": trust({"Service": "ec2.amazonaws.com"})}),
    ),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy own account, external id condition",
        iam(
            "UpdateAssumeRolePolicy",
            {
                "roleName": "ops",
                "policyDocument": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/admin"]},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": OTHER}},
                    }
                ),
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute shared with nobody",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"group": "none"}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute remove userId",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"remove": {"items": [{"userId": OTHER}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifySnapshotAttribute operationType remove + userIds",
        ec2(
            "ModifySnapshotAttribute",
            {
                "snapshotId": "snap-0123456789abcdef0",
                "attributeType": "createVolumePermission",
                "operationType": "remove",
                "userIds": {"items": [{"userId": OTHER}]},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute remove group all",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "launchPermission": {"remove": {"items": [{"group": "all"}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute description",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "description",
                "description": {"value": "all 111122223333 builds"},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBSnapshotAttribute valuesToAdd empty",
        rds(
            "ModifyDBSnapshotAttribute", {"dBSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": []}
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBSnapshotAttribute valuesToRemove all",
        rds(
            "ModifyDBSnapshotAttribute",
            {"dBSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToRemove": ["all"]},
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl grant to LogDelivery",
        s3("PutBucketAcl", grant(LOG_DELIVERY, "WRITE")),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl canned private",
        s3("PutBucketAcl", {"bucketName": "reports", "acl": [""], "x-amz-acl": ["private"]}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy for one account",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*",
                }
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy deny * without TLS, allow one account",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::reports/*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "s3:*",
                    "Resource": "arn:aws:s3:::reports/*",
                },
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy * limited to the organisation",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::reports/*",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                }
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy service principal",
        s3(
            "PutBucketPolicy",
            bucket_policy(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::reports/*",
                }
            ),
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPublicAccessBlock all true",
        s3(
            "PutBucketPublicAccessBlock",
            {"bucketName": "reports", "publicAccessBlock": [""], "PublicAccessBlockConfiguration": block(True)},
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "account PutPublicAccessBlock all true",
        s3("PutAccountPublicAccessBlock", {"x-amz-account-id": ACCOUNT, "PublicAccessBlockConfiguration": block(True)}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "DeleteBucketPublicAccessBlock refused",
        {**s3("DeleteBucketPublicAccessBlock", {"bucketName": "reports"}), "errorCode": "AccessDenied"},
    ),
    (
        "lambda-function-tampering",
        "AddPermission to a service",
        lam(
            "AddPermission20150331v2",
            {
                "functionName": "f",
                "statementId": "s",
                "action": "lambda:InvokeFunction",
                "principal": "s3.amazonaws.com",
                "sourceAccount": ACCOUNT,
            },
        ),
    ),
    (
        "lambda-function-tampering",
        "CreateFunctionUrlConfig authType AWS_IAM",
        lam("CreateFunctionUrlConfig20211031", {"functionName": "f", "authType": "AWS_IAM"}),
    ),
    (
        "ec2-user-data-or-password-read",
        "ModifyInstanceAttribute disableApiTermination",
        ec2(
            "ModifyInstanceAttribute", {"instanceId": "i-0123456789abcdef0", "disableApiTermination": {"value": False}}
        ),
    ),
    (
        "ec2-user-data-or-password-read",
        "DescribeInstanceAttribute instanceType",
        ec2("DescribeInstanceAttribute", {"instanceId": "i-0123456789abcdef0", "attribute": "instanceType"}),
    ),
    (
        "kms-key-deletion",
        "CancelKeyDeletion",
        kms("CancelKeyDeletion", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
    ),
    (
        "kms-key-deletion",
        "ScheduleKeyDeletion refused",
        {
            **kms("ScheduleKeyDeletion", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
            "errorCode": "AccessDeniedException",
        },
    ),
    (
        "cloudtrail-tampering",
        "PutEventSelectors all management plus read-only data events",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": "org-trail",
                "eventSelectors": [
                    {"readWriteType": "All", "includeManagementEvents": True, "excludeManagementEventSources": []},
                    {
                        "readWriteType": "ReadOnly",
                        "includeManagementEvents": False,
                        "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}],
                    },
                ],
            },
        ),
    ),
    (
        "cloudtrail-tampering",
        "advanced selectors: all management plus S3 data",
        cloudtrail(
            "PutEventSelectors",
            {
                "trailName": TRAIL_ARN,
                "advancedEventSelectors": [
                    {
                        "name": "Management events",
                        "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}],
                    },
                    {
                        "name": "S3 data",
                        "fieldSelectors": [
                            {"field": "eventCategory", "equals": ["Data"]},
                            {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        ],
                    },
                ],
            },
        ),
    ),
    (
        "security-group-open-to-world",
        "ModifySecurityGroupRules CidrIpv6 a /64",
        ec2("ModifySecurityGroupRules", sg_rule(CidrIpv6="2001:db8::/64")),
    ),
    (
        "security-group-open-to-world",
        "ipPermissions list 10.0.0.0/8",
        ec2(
            "AuthorizeSecurityGroupIngress",
            {
                "groupId": "sg-0123456789abcdef0",
                "ipPermissions": [
                    {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": [{"cidrIp": "10.0.0.0/8"}]}
                ],
            },
        ),
    ),
    ("cloudtrail-tampering", "DescribeTrails by ARN", cloudtrail("DescribeTrails", {"trailNameList": [TRAIL_ARN]})),
    (
        "iam-role-trust-opened",
        "UpdateAssumeRolePolicy URL-encoded, own account only",
        iam(
            "UpdateAssumeRolePolicy",
            {
                "roleName": "ops",
                "policyDocument": quote(trust({"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"]}), safe=""),
            },
        ),
    ),
    (
        "iam-role-trust-opened",
        "CreateRole for Lambda",
        iam("CreateRole", {"roleName": "fn", "assumeRolePolicyDocument": trust({"Service": "lambda.amazonaws.com"})}),
    ),
    (
        "iam-admin-policy-attached",
        "PutGroupPolicy pretty-printed read-only list",
        pretty_group_policy(["s3:Get*", "s3:List*"]),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyImageAttribute add this account",
        ec2(
            "ModifyImageAttribute",
            {
                "imageId": "ami-0123456789abcdef0",
                "attributeType": "launchPermission",
                "launchPermission": {"add": {"items": [{"userId": ACCOUNT}]}},
            },
        ),
    ),
    (
        "snapshot-or-image-shared",
        "ModifyDBClusterSnapshotAttribute valuesToAdd this account",
        rds(
            "ModifyDBClusterSnapshotAttribute",
            {"dBClusterSnapshotIdentifier": "prod", "attributeName": "restore", "valuesToAdd": [ACCOUNT]},
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketAcl x-amz-grant-read to a canonical user",
        s3("PutBucketAcl", {"bucketName": "reports", "acl": [""], "x-amz-grant-read": ['id="abc123canonical"']}),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "PutBucketPolicy as escaped JSON text, one account",
        s3(
            "PutBucketPolicy",
            {
                "bucketName": "reports",
                "bucketPolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::reports/*",
                    }
                ),
            },
        ),
    ),
    (
        "s3-bucket-opened-to-everyone",
        "CreateBucket private",
        s3("CreateBucket", {"bucketName": "reports", "x-amz-acl": "private"}),
    ),
]

LIBRARY = load_library()


def findings(tmp_path: Path, detection: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The detection's rows over the record's day (each row is evidence of a finding)."""
    deliver(tmp_path / "logs", [record], "shape")
    with Session(logs=tmp_path / "logs") as session:
        run = run_query(session, LIBRARY[detection], {"since": DAY, "until": "2025-05-06"})
    assert run.error is None, run.error
    assert bool(run.findings) == bool(run.rows)
    return run.rows


def test_every_case_names_a_detection_and_every_detection_has_both_kinds() -> None:
    for detection, _, _ in POSITIVE + NEGATIVE:
        assert LIBRARY[detection].kind == "detection"
    assert {d for d, _, _ in POSITIVE} == {d for d, _, _ in NEGATIVE}


@pytest.mark.parametrize(
    ("detection", "record"), [(d, e) for d, _, e in POSITIVE], ids=[f"{d}: {n}" for d, n, _ in POSITIVE]
)
def test_fires_on_shape(tmp_path: Path, detection: str, record: dict[str, Any]) -> None:
    rows = findings(tmp_path, detection, record)
    assert len(rows) == 1 and rows[0]["account_id"] == ACCOUNT
    assert rows[0].get("eventid", record["eventID"]) == record["eventID"]  # grouped detections have no event id


@pytest.mark.parametrize(
    ("detection", "record"), [(d, e) for d, _, e in NEGATIVE], ids=[f"{d}: {n}" for d, n, _ in NEGATIVE]
)
def test_quiet_on_near_miss(tmp_path: Path, detection: str, record: dict[str, Any]) -> None:
    assert findings(tmp_path, detection, record) == []


def test_trail_named_by_arn_is_reported_by_name(tmp_path: Path) -> None:
    rows = findings(tmp_path, "cloudtrail-tampering", cloudtrail("StopLogging", {"name": TRAIL_ARN}))
    assert rows[0]["trail"] == "org-trail" and rows[0]["target"] == TRAIL_ARN


def test_security_group_ports_are_read_from_every_shape(tmp_path: Path) -> None:
    for n, (name, params) in enumerate(
        [
            ("AuthorizeSecurityGroupIngress", permissions({"cidrIp": "0.0.0.0/0"})),
            (
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-0123456789abcdef0",
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrIp": "0.0.0.0/0",
                },
            ),
            ("ModifySecurityGroupRules", sg_rule(CidrIpv4="0.0.0.0/0")),
        ]
    ):
        rows = findings(tmp_path / str(n), "security-group-open-to-world", ec2(name, params))
        assert (rows[0]["target"], str(rows[0]["from_port"]), str(rows[0]["to_port"])) == (
            "sg-0123456789abcdef0",
            "22",
            "22",
        )
