"""Every statement of ``seed.sql`` runs verbatim and returns the rows Athena would.

The fixture logs are written here with plain ``json``/``gzip`` into the AWSLogs layout:
events in the partitions the seed's queries name (account 123456789012, us-east-1,
January and February 2025) and decoys that must be pruned or filtered (another account,
us-west-2, ap-south-1 which the DDL's enum leaves out, 2025-02-13, March, 2024, a digest
folder). Each query's expected rows are computed independently in plain Python from the
records written, following Athena's semantics (JsonSerDe gives STRING columns holding
JSON objects or booleans as their JSON text; ``=`` and ``!=`` on NULL are not true), and
compared in order with the engine's rows. The single-day queries must open only the files
of their one partition folder.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, engine_session
from trailsql.seed import SEED_DAY, SeedStatement, fill_daily_placeholders, load_seed
from trailsql.session import Result, Session

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
BUCKET = "s3://your-cloudtrail-bucket"
MISSING = object()  # a key left out of the record

JAN_IPS = ("198.51.100.10", "198.51.100.11", "198.51.100.12")
NEW_IPS = ("203.0.113.5", "203.0.113.6", "203.0.113.7")
DECOY_JAN_IP = "192.0.2.50"  # seen in January, but only in decoy partitions: new for the query
FEB_ONLY_IP = "203.0.113.99"  # seen on 2025-02-11 only: new for the query

Partition = tuple[str, str, str, str, str]  # account, region, year, month, day


# --------------------------------------------------------------------------- identities


def iam_user(name: str, account: str = ACCOUNT, mfa: Any = MISSING) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": f"AIDA{zlib.crc32(name.encode()):012d}",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLE" + name.upper()[:6],
        "userName": name,
    }
    if mfa is not MISSING:
        identity["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": "2025-02-01T08:00:00Z", "mfaAuthenticated": mfa},
        }
    return identity


def assumed_role(role: str, session: str, mfa: str = "false", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE{role.upper()}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLE" + session.upper()[:6],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROAEXAMPLE{role.upper()}",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2025-02-01T08:00:00Z", "mfaAuthenticated": mfa},
        },
    }


def root_user(account: str = ACCOUNT) -> dict[str, Any]:
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account}


def aws_service(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


ALICE = iam_user("alice")
BOB = iam_user("bob")
MALLORY = iam_user("mallory")
CAROL = assumed_role("Admin", "carol", mfa="true")
ALICE_ROLE = assumed_role("Admin", "alice")  # no userIdentity.userName: not 'alice' for the query
BATCH = iam_user("batch-bot")
ETL = assumed_role("etl", "i-0abc1234")
CRON = iam_user("cron")
SERVICE = aws_service("cloudtrail.amazonaws.com")


# --------------------------------------------------------------------------- the fixture logs


@dataclass
class Logs:
    """The records written, by partition, and the files holding them."""

    root: Path
    events: list[tuple[Partition, dict[str, Any]]] = field(default_factory=list)
    files: dict[Partition, list[tuple[Path, int]]] = field(default_factory=lambda: defaultdict(list))
    _clock: Counter[dt.date] = field(default_factory=Counter)
    _ids: int = 0

    def add(
        self,
        day: dt.date,
        identity: dict[str, Any],
        source: str,
        name: str,
        ip: Any = JAN_IPS[0],
        *,
        account: str = ACCOUNT,
        region: str = REGION,
        read_only: Any = True,
        error_code: Any = MISSING,
        error_message: Any = MISSING,
        request: Any = None,
        response: Any = None,
        resources: Any = MISSING,
        event_type: str = "AwsApiCall",
        additional: Any = MISSING,
    ) -> dict[str, Any]:
        # Every event of a calendar day gets its own second: ORDER BY eventTime is total.
        self._clock[day] += 1
        second = self._clock[day] * 7
        assert second < 86400
        self._ids += 1
        event_time = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=second)
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": event_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": "aws-cli/2.15.0 Python/3.11.6",
            "errorCode": error_code,
            "errorMessage": error_message,
            "requestParameters": request,
            "responseElements": response,
            "additionalEventData": additional,
            "requestID": f"req-{self._ids:08d}",
            "eventID": f"00000000-0000-4000-8000-{self._ids:012d}",
            "readOnly": read_only,
            "resources": resources,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
        }
        if self._ids % 5 == 0:
            record["sharedEventID"] = f"11111111-0000-4000-8000-{self._ids:012d}"
        record = {k: v for k, v in record.items() if v is not MISSING}
        part = (account, region, f"{day:%Y}", f"{day:%m}", f"{day:%d}")
        self.events.append((part, record))
        return record

    def write(self, per_file: int = 400) -> None:
        """Shuffled records, several delivery files per partition, gzipped as CloudTrail does."""
        by_part: dict[Partition, list[dict[str, Any]]] = defaultdict(list)
        for part, record in self.events:
            by_part[part].append(record)
        rng = random.Random(7)
        for part, records in sorted(by_part.items()):
            account, region, year, month, day = part
            folder = self.root / "AWSLogs" / account / "CloudTrail" / region / year / month / day
            folder.mkdir(parents=True, exist_ok=True)
            rng.shuffle(records)
            for index in range(0, len(records), per_file):
                chunk = records[index : index + per_file]
                name = f"{account}_CloudTrail_{region}_{year}{month}{day}T{index // per_file:04d}Z_{index:016x}.json.gz"
                path = folder / name
                path.write_bytes(gzip.compress(json.dumps({"Records": chunk}).encode()))
                self.files[part].append((path, len(chunk)))
        # Not events: a digest file beside CloudTrail/ and a hidden file in a partition folder.
        digest = self.root / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / REGION / "2025" / "02" / "12"
        digest.mkdir(parents=True)
        (digest / f"{ACCOUNT}_CloudTrail-Digest_{REGION}_Trail_{REGION}_20250212T000000Z.json.gz").write_bytes(
            gzip.compress(json.dumps({"awsAccountId": ACCOUNT, "digestStartTime": "2025-02-11T23:00:00Z"}).encode())
        )

    def select(self, keep: Callable[[Partition], bool]) -> list[dict[str, Any]]:
        return [record for part, record in self.events if keep(part)]


def d(month: int, day: int, year: int = 2025) -> dt.date:
    return dt.date(year, month, day)


FEB = [d(2, n) for n in range(1, 29)]
WEEK = [d(2, n) for n in range(6, 13)]  # the Failed API Calls window
DAY = d(2, 12)
# (account, region, day) of the decoy partitions, all outside the single-day queries' partition. The first
# three and 2024 are outside every query; 2025-02-05 and 02-13 are inside the month-wide ones (02-05 is outside
# the Failed API Calls week); 2025-01-12 is inside the January the new-IP query looks at.
DECOYS = [
    (OTHER_ACCOUNT, REGION, DAY),
    (ACCOUNT, "us-west-2", DAY),
    (ACCOUNT, "ap-south-1", DAY),
    (ACCOUNT, REGION, d(2, 13)),
    (ACCOUNT, REGION, d(3, 12)),
    (ACCOUNT, REGION, d(2, 12, year=2024)),
    (ACCOUNT, REGION, d(2, 5)),
    (ACCOUNT, REGION, d(1, 12)),
]


def build(root: Path) -> Logs:
    logs = Logs(root)
    add = logs.add

    # January: the IPs the "new IP addresses" query has seen before, in its partitions ...
    for n, ip in enumerate([*JAN_IPS, "AWS Internal", *JAN_IPS]):
        add(d(1, 2 + n * 4), BOB, "s3.amazonaws.com", "ListBuckets", ip)
    add(d(1, 31), SERVICE, "sts.amazonaws.com", "AssumeRole", MISSING)
    # ... and one seen in January only outside them.
    for account, region, day in [(OTHER_ACCOUNT, REGION, d(1, 20)), (ACCOUNT, "us-west-2", d(1, 20))]:
        add(day, BOB, "s3.amazonaws.com", "ListBuckets", DECOY_JAN_IP, account=account, region=region)
    add(d(1, 20, year=2024), BOB, "s3.amazonaws.com", "ListBuckets", DECOY_JAN_IP)
    add(d(2, 11), BOB, "s3.amazonaws.com", "ListBuckets", FEB_ONLY_IP)

    # Who Did What Recently: alice's writes on 2025-02-12, and what must not match.
    add(DAY, ALICE, "s3.amazonaws.com", "PutObject", NEW_IPS[0], read_only=False, request={"bucketName": "prod"})
    add(
        DAY,
        ALICE,
        "ec2.amazonaws.com",
        "RunInstances",
        NEW_IPS[0],
        read_only=False,
        error_code="Client.UnauthorizedOperation",
        error_message="You are not authorized to perform this operation.",
    )
    add(
        DAY,
        ALICE,
        "iam.amazonaws.com",
        "CreateUser",
        JAN_IPS[1],
        read_only=False,
        error_code="",
        request={"userName": "eve"},
        response={"user": {"userName": "eve", "userId": "AIDAEVE"}},
    )
    add(
        DAY,
        ALICE,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        JAN_IPS[1],
        read_only=False,
        request={
            "groupId": "sg-0123456789abcdef0",
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                    }
                ]
            },
        },
    )
    add(
        DAY,
        ALICE,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        NEW_IPS[1],
        read_only=False,
        request={
            "bucketName": "prod-data",
            "Host": "prod-data.s3.amazonaws.com",
            "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*"}]},
        },
        resources=[{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::prod-data"}],
    )
    add(
        DAY,
        ALICE,
        "signin.amazonaws.com",
        "ConsoleLogin",
        NEW_IPS[1],
        read_only=False,
        response={"ConsoleLogin": "Success"},
        event_type="AwsConsoleSignIn",
        additional={"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
    )
    add(DAY, ALICE, "s3.amazonaws.com", "ListBuckets", JAN_IPS[0], read_only=True)
    add(DAY, ALICE, "ec2.amazonaws.com", "DescribeInstances", NEW_IPS[2], read_only=True)
    add(DAY, ALICE, "kms.amazonaws.com", "Decrypt", JAN_IPS[0], read_only=MISSING)
    add(DAY, ALICE_ROLE, "s3.amazonaws.com", "DeleteObject", JAN_IPS[0], read_only=False)
    add(DAY, iam_user("Alice"), "s3.amazonaws.com", "DeleteObject", JAN_IPS[0], read_only=False)
    add(DAY, BOB, "s3.amazonaws.com", "DeleteObject", JAN_IPS[2], read_only=False)
    add(d(2, 11), ALICE, "s3.amazonaws.com", "DeleteObject", JAN_IPS[0], read_only=False)
    for account, region, day in DECOYS:
        identity = iam_user("alice", account)
        add(
            day,
            identity,
            "s3.amazonaws.com",
            "DeleteBucket",
            "192.0.2.77",
            read_only=False,
            account=account,
            region=region,
            error_code="AccessDenied",
            request={"bucketName": "decoy"},
        )

    # Daily Security Check on 2025-02-12: two groups above 10 AccessDenied, one at exactly 10.
    for _ in range(15):
        add(
            DAY,
            MALLORY,
            "s3.amazonaws.com",
            "ListBuckets",
            NEW_IPS[2],
            error_code="AccessDenied",
            error_message="Access Denied",
        )
    for _ in range(12):
        add(DAY, MALLORY, "ec2.amazonaws.com", "DescribeInstances", NEW_IPS[2], error_code="AccessDenied")
    for _ in range(10):
        add(
            DAY,
            BOB,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            JAN_IPS[2],
            error_code="AccessDenied",
            error_message="User is not authorized to perform: secretsmanager:GetSecretValue",
        )
    for _ in range(3):
        add(DAY, CAROL, "s3.amazonaws.com", "DeleteBucket", JAN_IPS[1], read_only=False, error_code="AccessDenied")
    for _ in range(11):  # another error code: not counted
        add(
            DAY,
            MALLORY,
            "ec2.amazonaws.com",
            "RunInstances",
            NEW_IPS[2],
            read_only=False,
            error_code="Client.UnauthorizedOperation",
        )
    for _ in range(5):
        add(d(2, 11), BOB, "secretsmanager.amazonaws.com", "GetSecretValue", JAN_IPS[2], error_code="AccessDenied")
    for account, region, day in DECOYS:
        for _ in range(20):
            add(
                day,
                iam_user("bob", account),
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                JAN_IPS[2],
                account=account,
                region=region,
                error_code="AccessDenied",
            )

    # Failed API Calls: other errors, an empty errorCode, no errorCode at all.
    for day in [d(2, 5), *WEEK, d(2, 13)]:
        add(
            day,
            BOB,
            "s3.amazonaws.com",
            "GetObject",
            JAN_IPS[2],
            error_code="NoSuchKey",
            error_message="The specified key does not exist.",
        )
        add(day, CAROL, "dynamodb.amazonaws.com", "Query", JAN_IPS[1], error_code="ThrottlingException")
        add(day, CAROL, "dynamodb.amazonaws.com", "Scan", JAN_IPS[1], error_code="")
        add(day, CAROL, "dynamodb.amazonaws.com", "GetItem", JAN_IPS[1], error_code=None)
        add(day, CAROL, "dynamodb.amazonaws.com", "PutItem", JAN_IPS[1], read_only=False)

    # Console Logins in February (any day), and outside it.
    add(
        d(2, 1),
        root_user(),
        "signin.amazonaws.com",
        "ConsoleLogin",
        NEW_IPS[0],
        read_only=False,
        response={"ConsoleLogin": "Success"},
        event_type="AwsConsoleSignIn",
    )
    add(
        d(2, 8),
        iam_user("bob", mfa="false"),
        "signin.amazonaws.com",
        "ConsoleLogin",
        JAN_IPS[2],
        read_only=False,
        error_message="Failed authentication",
        response={"ConsoleLogin": "Failure"},
        event_type="AwsConsoleSignIn",
    )
    add(
        d(2, 10),
        CAROL,
        "signin.amazonaws.com",
        "ConsoleLogin",
        JAN_IPS[1],
        read_only=False,
        response={"ConsoleLogin": "Success"},
        event_type="AwsConsoleSignIn",
    )
    add(
        d(2, 13),
        iam_user("dave", mfa="true"),
        "signin.amazonaws.com",
        "ConsoleLogin",
        NEW_IPS[1],
        read_only=False,
        response=None,
        event_type="AwsConsoleSignIn",
    )
    add(d(2, 14), BOB, "signin.amazonaws.com", "CheckMfa", JAN_IPS[2], read_only=False)
    for account, region, day in [*DECOYS[:3], (ACCOUNT, REGION, d(3, 1)), (ACCOUNT, REGION, d(1, 31))]:
        add(
            day,
            iam_user("zed", account),
            "signin.amazonaws.com",
            "ConsoleLogin",
            "192.0.2.78",
            account=account,
            region=region,
            read_only=False,
            response={"ConsoleLogin": "Success"},
            event_type="AwsConsoleSignIn",
        )

    # Security group, IAM and S3 policy changes, with look-alikes that must not match.
    sg = {"groupId": "sg-0fedcba9876543210"}
    add(
        d(2, 7),
        CAROL,
        "ec2.amazonaws.com",
        "CreateSecurityGroup",
        JAN_IPS[1],
        read_only=False,
        request={"groupName": "web", "groupDescription": "web tier", "vpcId": "vpc-0123"},
        response={"_return": True, "groupId": "sg-0fedcba9876543210"},
    )
    add(
        d(2, 9),
        BOB,
        "ec2.amazonaws.com",
        "RevokeSecurityGroupEgress",
        JAN_IPS[2],
        read_only=False,
        request={
            **sg,
            "ipPermissions": {"items": [{"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]},
        },
    )
    add(d(2, 13), CAROL, "ec2.amazonaws.com", "DeleteSecurityGroup", JAN_IPS[1], read_only=False, request=sg)
    add(
        d(2, 3),
        CAROL,
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupEgress",
        JAN_IPS[1],
        read_only=False,
        request={**sg, "ipPermissions": {"items": [{"ipProtocol": "udp", "fromPort": 53, "toPort": 53}]}},
    )
    add(d(2, 4), BOB, "ec2.amazonaws.com", "RevokeSecurityGroupIngress", JAN_IPS[2], read_only=False, request=sg)
    add(d(2, 9), BOB, "ec2.amazonaws.com", "DescribeSecurityGroups", JAN_IPS[2], request={"filterSet": {}})
    add(d(2, 9), BOB, "vpc-lattice.amazonaws.com", "CreateSecurityGroup", JAN_IPS[2], read_only=False, request=sg)

    add(
        d(2, 6),
        CAROL,
        "iam.amazonaws.com",
        "AttachUserPolicy",
        JAN_IPS[1],
        read_only=False,
        request={"userName": "eve", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    )
    add(
        d(2, 11),
        CAROL,
        "iam.amazonaws.com",
        "CreateAccessKey",
        JAN_IPS[1],
        read_only=False,
        request={"userName": "eve"},
        response={"accessKey": {"accessKeyId": "AKIAEVE", "status": "Active"}},
    )
    add(d(2, 13), CAROL, "iam.amazonaws.com", "DeleteRole", JAN_IPS[1], read_only=False, request={"roleName": "old"})
    add(
        d(2, 2),
        CAROL,
        "iam.amazonaws.com",
        "PutUserPolicy",
        JAN_IPS[1],
        read_only=False,
        request={"userName": "eve", "policyName": "inline", "policyDocument": '{"Version":"2012-10-17"}'},
    )
    add(d(2, 10), BOB, "iam.amazonaws.com", "ListUsers", JAN_IPS[2], request=None)
    add(d(2, 10), BOB, "iam.amazonaws.com", "GetUser", JAN_IPS[2], request={"userName": "bob"})
    add(d(2, 10), CAROL, "sts.amazonaws.com", "CreateRole", JAN_IPS[1], read_only=False, request={"roleName": "x"})

    s3_resources = [{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs-bucket"}]
    add(
        d(2, 9),
        BOB,
        "s3.amazonaws.com",
        "PutBucketAcl",
        JAN_IPS[2],
        read_only=False,
        request={"bucketName": "logs-bucket", "Host": "logs-bucket.s3.amazonaws.com", "acl": [""]},
        resources=s3_resources,
    )
    add(
        d(2, 3),
        CAROL,
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        JAN_IPS[1],
        read_only=False,
        request={"bucketName": "old-bucket", "Host": "old-bucket.s3.amazonaws.com", "policy": [""]},
    )
    add(
        d(2, 10),
        CAROL,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        JAN_IPS[1],
        read_only=False,
        request={"Host": "s3.amazonaws.com"},
    )
    add(d(2, 10), BOB, "s3.amazonaws.com", "GetBucketPolicy", JAN_IPS[2], request={"bucketName": "logs-bucket"})
    for account, region, day in DECOYS[:5]:
        for source, name in [
            ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
            ("iam.amazonaws.com", "CreateUser"),
            ("s3.amazonaws.com", "PutBucketPolicy"),
        ]:
            if day.month != 2 or region != REGION or account != ACCOUNT:
                add(
                    day,
                    iam_user("zed", account),
                    source,
                    name,
                    NEW_IPS[0],
                    account=account,
                    region=region,
                    read_only=False,
                    request={"bucketName": "decoy", "groupId": "sg-decoy", "userName": "decoy"},
                )

    # Unusual API Call Volumes on 2025-02-12: 1200 and 1001 calls (reported), exactly 1000 (not).
    for n in range(1200):
        add(
            DAY,
            BATCH,
            "s3.amazonaws.com",
            ["GetObject", "HeadObject", "ListObjects", "GetObjectTagging", "GetBucketLocation"][n % 5],
        )
    for n in range(1001):
        add(
            DAY,
            ETL,
            "glue.amazonaws.com",
            ["GetTable", "GetPartitions", "GetDatabase"][n % 3],
            NEW_IPS[2] if n % 250 == 0 else JAN_IPS[1],
        )
    for n in range(1000):
        add(DAY, CRON, "lambda.amazonaws.com", ["Invoke", "GetFunction"][n % 2], JAN_IPS[2])
    for account, region, day in DECOYS[:5]:
        for _ in range(1100):
            add(
                day,
                iam_user("flood", account),
                "s3.amazonaws.com",
                "GetObject",
                JAN_IPS[0],
                account=account,
                region=region,
            )
    # Service events without an arn, from 'AWS Internal', a service name or no address at all.
    for _ in range(4):
        add(DAY, SERVICE, "kms.amazonaws.com", "GenerateDataKey", "AWS Internal", read_only=True)
    add(DAY, SERVICE, "sts.amazonaws.com", "AssumeRole", "cloudtrail.amazonaws.com")
    add(DAY, SERVICE, "sts.amazonaws.com", "AssumeRole", MISSING)
    add(DAY, BOB, "s3.amazonaws.com", "ListBuckets", FEB_ONLY_IP)
    add(DAY, BOB, "s3.amazonaws.com", "ListBuckets", DECOY_JAN_IP)

    add_unauthorized_fillers(logs)
    logs.write()
    return logs


def add_unauthorized_fillers(logs: Logs) -> None:
    """More than 50 (caller, source, action) groups of AccessDenied in February, with distinct counts.

    Distinct counts make ``ORDER BY denied_count DESC LIMIT 50`` deterministic. None of
    them falls on 2025-02-12, where the daily check looks.
    """
    used = set(
        Counter(unauthorized_key(r) for r in logs.select(in_feb) if r.get("errorCode") == "AccessDenied").values()
    )
    counts = [n for n in range(1, 200) if n not in used][:56]
    days = [day for day in FEB if day != DAY]
    for index, count in enumerate(counts):
        user = iam_user(f"filler-{index:02d}")
        for n in range(count):
            logs.add(
                days[(index + n) % len(days)],
                user,
                "s3.amazonaws.com",
                "GetObject",
                JAN_IPS[0],
                error_code="AccessDenied",
                error_message="Access Denied",
            )


# --------------------------------------------------------------------------- Athena semantics in Python


def string(record: dict[str, Any], key: str) -> str | None:
    """A STRING column as the Hive JsonSerDe gives it: JSON text for objects and booleans."""
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def path(record: dict[str, Any], *keys: str) -> Any:
    """A struct field (NULL along a missing or null parent)."""
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def arn(record: dict[str, Any]) -> str | None:
    return path(record, "userIdentity", "arn")


def partition(
    account: str = ACCOUNT,
    region: str = REGION,
    year: str = "2025",
    month: str = "02",
    days: Iterable[str] | None = None,
) -> Callable[[Partition], bool]:
    wanted_days = set(days) if days is not None else None
    return lambda p: p[:4] == (account, region, year, month) and (wanted_days is None or p[4] in wanted_days)


in_feb = partition()
in_day = partition(days=["12"])
in_week = partition(days=[f"{n:02d}" for n in range(1, 32) if "06" <= f"{n:02d}" <= "12"])
in_jan = partition(month="01")


def unauthorized_key(record: dict[str, Any]) -> tuple[Any, ...]:
    return (arn(record), record.get("eventSource"), record.get("eventName"))


def by_time_desc(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    times = [r["eventTime"] for r in records]
    assert len(set(times)) == len(times), "fixture: eventTime must be distinct"
    return sorted(records, key=lambda r: r["eventTime"], reverse=True)


def by_count_desc(groups: Counter[Any], limit: int | None = None) -> list[tuple[Any, int]]:
    ordered = groups.most_common()
    head = ordered[: (limit + 1) if limit else None]
    counts = [c for _, c in head]
    assert len(set(counts)) == len(counts), "fixture: counts must be distinct for a deterministic order"
    return ordered[:limit] if limit else ordered


def who_did_what(logs: Logs) -> list[dict[str, Any]]:
    rows = [
        r
        for r in logs.select(in_day)
        if path(r, "userIdentity", "userName") == "alice" and string(r, "readOnly") == "false"
    ]
    return [
        {
            "eventtime": r["eventTime"],
            "eventsource": r["eventSource"],
            "eventname": r["eventName"],
            "sourceipaddress": string(r, "sourceIPAddress"),
            "errorcode": string(r, "errorCode"),
        }
        for r in by_time_desc(rows)
    ]


def failed_api_calls(logs: Logs) -> list[dict[str, Any]]:
    rows = [r for r in logs.select(in_week) if string(r, "errorCode") not in (None, "")]
    return [
        {
            "eventtime": r["eventTime"],
            "caller": arn(r),
            "eventsource": r["eventSource"],
            "eventname": r["eventName"],
            "errorcode": string(r, "errorCode"),
            "errormessage": string(r, "errorMessage"),
            "sourceipaddress": string(r, "sourceIPAddress"),
        }
        for r in by_time_desc(rows)[:200]
    ]


def unauthorized_access(logs: Logs) -> list[dict[str, Any]]:
    groups = Counter(unauthorized_key(r) for r in logs.select(in_feb) if string(r, "errorCode") == "AccessDenied")
    return [
        {"caller": caller, "eventsource": source, "eventname": name, "denied_count": count}
        for (caller, source, name), count in by_count_desc(groups, 50)
    ]


def console_logins(logs: Logs) -> list[dict[str, Any]]:
    rows = [r for r in logs.select(in_feb) if r["eventName"] == "ConsoleLogin"]
    return [
        {
            "eventtime": r["eventTime"],
            "username": path(r, "userIdentity", "userName"),
            "sourceipaddress": string(r, "sourceIPAddress"),
            "responseelements": string(r, "responseElements"),
            "mfa_used": path(r, "userIdentity", "sessionContext", "attributes", "mfaAuthenticated"),
        }
        for r in by_time_desc(rows)
    ]


def changes(source: str, names: set[str]) -> Callable[[Logs], list[dict[str, Any]]]:
    def expected(logs: Logs) -> list[dict[str, Any]]:
        rows = [r for r in logs.select(in_feb) if r["eventSource"] == source and r["eventName"] in names]
        return [
            {
                "eventtime": r["eventTime"],
                "changed_by": arn(r),
                "eventname": r["eventName"],
                "requestparameters": string(r, "requestParameters"),
            }
            for r in by_time_desc(rows)
        ]

    return expected


security_group_changes = changes(
    "ec2.amazonaws.com",
    {
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
    },
)
iam_changes = changes(
    "iam.amazonaws.com",
    {
        *("CreateUser", "DeleteUser", "CreateRole", "DeleteRole", "AttachUserPolicy", "DetachUserPolicy"),
        *("AttachRolePolicy", "DetachRolePolicy", "PutUserPolicy", "DeleteUserPolicy"),
        *("CreateAccessKey", "DeleteAccessKey"),
    },
)


def json_scalar(document: Any, key: str) -> str | None:
    """``json_extract_scalar(text, '$.key')`` for an object: the scalar's text, NULL otherwise."""
    if not isinstance(document, dict):
        return None
    value = document.get(key)
    if value is None or isinstance(value, (dict, list)):
        return None
    return value if isinstance(value, str) else json.dumps(value)


