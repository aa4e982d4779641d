"""Regular expressions: Trino's ``regexp_*`` functions on Spark's Java regexes.

Spark's ``regexp_extract`` is '' where the pattern does not match (Trino: NULL), and a
group that takes no part in a match is '' in Spark, NULL in Trino: such groups are refused,
as on DuckDB (the same check, :func:`trailsql.engines.duckdb.transforms.regex`). Spark's
``regexp_replace`` replaces every match and reads ``$1`` and ``\\$`` as Java's ``Matcher``
does, as Trino does; named groups and group numbers of two digits, which the DuckDB engine
refuses, are refused here too, so both engines answer the same statements.
"""

from __future__ import annotations

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _literal_text
from trailsql.engines.duckdb.transforms.regex import _capture_groups, _refuse_optional_group, java_replacement
from trailsql.errors import NotSupportedError


def regexp_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``regexp_extract`` is NULL when the pattern does not match; Spark's is ''.

    >>> from sqlglot import parse_one
    >>> regexp_extract(parse_one("regexp_extract(s, 'a(b)', 1)", read="athena")).sql("spark")
    "CASE WHEN s RLIKE 'a(b)' THEN REGEXP_EXTRACT(s, 'a(b)', 1) END"
    """
    if not isinstance(node, exp.RegexpExtract):
        return node
    group = node.args.get("group") or exp.Literal.number(0)
    _refuse_optional_group("regexp_extract", node.expression, group)
    matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
    extracted = _call("regexp_extract", node.this, node.expression, group)
    return exp.Case(ifs=[exp.If(this=matches, true=extracted)])


def regexp_replace(node: exp.Expr) -> exp.Expr:
    r"""``regexp_replace`` as Spark's, which reads the replacement as Trino does (``$1``, ``\$``);
    what the DuckDB engine cannot write (named groups, ``$10``) and a lambda are refused.

    >>> from sqlglot import parse_one
    >>> regexp_replace(parse_one("regexp_replace(s, '(a)', '${x}')", read="athena"))
    Traceback (most recent call last):
    ...
    trailsql.errors.NotSupportedError: not supported: regexp_replace replacement '${x}' with a named group
    """
    if not isinstance(node, exp.RegexpReplace):
        return node
    replacement = node.args.get("replacement")
    if isinstance(replacement, exp.Lambda):
        raise NotSupportedError("regexp_replace with a lambda")
    if replacement is not None:
        pattern = _literal_text(node.expression, "a regexp_replace pattern")
        java_replacement(_literal_text(replacement, "a regexp_replace replacement"), _capture_groups(pattern))
    return node
