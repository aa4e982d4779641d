"""A benign, day-shaped CloudTrail workload: the background for measuring false positives.

``trailsql generate --profile benign`` writes one ordinary working day of one account: a
fixed EC2 fleet whose instance-profile sessions persist (and rotate every six hours),
GitHub Actions deploys through OIDC, SSO users at the office and at home, a few IAM
users with long-lived keys (one of them rotating its own key), terraform applies,
AWS services acting on the account's behalf, and the routine errors of a real trail
(throttling, Config's NoSuchBucketPolicy, one monitoring role steadily denied).

Nothing in it is an attack technique; see docs/benign-background.md for the model and
for what is deliberately absent. The world (identities, keys, addresses, schedules) is
derived from the seed alone, so each file can be written by its own process and the
same seed gives the same bytes.
"""

from __future__ import annotations

import json
import math
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from trailsql.generate import Event, GenerateOptions, log_folder, log_name, run_jobs, write_records

ONE_DAY = GenerateOptions(events=200_000, days=1)

WINDOW = 300  # CloudTrail delivers a file per region about every five minutes
SESSION_SECONDS = 6 * 3600  # instance-profile credentials rotate every six hours
UTC_OFFSET = -5  # the team works in US Eastern (standard) time
SIGN_IN_LEAD = 90  # people sign in this many seconds before their first console call

# How busy people are at each local hour, 0-23: a morning ramp, a lunch dip, an evening tail.
_BUSINESS = [0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.6, 0.9, 1.0, 1.0,
             0.7, 0.85, 1.0, 0.95, 0.8, 0.55, 0.3, 0.15, 0.1, 0.06, 0.04, 0.03]  # fmt: skip

_B32 = string.ascii_uppercase + "234567"
_SERVICES = ["orders-api", "payments-worker", "catalog-web", "search-indexer", "reports-batch", "notifier"]
_PEOPLE = ["maria.garcia", "wei.chen", "sam.okafor", "lena.fischer", "raj.patel", "tom.nguyen", "ana.silva", "joe.kim"]
_PERMISSION_SETS = ["DeveloperAccess", "ReadOnlyAccess", "PlatformEngineer"]
_FUNCTIONS = ["orders-events", "thumbnailer", "invoice-mailer", "nightly-cleanup"]
_BUCKETS_WITH_POLICY = ["acme-artifacts", "acme-cloudtrail-logs", "acme-static-site"]
_BUCKETS_WITHOUT_POLICY = ["acme-orders-data", "acme-reports", "acme-app-logs", "acme-ml-features"]

_AGENTS = {
    "java": "aws-sdk-java/2.25.10 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "boto3": "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "ssm": "aws-sdk-go/1.44.260 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.40.0",
    "cwagent": "CWAgent/1.300032.2 (go1.21.5; linux; amd64) aws-sdk-go/1.48.6",
    "cli": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "cli-mac": "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances",
    "gha": "aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0-1016-azure lang/js md/nodejs#20.11.1 api/sts#3.540.0 configure-aws-credentials-for-github-actions",
    "gha-cli": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22 prompt/off command/cloudformation.deploy",
    "terraform": "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64",
    "browser": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "monitor": "Datadog/1.0 aws-sdk-go/1.44.327 (go1.21.5; linux; amd64)",
}
_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "Client.RequestLimitExceeded": "Request limit exceeded.",
    "NoSuchBucketPolicy": "The bucket policy does not exist",
    "ValidationError": "Stack with id {0} does not exist",
}


# --- the world: persistent identities and schedules, derived from the seed -------------------------------


@dataclass(frozen=True)
class _Role:
    name: str
    role_id: str
    path: str = "/"


@dataclass(frozen=True)
class _Instance:
    instance_id: str
    service: str
    role: _Role
    region: str
    ip: str
    secrets: tuple[str, ...]
    bucket: str
    key_arn: str
    offset: int  # seconds after midnight of the first session rotation


@dataclass(frozen=True)
class _Person:
    email: str
    role: _Role
    ip: str  # the office or this person's home address today
    start: int  # local seconds after midnight when the working day begins
    end: int


@dataclass(frozen=True)
class _User:
    name: str
    user_id: str
    key: str
    ip: str
    agent: str


@dataclass(frozen=True)
class _Run:
    """A scheduled burst: a deploy or a terraform apply."""

    start: int  # seconds after the first midnight
    seconds: int
    ip: str
    key: str
    session: str


@dataclass(frozen=True)
class _Rotation:
    create: int  # seconds after the first midnight
    deactivate: int
    delete: int
    new_key: str


@dataclass(frozen=True)
class _World:
    account: str
    regions: tuple[str, ...]
    primary: str  # where global services (IAM, sign-in) log
    day0: datetime
    days: int
    instances: tuple[_Instance, ...]
    people: tuple[_Person, ...]
    users: tuple[_User, ...]  # build box (on the NAT), reporting service, a laptop
    nat: dict[str, tuple[str, ...]]
    deploys: tuple[_Run, ...]
    applies: tuple[_Run, ...]
    rotation: _Rotation
    roles: dict[str, _Role]
    monitor_ips: tuple[str, ...]


def _key(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(_B32, k=16))


def _role_id(rng: random.Random) -> str:
    return "AROA" + "".join(rng.choices(_B32, k=17))


def _public_ip(rng: random.Random, firsts: tuple[int, ...] = (3, 18, 34, 44, 52, 54)) -> str:
    return f"{rng.choice(firsts)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _primary(regions: tuple[str, ...]) -> str:
    return "us-east-1" if "us-east-1" in regions else regions[0]


def _region_share(world: _World, region: str, primary: float = 0.8) -> float:
    """The share of a primary-region-heavy actor's calls made in ``region``."""
    if len(world.regions) == 1:
        return 1.0
    return primary if region == world.primary else (1 - primary) / (len(world.regions) - 1)


def _roles(rng: random.Random) -> dict[str, _Role]:
    roles = {
        name: _Role(name, _role_id(rng)) for name in [*(f"{s}-role" for s in _SERVICES), "gha-deploy", "terraform"]
    }
    roles["monitor"] = _Role("DatadogIntegrationRole", _role_id(rng))
    for service, name in _SERVICE_ROLE.items():
        roles[service] = _Role(f"AWSServiceRoleFor{name}", _role_id(rng), f"/aws-service-role/{service}.amazonaws.com/")
    return roles


def _fleet(
    rng: random.Random, account: str, regions: tuple[str, ...], nat: dict[str, tuple[str, ...]], roles: dict[str, _Role]
) -> tuple[_Instance, ...]:
    weights = [0.6, 0.25, 0.15][: len(regions)]
    instances = []
    for i in range(40):
        service = _SERVICES[i % len(_SERVICES)]
        region = rng.choices(regions, weights)[0]
        # Most instances egress through a NAT gateway; a few have their own Elastic IP.
        ip = rng.choice(nat[region]) if rng.random() < 0.85 else _public_ip(rng)
        secrets = tuple(f"prod/{service}/{name}" for name in rng.sample(["db", "api-key", "smtp"], rng.choice([1, 2])))
        bucket = rng.choice(_BUCKETS_WITHOUT_POLICY)
        key_arn = f"arn:aws:kms:{region}:{account}:key/{uuid.UUID(int=rng.getrandbits(128))}"
        instance_id = f"i-0{rng.getrandbits(64):016x}"
        role = roles[f"{service}-role"]
        instances.append(
            _Instance(instance_id, service, role, region, ip, secrets, bucket, key_arn, rng.randrange(SESSION_SECONDS))
        )
    return tuple(instances)