def s3_policy_changes(logs: Logs) -> list[dict[str, Any]]:
    names = {"PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl"}
    rows = [r for r in logs.select(in_feb) if r["eventSource"] == "s3.amazonaws.com" and r["eventName"] in names]
    return [
        {
            "eventtime": r["eventTime"],
            "changed_by": arn(r),
            "eventname": r["eventName"],
            "bucket_name": json_scalar(r.get("requestParameters"), "bucketName"),
            "sourceipaddress": string(r, "sourceIPAddress"),
        }
        for r in by_time_desc(rows)
    ]


def unusual_volumes(logs: Logs) -> list[dict[str, Any]]:
    calls: Counter[str | None] = Counter()
    actions: dict[str | None, set[str]] = defaultdict(set)
    for r in logs.select(in_day):
        calls[arn(r)] += 1
        actions[arn(r)].add(r["eventName"])
    heavy = Counter({caller: count for caller, count in calls.items() if count > 1000})
    return [
        {"caller": caller, "api_calls": count, "unique_actions": len(actions[caller])}
        for caller, count in by_count_desc(heavy)
    ]


def new_ips(logs: Logs) -> list[dict[str, Any]]:
    seen = {string(r, "sourceIPAddress") for r in logs.select(in_jan)} - {None}
    rows = [
        r
        for r in logs.select(in_day)
        if string(r, "sourceIPAddress") is not None
        and string(r, "sourceIPAddress") not in seen
        and string(r, "sourceIPAddress") != "AWS Internal"
    ]
    return [
        {
            "eventtime": r["eventTime"],
            "caller": arn(r),
            "eventname": r["eventName"],
            "sourceipaddress": string(r, "sourceIPAddress"),
        }
        for r in by_time_desc(rows)
    ]


