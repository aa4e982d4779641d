"""The library's detections catch real attacks, stay quiet on ordinary activity, and agree
with another team's rules of the same intent.

- Every Stratus Red Team technique file (real CloudTrail captured while each attack ran,
  tests/data/stratus, Apache-2.0) is laid out as CloudTrail delivers it and every
  detection runs over it: at least one finding must name the technique. The
  detection-by-technique matrix is printed (``pytest -s``).
- Over benign generated activity no detection may fire.
- Panther's detection tests (tests/data/panther, Apache-2.0: events with the verdict of a
  rule of theirs): where one of our detections has the same intent as their rule, its
  verdict on each case (no mocks) must agree with theirs on at least 95% of the cases.
  Their per-event tests do not exercise thresholds, so ours run with threshold 1 there.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ENGINES, engine_session, log_folder
from trailsql.library import load_library
from trailsql.library.run import run_queries, run_query
from trailsql.session import Session

DATA = Path(__file__).parent / "data"
DETECTIONS = [q for q in load_library().values() if q.kind == "detection"]
SPARK = "spark"
TECHNIQUES = sorted(p.name.removesuffix(".json") for p in (DATA / "stratus").glob("aws.*.json"))


def deliver(root: Path, records: list[dict[str, Any]], name: str) -> None:
    """Records as CloudTrail delivers them: a file per account, region and day."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[
            (r.get("recipientAccountId") or "123456789012", r.get("awsRegion") or "us-east-1", r["eventTime"][:10])
        ].append(r)
    for (account, region, day), group in groups.items():
        folder = log_folder(root, account, region, dt.date.fromisoformat(day))
        folder.mkdir(parents=True, exist_ok=True)
        stamp = day.replace("-", "")
        (folder / f"{account}_CloudTrail_{region}_{stamp}T0000Z_{name}.json.gz").write_bytes(
            gzip.compress(json.dumps({"Records": group}).encode())
        )


def technique_logs(root: Path, techniques: Iterable[str]) -> Path:
    """The Stratus technique files, delivered under ``root``."""
    for technique in techniques:
        deliver(root, json.loads((DATA / "stratus" / f"{technique}.json").read_text())["Records"], technique)
    return root


@pytest.fixture(scope="module", params=ENGINES)
def matrix(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, dict[str, int]]:
    """On each engine, technique -> detection -> findings naming that technique in the
    technique file's account."""
    return detection_matrix(request.param, tmp_path_factory)


_MATRICES: dict[str, dict[str, dict[str, int]]] = {}


def detection_matrix(engine: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, int]]:
    """The matrix on ``engine``, made once a test process (a Spark run takes a minute)."""
    if engine not in _MATRICES:
        _MATRICES[engine] = _detection_matrix(engine, tmp_path_factory.mktemp(f"stratus-{engine}") / "logs")
    return _MATRICES[engine]


def _detection_matrix(engine: str, root: Path) -> dict[str, dict[str, int]]:
    """All technique files are delivered into one tree under ``root`` (each was captured in
    its own pseudonymised account but for one account shared by three files), and every
    detection runs once over all of them on ``engine``.
    """
    accounts: dict[str, set[str]] = defaultdict(set)
    for technique in TECHNIQUES:
        records = json.loads((DATA / "stratus" / f"{technique}.json").read_text())["Records"]
        deliver(root, records, technique)
        accounts[technique] = {r["recipientAccountId"] for r in records}
    with engine_session(engine, logs=root) as session:
        runs = run_queries(session, DETECTIONS, {"since": "2024-01-01", "until": "2025-12-31"})
    assert not [r.error for r in runs if r.error]
    return {
        technique: {
            r.query.id: sum(
                f.technique == technique and any(row["account_id"] in accounts[technique] for row in f.rows)
                for f in r.findings
            )
            for r in runs
        }
        for technique in TECHNIQUES
    }


def test_every_stratus_technique_is_detected_and_named(matrix: dict[str, dict[str, int]]) -> None:
    width = max(len(t) for t in TECHNIQUES)
    print(f"\n{'technique':{width}}  detections whose findings name it")
    for technique in TECHNIQUES:
        hits = [f"{q} ({n})" for q, n in matrix[technique].items() if n]
        print(f"{technique:{width}}  {', '.join(hits) or 'NONE'}")
    missed = [t for t in TECHNIQUES if not any(matrix[t].values())]
    assert len(TECHNIQUES) == 37 and not missed


def test_every_technique_a_detection_claims_is_one_it_catches(matrix: dict[str, dict[str, int]]) -> None:
    for query in DETECTIONS:
        for technique in query.techniques:
            assert matrix[technique][query.id], f"{query.id} claims {technique} but does not catch it"


