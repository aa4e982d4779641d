"""Arrays, maps and rows: ``UNNEST``, subscripts and Trino's array functions.

Trino's ``UNNEST`` expands rows into columns, zips several arrays and numbers elements
``WITH ORDINALITY``; ``a[i]`` fails out of bounds (DuckDB: NULL, and ``a[-1]`` counts from
the end); ``cardinality`` is a bigint of an array or map; ``contains`` and the ``*_match``
functions are three-valued; ``array_distinct`` keeps order; ``sequence`` counts down and
bounds its length; ``reduce`` applies its output function; an anonymous ``ROW`` has fields
``field0``, ``field1``...
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call, _temporal_type
from trailsql.errors import NotSupportedError


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


def subscript(node: exp.Expr) -> exp.Expr:
    """``a[i]`` fails out of bounds and ``m[k]`` on a missing key; ``element_at`` is NULL there.

    DuckDB answers NULL for both, and counts ``a[-1]`` from the end. ``element_at(a, 0)``
    fails in Trino.

    >>> from sqlglot import parse_one
    >>> subscript(parse_one("SELECT a[1]", read="athena").expressions[0]).sql("duckdb")
    'TRINO_SUBSCRIPT(a, 1)'
    """
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    if node.args.get("safe"):
        return _call("trino_element_at", node.this, node.expressions[0])
    (index,) = exp.apply_index_offset(node.this, node.expressions, 1, dialect="athena")
    return _call("trino_subscript", node.this, index)


def cardinality(node: exp.Expr) -> exp.Expr:
    """``cardinality`` of an array or a map is a bigint; DuckDB's ``array_length`` takes no map.

    >>> from sqlglot import parse_one
    >>> cardinality(parse_one("cardinality(m)", read="athena")).sql("duckdb")
    'CAST(CARDINALITY(m) AS BIGINT)'
    """
    if isinstance(node, exp.ArraySize):
        return exp.cast(_call("cardinality", node.this), exp.DataType.build("BIGINT"))
    return node


def array_contains(node: exp.Expr) -> exp.Expr:
    """``contains(a, x)`` is NULL, not false, when ``x`` is missing and ``a`` holds a NULL."""
    if isinstance(node, exp.ArrayContains):
        return _call("trino_contains", node.this, node.expression)
    return node


def array_distinct(node: exp.Expr) -> exp.Expr:
    """``array_distinct`` keeps first occurrences in order, and one NULL; DuckDB's neither."""
    if isinstance(node, exp.ArrayDistinct):
        return _call("trino_array_distinct", node.this)
    return node


def match_functions(node: exp.Expr) -> exp.Expr:
    """``any_match``, ``all_match``, ``none_match``: three-valued, over the predicate's results.

    >>> from sqlglot import parse_one
    >>> match_functions(parse_one("any_match(a, x -> x > 1)", read="athena")).sql("duckdb")
    'TRINO_ANY_MATCH(LIST_TRANSFORM(a, LAMBDA x : x > 1))'
    """
    if _is_call(node, "any_match", "all_match", "none_match"):
        array, predicate = node.expressions
        return _call("trino_" + node.name.lower(), _call("list_transform", array, predicate))
    return node


def reduce_output(node: exp.Expr) -> exp.Expr:
    """``reduce(a, s, f, g)`` applies the output function ``g``, which sqlglot drops."""
    if isinstance(node, exp.Reduce) and node.args.get("finish") is not None:
        finish = node.args["finish"]
        node.set("finish", None)
        params = finish.expressions
        if len(params) == 1 and finish.this == params[0]:
            return node
        return _call(
            "list_extract", _call("list_transform", exp.Array(expressions=[node]), finish), exp.Literal.number(1)
        )
    return node


def sequence(node: exp.Expr) -> exp.Expr:
    """Trino's ``sequence`` counts down when ``stop < start``, refuses a zero step and more than
    10,000 entries; DuckDB's ``generate_series`` gives ``[]`` or runs out of memory instead.

    >>> from sqlglot import parse_one
    >>> sequence(parse_one("sequence(5, 1)", read="athena")).sql("duckdb")
    'TRINO_SEQUENCE(5, 1, CASE WHEN 5 <= 1 THEN 1 ELSE -1 END)'
    >>> sequence(parse_one("sequence(DATE '2025-01-01', current_date)", read="athena")).sql("duckdb")
    "TRINO_DATE_SEQUENCE(CAST('2025-01-01' AS DATE), CURRENT_DATE)"
    """
    if not isinstance(node, exp.GenerateSeries):
        return node
    start, end, step = node.args["start"], node.args["end"], node.args.get("step")
    kinds = {_temporal_type(start), _temporal_type(end)} - {None}
    if not kinds:  # (Trino's step is -1 when the sequence counts down)
        if step is None:
            step = exp.If(
                this=exp.LTE(this=start.copy(), expression=end.copy()),
                true=exp.Literal.number(1),
                false=exp.Literal.number(-1),
            )
        return _call("trino_sequence", start, end, step)
    if kinds == {"DATE"} and step is None:
        return _call("trino_date_sequence", start, end)
    raise NotSupportedError("sequence over timestamps, or over dates with a step")


def anonymous_row(node: exp.Expr) -> exp.Expr:
    """A ROW without field names, ``(a, b)`` or ``ROW(a, b)``, has fields ``field0``, ``field1``...

    Athena prints ``SELECT DISTINCT (eventsource, eventname)`` as ``{field0=..., field1=...}``;
    DuckDB would name the fields ``element1`` or ``_0``.

    >>> from sqlglot import parse_one
    >>> from trailsql.sql.rewrite import apply
    >>> apply(parse_one("SELECT (a, b)", read="athena"), [anonymous_row]).sql("duckdb")
    "SELECT {'field0': a, 'field1': b}"
    """
    in_projection = isinstance(node, exp.Tuple) and isinstance(node.parent, (exp.Select, exp.Alias))
    anonymous_struct = (
        isinstance(node, exp.Struct)
        and not isinstance(node.parent, exp.Cast)  # a cast names the fields itself
        and not any(isinstance(e, exp.PropertyEQ) for e in node.expressions)
    )
    if in_projection or anonymous_struct:
        fields = [
            exp.PropertyEQ(this=exp.to_identifier(f"field{i}"), expression=e) for i, e in enumerate(node.expressions)
        ]
        return exp.Struct(expressions=fields)
    return node
