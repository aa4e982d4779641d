"""Strings and scalars: division, ``LIKE`` and Trino's string functions on Spark.

Trino's ``/`` of integers truncates (Spark's is fractional) and of decimals rounds to the
larger scale of its operands (Spark keeps at least six digits), so a division is written
by its operands' types, which must be known from the tree. Spark's ``LIKE`` escapes with
a backslash by default (Trino has no default escape). ``split_part`` is NULL past the last
field (Spark: ''), ``split`` takes a literal delimiter (Spark's is a regex) and fails on a
limit below 1, ``substr`` from position 0 or before the start is '' (Spark starts at 1),
``trim`` removes all of Java's whitespace (Spark only spaces), and ``replace`` of ''
inserts around every character (Spark leaves the text alone).
"""

from __future__ import annotations

import re

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call
from trailsql.errors import NotSupportedError

#: A numeric type as far as Trino's division cares: ``int``, ``double`` or a decimal's scale.
Numeric = str | int

_INTEGER_CASTS = {exp.DType.TINYINT, exp.DType.SMALLINT, exp.DType.INT, exp.DType.BIGINT}
_DOUBLE_CASTS = {exp.DType.DOUBLE, exp.DType.FLOAT}
#: Functions whose value is an integer (bigint or integer) in Trino.
_INTEGER_FUNCTIONS = (
    exp.Count,
    exp.CountIf,
    exp.DateDiff,
    exp.ArraySize,
    exp.Length,
    exp.StrPosition,
    exp.Day,
    exp.Hour,
    exp.Minute,
    exp.Second,
    exp.Month,
    exp.Year,
    exp.DayOfWeekIso,
    exp.IntDiv,
)


def numeric_type(node: exp.Expr) -> Numeric | None:
    """``"int"``, ``"double"`` or a decimal's scale for what the tree shows; None where unknown.

    >>> from sqlglot import parse_one
    >>> [numeric_type(parse_one(s, read="athena")) for s in ("count(*) * 100.0", "7e0", "x + 1")]
    [1, 'double', None]
    """
    if isinstance(node, exp.Paren | exp.Neg):
        return numeric_type(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        text = str(node.this).lower()
        if "e" in text:
            return "double"
        return len(text.split(".")[1]) if "." in text else "int"
    if isinstance(node, exp.Cast):
        kind = node.to.this
        if kind in _INTEGER_CASTS:
            return "int"
        if kind in _DOUBLE_CASTS:
            return "double"
        if kind == exp.DType.DECIMAL:
            params = node.to.expressions
            return int(params[1].name) if len(params) == 2 else 0
        return None
    if isinstance(node, _INTEGER_FUNCTIONS):
        return "int"
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) and len(node.this.expressions) == 1:
        return numeric_type(node.this.expressions[0].unalias())
    if isinstance(node, exp.Sum):
        return "int" if numeric_type(node.this) == "int" else None
    if isinstance(node, exp.Avg):  # of integers or doubles a double; of decimals a decimal
        inner = numeric_type(node.this)
        return "double" if inner == "int" else inner
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Mod)):
        left, right = numeric_type(node.this), numeric_type(node.expression)
        if left is None or right is None:
            return None
        if "double" in (left, right):
            return "double"
        if left == right == "int":
            return "int"
        scales = [0 if t == "int" else int(t) for t in (left, right)]
        return sum(scales) if isinstance(node, exp.Mul) else max(scales)
    return None


def integer_division(node: exp.Expr) -> exp.Expr:
    """``/`` of integers truncates toward zero, as ``DIV``; of decimals it rounds to the larger
    scale; with a double it is a double's. Operands of types the tree does not show are refused.

    >>> from sqlglot import parse_one
    >>> [integer_division(parse_one(s, read="athena")).sql("spark") for s in ("7 / 2", "1.0 / 3", "x / 2e0")]
    ['7 DIV 2', 'CAST(1.0 / 3 AS DECIMAL(38, 1))', 'x / 2e0']
    """
    if not isinstance(node, exp.Div):
        return node
    left, right = numeric_type(node.this), numeric_type(node.expression)
    if "double" in (left, right):
        return node
    if left is None or right is None:
        raise NotSupportedError("division of operands whose types are not known from the query, on the Spark engine")
    if left == right == "int":
        return exp.IntDiv(this=node.this, expression=node.expression)
    scale = max(0 if t == "int" else int(t) for t in (left, right))
    return exp.cast(node, exp.DataType.build(f"DECIMAL(38, {scale})"))


