"""Trino semantics on DuckDB: one rewrite per difference.

sqlglot parses Athena (Trino) SQL and writes DuckDB SQL, but where the two engines
differ in meaning it keeps the syntax and changes the answer. Each function below
fixes one such difference on the AST: it takes a node and returns the node to put in
its place (the node itself when nothing changes). A construct we cannot translate
exactly raises :class:`~trailsql.errors.NotSupportedError`; we never emit SQL whose
answer could silently differ from Athena's.

Functions DuckDB lacks are implemented as DuckDB macros named ``trino_*``, defined in
:mod:`trailsql.engines.macros`; the rewrites here only call them.

Integer division (``7 / 2 = 3`` in Trino) is not a rewrite: the engine runs with
DuckDB's ``integer_division`` setting, which truncates toward zero as Trino does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from trailsql.errors import NotSupportedError

Transform = Callable[[exp.Expr], exp.Expr]


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _literal_text(node: exp.Expr | None, what: str) -> str:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise NotSupportedError(f"{what} that is not a string literal")
    return str(node.this)


def duckdb_json_path(path: exp.Expr) -> exp.Expr:
    """A Trino JSONPath as DuckDB's JSONPath: bracketed keys become quoted keys.

    Trino accepts ``$["x-amz-id-2"]`` and ``$.a[0]``; DuckDB wants ``$."x-amz-id-2"``.

    >>> from sqlglot import parse_one
    >>> node = parse_one("SELECT json_extract_scalar(j, '$[\\"a-b\\"].c[0]')", read="athena")
    >>> duckdb_json_path(node.expressions[0].expression).sql()
    '\\'$."a-b"."c"[0]\\''
    """
    if not isinstance(path, exp.JSONPath):
        if isinstance(path, exp.Literal) and path.is_string:
            return path
        raise NotSupportedError("a JSON path that is not a string literal")
    out = ""
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            out += "$"
        elif isinstance(part, exp.JSONPathKey):
            if part.this == "*":
                out += ".*"
            else:
                out += '."' + str(part.this).replace('"', '\\"') + '"'
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            out += f"[{part.this}]"
        elif isinstance(part, exp.JSONPathWildcard):
            out += "[*]"
        else:
            raise NotSupportedError(f"JSON path element {part.sql()}")
    return exp.Literal.string(out)


def json_extract_scalar(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract_scalar`` is NULL for objects, arrays and invalid JSON.

    DuckDB's ``->>`` returns an object's JSON text and fails on invalid JSON.

    >>> from sqlglot import parse_one
    >>> json_extract_scalar(parse_one("json_extract_scalar(j, '$.a')", read="athena")).sql("duckdb")
    'TRINO_JSON_EXTRACT_SCALAR(j, \\'$."a"\\')'
    """
    if isinstance(node, exp.JSONExtractScalar):
        return _call("trino_json_extract_scalar", node.this, duckdb_json_path(node.expression))
    return node


def json_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract`` is NULL for invalid JSON; paths use Trino's syntax."""
    if isinstance(node, exp.JSONExtract):
        return _call("trino_json_extract", node.this, duckdb_json_path(node.expression))
    return node


def json_size(node: exp.Expr) -> exp.Expr:
    """``json_size(json, path)``: elements of an array or object there, 0 for a scalar."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_size":
        json, path = node.expressions
        return _call("trino_json_size", json, _json_path_of_literal(path))
    return node


def _json_path_of_literal(path: exp.Expr) -> exp.Expr:
    from sqlglot.dialects.dialect import Dialect

    text = _literal_text(path, "a JSON path")
    return duckdb_json_path(Dialect.get_or_raise("athena").to_json_path(exp.Literal.string(text)) or path)


def json_array_contains(node: exp.Expr) -> exp.Expr:
    """``json_array_contains(json, value)``: compares JSON values, not their text."""
    if isinstance(node, exp.JSONArrayContains):
        return _call("trino_json_array_contains", node.this, node.expression)
    return node


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


def regexp_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``regexp_extract`` is NULL when the pattern does not match; DuckDB's is ''."""
    if isinstance(node, exp.RegexpExtract):
        group = node.args.get("group") or exp.Literal.number(0)
        return _call("trino_regexp_extract", node.this, node.expression, group)
    return node


def url_extract_host(node: exp.Expr) -> exp.Expr:
    """``url_extract_host(url)``: the host of a URL, NULL when there is none."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "url_extract_host":
        return _call("trino_url_extract_host", *node.expressions)
    return node


def to_iso8601(node: exp.Expr) -> exp.Expr:
    """``to_iso8601(x)``: ISO 8601 text of a date or timestamp, with milliseconds."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "to_iso8601":
        return _call("trino_to_iso8601", *node.expressions)
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


def unnest_row_columns(node: exp.Expr) -> exp.Expr:
    """``CROSS JOIN UNNEST(rows) AS t(a, b, c)`` expands each ROW into columns, as Trino does.

    DuckDB's UNNEST yields the struct as one column; a lateral subquery expands it.
    """
    if not isinstance(node, exp.Unnest):
        return node
    alias = node.args.get("alias")
    columns = alias.columns if isinstance(alias, exp.TableAlias) else []
    if len(node.expressions) != 1 or len(columns) < 2 or node.args.get("offset"):
        return node
    inner = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("__row"))).from_(
        exp.select(exp.alias_(exp.Unnest(expressions=[node.expressions[0]]), "__row")).subquery()
    )
    return exp.Lateral(this=inner.subquery(), alias=alias)


#: The rewrites, applied in this order to every node of a statement.
TRANSFORMS: tuple[Transform, ...] = (
    json_extract_scalar,
    json_extract,
    json_size,
    json_array_contains,
    date_diff,
    regexp_extract,
    url_extract_host,
    to_iso8601,
    format_datetime,
    parse_datetime,
    unnest_row_columns,
)


def to_duckdb(statement: exp.Expr) -> str:
    """The DuckDB SQL that answers ``statement`` as Trino would."""
    tree = statement.copy()
    for transform in TRANSFORMS:
        tree = tree.transform(transform)
    return tree.sql("duckdb")
