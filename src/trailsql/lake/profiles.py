"""First-seen profiles: what each principal used, kept beside the lake's files.

Each lake file ``<lake>/<partition>/part-N.parquet`` has a profile
``<lake>/_profiles/<partition>/part-N.parquet``: one row per hour of ``eventTime``
(``bucket``, its first 13 characters), principal (``userIdentity.arn``), kind and value, with
the first and last ``eventTime`` of that value in that hour and its number of events. The kinds
are :data:`KINDS`: the API (``eventSource:eventName``), the address, the region, the user agent
and the hour of the day. An hour's rows make a profile a tenth to a hundredth of its lake
file's rows, and no row spans more than an hour: a question about a longer time is never
ambiguous about whether a value was seen in it.

A profile is written with its lake file (ingest, compaction), in the same staging folder
and renamed with it; a lake file whose profile is missing (a lake from before profiles, a
run killed between the two renames) gets one at the next ingest. A lake file never changes
once written (a changed log file's rows go to a new lake file), so neither does its profile:
it is current exactly while its lake file is. :func:`seen` answers "which values were seen
in this time" from the profiles of the lake files a query would read, and says when it
cannot answer exactly (see :mod:`trailsql.library.history`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from trailsql.lake.manifest import PROFILES_NAME

#: The kinds of value a profile keeps, each the SQL over a lake file's columns that gives it.
KINDS = {
    "api": "eventsource || ':' || eventname",
    "ip": "sourceipaddress",
    "region": "awsregion",
    "user_agent": "useragent",
    "hour": "substr(eventtime, 12, 2)",
}


def profile_path(lake: Path, relative: str) -> Path:
    """Where the profile of the lake file at ``relative`` (below ``lake``) is."""
    return lake / PROFILES_NAME / relative


def profile_sql(lake_file: str) -> str:
    """A DuckDB query over one lake file giving its profile rows (events with no time, or
    with no value of a kind, are in no row of that kind: no predicate on time could keep them).

    >>> print(profile_sql("/l/a.parquet").splitlines()[0])
    SELECT kind, value, principal, bucket, min(eventtime) AS first_seen, max(eventtime) AS last_seen, count(*) AS events FROM (
    """
    listed = "'" + lake_file.replace("'", "''") + "'"
    unions = " UNION ALL ".join(
        f"SELECT useridentity.arn AS principal, '{kind}' AS kind, {value} AS value, eventtime, "
        f"substr(eventtime, 1, 13) AS bucket "
        f"FROM read_parquet({listed}) WHERE eventtime IS NOT NULL AND {value} IS NOT NULL"
        for kind, value in KINDS.items()
    )
    return (
        "SELECT kind, value, principal, bucket, min(eventtime) AS first_seen, max(eventtime) AS last_seen, "
        f"count(*) AS events FROM (\n{unions}\n) GROUP BY ALL ORDER BY kind, value, principal, bucket"
    )


class Ambiguous(Exception):
    """The profiles cannot say exactly whether a value was seen in the time asked about."""


def seen(
    lake: Path,
    lake_files: Sequence[Path],
    kind: str,
    start: str,
    end: str,
) -> set[tuple[str | None, str]]:
    """The (principal, value) pairs of ``kind`` seen in ``lake_files`` with an ``eventTime`` in
    ``[start, end)`` (the strings compared as the table's ``eventtime >= start AND eventtime <
    end`` compares them).

    A profile row says a value was seen from ``first_seen`` to ``last_seen``: seen in the time
    when either end is inside it, not seen when both are outside on the same side. When the
    row's span holds the whole time (``first_seen < start`` and ``last_seen >= end``) its
    events may all fall outside: :class:`Ambiguous` (the caller scans instead).
    """
    rows = _table(lake, lake_files, kind)
    first, last = rows["first_seen"], rows["last_seen"]
    if pc.any(pc.and_(pc.less(first, start), pc.greater_equal(last, end))).as_py():
        raise Ambiguous(f"a {kind} was seen in the hour before and after {start} to {end}, maybe not inside")
    inside = pc.or_(_within(first, start, end), _within(last, start, end))
    pairs = rows.filter(inside).group_by(["principal", "value"]).aggregate([])
    return set(zip(pairs["principal"].to_pylist(), pairs["value"].to_pylist(), strict=True))


def daily_events(lake: Path, lake_files: Sequence[Path], start: str, end: str) -> dict[tuple[str | None, str], int]:
    """The events of each principal on each day (``eventTime``'s first ten characters) of
    ``lake_files`` with an ``eventTime`` in ``[start, end)``.

    Counted from the ``hour`` rows (every event with a time has one): a row wholly inside the
    time and on one day counts its events; wholly outside, none; any other row (a log file
    hour holding ``start`` or ``end`` with events on both sides) is :class:`Ambiguous`.
    """
    rows = _table(lake, lake_files, "hour")
    first, last = rows["first_seen"], rows["last_seen"]
    outside = pc.or_(pc.less(last, start), pc.greater_equal(first, end))
    rows = rows.filter(pc.invert(outside))
    first, last = rows["first_seen"], rows["last_seen"]
    day = pc.utf8_slice_codeunits(first, 0, 10)
    straddles = pc.or_(
        pc.or_(pc.less(first, start), pc.greater_equal(last, end)),
        pc.not_equal(day, pc.utf8_slice_codeunits(last, 0, 10)),
    )
    if pc.any(straddles).as_py():
        raise Ambiguous(f"an hour's events straddle {start} or {end}")
    counted = rows.append_column("day", day).group_by(["principal", "day"]).aggregate([("events", "sum")])
    keys = zip(counted["principal"].to_pylist(), counted["day"].to_pylist(), strict=True)
    return dict(zip(keys, counted["events_sum"].to_pylist(), strict=True))


@dataclass(frozen=True)
class Before:
    """What one principal did before a time: its values of each kind, its first event and how many."""

    values: dict[str, frozenset[str]]
    first_seen: str | None
    events: int


def principal_before(lake: Path, lake_files: Sequence[Path], principal: str, before: str) -> Before:
    """The values of every kind the events of ``principal`` (``userIdentity.arn``) in ``lake_files``
    with an ``eventTime`` before ``before`` have: a value is seen before it exactly when its row's
    ``first_seen`` is; the count is :class:`Ambiguous` when a row straddles ``before``."""
    values: dict[str, frozenset[str]] = {}
    for kind in KINDS:
        rows = _table(lake, lake_files, kind, principal)
        values[kind] = frozenset(rows.filter(pc.less(rows["first_seen"], before))["value"].to_pylist())
    hours = _table(lake, lake_files, "hour", principal)
    hours = hours.filter(pc.less(hours["first_seen"], before))
    if pc.any(pc.greater_equal(hours["last_seen"], before)).as_py():
        raise Ambiguous(f"an hour's events straddle {before}")
    return Before(values, pc.min(hours["first_seen"]).as_py(), pc.sum(hours["events"]).as_py() or 0)


def _within(times: pa.ChunkedArray, start: str, end: str) -> pa.ChunkedArray:
    return pc.and_(pc.greater_equal(times, start), pc.less(times, end))


_COLUMNS = ["principal", "value", "first_seen", "last_seen", "events"]


def _table(lake: Path, lake_files: Sequence[Path], kind: str, principal: str | None = None) -> pa.Table:
    """The profile rows of ``kind`` (of ``principal``) of the lake files, read as one dataset."""
    import pyarrow.dataset as ds  # (here: importing it costs every command 0.3 s at start)

    wanted = pc.field("kind") == kind
    if principal is not None:
        wanted = wanted & (pc.field("principal") == principal)
    paths = [str(profile_path(lake, f.relative_to(lake).as_posix())) for f in lake_files]
    if not paths:
        return pa.table({name: pa.array([], pa.int64() if name == "events" else pa.string()) for name in _COLUMNS})
    return ds.dataset(paths, format="parquet").to_table(columns=_COLUMNS, filter=wanted)
