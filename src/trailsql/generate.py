"""A generator of realistic synthetic CloudTrail logs, for tests, demos and benchmarks.

It writes gzipped ``{"Records": [...]}`` files in the AWSLogs layout CloudTrail delivers
(``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail_<region>_
<yyyymmddThhmmZ>_<16 chars>.json.gz``), with field distributions shaped after real trails:
mostly read-only calls by roles and services, a few humans, a few percent of errors
(most of them AccessDenied), console logins with and without MFA, and now and then a
security-relevant change (security groups, IAM, bucket policies).

The output depends only on the arguments: the same seed gives the same bytes.
"""

from __future__ import annotations

import gzip
import os
import random
import string
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

Event = dict[str, Any]
Params = Callable[[random.Random], dict[str, Any] | None]
Job = TypeVar("Job")

_BUCKETS = ["prod-data", "app-logs", "backups-2024", "public-assets", "ml-training", "finance-reports"]
_USERS = ["alice", "bob", "carol", "dave", "deploy-bot", "ci-runner"]
_ROLES = ["Admin", "ReadOnly", "lambda-exec", "ecs-task", "DataPipeline", "OrganizationAccountAccessRole"]
_SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com", "config.amazonaws.com"]
_AGENTS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/s3.ls",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.8",
    "console.amazonaws.com",
    "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 api/ec2#1.150.0",
    "Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
]


def _ip(rng: random.Random) -> str:
    return f"{rng.choice([3, 18, 34, 52, 54, 81, 92, 185, 198, 203])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _bucket(rng: random.Random) -> dict[str, Any]:
    return {"bucketName": rng.choice(_BUCKETS), "Host": "s3.amazonaws.com"}


def _object(rng: random.Random) -> dict[str, Any]:
    return {"bucketName": rng.choice(_BUCKETS), "key": f"data/{rng.randrange(10**6)}.json"}


def _instances(rng: random.Random) -> dict[str, Any]:
    return {"instancesSet": {"items": [{"instanceId": f"i-{rng.randrange(16**12):012x}"}]}, "filterSet": {}}


def _group(rng: random.Random) -> dict[str, Any]:
    cidr = "0.0.0.0/0" if rng.random() < 0.2 else f"10.{rng.randrange(256)}.0.0/16"
    return {
        "groupId": f"sg-{rng.randrange(16**8):08x}",
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": rng.choice([22, 443, 3389]),
                    "toPort": 443,
                    "ipRanges": {"items": [{"cidrIp": cidr}]},
                }
            ]
        },
    }


def _iam_user(rng: random.Random) -> dict[str, Any]:
    return {"userName": rng.choice(_USERS)}


