"""What the rewrites of every family share: building and recognising calls, reading literals.

A rewrite replaces a Trino construct with a call of a DuckDB function or of a ``trino_*``
macro (:func:`_call`), recognises calls sqlglot does not know by name (:func:`_is_call`),
and refuses an argument it can only translate when it is a string literal
(:func:`_literal_text`). :func:`_temporal_type` tells, where the tree shows it, whether an
expression is a date or a timestamp, which both the temporal rewrites (comparisons with
text) and ``sequence`` need: sqlglot does not infer column types, and neither do we.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.errors import NotSupportedError


def _call(name: str, *args: exp.Expr | None) -> exp.Anonymous:
    """A call of ``name``; arguments that are None (optional, absent) are left out."""
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _is_call(node: exp.Expr | None, *names: str) -> bool:
    """Whether ``node`` calls a function sqlglot does not know, by one of ``names``."""
    return isinstance(node, exp.Anonymous) and node.name.lower() in names


def _literal_text(node: exp.Expr | None, what: str) -> str:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise NotSupportedError(f"{what} that is not a string literal")
    return str(node.this)


def _temporal_type(node: exp.Expr) -> str | None:
    """``DATE``, ``TIMESTAMP`` or ``TIMESTAMPTZ`` when ``node`` is known to be one, else None."""
    if isinstance(node, exp.Cast):
        kind = node.to.this
        if kind == exp.DType.DATE:
            return "DATE"
        if kind in (exp.DType.TIMESTAMPTZ, exp.DType.TIMESTAMPLTZ):
            return "TIMESTAMPTZ"
        return "TIMESTAMP" if kind in exp.DataType.TEMPORAL_TYPES and "TIMESTAMP" in kind.name else None
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd, exp.Paren)):
        return _temporal_type(node.this)
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _temporal_type(node.this)
    if _is_call(node, "at_timezone", "with_timezone") or isinstance(
        node, (exp.FromISO8601Timestamp, exp.ParseDatetime, exp.CurrentTimestamp, exp.UnixToTime, exp.AtTimeZone)
    ):
        return "TIMESTAMPTZ"
    if isinstance(node, exp.StrToTime):
        return "TIMESTAMP"
    if isinstance(node, (exp.CurrentDate, exp.Date, exp.FromISO8601Date)):
        return "DATE"
    return None
