"""Answering a query's history from the lake's first-seen profiles instead of a scan.

A query compares its window with what came before (``{{baseline}}``); its header names the
CTEs that hold that history (``-- history: recent_ips``). A CTE of one of two shapes over
``cloudtrail_logs WHERE {{baseline}} {{scope}}`` (nothing else in its WHERE) ::

    SELECT DISTINCT sourceIPAddress FROM ...                   -- or awsRegion, userAgent,
                                                               -- each with userIdentity.arn or not
    SELECT userIdentity.arn, substr(eventTime, 1, 10), count(*) FROM ... GROUP BY 1, 2

is replaced by the rows the profiles (:mod:`trailsql.lake.profiles`) give, as a ``VALUES``
list, when they give them exactly: every file the scan would read is in the lake (the
session's own listing and cover stages decide it, as for any query), every such lake file
has its profile, and no profile row is ambiguous about the baseline's time. Otherwise the
CTE stays and the engine scans, as before (also when it holds more than :data:`MAX_ROWS`): the answer is the same either way
(``tests/test_profiles.py``), and the run says which way each CTE went, and why.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from trailsql.catalog.table import DEFAULT_TABLE
from trailsql.errors import TrailsqlError
from trailsql.lake import profiles
from trailsql.lake.manifest import lake_folder
from trailsql.library.query import LibraryQuery
from trailsql.library.window import Window
from trailsql.session import Session
from trailsql.sql.parse import parse_one

#: The columns a SELECT DISTINCT history may select, and the profile kind holding their values.
COLUMNS = {"sourceipaddress": "ip", "awsregion": "region", "useragent": "user_agent"}
#: The principal, day and count columns, as :func:`_spelt` spells them.
_PRINCIPAL = "useridentity.arn"
_DAY = "substr(eventtime, 1, 10)"
_COUNT = "count(*)"

Row = tuple[str | int | None, ...]
#: The most rows a history is answered with: they become SQL literals, which cost the parser
#: time by the row (a month of an account holds tens to hundreds of addresses; random test
#: data can hold millions). A longer history is scanned.
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Answered:
    """A query's SQL with its history CTEs answered where they could be, and how each was."""

    sql: str
    #: CTE name -> ``"profiles"``, or why it is scanned.
    how: dict[str, str]


@dataclass(frozen=True)
class _Baseline:
    """What a history CTE must select from: the baseline's WHERE, its time, the scope's values."""

    where: exp.Expr
    window: Window
    scope: Mapping[str, str | None]


class ScanInstead(Exception):
    """Why a history is scanned rather than answered from the profiles."""


def answer(
    session: Session, query: LibraryQuery, sql: str, given: Mapping[str, str | None], now: dt.datetime | None
) -> Answered:
    """``sql`` (``query`` rendered with ``given``) with each of its history CTEs the profiles
    can answer exactly replaced by their rows (see the module's docstring)."""
    if not query.history:
        return Answered(sql, {})
    tree = parse_one(sql)
    window = query.baseline(given, now)
    values = query.values(given)
    baseline = _Baseline(
        parse_one(f"SELECT 1 WHERE ({window.predicate()}){query.scope(given)}").args["where"],
        window,
        {column: values[column] for column in ("account", "region")},
    )
    how: dict[str, str] = {}
    for name in query.history:
        cte = next((c for c in tree.find_all(exp.CTE) if c.alias_or_name.lower() == name.lower()), None)
        if cte is None:
            how[name] = "not in the query"
            continue
        try:
            rows = _rows(session, cte.this, baseline)
        except ScanInstead as why:
            how[name] = str(why)
            continue
        if len(rows) > MAX_ROWS:
            how[name] = f"its {len(rows):,} rows are more than the {MAX_ROWS:,} a history is answered with"
            continue
        cte.set("this", _values(cte.this, rows, _types(cte.this)))
        how[name] = "profiles"
    return Answered(tree.sql(dialect="trino") if "profiles" in how.values() else sql, how)


def _unaliased(select: exp.Select) -> list[exp.Expr]:
    return [p.unalias() if isinstance(p, exp.Alias) else p for p in select.expressions]


