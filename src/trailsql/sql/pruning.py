"""Partition pruning: which partitions can a query's predicates possibly select?

A predicate is evaluated with three-valued logic over a (possibly partial) assignment
of partition values. Anything we cannot decide (a non-partition column, a function,
a subquery) is *unknown*, and an unknown predicate keeps the partition: pruning may
read more than needed, never less.

>>> from sqlglot import parse_one
>>> where = parse_one("SELECT 1 FROM t WHERE day BETWEEN '06' AND '12' AND x = 1").args["where"].this
>>> Pruner(where, {"day"}, {"t"}).may_match({"day": "13"})
False
>>> Pruner(where, {"day"}, {"t"}).may_match({"day": "07"})
True
>>> Pruner(where, {"day"}, {"t"}).may_match({})
True
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

Value = str | Decimal
Truth = bool | None

_UNKNOWN = object()

_COMPARISONS: dict[type[exp.Expr], Callable[[Any, Any], bool]] = {
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
}


class Pruner:
    """Decides whether a partition may hold rows that satisfy ``predicate``.

    ``columns`` are the table's partition column names (lower case) and ``names``
    the names a column may be qualified with (the table's name and alias).
    """

    def __init__(self, predicate: exp.Expr | None, columns: set[str], names: set[str]) -> None:
        self.predicate = predicate
        self.columns = columns
        self.names = {n.lower() for n in names}

    def may_match(self, values: Mapping[str, Value | None]) -> bool:
        """False only when no row of a partition with these values can satisfy the predicate."""
        if self.predicate is None:
            return True
        return self._truth(self.predicate, values) is not False

    def _value(self, node: exp.Expr, values: Mapping[str, Value | None]) -> object:
        if isinstance(node, exp.Paren):
            return self._value(node.this, values)
        if isinstance(node, exp.Column) and self._is_partition(node):
            value = values.get(node.name.lower(), _UNKNOWN)
            return _UNKNOWN if value is None else value
        if isinstance(node, exp.Literal):
            if node.is_string:
                return node.this
            try:
                return Decimal(node.this)
            except InvalidOperation:
                return _UNKNOWN
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            inner = self._value(node.this, values)
            return -inner if isinstance(inner, Decimal) else _UNKNOWN
        return _UNKNOWN

    def _is_partition(self, column: exp.Column) -> bool:
        """A reference to one of our partition columns: ``day``, ``t.day`` or ``"db"."t".day``."""
        if column.name.lower() not in self.columns or column.args.get("catalog"):
            return False
        return not column.table or column.table.lower() in self.names

    def _truth(self, node: exp.Expr, values: Mapping[str, Value | None]) -> Truth:
        if isinstance(node, exp.Paren):
            return self._truth(node.this, values)
        if isinstance(node, exp.And):
            sides = [self._truth(node.left, values), self._truth(node.right, values)]
            return False if False in sides else (True if sides == [True, True] else None)
        if isinstance(node, exp.Or):
            sides = [self._truth(node.left, values), self._truth(node.right, values)]
            return True if True in sides else (False if sides == [False, False] else None)
        if isinstance(node, exp.Not):
            inner = self._truth(node.this, values)
            return None if inner is None else not inner
        compare = _COMPARISONS.get(type(node))
        if compare is not None and isinstance(node, exp.Binary):
            left, right = self._value(node.left, values), self._value(node.right, values)
            if not _comparable(left, right):
                return None
            return compare(left, right)
        if isinstance(node, exp.In) and not node.args.get("query") and not node.args.get("unnest"):
            needle = self._value(node.this, values)
            options = [self._value(option, values) for option in node.expressions]
            if any(not _comparable(needle, option) for option in options):
                return None
            return needle in options
        if isinstance(node, exp.Between):
            value = self._value(node.this, values)
            low, high = self._value(node.args["low"], values), self._value(node.args["high"], values)
            if not (_comparable(value, low) and _comparable(value, high)):
                return None
            return bool(low <= value <= high)  # type: ignore[operator]
        return None


def _comparable(left: object, right: object) -> bool:
    """Both known and of one kind: Trino compares varchar with varchar, numbers with numbers."""
    return type(left) is type(right) and isinstance(left, (str, Decimal))


def applicable_predicate(table: exp.Table) -> exp.Expr | None:
    """The part of the query that filters the rows of ``table``, or None.

    The WHERE clause of the SELECT whose FROM holds the table, and the ON condition of
    the table's own join. A table on the null-supplying side of an outer join is pruned
    by its ON condition only; one that a RIGHT or FULL join may null-extend is not pruned.
    """
    parent = table.parent
    select = parent.parent if parent is not None else None
    if not isinstance(select, exp.Select):
        return None
    joins = select.args.get("joins") or []
    outer_later = any(j.side in ("RIGHT", "FULL") for j in joins)
    where = select.args.get("where")
    where_predicate = where.this if where is not None and not outer_later else None
    if isinstance(parent, exp.From):
        return where_predicate
    if isinstance(parent, exp.Join):
        on = parent.args.get("on")
        if parent.side in ("RIGHT", "FULL"):
            return None
        if parent.side == "LEFT":
            return on
        if on is not None and where_predicate is not None:
            return exp.and_(where_predicate, on)
        return on if on is not None else where_predicate
    return None


def decimal_or_text(value: str, partition_type: str) -> Value:
    """A partition value typed as its column is: numbers for integer partitions."""
    if partition_type.upper() in ("INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT"):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value
