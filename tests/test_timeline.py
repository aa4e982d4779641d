"""``trailsql timeline``: every subject kind selects exactly the events listed by hand, in time
order; the summaries (and what was new against the history before the window) are the dicts
written by hand; every format; the exit codes.

The logs are an incident the test writes: an IAM user's key (dev, account 111111111111) leaks
and is used from a new address and user agent; it assumes a role in 222222222222 (a new ASIA
key; the call is logged in both accounts), which assumes a role in 333333333333 (another key)
that works in two regions, assumes a role back to the first session's key (a cycle) and one
more role. Other principals make noise (another session of the same role, another user on the
same network, an IPv6 caller, a bucket whose name holds the attacked bucket's name, a session
whose name ends with the attacker's). Two events come before the window (dev's history) and
one after it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import log_folder, write_log
from test_cli import trailsql
from trailsql.investigate.summary import History, New, Summary, summarize

A, B, C = "111111111111", "222222222222", "333333333333"
LEAKED = "AKIALEAKED0000000001"
PIVOT1, PIVOT2, PIVOT3 = "ASIAPIVOT00000000001", "ASIAPIVOT00000000002", "ASIAPIVOT00000000003"
DEV = f"arn:aws:iam::{A}:user/dev"
DEPLOY = f"arn:aws:iam::{B}:role/Deploy"
ADMIN = f"arn:aws:iam::{C}:role/Admin"
DEEPER = f"arn:aws:iam::{C}:role/team/Deeper"  # a role with a path: not in its sessions' ARN
ATTACKER_UA = "aws-cli/2.15.0 attacker"
EVIL_UA = "<script>alert(1)</script>"
SINCE, UNTIL = "2025-03-10T00:00:00Z", "2025-03-11T00:00:00Z"


def user(name: str, key: str, account: str = A) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper(),
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": key,
        "userName": name,
    }


def assumed(role: str, session: str, key: str, source_identity: str | None = None) -> dict[str, Any]:
    account, name = role.split(":")[4], role.rsplit("/", 1)[1]
    context: dict[str, Any] = {
        "sessionIssuer": {"type": "Role", "principalId": "AROA" + name.upper(), "arn": role, "accountId": account},
        "attributes": {"creationDate": "2025-03-10T10:00:00Z", "mfaAuthenticated": "false"},
    }
    if source_identity:
        context["sourceIdentity"] = source_identity
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{name.upper()}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": context,
    }


def event(
    event_id: str,
    time: str,
    identity: dict[str, Any],
    source: str,
    name: str,
    ip: str,
    *,
    account: str,
    region: str = "us-east-1",
    agent: str = ATTACKER_UA,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
        **fields,
    }


def assume_role(
    event_id: str,
    time: str,
    identity: dict[str, Any],
    ip: str,
    role: str,
    session: str,
    new_key: str | None,
    *,
    account: str,
    region: str = "us-east-1",
    agent: str = ATTACKER_UA,
    source_identity: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An AssumeRole call; with ``new_key`` None, a refused one."""
    request: dict[str, Any] = {"roleArn": role, "roleSessionName": session}
    if source_identity:
        request["sourceIdentity"] = source_identity
    response = None
    if new_key is not None:
        response = {
            "credentials": {"accessKeyId": new_key, "sessionToken": "token", "expiration": "Mar 10, 2025, 11:00:00 AM"},
            "assumedRoleUser": {
                "assumedRoleId": "AROA:" + session,
                "arn": f"arn:aws:sts::{role.split(':')[4]}:assumed-role/{role.rsplit('/', 1)[1]}/{session}",
            },
            **({"sourceIdentity": source_identity} if source_identity else {}),
        }
    return event(
        event_id,
        time,
        identity,
        "sts.amazonaws.com",
        "AssumeRole",
        ip,
        account=account,
        region=region,
        agent=agent,
        requestParameters=request,
        responseElements=response,
        resources=[{"ARN": role, "accountId": role.split(":")[4], "type": "AWS::IAM::Role"}],
        **({"errorCode": "AccessDenied", "errorMessage": "not authorized"} if new_key is None else {}),
        **fields,
    )


def bucket_call(
    event_id: str, time: str, identity: dict[str, Any], name: str, bucket: str, ip: str, **kw: Any
) -> dict[str, Any]:
    return event(
        event_id,
        time,
        identity,
        "s3.amazonaws.com",
        name,
        ip,
        requestParameters={"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com"},
        resources=[{"ARN": f"arn:aws:s3:::{bucket}", "type": "AWS::S3::Bucket"}],
        **kw,
    )