def _iam_policy(rng: random.Random) -> dict[str, Any]:
    return {"roleName": rng.choice(_ROLES), "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}


def _none(rng: random.Random) -> None:
    return None


@dataclass(frozen=True)
class _Call:
    source: str
    name: str
    weight: float
    read_only: bool
    params: Params = _none


# Relative frequencies follow real trails: reads dominate, writes to security
# configuration are rare.
_CALLS = [
    _Call(
        "sts.amazonaws.com",
        "AssumeRole",
        14,
        True,
        lambda r: {"roleArn": f"arn:aws:iam::111122223333:role/{r.choice(_ROLES)}", "roleSessionName": "session"},
    ),
    _Call("s3.amazonaws.com", "GetObject", 12, True, _object),
    _Call("s3.amazonaws.com", "PutObject", 5, False, _object),
    _Call("s3.amazonaws.com", "ListBuckets", 3, True),
    _Call("s3.amazonaws.com", "GetBucketAcl", 3, True, _bucket),
    _Call("s3.amazonaws.com", "GetBucketPolicy", 2, True, _bucket),
    _Call("s3.amazonaws.com", "PutBucketPolicy", 0.05, False, _bucket),
    _Call("s3.amazonaws.com", "PutBucketAcl", 0.05, False, _bucket),
    _Call("s3.amazonaws.com", "DeleteBucketPolicy", 0.02, False, _bucket),
    _Call("ec2.amazonaws.com", "DescribeInstances", 10, True, _instances),
    _Call("ec2.amazonaws.com", "DescribeSecurityGroups", 4, True),
    _Call("ec2.amazonaws.com", "RunInstances", 0.5, False, _instances),
    _Call("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", 0.08, False, _group),
    _Call("ec2.amazonaws.com", "RevokeSecurityGroupIngress", 0.04, False, _group),
    _Call("ec2.amazonaws.com", "CreateSecurityGroup", 0.03, False, _group),
    _Call("ec2.amazonaws.com", "DeleteSecurityGroup", 0.02, False, _group),
    _Call("kms.amazonaws.com", "Decrypt", 8, True, lambda r: {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    _Call("kms.amazonaws.com", "GenerateDataKey", 3, True, lambda r: {"keySpec": "AES_256"}),
    _Call("lambda.amazonaws.com", "Invoke", 4, False, lambda r: {"functionName": f"fn-{r.randrange(20)}"}),
    _Call(
        "logs.amazonaws.com", "PutLogEvents", 6, False, lambda r: {"logGroupName": f"/aws/lambda/fn-{r.randrange(20)}"}
    ),
    _Call("dynamodb.amazonaws.com", "GetItem", 5, True, lambda r: {"tableName": f"table-{r.randrange(5)}"}),
    _Call("iam.amazonaws.com", "GetUser", 1.5, True, _iam_user),
    _Call("iam.amazonaws.com", "ListRoles", 1, True),
    _Call("iam.amazonaws.com", "CreateUser", 0.03, False, _iam_user),
    _Call("iam.amazonaws.com", "DeleteUser", 0.01, False, _iam_user),
    _Call("iam.amazonaws.com", "CreateAccessKey", 0.03, False, _iam_user),
    _Call("iam.amazonaws.com", "AttachRolePolicy", 0.03, False, _iam_policy),
    _Call(
        "iam.amazonaws.com",
        "PutUserPolicy",
        0.02,
        False,
        lambda r: {"userName": r.choice(_USERS), "policyName": "inline"},
    ),
    _Call("iam.amazonaws.com", "CreateRole", 0.02, False, lambda r: {"roleName": r.choice(_ROLES)}),
    _Call("cloudtrail.amazonaws.com", "LookupEvents", 0.5, True),
    _Call("cloudtrail.amazonaws.com", "StopLogging", 0.002, False, lambda r: {"name": "management-trail"}),
    _Call("signin.amazonaws.com", "ConsoleLogin", 0.3, False),
    _Call(
        "secretsmanager.amazonaws.com", "GetSecretValue", 1, True, lambda r: {"secretId": f"prod/db-{r.randrange(4)}"}
    ),
]
_WEIGHTS = [c.weight for c in _CALLS]
_ERRORS = [
    ("AccessDenied", 70),
    ("Client.UnauthorizedOperation", 10),
    ("ThrottlingException", 10),
    ("NoSuchBucket", 5),
    ("ValidationException", 5),
]


@dataclass(frozen=True)
class GenerateOptions:
    """What to generate. ``events`` are spread evenly over accounts, regions and days.

    The defaults cover the account, regions and days the seed workload queries.
    """

    events: int = 10_000
    accounts: tuple[str, ...] = ("123456789012",)
    regions: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1")
    start: date = date(2025, 2, 10)
    days: int = 3
    events_per_file: int = 500
    seed: int = 7
    org_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _identity(rng: random.Random, account: str) -> tuple[dict[str, Any], str]:
    """A principal and the source IP it calls from."""
    roll = rng.random()
    if roll < 0.55:
        role = rng.choice(_ROLES)
        session = rng.choice(["i-0abc123", "botocore-session-1700000000", "alice", "pipeline"])
        role_arn = f"arn:aws:iam::{account}:role/{role}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.randrange(16**8):08X}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.randrange(16**12):012X}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{rng.randrange(16**8):08X}",
                    "arn": role_arn,
                    "accountId": account,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2025-02-10T00:00:00Z", "mfaAuthenticated": "false"},
            },
        }, _ip(rng)
    if roll < 0.80:
        user = rng.choice(_USERS)
        return {
            "type": "IAMUser",
            "principalId": f"AIDA{abs(hash(user)) % 16**8:08X}",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": f"AKIA{rng.randrange(16**6):06X}",
            "userName": user,
        }, _ip(rng)
    if roll < 0.995:
        service = rng.choice(_SERVICES)
        return {"type": "AWSService", "invokedBy": service}, rng.choice([service, "AWS Internal"])
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": f"ASIA{rng.randrange(16**12):012X}",
    }, _ip(rng)