def _people(rng: random.Random, office: str) -> tuple[_Person, ...]:
    sso = {
        p: _Role(f"AWSReservedSSO_{p}_{rng.getrandbits(64):016x}", _role_id(rng), "/aws-reserved/sso.amazonaws.com/")
        for p in _PERMISSION_SETS
    }
    people = []
    for name in _PEOPLE:
        ip = _public_ip(rng, (24, 67, 73, 98)) if rng.random() < 0.4 else office  # 40 % work from home today
        # Aligned to the file windows, so that everyone a window samples from is signed in all of it.
        begin = rng.randrange(8 * 3600, 10 * 3600, WINDOW)
        end = begin + rng.randrange(8 * 3600, 9 * 3600 + 1800, WINDOW)
        people.append(_Person(f"{name}@acme.example", sso[rng.choice(_PERMISSION_SETS)], ip, begin, end))
    return tuple(people)


def _users(rng: random.Random, build_box: str, office: str) -> tuple[_User, ...]:
    def user(name: str, ip: str, agent: str) -> _User:
        return _User(name, "AIDA" + "".join(rng.choices(_B32, k=17)), _key(rng, "AKIA"), ip, _AGENTS[agent])

    return (
        user("ci-build", build_box, "cli"),
        user("reporting-svc", _public_ip(rng, (38, 64)), "boto3"),
        user("dmitri.k", office, "cli-mac"),
    )


def _runs(rng: random.Random, start: date, days: int, build_box: str) -> tuple[tuple[_Run, ...], tuple[_Run, ...]]:
    """Four deploys and two terraform applies each working day, at random times in working hours."""
    deploys, applies = [], []
    for day in range(days):
        if (start + timedelta(days=day)).weekday() >= 5:
            continue  # nobody deploys at the weekend
        midnight = day * 86400 - UTC_OFFSET * 3600
        for at in sorted(rng.sample(range(10 * 3600, 17 * 3600, WINDOW), 4)):
            runner = _public_ip(rng, (4, 13, 20, 40, 52))  # GitHub-hosted runners change address every run
            deploys.append(
                _Run(midnight + at, 900, runner, _key(rng, "ASIA"), f"GitHubActions-{rng.randrange(10**9, 10**10)}")
            )
        for at in sorted(rng.sample(range(11 * 3600, 16 * 3600, WINDOW), 2)):
            applies.append(
                _Run(midnight + at, 600, build_box, _key(rng, "ASIA"), f"terraform-{rng.randrange(10**9, 10**10)}")
            )
    return tuple(deploys), tuple(applies)


@lru_cache(maxsize=4)
def _world(seed: int, account: str, regions: tuple[str, ...], start: date, days: int) -> _World:
    """Everything that must stay the same across files: built once per process from the seed."""
    rng = random.Random(f"benign/{seed}/{account}")
    primary = _primary(regions)
    nat = {r: tuple(_public_ip(rng) for _ in range(2 if r == primary else 1)) for r in regions}
    roles = _roles(rng)
    instances = _fleet(rng, account, regions, nat, roles)
    office = _public_ip(rng, (38, 64, 96))
    people = _people(rng, office)
    users = _users(rng, nat[primary][0], office)
    deploys, applies = _runs(rng, start, days, nat[primary][0])
    rotate = -UTC_OFFSET * 3600 + 11 * 3600  # 11:00 local on the first day
    rotation = _Rotation(rotate, rotate + 1200, rotate + 4200, _key(rng, "AKIA"))
    monitor_ips = tuple(_public_ip(rng, (3,)) for _ in range(2))
    day0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return _World(
        account,
        regions,
        primary,
        day0,
        days,
        instances,
        people,
        users,
        nat,
        deploys,
        applies,
        rotation,
        roles,
        monitor_ips,
    )


_SERVICE_ROLE = {
    "config": "Config",
    "access-analyzer": "AccessAnalyzer",
    "trustedadvisor": "TrustedAdvisor",
    "autoscaling": "AutoScaling",
}


# --- identities --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Who:
    """The principal of an event, the address it calls from, its user agent and any extra top-level fields."""

    identity: dict[str, Any]
    ip: str
    agent: str
    extra: tuple[tuple[str, str], ...] = ()


def _stamp(world: _World, t: float) -> str:
    return (world.day0 + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _role_arn(world: _World, role: _Role) -> str:
    return f"arn:aws:iam::{world.account}:role{role.path}{role.name}"


def _assumed(world: _World, role: _Role, session: str, key: str, issued: float, **context: Any) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"{role.role_id}:{session}",
        "arn": f"arn:aws:sts::{world.account}:assumed-role/{role.name}/{session}",
        "accountId": world.account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role.role_id,
                "arn": _role_arn(world, role),
                "accountId": world.account,
                "userName": role.name,
            },
            "webIdFederationData": context.pop("web", {}),
            "attributes": {"creationDate": _stamp(world, issued), "mfaAuthenticated": "false"},
            **context,
        },
    }


def _session(inst: _Instance, t: float) -> tuple[int, str]:
    """The instance-profile session in force at ``t``: its issue time and its ASIA key."""
    k = math.floor((t - inst.offset) / SESSION_SECONDS)
    return inst.offset + k * SESSION_SECONDS, _key(random.Random(f"{inst.instance_id}/{k}"), "ASIA")


def _instance_who(world: _World, inst: _Instance, t: float, agent: str) -> _Who:
    issued, key = _session(inst, t)
    identity = _assumed(world, inst.role, inst.instance_id, key, issued, ec2RoleDelivery="2.0")
    return _Who(identity, inst.ip, agent)


def _user_who(world: _World, user: _User, t: float) -> _Who:
    key = user.key
    if user is world.users[2] and t >= world.rotation.deactivate:
        key = world.rotation.new_key  # the laptop switched to its new key once the old one was deactivated
    identity = {
        "type": "IAMUser",
        "principalId": user.user_id,
        "arn": f"arn:aws:iam::{world.account}:user/{user.name}",
        "accountId": world.account,
        "accessKeyId": key,
        "userName": user.name,
    }
    return _Who(identity, user.ip, user.agent)


