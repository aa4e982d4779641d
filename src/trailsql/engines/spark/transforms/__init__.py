"""Trino semantics on Spark: one rewrite per difference.

sqlglot writes Spark SQL from Athena's, but keeps the syntax where the meaning differs
(``7 / 2`` is 3.5 on Spark, ``regexp_extract`` gives '' where Trino gives NULL), drops
arguments (``split``'s limit, ``try``) and passes unknown Trino functions through by name.
Each rewrite fixes one such difference on the AST, as :mod:`trailsql.engines.duckdb.transforms`
does for DuckDB (whose engine-neutral rewrites are reused here by import); a construct Spark
cannot answer exactly raises :class:`~trailsql.errors.NotSupportedError`.

The set is an allowlist (:mod:`.general`): a function no rewrite here has vetted is refused,
whatever sqlglot would write for it. The families: :mod:`.json`, :mod:`.temporal`,
:mod:`.regex`, :mod:`.string` (strings and scalars, division, ``LIKE``), :mod:`.array`
(subscripts, ``UNNEST``), :mod:`.aggregate`. The session's settings do part of the work
(:data:`trailsql.engines.spark.context.SETTINGS`): ANSI mode fails where Trino fails, UTC is
the session zone and TIMESTAMP is Spark's TIMESTAMP_NTZ, Trino's timestamp without zone.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from trailsql.engines.duckdb.transforms import aggregate as duckdb_aggregate
from trailsql.engines.duckdb.transforms import array as duckdb_array
from trailsql.engines.duckdb.transforms import general as duckdb_general
from trailsql.engines.duckdb.transforms import regex as duckdb_regex
from trailsql.engines.duckdb.transforms import string as duckdb_string
from trailsql.engines.duckdb.transforms import temporal as duckdb_temporal
from trailsql.engines.spark.transforms import aggregate, array, general, json, regex, string, temporal
from trailsql.errors import NotSupportedError
from trailsql.sql.rewrite import Transform, apply

#: The rewrites, applied in this order, each to every node of a statement, children first.
TRANSFORMS: tuple[Transform, ...] = (
    # First, on the statement as written: every function must be vetted.
    general.vetted_functions,
    general.try_expression,
    general.safe_try_cast,
    general.if_without_else,
    general.table_sample,
    general.greatest_least,
    # These read the types of operands from the nodes sqlglot parsed (a Count is a bigint, a
    # FromISO8601Timestamp a timestamp with time zone of milliseconds, a ParseJSON a JSON
    # value): before the rewrites below replace those nodes with Spark calls. The temporal
    # rewrites below keep their results' types readable by writing them as casts.
    duckdb_temporal.compare_text_with_time,
    string.integer_division,
    string.cast_to_integer,
    array.subscript,
    json.cast_from_json,
    json.cast_to_json,
    temporal.cast_time_to_varchar,
    temporal.to_iso8601,
    json.json_size,
    json.json_array_get,
    json.json_array_contains,
    json.json_extract_scalar,
    json.json_extract,
    json.json_parse,
    json.json_format,
    json.lake_map,
    duckdb_general.recursive_with,
    duckdb_string.typeof,
    duckdb_string.concat_operands,
    duckdb_string.numeric_literal_range,
    string.like_escape,
    string.split_part,
    string.split,
    string.strpos,
    string.substr,
    string.trim_whitespace,
    string.replace_empty,
    string.url_extract,
    string.url_extract_parameter,
    regex.regexp_extract,
    duckdb_regex.regexp_extract_all,
    regex.regexp_replace,
    # date_trunc, date_add and interval arithmetic read their argument's type: before the
    # rewrites of the functions making timestamps (whose casts would tell them, too).
    temporal.date_trunc,
    temporal.date_add,
    temporal.interval_arithmetic,
    temporal.day_of_week,
    temporal.date_parse,
    temporal.date_format,
    temporal.format_datetime,
    temporal.parse_datetime,
    # The DuckDB rewrite refuses zones other than UTC and writes UTC as +00:00, which
    # utc_literal_text then completes for Spark.
    duckdb_temporal.timestamp_with_zone_literal,
    temporal.utc_literal_text,
    temporal.from_iso8601_timestamp,
    duckdb_temporal.from_unixtime_zone,
    temporal.from_iso8601_date,
    temporal.from_unixtime,
    temporal.to_unixtime,
    duckdb_temporal.at_time_zone,
    array.contains_null,
    array.match_functions,
    array.unnest,
    duckdb_array.anonymous_row,
    aggregate.array_agg,
    aggregate.arbitrary,
    aggregate.max_by_count,
    duckdb_aggregate.approximate_aggregates,
    # After every rewrite reading CurrentTimestamp nodes (their precision, their type).
    temporal.current_timestamp,
    # Last: every cast to a timestamp with time zone made above becomes TIMESTAMP_LTZ.
    temporal.timestamp_with_time_zone,
)


def to_spark(statement: exp.Expr) -> str:
    """The Spark SQL that answers ``statement`` as Trino would.

    sqlglot drops what Spark cannot say (an argument, a clause) with a warning; here that
    is a refusal.

    >>> from trailsql.sql.parse import parse_one
    >>> to_spark(parse_one("SELECT split_part(eventsource, '.', 1) FROM t"))
    "SELECT TRY_ELEMENT_AT(SPLIT(eventsource, '\\\\\\\\.', -1), 1) FROM t"
    """
    tree = apply(statement.copy(), TRANSFORMS)
    try:
        return tree.sql("spark", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise NotSupportedError(str(error).splitlines()[0]) from None
