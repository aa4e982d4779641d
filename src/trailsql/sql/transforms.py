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
import re._constants as sre_constants  # type: ignore[import-not-found]  # the stdlib regex parser: Java groups read alike
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable
from typing import Any

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
            # sqlglot leaves Trino's unquoted bracket keys ($[name]) unparsed.
            return exp.Literal.string(re.sub(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", r'."\1"', path.this))
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


def _group_is_optional(pattern: str, group: int) -> bool:
    """Whether capture ``group`` of ``pattern`` can stay out of a successful match.

    >>> _group_is_optional("ra(.)|blah(.)(.)", 2), _group_is_optional("a(b)c", 1)
    (True, False)
    """
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, OverflowError):
        return False  # not Python syntax: the engine's parser decides

    def walk(items: Any, optional: bool) -> bool:
        for op, arg in items:
            if op is sre_constants.SUBPATTERN:
                if arg[0] == group and optional:
                    return True
                if walk(arg[-1], optional):
                    return True
            elif op is sre_constants.BRANCH:
                if any(walk(branch, optional or len(arg[1]) > 1) for branch in arg[1]):
                    return True
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
                if walk(arg[2], optional or arg[0] == 0):
                    return True
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT) and walk(arg[1], True):
                return True
        return False

    return walk(tree, False)


def regexp_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``regexp_extract`` is NULL when the pattern does not match; DuckDB's is ''.

    A group that takes no part in a match is NULL in Trino and '' in DuckDB, and the two
    cannot be told apart afterwards: such groups are refused.
    """
    if isinstance(node, exp.RegexpExtract):
        group = node.args.get("group") or exp.Literal.number(0)
        pattern = node.expression
        literal = isinstance(pattern, exp.Literal) and pattern.is_string and isinstance(group, exp.Literal)
        if literal and _group_is_optional(pattern.this, int(group.this)):
            raise NotSupportedError(
                f"regexp_extract of group {group.this} of '{pattern.this}', which may not take part in a match"
            )
        return _call("trino_regexp_extract", node.this, pattern, group)
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


_UTC_SUFFIX = re.compile(r"(\s*(UTC|Z|GMT|Etc/UTC|[+-]00(:?00)?))$", re.IGNORECASE)
_ZONE_SUFFIX = re.compile(r"\d(\s*[A-Za-z][A-Za-z_/+-]*|\s*[+-]\d{1,2}(:?\d{2})?)$")


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


def unnest_columns(node: exp.Expr) -> exp.Expr:
    """Trino's ``UNNEST`` as a DuckDB lateral subquery.

    ``UNNEST(rows) AS t(a, b, c)`` expands each ROW into columns; ``UNNEST(x, y) AS t(a, b)``
    zips arrays, padding the shorter with NULLs; ``WITH ORDINALITY`` adds the 1-based
    position. A single alias column over an array of rows keeps the row whole, as the
    AWS documentation's ``CROSS JOIN UNNEST(resources) AS t(r)`` expects.
    """
    if not isinstance(node, exp.Unnest):
        return node
    alias = node.args.get("alias")
    columns = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    arrays = node.expressions
    ordinality = bool(node.args.get("offset"))
    if len(arrays) == 1 and not ordinality and len(columns) < 2:
        return node
    names = [f"__u{i}" for i in range(len(arrays))]
    inner = exp.select(*[exp.alias_(exp.Unnest(expressions=[a.copy()]), n) for a, n in zip(arrays, names, strict=True)])
    if ordinality:
        longest = (
            exp.func("greatest", *[exp.func("len", a.copy()) for a in arrays])
            if len(arrays) > 1
            else exp.func("len", arrays[0].copy())
        )
        positions = exp.func("range", exp.Literal.number(1), exp.Add(this=longest, expression=exp.Literal.number(1)))
        inner = inner.select(exp.alias_(exp.Unnest(expressions=[positions]), "__ord"))
    expected = len(arrays) + int(ordinality)
    if len(columns) == expected or not columns:
        outer: list[exp.Expr] = [exp.column(n) for n in names]
    elif len(arrays) == 1:
        outer = [exp.Column(this=exp.Star(), table=exp.to_identifier(names[0]))]
    else:
        raise NotSupportedError("UNNEST of several arrays of rows into their fields")
    if ordinality:
        outer.append(exp.column("__ord"))
    return exp.Lateral(this=exp.select(*outer).from_(inner.subquery()).subquery(), alias=alias)


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
    timestamp_with_zone_literal,
    from_iso8601_timestamp,
    unnest_columns,
)


def to_duckdb(statement: exp.Expr) -> str:
    """The DuckDB SQL that answers ``statement`` as Trino would."""
    tree = statement.copy()
    for transform in TRANSFORMS:
        tree = tree.transform(transform)
    return tree.sql("duckdb")