@pytest.mark.parametrize("engine", [pytest.param(SPARK, marks=pytest.mark.xdist_group("spark"))])
def test_the_matrix_is_the_same_on_spark(engine: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert detection_matrix(engine, tmp_path_factory) == detection_matrix("duckdb", tmp_path_factory)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_detection_fires_on_benign_activity(engine: str, tmp_path: Path) -> None:
    """Real activity of a Control Tower account (tests/data/benign, Apache-2.0): nothing to report."""
    records = json.loads((DATA / "benign" / "zyNWSr_real_controltower_2022-01-03.json").read_text())["Records"]
    deliver(tmp_path / "logs", records, "benign")
    window = {"since": "2022-01-03", "until": "2022-01-04"}
    with engine_session(engine, logs=tmp_path / "logs") as session:
        runs = run_queries(session, DETECTIONS, window)
        # The window holds the events: a hunt over it sees every failed call of the file.
        hunt = run_query(session, load_library()["failed-api-calls"], {**window, "limit": "1000"})
    assert not [r.error for r in runs if r.error]
    assert {r.query.id: len(r.findings) for r in runs if r.findings} == {}
    assert hunt.rows and len(hunt.rows) == sum(1 for r in records if r.get("errorCode"))


# --------------------------------------------------------------------------- Panther

#: Their rule -> our detection of the same intent.
SAME_INTENT = {
    "AWS.CloudTrail.Stopped": "cloudtrail-tampering",
    "AWS.CloudTrail.EventSelectorsDisabled": "cloudtrail-tampering",
    "AWS.CloudTrail.AttemptToLeaveOrg": "organizations-leave",
    "AWS.Bedrock.DeleteModelInvocationLoggingConfiguration": "security-logging-disabled",
    "AWS.CloudTrail.DNSLogsDeleted": "security-logging-disabled",
    "AWS.VPCFlow.LogsDeleted": "security-logging-disabled",
    "AWS.ConfigService.DisabledDeleted": "security-logging-disabled",
    "AWS.Bedrock.GuardrailUpdateDelete": "bedrock-guardrail-deleted",
    "AWS.CloudTrail.AMIModifiedForPublicAccess": "snapshot-or-image-shared",
    "AWS.CloudTrail.SnapshotMadePublic": "snapshot-or-image-shared",
    "AWS.RDS.SnapshotShared": "snapshot-or-image-shared",
    "AWS.Console.LoginWithoutMFA": "console-login-without-mfa",
    "AWS.Console.RootLogin": "console-login-without-mfa",
    "AWS.Root.Activity": "root-activity",
    "AWS.IAM.Backdoor.User.Keys": "iam-credentials-for-another-user",
    "AWS.User.Login.Profile.Modified": "iam-credentials-for-another-user",
    "AWS.CloudTrail.LoginProfileCreatedOrModified": "iam-credentials-for-another-user",
    "AWS.IAM.AttachAdminUserPolicy": "iam-admin-policy-attached",
    "AWS.IAM.AttachAdminRolePolicy": "iam-admin-policy-attached",
    "AWS.IAM.BackdoorRole": "iam-role-trust-opened",
    "AWS.Potential.Backdoor.Lambda": "lambda-function-tampering",
    "AWS.Lambda.UpdateFunctionCode": "lambda-function-tampering",
    "AWS.Lambda.UpdateFunctionConfiguration": "lambda-function-tampering",
    "AWS.KMS.CustomerManagedKeyLoss": "kms-key-deletion",
    "AWS.SecretsManager.RetrieveSecrets": "secrets-retrieved-in-bulk",
    "AWS.SecretsManager.BatchRetrieveSecrets": "secrets-retrieved-in-bulk",
    "AWS.SSM.DecryptSSMParams": "secrets-retrieved-in-bulk",
    "AWS.EC2.DownloadInstanceUserData": "ec2-user-data-or-password-read",
    "AWS.EC2.ManyPasswordReadAttempts": "ec2-user-data-or-password-read",
    "AWS.EC2.Startup.Script.Change": "ec2-user-data-or-password-read",
    "AWS.EC2.LaunchUnusualEC2Instances": "ec2-unusual-instances",
    "AWS.EC2.MultiInstanceConnect": "ec2-ssh-key-pushed",
    "AWS.SSM.DistributedCommand": "ssm-remote-execution",
    "AWS.S3.DeletePublicAccessBlock": "s3-bucket-opened-to-everyone",
    "AWS.STS.GetFederationToken": "sts-federation-token",
}


def panther_cases() -> Iterator[dict[str, Any]]:
    for line in (DATA / "panther" / "panther_cloudtrail_tests.jsonl").read_text().splitlines():
        case = json.loads(line)
        if case["rule_id"] in SAME_INTENT and not case["mocks"]:
            yield case


def as_cloudtrail(log: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """A Panther test event as CloudTrail writes it, moved to ``day`` (one day per case)."""
    event = {k: v for k, v in log.items() if not k.startswith("p_")}
    time = str(event.get("eventTime") or "2025-01-01T00:00:00Z").replace(" ", "T")[:19][11:] or "00:00:00"
    event["eventTime"] = f"{day}T{time}Z"
    return event


def test_verdicts_agree_with_panther_rules_of_the_same_intent(tmp_path: Path) -> None:
    cases = list(panther_cases())
    root = tmp_path / "logs"
    first = dt.date(2020, 1, 1)
    for n, case in enumerate(cases):
        deliver(root, [as_cloudtrail(case["log"], first + dt.timedelta(days=n))], f"case{n}")
    library = load_library()
    agree: dict[str, list[bool]] = defaultdict(list)
    with Session(logs=root) as session:
        for n, case in enumerate(cases):
            query = library[SAME_INTENT[case["rule_id"]]]
            day = first + dt.timedelta(days=n)
            params = {"since": day.isoformat(), "until": (day + dt.timedelta(days=1)).isoformat()}
            if query.param("threshold"):
                params["threshold"] = "1"
            run = run_query(session, query, params)
            assert run.error is None, run.error
            agree[case["rule_id"]].append(bool(run.findings) == case["expected_result"])
    print(f"\n{'their rule':50} {'our detection':34} agree")
    for rule, verdicts in sorted(agree.items()):
        print(f"{rule:50} {SAME_INTENT[rule]:34} {sum(verdicts)}/{len(verdicts)}")
    total = sum(len(v) for v in agree.values())
    agreed = sum(sum(v) for v in agree.values())
    print(f"{'all':50} {'':34} {agreed}/{total} = {agreed / total:.1%}")
    assert total >= 80 and agreed / total >= 0.95
