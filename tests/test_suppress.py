"""Suppressions (issue 12, item 5): rules in trailsql.toml drop matching findings before
reports and alerts, say how many each dropped, and stop working when they expire.

The findings come from two Stratus techniques' real events; which of them a rule matches is
worked out by hand from the events' principals and addresses.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_detections import technique_logs
from trailsql.alerts.report import build_report, render
from trailsql.cli.main import cli
from trailsql.errors import UsageError
from trailsql.library import load_library
from trailsql.library.findings import group_findings
from trailsql.library.query import parse_query
from trailsql.library.suppress import load_suppressions, suppress
from trailsql.session import Session

NOW = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
WINDOW = {"since": "2024-01-01", "until": "2024-12-01"}
TECHNIQUES = ["aws.defense-evasion.cloudtrail-stop", "aws.exfiltration.ec2-security-group-open-port-22-ingress"]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return technique_logs(tmp_path / "logs", TECHNIQUES)


def _report(logs: Path, workspace: Path, config: str) -> tuple[dict[str, int], dict[str, object]]:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "trailsql.toml").write_text(config)
    library = load_library()
    queries = [library["cloudtrail-tampering"], library["security-group-open-to-world"]]
    with Session(logs=logs, workspace=workspace) as session:
        made = build_report(session, queries, WINDOW, NOW)
    found = {run.query.id: len(run.findings) for run in made.runs}
    return found, json.loads(render(made, "json"))["suppressed"]


def test_without_rules_both_detections_fire(logs: Path, tmp_path: Path) -> None:
    found, suppressed = _report(logs, tmp_path / "ws", "")
    assert found == {"cloudtrail-tampering": 1, "security-group-open-to-world": 1}
    assert suppressed == {"suppressed": 0, "by_rule": {}, "expired_rules": []}


def test_a_rule_drops_only_what_it_names_and_says_so(logs: Path, tmp_path: Path) -> None:
    """The trail was stopped by user/christophe (the capture's principal): a rule for that user on that detection only."""
    config = """
[suppress.red-team]
detections = ["cloudtrail-tampering"]
principals = ["arn:aws:iam::*:user/christophe"]
reason = "the red team's exercise"
"""
    found, suppressed = _report(logs, tmp_path / "ws", config)
    assert found == {"cloudtrail-tampering": 0, "security-group-open-to-world": 1}
    assert suppressed == {"suppressed": 1, "by_rule": {"red-team": 1}, "expired_rules": []}


def test_an_expired_rule_suppresses_nothing_and_is_reported(logs: Path, tmp_path: Path) -> None:
    config = """
[suppress.old]
principals = ["*"]
expires = 2024-06-30
reason = "a past exercise"
"""
    found, suppressed = _report(logs, tmp_path / "ws", config)
    assert found == {"cloudtrail-tampering": 1, "security-group-open-to-world": 1}
    assert suppressed == {"suppressed": 0, "by_rule": {}, "expired_rules": ["old"]}


def test_the_cli_report_says_what_was_suppressed(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text('[suppress.all]\nprincipals = ["*"]\nreason = "demo"\n')
    result = CliRunner().invoke(
        cli,
        [
            *("report", "--logs", str(logs), "--workspace", str(workspace)),
            *(
                "--since",
                "2024-01-01",
                "--until",
                "2024-12-01",
                "--queries",
                "cloudtrail-tampering",
                "--format",
                "json",
            ),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 finding(s) suppressed (all: 1)" in result.stderr
    assert json.loads(result.stdout)["findings"] == []


HEADER = "-- id: t\n-- title: T\n-- kind: detection\n-- severity: high\n-- key: eventid\nSELECT 1"


def _finding(address: str, actor: str = "arn:aws:iam::1:user/scanner", event: str = "DescribeInstances") -> object:
    row = {"actor": actor, "sourceipaddress": address, "eventname": event, "account_id": "111111111111", "eventid": "e"}
    return group_findings(parse_query(HEADER, "t.sql"), [row], "")[0]


def test_every_criterion_must_match() -> None:
    (rule,) = load_suppressions(
        {
            "suppress": {
                "scanner": {
                    "principals": ["arn:aws:iam::*:user/scanner"],
                    "addresses": ["10.0.0.0/8"],
                    "accounts": ["111111111111"],
                    "events": ["DescribeInstances", "ListBuckets"],
                    "reason": "the scanner",
                }
            }
        }
    )
    day = dt.date(2025, 1, 1)
    assert suppress([_finding("10.1.2.3")], [rule], day).count == 1
    assert suppress([_finding("192.0.2.1")], [rule], day).count == 0  # outside the CIDR
    assert suppress([_finding("10.1.2.3", actor="arn:aws:iam::1:user/eve")], [rule], day).count == 0
    assert suppress([_finding("10.1.2.3", event="DeleteTrail")], [rule], day).count == 0
    assert suppress([_finding("ec2.amazonaws.com")], [rule], day).count == 0  # a service name is in no CIDR


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"detections": ["*"], "reason": "x"}, "needs principals"),
        ({"principals": ["*"]}, "needs a reason"),
        ({"principals": ["*"], "reason": "x", "adresses": ["1.2.3.4"]}, "unknown key 'adresses'"),
        ({"addresses": ["10.0.0.300/8"], "reason": "x"}, "not an address"),
        ({"principals": ["*"], "reason": "x", "expires": "next week"}, "must be a date"),
        ({"principals": "*", "reason": "x", "events": [1]}, "list of strings"),
    ],
)
def test_a_bad_rule_is_a_usage_error_naming_it(table: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=r"\[suppress\.r\].*" + message):
        load_suppressions({"suppress": {"r": table}})
