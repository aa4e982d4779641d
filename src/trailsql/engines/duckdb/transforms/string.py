"""Strings and scalars: Trino's string functions, ``||``, numeric literals and ``typeof``.

``split_part`` is NULL past the last field, ``split`` keeps a limit, ``strpos`` finds the
n-th instance, ``substr`` from position 0 is '', ``trim`` removes all of Java's whitespace,
``replace`` of '' inserts around every character and ``repeat`` makes an array, each unlike
DuckDB's. Where Trino fails, so do we: ``'x' || 1`` (no operator) and number literals of more
than 38 digits; ``typeof``, whose type names we do not track, is refused.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call
from trailsql.errors import NotSupportedError, SemanticError


def split_part(node: exp.Expr) -> exp.Expr:
    """``split_part`` is NULL past the last field and fails for an index below 1; DuckDB gives ''.

    >>> from sqlglot import parse_one
    >>> split_part(parse_one("split_part(s, ':', 2)", read="athena")).sql("duckdb")
    "TRINO_SPLIT_PART(s, ':', 2)"
    """
    if isinstance(node, exp.SplitPart):
        return _call("trino_split_part", node.this, node.args["delimiter"], node.args["part_index"])
    return node


def split(node: exp.Expr) -> exp.Expr:
    """``split(s, d, limit)`` keeps the rest of ``s`` in the last element; an empty delimiter fails.

    sqlglot drops the limit; DuckDB splits on an empty delimiter into characters.

    >>> from sqlglot import parse_one
    >>> split(parse_one("split(s, '.', 2)", read="athena")).sql("duckdb")
    "TRINO_SPLIT(s, '.', 2)"
    """
    if isinstance(node, exp.Split):
        return _call("trino_split", node.this, node.expression, node.args.get("limit"))
    return node


def strpos(node: exp.Expr) -> exp.Expr:
    """``strpos(s, sub, n)``: the position of the n-th instance, from the end when n < 0.

    sqlglot drops the instance argument.

    >>> from sqlglot import parse_one
    >>> strpos(parse_one("strpos(s, '/', -1)", read="athena")).sql("duckdb")
    "TRINO_STRPOS(s, '/', -1)"
    """
    if isinstance(node, exp.StrPosition):
        if node.args.get("position") is not None:
            raise NotSupportedError("strpos with a start position")
        instance = node.args.get("occurrence")
        if instance is not None:
            return _call("trino_strpos", node.this, node.args["substr"], instance)
    return node


def substr(node: exp.Expr) -> exp.Expr:
    """``substr`` from position 0, or from before the start, is ''; DuckDB starts at 1 instead.

    >>> from sqlglot import parse_one
    >>> substr(parse_one("substr(s, 0)", read="athena")).sql("duckdb")
    'TRINO_SUBSTR(s, 0)'
    """
    if isinstance(node, exp.Substring):
        start = node.args.get("start") or exp.Literal.number(1)
        return _call("trino_substr", node.this, start, node.args.get("length"))
    return node


def trim_whitespace(node: exp.Expr) -> exp.Expr:
    """``trim``, ``ltrim`` and ``rtrim`` remove all of Java's whitespace; DuckDB only spaces.

    >>> from sqlglot import parse_one
    >>> trim_whitespace(parse_one("ltrim(s)", read="athena")).sql("duckdb")
    'TRINO_LTRIM(s)'
    """
    if isinstance(node, exp.Trim) and node.expression is None:
        position = str(node.args.get("position") or "BOTH").upper()
        return _call({"LEADING": "trino_ltrim", "TRAILING": "trino_rtrim"}.get(position, "trino_trim"), node.this)
    return node


def replace_empty(node: exp.Expr) -> exp.Expr:
    """``replace(s, '', r)`` puts ``r`` around every character; DuckDB leaves ``s`` alone.

    >>> from sqlglot import parse_one
    >>> replace_empty(parse_one("replace(s, x, 'r')", read="athena")).sql("duckdb")
    "TRINO_REPLACE(s, x, 'r')"
    """
    if isinstance(node, exp.Replace):
        search = node.expression
        if isinstance(search, exp.Literal) and search.is_string and search.this:
            return node
        replacement = node.args.get("replacement") or exp.Literal.string("")
        return _call("trino_replace", node.this, search, replacement)
    return node


def repeat(node: exp.Expr) -> exp.Expr:
    """Trino's ``repeat(element, count)`` is an array of ``count`` elements; DuckDB's repeats a string.

    >>> from sqlglot import parse_one
    >>> repeat(parse_one("repeat('ab', 3)", read="athena")).sql("duckdb")
    "TRINO_REPEAT('ab', 3)"
    """
    if isinstance(node, exp.Repeat):
        return _call("trino_repeat", node.this, node.args.get("times"))
    return node


def typeof(node: exp.Expr) -> exp.Expr:
    """Trino's ``typeof`` names types its own way (``varchar(2)``, ``integer``, ``row(a integer)``);
    DuckDB's (``VARCHAR``, ``INTEGER``, ``STRUCT(...)``) would differ, and string lengths are
    not tracked here: refused."""
    if isinstance(node, exp.Typeof):
        raise NotSupportedError("typeof (Trino's type names, such as varchar(2), are not tracked)")
    return node


def _is_number(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string


def concat_operands(node: exp.Expr) -> exp.Expr:
    """Trino has no ``||`` of varchar and a number (``'x' || 1``: no operator); DuckDB casts the number.

    Only literal numbers are recognised; a numeric column is not (types are not inferred).
    """
    if isinstance(node, exp.DPipe) and (_is_number(node.this) or _is_number(node.expression)):
        raise SemanticError("Unexpected parameters (varchar, integer) for function concat: cast the number to varchar")
    return node


#: Trino's decimal precision: an exact number literal of more digits does not fit any type.
MAX_DECIMAL_DIGITS = 38


def numeric_literal_range(node: exp.Expr) -> exp.Expr:
    """A literal of more than 38 digits is Trino's error; DuckDB reads it as a double or a blob.

    >>> numeric_literal_range(exp.Literal.number("1" * 39))
    Traceback (most recent call last):
    ...
    trailsql.errors.SemanticError: Invalid numeric literal: 111111111111111111111111111111111111111 (more than 38 digits)
    """
    if _is_number(node) and "e" not in str(node.this).lower():
        digits = sum(c.isdigit() for c in str(node.this).lstrip("0."))
        if digits > MAX_DECIMAL_DIGITS:
            raise SemanticError(
                f"Invalid numeric literal: {str(node.this)[:60]} (more than {MAX_DECIMAL_DIGITS} digits)"
            )
    return node
