"""Aggregates: ``array_agg``, ``arbitrary`` and ``max_by``/``min_by`` on Spark.

Spark's ``collect_list`` drops NULLs and gives ``[]`` over no rows, where Trino's
``array_agg`` keeps NULLs and is NULL; it has no ``ORDER BY``, so the ordered form sorts the
collected (key, value) pairs with Trino's null ordering. ``arbitrary`` is a non-null value
(Spark's ``any_value`` may give NULL unless told to ignore them); ``max_by(x, y, n)`` is
refused (sqlglot drops ``n``).
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call
from trailsql.errors import NotSupportedError


def _field(value: exp.Expr, name: str) -> exp.Expr:
    return exp.Dot(this=value, expression=exp.to_identifier(name))


def _comparator(ordered: exp.Ordered) -> exp.Lambda:
    """A comparator of ``array_sort`` over (``k``, ``v``) pairs by ``k``: Trino's order, NULLs
    last unless ``NULLS FIRST``."""
    left, right = _field(exp.column("l"), "k"), _field(exp.column("r"), "k")
    before, after = (exp.Literal.number(1), exp.Literal.number(-1))
    if ordered.args.get("desc"):
        before, after = after, before
    null_first = exp.Literal.number(-1 if ordered.args.get("nulls_first") else 1)
    body = exp.Case(
        ifs=[
            exp.If(this=exp.and_(left.is_(exp.null()), right.copy().is_(exp.null())), true=exp.Literal.number(0)),
            exp.If(this=left.copy().is_(exp.null()), true=null_first),
            exp.If(this=right.copy().is_(exp.null()), true=exp.Neg(this=null_first.copy())),
            exp.If(this=exp.LT(this=left.copy(), expression=right.copy()), true=after),
            exp.If(this=exp.GT(this=left.copy(), expression=right.copy()), true=before),
        ],
        default=exp.Literal.number(0),
    )
    return exp.Lambda(this=body, expressions=[exp.to_identifier("l"), exp.to_identifier("r")])


def array_agg(node: exp.Expr) -> exp.Expr:
    """``array_agg`` keeps NULLs and is NULL over no rows; ``ORDER BY`` one key, ``DISTINCT``.

    Each value is collected inside a struct (which is never NULL), then taken out.

    >>> from sqlglot import parse_one
    >>> print(array_agg(parse_one("array_agg(x)", read="athena")).sql("spark"))
    CASE WHEN COUNT(*) = 0 THEN NULL ELSE TRANSFORM(COLLECT_LIST(NAMED_STRUCT('v', x)), e -> e.v) END
    """
    if not isinstance(node, exp.ArrayAgg):
        return node
    if isinstance(node.parent, (exp.Window, exp.Filter)):
        raise NotSupportedError("array_agg under a window or FILTER on the Spark engine")
    value, order = node.this, None
    if isinstance(value, exp.Order):
        if len(value.expressions) != 1:
            raise NotSupportedError("array_agg ordered by more than one key on the Spark engine")
        value, order = value.this, value.expressions[0]
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        if len(value.expressions) != 1 or (order is not None and order.this != value.expressions[0].unnest()):
            raise NotSupportedError("array_agg(DISTINCT ...) ordered by another value on the Spark engine")
        value = value.expressions[0].unnest()
    fields: list[exp.Expr] = [exp.Literal.string("v"), value]
    if order is not None:
        fields += [exp.Literal.string("k"), order.this]
    collected: exp.Expr = _call("collect_list", _call("named_struct", *fields))
    if distinct:
        collected = _call("array_distinct", collected)
    if order is not None:
        collected = _call("array_sort", collected, _comparator(order))
    values = exp.Transform(
        this=collected,
        expression=exp.Lambda(this=_field(exp.column("e"), "v"), expressions=[exp.to_identifier("e")]),
    )
    empty = exp.EQ(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0))
    return exp.Case(ifs=[exp.If(this=empty, true=exp.null())], default=values)


def arbitrary(node: exp.Expr) -> exp.Expr:
    """``arbitrary(x)`` is a non-null ``x`` where there is one: ``any_value(x, true)``.

    >>> from sqlglot import parse_one
    >>> arbitrary(parse_one("arbitrary(x)", read="athena")).sql("spark")
    'ANY_VALUE(x, TRUE)'
    """
    if isinstance(node, exp.AnyValue):
        return _call("any_value", node.this, exp.true())
    return node


def max_by_count(node: exp.Expr) -> exp.Expr:
    """``max_by(x, y, n)`` and ``min_by(x, y, n)`` (arrays of ``n`` values) are refused:
    sqlglot writes ``max_by(x, y)``."""
    if isinstance(node, (exp.ArgMax, exp.ArgMin)) and node.args.get("count") is not None:
        raise NotSupportedError("max_by and min_by of n values on the Spark engine")
    return node