def _person_who(world: _World, person: _Person, t: float) -> _Who:
    day = int((t + UTC_OFFSET * 3600) // 86400)  # the local working day the console session belongs to
    issued = day * 86400 + person.start - UTC_OFFSET * 3600 - SIGN_IN_LEAD
    key = _key(random.Random(f"{person.email}/{day}"), "ASIA")
    return _Who(
        _assumed(world, person.role, person.email, key, issued),
        person.ip,
        _AGENTS["browser"],
        (("sessionCredentialFromConsole", "true"),),
    )


def _service_role_who(world: _World, service: str, session: str) -> _Who:
    host = f"{service}.amazonaws.com"
    identity = _assumed(
        world, world.roles[service], session, _key(random.Random(f"{service}/{world.account}"), "ASIA"), 0
    )
    identity["invokedBy"] = host
    return _Who(identity, host, host)


def _run_who(world: _World, run: _Run, role: str, agent: str, web: bool) -> _Who:
    context: dict[str, Any] = {}
    if web:
        context["web"] = {
            "federatedProvider": f"arn:aws:iam::{world.account}:oidc-provider/token.actions.githubusercontent.com",
            "attributes": {},
        }
    return _Who(_assumed(world, world.roles[role], run.session, run.key, run.start, **context), run.ip, agent)


# --- events ------------------------------------------------------------------------------------------------


def _request_id(rng: random.Random, source: str) -> str:
    if source == "s3.amazonaws.com":
        return "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    return str(uuid.UUID(int=rng.getrandbits(128)))


def _event(
    world: _World,
    rng: random.Random,
    t: float,
    region: str,
    who: _Who,
    source: str,
    name: str,
    read_only: bool,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: str | None = None,
) -> Event:
    """One CloudTrail record in the 1.08/1.09 shape."""
    data = source == "s3.amazonaws.com" and name in ("GetObject", "PutObject", "ListObjects", "HeadObject")
    event: Event = {
        "eventVersion": "1.09" if rng.random() < 0.7 else "1.08",
        "userIdentity": who.identity,
        "eventTime": _stamp(world, t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": who.ip,
        "userAgent": who.agent,
        "requestParameters": params,
        "responseElements": None if error else response,
        "requestID": _request_id(rng, source),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": not data,
        "recipientAccountId": world.account,
        "eventCategory": "Data" if data else "Management",
    }
    if error:
        event["errorCode"] = error
        event["errorMessage"] = _error_message(who, source, name, error, params)
    event.update(who.extra)
    if data and params:
        event["resources"] = [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{params['bucketName']}/{params.get('key', '')}"},
            {"accountId": world.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{params['bucketName']}"},
        ]
    if not who.ip.endswith("amazonaws.com") and who.ip != "AWS Internal" and rng.random() < 0.9:
        event["tlsDetails"] = {
            "tlsVersion": "TLSv1.3" if rng.random() < 0.6 else "TLSv1.2",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        }
    return event


def _error_message(who: _Who, source: str, name: str, error: str, params: dict[str, Any] | None) -> str:
    if error.startswith("AccessDenied"):
        action = f"{source.split('.')[0]}:{name}"
        return f"User: {who.identity.get('arn')} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
    return _MESSAGES[error].format((params or {}).get("stackName", ""))


# A call an actor makes: weight, event source, name, read-only, request parameters; ``global_`` calls
# (IAM, sign-in) are only logged in the primary region.
Params = Callable[[random.Random, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class _Call:
    weight: float
    source: str
    name: str
    read_only: bool = True
    params: Params | None = None
    global_: bool = False


def _pick(rng: random.Random, calls: list[_Call], world: _World, region: str) -> _Call:
    usable = calls if region == world.primary else [c for c in calls if not c.global_]
    return rng.choices(usable, [c.weight for c in usable])[0]


def _call_event(
    world: _World, rng: random.Random, t: float, region: str, who: _Who, call: _Call, ctx: Any, error: str | None = None
) -> Event:
    params = call.params(rng, ctx) if call.params else None
    return _event(world, rng, t, region, who, call.source, call.name, call.read_only, params, error=error)


def _throttled(rng: random.Random, call: _Call, rate: float = 0.02) -> str | None:
    """Describe/List/Get bursts get throttled now and then: EC2 says RequestLimitExceeded, the rest ThrottlingException."""
    if call.name.startswith(("Describe", "List", "Get")) and rng.random() < rate:
        return "Client.RequestLimitExceeded" if call.source == "ec2.amazonaws.com" else "ThrottlingException"
    return None


# --- actors: what each kind of principal calls ---------------------------------------------------------------


def _obj(bucket: str, prefix: str) -> Callable[[random.Random, Any], dict[str, Any]]:
    return lambda r, c: {
        "bucketName": bucket or c.bucket,
        "key": f"{prefix}/{r.randrange(10**6):06d}.json",
        "Host": f"{bucket or c.bucket}.s3.amazonaws.com",
    }


_INSTANCE_CALLS = [
    _Call(6, "sts.amazonaws.com", "GetCallerIdentity"),
    _Call(
        8,
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        False,
        lambda r, c: {
            "instanceId": c.instance_id,
            "agentVersion": "3.3.40.0",
            "platformType": "Linux",
            "agentName": "amazon-ssm-agent",
        },
    ),
    _Call(
        5,
        "ssm.amazonaws.com",
        "ListInstanceAssociations",
        True,
        lambda r, c: {"instanceId": c.instance_id, "maxResults": 50},
    ),
    _Call(
        10,
        "ec2messages.amazonaws.com",
        "GetMessages",
        True,
        lambda r, c: {"destination": c.instance_id, "messagesRequested": 1, "visibilityTimeoutInSeconds": 10},
    ),
    _Call(18, "s3.amazonaws.com", "GetObject", True, _obj("", "input")),
    _Call(8, "s3.amazonaws.com", "PutObject", False, _obj("", "output")),
    _Call(
        3,
        "s3.amazonaws.com",
        "ListObjects",
        True,
        lambda r, c: {"bucketName": c.bucket, "prefix": "input/", "Host": f"{c.bucket}.s3.amazonaws.com"},
    ),
    _Call(
        12,
        "monitoring.amazonaws.com",
        "PutMetricData",
        False,
        lambda r, c: {
            "namespace": "CWAgent",
            "metricData": [
                {"metricName": "mem_used_percent", "dimensions": [{"name": "InstanceId", "value": c.instance_id}]}
            ],
        },
    ),
    _Call(
        12,
        "logs.amazonaws.com",
        "PutLogEvents",
        False,
        lambda r, c: {"logGroupName": f"/app/{c.service}", "logStreamName": c.instance_id},
    ),
    _Call(
        9,
        "kms.amazonaws.com",
        "Decrypt",
        True,
        lambda r, c: {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": c.key_arn},
    ),
    _Call(1.2, "secretsmanager.amazonaws.com", "GetSecretValue", True, lambda r, c: {"secretId": r.choice(c.secrets)}),
    _Call(
        2,
        "ec2.amazonaws.com",
        "DescribeTags",
        True,
        lambda r, c: {
            "filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": c.instance_id}]}}]}
        },
    ),
]
_INSTANCE_AGENTS = {
    "ssm.amazonaws.com": "ssm",
    "ec2messages.amazonaws.com": "ssm",
    "monitoring.amazonaws.com": "cwagent",
    "logs.amazonaws.com": "cwagent",
}


def _instance_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    inst = rng.choice([i for i in world.instances if i.region == region])
    call = _pick(rng, _INSTANCE_CALLS, world, region)
    agent = _AGENTS[_INSTANCE_AGENTS.get(call.source, "java" if inst.service.endswith("api") else "boto3")]
    return _call_event(world, rng, t, region, _instance_who(world, inst, t, agent), call, inst)


