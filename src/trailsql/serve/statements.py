"""What kind of statement a query string is, as Athena says it, and its ``?`` parameters bound.

Athena reports ``StatementType`` (DML, DDL or UTILITY) and ``SubstatementType`` for every
execution, and clients act on them: awswrangler reads a CTAS's Parquet only when it is DDL,
PyAthena reads ``.txt`` results of UTILITY statements without a header.
"""

from __future__ import annotations

import re

from sqlglot.dialects.trino import Trino
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

from trailsql.errors import SqlSyntaxError

_COMMENTS = re.compile(r"\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.DOTALL)
_WORDS = re.compile(r"[A-Za-z_]+")

#: The first word and what Athena calls the statement (measured on Athena, see docs/serve.md).
_DML = {
    "SELECT": "SELECT",
    "WITH": "SELECT",
    "VALUES": "SELECT",
    "TABLE": "SELECT",
    "INSERT": "INSERT",
    "UPDATE": "UPDATE",
    "DELETE": "DELETE",
    "MERGE": "MERGE",
    "EXPLAIN": "EXPLAIN",
    "VACUUM": "VACUUM_TABLE",
    "UNLOAD": "UNLOAD",
}
_UTILITY = {"SHOW", "DESCRIBE", "DESC"}


def classify(sql: str) -> tuple[str, str]:
    """``(StatementType, SubstatementType)`` of ``sql``, leading comments and parentheses skipped.

    >>> classify("-- daily\\nselect 1"), classify("SHOW TABLES"), classify("CREATE EXTERNAL TABLE t (a int)")
    (('DML', 'SELECT'), ('UTILITY', 'SHOW_TABLES'), ('DDL', 'CREATE_TABLE'))
    >>> classify("CREATE TABLE t AS SELECT 1"), classify("describe t")
    (('DDL', 'CREATE_TABLE_AS_SELECT'), ('UTILITY', 'DESCRIBE_TABLE'))
    """
    text = sql
    while (match := _COMMENTS.match(text)) and match.end():
        text = text[match.end() :]
    words = [w.upper() for w in _WORDS.findall(text.lstrip(" \t\r\n("))[:4]]
    first = words[0] if words else ""
    if first in _DML:
        return "DML", _DML[first]
    if first in _UTILITY:
        if first == "SHOW":
            rest = [w for w in words[1:3] if w not in ("EXTERNAL",)]
            kind = "_".join(rest[:2]) if rest[:1] == ["CREATE"] else (rest[0] if rest else "")
            return "UTILITY", "SHOW_" + ("DATABASES" if kind == "SCHEMAS" else kind)
        return "UTILITY", "DESCRIBE_TABLE"
    if first in ("CREATE", "DROP", "ALTER", "MSCK", "OPTIMIZE"):
        if first == "CREATE" and re.search(r"\bAS\s*\(?\s*(SELECT|WITH)\b", text, re.IGNORECASE):
            return "DDL", "CREATE_TABLE_AS_SELECT"
        objects = [w for w in words[1:] if w not in ("EXTERNAL", "OR", "REPLACE", "IF", "NOT", "EXISTS")]
        obj = "DATABASE" if objects[:1] == ["SCHEMA"] else (objects[0] if objects else "")
        return "DDL", f"{first}_{obj}" if first != "MSCK" else "MSCK_REPAIR_TABLE"
    return "UTILITY", first or "UNKNOWN"


#: A parameter value must be one literal: a number, a quoted string, a typed literal
#: (``DATE '2024-01-01'``), TRUE, FALSE or NULL. Anything else could carry SQL.
_LITERAL_TOKENS = {TokenType.NUMBER, TokenType.STRING, TokenType.TRUE, TokenType.FALSE, TokenType.NULL}
_TYPED = {TokenType.DATE, TokenType.TIMESTAMP, TokenType.TIME, TokenType.DECIMAL, TokenType.INTERVAL}


def _is_literal(value: str) -> bool:
    try:
        tokens = Trino().tokenize(value)
    except TokenError:
        return False
    kinds = [t.token_type for t in tokens]
    if kinds[:1] == [TokenType.DASH]:
        kinds = kinds[1:]
    if len(kinds) == 1:
        return kinds[0] in _LITERAL_TOKENS
    return len(kinds) == 2 and kinds[0] in _TYPED and kinds[1] == TokenType.STRING


def bind(sql: str, parameters: list[str]) -> str:
    """``sql`` with each ``?`` replaced by the next of ``parameters`` (ExecutionParameters:
    each a SQL literal, as Athena takes them: ``'abc'``, ``42``, ``DATE '2024-01-01'``).

    >>> bind("SELECT * FROM t WHERE a = ? AND b = '?' AND c > ?", ["'x'", "3"])
    "SELECT * FROM t WHERE a = 'x' AND b = '?' AND c > 3"
    """
    try:
        tokens = Trino().tokenize(sql)
    except TokenError as error:
        raise SqlSyntaxError(str(error)) from None
    marks = [t for t in tokens if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
    if len(marks) != len(parameters):
        raise SqlSyntaxError(
            f"the query has {len(marks)} parameter{'s' if len(marks) != 1 else ''} (?) "
            f"and {len(parameters)} ExecutionParameters were given"
        )
    for value in parameters:
        if not _is_literal(value):
            raise SqlSyntaxError(f"ExecutionParameters value {value!r} is not one SQL literal ('text', 42, DATE '...')")
    bound, last = [], 0
    for mark, value in zip(marks, parameters, strict=True):
        bound += [sql[last : mark.start], value]
        last = mark.end + 1
    return "".join([*bound, sql[last:]])
