"""Rewrites not of one family: Trino functions DuckDB lacks, and ``WITH RECURSIVE``.

A Trino function DuckDB does not have (``url_extract_*``, ``json_array_length``,
``to_iso8601``...) becomes a call of its ``trino_*`` macro of the same name; a recursive
``WITH``, which Trino fails beyond 10 levels and DuckDB runs without a bound, is refused.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call
from trailsql.errors import NotSupportedError

#: Trino functions DuckDB lacks, each a macro of the same name with a ``trino_`` prefix.
MACRO_FUNCTIONS = frozenset(
    {
        "json_array_length",
        "json_array_get",
        "to_iso8601",
        "url_extract_host",
        "url_extract_path",
        "url_extract_parameter",
        "url_extract_protocol",
        "url_extract_query",
        "url_extract_fragment",
        "url_extract_port",
    }
)


def trino_only_functions(node: exp.Expr) -> exp.Expr:
    """A function DuckDB lacks calls its macro: ``url_extract_path(u)`` is ``trino_url_extract_path(u)``.

    >>> from sqlglot import parse_one
    >>> trino_only_functions(parse_one("url_extract_path(u)", read="athena")).sql("duckdb")
    'TRINO_URL_EXTRACT_PATH(u)'
    """
    if isinstance(node, exp.Anonymous) and node.name.lower() in MACRO_FUNCTIONS:
        return _call("trino_" + node.name.lower(), *node.expressions)
    return node


def recursive_with(node: exp.Expr) -> exp.Expr:
    """Trino fails a recursive ``WITH`` deeper than 10 levels; DuckDB recurses without a bound
    (and runs forever on a query without one): refused rather than answering where Athena fails."""
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise NotSupportedError("WITH RECURSIVE (Trino's limit of 10 recursion levels is not enforced)")
    return node
