"""``trailsql query``: run Athena SQL and print the rows."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click
import orjson
from rich.console import Console

from trailsql import engines, output
from trailsql.catalog.workspace import find_workspace
from trailsql.cli import render
from trailsql.errors import EmptyAnswer, TrailsqlError, UsageError
from trailsql.library.window import Window
from trailsql.serve.runner import failure
from trailsql.serve.statements import classify
from trailsql.serve.store import Execution, record
from trailsql.session import Result, Session
from trailsql.sql.lockdown import Lockdown


def parse_location_maps(values: tuple[str, ...]) -> dict[str, str]:
    maps = {}
    for value in values:
        prefix, sep, folder = value.partition("=")
        if not sep or not prefix.startswith("s3://") or not folder:
            raise click.BadParameter(f"expected s3://PREFIX=PATH, got {value}", param_hint="--location-map")
        maps[prefix] = folder
    return maps


@contextlib.contextmanager
def progress(message: str, session: Session | None = None, delay: float = 1.0) -> Iterator[None]:
    """A spinner on stderr for work that takes over ``delay`` seconds, on a terminal only; with a
    ``session``, it also says what the session is reading (which query, files, bytes)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    status = console.status(message)
    if session is not None:
        session.on_progress = lambda text: status.update(f"{message} {text}")
    timer = threading.Timer(delay, status.start)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()
        if session is not None:
            session.on_progress = None


def print_result(
    result: Result,
    fmt: str,
    out: IO[str],
    to_terminal: bool,
    *,
    wide: bool = False,
    no_pager: bool = False,
    to_file: bool = False,
) -> None:
    """Write a result's rows to ``out``: a format as it is, or a table for people.

    A table on a terminal fits its width and shows the first :data:`render.ROW_LIMIT` rows;
    piped, it fits ``COLUMNS`` if set; into a file, it keeps every row and value whole. On a
    terminal, any format longer than the screen goes through the pager.
    """
    with render.paged(out, render.pager_command(to_terminal, no_pager)) as target:
        if fmt != "table":
            output.write(result.table, fmt, target)
            return
        width = None if to_file else render.screen_width(to_terminal)
        for line in render.table_lines(result.table, width, wide, None if to_file else render.ROW_LIMIT):
            target.write(line + "\n")


def report_input_problems(result: Result) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in result.stats.skipped:
        click.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)


def session_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that say where the logs are and how to read them (every command that queries)."""
    options = [
        click.option("--logs", type=click.Path(), help="Logs root: the location of the default table cloudtrail_logs."),
        click.option(
            "--workspace", type=click.Path(file_okay=False), help="Folder keeping tables and settings between calls."
        ),
        click.option(
            "--location-map",
            "location_maps",
            multiple=True,
            metavar="S3PREFIX=PATH",
            help="Read an s3:// prefix from a local folder (repeatable; kept in the workspace).",
        ),
        click.option(
            "--event-data-store",
            "stores",
            multiple=True,
            metavar="ID",
            help="A CloudTrail Lake event data store id that names the Lake-shaped view (repeatable; kept).",
        ),
        click.option("--strict", is_flag=True, help="Fail on the first bad log file instead of skipping it."),
        click.option(
            "--engine",
            type=click.Choice(engines.NAMES),
            help=f"The engine that runs the queries (default: [engine] name in the workspace, else {engines.DEFAULT}).",
        ),
        click.option(
            "--spark-master",
            metavar="URL",
            help="Spark engine: local[N] (default local[2]), spark://HOST:PORT or sc://HOST:PORT ([engine] master).",
        ),
        click.option("--athena-workgroup", metavar="NAME", help="Athena engine: the workgroup ([athena] workgroup)."),
        click.option(
            "--athena-output", metavar="S3URI", help="Athena engine: the query result location ([athena] output)."
        ),
        click.option(
            "--athena-database", metavar="NAME", help="Athena engine: the database of the tables ([athena] database)."
        ),
        click.option("--athena-catalog", metavar="NAME", help="Athena engine: the data catalog ([athena] catalog)."),
        click.option("--profile", help="AWS profile for s3:// locations (default: the standard credential chain)."),
        click.option(
            "--s3-region",
            "--region",  # (the old name, kept for scripts)
            "region",
            help="AWS region of the S3 bucket: not a filter on the region column (use WHERE awsregion = ...).",
        ),
        click.option("--endpoint-url", help="Endpoint of an S3-compatible store."),
        click.option("--no-cache", is_flag=True, help="Fetch S3 objects for this query only, without the local cache."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Fail a query that runs longer (default: no limit).",
        ),
        click.option(
            "--memory-limit", metavar="SIZE", help="Memory the engine may use, such as 4GB (default: 80% of RAM)."
        ),
        click.option(
            "--safe",
            is_flag=True,
            help="Lock the SQL down as `trailsql serve` does: queries read only the workspace's tables and views;"
            " DDL only under [serve] allow_ddl = true, in [serve] allowed_locations.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def display_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that say how rows are shown (every command that prints rows)."""
    options = [
        click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True),
        click.option("--output", "out_path", type=click.Path(dir_okay=False), help="Write the rows to FILE."),
        click.option("--stats", is_flag=True, help="Print what the query read as one JSON line on stderr."),
        click.option("--wide", is_flag=True, help="Table: every value whole, lines as long as they need."),
        click.option(
            "--no-pager",
            is_flag=True,
            help="Never page output longer than the screen (default: PAGER, or less, on a terminal).",
        ),
        click.option(
            "--fail-empty",
            is_flag=True,
            help="Exit 4 when the statement read no log file at all (its window or partitions hold none).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def open_session(
    logs: str | None,
    workspace: str | None,
    location_maps: tuple[str, ...],
    stores: tuple[str, ...],
    strict: bool,
    engine: str | None,
    spark_master: str | None,
    athena_workgroup: str | None,
    athena_output: str | None,
    athena_database: str | None,
    athena_catalog: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    no_cache: bool,
    timeout: float | None,
    memory_limit: str | None,
    safe: bool = False,
) -> Session:
    """The session the :func:`session_options` describe. The workspace is ``--workspace``,
    ``$TRAILSQL_WORKSPACE`` or the nearest ``trailsql.toml`` up from here; ``--logs`` given
    with a workspace is remembered by it (``[logs] default``) for the next commands. ``safe``
    locks the session down by the workspace's ``[serve]`` settings (see :mod:`trailsql.sql.lockdown`)."""
    s3 = {"profile": profile, "region": region, "endpoint_url": endpoint_url, "no_cache": no_cache or None}
    folder, _ = find_workspace(workspace)
    session = Session(
        logs,
        workspace=folder,
        location_maps=parse_location_maps(location_maps),
        strict=strict,
        event_data_stores=list(stores),
        s3=s3,
        timeout=timeout,
        memory_limit=memory_limit,
        engine=engine,
        engine_options={
            "master": spark_master,
            "workgroup": athena_workgroup,
            "output": athena_output,
            "database": athena_database,
            "catalog": athena_catalog,
        },
    )
    if safe:
        try:
            session.lockdown = Lockdown.from_config(session.workspace.serve_config)
        except BaseException:
            session.close()
            raise
    if logs is not None and folder is not None:
        session.workspace.remember_logs(logs)
    return session


