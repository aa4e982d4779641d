"""Everyday use (issue 13, items 2 and 3): no empty answer without a reason, settings
remembered and found, "run it again" commands that run as printed.

Expected counts are the number of records written by each test.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path

import pytest
from tests.conftest import log_folder, write_log
from tests.test_cli import trailsql

DAY = dt.date(2025, 2, 12)
ACCOUNT = "123456789012"


def _logs(root: Path, n: int = 6) -> Path:
    records = [
        {
            "eventVersion": "1.08",
            "eventTime": f"{DAY}T10:00:{i:02d}Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging" if i == 0 else "DescribeTrails",
            "awsRegion": "us-east-1",
            "recipientAccountId": ACCOUNT,
            "sourceIPAddress": "192.0.2.1",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
            "requestParameters": {"name": "main"} if i == 0 else None,
            "eventID": f"e{i}",
        }
        for i in range(n)
    ]
    return write_log(log_folder(root, ACCOUNT, "us-east-1", DAY), f"{ACCOUNT}_CloudTrail_us-east-1_a.json.gz", records)


def _count(result: object) -> int:
    return int(json.loads(result.stdout)[0]["n"])  # type: ignore[attr-defined]


COUNT = "SELECT count(*) AS n FROM cloudtrail_logs"


def test_a_missing_logs_location_is_an_error_naming_it(tmp_path: Path) -> None:
    result = trailsql("query", "--logs", tmp_path / "nowhere", COUNT)
    assert result.exit_code == 1
    assert f"the logs location {tmp_path / 'nowhere'} does not exist" in result.stderr


def test_without_logs_the_default_table_says_how_to_give_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRAILSQL_WORKSPACE", raising=False)
    result = trailsql("query", COUNT)
    assert result.exit_code == 1 and "give the logs with --logs PATH" in result.stderr


def test_one_log_file_is_a_logs_location(tmp_path: Path) -> None:
    one = _logs(tmp_path / "logs", 6)
    assert _count(trailsql("query", "--logs", one, "--format", "json", COUNT)) == 6


def test_a_workspace_remembers_its_logs_and_is_found_from_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _logs(tmp_path / "logs", 4)
    workspace = tmp_path / "ws"
    assert (
        _count(trailsql("query", "--workspace", workspace, "--logs", tmp_path / "logs", "--format", "json", COUNT)) == 4
    )
    assert _count(trailsql("query", "--workspace", workspace, "--format", "json", COUNT)) == 4  # remembered
    monkeypatch.delenv("TRAILSQL_WORKSPACE", raising=False)
    below = workspace / "notes" / "deeper"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)  # a trailsql.toml up the tree is the workspace
    assert _count(trailsql("query", "--format", "json", COUNT)) == 4
    shown = trailsql("config", "show").stdout
    assert f"workspace: {workspace} (trailsql.toml found in {workspace})" in shown
    assert f"logs: {tmp_path / 'logs'} ([logs] default in trailsql.toml)" in shown
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAILSQL_WORKSPACE", str(workspace))
    assert _count(trailsql("query", "--format", "json", COUNT)) == 4
    assert "($TRAILSQL_WORKSPACE)" in trailsql("config", "show").stdout


def test_ingest_remembers_its_logs(tmp_path: Path) -> None:
    _logs(tmp_path / "logs", 3)
    assert trailsql("ingest", "--workspace", tmp_path / "ws", "--logs", tmp_path / "logs").exit_code == 0
    result = trailsql("query", "--workspace", tmp_path / "ws", "--format", "json", "--stats", COUNT)
    assert _count(result) == 3
    assert json.loads(result.stderr.strip().splitlines()[-1])["events_from_lake"] == 3


def test_a_reports_run_it_again_command_runs_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _logs(tmp_path / "logs", 6)
    made = trailsql(
        "report", "--logs", tmp_path / "logs", "--since", str(DAY), "--until", str(DAY + dt.timedelta(days=1)),
        "--queries", "cloudtrail-tampering", "--format", "json",
    )  # fmt: skip
    (finding,) = json.loads(made.stdout)["findings"]
    words = shlex.split(finding["link"])
    assert words[:4] == ["trailsql", "queries", "run", "cloudtrail-tampering"] and "--logs" in words
    monkeypatch.chdir(Path("/"))  # from anywhere
    again = trailsql(*words[1:], "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert [row["eventid"] for row in json.loads(again.stdout)] == ["e0"]


def test_a_window_without_logs_says_when_the_logs_are(tmp_path: Path) -> None:
    _logs(tmp_path / "logs", 3)
    result = trailsql("queries", "run", "failed-api-calls", "--logs", tmp_path / "logs", "--since", "2026-01-01")
    assert result.exit_code == 0
    assert result.stderr.strip().splitlines()[-1].endswith(f"the logs span {DAY}..{DAY}: use --since {DAY}")
    assert result.stderr.strip().splitlines()[-1].startswith("note: no events in 2026-01-01 00:00..")


def test_time_windows_take_the_same_words_everywhere(tmp_path: Path) -> None:
    _logs(tmp_path / "logs", 3)
    for since in ("30days", "2 weeks", "90m", "2025-02-12", "2025-02-12T00:00Z"):
        assert (
            trailsql("ingest", "--workspace", tmp_path / "ws", "--logs", tmp_path / "logs", "--since", since).exit_code
            == 0
        )
        ran = trailsql("queries", "run", "failed-api-calls", "--logs", tmp_path / "logs", "--since", since)
        assert ran.exit_code == 0, (since, ran.stderr)
    assert trailsql("lake", "prune", "--workspace", tmp_path / "ws", "--older-than", "30days").exit_code == 0
    assert trailsql("lake", "prune", "--workspace", tmp_path / "ws", "--older-than", "90m").exit_code == 2


def test_progress_says_which_query_and_how_much_it_reads(tmp_path: Path) -> None:
    from trailsql.library import load_library
    from trailsql.library.run import run_queries
    from trailsql.session import Session

    log = _logs(tmp_path / "logs", 6)
    said: list[str] = []
    library = load_library()
    with Session(logs=tmp_path / "logs") as session:
        session.on_progress = said.append
        run_queries(session, [library["cloudtrail-tampering"], library["root-activity"]], {"since": str(DAY)})
    megabytes = log.stat().st_size / 1e6
    assert said[0] == f"query 1 of 2 (cloudtrail-tampering): scanning 1 log files ({megabytes:,.1f} MB)"
    assert said[-1].startswith("query 2 of 2 (root-activity): scanning 1 log files")


def test_an_answer_from_no_file_says_so_and_fails_under_fail_empty(tmp_path: Path) -> None:
    _logs(tmp_path / "logs", 3)
    nothing = "SELECT count(*) AS n FROM cloudtrail_logs WHERE day = '13'"  # a day with no folder
    said = trailsql("query", "--logs", tmp_path / "logs", "--format", "json", nothing)
    assert (said.exit_code, _count(said)) == (0, 0)
    assert "note: the statement read no log file" in said.stderr
    failed = trailsql("query", "--logs", tmp_path / "logs", "--format", "json", "--fail-empty", nothing)
    assert failed.exit_code == 4 and "read no log file" in failed.stderr
    fine = trailsql("query", "--logs", tmp_path / "logs", "--format", "json", "--fail-empty", COUNT)
    assert (fine.exit_code, _count(fine), fine.stderr) == (0, 3, "")
    assert trailsql("query", "--fail-empty", "--format", "json", "SELECT 1 AS n").exit_code == 0
    window = trailsql(
        "queries", "run", "failed-api-calls", "--logs", tmp_path / "logs", "--fail-empty", "--since", "1d"
    )
    assert window.exit_code == 4 and "the logs span" in window.stderr


def test_the_default_table_is_in_the_catalog(tmp_path: Path) -> None:
    from trailsql.schema import default_columns
    from trailsql.session import Session

    _logs(tmp_path / "logs", 2)
    with Session(logs=tmp_path / "logs") as session:
        assert session.execute("SHOW TABLES").table.to_pylist() == [{"tab_name": "cloudtrail_logs"}]
        described = [r["col_name"] for r in session.execute("DESCRIBE cloudtrail_logs").table.to_pylist()]
        columns = [r["field"] for r in session.execute("SHOW COLUMNS FROM cloudtrail_logs").table.to_pylist()]
    names = [n.lower() for n, _ in default_columns()]
    assert described[: len(names)] == names
    assert columns == [*names, "account", "region", "year", "month", "day"]


def test_query_since_and_until_keep_the_window_and_prune_the_other_days(tmp_path: Path) -> None:
    def day(d: dt.date, n: int) -> None:
        records = [
            {"eventVersion": "1.08", "eventTime": f"{d}T{h:02d}:00:00Z", "eventName": "E", "eventID": f"{d}-{h}"}
            for h in range(n)
        ]
        write_log(log_folder(tmp_path / "logs", ACCOUNT, "us-east-1", d), f"{ACCOUNT}_CloudTrail_{d}.json.gz", records)

    day(DAY, 10)
    day(DAY + dt.timedelta(days=1), 4)
    day(DAY + dt.timedelta(days=5), 2)
    sql = 'SELECT count(*) AS n, count(DISTINCT t."$path") AS files FROM cloudtrail_logs AS t'
    base = ("query", "--logs", tmp_path / "logs", "--format", "json", "--stats")
    whole = trailsql(*base, sql)
    assert json.loads(whole.stdout) == [{"n": 16, "files": 3}]
    since = trailsql(*base, "--since", f"{DAY}T05:00Z", "--until", str(DAY + dt.timedelta(days=2)), sql)
    assert json.loads(since.stdout) == [{"n": 5 + 4, "files": 2}]
    stats = json.loads(since.stderr.strip().splitlines()[-1])
    assert stats["files_scanned"] == 2  # the sixth day's folder not even opened
    joined = trailsql(
        *base, "--since", str(DAY + dt.timedelta(days=1)),
        "WITH a AS (SELECT eventid FROM cloudtrail_logs) SELECT count(*) AS n FROM a JOIN cloudtrail_logs b USING (eventid)",
    )  # fmt: skip
    assert json.loads(joined.stdout) == [{"n": 6}]
    assert trailsql("query", "--logs", tmp_path / "logs", "--until", "1d", sql).exit_code == 2


def test_a_baseline_without_events_is_said_in_the_result_and_the_report(tmp_path: Path) -> None:
    _logs(tmp_path / "logs", 3)
    window = ("--since", str(DAY), "--until", str(DAY + dt.timedelta(days=1)))
    ran = trailsql("queries", "run", "new-source-ips", "--logs", tmp_path / "logs", *window, "--format", "json")
    assert len(json.loads(ran.stdout)) == 3  # every event "new": there is nothing before the window
    assert "note: new-source-ips: its baseline (2025-01-13 00:00 to 2025-02-12 00:00 UTC) holds no events" in ran.stderr
    report = trailsql("report", "--logs", tmp_path / "logs", *window, "--queries", "new-source-ips", "--format", "json")
    assert json.loads(report.stdout)["notes"] == [
        "new-source-ips: its baseline (2025-01-13 00:00 to 2025-02-12 00:00 UTC) holds no events, "
        "so everything in the window compares as new"
    ]
    before = DAY - dt.timedelta(days=3)  # now one event in the baseline
    old = {"eventVersion": "1.08", "eventTime": f"{before}T10:00:00Z", "eventName": "E", "eventID": "old"}
    write_log(log_folder(tmp_path / "logs", ACCOUNT, "us-east-1", before), "older.json.gz", [old])
    ran = trailsql("queries", "run", "new-source-ips", "--logs", tmp_path / "logs", *window, "--format", "json")
    assert "baseline" not in ran.stderr
