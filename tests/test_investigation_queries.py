"""The investigation hunts: who-did-what finds a principal under any of its names, and the
change hunts list every write of their kind.

- The change hunts' event names are checked against AWS's API models (botocore's service
  models, one operation each): every IAM operation that is not a read, every EC2 operation
  on a security group that is not a read, every S3 / S3 Control operation putting or
  deleting a bucket policy, ACL, ownership controls, Block Public Access or access point
  policy (with CloudTrail's names for Block Public Access).
- Over the sample logs (the Invictus dataset), iam-changes returns exactly the IAM writes
  found in plain Python over the JSON, and the other two their writes.
- who-did-what runs over hand-written records (IAM users, assumed roles, SSO sessions, an
  EC2 instance role, root, a service, another account) and returns, per value, the records
  listed by hand.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import sqlglot
from sqlglot import exp

from trailsql.demo import samples_root
from trailsql.library import LibraryQuery, load_library
from trailsql.library.run import run_query
from trailsql.session import Session

LIBRARY = load_library()
NOW = dt.datetime(2025, 2, 13, tzinfo=dt.UTC)
READS = ("Get", "List", "Generate", "Simulate")  # IAM's read verbs (Generate* makes a report)
EC2_READS = ("Describe", "Get", "Validate")
#: CloudTrail logs Block Public Access calls by their IAM action, not their operation name.
S3_TRAIL_NAMES = {
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
}
S3_CONTROL_TRAIL_NAMES = {
    "PutPublicAccessBlock": "PutAccountPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteAccountPublicAccessBlock",
}


def operations(service: str) -> list[str]:
    return list(botocore.session.get_session().get_service_model(service).operation_names)


def iam_writes() -> set[str]:
    return {o for o in operations("iam") if not o.startswith(READS)}


def security_group_writes() -> set[str]:
    return {o for o in operations("ec2") if "SecurityGroup" in o and not o.startswith(EC2_READS)}


def bucket_access_writes() -> set[str]:
    def changes(service: str, subjects: tuple[str, ...]) -> list[str]:
        return [o for o in operations(service) if o.startswith(("Put", "Delete")) and any(s in o for s in subjects)]

    s3 = changes("s3", ("BucketPolicy", "BucketAcl", "OwnershipControls", "PublicAccessBlock"))
    control = changes("s3control", ("PublicAccessBlock", "AccessPointPolicy"))
    return {S3_TRAIL_NAMES.get(o, o) for o in s3} | {S3_CONTROL_TRAIL_NAMES.get(o, o) for o in control}


def listed_event_names(query: LibraryQuery) -> list[str]:
    """The names of the query's ``eventName IN (...)``, read from its parsed SQL."""
    tree = sqlglot.parse_one(query.render({}, NOW), read="athena")
    (listed,) = [n for n in tree.find_all(exp.In) if isinstance(n.this, exp.Column) and n.this.name == "eventName"]
    return [value.name for value in listed.expressions]


@pytest.mark.parametrize(
    ("query_id", "expected"),
    [
        ("iam-changes", iam_writes),
        ("security-group-changes", security_group_writes),
        ("s3-bucket-policy-changes", bucket_access_writes),
    ],
)
def test_change_hunts_list_every_write_of_the_api_models(query_id: str, expected: Callable[[], set[str]]) -> None:
    listed = listed_event_names(LIBRARY[query_id])
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert set(listed) == expected()


def test_the_iam_list_holds_every_write_verb_of_the_brief() -> None:
    """The write verbs named when the list was first asked for are all in (the list takes
    more: every operation that is not a read, AcquireRole and Disable* among them)."""
    verbs = (
        "Create Delete Put Attach Detach Update Add Remove Set Tag Untag Upload Enable Deactivate Change Reset Resync"
    )
    named = {o for o in operations("iam") if o.startswith(tuple(verbs.split()))}
    assert named and named <= set(listed_event_names(LIBRARY["iam-changes"]))


# --------------------------------------------------------------------------- the sample logs


def sample_records() -> list[dict[str, Any]]:
    return [
        r
        for path in samples_root().rglob("*.json.gz")
        for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]
    ]


