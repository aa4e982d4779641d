"""Dates and timestamps: Trino's date functions, formats, time zones and literals.

Trino's ``date_diff`` counts whole units where DuckDB counts boundaries; ``date_trunc``,
``date_add`` and ``date ± INTERVAL`` of a date stay dates (DuckDB makes timestamps);
``format_datetime``/``parse_datetime`` take Joda-Time patterns and ``date_format``/``date_parse``
MySQL specifiers (with Trino's defaults: 1970, milliseconds); ``from_iso8601_*`` read all of
ISO 8601; a varchar compared with a date or timestamp is coerced to it. Timestamps with time
zone are held in UTC, so ``AT TIME ZONE``, ``at_timezone``, ``with_timezone``,
``from_unixtime`` and ``TIMESTAMP '...'`` literals in any other zone are refused.
"""

from __future__ import annotations

import re

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call, _literal_text, _temporal_type
from trailsql.errors import NotSupportedError


def date_diff(node: exp.Expr) -> exp.Expr:
    """Trino's ``date_diff`` counts whole units elapsed; DuckDB's counts boundaries crossed.

    DuckDB's ``date_sub`` counts whole units, as Trino does.

    >>> from sqlglot import parse_one
    >>> date_diff(parse_one("date_diff('day', a, b)", read="athena")).sql("duckdb")
    "DATE_SUB('day', a, b)"
    """
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_name = unit.name.lower() if unit is not None else "day"
        return _call("date_sub", exp.Literal.string(unit_name), node.expression, node.this)
    return node