def cast_to_integer(node: exp.Expr) -> exp.Expr:
    """A cast of a double or decimal to an integer type rounds half away from zero in Trino
    (``CAST(2.5e0 AS integer)`` is 3); Spark truncates. Spark's ``round`` rounds alike.

    >>> from sqlglot import parse_one
    >>> cast_to_integer(parse_one("CAST(avg(x) AS bigint)", read="athena")).sql("spark")
    'CAST(ROUND(AVG(x)) AS BIGINT)'
    """
    if not isinstance(node, exp.Cast) or node.to.this not in _INTEGER_CASTS:
        return node
    if isinstance(node.this, exp.Avg) or numeric_type(node.this) not in (None, "int", 0):
        node.set("this", exp.Round(this=node.this))
    return node


def like_escape(node: exp.Expr) -> exp.Expr:
    """Trino's ``LIKE`` has no escape character unless one is given; Spark's is a backslash.

    A pattern with a backslash gets an ``ESCAPE`` of a character it does not hold; a pattern
    that is not a literal is refused.

    >>> from sqlglot import parse_one
    >>> print(like_escape(parse_one(r"x LIKE 'C:\\temp%'", read="athena")).sql("spark"))
    x LIKE 'C:\\\\temp%' ESCAPE '!'
    """
    if not isinstance(node, exp.Like) or isinstance(node.parent, exp.Escape):
        return node
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise NotSupportedError("LIKE with a pattern that is not a string literal, on the Spark engine")
    if "\\" not in pattern.this:
        return node
    escape = next(c for c in "!#~^|@" if c not in pattern.this)
    return exp.Escape(this=node, expression=exp.Literal.string(escape))


def _regex_quoted(delimiter: exp.Expr, what: str) -> exp.Literal:
    """A literal, non-empty delimiter as a Java regex matching it exactly."""
    if not (isinstance(delimiter, exp.Literal) and delimiter.is_string) or not delimiter.this:
        raise NotSupportedError(f"{what} with a delimiter that is not a non-empty literal, on the Spark engine")
    return exp.Literal.string(re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", delimiter.this))


def _positive(value: exp.Expr, message: str) -> exp.Expr:
    """``value`` where it is above zero; a failure with ``message`` (Trino's) otherwise."""
    if isinstance(value, exp.Literal) and not value.is_string and int(value.this) > 0:
        return value
    below = exp.LTE(this=value.copy(), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=below, true=_call("raise_error", exp.Literal.string(message)))], default=value)


def split_part(node: exp.Expr) -> exp.Expr:
    """``split_part`` is NULL past the last field and fails for an index below 1; Spark gives ''
    and counts a negative index from the end. An empty delimiter splits into characters.

    >>> from sqlglot import parse_one
    >>> print(split_part(parse_one("split_part(s, ':', 2)", read="athena")).sql("spark"))
    TRY_ELEMENT_AT(SPLIT(s, ':', -1), 2)
    >>> print(split_part(parse_one("split_part(s, '', 2)", read="athena")).sql("spark"))
    CASE WHEN 2 > LENGTH(s) THEN NULL ELSE SUBSTRING(s, 2, 1) END
    """
    if not isinstance(node, exp.SplitPart):
        return node
    delimiter = node.args["delimiter"]
    index = _positive(node.args["part_index"], "Index must be greater than zero")
    if isinstance(delimiter, exp.Literal) and delimiter.is_string and not delimiter.this:
        past = exp.GT(this=index, expression=exp.Length(this=node.this.copy()))
        character = _call("substring", node.this, index.copy(), exp.Literal.number(1))
        return exp.Case(ifs=[exp.If(this=past, true=exp.null())], default=character)
    quoted = _regex_quoted(delimiter, "split_part")
    return _call("try_element_at", _call("split", node.this, quoted, exp.Literal.number(-1)), index)


def split(node: exp.Expr) -> exp.Expr:
    """``split(s, d[, limit])`` splits on the text ``d``; the last of ``limit`` elements keeps the
    rest, and a limit below 1 fails. sqlglot drops the limit.

    >>> from sqlglot import parse_one
    >>> print(split(parse_one("split(s, '.', 2)", read="athena")).sql("spark"))
    SPLIT(s, '\\\\.', 2)
    """
    if not isinstance(node, exp.Split):
        return node
    limit = node.args.get("limit")
    count = exp.Literal.number(-1) if limit is None else _positive(limit, "Limit must be positive")
    return _call("split", node.this, _regex_quoted(node.expression, "split"), count)