_CONSOLE_CALLS = [
    _Call(
        8,
        "ec2.amazonaws.com",
        "DescribeInstances",
        True,
        lambda r, c: {"maxResults": 1000, "instancesSet": {}, "filterSet": {}},
    ),
    _Call(4, "ec2.amazonaws.com", "DescribeSecurityGroups", True, lambda r, c: {"maxResults": 1000}),
    _Call(2, "ec2.amazonaws.com", "DescribeVpcs"),
    _Call(3, "s3.amazonaws.com", "ListBuckets", True, lambda r, c: {"Host": "s3.amazonaws.com"}),
    _Call(
        3,
        "s3.amazonaws.com",
        "GetBucketLocation",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITHOUT_POLICY), "location": ""},
    ),
    _Call(5, "monitoring.amazonaws.com", "GetMetricData"),
    _Call(3, "monitoring.amazonaws.com", "DescribeAlarms", True, lambda r, c: {"maxRecords": 100}),
    _Call(4, "logs.amazonaws.com", "DescribeLogGroups", True, lambda r, c: {"limit": 50}),
    _Call(
        4,
        "logs.amazonaws.com",
        "FilterLogEvents",
        True,
        lambda r, c: {"logGroupName": f"/app/{r.choice(_SERVICES)}", "interleaved": True},
    ),
    _Call(3, "lambda.amazonaws.com", "ListFunctions20150331"),
    _Call(
        2, "lambda.amazonaws.com", "GetFunction20150331v2", True, lambda r, c: {"functionName": r.choice(_FUNCTIONS)}
    ),
    _Call(3, "cloudformation.amazonaws.com", "DescribeStacks", True, lambda r, c: {"stackName": r.choice(_SERVICES)}),
    _Call(2, "cloudformation.amazonaws.com", "ListStacks"),
    _Call(2, "iam.amazonaws.com", "ListRoles", True, lambda r, c: {"maxItems": 1000}, True),
    _Call(1, "iam.amazonaws.com", "GetRole", True, lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"}, True),
    _Call(2, "health.amazonaws.com", "DescribeEventAggregates", True, None, True),
    _Call(1, "ce.amazonaws.com", "GetCostAndUsage", True, None, True),
]


def _online(world: _World, t: float) -> list[_Person]:
    if _weekend(world, t):
        return []  # people only sign in on working days
    local = (t + UTC_OFFSET * 3600) % 86400
    return [p for p in world.people if p.start <= local < p.end]


def _console_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    person = rng.choice(_online(world, t))
    who = _person_who(world, person, t)
    if rng.random() < 0.15:
        # Some console pages call through the console's own backend.
        who = _Who(who.identity, "AWS Internal", "AWS Internal", who.extra)
    call = _pick(rng, _CONSOLE_CALLS, world, region)
    return _call_event(world, rng, t, region, who, call, world, _throttled(rng, call))


def _artifact(r: random.Random, c: Any) -> dict[str, Any]:
    return {
        "bucketName": "acme-artifacts",
        "key": f"builds/{r.choice(_SERVICES)}/{r.getrandbits(40):010x}.zip",
        "Host": "acme-artifacts.s3.amazonaws.com",
    }


_DEPLOY_CALLS = [
    _Call(
        4,
        "cloudformation.amazonaws.com",
        "DescribeStacks",
        True,
        lambda r, c: {"stackName": r.choice([*_SERVICES, "orders-api-canary"])},
    ),
    _Call(
        6, "cloudformation.amazonaws.com", "DescribeStackEvents", True, lambda r, c: {"stackName": r.choice(_SERVICES)}
    ),
    _Call(
        1,
        "cloudformation.amazonaws.com",
        "CreateChangeSet",
        False,
        lambda r, c: {
            "stackName": r.choice(_SERVICES),
            "changeSetName": f"deploy-{r.getrandbits(24):06x}",
            "changeSetType": "UPDATE",
            "capabilities": ["CAPABILITY_IAM"],
        },
    ),
    _Call(
        2, "cloudformation.amazonaws.com", "DescribeChangeSet", True, lambda r, c: {"stackName": r.choice(_SERVICES)}
    ),
    _Call(
        1, "cloudformation.amazonaws.com", "ExecuteChangeSet", False, lambda r, c: {"stackName": r.choice(_SERVICES)}
    ),
    _Call(1, "cloudformation.amazonaws.com", "GetTemplateSummary", True),
    _Call(3, "s3.amazonaws.com", "PutObject", False, _artifact),
    _Call(
        1.5,
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        False,
        lambda r, c: {
            "functionName": r.choice(_FUNCTIONS),
            "s3Bucket": "acme-artifacts",
            "s3Key": f"lambda/{r.getrandbits(40):010x}.zip",
            "publish": True,
        },
    ),
    _Call(1, "ecr.amazonaws.com", "GetAuthorizationToken"),
    _Call(
        3,
        "ecr.amazonaws.com",
        "BatchCheckLayerAvailability",
        True,
        lambda r, c: {"repositoryName": r.choice(_SERVICES)},
    ),
    _Call(2, "ecr.amazonaws.com", "InitiateLayerUpload", False, lambda r, c: {"repositoryName": r.choice(_SERVICES)}),
    _Call(2, "ecr.amazonaws.com", "CompleteLayerUpload", False, lambda r, c: {"repositoryName": r.choice(_SERVICES)}),
    _Call(
        1,
        "ecr.amazonaws.com",
        "PutImage",
        False,
        lambda r, c: {"repositoryName": r.choice(_SERVICES), "imageTag": f"{r.getrandbits(28):07x}"},
    ),
]
# What CloudFormation does with the deploy role's session while it executes a change set.
_CFN_CALLS = [
    _Call(
        2,
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration20150331v2",
        False,
        lambda r, c: {"functionName": r.choice(_FUNCTIONS), "timeout": 30},
    ),
    _Call(
        2,
        "ecs.amazonaws.com",
        "UpdateService",
        False,
        lambda r, c: {"cluster": "prod", "service": r.choice(_SERVICES), "forceNewDeployment": False},
    ),
    _Call(2, "ecs.amazonaws.com", "RegisterTaskDefinition", False, lambda r, c: {"family": r.choice(_SERVICES)}),
    _Call(
        1,
        "lambda.amazonaws.com",
        "TagResource20170331v2",
        False,
        lambda r, c: {"resource": f"function:{r.choice(_FUNCTIONS)}"},
    ),
]


def _active(runs: tuple[_Run, ...], t: float) -> _Run | None:
    return next((r for r in runs if r.start <= t < r.start + r.seconds), None)


def _running(runs: tuple[_Run, ...], t: float) -> _Run:
    """The run in progress at ``t``: deploy and terraform events are only drawn while one is."""
    run = _active(runs, t)
    if run is None:
        raise ValueError(f"no run in progress at {t}")
    return run


def _deploy_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    run = _running(world.deploys, t)
    who = _run_who(world, run, "gha-deploy", _AGENTS["gha-cli"], True)
    if rng.random() < 0.2:
        cfn = _Who(
            {**who.identity, "invokedBy": "cloudformation.amazonaws.com"},
            "cloudformation.amazonaws.com",
            "cloudformation.amazonaws.com",
        )
        return _call_event(world, rng, t, region, cfn, _pick(rng, _CFN_CALLS, world, region), world)
    call = _pick(rng, _DEPLOY_CALLS, world, region)
    # A stack the pipeline probes for before its first deploy does not exist yet.
    error = "ValidationError" if call.name == "DescribeStacks" and rng.random() < 0.15 else None
    return _call_event(world, rng, t, region, who, call, world, error)


