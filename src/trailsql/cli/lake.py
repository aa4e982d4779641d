"""``trailsql ingest``, ``trailsql compact`` and ``trailsql lake``: the workspace's Parquet lake."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trailsql.catalog.workspace import Workspace
from trailsql.errors import UsageError
from trailsql.lake import maintain
from trailsql.lake.ingest import IngestOptions, Lake
from trailsql.lake.ingest import ingest as ingest_logs
from trailsql.library.window import parse_instant
from trailsql.verify.validate import OK

T = TypeVar("T")

_WORKSPACE = click.option(
    "--workspace", type=click.Path(file_okay=False), required=True, help="The workspace; the lake is <workspace>/lake."
)


def _date(_: click.Context, __: click.Parameter, value: str | None) -> dt.date | None:
    """The day of ``--since``/``--until`` in every command's time grammar (``7d``, ``2025-02-10``)."""
    if value is None:
        return None
    try:
        return parse_instant(value, dt.datetime.now(dt.UTC)).date()
    except UsageError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@_WORKSPACE
@click.option("--logs", required=True, help="A folder of CloudTrail logs, or the name of a workspace table.")
@click.option("--since", callback=_date, help="First day of logs to ingest (7d, 2w, 2025-02-10, ...).")
@click.option("--until", callback=_date, help="Last day of logs to ingest (a date or a duration ago).")
@click.option("--batch-files", default=IngestOptions.batch_files, show_default=True, help="Log files per batch.")
@click.option(
    "--verify",
    is_flag=True,
    help="Validate the logs against their CloudTrail digests first and keep each file's status (trailsql lake status).",
)
def ingest(
    workspace: str, logs: str, since: dt.date | None, until: dt.date | None, batch_files: int, verify: bool
) -> None:
    """Ingest new or changed log files into the workspace's Parquet lake, exactly once."""
    options = IngestOptions(since=since, until=until, batch_files=batch_files, verify=verify)
    console = Console(stderr=True)
    if console.is_terminal:
        columns = (
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files {task.fields[events]:,} events {task.fields[rate]:,.0f} events/s"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("files", total=None, events=0, rate=0.0)
            started = dt.datetime.now(dt.UTC)

            def advance(files: int, events: int, total: int) -> None:
                seconds = max((dt.datetime.now(dt.UTC) - started).total_seconds(), 1e-6)
                bar.update(task, completed=files, total=total, events=events, rate=events / seconds)

            report = ingest_logs(logs, workspace, options, advance)
    else:
        report = ingest_logs(logs, workspace, options)
    if logs.startswith("s3://") or os.path.exists(logs):  # (not a workspace table's name)
        Workspace(workspace).remember_logs(logs)  # later commands over this workspace read these logs
    for path, reason in report.repaired:
        click.echo(f"repaired {path}: {reason}", err=True)
    for path, reason in report.files_skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    for path, (status, detail) in sorted(report.verified.items()):
        if status not in OK:
            click.echo(f"{status}: {path}: {detail}", err=True)
    click.echo(report.summary(), err=True)


@click.command()
@_WORKSPACE
def compact(workspace: str) -> None:
    """Merge the small Parquet files of each lake partition into one."""
    lake = Lake(workspace)
    try:
        report = maintain.compact(lake)
    finally:
        lake.close()
    click.echo(
        f"compacted {report.partitions} partitions: {report.files_before} files into {report.files_after}", err=True
    )


def _on_lake(workspace: str, action: Callable[[Lake], T], writer: bool) -> T:
    """``action`` on the workspace's lake, opened (and locked if ``writer``) for it only."""
    handle = Lake(workspace, writer=writer)
    try:
        return action(handle)
    finally:
        handle.close()


def _print_json(rows: object) -> None:
    sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")


@click.group()
def lake() -> None:
    """Look after the workspace's Parquet lake."""


@lake.command()
@_WORKSPACE
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def stats(workspace: str, fmt: str) -> None:
    """Events, files, bytes and date range per account and region."""
    rows = _on_lake(workspace, maintain.stats, writer=False)
    if fmt == "json":
        _print_json(rows)
        return
    keys = ("account", "region", "events", "redelivered", "files", "bytes", "first_date", "last_date")
    click.echo("\t".join(keys))
    for row in rows:
        click.echo("\t".join(str(row[k]) for k in keys))


@lake.command()
@_WORKSPACE
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status(workspace: str, fmt: str) -> None:
    """The lake's source files by CloudTrail integrity status (what ingest --verify found)."""
    sources, verified = _on_lake(workspace, lambda h: (h.manifest.sources(), h.manifest.verification()), writer=False)
    counts = dict(Counter(verified.get(location, "not checked") for location in sources))
    if fmt == "json":
        _print_json({"sources": len(sources), "statuses": counts})
        return
    click.echo("status\tfiles")
    for name, count in sorted(counts.items()):
        click.echo(f"{name}\t{count}")


@lake.command()
@_WORKSPACE
@click.option("--older-than", required=True, help="Delete partitions of days older than this (400d, 8w).")
def prune(workspace: str, older_than: str) -> None:
    """Delete lake partitions older than an age."""
    handle = Lake(workspace)
    try:
        removed = maintain.prune(handle, maintain.parse_age(older_than))
    finally:
        handle.close()
    click.echo(f"pruned {len(removed)} files", err=True)


@lake.command()
@_WORKSPACE
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def verify(workspace: str, fmt: str) -> None:
    """Check every lake file's size, rows and SHA-256 against the manifest; exit 1 if any is damaged."""
    damaged = _on_lake(workspace, maintain.verify, writer=True)  # it records hashes and marks
    if fmt == "json":
        _print_json(damaged)
    else:
        for row in damaged:
            click.echo(f"damaged\t{row['path']}\t{row['problem']}")
        if not damaged:
            click.echo("the lake is sound", err=True)
    if damaged:
        raise SystemExit(1)
