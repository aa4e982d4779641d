"""``trailsql report``, ``trailsql alert`` and ``trailsql schedule``: findings delivered."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trailsql.alerts.alert import run_alerts
from trailsql.alerts.channels import Channel, channels_from_config
from trailsql.alerts.report import FORMATS, build_report, render
from trailsql.alerts.schedule import Scheduler, job_runner, jobs_from_config
from trailsql.alerts.state import AlertState
from trailsql.cli.queries import library_of, parse_params
from trailsql.cli.query import open_session, progress, session_options
from trailsql.errors import UsageError
from trailsql.library import LibraryQuery, choose_queries


def selection_options(default_since: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options that choose the window, the queries and their parameters."""
    options = [
        click.option(
            "--since",
            default=default_since,
            show_default=True,
            help="Start: a duration before now (1h, 7d) or an ISO date/time.",
        ),
        click.option("--until", help="End of the window (default: now)."),
        click.option("--queries", "ids", multiple=True, metavar="ID", help="A library query to run (repeatable)."),
        click.option(
            "--tag", "tags", multiple=True, help="Run the queries with this tag (repeatable). Default: every detection."
        ),
        click.option(
            "--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter for the queries that take it."
        ),
    ]

    def apply(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def take_selection(where: dict[str, Any]) -> tuple[list[LibraryQuery], dict[str, str | None]]:
    """The chosen queries and their parameters, taken out of a command's keyword arguments."""
    ids, tags, params = where.pop("ids"), where.pop("tags"), where.pop("params")
    given = {**parse_params(params), "since": where.pop("since"), "until": where.pop("until")}
    return choose_queries(library_of(where["workspace"]), ids, tags), given


@click.command()
@session_options
@selection_options("24h")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True)
@click.option(
    "--output", "out_path", type=click.Path(dir_okay=False), help="Write the report to FILE (default: stdout)."
)
def report(fmt: str, out_path: str | None, **where: Any) -> None:
    """Run library queries over a time window and write a report (HTML, Markdown, JSON, CSV)."""
    queries, given = take_selection(where)
    with open_session(**where) as session, progress(f"{len(queries)} queries:", session):
        made = build_report(session, queries, given)
    for run in made.runs:
        if run.error:
            click.echo(f"warning: {run.query.id} failed: {run.error}", err=True)
    if made.suppression_text():
        click.echo(made.suppression_text(), err=True)
    text = render(made, fmt)
    if out_path:
        with open(out_path, "w", encoding="utf-8") as out:
            out.write(text)
        click.echo(f"wrote {out_path}: {len(made.findings)} findings over {made.events:,} events", err=True)
    else:
        sys.stdout.write(text)


@click.command()
@session_options
@selection_options("1h")
@click.option(
    "--channel", "channel_names", multiple=True, metavar="NAME", help="Send to these channels only (default: all)."
)
def alert(channel_names: tuple[str, ...], **where: Any) -> None:
    """Run the detections and send each new finding once to the workspace's channels."""
    if not where["workspace"]:
        raise UsageError("alert needs --workspace: its channels and what was already sent live there")
    queries, given = take_selection(where)
    with open_session(**where) as session:
        channels = pick_channels(channels_from_config(session.workspace.config), channel_names)
        state = AlertState(where["workspace"])
        try:
            with progress(f"running {len(queries)} detections…"):
                done = run_alerts(session, queries, given, channels, state)
        finally:
            state.close()
    for line in done.lines():
        click.echo(line, err=True)
    if done.undelivered:
        sys.exit(3)


def pick_channels(channels: dict[str, Channel], names: tuple[str, ...]) -> dict[str, Channel]:
    unknown = [n for n in names if n not in channels]
    if unknown:
        raise UsageError(f"no channel {unknown[0]!r} in the workspace's trailsql.toml")
    if not channels:
        raise UsageError("the workspace's trailsql.toml names no [channels.NAME]")
    return {n: channels[n] for n in names} if names else channels


@click.command()
@session_options
def schedule(**where: Any) -> None:
    """Run the workspace's [jobs.*] on their cron schedules, in the foreground (SIGTERM stops it)."""
    if not where["workspace"]:
        raise UsageError("schedule needs --workspace: its jobs, channels and state live there")
    workspace = Path(where["workspace"])
    with open_session(**where) as session:
        jobs = jobs_from_config(session.workspace.config)
        if not jobs:
            raise UsageError(f"{workspace / 'trailsql.toml'} names no [jobs.NAME]")
        state = AlertState(workspace)
        try:
            runner = job_runner(session, library_of(where["workspace"]), workspace, state)

            def log(message: str) -> None:
                click.echo(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} {message}", err=True)

            scheduler = Scheduler(jobs, runner, state, log=log)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: scheduler.stop.set())
            log(f"scheduling {', '.join(f'{j.name} ({j.schedule})' for j in jobs)}")
            scheduler.run()
        finally:
            state.close()
