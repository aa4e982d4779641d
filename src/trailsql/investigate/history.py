"""A subject's history before a timeline's window: what "new" is measured against.

:func:`prior_history` is the one place it is looked up: for one principal (a user, root or
one session, by its exact ARN) from the lake's first-seen profiles where they hold all of it
(:mod:`trailsql.lake.profiles`, the same coverage rule as a library query's history, see
:mod:`trailsql.library.history`), else by a query over every event of the subject before the
window (its folders pruned to the days up to the window's start). Both give the same answer
(``tests/test_profiles.py``).
"""

from __future__ import annotations

import datetime as dt

from trailsql.investigate.events import TABLE, note_problems, select_list
from trailsql.investigate.subject import Principal, Subject, literal
from trailsql.investigate.summary import History, api
from trailsql.lake import profiles
from trailsql.library.history import ScanInstead, lake_reads
from trailsql.session import Session
from trailsql.sql.parse import parse_one


def before_predicate(before: dt.datetime, partitioned: bool) -> str:
    """Events before ``before``, as Athena SQL; on a table partitioned by year/month/day, the
    folders up to the day after (CloudTrail files an event under the day it delivers it, minutes
    later), so pruning leaves the later folders unread.

    >>> print(before_predicate(dt.datetime(2025, 1, 31, 6, tzinfo=dt.UTC), True))
    (year < '2025' OR (year = '2025' AND month < '02') OR (year = '2025' AND month = '02' AND day <= '01')) AND eventtime < '2025-01-31T06:00:00Z'
    """
    events = f"eventtime < '{before:%Y-%m-%dT%H:%M:%SZ}'"
    if not partitioned:
        return events
    last = (before - dt.timedelta(microseconds=1)).date() + dt.timedelta(days=1)
    year, month, day = f"'{last:%Y}'", f"'{last:%m}'", f"'{last:%d}'"
    folders = (
        f"(year < {year} OR (year = {year} AND month < {month})"
        f" OR (year = {year} AND month = {month} AND day <= {day}))"
    )
    return f"{folders} AND {events}"


def prior_history(session: Session, subject: Subject, before: dt.datetime, notes: list[str] | None = None) -> History:
    """The subject's APIs, addresses, regions and user agents before ``before``: one query
    grouping its events by them (and by the columns the subject's row test reads)."""
    table = session.table(TABLE)
    partitioned = table is not None and {"year", "month", "day"} <= set(table.partition_names)
    profiled = _from_profiles(session, subject, before) if partitioned else None
    if profiled is not None:
        return profiled
    columns = {
        "eventsource": "eventsource",
        "eventname": "eventname",
        "region": "awsregion",
        "sourceipaddress": "sourceipaddress",
        "useragent": "useragent",
        **subject.columns(),
    }
    groups = ", ".join(str(n) for n in range(1, len(columns) + 1))
    sql = (
        f"SELECT {select_list(columns)}, min(eventtime) AS first, count(*) AS n FROM {TABLE}"
        f" WHERE {before_predicate(before, partitioned)} AND ({subject.predicate()}) GROUP BY {groups}"
    )
    result = session.execute(sql)
    if notes is not None:
        note_problems(result, notes)
    rows = [row for row in result.table.to_pylist() if subject.keep(row)]
    firsts = [row["first"] for row in rows if row["first"]]
    return History(
        events=sum(row["n"] for row in rows),
        first_seen=min(firsts) if firsts else None,
        apis=frozenset(name for row in rows if (name := api(row)) is not None),
        addresses=frozenset(row["sourceipaddress"] for row in rows if row["sourceipaddress"] is not None),
        regions=frozenset(row["region"] for row in rows if row["region"] is not None),
        user_agents=frozenset(row["useragent"] for row in rows if row["useragent"] is not None),
    )


def _from_profiles(session: Session, subject: Subject, before: dt.datetime) -> History | None:
    """The history of one principal from the profiles; None where they cannot give it exactly."""
    if not isinstance(subject, Principal) or subject.predicate() != f"useridentity.arn = {literal(subject.value)}":
        return None  # (a role: its sessions' ARNs are many, and the profiles keep ARNs)
    last = (before - dt.timedelta(microseconds=1)).date() + dt.timedelta(days=1)
    select = parse_one(f"SELECT eventtime FROM {TABLE} WHERE {before_predicate(before, True)}")
    try:
        lake, reads = lake_reads(session, select, lambda day: day <= last, {})
        seen = profiles.principal_before(lake, reads, subject.value, f"{before:%Y-%m-%dT%H:%M:%SZ}")
    except (ScanInstead, profiles.Ambiguous):
        return None
    apis = (api(dict(zip(("eventsource", "eventname"), v.split(":", 1), strict=True))) for v in seen.values["api"])
    return History(
        events=seen.events,
        first_seen=seen.first_seen,
        apis=frozenset(a for a in apis if a is not None),
        addresses=seen.values["ip"],
        regions=seen.values["region"],
        user_agents=seen.values["user_agent"],
    )