@click.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", type=click.File("r"), help="Read the SQL from FILE ('-' for stdin).")
@session_options
@click.option(
    "--since", help="Only events from then: a duration before now (90m, 24h, 7d, 30days) or an ISO date/time."
)
@click.option("--until", help="Only events before then (default: now); with --since.")
@display_options
def query(
    sql: str | None,
    sql_file: IO[str] | None,
    since: str | None,
    until: str | None,
    fmt: str,
    out_path: str | None,
    stats: bool,
    wide: bool,
    no_pager: bool,
    fail_empty: bool,
    **where: Any,
) -> None:
    """Run Athena SQL (SQL, -f FILE, or '-' for stdin) over CloudTrail logs."""
    if sql_file is not None and sql is not None:
        raise UsageError("give the SQL as an argument or with -f, not both")
    if sql_file is not None:
        text = sql_file.read()
    elif sql == "-":
        text = sys.stdin.read()
    elif sql is not None:
        text = sql
    else:
        raise click.UsageError("no SQL: give it as an argument, with -f FILE, or '-' for stdin")
    if until is not None and since is None:
        raise UsageError("--until needs --since")
    window = Window.parse(since, until) if since is not None else None
    with open_session(**where) as session, progress("", session):
        started = time.time()
        try:
            result = session.execute(text, window)
        except TrailsqlError as error:
            remember(session, text, started, error)
            raise
        remember(session, text, started, result)
    show(result, fmt, out_path, stats, wide, no_pager)
    if read_nothing(result):
        say_empty("the statement read no log file: no folder of its tables and partitions holds one", fail_empty)


def remember(session: Session, text: str, started: float, outcome: Result | TrailsqlError) -> None:
    """Keep the statement in the workspace's history, which the console shows beside the Athena
    API's executions (its rows are not kept: the console runs it again). A history that cannot
    be written is said, not fatal."""
    folder = session.workspace.folder
    if folder is None:
        return
    statement_type, substatement_type = classify(text)
    execution = Execution(
        id=str(uuid.uuid4()),
        query=text,
        statement_type=statement_type,
        substatement_type=substatement_type,
        database="default",
        catalog="awsdatacatalog",
        workgroup="primary",
        output_prefix=None,
        submitted=started,
        started=started,
        completed=time.time(),
        source="cli",
    )
    if isinstance(outcome, Result):
        execution.state, execution.rows = "SUCCEEDED", outcome.table.num_rows
        execution.scanned_bytes = outcome.stats.bytes_scanned
        execution.engine_ms, execution.stats = int(outcome.stats.elapsed_s * 1000), outcome.stats.as_dict()
    else:
        execution.state = "FAILED"
        execution.reason, execution.error = failure(outcome)
    try:
        record(Path(folder), execution)
    except (OSError, sqlite3.Error) as error:
        click.echo(f"note: the statement is not in the workspace's history: {error}", err=True)


def read_nothing(result: Result) -> bool:
    """Whether a statement over tables read no file at all (its empty answer, or its count of
    0, says nothing about the logs). An engine reading its own tables (Athena) reads no file of
    ours but says how many bytes it scanned."""
    stats = result.stats
    read = stats.files_scanned or stats.events_scanned or stats.bytes_scanned or stats.skipped
    return stats.scans > 0 and not read


def say_empty(why: str, fail: bool) -> None:
    """Say why an answer is empty on stderr; under ``--fail-empty``, fail with exit code 4."""
    if fail:
        raise EmptyAnswer(why)
    click.echo(f"note: {why}", err=True)


def show(
    result: Result, fmt: str, out_path: str | None, stats: bool, wide: bool = False, no_pager: bool = False
) -> None:
    """Print (or write) a result's rows, its skipped files, and its stats if asked."""
    report_input_problems(result)
    if out_path:
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            print_result(result, fmt, out, to_terminal=False, to_file=True)
    else:
        print_result(result, fmt, sys.stdout, sys.stdout.isatty(), wide=wide, no_pager=no_pager)
    if stats:
        click.echo(orjson.dumps(result.stats.as_dict()).decode(), err=True)