DEV_KEY = user("dev", LEAKED)
SESSION1 = assumed(DEPLOY, "pivot1", PIVOT1, source_identity="attacker-si")
SESSION2 = assumed(ADMIN, "pivot2", PIVOT2)
SESSION3 = assumed(DEEPER, "pivot3", PIVOT3)
OFFICE, ATTACKER, VPS = "198.51.100.7", "203.0.113.9", "192.0.2.44"

#: (account, region, day) -> records: the files the test writes.
FILES: dict[tuple[str, str, dt.date], list[dict[str, Any]]] = {
    (A, "us-east-1", dt.date(2025, 3, 1)): [
        event(
            "h1",
            "2025-03-01T09:00:00Z",
            DEV_KEY,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            OFFICE,
            account=A,
            agent="aws-cli/2.9.0",
        ),
        event(
            "h2",
            "2025-03-01T09:05:00Z",
            DEV_KEY,
            "s3.amazonaws.com",
            "ListBuckets",
            OFFICE,
            account=A,
            agent="aws-cli/2.9.0",
        ),
    ],
    (A, "us-east-1", dt.date(2025, 3, 10)): [
        # before the window, delivered in the window's first folder
        event(
            "h3",
            "2025-03-09T23:58:00Z",
            DEV_KEY,
            "iam.amazonaws.com",
            "ListUsers",
            OFFICE,
            account=A,
            agent="aws-cli/2.9.0",
        ),
        event("k1", "2025-03-10T10:00:00Z", DEV_KEY, "sts.amazonaws.com", "GetCallerIdentity", ATTACKER, account=A),
        bucket_call(
            "n1",
            "2025-03-10T10:00:30Z",
            user("alice", "AKIAALICE00000000001"),
            "GetBucketAcl",
            "prod-secrets-archive",
            "203.0.113.200",
            account=A,
            agent="Boto3/1.34",
        ),
        event("k2", "2025-03-10T10:01:00Z", DEV_KEY, "iam.amazonaws.com", "ListUsers", ATTACKER, account=A),
        event(
            "k3",
            "2025-03-10T10:02:00Z",
            DEV_KEY,
            "s3.amazonaws.com",
            "ListBuckets",
            ATTACKER,
            account=A,
            errorCode="AccessDenied",
            errorMessage="Access Denied",
        ),
        assume_role(
            "k4",
            "2025-03-10T10:03:00Z",
            DEV_KEY,
            ATTACKER,
            DEPLOY,
            "pivot1",
            PIVOT1,
            account=A,
            source_identity="attacker-si",
            sharedEventID="shared-k4",
        ),
        assume_role(
            "k5", "2025-03-10T10:04:00Z", DEV_KEY, ATTACKER, f"arn:aws:iam::{B}:role/Billing", "try", None, account=A
        ),
        event(
            "n3",
            "2025-03-10T10:30:00Z",
            user("bob", "AKIABOB0000000000001"),
            "ec2.amazonaws.com",
            "DescribeRegions",
            "2001:db8::5",
            account=A,
            agent="Boto3/1.34",
        ),
        event(
            "d1",
            "2025-03-10T10:50:00Z",
            user("dev", "AKIADEVSECOND0000001"),
            "s3.amazonaws.com",
            "ListBuckets",
            OFFICE,
            account=A,
            agent="aws-cli/2.9.0",
        ),
        # the attacked bucket's name as a key of the parameters, not a value
        event(
            "n7",
            "2025-03-10T10:56:00Z",
            user("alice", "AKIAALICE00000000001"),
            "s3.amazonaws.com",
            "PutBucketTagging",
            "203.0.113.200",
            account=A,
            agent="Boto3/1.34",
            requestParameters={"bucketName": "tags", "Tagging": {"prod-secrets": "yes"}},
        ),
        event(
            "n6",
            "2025-03-10T10:55:00Z",
            {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "kms.amazonaws.com",
            "GenerateDataKey",
            "AWS Internal",
            account=A,
            agent="AWS Internal",
        ),
    ],
    (B, "us-east-1", dt.date(2025, 3, 10)): [
        # The cross-account AssumeRole, as logged in the role's account too (its own event id).
        assume_role(
            "k4b",
            "2025-03-10T10:03:00Z",
            DEV_KEY,
            ATTACKER,
            DEPLOY,
            "pivot1",
            PIVOT1,
            account=B,
            source_identity="attacker-si",
            sharedEventID="shared-k4",
        ),
        event("p1", "2025-03-10T10:05:00Z", SESSION1, "s3.amazonaws.com", "ListBuckets", ATTACKER, account=B),
        bucket_call("p2", "2025-03-10T10:06:00Z", SESSION1, "GetBucketPolicy", "prod-secrets", ATTACKER, account=B),
        assume_role("p3", "2025-03-10T10:07:00Z", SESSION1, ATTACKER, ADMIN, "pivot2", PIVOT2, account=B),
        event(
            "n2",
            "2025-03-10T10:20:00Z",
            assumed(DEPLOY, "ci-run", "ASIACI00000000000001"),
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            "192.0.2.10",
            account=B,
            agent="ci",
        ),
        event(
            "n4",
            "2025-03-10T10:21:00Z",
            assumed(f"arn:aws:iam::{B}:role/Ops", "other", "ASIAOPS0000000000001", source_identity="attacker-si"),
            "ec2.amazonaws.com",
            "DescribeVpcs",
            "192.0.2.11",
            account=B,
            agent="ci",
        ),
        event(
            "n5",
            "2025-03-10T10:22:00Z",
            assumed(DEPLOY, "xpivot1", "ASIAXP00000000000001"),
            "ec2.amazonaws.com",
            "DescribeVpcs",
            "192.0.2.12",
            account=B,
            agent="ci",
        ),
    ],
    (C, "us-east-1", dt.date(2025, 3, 10)): [
        event("q1", "2025-03-10T10:08:00Z", SESSION2, "ec2.amazonaws.com", "DescribeInstances", VPS, account=C),
    ],
    (C, "eu-west-1", dt.date(2025, 3, 10)): [
        event(
            "q2",
            "2025-03-10T10:09:00Z",
            SESSION2,
            "ec2.amazonaws.com",
            "RunInstances",
            VPS,
            account=C,
            region="eu-west-1",
            agent=EVIL_UA,
        ),
        # Back to the first session's key: a cycle.
        assume_role("q3", "2025-03-10T10:10:00Z", SESSION2, VPS, DEPLOY, "loop", PIVOT1, account=C, region="eu-west-1"),
        assume_role(
            "q4", "2025-03-10T10:11:00Z", SESSION2, VPS, DEEPER, "pivot3", PIVOT3, account=C, region="eu-west-1"
        ),
        bucket_call(
            "r1",
            "2025-03-10T10:12:00Z",
            SESSION3,
            "PutBucketPolicy",
            "prod-secrets",
            VPS,
            account=C,
            region="eu-west-1",
        ),
    ],
    (A, "us-east-1", dt.date(2025, 3, 12)): [
        event("a1", "2025-03-12T08:00:00Z", DEV_KEY, "iam.amazonaws.com", "DeleteUser", ATTACKER, account=A),
    ],
}


def write_incident(
    root: Path, files: dict[tuple[str, str, dt.date], list[dict[str, Any]]] = FILES, first: int = 0
) -> Path:
    """``files`` under ``root``; ``first`` numbers the files (another set beside them: other names)."""
    for n, ((account, region, day), records) in enumerate(files.items(), first):
        name = f"{account}_CloudTrail_{region}_{day:%Y%m%d}T1015Z_{n:016d}.json.gz"
        write_log(log_folder(root, account, region, day), name, records)
    return root


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_incident(tmp_path_factory.mktemp("incident") / "logs")


def run_json(logs: Path, *args: str) -> dict[str, Any]:
    result = trailsql("timeline", "--logs", logs, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def ids(document: dict[str, Any]) -> list[str]:
    return [e["eventid"] for e in document["events"]]


WINDOW = ("--since", SINCE, "--until", UNTIL)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--access-key", LEAKED, ["k1", "k2", "k3", "k4", "k4b", "k5"]),
        ("--access-key", PIVOT2, ["q1", "q2", "q3", "q4"]),
        # the user: both its keys
        ("--principal", DEV, ["k1", "k2", "k3", "k4", "k4b", "k5", "d1"]),
        # the role: every session of it (pivot1, ci-run, xpivot1)
        ("--principal", DEPLOY, ["p1", "p2", "p3", "n2", "n5"]),
        ("--principal", f"arn:aws:sts::{B}:assumed-role/Deploy/pivot1", ["p1", "p2", "p3"]),
        ("--principal", DEEPER, ["r1"]),
        # a session name: not xpivot1, whose name ends with it
        ("--session", "pivot1", ["p1", "p2", "p3"]),
        # a source identity: pivot1's events and another role's session carrying it
        ("--session", "attacker-si", ["p1", "p2", "p3", "n4"]),
        ("--ip", ATTACKER, ["k1", "k2", "k3", "k4", "k4b", "k5", "p1", "p2", "p3"]),
        ("--ip", "203.0.113.0/24", ["k1", "n1", "k2", "k3", "k4", "k4b", "k5", "p1", "p2", "p3", "n7"]),
        ("--ip", "192.0.2.8/30", ["n2", "n4"]),
        ("--ip", "2001:db8::/32", ["n3"]),
        ("--ip", "2001:DB8:0::5", ["n3"]),
        # by ARN: in resources[], or a request parameter's value (q3's roleArn)
        ("--resource", DEPLOY, ["k4", "k4b", "q3"]),
        ("--resource", "arn:aws:s3:::prod-secrets", ["p2", "r1"]),
        # by name: the bucketName value, whole (not prod-secrets-archive, not n7's key)
        ("--resource", "prod-secrets", ["p2", "r1"]),
    ],
)
def test_each_subject_selects_its_events_in_time_order(
    logs: Path, option: str, value: str, expected: list[str]
) -> None:
    assert ids(run_json(logs, option, value, *WINDOW)) == expected


