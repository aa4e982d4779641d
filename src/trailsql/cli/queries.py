"""``trailsql queries``: the query library (list, show, run)."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from trailsql.catalog.workspace import Workspace
from trailsql.cli.query import display_options, open_session, progress, read_nothing, say_empty, session_options, show
from trailsql.errors import UsageError
from trailsql.library import LibraryQuery, load_library
from trailsql.library.run import run_query
from trailsql.library.window import Window
from trailsql.session import Session


def library_of(workspace: str | None) -> dict[str, LibraryQuery]:
    """The package's queries and the workspace's own (``library_paths``)."""
    return load_library(Workspace(workspace).library_paths if workspace else [])


def parse_params(values: tuple[str, ...]) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value}", param_hint="--param")
        params[name.strip()] = text
    return params


def describe(query: LibraryQuery) -> dict[str, Any]:
    return {
        "id": query.id,
        "title": query.title,
        "kind": query.kind,
        "severity": query.severity,
        "tags": list(query.tags),
        "techniques": list(query.techniques),
        "key": list(query.key),
        "params": [{"name": p.name, "type": p.type, "default": p.default} for p in query.params],
        "description": query.description,
        "path": query.path,
    }


@click.group()
def queries() -> None:
    """The security query library: hunts and detections."""


@queries.command("list")
@click.option("--workspace", type=click.Path(file_okay=False), help="Add the workspace's library_paths.")
@click.option("--kind", type=click.Choice(["hunt", "detection"]), help="Only hunts or only detections.")
@click.option("--tag", help="Only queries with this tag (e.g. attack.persistence, seed).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_queries(workspace: str | None, kind: str | None, tag: str | None, fmt: str) -> None:
    """List the library's queries."""
    chosen = [
        q for q in library_of(workspace).values() if (kind is None or q.kind == kind) and (tag is None or tag in q.tags)
    ]
    if fmt == "json":
        sys.stdout.write(orjson.dumps([describe(q) for q in chosen], option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for q in sorted(chosen, key=lambda q: (q.kind, q.id)):
        click.echo(f"{q.id:38} {q.kind:9} {q.severity:8} {q.title}")


@queries.command("show")
@click.argument("query_id")
@click.option("--workspace", type=click.Path(file_okay=False), help="Add the workspace's library_paths.")
def show_query(query_id: str, workspace: str | None) -> None:
    """Show a query: its metadata and SQL."""
    query = _find(query_id, workspace)
    for name, value in describe(query).items():
        if value:
            click.echo(f"{name}: {value}")
    click.echo()
    click.echo(query.sql)


@queries.command("run")
@click.argument("query_id")
@session_options
@click.option("--since", help="Start of the window: a duration before now (24h, 7d) or an ISO date/time.")
@click.option("--until", help="End of the window (default: now).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter of the query (repeatable).")
@display_options
def run(
    query_id: str,
    since: str | None,
    until: str | None,
    params: tuple[str, ...],
    fmt: str,
    out_path: str | None,
    stats: bool,
    wide: bool,
    no_pager: bool,
    fail_empty: bool,
    **where: Any,
) -> None:
    """Run a library query over a time window."""
    query = _find(query_id, where["workspace"])
    given = {**parse_params(params), "since": since, "until": until}
    with open_session(**where) as session, progress(f"{query.id}:", session):
        done = run_query(session, query, given)
    if done.failure is not None:
        raise done.failure
    assert done.result is not None
    show(done.result, fmt, out_path, stats, wide, no_pager)
    for note in done.notes:
        click.echo(f"note: {note}", err=True)
    if read_nothing(done.result):
        say_empty(empty_window_hint(session, query.window(done.params)), fail_empty)


def _find(query_id: str, workspace: str | None) -> LibraryQuery:
    library = library_of(workspace)
    if query_id not in library:
        raise UsageError(f"no query {query_id!r} in the library (trailsql queries list)")
    return library[query_id]


def empty_window_hint(session: Session, window: Window) -> str:
    """Why a library query said nothing: its window holds no log files, and when the logs are."""
    span = session.logs_span()
    where = f"; the logs span {span[0]}..{span[1]}: use --since {span[0]}" if span else ""
    return f"no events in {window.start:%Y-%m-%d %H:%M}..{window.end:%Y-%m-%d %H:%M} UTC{where}"