def _spelt(expression: exp.Expr) -> str:
    """An expression in one spelling whatever the case of its names (unquoted names are).

    >>> _spelt(parse_one("SELECT SUBSTR(eventTime, 1, 10)").expressions[0])
    'substr(eventtime, 1, 10)'
    """
    return expression.sql(dialect="trino").lower()


def _rows(session: Session, select: exp.Expr, baseline: _Baseline) -> list[Row]:
    """The rows the history CTE ``select`` gives, from the profiles."""
    if not isinstance(select, exp.Select):
        raise ScanInstead("not a SELECT")
    if any(select.args.get(part) for part in ("joins", "having", "limit", "order", "qualify", "laterals", "with")):
        raise ScanInstead("not a plain SELECT of one table")
    if select.args.get("where") != baseline.where:
        raise ScanInstead("its WHERE is not the baseline and scope alone")
    if select.args.get("distinct") and not select.args.get("group"):
        return _distinct(session, select, baseline)
    if not select.args.get("distinct") and select.args.get("group"):
        return _daily(session, select, baseline)
    raise ScanInstead("neither a SELECT DISTINCT nor a count by principal and day")


def _distinct(session: Session, select: exp.Select, baseline: _Baseline) -> list[Row]:
    roles: list[str] = []
    for column in _unaliased(select):
        if _spelt(column) == _PRINCIPAL:
            roles.append("principal")
        elif isinstance(column, exp.Column) and not column.table and column.name.lower() in COLUMNS:
            roles.append(COLUMNS[column.name.lower()])
        else:
            raise ScanInstead(f"selects {column.sql()}, which no profile keeps")
    kinds = [role for role in roles if role != "principal"]
    if len(kinds) != 1 or len(roles) > 2:
        raise ScanInstead("selects no single profiled column (with the principal or not)")
    start, end = _span(baseline.window)
    lake, reads = _reads(session, select, baseline)
    try:
        pairs = profiles.seen(lake, reads, kinds[0], start, end)
    except profiles.Ambiguous as why:
        raise ScanInstead(str(why)) from None
    rows = {tuple(principal if role == "principal" else value for role in roles) for principal, value in pairs}
    return sorted(rows, key=lambda row: tuple(str(v or "") for v in row))


def _daily(session: Session, select: exp.Select, baseline: _Baseline) -> list[Row]:
    columns = _unaliased(select)
    known = {_PRINCIPAL: "principal", _DAY: "day", _COUNT: "count"}
    roles = [known.get(_spelt(c), "") for c in columns]
    if sorted(roles) != ["count", "day", "principal"]:
        raise ScanInstead("not a count(*) by userIdentity.arn and substr(eventTime, 1, 10)")
    group = select.args["group"].expressions
    grouped = [columns[int(g.name) - 1] if isinstance(g, exp.Literal) and g.is_int else g for g in group]
    if sorted(map(_spelt, grouped)) != [_DAY, _PRINCIPAL]:
        raise ScanInstead("not grouped by its principal and day alone")
    start, end = _span(baseline.window)
    lake, reads = _reads(session, select, baseline)
    try:
        counts = profiles.daily_events(lake, reads, start, end)
    except profiles.Ambiguous as why:
        raise ScanInstead(str(why)) from None
    values = {"principal": 0, "day": 1}
    rows = [tuple(count if role == "count" else key[values[role]] for role in roles) for key, count in counts.items()]
    return sorted(rows, key=lambda row: tuple(str(v or "") for v in row))


def _span(window: Window) -> tuple[str, str]:
    """The window's ends as the eventTime strings its predicate compares with."""
    return f"{window.start:%Y-%m-%dT%H:%M:%SZ}", f"{window.end:%Y-%m-%dT%H:%M:%SZ}"


def _reads(session: Session, select: exp.Select, baseline: _Baseline) -> tuple[Path, list[Path]]:
    return lake_reads(session, select, lambda day: day in baseline.window.days(), baseline.scope)