def _doc(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _trust(r: random.Random, c: Any) -> dict[str, Any]:
    service = r.choice(["ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com"])
    return {
        "roleName": f"{r.choice(_SERVICES)}-role",
        "assumeRolePolicyDocument": _doc(
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ),
    }


def _least_privilege(r: random.Random, c: Any) -> dict[str, Any]:
    service, bucket = r.choice(_SERVICES), r.choice(_BUCKETS_WITHOUT_POLICY)
    statement = {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"arn:aws:s3:::{bucket}/{service}/*",
    }
    return {"policyName": f"{service}-s3-access", "policyDocument": _doc(statement)}


def _sg_ingress(r: random.Random, c: Any) -> dict[str, Any]:
    # Only the VPC's own range or another security group: never the internet.
    source: dict[str, Any] = {"ipRanges": {"items": [{"cidrIp": "10.0.0.0/8", "description": "vpc"}]}, "groups": {}}
    if r.random() < 0.5:
        source = {"ipRanges": {}, "groups": {"items": [{"groupId": f"sg-0{r.getrandbits(64):016x}"}]}}
    rule = {
        "ipProtocol": "tcp",
        "fromPort": r.choice([443, 5432, 6379, 8080]),
        "toPort": 0,
        "ipv6Ranges": {},
        "prefixListIds": {},
        **source,
    }
    rule["toPort"] = rule["fromPort"]
    return {"groupId": f"sg-0{r.getrandbits(64):016x}", "ipPermissions": {"items": [rule]}}


def _sg_egress(r: random.Random, c: Any) -> dict[str, Any]:
    rule = {
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
        "ipv6Ranges": {},
        "groups": {},
        "prefixListIds": {},
    }
    return {"groupId": f"sg-0{r.getrandbits(64):016x}", "ipPermissions": {"items": [rule]}}


def _function(r: random.Random, c: Any) -> dict[str, Any]:
    name = r.choice(_FUNCTIONS)
    return {
        "functionName": name,
        "runtime": "python3.12",
        "handler": "app.handler",
        "role": f"arn:aws:iam::{c.account}:role/{name}-role",
        "vpcConfig": {"subnetIds": ["subnet-0a1b2c3d"], "securityGroupIds": ["sg-0a1b2c3d"]},
    }


_TERRAFORM_CALLS = [
    _Call(2, "sts.amazonaws.com", "GetCallerIdentity"),
    _Call(6, "iam.amazonaws.com", "GetRole", True, lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"}, True),
    _Call(
        4,
        "iam.amazonaws.com",
        "ListAttachedRolePolicies",
        True,
        lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"},
        True,
    ),
    _Call(
        4,
        "iam.amazonaws.com",
        "GetPolicyVersion",
        True,
        lambda r, c: {
            "policyArn": f"arn:aws:iam::{c.account}:policy/{r.choice(_SERVICES)}-s3-access",
            "versionId": "v3",
        },
        True,
    ),
    _Call(6, "ec2.amazonaws.com", "DescribeSecurityGroups", True, lambda r, c: {"maxResults": 1000}),
    _Call(3, "ec2.amazonaws.com", "DescribeVpcs"),
    _Call(3, "ec2.amazonaws.com", "DescribeSubnets"),
    _Call(
        4, "lambda.amazonaws.com", "GetFunction20150331v2", True, lambda r, c: {"functionName": r.choice(_FUNCTIONS)}
    ),
    _Call(2, "lambda.amazonaws.com", "GetPolicy20150331v2", True, lambda r, c: {"functionName": r.choice(_FUNCTIONS)}),
    _Call(0.3, "iam.amazonaws.com", "CreateRole", False, _trust, True),
    _Call(
        0.3,
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        False,
        lambda r, c: {"roleName": _trust(r, c)["roleName"], "policyDocument": _trust(r, c)["assumeRolePolicyDocument"]},
        True,
    ),
    _Call(0.3, "iam.amazonaws.com", "CreatePolicy", False, _least_privilege, True),
    _Call(
        0.4,
        "iam.amazonaws.com",
        "CreatePolicyVersion",
        False,
        lambda r, c: {
            "policyArn": f"arn:aws:iam::{c.account}:policy/{_least_privilege(r, c)['policyName']}",
            "policyDocument": _least_privilege(r, c)["policyDocument"],
            "setAsDefault": True,
        },
        True,
    ),
    _Call(
        0.3,
        "iam.amazonaws.com",
        "AttachRolePolicy",
        False,
        lambda r, c: {
            "roleName": f"{r.choice(_SERVICES)}-role",
            "policyArn": f"arn:aws:iam::{c.account}:policy/{r.choice(_SERVICES)}-s3-access",
        },
        True,
    ),
    _Call(
        0.3,
        "iam.amazonaws.com",
        "PutRolePolicy",
        False,
        lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role", **_least_privilege(r, c)},
        True,
    ),
    _Call(
        0.3,
        "ec2.amazonaws.com",
        "CreateSecurityGroup",
        False,
        lambda r, c: {
            "groupName": f"{r.choice(_SERVICES)}-sg",
            "groupDescription": "managed by terraform",
            "vpcId": "vpc-0a1b2c3d",
        },
    ),
    _Call(0.5, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", False, _sg_ingress),
    _Call(0.2, "ec2.amazonaws.com", "AuthorizeSecurityGroupEgress", False, _sg_egress),
    _Call(0.2, "ec2.amazonaws.com", "RevokeSecurityGroupIngress", False, _sg_ingress),
    _Call(0.2, "lambda.amazonaws.com", "CreateFunction20150331", False, _function),
    _Call(
        0.3,
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration20150331v2",
        False,
        lambda r, c: {"functionName": r.choice(_FUNCTIONS), "memorySize": r.choice([256, 512])},
    ),
    _Call(
        0.2,
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        False,
        lambda r, c: {
            "functionName": r.choice(_FUNCTIONS),
            "statementId": "events",
            "action": "lambda:InvokeFunction",
            "principal": "events.amazonaws.com",
            "sourceArn": f"arn:aws:events:us-east-1:{c.account}:rule/nightly",
        },
    ),
]


def _terraform_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    run = _running(world.applies, t)
    who = _run_who(world, run, "terraform", _AGENTS["terraform"], False)
    call = _pick(rng, _TERRAFORM_CALLS, world, region)
    return _call_event(world, rng, t, region, who, call, world, _throttled(rng, call, 0.04))


_USER_CALLS = {
    "ci-build": [
        _Call(4, "ecr.amazonaws.com", "GetAuthorizationToken"),
        _Call(6, "s3.amazonaws.com", "GetObject", True, _artifact),
        _Call(3, "s3.amazonaws.com", "PutObject", False, _artifact),
        _Call(2, "sts.amazonaws.com", "GetCallerIdentity"),
        _Call(
            2,
            "codeartifact.amazonaws.com",
            "GetAuthorizationToken",
            True,
            lambda r, c: {"domain": "acme", "durationSeconds": 3600},
        ),
        _Call(2, "sts.amazonaws.com", "GetServiceBearerToken"),
    ],
    "reporting-svc": [
        _Call(
            3,
            "athena.amazonaws.com",
            "StartQueryExecution",
            False,
            lambda r, c: {"workGroup": "reports", "queryString": "SELECT ..."},
        ),
        _Call(
            8,
            "athena.amazonaws.com",
            "GetQueryExecution",
            True,
            lambda r, c: {"queryExecutionId": str(uuid.UUID(int=r.getrandbits(128)))},
        ),
        _Call(
            3,
            "athena.amazonaws.com",
            "GetQueryResults",
            True,
            lambda r, c: {"queryExecutionId": str(uuid.UUID(int=r.getrandbits(128)))},
        ),
        _Call(3, "glue.amazonaws.com", "GetTable", True, lambda r, c: {"databaseName": "analytics", "name": "orders"}),
        _Call(
            3,
            "s3.amazonaws.com",
            "GetObject",
            True,
            lambda r, c: {
                "bucketName": "acme-reports",
                "key": f"athena/{r.getrandbits(64):016x}.csv",
                "Host": "acme-reports.s3.amazonaws.com",
            },
        ),
    ],
    "dmitri.k": [
        _Call(3, "s3.amazonaws.com", "ListBuckets", True, lambda r, c: {"Host": "s3.amazonaws.com"}),
        _Call(4, "ec2.amazonaws.com", "DescribeInstances", True, lambda r, c: {"instancesSet": {}, "filterSet": {}}),
        _Call(
            4,
            "logs.amazonaws.com",
            "FilterLogEvents",
            True,
            lambda r, c: {"logGroupName": f"/app/{r.choice(_SERVICES)}"},
        ),
        _Call(
            2, "cloudformation.amazonaws.com", "DescribeStacks", True, lambda r, c: {"stackName": r.choice(_SERVICES)}
        ),
        _Call(1, "iam.amazonaws.com", "ListAccessKeys", True, lambda r, c: {"userName": "dmitri.k"}, True),
    ],
}


def _user_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    user = rng.choices(world.users, [5, 3, 2])[0]
    call = _pick(rng, _USER_CALLS[user.name], world, region)
    return _call_event(world, rng, t, region, _user_who(world, user, t), call, world)


_CONFIG_CALLS = [
    _Call(
        4,
        "s3.amazonaws.com",
        "GetBucketPolicy",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITH_POLICY + _BUCKETS_WITHOUT_POLICY), "policy": ""},
    ),
    _Call(
        3,
        "s3.amazonaws.com",
        "GetBucketAcl",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITH_POLICY + _BUCKETS_WITHOUT_POLICY), "acl": ""},
    ),
    _Call(
        2,
        "s3.amazonaws.com",
        "GetBucketEncryption",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITHOUT_POLICY), "encryption": ""},
    ),
    _Call(4, "ec2.amazonaws.com", "DescribeSecurityGroups"),
    _Call(3, "ec2.amazonaws.com", "DescribeInstances", True, lambda r, c: {"instancesSet": {}, "filterSet": {}}),
    _Call(2, "iam.amazonaws.com", "GetRole", True, lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"}, True),
    _Call(
        2,
        "iam.amazonaws.com",
        "ListAttachedRolePolicies",
        True,
        lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"},
        True,
    ),
]
_ANALYZER_CALLS = [
    _Call(
        2,
        "s3.amazonaws.com",
        "GetBucketPolicyStatus",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITH_POLICY), "policyStatus": ""},
    ),
    _Call(
        2,
        "s3.amazonaws.com",
        "GetBucketPublicAccessBlock",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITH_POLICY), "publicAccessBlock": ""},
    ),
    _Call(2, "iam.amazonaws.com", "GetRole", True, lambda r, c: {"roleName": f"{r.choice(_SERVICES)}-role"}, True),
    _Call(
        1,
        "kms.amazonaws.com",
        "GetKeyPolicy",
        True,
        lambda r, c: {"keyId": str(uuid.UUID(int=r.getrandbits(128))), "policyName": "default"},
    ),
]
_ADVISOR_CALLS = [
    _Call(2, "ec2.amazonaws.com", "DescribeVolumes"),
    _Call(2, "ec2.amazonaws.com", "DescribeSecurityGroups"),
    _Call(1, "iam.amazonaws.com", "GetAccountPasswordPolicy", True, None, True),
    _Call(
        1,
        "s3.amazonaws.com",
        "GetBucketAcl",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITHOUT_POLICY), "acl": ""},
    ),
]
_AUTOSCALING_CALLS = [
    _Call(3, "ec2.amazonaws.com", "DescribeInstanceStatus"),
    _Call(
        1,
        "ec2.amazonaws.com",
        "DescribeLaunchTemplateVersions",
        True,
        lambda r, c: {"launchTemplateName": r.choice(_SERVICES)},
    ),
]
_SERVICE_ACTORS = [
    (10, "config", "AWSConfig-Describe", _CONFIG_CALLS),
    (3, "access-analyzer", "access-analyzer", _ANALYZER_CALLS),
    (2, "trustedadvisor", "TrustedAdvisor_" + "0" * 12, _ADVISOR_CALLS),
    (4, "autoscaling", "AutoScaling", _AUTOSCALING_CALLS),
]


