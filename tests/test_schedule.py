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
    assert [f["row"]["eventname"] for f in found] == ["StopLogging"]


def test_a_job_with_a_bad_schedule_is_refused() -> None:
    from trailsql.errors import CatalogError

    with pytest.raises(CatalogError, match="not a cron expression"):
        Job.from_config("x", {"schedule": "every day"})