def test_the_window_bounds_the_timeline_and_without_it_every_event_counts(logs: Path) -> None:
    everything = run_json(logs, "--access-key", LEAKED)
    assert ids(everything) == ["h1", "h2", "h3", "k1", "k2", "k3", "k4", "k4b", "k5", "a1"]
    assert everything["window"] is None
    assert everything["summary"]["new"] is None
    assert ids(run_json(logs, "--access-key", LEAKED, "--since", "2025-03-11")) == ["a1"]


def test_events_carry_the_columns_of_each_event(logs: Path) -> None:
    (k3,) = [e for e in run_json(logs, "--access-key", LEAKED, *WINDOW)["events"] if e["eventid"] == "k3"]
    assert k3 == {
        "eventtime": "2025-03-10T10:02:00Z",
        "account": A,
        "region": "us-east-1",
        "eventsource": "s3.amazonaws.com",
        "eventname": "ListBuckets",
        "arn": DEV,
        "sourceipaddress": ATTACKER,
        "useragent": ATTACKER_UA,
        "errorcode": "AccessDenied",
        "errormessage": "Access Denied",
        "accesskeyid": LEAKED,
        "eventid": "k3",
    }


def test_the_summary_and_what_was_new_against_the_history_before_the_window(logs: Path) -> None:
    document = run_json(logs, "--access-key", LEAKED, *WINDOW)
    assert document["subject"] == {"kind": "access-key", "value": LEAKED}
    assert document["window"] == {"since": SINCE, "until": UNTIL}
    assert document["summary"] == {
        "events": 6,
        "first_seen": "2025-03-10T10:00:00Z",
        "last_seen": "2025-03-10T10:04:00Z",
        "accounts": {A: 5, B: 1},
        "regions": {"us-east-1": 6},
        "addresses": {ATTACKER: 6},
        "user_agents": {ATTACKER_UA: 6},
        "access_keys": {LEAKED: 6},
        "services": {"sts.amazonaws.com": 4, "iam.amazonaws.com": 1, "s3.amazonaws.com": 1},
        "apis": {"sts:AssumeRole": 3, "iam:ListUsers": 1, "s3:ListBuckets": 1, "sts:GetCallerIdentity": 1},
        "errors": {"AccessDenied": 2},
        "new": {
            "apis": ["sts:AssumeRole"],  # ListUsers: h3, before the window though filed in its first folder
            "addresses": [ATTACKER],
            "regions": [],
            "user_agents": [ATTACKER_UA],
            "prior_events": 3,
            "prior_first_seen": "2025-03-01T09:00:00Z",
        },
    }