def strpos(node: exp.Expr) -> exp.Expr:
    """``strpos(s, sub, n)``: the position of the n-th instance of ``sub`` (instances may overlap),
    from the end when ``n < 0``, 0 if there are fewer; ``n = 0`` fails. sqlglot drops ``n``;
    Spark's ``locate`` answers the plain form alike. ``sub`` must be a non-empty literal.

    >>> from sqlglot import parse_one
    >>> print(strpos(parse_one("strpos(s, '/', 2)", read="athena")).sql("spark"))
    CASE WHEN s IS NULL THEN NULL WHEN 2 = 0 THEN RAISE_ERROR('\\'instance\\' must be a positive or negative number.') ELSE COALESCE(TRY_ELEMENT_AT(FILTER(SEQUENCE(1, GREATEST(LENGTH(s), 1)), i -> SUBSTRING(s, i, 1) = '/'), 2), 0) END
    """
    if not isinstance(node, exp.StrPosition):
        return node
    if node.args.get("position") is not None:
        raise NotSupportedError("strpos with a start position on the Spark engine")
    instance = node.args.get("occurrence")
    if instance is None:
        return node
    text, sub = node.this, node.args["substr"]
    if not (isinstance(sub, exp.Literal) and sub.is_string and sub.this):
        raise NotSupportedError(
            "strpos with an instance of a search that is not a non-empty literal, on the Spark engine"
        )
    start = exp.column("i")
    found = exp.EQ(this=_call("substring", text.copy(), start, exp.Literal.number(len(sub.this))), expression=sub)
    positions = exp.ArrayFilter(
        this=_call(
            "sequence",
            exp.Literal.number(1),
            exp.Greatest(this=exp.Length(this=text.copy()), expressions=[exp.Literal.number(1)]),
        ),
        expression=exp.Lambda(this=found, expressions=[exp.to_identifier("i")]),
    )
    nth = exp.Coalesce(this=_call("try_element_at", positions, instance.copy()), expressions=[exp.Literal.number(0)])
    zero = _call("raise_error", exp.Literal.string("'instance' must be a positive or negative number."))
    return exp.Case(
        ifs=[
            exp.If(this=text.copy().is_(exp.null()), true=exp.null()),
            exp.If(this=exp.EQ(this=instance, expression=exp.Literal.number(0)), true=zero),
        ],
        default=nth,
    )


def substr(node: exp.Expr) -> exp.Expr:
    """``substr`` from position 0, or from before the start, is ''; Spark starts at 1 instead.

    >>> from sqlglot import parse_one
    >>> print(substr(parse_one("substr(s, p, 3)", read="athena")).sql("spark"))
    CASE WHEN p = 0 OR -(p) > LENGTH(s) THEN '' ELSE SUBSTRING(s, p, 3) END
    """
    if not isinstance(node, exp.Substring):
        return node
    start = node.args.get("start")
    if start is None or (isinstance(start, exp.Literal) and not start.is_string and int(start.this) > 0):
        return node
    before = exp.or_(
        exp.EQ(this=start.copy(), expression=exp.Literal.number(0)),
        exp.GT(this=exp.Neg(this=exp.paren(start.copy(), copy=False)), expression=exp.Length(this=node.this.copy())),
    )
    return exp.Case(ifs=[exp.If(this=before, true=exp.Literal.string(""))], default=node)


#: Java's Character.isWhitespace, which Trino's trim functions remove.
_JAVA_WHITESPACE = (
    "[\\t\\n\\u000B\\f\\r\\u001C-\\u001F \\u1680\\u2000-\\u2006\\u2008-\\u200A\\u2028\\u2029\\u205F\\u3000]"
)


def trim_whitespace(node: exp.Expr) -> exp.Expr:
    """``trim``, ``ltrim`` and ``rtrim`` remove all of Java's whitespace; Spark's only spaces.

    >>> from sqlglot import parse_one
    >>> print(trim_whitespace(parse_one("ltrim(s)", read="athena")).sql("spark"))
    REGEXP_REPLACE(s, '^[\\\\t\\\\n\\\\u000B\\\\f\\\\r\\\\u001C-\\\\u001F \\\\u1680\\\\u2000-\\\\u2006\\\\u2008-\\\\u200A\\\\u2028\\\\u2029\\\\u205F\\\\u3000]+', '')
    """
    if not isinstance(node, exp.Trim) or node.expression is not None:
        return node
    position = str(node.args.get("position") or "BOTH").upper()
    pattern = {"LEADING": f"^{_JAVA_WHITESPACE}+", "TRAILING": f"{_JAVA_WHITESPACE}+$"}.get(
        position, f"^{_JAVA_WHITESPACE}+|{_JAVA_WHITESPACE}+$"
    )
    return _call("regexp_replace", node.this, exp.Literal.string(pattern), exp.Literal.string(""))


#: Trino's ``url_extract_*`` functions (``java.net.URI``'s parts) and Spark's ``parse_url`` parts.
_URL_PARTS = {
    "url_extract_host": "HOST",
    "url_extract_protocol": "PROTOCOL",
    "url_extract_path": "PATH",
    "url_extract_query": "QUERY",
    "url_extract_fragment": "REF",
}


