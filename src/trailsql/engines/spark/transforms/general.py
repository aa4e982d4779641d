"""The allowlist of Trino functions the Spark engine answers, and ``try``.

sqlglot writes most Trino functions as Spark functions of the same name, or passes the
ones it does not know through unchanged; neither says whether Spark answers alike. So
every function of a statement must be one vetted here: one Spark answers as Trino does as
sqlglot writes it, or one a rewrite of this package translates. Any other function is
refused (``not supported: <function> on the Spark engine``), which is the safe default;
the list grows one function at a time, each checked against Trino's documented values
(``tests/test_trino_*.py``).

``try(x)`` is NULL where ``x`` fails; Spark has no such wrapper (sqlglot drops it), so
only ``try(CAST(...))``, Spark's ``TRY_CAST``, is kept.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.errors import NotSupportedError

#: sqlglot's function classes (as it parses Athena) whose Spark form, after this package's
#: rewrites, answers as Trino does.
VETTED: frozenset[type[exp.Func]] = frozenset(
    {
        # Operators sqlglot models as functions: AND, OR, EXISTS (subquery).
        exp.And,
        exp.Or,
        exp.Exists,
        # Aggregates and window functions.
        exp.Count,
        exp.Sum,
        exp.Avg,
        exp.Min,
        exp.Max,
        exp.CountIf,
        exp.ApproxDistinct,
        exp.ApproxQuantile,
        exp.ArgMax,
        exp.ArgMin,
        exp.AnyValue,
        exp.ArrayAgg,
        exp.RowNumber,
        exp.Rank,
        exp.DenseRank,
        exp.Lag,
        exp.Lead,
        exp.FirstValue,
        exp.LastValue,
        # Conditionals and casts.
        exp.Coalesce,
        exp.Greatest,  # (NULL if any argument is: greatest_least)
        exp.Least,
        exp.If,
        exp.Case,
        exp.Nullif,
        exp.Cast,
        exp.TryCast,
        exp.Try,
        # Strings.
        exp.Lower,
        exp.Upper,
        exp.Length,
        exp.Concat,
        # NULLs after the separator skipped, a NULL separator NULL: as Trino's.
        exp.ConcatWs,
        exp.Substring,
        exp.StrPosition,
        exp.Trim,
        exp.Replace,
        exp.Reverse,
        exp.Split,
        exp.SplitPart,
        exp.StartsWith,
        exp.MD5Digest,
        exp.Encode,
        exp.Hex,
        exp.RegexpLike,
        exp.RegexpExtract,
        exp.RegexpExtractAll,
        exp.RegexpReplace,
        # Arrays, maps and rows.
        exp.Array,
        exp.ArraySize,
        exp.ArrayContains,
        exp.ArrayDistinct,
        exp.ArrayToString,
        exp.ArrayFilter,
        exp.Transform,
        exp.Reduce,
        exp.Map,
        exp.MapKeys,
        exp.Struct,
        exp.Unnest,
        # JSON.
        exp.JSONExtract,
        exp.JSONExtractScalar,
        exp.ParseJSON,
        exp.JSONFormat,
        exp.JSONArrayContains,
        # Dates and times.
        exp.CurrentTimestamp,
        exp.CurrentDate,
        exp.Date,
        exp.DayOfWeekIso,
        exp.Day,
        exp.Hour,
        exp.Month,
        exp.Year,
        exp.Minute,
        exp.Second,
        exp.TimestampTrunc,
        exp.DateTrunc,
        exp.DateAdd,
        exp.DateDiff,
        exp.StrToTime,
        exp.TimeToStr,
        exp.FromISO8601Timestamp,
        exp.FromISO8601Date,
        exp.UnixToTime,
        exp.TimeToUnix,
        exp.ParseDatetime,
    }
)

#: Trino functions sqlglot does not know (it passes them through by name) that a rewrite
#: here translates, or that Spark has with Trino's meaning (``map_values``,
#: ``json_array_length``: NULL for text that is not a JSON array).
VETTED_CALLS = frozenset(
    {
        "any_match",
        "all_match",
        "none_match",
        "map_values",
        "json_array_length",
        "json_size",
        "json_array_get",
        "url_extract_host",
        "url_extract_protocol",
        "url_extract_path",
        "url_extract_query",
        "url_extract_fragment",
        "url_extract_parameter",
        "format_datetime",
        "to_iso8601",
        "at_timezone",
        "with_timezone",
        "trailsql_lake_map",
        # java.net.URLDecoder's decoding of UTF-8 in both: '+' is a space, a bad escape fails.
        "url_decode",
        # trailsql's own (trailsql.enrich), a Python UDF the engine registers: the same code as DuckDB's.
        "ip_info",
    }
)


def vetted_functions(node: exp.Expr) -> exp.Expr:
    """Refuse a function this package has not vetted: it may answer differently on Spark.

    >>> from sqlglot import parse_one
    >>> vetted_functions(parse_one("round(x, 2)", read="athena"))
    Traceback (most recent call last):
    ...
    trailsql.errors.NotSupportedError: not supported: round on the Spark engine
    """
    if isinstance(node, exp.Anonymous):
        if node.name.lower() not in VETTED_CALLS:
            raise NotSupportedError(f"{node.name.lower()} on the Spark engine")
    elif isinstance(node, exp.Func) and type(node) not in VETTED:
        raise NotSupportedError(f"{node.sql_name().lower()} on the Spark engine")
    return node


def try_expression(node: exp.Expr) -> exp.Expr:
    """``try(CAST(x AS t))`` is ``TRY_CAST``; ``try`` of anything else is refused.

    sqlglot writes ``try(x)`` as ``x``, which fails where Trino gives NULL.

    >>> from sqlglot import parse_one
    >>> from trailsql.sql.rewrite import apply
    >>> apply(parse_one("try(CAST(s AS integer))", read="athena"), [try_expression]).sql("spark")
    'TRY_CAST(s AS INT)'
    """
    if not isinstance(node, exp.Try):
        return node
    inner = node.this
    if isinstance(inner, exp.Cast) and not isinstance(inner, exp.TryCast):
        return exp.TryCast(this=inner.this, to=inner.to, safe=True)
    raise NotSupportedError("try of anything but a CAST on the Spark engine")


def if_without_else(node: exp.Expr) -> exp.Expr:
    """``if(c, x)`` is NULL where ``c`` is not true; Spark's ``if`` wants the third argument.

    >>> from sqlglot import parse_one
    >>> if_without_else(parse_one("if(c, 'a')", read="athena")).sql("spark")
    "IF(c, 'a', NULL)"
    """
    if isinstance(node, exp.If) and not isinstance(node.parent, exp.Case) and node.args.get("false") is None:
        node.set("false", exp.null())
    return node


def table_sample(node: exp.Expr) -> exp.Expr:
    """``TABLESAMPLE`` is refused: Spark samples only tables and subqueries, by its own method."""
    if isinstance(node, exp.TableSample):
        raise NotSupportedError("TABLESAMPLE on the Spark engine")
    return node


def safe_try_cast(node: exp.Expr) -> exp.Expr:
    """``try_cast`` is NULL where the cast fails; sqlglot writes Spark's ``CAST`` for it, which
    fails in ANSI mode, unless told the cast is the safe one.

    >>> from sqlglot import parse_one
    >>> safe_try_cast(parse_one("try_cast(s AS integer)", read="athena")).sql("spark")
    'TRY_CAST(s AS INT)'
    """
    if isinstance(node, exp.TryCast):
        node.set("safe", True)
    return node


def greatest_least(node: exp.Expr) -> exp.Expr:
    """Trino's ``greatest`` and ``least`` are NULL when any argument is; Spark's skip NULLs.

    >>> from sqlglot import parse_one
    >>> greatest_least(parse_one("greatest(a, 3)", read="athena")).sql("spark")
    'CASE WHEN a IS NULL OR 3 IS NULL THEN NULL ELSE GREATEST(a, 3) END'
    """
    if not isinstance(node, exp.Greatest | exp.Least) or node.args.get("ignore_nulls"):
        return node
    arguments = [node.this, *node.expressions]
    any_null = exp.or_(*(exp.Is(this=a.copy(), expression=exp.null()) for a in arguments))
    return exp.Case(ifs=[exp.If(this=any_null, true=exp.null())], default=node)
