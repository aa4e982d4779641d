"""The one query every timeline runs: a subject's events, in time order, across accounts and
regions, through the Session (SQL on the workspace's ``cloudtrail_logs``, so any engine and the
lake answer it; ``--since``/``--until`` become the library's window, so partitions are pruned)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailsql.catalog.table import DEFAULT_TABLE
from trailsql.investigate.subject import Subject
from trailsql.library.window import Window
from trailsql.session import Result, Session

#: The table a timeline reads.
TABLE = DEFAULT_TABLE

#: The timeline's columns (alias -> Athena SQL over the table), in the order shown.
COLUMNS: dict[str, str] = {
    "eventtime": "eventtime",
    "account": "recipientaccountid",
    "region": "awsregion",
    "eventsource": "eventsource",
    "eventname": "eventname",
    "arn": "useridentity.arn",
    "sourceipaddress": "sourceipaddress",
    "useragent": "useragent",
    "errorcode": "errorcode",
    "errormessage": "errormessage",
    "accesskeyid": "useridentity.accesskeyid",
    "eventid": "eventid",
}


def select_list(columns: Mapping[str, str]) -> str:
    """``expr AS alias, ...``.

    >>> select_list({"account": "recipientaccountid"})
    'recipientaccountid AS account'
    """
    return ", ".join(f"{sql} AS {alias}" for alias, sql in columns.items())


def note_problems(result: Result, notes: list[str]) -> None:
    """A result's warnings and skipped log files, as notes for the reader."""
    notes += [*result.warnings, *(f"skipped {s.path}: {s.reason}" for s in result.stats.skipped)]


@dataclass
class EventQuery:
    """Runs the timeline's query in one window, keeping what the reader must be told (files
    skipped, warnings) in :attr:`notes`."""

    session: Session
    window: Window | None
    notes: list[str] = field(default_factory=list)

    def rows(self, subjects: Sequence[Subject], extra: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """The events of any of ``subjects`` (one query: their predicates OR-ed), ordered by
        time then id, with the :data:`COLUMNS`, ``extra`` columns and the subjects' own."""
        columns = {**COLUMNS, **(extra or {})}
        for subject in subjects:
            columns.update(subject.columns())
        where = " OR ".join(f"({subject.predicate()})" for subject in subjects)
        sql = f"SELECT {select_list(columns)} FROM {TABLE} WHERE {where} ORDER BY eventtime, eventid"
        result = self.session.execute(sql, self.window)
        note_problems(result, self.notes)
        return [row for row in result.table.to_pylist() if any(s.keep(row) for s in subjects)]