def daily_check(logs: Logs) -> list[dict[str, Any]]:
    groups = Counter(
        (arn(r), r["eventName"], string(r, "errorCode"))
        for r in logs.select(in_day)
        if string(r, "errorCode") == "AccessDenied"
    )
    heavy = Counter({key: count for key, count in groups.items() if count > 10})
    return [
        {"arn": caller, "eventname": name, "errorcode": code, "count": count}
        for (caller, name, code), count in by_count_desc(heavy)
    ]


@dataclass(frozen=True)
class Expectation:
    rows: Callable[[Logs], list[dict[str, Any]]]
    partitions: Callable[[Partition], bool]  # the partitions the query must read, and no other
    json_columns: tuple[str, ...] = ()
    min_rows: int = 1  # the fixture gives every query something to return


EXPECTATIONS: dict[str, Expectation] = {
    "Who Did What Recently": Expectation(who_did_what, in_day, min_rows=5),
    "Failed API Calls": Expectation(failed_api_calls, in_week, min_rows=200),
    "Unauthorized Access Attempts": Expectation(unauthorized_access, in_feb, min_rows=50),
    "Console Logins": Expectation(console_logins, in_feb, ("responseelements",), min_rows=5),
    "Security Group Changes": Expectation(security_group_changes, in_feb, ("requestparameters",), min_rows=6),
    "IAM Changes": Expectation(iam_changes, in_feb, ("requestparameters",), min_rows=5),
    "S3 Bucket Policy Changes": Expectation(s3_policy_changes, in_feb, min_rows=4),
    "Unusual API Call Volumes": Expectation(unusual_volumes, in_day, min_rows=2),
    "API Calls from New IP Addresses": Expectation(new_ips, lambda p: in_day(p) or in_jan(p), min_rows=10),
    "Daily Security Check": Expectation(daily_check, in_day, min_rows=2),
}