_JODA = [
    ("yyyy", "%Y"),
    ("YYYY", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("M", "%-m"),
    ("dd", "%d"),
    ("d", "%-d"),
    ("HH", "%H"),
    ("H", "%-H"),
    ("hh", "%I"),
    ("h", "%-I"),
    ("mm", "%M"),
    ("m", "%-M"),
    ("ss", "%S"),
    ("s", "%-S"),
    ("SSSSSS", "%f"),
    ("SSS", "%g"),
    ("a", "%p"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("ZZ", "%z"),
    ("Z", "%z"),
    ("DDD", "%j"),
]


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern (``format_datetime``, ``parse_datetime``) as a strftime format.

    >>> joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS")
    '%Y-%m-%dT%H:%M:%S.%g'
    """
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise NotSupportedError(f"unterminated quote in date pattern '{pattern}'")
            out += "'" if end == i + 1 else pattern[i + 1 : end].replace("%", "%%")
            i = end + 1
            continue
        if char.isalpha():
            run = re.match(rf"{re.escape(char)}+", pattern[i:])
            token = run.group(0) if run else char
            match = next((c for j, c in _JODA if j == token), None)
            if match is None:
                raise NotSupportedError(f"Joda pattern letter '{token}' in '{pattern}'")
            out += match
            i += len(token)
            continue
        out += "%%" if char == "%" else char
        i += 1
    return out


def format_datetime(node: exp.Expr) -> exp.Expr:
    """``format_datetime(ts, 'yyyy-MM-dd')`` with a Joda pattern, as ``strftime``."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime":
        value, pattern = node.expressions
        return _call(
            "strftime", value, exp.Literal.string(joda_to_strftime(_literal_text(pattern, "a format_datetime pattern")))
        )
    return node


def parse_datetime(node: exp.Expr) -> exp.Expr:
    """``parse_datetime(text, 'yyyy-MM-dd')`` with a Joda pattern: a timestamp with time zone."""
    if isinstance(node, exp.ParseDatetime):
        fmt = joda_to_strftime(_literal_text(node.args.get("format"), "a parse_datetime pattern"))
        parsed = _call("strptime", node.this, exp.Literal.string(fmt))
        return exp.cast(parsed, exp.DataType.build("TIMESTAMPTZ"))
    return node


_UTC_SUFFIX = re.compile(r"(\s*(UTC|Z|GMT|Etc/UTC|[+-]00(:?00)?))$", re.IGNORECASE)
_ZONE_SUFFIX = re.compile(r"(\d\s*[A-Za-z][A-Za-z_/+-]*|:\d{2}(\.\d*)?\s*[+-]\d{1,2}(:?\d{2})?)$")


def timestamp_with_zone_literal(node: exp.Expr) -> exp.Expr:
    """``TIMESTAMP '... UTC'`` is fine; a literal in another zone is refused.

    Timestamps with time zone are held in UTC; Trino keeps the zone, which changes how the
    value prints and what ``hour()`` returns.
    """
    if (
        isinstance(node, exp.Cast)
        and node.to.is_type(exp.DType.TIMESTAMPTZ)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
    ):
        text = node.this.this.strip()
        utc = _UTC_SUFFIX.search(text)
        if utc:
            return exp.cast(exp.Literal.string(text[: utc.start()] + "+00:00"), exp.DataType.build("TIMESTAMPTZ"))
        if _ZONE_SUFFIX.search(text):
            raise NotSupportedError(f"timestamps with a time zone other than UTC ('{text}')")
    return node


def from_iso8601_timestamp(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_timestamp`` refuses (at run time) offsets other than UTC: see above."""
    if isinstance(node, exp.FromISO8601Timestamp):
        return _call("trino_from_iso8601_timestamp", node.this)
    return node


def _as_type_of(text: exp.Expr, other: exp.Expr) -> exp.Expr:
    """A string literal cast to the type ``other`` is known to have; anything else unchanged."""
    kind = _temporal_type(other)
    if kind is not None and isinstance(text, exp.Literal) and text.is_string:
        return exp.cast(text, exp.DataType.build(kind))
    return text


def compare_text_with_time(node: exp.Expr) -> exp.Expr:
    """A varchar literal compared with a date or timestamp is read as one, as Trino coerces it.

    ``from_iso8601_timestamp(eventtime) > '2023-01-01 00:00:00'`` compares instants, not text.

    >>> from sqlglot import parse_one
    >>> compare_text_with_time(parse_one("current_date > '2023-01-01'", read="athena")).sql("duckdb")
    "CURRENT_DATE > CAST('2023-01-01' AS DATE)"
    """
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        node.set("this", _as_type_of(node.this, node.expression))
        node.set("expression", _as_type_of(node.expression, node.this))
    elif isinstance(node, exp.Between):
        node.set("low", _as_type_of(node.args["low"], node.this))
        node.set("high", _as_type_of(node.args["high"], node.this))
    elif isinstance(node, exp.In):
        node.set("expressions", [_as_type_of(e, node.this) for e in node.expressions])
    return node


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "day").lower()


def date_trunc(node: exp.Expr) -> exp.Expr:
    """``date_trunc`` of a date is a date (DuckDB: a timestamp); a unit below a day fails on it.

    >>> from sqlglot import parse_one
    >>> date_trunc(parse_one("date_trunc('month', d)", read="athena")).sql("duckdb")
    "TRINO_DATE_TRUNC('month', d)"
    """
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        return _call("trino_date_trunc", exp.Literal.string(_unit(node)), node.this)
    return node


def date_add(node: exp.Expr) -> exp.Expr:
    """``date_add`` of a date is a date (DuckDB: a timestamp); hours and less fail on it.

    >>> from sqlglot import parse_one
    >>> date_add(parse_one("date_add('day', -7, d)", read="athena")).sql("duckdb")
    'TRINO_DATE_PLUS(d, INTERVAL (-7) DAY)'
    """
    if isinstance(node, exp.DateAdd):
        interval = exp.Interval(this=node.expression, unit=exp.var(_unit(node).upper()))
        return _call("trino_date_plus", node.this, interval)
    return node


def interval_arithmetic(node: exp.Expr) -> exp.Expr:
    """``date ± INTERVAL`` is a date, as in Trino; DuckDB makes a timestamp of it.

    >>> from sqlglot import parse_one
    >>> interval_arithmetic(parse_one("d - INTERVAL '7' DAY", read="athena")).sql("duckdb")
    "TRINO_DATE_MINUS(d, INTERVAL '7' DAY)"
    """
    if isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
        return _call("trino_date_plus", node.expression, node.this)
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _call("trino_date_plus" if isinstance(node, exp.Add) else "trino_date_minus", node.this, node.expression)
    return node


def _utc_zone(zone: exp.Expr | None, what: str) -> None:
    text = _literal_text(zone, f"{what} with a time zone").strip()
    if not _UTC_SUFFIX.fullmatch(text):
        raise NotSupportedError(f"{what} to a time zone other than UTC ('{text}')")


def at_time_zone(node: exp.Expr) -> exp.Expr:
    """``AT TIME ZONE 'UTC'``, ``at_timezone`` and ``with_timezone`` to UTC: a timestamp with time zone.

    DuckDB's ``AT TIME ZONE`` turns a timestamp with time zone into one without. Other
    zones are refused: timestamps with time zone are held in UTC.

    >>> from sqlglot import parse_one
    >>> at_time_zone(parse_one("t AT TIME ZONE 'UTC'", read="athena")).sql("duckdb")
    'CAST(t AS TIMESTAMPTZ)'
    """
    if isinstance(node, exp.AtTimeZone):
        _utc_zone(node.args.get("zone"), "AT TIME ZONE")
        return exp.cast(node.this, exp.DataType.build("TIMESTAMPTZ"))
    if _is_call(node, "at_timezone", "with_timezone"):
        value, zone = node.expressions
        _utc_zone(zone, node.name.lower())
        return exp.cast(value, exp.DataType.build("TIMESTAMPTZ"))
    return node


def from_unixtime_zone(node: exp.Expr) -> exp.Expr:
    """``from_unixtime(x, zone)`` in UTC is ``from_unixtime(x)``; other zones are refused."""
    if isinstance(node, exp.UnixToTime):
        if node.args.get("hours") is not None or node.args.get("minutes") is not None:
            raise NotSupportedError("from_unixtime with an offset in hours and minutes")
        if node.args.get("zone") is not None:
            _utc_zone(node.args["zone"], "from_unixtime")
            node.set("zone", None)
    return node


def from_iso8601_date(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_date`` also reads week dates (``2020-W10``) and ordinal dates (``2020-123``)."""
    if isinstance(node, exp.FromISO8601Date):
        return _call("trino_from_iso8601_date", node.this)
    return node


#: The strftime form (sqlglot's) of every MySQL specifier Trino supports; %v is ISO's %V.
_MYSQL_SPECIFIERS = {
    "%a", "%b", "%-m", "%d", "%-d", "%f", "%H", "%I", "%M", "%j", "%-H", "%-I", "%B",
    "%m", "%p", "%S", "%A", "%G", "%v", "%Y", "%y", "%%",
}  # fmt: skip


def _mysql_format(node: exp.Expr, what: str) -> str:
    fmt = _literal_text(node.args.get("format"), f"a {what} format")
    for specifier in re.findall(r"%-?.", fmt):
        if specifier not in _MYSQL_SPECIFIERS:
            raise NotSupportedError(f"{what} format specifier {specifier} in '{fmt}'")
    return fmt.replace("%v", "%V")


def _in_milliseconds(value: exp.Expr, fmt: str) -> exp.Expr:
    """``value`` truncated to milliseconds when ``fmt`` has ``%f``: Trino's fraction of a second."""
    return _call("date_trunc", exp.Literal.string("millisecond"), value) if "%f" in fmt else value


def date_parse(node: exp.Expr) -> exp.Expr:
    """``date_parse`` defaults to 1970-01-01 and keeps milliseconds; two-digit years are refused.

    DuckDB's ``strptime`` defaults to 1900 and reads ``69`` as 1969 (Trino: 2069).

    >>> from sqlglot import parse_one
    >>> date_parse(parse_one("date_parse(s, '%H:%i')", read="athena")).sql("duckdb")
    "STRPTIME('1970 ' || s, '%Y %H:%M')"
    """
    if not isinstance(node, exp.StrToTime):
        return node
    fmt = _mysql_format(node, "date_parse")
    if "%y" in fmt:
        raise NotSupportedError(f"date_parse of a two-digit year ('{fmt}')")
    text = node.this
    if not {"%Y", "%G"} & set(re.findall(r"%-?.", fmt)):
        text, fmt = exp.DPipe(this=exp.Literal.string("1970 "), expression=text), "%Y " + fmt
    return _in_milliseconds(_call("strptime", text, exp.Literal.string(fmt)), fmt)


def date_format(node: exp.Expr) -> exp.Expr:
    """``date_format`` with MySQL specifiers; ``%f`` shows milliseconds, as Trino does.

    >>> from sqlglot import parse_one
    >>> date_format(parse_one("date_format(t, '%Y-%m-%dT%H:%i:%sZ')", read="athena")).sql("duckdb")
    "STRFTIME(t, '%Y-%m-%dT%H:%M:%SZ')"
    """
    if not isinstance(node, exp.TimeToStr):
        return node
    fmt = _mysql_format(node, "date_format")
    return _call("strftime", _in_milliseconds(node.this, fmt), exp.Literal.string(fmt))