def _service_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    roll = rng.random()
    if roll < 0.12:
        return _bare_service_event(
            world,
            rng,
            t,
            region,
            "cloudtrail.amazonaws.com",
            "s3.amazonaws.com",
            "GetBucketAcl",
            {"bucketName": "acme-cloudtrail-logs", "acl": ""},
        )
    if roll < 0.25:
        function = rng.choice(_FUNCTIONS)
        assume = {"roleArn": f"arn:aws:iam::{world.account}:role/{function}-role", "roleSessionName": function}
        return _bare_service_event(
            world, rng, t, region, "lambda.amazonaws.com", "sts.amazonaws.com", "AssumeRole", assume, shared=True
        )
    _, service, session, calls = rng.choices(_SERVICE_ACTORS, [a[0] for a in _SERVICE_ACTORS])[0]
    call = _pick(rng, calls, world, region)
    params = call.params(rng, world) if call.params else None
    error: str | None = None
    if call.name == "GetBucketPolicy" and params and params["bucketName"] in _BUCKETS_WITHOUT_POLICY:
        error = "NoSuchBucketPolicy"  # Config asks every bucket; most have none
    error = error or _throttled(rng, call, 0.01)
    return _event(
        world,
        rng,
        t,
        region,
        _service_role_who(world, service, session),
        call.source,
        call.name,
        True,
        params,
        error=error,
    )


def _bare_service_event(
    world: _World,
    rng: random.Random,
    t: float,
    region: str,
    host: str,
    source: str,
    name: str,
    params: dict[str, Any],
    shared: bool = False,
) -> Event:
    """A call made by an AWS service with its own identity (userIdentity type AWSService)."""
    who = _Who({"type": "AWSService", "invokedBy": host}, host, host)
    event = _event(world, rng, t, region, who, source, name, True, params)
    if shared:
        event["sharedEventID"] = str(uuid.UUID(int=rng.getrandbits(128)))
    return event


