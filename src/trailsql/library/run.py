"""Running library queries: their rows, and for detections, their findings.

A detection's every row is a finding. A finding is identified by the query's id and
the values of its ``key`` columns (all columns when the query names none): the same
finding found again in a later run (an overlapping window) has the same ``key``, which
is how alerts send each finding once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailsql.library.query import LibraryQuery
from trailsql.session import Result, Session


@dataclass(frozen=True)
class Finding:
    """One row of a detection: what was found, how bad, and how to look again."""

    query_id: str
    title: str
    severity: str
    key: str
    row: dict[str, Any]
    link: str
    technique: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query_id,
            "title": self.title,
            "severity": self.severity,
            "technique": self.technique,
            "key": self.key,
            "row": self.row,
            "link": self.link,
        }


@dataclass
class QueryRun:
    """A library query run: its parameters, rows, findings (detections) and what it cost."""

    query: LibraryQuery
    params: dict[str, str | None]
    result: Result | None = None
    failure: Exception | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return f"{type(self.failure).__name__}: {self.failure}" if self.failure is not None else None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.result.table.to_pylist() if self.result is not None else []


def finding_key(query: LibraryQuery, row: Mapping[str, Any]) -> str:
    """A stable id for a finding: the query id and its key columns' values, hashed.

    >>> from trailsql.library.query import parse_query
    >>> q = parse_query("-- id: x\\n-- title: t\\n-- kind: detection\\n-- severity: low\\n-- key: eventid\\nSELECT 1", "x.sql")
    >>> finding_key(q, {"eventid": "e1", "n": 1}) == finding_key(q, {"eventid": "e1", "n": 2})
    True
    """
    columns = [c.lower() for c in query.key] or sorted(row)
    values = [row.get(c) for c in columns]
    text = json.dumps([query.id, columns, values], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def run_query(
    session: Session, query: LibraryQuery, given: Mapping[str, str | None], now: dt.datetime | None = None
) -> QueryRun:
    """Run one query; a failure is kept in the run (one bad query does not stop a report)."""
    params = {k: v for k, v in given.items() if v is not None}
    run = QueryRun(query, dict(params))
    try:
        run.result = session.execute(query.render(params, now))
    except Exception as error:  # kept with the query's id: the others still run
        run.failure = error
        return run
    if query.kind == "detection":
        link = query.command(params)
        for row in run.rows:
            technique = row.get("technique")
            run.findings.append(
                Finding(
                    query.id,
                    query.title,
                    query.severity,
                    finding_key(query, row),
                    row,
                    link,
                    str(technique) if technique is not None else None,
                )
            )
    return run


def run_queries(
    session: Session,
    queries: Iterable[LibraryQuery],
    given: Mapping[str, str | None],
    now: dt.datetime | None = None,
) -> list[QueryRun]:
    """Run several queries with the parameters each takes of ``given`` (the window for all)."""
    runs = []
    for query in queries:
        mine = {k: v for k, v in given.items() if k in ("since", "until", "account", "region") or query.param(k)}
        runs.append(run_query(session, query, mine, now))
    return runs