def test_a_subject_with_no_history_has_everything_new(logs: Path) -> None:
    new = run_json(logs, "--access-key", PIVOT2, *WINDOW)["summary"]["new"]
    assert new == {
        "apis": ["ec2:DescribeInstances", "ec2:RunInstances", "sts:AssumeRole"],
        "addresses": [VPS],
        "regions": ["eu-west-1", "us-east-1"],
        "user_agents": [EVIL_UA, ATTACKER_UA],
        "prior_events": 0,
        "prior_first_seen": None,
    }


def test_the_history_of_an_address_subject_is_tested_row_by_row(logs: Path) -> None:
    # 198.51.100.0/24 before the window: dev's three calls from the office (h1, h2, h3).
    new = run_json(logs, "--ip", "198.51.100.0/24", *WINDOW)["summary"]["new"]
    assert new["prior_events"] == 3
    assert new["apis"] == []  # d1's s3:ListBuckets was seen before (h2)
    assert new["addresses"] == []


def test_summarize_counts_plain_rows() -> None:
    rows = [
        {
            "eventtime": "2025-01-01T00:00:02Z",
            "account": "1",
            "region": "r1",
            "eventsource": "s3.amazonaws.com",
            "eventname": "GetObject",
            "sourceipaddress": "x",
            "useragent": None,
            "errorcode": None,
            "accesskeyid": "K",
        },
        {
            "eventtime": "2025-01-01T00:00:01Z",
            "account": "1",
            "region": "r2",
            "eventsource": "s3.amazonaws.com",
            "eventname": "PutObject",
            "sourceipaddress": "y",
            "useragent": "u",
            "errorcode": "E",
            "accesskeyid": "K",
        },
        {
            "eventtime": "2025-01-01T00:00:03Z",
            "account": "2",
            "region": "r2",
            "eventsource": "kms.amazonaws.com",
            "eventname": "Decrypt",
            "sourceipaddress": "y",
            "useragent": "u",
            "errorcode": "E",
            "accesskeyid": None,
        },
    ]
    history = History(
        events=4,
        first_seen="2024-12-01T00:00:00Z",
        apis=frozenset({"s3:GetObject"}),
        addresses=frozenset({"x"}),
        regions=frozenset({"r1", "r2"}),
        user_agents=frozenset(),
    )
    assert summarize(rows, history) == Summary(
        events=3,
        first_seen="2025-01-01T00:00:01Z",
        last_seen="2025-01-01T00:00:03Z",
        accounts={"1": 2, "2": 1},
        regions={"r2": 2, "r1": 1},
        addresses={"y": 2, "x": 1},
        user_agents={"u": 2},
        access_keys={"K": 2},
        services={"s3.amazonaws.com": 2, "kms.amazonaws.com": 1},
        apis={"kms:Decrypt": 1, "s3:GetObject": 1, "s3:PutObject": 1},
        errors={"E": 2},
        new=New(
            apis=["kms:Decrypt", "s3:PutObject"],
            addresses=["y"],
            regions=[],
            user_agents=["u"],
            prior_events=4,
            prior_first_seen="2024-12-01T00:00:00Z",
        ),
    )
    assert summarize(rows, None).new is None
    assert summarize([], None) == Summary(events=0, first_seen=None, last_seen=None)