def url_extract(node: exp.Expr) -> exp.Expr:
    """``url_extract_host``, ``_protocol``, ``_path``, ``_query``, ``_fragment``: a part of a URI
    (``java.net.URI``, as Spark's ``parse_url`` reads it), '' where the URI has none (Spark:
    NULL), NULL for text that is not a URI (Spark's ``try_parse_url`` is NULL for every part
    of it). Trino decodes ``%xx`` in the path, query and fragment, Spark does not: such a part
    is refused when met.

    >>> from sqlglot import parse_one
    >>> print(url_extract(parse_one("url_extract_host(u)", read="athena")).sql("spark"))
    CASE WHEN NOT TRY_PARSE_URL(u, 'HOST') IS NULL THEN TRY_PARSE_URL(u, 'HOST') WHEN NOT TRY_PARSE_URL(u, 'PROTOCOL') IS NULL OR NOT TRY_PARSE_URL(u, 'FILE') IS NULL THEN '' END
    """
    if not isinstance(node, exp.Anonymous) or node.name.lower() not in _URL_PARTS:
        return node
    (url,) = node.expressions
    name = _URL_PARTS[node.name.lower()]

    def part(name: str) -> exp.Expr:
        return _call("try_parse_url", url.copy(), exp.Literal.string(name))

    def known(name: str) -> exp.Expr:
        return exp.not_(part(name).is_(exp.null()))

    value = part(name)
    if name in ("PATH", "QUERY", "REF"):
        encoded = exp.Like(this=part(name), expression=exp.Literal.string("%!%%"))
        refused = _call("raise_error", exp.Literal.string(f"not supported: {node.name.lower()} of a %-encoded URI"))
        value = exp.Case(
            ifs=[exp.If(this=exp.Escape(this=encoded, expression=exp.Literal.string("!")), true=refused)], default=value
        )
    return exp.Case(
        ifs=[
            exp.If(this=known(name), true=value),
            exp.If(this=exp.or_(known("PROTOCOL"), known("FILE")), true=exp.Literal.string("")),
        ]
    )


def url_extract_parameter(node: exp.Expr) -> exp.Expr:
    """``url_extract_parameter(u, name)``: the value of the first ``name=...`` of the URI's raw
    query ('' for ``name`` without ``=``), NULL where there is none; Spark's ``parse_url`` with
    a key gives NULL for ``name`` without ``=``.

    >>> from sqlglot import parse_one
    >>> print(url_extract_parameter(parse_one("url_extract_parameter(u, 'k')", read="athena")).sql("spark"))
    TRY_ELEMENT_AT(TRANSFORM(FILTER(SPLIT(TRY_PARSE_URL(u, 'QUERY'), '&', -1), p -> TRY_ELEMENT_AT(SPLIT(p, '=', 2), 1) = 'k'), p -> COALESCE(TRY_ELEMENT_AT(SPLIT(p, '=', 2), 2), '')), 1)
    """
    if not _is_call(node, "url_extract_parameter"):
        return node
    url, name = node.expressions
    pair = exp.column("p")

    def side(number: int) -> exp.Expr:
        halves = _call("split", pair.copy(), exp.Literal.string("="), exp.Literal.number(2))
        return _call("try_element_at", halves, exp.Literal.number(number))

    pairs = _call(
        "split",
        _call("try_parse_url", url, exp.Literal.string("QUERY")),
        exp.Literal.string("&"),
        exp.Literal.number(-1),
    )
    named = exp.ArrayFilter(
        this=pairs,
        expression=exp.Lambda(this=exp.EQ(this=side(1), expression=name), expressions=[exp.to_identifier("p")]),
    )
    values = exp.Transform(
        this=named,
        expression=exp.Lambda(
            this=exp.Coalesce(this=side(2), expressions=[exp.Literal.string("")]), expressions=[exp.to_identifier("p")]
        ),
    )
    return _call("try_element_at", values, exp.Literal.number(1))


def replace_empty(node: exp.Expr) -> exp.Expr:
    """``replace(s, '', r)`` puts ``r`` around every character; Spark's ``replace`` leaves ``s``
    alone, its ``regexp_replace`` of the empty pattern does as Trino does (``r`` written as a
    Java replacement). A search that is not a literal is refused.

    >>> from sqlglot import parse_one
    >>> replace_empty(parse_one("replace(s, '', '$x')", read="athena")).sql("spark")
    "REGEXP_REPLACE(s, '', '\\\\\\\\$x')"
    """
    if not isinstance(node, exp.Replace):
        return node
    search, replacement = node.expression, node.args.get("replacement") or exp.Literal.string("")
    if not (isinstance(search, exp.Literal) and search.is_string):
        raise NotSupportedError("replace of a search that is not a literal, on the Spark engine")
    if search.this:
        return node
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        raise NotSupportedError("replace of '' by a replacement that is not a literal, on the Spark engine")
    java = re.sub(r"([\\$])", r"\\\1", replacement.this)
    return _call("regexp_replace", node.this, exp.Literal.string(""), exp.Literal.string(java))
