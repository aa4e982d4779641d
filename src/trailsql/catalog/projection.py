"""Athena partition projection: the partitions a table's TBLPROPERTIES describe.

Supported types, as Athena documents them: ``enum`` (``values``), ``integer``
(``range``, ``interval``, ``digits``), ``date`` (``format``, ``range`` with ``NOW``
arithmetic, ``interval``, ``interval.unit``) and ``injected`` (values taken from the
query's equality predicates). Partitions are enumerated column by column and pruned as
soon as a prefix of values cannot match, so a query on one day never enumerates years.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlglot import exp

from trailsql.catalog.table import Table, partition_value
from trailsql.errors import CatalogError, NotSupportedError

#: Athena refuses queries whose projection would enumerate more partitions than this.
MAX_PARTITIONS = 1_000_000

Partial = dict[str, str | None]

_JAVA_TO_STRFTIME = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"), ("yy", "%y")]
_UNITS = {
    "YEARS": "years",
    "MONTHS": "months",
    "WEEKS": "weeks",
    "DAYS": "days",
    "HOURS": "hours",
    "MINUTES": "minutes",
    "SECONDS": "seconds",
}
_NOW = re.compile(r"^\s*NOW\s*(?:([+-])\s*(\d+)\s*([A-Z]+?)S?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """One projected partition column and the values it ranges over."""

    name: str
    values: Callable[[], list[str]]
    size: int


def java_date_format(pattern: str) -> str:
    """A Java ``SimpleDateFormat`` pattern as a strftime format.

    >>> java_date_format("yyyy/MM/dd")
    '%Y/%m/%d'
    """
    out = pattern
    for java, c in _JAVA_TO_STRFTIME:
        out = out.replace(java, c)
    if re.search(r"[a-zA-Z]", re.sub(r"%[a-zA-Z]", "", out)):
        raise NotSupportedError(f"date projection format '{pattern}'")
    return out


def _date_bound(text: str, fmt: str, now: datetime) -> datetime:
    match = _NOW.match(text)
    if match:
        sign, amount, unit = match.groups()
        if not sign:
            return now
        key = _UNITS.get(unit.upper() + "S")
        if key is None:
            raise NotSupportedError(f"date projection range '{text}'")
        delta = _delta(key, int(amount))
        return now + delta if sign == "+" else now - delta
    try:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
    except ValueError as error:
        raise CatalogError(f"date projection range value '{text}' does not match format: {error}") from None


def _column(table: Table, name: str, injected: list[str], now: datetime) -> Column:
    props = table.properties
    kind = props.get(f"projection.{name}.type", "").lower()
    if kind == "enum":
        values = [
            partition_value(name, v.strip()) for v in props.get(f"projection.{name}.values", "").split(",") if v.strip()
        ]
        return Column(name, lambda: values, len(values))
    if kind == "integer":
        low, high = (int(v) for v in props[f"projection.{name}.range"].split(","))
        step = int(props.get(f"projection.{name}.interval", "1"))
        digits = int(props.get(f"projection.{name}.digits", "0"))
        numbers = range(low, high + 1, step)
        return Column(name, lambda: [str(n).zfill(digits) for n in numbers], len(numbers))
    if kind == "date":
        fmt = java_date_format(props[f"projection.{name}.format"])
        start_text, end_text = props[f"projection.{name}.range"].split(",")
        start, end = _date_bound(start_text, fmt, now), _date_bound(end_text, fmt, now)
        unit = _UNITS.get(props.get(f"projection.{name}.interval.unit", "DAYS").upper(), "days")
        step = int(props.get(f"projection.{name}.interval", "1"))
        size = _date_steps(start, end, unit, step)

        def dates() -> list[str]:
            out, current = [], start
            while current <= end:
                out.append(current.strftime(fmt))
                current = current + _delta(unit, step)
            return out

        return Column(name, dates, size)
    if kind == "injected":
        checked = [partition_value(name, v) for v in injected]
        return Column(name, lambda: checked, len(checked))
    raise NotSupportedError(f"partition projection type '{kind}' for column {name}")


def _checked_column(table: Table, name: str, injected: list[str], now: datetime) -> Column:
    """A projected column, or a clear error naming the property a broken DDL lacks or spoils
    (not a KeyError or ValueError traceback on every query)."""
    try:
        return _column(table, name, injected, now)
    except KeyError as error:
        raise CatalogError(f"partition projection of column {name}: missing table property {error.args[0]}") from None
    except ValueError as error:
        raise CatalogError(f"partition projection of column {name}: invalid property value ({error})") from None


def validate(table: Table, now: datetime | None = None) -> None:
    """Refuse a projected table whose properties cannot project, when it is created.

    Every column's projection is built (and a date range parsed); the location template may
    name only partition columns.
    """
    now = now or datetime.now(UTC)
    for name in table.partition_names:
        _checked_column(table, name, ["x"], now)
    template = table.properties.get("storage.location.template", "")
    unknown = [n for _, n in _template_pieces(template) if n is not None and n not in table.partition_names]
    if unknown:
        raise CatalogError(f"storage.location.template names ${{{unknown[0]}}}, which is not a partition column")


def _delta(unit: str, amount: int) -> relativedelta:
    """``relativedelta(days=2)`` for ``_delta("days", 2)``."""
    return relativedelta(**{unit: amount})  # type: ignore[arg-type]


def _date_steps(start: datetime, end: datetime, unit: str, step: int) -> int:
    seconds = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
    if unit in seconds:
        return max(0, int((end - start) / timedelta(seconds=seconds[unit] * step)) + 1)
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(0, (months // (12 if unit == "years" else 1)) // step + 1)


def equality_values(predicate: exp.Expr | None, column: str) -> list[str]:
    """The literals a predicate compares ``column`` to with ``=`` or ``IN``."""
    if predicate is None:
        return []
    found: list[str] = []
    for node in predicate.find_all(exp.EQ, exp.In):
        sides = [node.this, *node.expressions] if isinstance(node, exp.In) else [node.this, node.expression]
        if any(isinstance(s, exp.Column) and s.name.lower() == column for s in sides):
            found += [s.name for s in sides if isinstance(s, exp.Literal)]
    return found


def partitions(
    table: Table,
    may_match: Callable[[Partial], bool],
    predicate: exp.Expr | None,
    now: datetime | None = None,
    present: Callable[[str], bool] | None = None,
) -> Iterator[dict[str, str]]:
    """Every projected partition whose values may satisfy the query, pruned by prefix.

    ``present``, if given, says whether a location prefix may hold files (a local folder
    that exists): values whose fixed part of the location is not present are not
    enumerated further, so a table projected over ten years of days, whose logs cover a
    month, costs a check per year and month that is there, not one per day of ten years.
    """
    now = now or datetime.now(UTC)
    columns = []
    for name in table.partition_names:
        injected = equality_values(predicate, name)
        if table.properties.get(f"projection.{name}.type", "").lower() == "injected" and not injected:
            raise CatalogError(
                f"CONSTRAINT_VIOLATION: For the injected projected partition column {name}, "
                "the WHERE clause must contain only static equality conditions, and at least one such condition must be present."
            )
        columns.append(_checked_column(table, name, injected, now))
    total = 1
    for column in columns:
        total *= max(column.size, 1)
    if total > MAX_PARTITIONS:
        raise CatalogError(
            f"HIVE_EXCEEDED_PARTITION_LIMIT: Query over table '{table.name}' can potentially read more than "
            f"{MAX_PARTITIONS} partitions ({total} projected)"
        )

    # Each column's values are first filtered on their own (a date range of years costs
    # one check a day, not one per day per account and region), then combined.
    domains = [[v for v in column.values() if may_match({column.name: v})] for column in columns]

    def expand(index: int, chosen: dict[str, str]) -> Iterator[dict[str, str]]:
        if index == len(columns):
            yield dict(chosen)
            return
        for value in domains[index]:
            candidate = {**chosen, columns[index].name: value}
            if not may_match(dict(candidate)):
                continue
            if present is not None and index + 1 < len(columns):
                prefix = location_prefix(table, candidate)
                if prefix is not None and not present(prefix):
                    continue
            yield from expand(index + 1, candidate)

    yield from expand(0, {})


def partition_location(table: Table, values: dict[str, str]) -> str:
    """Where a partition's files are: the location template filled in, or Hive's ``k=v``."""
    template = table.properties.get("storage.location.template")
    if template:
        return "".join(text if name is None else values.get(name, text) for text, name in _template_pieces(template))
    base = table.location.rstrip("/")
    return base + "".join(f"/{name}={value}" for name, value in values.items()) + "/"


def location_prefix(table: Table, values: dict[str, str]) -> str | None:
    """The folder of a partition's location that ``values`` (some of its columns) fix: up to the
    last ``/`` before the first column they do not give; None if that is the table's own.

    >>> t = Table("t", [], [("a", "STRING"), ("b", "STRING")], "s3://x/", properties={
    ...     "storage.location.template": "s3://x/logs/${a}/v/${b}/"})
    >>> location_prefix(t, {"a": "1"})
    's3://x/logs/1/v/'
    """
    template = table.properties.get("storage.location.template")
    if template:
        out = []
        for text, name in _template_pieces(template):
            if name is None:
                out.append(text)
            elif name in values:
                out.append(values[name])
            else:
                break
        text = "".join(out)
        prefix = text[: text.rfind("/") + 1]
    else:
        names = list(table.partition_names)
        given = [(n, values[n]) for n in itertools.takewhile(values.__contains__, names)]
        prefix = table.location.rstrip("/") + "".join(f"/{name}={value}" for name, value in given) + "/"
    return None if len(prefix) <= len(table.location.rstrip("/")) + 1 else prefix


@functools.lru_cache(maxsize=64)
def _template_pieces(template: str) -> tuple[tuple[str, str | None], ...]:
    """A location template as pieces of (text, the column name it stands for, if any).

    >>> _template_pieces("s3://b/${Account}/x/")
    (('s3://b/', None), ('${Account}', 'account'), ('/x/', None))
    """
    pieces: list[tuple[str, str | None]] = []
    for index, piece in enumerate(re.split(r"(\$\{[^}]+\})", template)):
        if index % 2:
            pieces.append((piece, piece[2:-1].lower()))
        elif piece:
            pieces.append((piece, None))
    return tuple(pieces)
