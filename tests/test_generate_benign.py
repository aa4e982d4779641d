"""Properties of the benign background, computed in plain Python over the generated JSON."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from trailsql.generate import GenerateOptions
from trailsql.generate_benign import generate

EVENTS = 20_000
OPTIONS = GenerateOptions(events=EVENTS, days=1)


def _records(out: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(out.rglob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records.extend(json.load(fh)["Records"])
    return records


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("benign")
    assert generate(out, OPTIONS) == EVENTS
    return _records(out)


def _digest(out: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(out.rglob("*.json.gz")):
        sha.update(path.relative_to(out).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    small = GenerateOptions(events=3000, days=1)
    generate(tmp_path / "a", small, workers=1)
    generate(tmp_path / "b", small, workers=2)
    generate(tmp_path / "c", GenerateOptions(events=3000, days=1, seed=8), workers=1)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_count_ids_and_a_24_hour_span(day: list[dict[str, Any]]) -> None:
    assert len(day) == EVENTS
    assert len({r["eventID"] for r in day}) == EVENTS
    times = sorted(datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")) for r in day)
    assert times[0].date() == times[-1].date() == OPTIONS.start
    assert (times[-1] - times[0]).total_seconds() > 23 * 3600


def test_instance_sessions_persist_and_rotate(day: list[dict[str, Any]]) -> None:
    keys: dict[str, set[str]] = {}
    for r in day:
        context = r["userIdentity"].get("sessionContext", {})
        if context.get("ec2RoleDelivery") == "2.0":
            instance = r["userIdentity"]["arn"].rsplit("/", 1)[1]
            assert instance.startswith("i-")
            assert r["userIdentity"]["principalId"].endswith(":" + instance)
            keys.setdefault(instance, set()).add(r["userIdentity"]["accessKeyId"])
    assert len(keys) == 40
    # Sessions rotate every six hours: four or five keys a day per instance, each used many times.
    assert all(4 <= len(k) <= 5 for k in keys.values())
    issued = [
        r for r in day if r["eventName"] == "AssumeRole" and r["userIdentity"].get("invokedBy") == "ec2.amazonaws.com"
    ]
    handed_out = {r["responseElements"]["credentials"]["accessKeyId"] for r in issued}
    # Every session but the one already running at midnight was handed out by EC2 during the day.
    assert all(len(k - handed_out) <= 1 for k in keys.values())


def test_instances_share_nat_addresses(day: list[dict[str, Any]]) -> None:
    by_ip: dict[str, set[str]] = {}
    for r in day:
        if r["userIdentity"].get("sessionContext", {}).get("ec2RoleDelivery"):
            by_ip.setdefault(r["sourceIPAddress"], set()).add(r["userIdentity"]["arn"])
    shared = [ip for ip, arns in by_ip.items() if len(arns) >= 5]
    assert 2 <= len(shared) <= 4
    build_box = {r["sourceIPAddress"] for r in day if r["userIdentity"].get("userName") == "ci-build"}
    assert build_box <= set(shared)


def test_services_act_on_the_accounts_behalf(day: list[dict[str, Any]]) -> None:
    assert any(r["userIdentity"]["type"] == "AWSService" for r in day)
    assert any(r["sourceIPAddress"] == "AWS Internal" for r in day)
    assert any("sharedEventID" in r for r in day)
    assert {"AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"} <= {r["eventType"] for r in day}
    invokers = {r["userIdentity"].get("invokedBy") for r in day}
    assert {"config.amazonaws.com", "cloudformation.amazonaws.com", "ec2.amazonaws.com"} <= invokers
    assert any(r["eventName"] == "AssumeRoleWithWebIdentity" for r in day)
    assert any(r["eventName"] == "AssumeRoleWithSAML" for r in day)


def test_routine_errors(day: list[dict[str, Any]]) -> None:
    errors = Counter(r.get("errorCode") for r in day if r.get("errorCode"))
    assert errors["ThrottlingException"] > 0
    assert errors["NoSuchBucketPolicy"] > 0
    assert errors["ValidationError"] > 0
    denied = [r for r in day if r.get("errorCode", "").startswith("AccessDenied")]
    assert errors["AccessDenied"] > 0
    # One monitoring role, steadily: most hours of the day have some, even at this small volume.
    assert {r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] for r in denied} == {
        "DatadogIntegrationRole"
    }
    assert len({r["eventTime"][11:13] for r in denied}) >= 12


def test_more_events_in_working_hours(day: list[dict[str, Any]]) -> None:
    by_hour = Counter(int(r["eventTime"][11:13]) for r in day)
    # Working hours are 09:00-17:00 US Eastern, 14:00-22:00 UTC; the night is 04:00-10:00 UTC.
    busy = sum(by_hour[h] for h in range(14, 22)) / 8
    quiet = sum(by_hour[h] for h in range(4, 10)) / 6
    assert busy > 1.5 * quiet


def _attack(r: dict[str, Any]) -> str | None:
    """Why ``r`` is an attack technique, if it is one."""
    name, params, who = r["eventName"], json.dumps(r.get("requestParameters") or {}), r["userIdentity"]
    if name in ("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules") and (
        "0.0.0.0/0" in params or "::/0" in params
    ):
        return "security group opened to the internet"
    forbidden = {
        "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "GetPasswordData", "BatchGetSecretValue",
        "ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute", "PutBucketAcl",
        "PutBucketPolicy", "DeletePublicAccessBlock", "CreateLoginProfile", "UpdateLoginProfile",
        "GetFederationToken", "SendCommand", "StartSession", "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey",
        "LeaveOrganization", "ScheduleKeyDeletion", "DisableKey", "DeleteDetector", "DeleteFlowLogs",
        "CreateFunctionUrlConfig", "CreateTrustAnchor", "DescribeInstanceAttribute", "CreateUser",
    }  # fmt: skip
    if name in forbidden:
        return name
    if "AdministratorAccess" in params or '"*"' in params or "'*'" in params:
        return "admin or wildcard policy"
    if name in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey") and json.loads(params)["userName"] != who.get(
        "userName"
    ):
        return "credentials for another user"
    if who.get("type") == "Root":
        return "root activity"
    mfa = (r.get("additionalEventData") or {}).get("MFAUsed")
    if name == "ConsoleLogin" and who["type"] in ("IAMUser", "Root") and mfa != "Yes":
        return "console login without MFA"
    return None


def test_no_attack_technique(day: list[dict[str, Any]]) -> None:
    found = Counter(reason for r in day if (reason := _attack(r)))
    assert not found
    # Secrets are read by their own services, a few at a time: no principal reads more than three.
    secrets: dict[str, set[str]] = {}
    for r in day:
        if r["eventName"] == "GetSecretValue":
            secrets.setdefault(r["userIdentity"]["arn"], set()).add(r["requestParameters"]["secretId"])
    assert secrets
    assert max(len(s) for s in secrets.values()) <= 2


def test_ingress_only_from_the_vpc(day: list[dict[str, Any]]) -> None:
    for r in day:
        if r["eventName"] == "AuthorizeSecurityGroupIngress":
            for rule in r["requestParameters"]["ipPermissions"]["items"]:
                cidrs = {i["cidrIp"] for i in rule["ipRanges"].get("items", [])}
                assert cidrs <= {"10.0.0.0/8"}


def test_federated_and_assumed_sessions_use_the_keys_they_were_given(day: list[dict[str, Any]]) -> None:
    given = {
        r["responseElements"]["credentials"]["accessKeyId"]
        for r in day
        if r["eventName"] in ("AssumeRoleWithWebIdentity", "AssumeRole") and r["userIdentity"]["type"] != "AWSService"
    }
    used = {
        r["userIdentity"]["accessKeyId"]
        for r in day
        if r["userIdentity"].get("arn", "").split("/")[1:2] in (["gha-deploy"], ["terraform"])
    }
    assert used and used <= given
    rotated = [r["eventName"] for r in day if r["eventName"].endswith("AccessKey")]
    assert rotated == ["CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"]