def test_csv_holds_the_events_as_athena_quotes_them(logs: Path) -> None:
    result = trailsql("timeline", "--logs", logs, "--format", "csv", "--ip", "2001:db8::/32", *WINDOW)
    assert result.exit_code == 0
    assert result.stdout.startswith('"eventtime","account",')
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["eventid"], r["sourceipaddress"], r["errorcode"]) for r in rows] == [("n3", "2001:db8::5", "")]


def test_html_is_one_self_contained_page_with_every_value_escaped(logs: Path, tmp_path: Path) -> None:
    page = tmp_path / "timeline.html"
    result = trailsql("timeline", "--logs", logs, "--format", "html", "--output", page, "--access-key", PIVOT2, *WINDOW)
    assert result.exit_code == 0
    html = page.read_text()
    for event_id in ("q1", "q2", "q3", "q4"):
        assert f'<td class="c-eventid">{event_id}</td>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert re.search(r"\b(src|href)\s*=", html) is None
    assert "<link" not in html.lower() and "@import" not in html and "url(" not in html
    assert "ec2:RunInstances (1)" in html  # the summary is on the page


def test_the_table_form_has_the_summary_and_every_event(logs: Path) -> None:
    result = trailsql("timeline", "--logs", logs, "--access-key", LEAKED, *WINDOW, env={"COLUMNS": None})
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith(f"Timeline of access key {LEAKED}, 2025-03-10 00:00 to 2025-03-11 00:00 UTC\n")
    assert "6 events, first 2025-03-10T10:00:00Z, last 2025-03-10T10:04:00Z" in text
    assert "APIs: sts:AssumeRole (3), iam:ListUsers (1), s3:ListBuckets (1), sts:GetCallerIdentity (1)" in text
    assert "  APIs: sts:AssumeRole" in text
    assert "  regions: none" in text
    event_lines = [line for line in text.splitlines() if re.search(r"│ k\d+b? *$", line)]
    assert [line.split("│")[-1].strip() for line in event_lines] == ["k1", "k2", "k3", "k4", "k4b", "k5"]