def make_event(rng: random.Random, when: datetime, account: str, region: str) -> Event:
    """One realistic CloudTrail record."""
    call = rng.choices(_CALLS, _WEIGHTS)[0]
    identity, ip = _identity(rng, account)
    event: Event = {
        "eventVersion": "1.09" if rng.random() < 0.8 else "1.08",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": call.source,
        "eventName": call.name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": rng.choice(_AGENTS),
        "requestParameters": call.params(rng),
        "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": call.read_only,
        "eventType": "AwsApiCall",
        "managementEvent": call.source != "s3.amazonaws.com" or "Bucket" in call.name,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{call.source.split('.')[0]}.{region}.amazonaws.com",
        },
    }
    if call.source == "s3.amazonaws.com" and event["requestParameters"]:
        bucket = event["requestParameters"]["bucketName"]
        event["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
        if "key" in event["requestParameters"]:
            event["resources"].insert(
                0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{event['requestParameters']['key']}"}
            )
            event["additionalEventData"] = {"bytesTransferredIn": 0.0, "x-amz-id-2": "abc"}
    if call.name == "ConsoleLogin":
        _console_login(rng, event)
    elif rng.random() < 0.05:
        code = rng.choices([c for c, _ in _ERRORS], [w for _, w in _ERRORS])[0]
        event["errorCode"] = code
        event["errorMessage"] = (
            f"User: {identity.get('arn', 'unknown')} is not authorized to perform: {call.source.split('.')[0]}:{call.name}"
        )
    elif call.name in ("RunInstances", "CreateAccessKey", "CreateSecurityGroup"):
        event["responseElements"] = {"requestId": event["requestID"], "_return": True}
    return event


def _console_login(rng: random.Random, event: Event) -> None:
    ok = rng.random() < 0.9
    event["eventType"] = "AwsConsoleSignIn"
    event["readOnly"] = False
    event["userAgent"] = _AGENTS[-1]
    event["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
    event["additionalEventData"] = {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
        "MFAUsed": "Yes" if rng.random() < 0.7 else "No",
    }
    if not ok:
        event["errorMessage"] = "Failed authentication"


@dataclass(frozen=True)
class _FileJob:
    path: str
    account: str
    region: str
    start: datetime
    seconds: int
    count: int
    seed: int


def _plan(options: GenerateOptions, out: Path) -> Iterator[_FileJob]:
    rng = random.Random(options.seed)
    partitions = [
        (a, r, options.start + timedelta(days=d))
        for a in options.accounts
        for r in options.regions
        for d in range(options.days)
    ]
    per_partition, remainder = divmod(options.events, len(partitions))
    for index, (account, region, day) in enumerate(partitions):
        count = per_partition + (1 if index < remainder else 0)
        files = max(1, round(count / options.events_per_file))
        sizes = [count // files + (1 if i < count % files else 0) for i in range(files)]
        base = datetime(day.year, day.month, day.day, tzinfo=UTC)
        window = 86400 // files
        folder = log_folder(out, options.org_id, account, region, day)
        for i, size in enumerate(sizes):
            begin = base + timedelta(seconds=i * window)
            name = log_name(account, region, begin, rng)
            yield _FileJob(str(folder / name), account, region, begin, window, size, rng.getrandbits(32))


def log_folder(out: Path, org_id: str | None, account: str, region: str, day: date) -> Path:
    """The AWSLogs folder CloudTrail delivers one account's, region's and day's files to."""
    folder = out / "AWSLogs"
    if org_id:
        folder = folder / org_id
    return folder / account / "CloudTrail" / region / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"


def log_name(account: str, region: str, begin: datetime, rng: random.Random) -> str:
    """A CloudTrail log file name; its 16-character suffix is drawn from ``rng``."""
    suffix = "".join(rng.choices(string.ascii_letters + string.digits, k=16))
    stamp = begin.strftime("%Y%m%dT%H%MZ")
    return f"{account}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"


def _write(job: _FileJob) -> int:
    rng = random.Random(job.seed)
    offsets = sorted(rng.randrange(job.seconds) for _ in range(job.count))
    records = [make_event(rng, job.start + timedelta(seconds=s), job.account, job.region) for s in offsets]
    return write_records(job.path, records)


def write_records(path: str, records: list[Event]) -> int:
    """Write one gzipped ``{"Records": [...]}`` file atomically (no gzip timestamp, so the bytes are reproducible)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(orjson.dumps({"Records": records}))
    os.replace(tmp, path)
    return len(records)


def generate(
    out: Path | str,
    options: GenerateOptions = GenerateOptions(),
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Write the logs under ``out`` and return the number of events written."""
    return run_jobs(_write, list(_plan(options, Path(out))), progress, workers)


def run_jobs(
    write: Callable[[Job], int],
    jobs: list[Job],
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Run ``write`` over the file jobs, in worker processes when there are several, and sum what they wrote."""
    total = 0
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        results: Iterator[int] = map(write, jobs)
    else:
        pool = ProcessPoolExecutor(workers)
        results = pool.map(write, jobs, chunksize=4)
    for written in results:
        total += written
        if progress:
            progress(written)
    if workers > 1:
        pool.shutdown()
    return total
