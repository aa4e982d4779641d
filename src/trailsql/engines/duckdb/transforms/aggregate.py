"""Aggregates: the types and arguments of Trino's aggregate functions.

Trino's ``count_if`` and ``sum`` of integers are bigints (DuckDB: HUGEINT, a decimal to
Arrow), and ``count_if`` is 0, not NULL, when nothing is TRUE; ``histogram`` counts are
bigints (DuckDB: unsigned); ``approx_distinct``'s error bound is dropped (it only tunes the
estimator) and a weighted ``approx_percentile`` is refused. Each works alike under a window
or a ``FILTER`` clause.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _is_call
from trailsql.errors import NotSupportedError


def _aggregate_of(node: exp.Expr) -> exp.Expr:
    """The aggregate under a window or a FILTER clause (the node itself otherwise)."""
    while isinstance(node, (exp.Window, exp.Filter)):
        node = node.this
    return node


def _is_wrapped(node: exp.Expr) -> bool:
    return isinstance(node.parent, (exp.Window, exp.Filter)) and node.arg_key == "this"


def count_if(node: exp.Expr) -> exp.Expr:
    """``count_if(x)`` is ``count(CASE WHEN x THEN 1 END)``: a bigint, 0 when no ``x`` is TRUE.

    DuckDB's is a HUGEINT (a decimal to Arrow), and NULL when every ``x`` is NULL.

    >>> from sqlglot import parse_one
    >>> count_if(parse_one("count_if(x > 1)", read="athena")).sql("duckdb")
    'COUNT(CASE WHEN x > 1 THEN 1 END)'
    """
    if isinstance(node, exp.CountIf):
        return exp.Count(this=exp.Case(ifs=[exp.If(this=node.this, true=exp.Literal.number(1))]))
    return node


def sum_of_integers(node: exp.Expr) -> exp.Expr:
    """``sum`` of integers is a bigint; DuckDB's is a HUGEINT. Other sums keep their type.

    The macro dispatches on the argument's type (an integer fits a BIGINT parameter).

    >>> from sqlglot import parse_one
    >>> sum_of_integers(parse_one("sum(x) OVER (ORDER BY y)", read="athena")).sql("duckdb")
    'TRINO_WINDOW_SUM(x, SUM(x) OVER (ORDER BY y))'
    """
    total = _aggregate_of(node)
    if not isinstance(total, exp.Sum) or _is_wrapped(node) or isinstance(total.this, exp.Distinct):
        return node
    if isinstance(node, exp.Window):
        return _call("trino_window_sum", total.this.copy(), node)
    if isinstance(node, exp.Sum):
        return _call("trino_sum", node.this)
    return node


def approximate_aggregates(node: exp.Expr) -> exp.Expr:
    """``approx_distinct(x, e)`` is estimated as ``approx_distinct(x)``; weighted percentiles are refused.

    The error bound ``e`` only tunes Trino's estimator (DuckDB's has its own); sqlglot
    drops the weight of ``approx_percentile(x, w, p)``, which changes the answer.
    """
    if isinstance(node, exp.ApproxDistinct):
        node.set("accuracy", None)
    elif isinstance(node, exp.ApproxQuantile) and node.args.get("weight") is not None:
        raise NotSupportedError("approx_percentile with weights")
    return node


def histogram(node: exp.Expr) -> exp.Expr:
    """``histogram`` counts are bigints; DuckDB's are unsigned."""
    if _is_call(node, "histogram") and not _is_wrapped(node):
        return _call("trino_histogram", *node.expressions)
    return node