def lake_reads(
    session: Session,
    select: exp.Expr,
    folder_day: Callable[[dt.date], bool],
    scope: Mapping[str, str | None],
) -> tuple[Path, list[Path]]:
    """The lake's folder and the lake files the scan of ``select`` would read (whole), of day
    folders ``folder_day`` takes and partitions the ``scope`` values take; a scan that would
    read any log file, a part of a lake file, or a lake file with no profile, is :class:`ScanInstead`."""
    if session.lake is None or "lake" not in session.engine.reads or session.workspace.folder is None:
        raise ScanInstead("the engine does not read the lake")
    try:
        listed = session.list_files(session.plan(select.copy()))
    except TrailsqlError as error:
        raise ScanInstead(f"cannot be listed: {error}") from None
    inputs, _ = session.cover(listed.inputs)
    lake = Path(os.path.abspath(lake_folder(session.workspace.folder)))
    reads: list[Path] = []
    for given in inputs:
        table = given.scan.table
        if table.name.lower() != DEFAULT_TABLE or table.serde_properties:
            raise ScanInstead(f"reads table {table.name}, not CloudTrail's default columns")
        if given.listing.files:
            raise ScanInstead(f"{len(given.listing.files)} log files are not in the lake")
        for read in given.lake:
            if read.sources is not None:  # (profiles are of whole lake files)
                raise ScanInstead(f"a lake file is read for {len(read.sources)} of its log files only")
            _check_partition(dict(read.partition), folder_day, scope)
            reads += [Path(os.path.abspath(f)) for f in read.files]
    missing = next((r for r in reads if not profiles.profile_path(lake, _below(r, lake)).is_file()), None)
    if missing is not None:
        raise ScanInstead(f"a lake file has no profile yet ({_below(missing, lake)})")
    return lake, reads


def _below(lake_file: Path, lake: Path) -> str:
    return lake_file.relative_to(lake).as_posix()


def _check_partition(
    partition: Mapping[str, str | None], folder_day: Callable[[dt.date], bool], scope: Mapping[str, str | None]
) -> None:
    """A lake read's partition is one of the folders and the scope asked about: the rows the
    engine would keep of it are those the profiles answer for."""
    try:
        day = dt.date(int(partition["year"] or ""), int(partition["month"] or ""), int(partition["day"] or ""))
    except (KeyError, ValueError):
        raise ScanInstead(f"a lake read of partition {dict(partition)} has no day") from None
    if not folder_day(day):
        raise ScanInstead(f"a lake read of {day} is outside the folders asked about")
    for column, value in scope.items():
        if value and partition.get(column) != value:
            raise ScanInstead(f"a lake read of {dict(partition)} is outside the scope {column} = {value}")


def _types(select: exp.Select) -> list[str]:
    """The SQL type of each column of a history CTE: its count is a BIGINT, the rest text."""
    return ["BIGINT" if _spelt(column) == _COUNT else "VARCHAR" for column in _unaliased(select)]


def _values(select: exp.Select, rows: list[Row], types: list[str]) -> exp.Expr:
    """A SELECT of ``rows`` with the names, order and types of ``select``'s columns (none: a
    SELECT of no row). The types are cast: a ``VALUES`` list of literals would be
    ``varchar(n)`` and ``integer`` where the scan gives ``varchar`` and ``bigint``.

    >>> print(_values(parse_one("SELECT a, count(*) AS n"), [("x", 2)], ["VARCHAR", "BIGINT"]).sql("trino"))
    SELECT CAST(history.a AS VARCHAR) AS a, CAST(history.n AS BIGINT) AS n FROM (VALUES ('x', 2)) AS history(a, n)
    """
    names = [projection.alias_or_name for projection in select.expressions]
    if not rows:
        nulls = ", ".join(
            f"CAST(NULL AS {t}) AS {exp.to_identifier(n).sql()}" for n, t in zip(names, types, strict=True)
        )
        return parse_one(f"SELECT {nulls} WHERE 1 = 0")
    table = exp.values([tuple(row) for row in rows], alias="history", columns=names)
    casts = [exp.alias_(exp.cast(exp.column(n, table="history"), t), n) for n, t in zip(names, types, strict=True)]
    return exp.select(*casts).from_(table)
