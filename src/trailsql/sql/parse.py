"""Parsing Athena SQL with sqlglot, with errors that point at the line and column."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from trailsql.errors import SqlSyntaxError

DIALECT = "athena"


def parse(sql: str) -> list[exp.Expr]:
    """Every statement in ``sql``; a syntax error names its line and column."""
    try:
        statements = sqlglot.parse(sql, read=DIALECT)
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        message = first.get("description") or str(error)
        near = first.get("highlight")
        if near:
            message += f" (near '{near}')"
        raise SqlSyntaxError(message, first.get("line"), first.get("col")) from None
    except TokenError as error:
        raise SqlSyntaxError(str(error)) from None
    return [s for s in statements if s is not None]


def parse_one(sql: str) -> exp.Expr:
    """The single statement in ``sql``."""
    statements = parse(sql)
    if len(statements) != 1:
        raise SqlSyntaxError(f"expected one statement, found {len(statements)}")
    return statements[0]
