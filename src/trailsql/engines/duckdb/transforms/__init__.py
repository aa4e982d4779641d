"""Trino semantics on DuckDB: one rewrite per difference.

sqlglot parses Athena (Trino) SQL and writes DuckDB SQL, but where the two engines
differ in meaning it keeps the syntax and changes the answer. Each rewrite, a function in
one of the modules below, fixes one such difference on the AST: it takes a node and
returns the node to put in its place (the node itself when nothing changes). A construct
we cannot translate exactly raises :class:`~trailsql.errors.NotSupportedError`; we never
emit SQL whose answer could silently differ from Athena's.

The rewrites are grouped by family, a module each: :mod:`.json`, :mod:`.temporal`,
:mod:`.regex`, :mod:`.string` (strings and scalars), :mod:`.array` (arrays, maps, rows,
``UNNEST``), :mod:`.aggregate` and :mod:`.general` (functions DuckDB lacks, ``WITH
RECURSIVE``), with the helpers they share in :mod:`.common`. The order in which they apply
is :data:`TRANSFORMS`, here and nowhere else.

Functions DuckDB lacks are implemented as DuckDB macros named ``trino_*``, defined in
:mod:`trailsql.engines.duckdb.macros`; the rewrites here only call them.

Integer division (``7 / 2 = 3`` in Trino) is not a rewrite: the engine runs with
DuckDB's ``integer_division`` setting, which truncates toward zero as Trino does.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from trailsql.engines.duckdb.transforms import aggregate, array, general, json, regex, string, temporal
from trailsql.errors import NotSupportedError
from trailsql.sql.rewrite import Transform, apply

#: The rewrites, applied in this order, each to every node of a statement, children first.
#: A rewrite that reads the node types sqlglot parsed must come before the rewrites that
#: replace those nodes with macro calls (``exp.Anonymous``, whose type nothing can tell).
TRANSFORMS: tuple[Transform, ...] = (
    # First: compare_text_with_time reads which operands are dates or timestamps from the
    # temporal nodes (DateTrunc, AtTimeZone, StrToTime, FromISO8601Timestamp...) that the
    # temporal rewrites below replace; subscript reads array and map types and integer
    # indexes (sqlglot's annotate_types) before any operand becomes a macro call.
    temporal.compare_text_with_time,
    array.subscript,
    # json_parse looks at its parent (json_extract_scalar, json_array_contains, json_size,
    # json_array_length) as sqlglot parsed it: before json_* and trino_only_functions.
    json.json_parse,
    json.cast_to_json,
    json.cast_from_json,
    json.json_extract_scalar,
    json.json_extract,
    json.json_size,
    json.json_array_contains,
    general.trino_only_functions,
    string.repeat,
    # sequence reads whether its bounds are dates: before the temporal rewrites.
    array.sequence,
    general.recursive_with,
    string.typeof,
    string.concat_operands,
    string.numeric_literal_range,
    temporal.date_diff,
    regex.regexp_extract,
    regex.regexp_extract_all,
    regex.regexp_replace,
    string.split_part,
    string.split,
    string.strpos,
    string.substr,
    string.trim_whitespace,
    string.replace_empty,
    temporal.format_datetime,
    temporal.parse_datetime,
    temporal.date_parse,
    temporal.date_format,
    # After compare_text_with_time, so that the text it casts to a timestamp with time zone
    # has its zone checked too.
    temporal.timestamp_with_zone_literal,
    temporal.from_iso8601_timestamp,
    temporal.from_iso8601_date,
    temporal.from_unixtime_zone,
    temporal.at_time_zone,
    temporal.date_trunc,
    temporal.date_add,
    temporal.interval_arithmetic,
    array.cardinality,
    array.array_contains,
    array.array_distinct,
    array.match_functions,
    array.reduce_output,
    aggregate.count_if,
    aggregate.sum_of_integers,
    aggregate.approximate_aggregates,
    aggregate.histogram,
    array.anonymous_row,
    array.unnest_columns,
)


def to_duckdb(statement: exp.Expr) -> str:
    """The DuckDB SQL that answers ``statement`` as Trino would.

    sqlglot drops what DuckDB cannot say (an argument, a clause) with a warning; here
    that is a refusal.
    """
    tree = apply(statement.copy(), TRANSFORMS)
    try:
        return tree.sql("duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise NotSupportedError(str(error).splitlines()[0]) from None
