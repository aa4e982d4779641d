"""Dates and timestamps: Trino's types, functions and formats on Spark.

Trino's ``timestamp`` is Spark's TIMESTAMP_NTZ (the session's ``spark.sql.timestampType``)
and ``timestamp with time zone`` is written TIMESTAMP_LTZ, an instant shown in the session's
zone, UTC; timestamps with time zone are held in UTC, so other zones are refused, as on
DuckDB. Where a function's answer depends on its argument's type (``date_trunc`` and
``date_add`` of a date stay dates, Spark's ``date_trunc`` makes an LTZ of anything) the type
must be known from the tree, else the call is refused. ``date_format``/``date_parse`` take
MySQL specifiers and ``format_datetime``/``parse_datetime`` Joda-Time patterns: both become
Spark's (java.time) patterns, letter by letter, refusing what has no exact equivalent.
"""

from __future__ import annotations

import re

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call, _literal_text, _temporal_type
from trailsql.errors import NotSupportedError

_LTZ = "TIMESTAMPLTZ"
_NTZ = "TIMESTAMPNTZ"


def _cast(node: exp.Expr, to: str) -> exp.Cast:
    return exp.cast(node, exp.DataType.build(to))


def _fail(message: str) -> exp.Expr:
    """Spark's ``raise_error``: the query fails with ``message`` (Trino's) when this is evaluated."""
    return _call("raise_error", exp.Literal.string(message))


def timestamp_with_time_zone(node: exp.Expr) -> exp.Expr:
    """Trino's ``timestamp with time zone`` is Spark's TIMESTAMP_LTZ; sqlglot writes TIMESTAMP,
    which is a timestamp without zone in these sessions.

    >>> from sqlglot import parse_one
    >>> from trailsql.sql.rewrite import apply
    >>> apply(parse_one("CAST(s AS timestamp with time zone)", read="athena"), [timestamp_with_time_zone]).sql("spark")
    'CAST(s AS TIMESTAMP_LTZ)'
    """
    if isinstance(node, exp.DataType) and node.is_type(exp.DType.TIMESTAMPTZ):
        return exp.DataType.build(_LTZ)
    return node


#: A timestamp literal's text as the DuckDB rewrite leaves it: UTC written ``+00:00``.
_UTC_TEXT = re.compile(r"(?P<day>\d{4}-\d{1,2}-\d{1,2})(?: (?P<time>[\d:.]+))?\+00:00")


def utc_literal_text(node: exp.Expr) -> exp.Expr:
    """``TIMESTAMP '2012-10-31 01:00 UTC'`` as text Spark casts: it wants the seconds when an
    offset follows (``2012-10-31 01:00:00+00:00``). Run after the DuckDB rewrite that refuses
    other zones and writes UTC as ``+00:00``.

    >>> utc_literal_text(exp.cast(exp.Literal.string("2012-10-31 01:00+00:00"), "TIMESTAMPTZ")).sql()
    "CAST('2012-10-31 01:00:00+00:00' AS TIMESTAMPTZ)"
    """
    if not (
        isinstance(node, exp.Cast) and node.to.is_type(exp.DType.TIMESTAMPTZ) and isinstance(node.this, exp.Literal)
    ):
        return node
    found = _UTC_TEXT.fullmatch(str(node.this.this))
    if found is None:
        return node
    time = found["time"] or "00:00:00"
    if time.count(":") == 1:
        time += ":00"
    node.set("this", exp.Literal.string(f"{found['day']} {time}+00:00"))
    return node


