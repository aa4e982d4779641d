"""A detection's rows as findings: one attack, one finding.

A detection returns rows of evidence (an event each, or a summary of several). Rows that
share the values of the detection's ``group`` columns (by default its technique, account,
actor and target) within the window are one finding: first and last seen, how many events,
the distinct actions and addresses, and the eventIDs of the evidence (the first
:data:`MAX_EVIDENCE`, with the total). A finding's ``key`` is the query id and those values,
hashed: the same attack found again by a later run (an overlapping window) has the same key,
which is how alerts send each finding once.

Each finding says in one sentence why it fired: the rows' ``reason`` column when the
detection computes one (with the values it reasoned on), else the query's ``summary``
header with ``{column}``, ``{count}``, ``{actions}``, ``{addresses}``, ``{first_seen}`` and
``{last_seen}`` filled in, else the title with the actor, count and addresses.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from trailsql.library.query import LibraryQuery

#: How many eventIDs a finding lists (``event_total`` counts them all).
MAX_EVIDENCE = 20

#: The columns a finding is grouped by when its query names no ``group``, those present.
DEFAULT_GROUP = ("technique", "account_id", "actor", "arn", "caller", "target")
_ACTOR = ("actor", "arn", "caller", "principal")
_ADDRESS = ("sourceipaddress", "source_ip")
_ACTION = ("eventname", "actions")
_TIME = ("eventtime", "first_seen", "last_seen")
#: A row's count of events, when it summarises several (else the row is one event).
_COUNT = ("calls", "api_calls", "events", "attempts", "count", "n")


@dataclass(frozen=True)
class Finding:
    """One attack a detection found: what, who, when, the evidence, and why in a sentence."""

    query_id: str
    title: str
    severity: str
    key: str
    group: dict[str, Any]
    summary: str
    first_seen: str | None
    last_seen: str | None
    count: int
    actions: tuple[str, ...]
    addresses: tuple[str, ...]
    event_ids: tuple[str, ...]
    event_total: int
    rows: tuple[dict[str, Any], ...]
    link: str
    technique: str | None = None
    #: The query in the web console (``[serve] public_url``), "" without one.
    console: str = ""

    @property
    def actor(self) -> str | None:
        return _first(self.rows, _ACTOR)

    @property
    def target(self) -> str | None:
        return _first(self.rows, ("target",))

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query_id,
            "title": self.title,
            "severity": self.severity,
            "technique": self.technique,
            "key": self.key,
            "summary": self.summary,
            "group": self.group,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "count": self.count,
            "actions": list(self.actions),
            "addresses": list(self.addresses),
            "event_ids": list(self.event_ids),
            "event_total": self.event_total,
            "rows": len(self.rows),
            "link": self.link,
            "console": self.console,
        }


def group_columns(query: LibraryQuery, columns: Iterable[str]) -> list[str]:
    """The columns whose values make one finding: the query's ``group``, else the
    :data:`DEFAULT_GROUP` columns present, else the ``key`` columns, else every column."""
    present = [c.lower() for c in columns]
    if query.group:
        return [c.lower() for c in query.group]
    return [c for c in DEFAULT_GROUP if c in present] or [c.lower() for c in query.key] or sorted(present)


def finding_key(query: LibraryQuery, group: Mapping[str, Any]) -> str:
    """A stable id for a finding: the query id and its group's values, hashed.

    >>> from trailsql.library.query import parse_query
    >>> q = parse_query("-- id: x\\n-- title: t\\n-- kind: detection\\n-- severity: low\\nSELECT 1", "x.sql")
    >>> finding_key(q, {"actor": "a"}) == finding_key(q, {"actor": "a"}) != finding_key(q, {"actor": "b"})
    True
    """
    text = json.dumps([query.id, sorted(group), [group[c] for c in sorted(group)]], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def group_findings(query: LibraryQuery, rows: list[dict[str, Any]], link: str, console: str = "") -> list[Finding]:
    """A detection's rows as findings, in the order of each finding's first row; ``link`` runs
    the query again from a shell, ``console`` in the web console."""
    if not rows:
        return []
    columns = group_columns(query, rows[0])
    groups: dict[str, list[dict[str, Any]]] = {}
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = {c: row.get(c) for c in columns}
        key = finding_key(query, group)
        groups.setdefault(key, []).append(row)
        values[key] = group
    return [
        replace(_finding(query, key, values[key], members, link), console=console) for key, members in groups.items()
    ]


def _finding(query: LibraryQuery, key: str, group: dict[str, Any], rows: list[dict[str, Any]], link: str) -> Finding:
    times = sorted(str(row[c]) for row in rows for c in _TIME if row.get(c))
    actions = _distinct(part.strip() for row in rows for c in _ACTION for part in str(row.get(c) or "").split(","))
    addresses = _distinct(str(row[c]) for row in rows for c in _ADDRESS if row.get(c))
    ids = _distinct(
        part.strip() for row in rows for c in ("eventid", "eventids") for part in str(row.get(c) or "").split(",")
    )
    count = sum(_events(row) for row in rows)
    technique = next((str(row["technique"]) for row in rows if row.get("technique")), None)
    found = Finding(
        query_id=query.id,
        title=query.title,
        severity=query.severity,
        key=key,
        group=group,
        summary="",
        first_seen=times[0] if times else None,
        last_seen=times[-1] if times else None,
        count=count,
        actions=actions,
        addresses=addresses,
        event_ids=ids[:MAX_EVIDENCE],
        event_total=len(ids),
        rows=tuple(rows),
        link=link,
        technique=technique,
    )
    return replace(found, summary=summary(query, found))


def summary(query: LibraryQuery, finding: Finding) -> str:
    """Why a finding fired, in one sentence (see the module's docstring)."""
    reason = _first(finding.rows, ("reason",))
    if reason:
        more = len({str(r.get("reason")) for r in finding.rows if r.get("reason")}) - 1
        return reason + (f" (and {more} more)" if more > 0 else "")
    fields = {**finding.rows[0], **finding.group, **_described(finding)}
    if query.summary:
        return string.Formatter().vformat(query.summary, (), _Blank(fields))
    who = finding.actor or "someone"
    what = ", ".join(finding.actions[:3]) + (", ..." if len(finding.actions) > 3 else "")
    where = f" from {fields['addresses']}" if finding.addresses else ""
    target = f" on {finding.target}" if finding.target else ""
    events = "1 event" if finding.count == 1 else f"{finding.count} events"
    return f"{query.title}: {who}{target}, {events}" + (f" ({what})" if what else "") + where


def _described(finding: Finding) -> dict[str, Any]:
    return {
        "count": finding.count,
        "actions": ", ".join(finding.actions),
        "addresses": ", ".join(finding.addresses[:3]) + (", ..." if len(finding.addresses) > 3 else ""),
        "first_seen": finding.first_seen or "",
        "last_seen": finding.last_seen or "",
    }


class _Blank(dict[str, Any]):
    """Fields of a summary; a column the rows lack reads as ``?``."""

    def __missing__(self, name: str) -> str:
        return "?"


def _events(row: Mapping[str, Any]) -> int:
    for column in _COUNT:
        value = row.get(column)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 1


def _first(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str | None:
    wanted = tuple(columns)
    return next((str(row[c]) for row in rows for c in wanted if row.get(c)), None)


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
