"""``trailsql schedule``: jobs run on their cron times, missed runs are caught up once,
SIGTERM stops the loop cleanly; the Lambda handler runs a report over S3 logs."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_detections import DATA, deliver
from trailsql.alerts.schedule import Job, Scheduler, catch_up
from trailsql.alerts.state import AlertState

UTC = dt.UTC


class Clock:
    """A clock the test moves; waiting on the scheduler's stop event moves it instead of sleeping."""

    def __init__(self, now: dt.datetime) -> None:
        self.moment = now

    def __call__(self) -> dt.datetime:
        return self.moment


def test_a_missed_run_is_caught_up_once_then_the_schedule_goes_on(tmp_path: Path) -> None:
    job = Job("daily", "0 7 * * *")
    state = AlertState(tmp_path)
    state.record_run("daily", dt.datetime(2025, 2, 9, 7, tzinfo=UTC))
    clock = Clock(dt.datetime(2025, 2, 12, 9, 30, tzinfo=UTC))  # three runs were missed
    runs: list[dt.datetime] = []
    scheduler = Scheduler([job], lambda j, when: runs.append(when), state, now=clock, log=lambda m: None)

    def advance(timeout: float | None = None) -> bool:
        clock.moment += dt.timedelta(seconds=timeout or 0)
        if len(runs) >= 3:
            scheduler.stop.set()
        return scheduler.stop.is_set()

    scheduler.stop.wait = advance  # type: ignore[method-assign]
    scheduler.run()
    assert runs == [
        dt.datetime(2025, 2, 12, 7, tzinfo=UTC),  # the catch-up: once, for the latest missed time
        dt.datetime(2025, 2, 13, 7, tzinfo=UTC),
        dt.datetime(2025, 2, 14, 7, tzinfo=UTC),
    ]
    assert state.last_scheduled("daily") == dt.datetime(2025, 2, 14, 7, tzinfo=UTC)
    assert catch_up(job, None, clock.moment) is None  # a first start runs nothing in the past
    state.close()


def test_schedule_runs_jobs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    records = json.loads((DATA / "stratus" / "aws.defense-evasion.cloudtrail-stop.json").read_text())["Records"]
    deliver(logs, records, "stop")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text(
        '[jobs.often]\nschedule = "* * * * * */2"\nkind = "report"\nsince = "1000d"\nformat = "json"\n'
        'output = "reports/{date}-{time}.json"\nqueries = ["cloudtrail-tampering"]\n'
    )
    code = "import sys; from trailsql.cli.main import main; sys.argv[0] = 'trailsql'; main()"
    child = subprocess.Popen(
        [sys.executable, "-c", code, "schedule", "--workspace", str(workspace), "--logs", str(logs)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((workspace / "reports").glob("*.json"))) < 2:
        time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert err.rstrip().endswith("stopped")
    reports = sorted((workspace / "reports").glob("*.json"))
    assert len(reports) >= 2
    found = json.loads(reports[0].read_text())["findings"]
    assert [f["actions"] for f in found] == [["StopLogging"]]


def test_a_job_with_a_bad_schedule_is_refused() -> None:
    from trailsql.errors import CatalogError

    with pytest.raises(CatalogError, match="not a cron expression"):
        Job.from_config("x", {"schedule": "every day"})


# --------------------------------------------------------------------------- AWS Lambda


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """S3 in moto's in-process mock (no Lambda runtime can run here): the handler's S3 calls go to it."""
    moto = pytest.importorskip("moto")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="trail")
        yield s3


def test_lambda_handler_writes_a_report_and_alerts_once_across_invocations(
    aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from test_alerts import Receiver
    from trailsql.aws_lambda import handler

    logs = tmp_path / "logs"
    for technique in ("aws.defense-evasion.cloudtrail-stop", "aws.persistence.sts-federation-token"):
        deliver(logs, json.loads((DATA / "stratus" / f"{technique}.json").read_text())["Records"], technique)
    for path in logs.rglob("*.json.gz"):
        aws.put_object(Bucket="trail", Key="logs/" + path.relative_to(logs).as_posix(), Body=path.read_bytes())
    hooks = Receiver()
    aws.put_object(
        Bucket="trail",
        Key="trailsql/trailsql.toml",
        Body=f'[channels.siem]\ntype = "webhook"\nurl = "http://127.0.0.1:{hooks.port}/hook"\n'.encode(),
    )
    monkeypatch.setenv("TRAILSQL_LOGS", "s3://trail/logs/")
    monkeypatch.setenv("TRAILSQL_WORKSPACE", "s3://trail/trailsql/")
    monkeypatch.setenv("TRAILSQL_SCRATCH", str(tmp_path))
    window = {"since": "2024-07-01", "until": "2025-01-01"}
    try:
        made = handler({**window, "report_uri": "s3://trail/reports/{date}.html"})
        first = handler({**window, "kind": "alert"})
        second = handler({**window, "kind": "alert"})
    finally:
        hooks.stop()
    html = aws.get_object(Bucket="trail", Key=made["report"].removeprefix("s3://trail/"))["Body"].read().decode()
    assert made["findings"] == 2 and "StopLogging" in html and "<svg" in html
    assert (first["new"], first["sent"]) == (2, {"siem": 2}) and (second["new"], second["sent"]) == (0, {})
    assert len(hooks.received) == 1  # the state went back to S3 between invocations