def from_iso8601_timestamp(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_timestamp`` is a timestamp with time zone, in milliseconds; sqlglot makes a
    timestamp without zone of it. An offset other than UTC is refused when met (Trino keeps
    the zone, which changes how the value prints and what ``hour()`` gives).

    >>> from sqlglot import parse_one
    >>> print(from_iso8601_timestamp(parse_one("from_iso8601_timestamp(s)", read="athena")).sql("spark"))
    CAST(CASE WHEN s RLIKE 'T.*[+-][0-9]{2}(:?[0-9]{2})?$' AND NOT s RLIKE '[+-]00(:?00)?$' THEN RAISE_ERROR('not supported: from_iso8601_timestamp of a time zone other than UTC') ELSE DATE_TRUNC('MILLISECOND', CAST(s AS TIMESTAMP_LTZ)) END AS TIMESTAMP_LTZ)
    """
    if not isinstance(node, exp.FromISO8601Timestamp):
        return node
    offset = exp.RegexpLike(this=node.this.copy(), expression=exp.Literal.string("T.*[+-][0-9]{2}(:?[0-9]{2})?$"))
    utc = exp.RegexpLike(this=node.this.copy(), expression=exp.Literal.string("[+-]00(:?00)?$"))
    other_zone = exp.and_(offset, exp.not_(utc))
    value = _call("date_trunc", exp.Literal.string("MILLISECOND"), _cast(node.this, _LTZ))
    refused = _fail("not supported: from_iso8601_timestamp of a time zone other than UTC")
    return _cast(exp.Case(ifs=[exp.If(this=other_zone, true=refused)], default=value), _LTZ)


def current_timestamp(node: exp.Expr) -> exp.Expr:
    """``current_timestamp`` and ``now()`` are in milliseconds in Trino (Spark: microseconds).

    >>> from sqlglot import parse_one
    >>> current_timestamp(parse_one("now()", read="athena")).sql("spark")
    "CAST(DATE_TRUNC('MILLISECOND', CURRENT_TIMESTAMP()) AS TIMESTAMP_LTZ)"
    """
    if isinstance(node, exp.CurrentTimestamp):
        return _cast(_call("date_trunc", exp.Literal.string("MILLISECOND"), node), _LTZ)
    return node


def from_iso8601_date(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_date`` of a calendar date (``2020-05-11``); week and ordinal dates
    (``2020-W10``, ``2020-123``), which Spark cannot read, are refused when met.

    >>> from sqlglot import parse_one
    >>> print(from_iso8601_date(parse_one("from_iso8601_date(s)", read="athena")).sql("spark"))
    CASE WHEN s RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN CAST(s AS DATE) WHEN NOT s IS NULL THEN RAISE_ERROR('not supported: from_iso8601_date of a week or ordinal date on the Spark engine') END
    """
    if not isinstance(node, exp.FromISO8601Date):
        return node
    calendar = exp.RegexpLike(this=node.this.copy(), expression=exp.Literal.string("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
    other = exp.not_(node.this.copy().is_(exp.null()))
    refused = _fail("not supported: from_iso8601_date of a week or ordinal date on the Spark engine")
    return exp.Case(ifs=[exp.If(this=calendar, true=_cast(node.this, "DATE")), exp.If(this=other, true=refused)])


def from_unixtime(node: exp.Expr) -> exp.Expr:
    """``from_unixtime(x)`` is a timestamp with time zone, ``x`` seconds rounded to milliseconds;
    Spark's ``from_unixtime`` is text. Run after the DuckDB rewrite that refuses zones but UTC.

    >>> from sqlglot import parse_one
    >>> from_unixtime(parse_one("from_unixtime(x)", read="athena")).sql("spark")
    'CAST(TIMESTAMP_MILLIS(CAST(FLOOR(CAST(x AS DOUBLE) * 1000 + 0.5) AS BIGINT)) AS TIMESTAMP_LTZ)'
    """
    if not isinstance(node, exp.UnixToTime):
        return node
    seconds = _cast(node.this, "DOUBLE")  # as Trino takes it (an integer times 1000 could overflow)
    millis = exp.Add(
        this=exp.Mul(this=seconds, expression=exp.Literal.number(1000)), expression=exp.Literal.number(0.5)
    )
    return _cast(_call("timestamp_millis", _cast(exp.Floor(this=millis), "BIGINT")), _LTZ)


def to_unixtime(node: exp.Expr) -> exp.Expr:
    """``to_unixtime`` is a double with the fraction of a second; Spark's ``unix_timestamp`` drops it.

    >>> from sqlglot import parse_one
    >>> to_unixtime(parse_one("to_unixtime(t)", read="athena")).sql("spark")
    'UNIX_MICROS(CAST(t AS TIMESTAMP_LTZ)) / 1e6'
    """
    if isinstance(node, exp.TimeToUnix):
        return exp.Div(this=_call("unix_micros", _cast(node.this, _LTZ)), expression=exp.Literal.number("1e6"))
    return node


def day_of_week(node: exp.Expr) -> exp.Expr:
    """``day_of_week`` is ISO's, Monday 1 to Sunday 7; sqlglot's Spark form makes Sunday 2.

    >>> from sqlglot import parse_one
    >>> day_of_week(parse_one("dow(d)", read="athena")).sql("spark")
    'WEEKDAY(d) + 1'
    """
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(this=_call("weekday", node.this), expression=exp.Literal.number(1))
    return node


_DATE_UNITS = {"day", "week", "month", "quarter", "year"}


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "day").lower()


def _known_type(node: exp.Expr, what: str) -> str:
    kind = _temporal_type(node)
    if kind is None:
        raise NotSupportedError(f"{what} of a value whose type is not known from the query, on the Spark engine")
    return kind


def date_trunc(node: exp.Expr) -> exp.Expr:
    """``date_trunc`` keeps its argument's type; a unit below a day fails on a date. Spark's
    ``date_trunc`` makes a TIMESTAMP_LTZ of anything; ``trunc`` truncates dates.

    >>> from sqlglot import parse_one
    >>> date_trunc(parse_one("date_trunc('month', DATE '2001-08-22')", read="athena")).sql("spark")
    "CAST(TRUNC(CAST('2001-08-22' AS DATE), 'MONTH') AS DATE)"
    >>> date_trunc(parse_one("date_trunc('day', TIMESTAMP '2001-08-22 03:04:05')", read="athena")).sql("spark")
    "CAST(DATE_TRUNC('DAY', CAST('2001-08-22 03:04:05' AS TIMESTAMP)) AS TIMESTAMP_NTZ)"
    """
    if not isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        return node
    unit = _unit(node)
    kind = _known_type(node.this, "date_trunc")
    if kind == "DATE":
        if unit not in _DATE_UNITS:
            return _fail(f"'{unit}' is not a valid DATE field")
        return (
            node.this if unit == "day" else _cast(_call("trunc", node.this, exp.Literal.string(unit.upper())), "DATE")
        )
    truncated = _call("date_trunc", exp.Literal.string(unit.upper()), node.this)
    return _cast(truncated, _NTZ if kind == "TIMESTAMP" else _LTZ)


#: Months in a unit of Trino's ``date_add`` that Spark's ``add_months`` adds to a date.
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _times(value: exp.Expr, factor: int) -> exp.Expr:
    return value if factor == 1 else exp.Mul(this=exp.paren(value, copy=False), expression=exp.Literal.number(factor))


def date_add(node: exp.Expr) -> exp.Expr:
    """``date_add(unit, n, x)`` in any unit, keeping the type of ``x``; sqlglot's ``DATE_ADD`` adds
    days. On a date, hours and less fail.

    >>> from sqlglot import parse_one
    >>> date_add(parse_one("date_add('hour', 9, TIMESTAMP '2020-03-01 00:00:00')", read="athena")).sql("spark")
    "CAST(TIMESTAMPADD(HOUR, 9, CAST('2020-03-01 00:00:00' AS TIMESTAMP)) AS TIMESTAMP_NTZ)"
    >>> date_add(parse_one("date_add('month', 1, current_date)", read="athena")).sql("spark")
    'CAST(ADD_MONTHS(CURRENT_DATE, 1) AS DATE)'
    """
    if not isinstance(node, exp.DateAdd):
        return node
    unit, amount, value = _unit(node), node.expression, node.this
    kind = _known_type(value, "date_add")
    if kind != "DATE":
        return _cast(_call("timestampadd", exp.var(unit.upper()), amount, value), _NTZ if kind == "TIMESTAMP" else _LTZ)
    if unit not in _DATE_UNITS:
        return _fail("Cannot add hour, minutes or seconds to a date")
    if unit in _MONTHS:
        return _cast(_call("add_months", value, _times(amount, _MONTHS[unit])), "DATE")
    return _cast(_call("date_add", value, _times(amount, 7 if unit == "week" else 1)), "DATE")


def interval_arithmetic(node: exp.Expr) -> exp.Expr:
    """A date plus or minus hours, minutes or seconds fails in Trino; Spark makes a timestamp.

    Days, months and years added to a date stay a date in both.
    """
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        interval, value = node.expression, node.this
    elif isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
        interval, value = node.this, node.expression
    else:
        return node
    unit = interval.unit.name.lower() if interval.unit is not None else ""
    if _temporal_type(value) == "DATE" and unit not in _DATE_UNITS:
        return _fail("Cannot add hour, minutes or seconds to a date")
    return node


#: Trino's MySQL specifiers (datetime.md) in the strftime spelling sqlglot parses them to
#: (``%i`` is ``%M``, ``%e`` is ``%-d``, ``%T`` is ``%H:%M:%S``...), as java.time pattern letters.
#: Week-based specifiers (``%v``, ``%x``) have no java.time equivalent Spark accepts.
_MYSQL = {
    "%a": "EEE",
    "%b": "MMM",
    "%-m": "M",
    "%d": "dd",
    "%-d": "d",
    "%f": "SSSSSS",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%j": "DDD",
    "%-H": "H",
    "%-I": "h",
    "%B": "MMMM",
    "%m": "MM",
    "%p": "a",
    "%S": "ss",
    "%A": "EEEE",
    "%Y": "yyyy",
    "%y": "yy",
}


def _quoted(text: str) -> str:
    """Literal text in a java.time pattern: letters quoted, a quote doubled."""
    if not text:
        return ""
    if re.search(r"[A-Za-z']", text):
        return "'" + text.replace("'", "''") + "'"
    return text


def mysql_to_java(fmt: str, what: str) -> str:
    """A MySQL format (``date_format``, ``date_parse``), as sqlglot parses it, as a java.time pattern.

    >>> mysql_to_java("%Y-%m-%dT%H:%M:%SZ", "date_parse")
    "yyyy-MM-dd'T'HH:mm:ss'Z'"
    """
    out, literal = "", ""
    for token in re.findall(r"%-?.|[^%]+|%", fmt):
        if token == "%%":
            literal += "%"
        elif token.startswith("%") and len(token) > 1:
            if token not in _MYSQL:
                raise NotSupportedError(f"{what} format specifier {token} in '{fmt}' on the Spark engine")
            out += _quoted(literal) + _MYSQL[token]
            literal = ""
        else:
            literal += token
    return out + _quoted(literal)


def _in_milliseconds(value: exp.Expr) -> exp.Expr:
    """A TIMESTAMP_NTZ truncated to milliseconds (Trino's ``date_parse`` keeps three digits)."""
    return _cast(_call("date_trunc", exp.Literal.string("MILLISECOND"), value), _NTZ)


def date_parse(node: exp.Expr) -> exp.Expr:
    """``date_parse(s, format)`` with MySQL specifiers: a timestamp in milliseconds, missing
    fields from 1970-01-01. sqlglot leaves literal letters (``T``, ``Z``) unquoted; two-digit
    years are refused (Trino reads 70..69 as 1970..2069).

    >>> from sqlglot import parse_one
    >>> date_parse(parse_one("date_parse(s, '%Y-%m-%dT%H:%i:%sZ')", read="athena")).sql("spark")
    "CAST(TO_TIMESTAMP(s, 'yyyy-MM-dd\\\\'T\\\\'HH:mm:ss\\\\'Z\\\\'') AS TIMESTAMP_NTZ)"
    """
    if not isinstance(node, exp.StrToTime):
        return node
    fmt = _literal_text(node.args.get("format"), "a date_parse format")
    if "%y" in fmt:
        raise NotSupportedError(f"date_parse of a two-digit year ('{fmt}')")
    parsed = _call("to_timestamp", node.this, exp.Literal.string(mysql_to_java(fmt, "date_parse")))
    return _in_milliseconds(parsed) if "%f" in fmt else _cast(parsed, _NTZ)


def date_format(node: exp.Expr) -> exp.Expr:
    """``date_format(x, format)`` with MySQL specifiers, as Spark's ``date_format``.

    >>> from sqlglot import parse_one
    >>> date_format(parse_one("date_format(t, '%Y-%m-%d %H:%i')", read="athena")).sql("spark")
    "DATE_FORMAT(t, 'yyyy-MM-dd HH:mm')"
    """
    if not isinstance(node, exp.TimeToStr):
        return node
    fmt = _literal_text(node.args.get("format"), "a date_format format")
    return _call("date_format", node.this, exp.Literal.string(mysql_to_java(fmt, "date_format")))


#: Joda-Time letters whose java.time letter of the same count prints alike (Joda's ``Y``,
#: year of era, is java.time's ``y``); the counts allowed.
_JODA = {"y": {2, 4}, "Y": {4}, "M": {1, 2, 3, 4}, "d": {1, 2}, "H": {1, 2}, "h": {1, 2}, "m": {1, 2}, "s": {1, 2}}
_JODA.update({"S": {1, 2, 3, 4, 5, 6}, "a": {1}, "E": {3, 4}, "D": {1, 2, 3}})


def joda_to_java(pattern: str, offsets: bool = False) -> str:
    """A Joda-Time pattern (``format_datetime``, ``parse_datetime``) as a java.time pattern;
    ``offsets``: ``Z`` (``+0500``) is allowed, for parsing.

    >>> joda_to_java("YYYY/MM/dd HH:mm:ss.SSS")
    'yyyy/MM/dd HH:mm:ss.SSS'
    """
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise NotSupportedError(f"unterminated quote in date pattern '{pattern}'")
            out += pattern[i : end + 1]
            i = end + 1
            continue
        run = len(re.match(rf"{re.escape(char)}*", pattern[i:]).group(0)) if char.isalpha() else 1  # type: ignore[union-attr]
        if char.isalpha():
            if not (run in _JODA.get(char, set()) or (offsets and char == "Z" and run == 1)):
                raise NotSupportedError(f"Joda pattern letter '{char * run}' in '{pattern}' on the Spark engine")
            out += ("y" if char == "Y" else char) * run
        else:
            out += char
        i += run
    return out


def format_datetime(node: exp.Expr) -> exp.Expr:
    """``format_datetime(x, pattern)`` with a Joda-Time pattern, as Spark's ``date_format``."""
    if _is_call(node, "format_datetime"):
        value, pattern = node.expressions
        text = joda_to_java(_literal_text(pattern, "a format_datetime pattern"))
        return _call("date_format", value, exp.Literal.string(text))
    return node


def parse_datetime(node: exp.Expr) -> exp.Expr:
    """``parse_datetime(s, pattern)`` with a Joda-Time pattern: a timestamp with time zone.

    >>> from sqlglot import parse_one
    >>> parse_datetime(parse_one("parse_datetime(s, 'yyyy-MM-dd HH:mm Z')", read="athena")).sql("spark")
    "CAST(TO_TIMESTAMP_LTZ(s, 'yyyy-MM-dd HH:mm Z') AS TIMESTAMP_LTZ)"
    """
    if isinstance(node, exp.ParseDatetime):
        text = joda_to_java(_literal_text(node.args.get("format"), "a parse_datetime pattern"), offsets=True)
        return _cast(_call("to_timestamp_ltz", node.this, exp.Literal.string(text)), _LTZ)
    return node


def _fraction_digits(node: exp.Expr) -> int | None:
    """The digits of a second's fraction Trino prints for ``node``, where the tree shows them:
    a timestamp literal's own, three for ``from_iso8601_timestamp`` and ``current_timestamp``."""
    if isinstance(node, (exp.FromISO8601Timestamp, exp.CurrentTimestamp)):
        return 3
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        found = re.search(r":\d\d(?:\.(\d*))?(?:\s*[A-Za-z+-].*)?$", str(node.this.this))
        return len(found.group(1) or "") if found else 0
    return None


def _printed(node: exp.Expr, date_time: str, zone: str, what: str) -> exp.Expr:
    """``node`` (a timestamp) printed as Trino prints it: ``date_time``, its fraction, ``zone``."""
    digits, kind = _fraction_digits(node), _temporal_type(node)
    if digits is None or (kind == "TIMESTAMPTZ" and digits != 3):
        # (a literal with time zone of another precision: which Trino prints is not pinned down)
        raise NotSupportedError(f"{what} of a timestamp whose precision is not known, on the Spark engine")
    fraction = "." + "S" * digits if digits else ""
    return _call(
        "date_format", node, exp.Literal.string(date_time + fraction + (zone if kind == "TIMESTAMPTZ" else ""))
    )


def to_iso8601(node: exp.Expr) -> exp.Expr:
    """``to_iso8601`` prints a timestamp's own precision, ``Z`` for UTC; a date as ``yyyy-MM-dd``.

    >>> from sqlglot import parse_one
    >>> to_iso8601(parse_one("to_iso8601(TIMESTAMP '2001-08-22 03:04:05.321')", read="athena")).sql("spark")
    "DATE_FORMAT(CAST('2001-08-22 03:04:05.321' AS TIMESTAMP), 'yyyy-MM-dd\\\\'T\\\\'HH:mm:ss.SSS')"
    """
    if not _is_call(node, "to_iso8601"):
        return node
    (value,) = node.expressions
    if _temporal_type(value) == "DATE":
        return _cast(value, "VARCHAR")
    return _printed(value, "yyyy-MM-dd'T'HH:mm:ss", "'Z'", "to_iso8601")


def cast_time_to_varchar(node: exp.Expr) -> exp.Expr:
    """``CAST(timestamp AS varchar)`` prints the timestamp's own precision (``.320``; Spark: ``.32``)
    and `` UTC`` for a timestamp with time zone.

    >>> from sqlglot import parse_one
    >>> cast_time_to_varchar(parse_one("CAST(TIMESTAMP '2001-08-22 03:04:05.320' AS varchar)", read="athena")).sql("spark")
    "DATE_FORMAT(CAST('2001-08-22 03:04:05.320' AS TIMESTAMP), 'yyyy-MM-dd HH:mm:ss.SSS')"
    """
    if not isinstance(node, exp.Cast) or not node.to.is_type(*exp.DataType.TEXT_TYPES):
        return node
    kind = _temporal_type(node.this)
    if kind is None or kind == "DATE":
        return node
    return _printed(node.this, "yyyy-MM-dd HH:mm:ss", "' UTC'", "CAST to varchar")
