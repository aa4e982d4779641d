"""``trailsql query``: run Athena SQL and print the rows."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import click
import orjson
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from trailsql import output
from trailsql.errors import UsageError
from trailsql.session import Result, Session


def parse_location_maps(values: tuple[str, ...]) -> dict[str, str]:
    maps = {}
    for value in values:
        prefix, sep, folder = value.partition("=")
        if not sep or not prefix.startswith("s3://") or not folder:
            raise click.BadParameter(f"expected s3://PREFIX=PATH, got {value}", param_hint="--location-map")
        maps[prefix] = folder
    return maps


@contextlib.contextmanager
def progress(message: str, delay: float = 1.0) -> Iterator[None]:
    """A spinner on stderr for work that takes over ``delay`` seconds, on a terminal only."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    status = console.status(message)
    timer = threading.Timer(delay, status.start)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()


def print_result(result: Result, fmt: str, out: IO[str], to_terminal: bool) -> None:
    if fmt != "table":
        output.write(result.table, fmt, out)
        return
    console = Console(file=out, width=None if to_terminal else 10_000, soft_wrap=not to_terminal)
    table = RichTable(*result.table.column_names, show_lines=False)
    for row in output.rows(result.table):
        table.add_row(*[Text(output.terminal_text(v)) for v in row.values()])  # Text: no rich markup
    console.print(table)
    console.print(f"({result.table.num_rows} rows)", style="dim")


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
        click.option("--profile", help="AWS profile for s3:// locations (default: the standard credential chain)."),
        click.option("--region", help="AWS region of the bucket."),
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
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    no_cache: bool,
    timeout: float | None,
    memory_limit: str | None,
) -> Session:
    """The session the :func:`session_options` describe."""
    s3 = {"profile": profile, "region": region, "endpoint_url": endpoint_url, "no_cache": no_cache or None}
    return Session(logs, workspace, parse_location_maps(location_maps), strict, list(stores), s3, timeout, memory_limit)


@click.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", type=click.File("r"), help="Read the SQL from FILE ('-' for stdin).")
@session_options
@click.option("--format", "fmt", type=click.Choice(output.FORMATS), default="table", show_default=True)
@click.option("--output", "out_path", type=click.Path(dir_okay=False), help="Write the rows to FILE.")
@click.option("--stats", is_flag=True, help="Print what the query read as one JSON line on stderr.")
def query(
    sql: str | None,
    sql_file: IO[str] | None,
    fmt: str,
    out_path: str | None,
    stats: bool,
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
    with open_session(**where) as session, progress("scanning CloudTrail logs…"):
        result = session.execute(text)
    show(result, fmt, out_path, stats)


def show(result: Result, fmt: str, out_path: str | None, stats: bool) -> None:
    """Print (or write) a result's rows, its skipped files, and its stats if asked."""
    report_input_problems(result)
    if out_path:
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            print_result(result, fmt, out, to_terminal=False)
    else:
        print_result(result, fmt, sys.stdout, to_terminal=sys.stdout.isatty())
    if stats:
        click.echo(orjson.dumps(result.stats.as_dict()).decode(), err=True)