_MONITOR_CALLS = [
    _Call(10, "monitoring.amazonaws.com", "GetMetricData"),
    _Call(
        6,
        "monitoring.amazonaws.com",
        "ListMetrics",
        True,
        lambda r, c: {"namespace": r.choice(["AWS/EC2", "AWS/Lambda", "AWS/RDS"])},
    ),
    _Call(4, "ec2.amazonaws.com", "DescribeInstances", True, lambda r, c: {"instancesSet": {}, "filterSet": {}}),
    _Call(3, "tagging.amazonaws.com", "GetResources"),
    _Call(2, "cloudformation.amazonaws.com", "DescribeStacks"),
    _Call(2, "lambda.amazonaws.com", "ListFunctions20150331"),
]
# The integration's policy lacks these permissions, so every probe is denied, all day long.
_MONITOR_DENIED = [
    _Call(
        1,
        "s3.amazonaws.com",
        "GetBucketTagging",
        True,
        lambda r, c: {"bucketName": r.choice(_BUCKETS_WITHOUT_POLICY), "tagging": ""},
    ),
    _Call(1, "backup.amazonaws.com", "ListBackupVaults"),
    _Call(1, "support.amazonaws.com", "DescribeTrustedAdvisorChecks", True, lambda r, c: {"language": "en"}),
]


def _monitor_event(world: _World, rng: random.Random, t: float, region: str) -> Event:
    identity = _assumed(
        world,
        world.roles["monitor"],
        "DatadogAWSIntegration",
        _key(random.Random(f"monitor/{int(t // 3600)}"), "ASIA"),
        t // 3600 * 3600,
    )
    who = _Who(identity, rng.choice(world.monitor_ips), _AGENTS["monitor"])
    if rng.random() < 0.08:
        call = _pick(rng, _MONITOR_DENIED, world, region)
        error = "AccessDenied" if call.source == "s3.amazonaws.com" else "AccessDeniedException"
        return _call_event(world, rng, t, region, who, call, world, error)
    call = _pick(rng, _MONITOR_CALLS, world, region)
    return _call_event(world, rng, t, region, who, call, world, _throttled(rng, call, 0.03))


# --- volume: who is busy when ----------------------------------------------------------------------------------


def _business(world: _World, t: float) -> float:
    """How busy people are at ``t`` (0-1), interpolated between local hours; weekends are a tenth."""
    local = (t + UTC_OFFSET * 3600) / 3600
    hour = local % 24
    low = int(hour)
    value = _BUSINESS[low] + (_BUSINESS[(low + 1) % 24] - _BUSINESS[low]) * (hour - low)
    return value * (0.1 if _weekend(world, t) else 1.0)


def _weekend(world: _World, t: float) -> bool:
    return (world.day0 + timedelta(seconds=t + UTC_OFFSET * 3600)).weekday() >= 5


Rate = Callable[[_World, float, str], float]
Make = Callable[[_World, random.Random, float, str], Event]

# Each kind of actor: its share of the day's sampled events, how its rate moves (per region), and its events.
_KINDS: list[tuple[float, Rate, Make]] = [
    (0.60, lambda w, t, r: (0.55 + 0.45 * _business(w, t)) * sum(i.region == r for i in w.instances), _instance_event),
    (0.13, lambda w, t, r: (0.8 + 0.2 * _business(w, t)) * _region_share(w, r, 0.6), _service_event),
    (0.10, lambda w, t, r: len(_online(w, t)) * _region_share(w, r, 0.85), _console_event),
    (0.07, lambda w, t, r: (0.2 + 0.8 * _business(w, t)) * _region_share(w, r, 0.9), _user_event),
    (0.05, lambda w, t, r: float(_active(w.deploys, t) is not None) * _region_share(w, r, 1.0), _deploy_event),
    (0.03, lambda w, t, r: float(_active(w.applies, t) is not None) * _region_share(w, r, 1.0), _terraform_event),
    (0.02, lambda w, t, r: 1.0 / len(w.regions), _monitor_event),
]


# --- scheduled events: one-off calls at fixed times ----------------------------------------------------------

Scheduled = tuple[float, str, Callable[[random.Random], Event]]


def _schedule(world: _World) -> list[Scheduled]:
    """Session rotations, sign-ins, OIDC federations and the key rotation: events that happen once, on time."""
    out: list[Scheduled] = []
    end = world.days * 86400
    for inst in world.instances:
        t = float(inst.offset - SESSION_SECONDS)
        while (t := t + SESSION_SECONDS) < end:
            out.append((t, inst.region, partial(_ec2_assume, world, inst=inst, t=t)))
    for day in range(world.days):
        if (world.day0 + timedelta(days=day)).weekday() < 5:
            for p in world.people:
                t = day * 86400 + p.start - UTC_OFFSET * 3600 - SIGN_IN_LEAD
                out.append((t, world.primary, partial(_saml, world, person=p, t=t)))
                out.append((t + 3, world.primary, partial(_console_login, world, person=p, t=t + 3)))
    for run in world.deploys:
        for t in (run.start - 30.0, run.start + 420.0):  # the first job federates just before it calls
            out.append((t, world.primary, partial(_web_identity, world, run=run, t=t)))
    for run in world.applies:
        out.append((run.start - 30.0, world.primary, partial(_terraform_assume, world, run=run, t=run.start - 30.0)))
    if world.day0.weekday() < 5:
        rot = world.rotation
        out.extend(
            (t, world.primary, partial(_rotation, world, t=t, name=n))
            for t, n in (
                (rot.create, "CreateAccessKey"),
                (rot.deactivate, "UpdateAccessKey"),
                (rot.delete, "DeleteAccessKey"),
            )
        )
    for day in range(world.days):
        # Automatic yearly rotation of customer-managed keys: with one key per instance, about one a day.
        inst = world.instances[day % len(world.instances)]
        t = day * 86400 + inst.offset / 4
        out.append((t, inst.region, partial(_kms_rotation, world, inst=inst, t=t)))
    return sorted(out, key=lambda s: (s[0], s[1]))


def _kms_rotation(world: _World, rng: random.Random, inst: _Instance, t: float) -> Event:
    """A service event: no caller, only the account and the service that acted."""
    who = _Who({"accountId": world.account, "invokedBy": "kms.amazonaws.com"}, "kms.amazonaws.com", "kms.amazonaws.com")
    event = _event(world, rng, t, inst.region, who, "kms.amazonaws.com", "RotateKey", False)
    del event["requestID"]
    event.update(
        eventType="AwsServiceEvent",
        resources=[{"accountId": world.account, "type": "AWS::KMS::Key", "ARN": inst.key_arn}],
        serviceEventDetails={"keyId": inst.key_arn.rsplit("/", 1)[1]},
    )
    return event


def _ec2_assume(world: _World, rng: random.Random, inst: _Instance, t: float) -> Event:
    """EC2 fetches the next instance-profile session: its key is the one the instance then uses."""
    _, key = _session(inst, t)
    params = {"roleArn": _role_arn(world, inst.role), "roleSessionName": inst.instance_id}
    response = {
        "credentials": {"accessKeyId": key, "expiration": _stamp(world, t + SESSION_SECONDS + 3600)},
        "assumedRoleUser": {
            "assumedRoleId": f"{inst.role.role_id}:{inst.instance_id}",
            "arn": f"arn:aws:sts::{world.account}:assumed-role/{inst.role.name}/{inst.instance_id}",
        },
    }
    event = _bare_service_event(
        world, rng, t - 1, inst.region, "ec2.amazonaws.com", "sts.amazonaws.com", "AssumeRole", params, shared=True
    )
    event["responseElements"] = response
    return event


