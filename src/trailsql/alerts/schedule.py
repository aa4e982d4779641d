"""``trailsql schedule``: the workspace's jobs on cron expressions, in the foreground.

Jobs live in ``trailsql.toml``::

    [jobs.daily-report]
    schedule = "0 7 * * *"          # cron (UTC); a sixth field is seconds
    kind = "report"                 # or "alert"
    since = "24h"
    format = "html"                 # html, md, json, csv
    output = "reports/{date}.html"  # relative to the workspace; {date} {time} filled in
    channels = ["secops", "chat"]   # a report is also sent there; an alert uses these (default: all)
    tags = ["seed"]                 # or queries = ["cloudtrail-tampering", ...]; default: every detection
    params = { threshold = "20" }

Missed runs (the machine was off, the process stopped) are caught up once at start: a job
whose last scheduled time is before its latest due time runs once, not once per missed
slot. SIGTERM or SIGINT stops the loop cleanly: a running job finishes first.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from croniter import croniter

from trailsql.alerts.alert import AlertReport, deliver_spooled, run_alerts, send_report
from trailsql.alerts.channels import Channel, channels_from_config
from trailsql.alerts.report import build_report, render
from trailsql.alerts.state import AlertState, SpoolLimits
from trailsql.errors import CatalogError
from trailsql.library.query import LibraryQuery, choose_queries
from trailsql.session import Session


@dataclass(frozen=True)
class Job:
    """One job of ``[jobs.NAME]``."""

    name: str
    schedule: str
    kind: str = "report"
    since: str = "24h"
    format: str = "html"
    output: str | None = None
    channels: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, table: dict[str, Any]) -> Job:
        schedule = str(table.get("schedule", ""))
        if not croniter.is_valid(schedule):
            raise CatalogError(f"job {name}: schedule {schedule!r} is not a cron expression")
        kind = str(table.get("kind", "report"))
        if kind not in ("report", "alert"):
            raise CatalogError(f"job {name}: kind must be report or alert, not {kind!r}")
        return cls(
            name,
            schedule,
            kind,
            str(table.get("since", "24h")),
            str(table.get("format", "html")),
            table.get("output"),
            tuple(table.get("channels", ())),
            tuple(table.get("queries", ())),
            tuple(table.get("tags", ())),
            {str(k): str(v) for k, v in dict(table.get("params", {})).items()},
        )

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        return croniter(self.schedule, moment).get_next(dt.datetime)

    def last_due(self, now: dt.datetime) -> dt.datetime:
        """The latest scheduled time at or before ``now``."""
        return croniter(self.schedule, now + dt.timedelta(microseconds=1)).get_prev(dt.datetime)


def jobs_from_config(config: dict[str, Any]) -> list[Job]:
    return [Job.from_config(name, dict(table)) for name, table in config.get("jobs", {}).items()]


def catch_up(job: Job, last_scheduled: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """The one missed run to make now, if any: the latest due time after the last scheduled run.

    >>> job = Job("daily", "0 7 * * *")
    >>> utc = dt.UTC
    >>> catch_up(job, dt.datetime(2025, 2, 10, 7, tzinfo=utc), dt.datetime(2025, 2, 12, 9, tzinfo=utc)).isoformat()
    '2025-02-12T07:00:00+00:00'
    >>> catch_up(job, dt.datetime(2025, 2, 12, 7, tzinfo=utc), dt.datetime(2025, 2, 12, 9, tzinfo=utc)) is None
    True
    """
    if last_scheduled is None:
        return None
    due = job.last_due(now)
    return due if due > last_scheduled else None


class Scheduler:
    """Runs jobs at their times until :attr:`stop` is set; ``run_job(job, scheduled)`` does the work."""

    def __init__(
        self,
        jobs: list[Job],
        run_job: Callable[[Job, dt.datetime], None],
        state: AlertState,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        log: Callable[[str], None] = print,
    ) -> None:
        self.jobs = jobs
        self.run_job = run_job
        self.state = state
        self.now = now
        self.log = log
        self.stop = threading.Event()

    def _run(self, job: Job, scheduled: dt.datetime) -> None:
        self.log(f"{job.name}: running ({job.kind}, scheduled {scheduled:%Y-%m-%d %H:%M:%S} UTC)")
        try:
            self.run_job(job, scheduled)
        except Exception as error:  # one failing job does not stop the others
            self.log(f"{job.name}: failed: {type(error).__name__}: {error}")
        self.state.record_run(job.name, scheduled)

    def run(self) -> None:
        start = self.now()
        upcoming: dict[str, dt.datetime] = {}
        for job in self.jobs:
            missed = catch_up(job, self.state.last_scheduled(job.name), start)
            if missed is not None:
                self.log(f"{job.name}: catching up the run due {missed:%Y-%m-%d %H:%M:%S} UTC")
                self._run(job, missed)
            upcoming[job.name] = job.next_after(self.now())
        while not self.stop.is_set():
            name = min(upcoming, key=lambda n: upcoming[n])
            wait = (upcoming[name] - self.now()).total_seconds()
            if wait > 0 and self.stop.wait(min(wait, 60.0)):
                break
            if upcoming[name] > self.now():
                continue
            job = next(j for j in self.jobs if j.name == name)
            self._run(job, upcoming[name])
            upcoming[name] = job.next_after(max(upcoming[name], self.now()))
        self.log("stopped")


def job_runner(
    session: Session, library: dict[str, LibraryQuery], workspace: Path, state: AlertState
) -> Callable[[Job, dt.datetime], None]:
    """What a job does: a report written and sent, or an alert run."""
    channels = channels_from_config(session.workspace.config)

    def pick(job: Job) -> dict[str, Channel]:
        unknown = [c for c in job.channels if c not in channels]
        if unknown:
            raise CatalogError(f"job {job.name}: no channel {unknown[0]!r}")
        return {c: channels[c] for c in job.channels} if job.channels else {}

    def queries(job: Job) -> list[LibraryQuery]:
        return choose_queries(library, job.queries, job.tags)

    def run(job: Job, scheduled: dt.datetime) -> None:
        given = {**job.params, "since": job.since, "until": f"{scheduled:%Y-%m-%dT%H:%M:%SZ}"}
        if job.kind == "alert":
            done = run_alerts(session, queries(job), given, pick(job) or channels, state, now=scheduled)
            for line in done.lines():
                print(f"{job.name}: {line}", flush=True)
            return
        caught_up = AlertReport()
        deliver_spooled(pick(job), state, caught_up)
        caught_up.dropped = state.prune(SpoolLimits())
        for line in caught_up.lines()[1:]:  # not its "0 findings, 0 new": the report says what it found
            print(f"{job.name}: {line}", flush=True)
        report = build_report(session, queries(job), given, now=scheduled)
        if job.output:
            target = workspace / job.output.format(date=f"{scheduled:%Y-%m-%d}", time=f"{scheduled:%H%M%S}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(report, job.format), encoding="utf-8")
            print(f"{job.name}: wrote {target}", flush=True)
        for name, error in send_report(report, job.name, pick(job), state).items():
            if error is not None:
                print(f"{job.name}: {name}: FAILED, message spooled for the next run ({error})", flush=True)

    return run