def test_terminal_escapes_in_a_value_do_not_reach_the_terminal(tmp_path: Path) -> None:
    evil = event(
        "x1",
        "2025-03-10T10:00:00Z",
        DEV_KEY,
        "sts.amazonaws.com",
        "GetCallerIdentity",
        ATTACKER,
        account=A,
        agent="\x1b]0;owned\x07\x1b[31mred",
    )
    logs = write_incident(tmp_path / "logs", {(A, "us-east-1", dt.date(2025, 3, 10)): [evil]})
    result = trailsql("timeline", "--logs", logs, "--access-key", LEAKED)
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "User agents: red (1)" in result.stdout


def test_no_event_is_an_answer_exit_0_said_on_stderr(logs: Path) -> None:
    result = trailsql("timeline", "--logs", logs, "--format", "json", "--access-key", "AKIANOBODY0000000001", *WINDOW)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["events"] == []
    assert "no event of access key AKIANOBODY0000000001 in the window" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--principal", "arn:aws:iam::1234:user/dev"), "--principal: not a principal ARN"),
        (("--principal", "arn:aws:s3:::bucket"), "--principal: not a principal ARN"),
        (("--principal", "dev"), "--principal: not a principal ARN"),
        (("--ip", "10.0.0.1/24"), "--ip: not an address or CIDR"),
        (("--ip", "300.1.1.1"), "--ip: not an address or CIDR"),
        (("--access-key", "AKIA'; DROP"), "--access-key: not an access key id"),
        (("--session", "a/b"), "--session: not a role session name"),
        (("--resource", "arn:aws:s3"), "--resource: not an ARN"),
        (("--access-key", LEAKED, "--ip", ATTACKER), "name exactly one subject"),
        ((), "name exactly one subject"),
        (("--access-key", LEAKED, "--until", "2025-03-11"), "--until needs --since"),
    ],
)
def test_a_malformed_subject_is_a_usage_error(logs: Path, args: tuple[str, ...], message: str) -> None:
    result = trailsql("timeline", "--logs", logs, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_addresses_are_enriched_with_the_workspace_data(tmp_path: Path) -> None:
    """What each address is (ip_info) sits beside the summary's addresses, in every format."""
    ranges = Path(__file__).parent / "data" / "ip-ranges.json"
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "trailsql.toml").write_text(f"[enrich]\nip_ranges = {json.dumps(str(ranges))}\n")
    identity = {"type": "IAMUser", "arn": DEV, "accessKeyId": LEAKED, "accountId": A}
    records = [
        event("e1", "2025-03-10T10:00:00Z", identity, "s3.amazonaws.com", "ListBuckets", "3.225.16.109", account=A),
        event("e2", "2025-03-10T10:01:00Z", identity, "s3.amazonaws.com", "ListBuckets", "10.1.2.3", account=A),
        event("e3", "2025-03-10T10:02:00Z", identity, "s3.amazonaws.com", "GetObject", "10.1.2.3", account=A),
    ]
    write_log(log_folder(tmp_path / "logs", A, "us-east-1", dt.date(2025, 3, 10)), "a.json.gz", records)
    where = ("--logs", tmp_path / "logs", "--workspace", tmp_path / "ws", "--access-key", LEAKED)
    document = json.loads(trailsql("timeline", *where, "--format", "json").stdout)
    nothing = {"aws_region": None, "aws_service": None, "network": None, "country": None, "asn": None, "as_org": None}
    assert document["addresses"] == {
        "10.1.2.3": {"kind": "private", **nothing},
        "3.225.16.109": {
            **nothing,
            "kind": "aws",
            "aws_region": "us-east-1",
            "aws_service": "EC2",
            "network": "3.224.0.0/12",
        },
    }
    table = trailsql("timeline", *where).stdout
    assert "Addresses: 10.1.2.3 [private] (2), 3.225.16.109 [aws EC2 us-east-1] (1)" in table
    page = trailsql("timeline", *where, "--format", "html").stdout
    assert "3.225.16.109 [aws EC2 us-east-1] (1)" in page