def run_over_samples(query_id: str) -> list[dict[str, Any]]:
    with Session(logs=samples_root()) as session:
        return run_query(session, LIBRARY[query_id], {"since": "2023-07-01", "until": "2023-08-01"}).rows


@pytest.mark.parametrize(
    ("query_id", "source", "names"),
    [
        ("iam-changes", "iam.amazonaws.com", iam_writes),
        ("security-group-changes", "ec2.amazonaws.com", security_group_writes),
        ("s3-bucket-policy-changes", "s3.amazonaws.com", bucket_access_writes),
    ],
)
def test_change_hunts_return_exactly_the_samples_writes(
    query_id: str, source: str, names: Callable[[], set[str]]
) -> None:
    wanted = names()
    expected = [r for r in sample_records() if r["eventSource"] == source and r["eventName"] in wanted]
    got = run_over_samples(query_id)
    assert expected
    expected_events = Counter((r["eventTime"], r["eventName"], r["userIdentity"].get("arn")) for r in expected)
    assert Counter((r["eventtime"], r["eventname"], r["changed_by"]) for r in got) == expected_events
    assert [r["eventtime"] for r in got] == sorted((r["eventtime"] for r in got), reverse=True)


def test_iam_changes_finds_the_writes_the_seed_list_missed() -> None:
    """The sample's 88 IAM writes include 37 the seed's twelve names miss (counted by hand
    over the JSON: role policies put, trust policies updated, instance profiles, ...)."""
    names = Counter(r["eventname"] for r in run_over_samples("iam-changes"))
    assert sum(names.values()) == 88
    assert names["PutRolePolicy"] == 5 and names["UpdateAssumeRolePolicy"] == 2 and names["DeleteLoginProfile"] == 5
    seed = "CreateUser DeleteUser CreateRole DeleteRole AttachUserPolicy DetachUserPolicy AttachRolePolicy"
    seed += " DetachRolePolicy PutUserPolicy DeleteUserPolicy CreateAccessKey DeleteAccessKey"
    assert sum(n for name, n in names.items() if name not in seed.split()) == 37


# --------------------------------------------------------------------------- who-did-what

ACCOUNT = "123456789012"
OTHER = "210987654321"
SSO_ADMIN = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
SSO_READ = "AWSReservedSSO_ReadOnlyAccess_fedcba9876543210"


def iam_user(name: str, key: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().replace("_", "X").ljust(17, "0"),
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "userName": name,
    }


def role_session(role: str, session: str, key: str, account: str = ACCOUNT, path: str = "/") -> dict[str, Any]:
    role_id = "AROA" + role.upper()[:8].ljust(17, "0")
    context: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id,
            "arn": f"arn:aws:iam::{account}:role{path}{role}",
            "accountId": account,
            "userName": role,
        },
        "webIdFederationData": {},
        "attributes": {"creationDate": "2025-02-12T09:00:00Z", "mfaAuthenticated": "false"},
    }
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": context,
    }


ALICE_KEY = "AKIAALICE0000000001"
CAROL_KEY = "ASIACAROL0000000001"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"