def seed_queries() -> list[SeedStatement]:
    return [s for s in load_seed() if not s.sql.upper().startswith("CREATE")]


def query_sql(statement: SeedStatement) -> str:
    if statement.name.startswith("Daily Security Check"):
        return fill_daily_placeholders(statement.sql, SEED_DAY)
    return statement.sql


def expectation(statement: SeedStatement) -> Expectation:
    return EXPECTATIONS[statement.name.split(" (")[0]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    return build(tmp_path_factory.mktemp("seed") / "bucket")


@pytest.fixture(scope="module", params=ENGINES)
def ddl_session(
    logs: Logs, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Session]:
    """The seed's DDL table, on each engine."""
    workspace = tmp_path_factory.mktemp("workspace")
    session = engine_session(request.param, workspace=workspace, location_maps={BUCKET: str(logs.root)})
    (create,) = [s for s in load_seed() if s.sql.upper().startswith("CREATE")]
    session.execute(create.sql)
    yield session
    session.close()


@pytest.fixture(scope="module", params=ENGINES)
def default_session(logs: Logs, request: pytest.FixtureRequest) -> Iterator[Session]:
    session = engine_session(request.param, logs=logs.root)
    yield session
    session.close()


def normalized(rows: list[dict[str, Any]], json_columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows with JSON text columns parsed, so key order and spacing do not matter."""
    return [{k: json.loads(v) if k in json_columns and v is not None else v for k, v in row.items()} for row in rows]


def check_rows(result: Result, expected: list[dict[str, Any]], json_columns: tuple[str, ...]) -> None:
    assert result.table.column_names == list(expected[0])
    actual = normalized(result.table.to_pylist(), json_columns)
    want = normalized(expected, json_columns)
    assert len(actual) == len(want)
    for index, (got, row) in enumerate(zip(actual, want, strict=True)):
        assert got == row, f"row {index}"


# --------------------------------------------------------------------------- tests


def test_seed_has_the_create_table_and_ten_queries() -> None:
    statements = load_seed()
    assert statements[0].name == "Creating the CloudTrail Table"
    assert statements[0].sql.startswith("CREATE EXTERNAL TABLE cloudtrail_logs")
    assert [expectation(s) for s in seed_queries()] == list(EXPECTATIONS.values())


def test_create_table_runs_verbatim(ddl_session: Session) -> None:
    table = ddl_session.table("cloudtrail_logs")
    assert table is not None
    assert table.partition_names == ("account", "region", "year", "month", "day")
    assert table.projected


def test_fixture_covers_the_decoys(logs: Logs) -> None:
    """Every decoy partition exists on disk, so the pruning assertions mean something."""
    written = set(logs.files)
    for account, region, day in DECOYS:
        assert (account, region, f"{day:%Y}", f"{day:%m}", f"{day:%d}") in written
    assert len(logs.files[(ACCOUNT, REGION, "2025", "02", "12")]) > 1
    readonly = Counter(
        string(r, "readOnly") for r in logs.select(in_day) if path(r, "userIdentity", "userName") == "alice"
    )
    assert readonly["true"] and readonly["false"] and readonly[None]


@pytest.mark.parametrize("statement", seed_queries(), ids=lambda s: s.name.split(" (")[0])
def test_seed_query_over_the_ddl_table(statement: SeedStatement, logs: Logs, ddl_session: Session) -> None:
    want = expectation(statement)
    expected = want.rows(logs)
    assert len(expected) >= want.min_rows, "fixture does not exercise the query"
    result = ddl_session.execute(query_sql(statement))
    check_rows(result, expected, want.json_columns)

    # Only the partitions the query names are opened: decoys are pruned, not filtered.
    files = [f for part, listed in logs.files.items() if want.partitions(part) for f in listed]
    assert result.stats.files_scanned == len(files)
    assert result.stats.events_scanned == sum(n for _, n in files)
    assert result.stats.bytes_scanned == sum(p.stat().st_size for p, _ in files)
    assert result.stats.files_skipped == 0


@pytest.mark.parametrize("statement", seed_queries(), ids=lambda s: s.name.split(" (")[0])
def test_seed_query_over_the_default_table(statement: SeedStatement, logs: Logs, default_session: Session) -> None:
    want = expectation(statement)
    result = default_session.execute(query_sql(statement))
    check_rows(result, want.rows(logs), want.json_columns)

    files = [f for part, listed in logs.files.items() if want.partitions(part) for f in listed]
    assert result.stats.files_scanned == len(files)
    assert result.stats.events_scanned == sum(n for _, n in files)
    assert result.stats.files_skipped == 0


def test_ddl_table_is_kept_in_the_workspace(logs: Logs, ddl_session: Session) -> None:
    """A new session over the same workspace replays the DDL and its location map."""
    session = Session(workspace=ddl_session.workspace.folder)
    try:
        statement = next(s for s in seed_queries() if s.name == "Who Did What Recently")
        result = session.execute(statement.sql)
        check_rows(result, who_did_what(logs), ())
    finally:
        session.close()