def _saml(world: _World, rng: random.Random, person: _Person, t: float) -> Event:
    provider = f"arn:aws:iam::{world.account}:saml-provider/AWSSSO_{person.role.role_id[-16:].lower()}_DO_NOT_DELETE"
    who = _Who(
        {
            "type": "SAMLUser",
            "principalId": f"{person.role.role_id[-12:]}:{person.email}",
            "userName": person.email,
            "identityProvider": provider,
        },
        person.ip,
        _AGENTS["browser"],
    )
    params = {
        "sAMLAssertionID": f"_{rng.getrandbits(128):032x}",
        "roleSessionName": person.email,
        "roleArn": _role_arn(world, person.role),
        "principalArn": provider,
        "durationSeconds": 28800,
    }
    return _event(
        world,
        rng,
        t,
        world.primary,
        who,
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        True,
        params,
        {"subjectType": "persistent", "audience": "https://signin.aws.amazon.com/saml"},
    )


def _console_login(world: _World, rng: random.Random, person: _Person, t: float) -> Event:
    """The federation shape: MFA was enforced by the identity provider, so the sign-in itself reports MFAUsed No."""
    who = _person_who(world, person, t)
    event = _event(
        world,
        rng,
        t,
        world.primary,
        _Who(who.identity, who.ip, who.agent),
        "signin.amazonaws.com",
        "ConsoleLogin",
        False,
        None,
        {"ConsoleLogin": "Success"},
    )
    event.update(
        eventType="AwsConsoleSignIn",
        additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "No",
        },
    )
    return event


def _web_identity(world: _World, rng: random.Random, run: _Run, t: float) -> Event:
    subject = "repo:acme/platform:ref:refs/heads/main"
    provider = f"arn:aws:iam::{world.account}:oidc-provider/token.actions.githubusercontent.com"
    who = _Who(
        {
            "type": "WebIdentityUser",
            "principalId": f"{provider}:sts.amazonaws.com:{subject}",
            "userName": subject,
            "identityProvider": provider,
        },
        run.ip,
        _AGENTS["gha"],
    )
    role = world.roles["gha-deploy"]
    params = {"roleArn": _role_arn(world, role), "roleSessionName": run.session, "durationSeconds": 3600}
    response = {
        "credentials": {"accessKeyId": run.key, "expiration": _stamp(world, t + 3600)},
        "subjectFromWebIdentityToken": subject,
        "provider": provider,
        "audience": "sts.amazonaws.com",
        "assumedRoleUser": {
            "assumedRoleId": f"{role.role_id}:{run.session}",
            "arn": f"arn:aws:sts::{world.account}:assumed-role/{role.name}/{run.session}",
        },
    }
    return _event(
        world, rng, t, world.primary, who, "sts.amazonaws.com", "AssumeRoleWithWebIdentity", True, params, response
    )


def _terraform_assume(world: _World, rng: random.Random, run: _Run, t: float) -> Event:
    """The build box's IAM user assumes the terraform role for an apply."""
    role = world.roles["terraform"]
    params = {"roleArn": _role_arn(world, role), "roleSessionName": run.session, "durationSeconds": 3600}
    response = {
        "credentials": {"accessKeyId": run.key, "expiration": _stamp(world, t + 3600)},
        "assumedRoleUser": {
            "assumedRoleId": f"{role.role_id}:{run.session}",
            "arn": f"arn:aws:sts::{world.account}:assumed-role/{role.name}/{run.session}",
        },
    }
    who = _user_who(world, world.users[0], t)
    return _event(world, rng, t, world.primary, who, "sts.amazonaws.com", "AssumeRole", True, params, response)


def _rotation(world: _World, rng: random.Random, t: float, name: str) -> Event:
    """The laptop user rotates its own key: create a new one, deactivate the old, delete it."""
    user, rot = world.users[2], world.rotation
    params: dict[str, Any] = {"userName": user.name}
    response = None
    if name == "CreateAccessKey":
        response = {
            "accessKey": {
                "userName": user.name,
                "accessKeyId": rot.new_key,
                "status": "Active",
                "createDate": _stamp(world, t),
            }
        }
    else:
        params["accessKeyId"] = user.key
        if name == "UpdateAccessKey":
            params["status"] = "Inactive"
    return _event(
        world, rng, t, world.primary, _user_who(world, user, t), "iam.amazonaws.com", name, False, params, response
    )


# --- files -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BenignJob:
    path: str
    region: str
    start: int  # seconds after the first midnight
    count: int  # sampled events, besides the scheduled ones
    kinds: tuple[float, ...]  # the chance of each kind of actor in this window
    seed: int
    world: tuple[int, str, tuple[str, ...], date, int]


def _windows(world: _World) -> Iterator[tuple[int, str]]:
    for start in range(0, world.days * 86400, WINDOW):
        for region in world.regions:
            yield start, region


def _plan(options: GenerateOptions, out: Path) -> Iterator[_BenignJob]:
    key = (options.seed, options.accounts[0], options.regions, options.start, options.days)
    world = _world(*key)
    scheduled = _schedule(world)
    if len(scheduled) > options.events:
        raise ValueError(f"the benign profile needs at least {len(scheduled)} events for {options.days} day(s)")
    fixed: dict[tuple[int, str], int] = {}
    for t, region, _ in scheduled:
        slot = (int(t) // WINDOW * WINDOW, region)
        fixed[slot] = fixed.get(slot, 0) + 1
    windows = list(_windows(world))
    rates = [[rate(world, s + WINDOW / 2, r) for s, r in windows] for _, rate, _ in _KINDS]
    totals = [sum(column) or 1.0 for column in rates]
    # Each kind gets its share of the day, spread over the windows in proportion to its rate.
    weights = [[share * rates[k][w] / totals[k] for k, (share, _, _) in enumerate(_KINDS)] for w in range(len(windows))]
    counts = _apportion([sum(w) for w in weights], options.events - len(scheduled))
    rng = random.Random(options.seed)
    for (start, region), count, kind in zip(windows, counts, weights, strict=True):
        if count or fixed.get((start, region)):
            day = (world.day0 + timedelta(seconds=start)).date()
            folder = log_folder(out, options.org_id, world.account, region, day)
            name = log_name(world.account, region, world.day0 + timedelta(seconds=start + WINDOW), rng)
            yield _BenignJob(str(folder / name), region, start, count, tuple(kind), rng.getrandbits(32), key)


def _apportion(weights: list[float], total: int) -> list[int]:
    """Integer counts proportional to ``weights`` that add up to ``total`` exactly (largest remainders)."""
    scale = total / (sum(weights) or 1.0)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _write(job: _BenignJob) -> int:
    world = _world(*job.world)
    rng = random.Random(job.seed)
    makers = [make for _, _, make in _KINDS]
    records = [
        (t, make(rng))
        for t, region, make in _schedule(world)
        if region == job.region and job.start <= t < job.start + WINDOW
    ]
    for _ in range(job.count):
        t = job.start + rng.random() * WINDOW
        records.append((t, rng.choices(makers, job.kinds)[0](world, rng, t, job.region)))
    records.sort(key=lambda pair: pair[0])
    return write_records(job.path, [event for _, event in records])


def generate(
    out: Path | str,
    options: GenerateOptions = ONE_DAY,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Write a benign day (``options.events`` in all, first account only) under ``out``; return the count."""
    return run_jobs(_write, list(_plan(options, Path(out))), progress, workers)
