"""Running library queries: their rows, and for detections, their findings (grouped rows,
see :mod:`trailsql.library.findings`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailsql.errors import TrailsqlError
from trailsql.library import history
from trailsql.library.findings import Finding, group_findings
from trailsql.library.query import LibraryQuery
from trailsql.session import Result, Session
from trailsql.sql.parse import parse_one


@dataclass
class QueryRun:
    """A library query run: its parameters, rows, findings (detections) and what it cost."""

    query: LibraryQuery
    params: dict[str, str | None]
    result: Result | None = None
    failure: Exception | None = None
    findings: list[Finding] = field(default_factory=list)
    #: What a reader must know to read the rows right (an empty baseline).
    notes: list[str] = field(default_factory=list)
    #: The session's ``--logs``/``--workspace`` options, for :attr:`command`.
    where: list[str] = field(default_factory=list)
    #: How each history CTE was answered: ``"profiles"`` or why it was scanned (library/history.py).
    history: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str:
        """The command that runs this query again, as it ran (it runs as printed)."""
        return self.query.command(self.params, self.where)

    @property
    def error(self) -> str | None:
        return f"{type(self.failure).__name__}: {self.failure}" if self.failure is not None else None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.result.table.to_pylist() if self.result is not None else []


def run_query(
    session: Session, query: LibraryQuery, given: Mapping[str, str | None], now: dt.datetime | None = None
) -> QueryRun:
    """Run one query; a failure is kept in the run (one bad query does not stop a report)."""
    params = {k: v for k, v in given.items() if v is not None}
    run = QueryRun(query, dict(params), where=session.command_options())
    try:
        answered = history.answer(session, query, query.render(params, now), params, now)
        run.history = answered.how
        run.result = session.execute(answered.sql)
    except Exception as error:  # kept with the query's id: the others still run
        run.failure = error
        return run
    if query.compares_with_baseline():
        run.notes += _empty_baseline(session, query, params, now)
    if query.kind == "detection":
        public = session.workspace.serve_config.get("public_url")
        console = query.console_url(public, params) if isinstance(public, str) and public.startswith("http") else ""
        run.findings = group_findings(query, run.rows, run.command, console)
    return run


def run_queries(
    session: Session,
    queries: Iterable[LibraryQuery],
    given: Mapping[str, str | None],
    now: dt.datetime | None = None,
) -> list[QueryRun]:
    """Run several queries with the parameters each takes of ``given`` (the window for all)."""
    runs = []
    chosen = list(queries)
    for number, query in enumerate(chosen, 1):
        session.stage = f"query {number} of {len(chosen)} ({query.id})"
        mine = {k: v for k, v in given.items() if k in ("since", "until", "account", "region") or query.param(k)}
        runs.append(run_query(session, query, mine, now))
    session.stage = ""
    return runs


def _empty_baseline(
    session: Session, query: LibraryQuery, params: Mapping[str, str | None], now: dt.datetime | None
) -> list[str]:
    """A note when the baseline the query compares with holds no events: then everything in the
    window is "new" against it (the logs begin after the baseline), which is no finding.

    The baseline's folders are listed, not read (counting its events would parse every log
    file of the baseline again): a log file in a day folder before the window's first day
    holds baseline events. That first day's folder also holds the window's own events, so
    only when it alone (or a file of no known day) is there are its events counted.
    """
    before = query.baseline(params, now)
    sql = f"SELECT count(*) FROM cloudtrail_logs WHERE {before.predicate()}"
    try:
        listed = session.list_files(session.plan(parse_one(sql)))
    except TrailsqlError:  # no default table (a workspace of DDL tables): nothing to say
        return []
    days = {_day(f.partition) for given in listed.inputs for f in given.listing.files}
    if any(day is not None and day < before.end.date() for day in days):
        return []
    if days and session.execute(sql).table.column(0)[0].as_py():
        return []
    return [f"{query.id}: its baseline ({before.text()}) holds no events, so everything in the window compares as new"]


def _day(partition: tuple[tuple[str, str | None], ...]) -> dt.date | None:
    """The day of a log file's folder (its year, month and day partitions), if it has one."""
    values = dict(partition)
    try:
        return dt.date(int(values["year"] or ""), int(values["month"] or ""), int(values["day"] or ""))
    except (KeyError, ValueError):
        return None