#: id -> (identity, readOnly, account): one write event each, but where readOnly is true.
PRINCIPALS: dict[str, tuple[dict[str, Any], bool, str]] = {
    "alice": (iam_user("alice", ALICE_KEY), False, ACCOUNT),
    "alice-read": (iam_user("alice", ALICE_KEY), True, ACCOUNT),
    "Alice": (iam_user("Alice", "AKIAALICE0000000002"), False, ACCOUNT),
    "a_ice": (iam_user("a_ice", "AKIAAXICE0000000001"), False, ACCOUNT),
    "carol": (role_session("Admin", "carol", CAROL_KEY), False, ACCOUNT),
    "admin-alice": (role_session("Admin", "alice", "ASIAALICE0000000003"), False, ACCOUNT),
    "instance": (role_session("web-server", "i-0abc1234def567890", "ASIAINSTANCE0000001"), False, ACCOUNT),
    "jane-admin": (role_session(SSO_ADMIN, "jane@example.com", "ASIAJANE00000000001", path=SSO_PATH), False, ACCOUNT),
    "jane-read": (role_session(SSO_READ, "jane@example.com", "ASIAJANE00000000002", path=SSO_PATH), False, ACCOUNT),
    "john": (role_session(SSO_READ, "john@example.com", "ASIAJOHN00000000001", path=SSO_PATH), False, ACCOUNT),
    "jane-other": (
        role_session(SSO_ADMIN, "jane@example.com", "ASIAJANE00000000003", OTHER, path=SSO_PATH),
        False,
        OTHER,
    ),
    "root": ({"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}, False, ACCOUNT),
    "service": ({"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}, False, ACCOUNT),
}

#: value of user -> the ids of the events who-did-what must return (by hand).
WHO = {
    "alice": {"alice", "admin-alice"},  # the IAM user, and a role session named alice
    "a_ice": {"a_ice"},  # _ is a character, not LIKE's wildcard
    "Alice": {"Alice"},
    "arn:aws:iam::123456789012:user/alice": {"alice"},
    ALICE_KEY: {"alice"},
    "carol": {"carol"},  # a role session name
    CAROL_KEY: {"carol"},  # a temporary key
    "AROAADMIN000000000000:carol": {"carol"},  # the principal id
    "Admin": {"carol", "admin-alice"},  # a role name: all its sessions
    "arn:aws:iam::123456789012:role/Admin": {"carol", "admin-alice"},
    "i-0abc1234def567890": {"instance"},
    "jane@example.com": {"jane-admin", "jane-read", "jane-other"},  # an SSO user in every account
    "*@example.com": {"jane-admin", "jane-read", "john", "jane-other"},
    SSO_ADMIN: {"jane-admin", "jane-other"},
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_*/*": {"jane-admin", "jane-read", "john"},
    "arn:aws:sts::*:assumed-role/AWSReservedSSO_AdministratorAccess_*/jane@example.com": {"jane-admin", "jane-other"},
    "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*": {"jane-admin", "jane-read", "john", "jane-other"},
    "arn:aws:iam::123456789012:*": {"alice", "Alice", "a_ice", "carol", "admin-alice", "instance", "root"}
    | {"jane-admin", "jane-read", "john"},  # users and root by arn, role sessions by their role's arn
    "123456789012": {"root"},  # root's principal id is the account
    "%": set(),  # % and _ match themselves only
    "_____": set(),
    "ali\\ce": set(),  # and \ itself, not an escape making 'ali\ce' match alice
    "al*ce": {"alice", "admin-alice"},
    "nobody": set(),
}


@pytest.fixture(scope="module")
def principal_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One event per principal on 2025-02-12, a second apart, in its account's folder."""
    root = tmp_path_factory.mktemp("who") / "logs"
    for n, (event_id, (identity, read_only, account)) in enumerate(PRINCIPALS.items()):
        folder = root / "AWSLogs" / account / "CloudTrail" / "us-east-1" / "2025" / "02" / "12"
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": f"2025-02-12T10:00:{n:02d}Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances" if read_only else "TerminateInstances",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7",
            "readOnly": read_only,
            "eventID": event_id,
            "eventType": "AwsApiCall",
            "recipientAccountId": account,
        }
        name = f"{account}_CloudTrail_us-east-1_20250212T1000Z_{n:04d}.json.gz"
        (folder / name).write_bytes(gzip.compress(json.dumps({"Records": [record]}).encode()))
    return root


def test_who_did_what_cases_are_written_for_every_principal() -> None:
    assert set().union(*WHO.values()) == set(PRINCIPALS) - {"alice-read", "service"}


@pytest.mark.parametrize("user", sorted(WHO))
def test_who_did_what_finds_a_principal_by_any_of_its_names(principal_logs: Path, user: str) -> None:
    times = {f"2025-02-12T10:00:{n:02d}Z": event_id for n, event_id in enumerate(PRINCIPALS)}
    with Session(logs=principal_logs) as session:
        rows = run_query(
            session, LIBRARY["who-did-what"], {"since": "2025-02-12", "until": "2025-02-13", "user": user}
        ).rows
    got = [times[r["eventtime"]] for r in rows]
    assert sorted(got) == sorted(WHO[user])
    assert [r["eventtime"] for r in rows] == sorted((r["eventtime"] for r in rows), reverse=True)
