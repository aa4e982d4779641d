"""Parsing Athena SQL with sqlglot, with errors that point at the line and column."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

from trailsql.errors import SqlSyntaxError

DIALECT = "athena"

#: What a statement may be; anything else (``SELEC x`` parses as an alias) is a syntax error.
STATEMENTS = (
    exp.Query,
    exp.Values,
    exp.DDL,
    exp.Drop,
    exp.Command,
    exp.Describe,
    exp.Show,
    exp.Insert,
    exp.Delete,
    exp.Update,
    exp.Merge,
    exp.Alter,
    exp.Use,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
)

_TOKEN = re.compile(
    r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>"
)


def _readable(message: str) -> str:
    """sqlglot's token reprs as plain words: ``end of input`` or ``'FROM'``."""
    message = _TOKEN.sub(lambda m: "end of input" if m.group(1) == "SENTINEL" else f"'{m.group(2)}'", message)
    return re.sub(r"<class 'sqlglot\.[\w.]*\.(\w+)'>", r"\1", message)


def _advance(line: int, col: int, text: str) -> tuple[int, int]:
    """The position after ``text``, starting from ``line``, ``col``."""
    if "\n" in text:
        return line + text.count("\n"), len(text) - text.rfind("\n")
    return line, col + len(text)


def _closing(sql: str, i: int) -> int:
    """The index just past the end of the quoted text or comment starting at ``i`` (-1: none)."""
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end == -1 else end
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return -1 if end == -1 else end + 2
    quote, j = sql[i], i + 1
    while j < len(sql):
        if sql[j] == quote and sql[j + 1 : j + 2] == quote:
            j += 2
        elif sql[j] == quote:
            return j + 1
        else:
            j += 1
    return -1


def _unterminated(sql: str) -> tuple[int, int] | None:
    """Line and column (1-based) of a quote or comment that is never closed."""
    i, line, col = 0, 1, 1
    while i < len(sql):
        if sql[i] in "'\"`" or sql.startswith(("--", "/*"), i):
            end = _closing(sql, i)
            if end == -1:
                return line, col
        else:
            end = i + 1
        line, col = _advance(line, col, sql[i:end])
        i = end
    return None


def parse(sql: str) -> list[exp.Expr]:
    """Every statement in ``sql``; a syntax error names its line and column."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        message = _readable(first.get("description") or str(error))
        if first.get("highlight"):
            message += f" (near '{first['highlight']}')"
        raise SqlSyntaxError(message, first.get("line"), first.get("col")) from None
    except TokenError:
        where = _unterminated(sql)
        raise SqlSyntaxError("unterminated quoted string or comment", *(where or (None, None))) from None
    _refuse_adjacent_strings(sql)
    for statement in statements:
        if not isinstance(statement, STATEMENTS):
            word = statement.sql(DIALECT).split()[0] if statement.sql(DIALECT) else "?"
            line, col = _position_of(sql, word)
            raise SqlSyntaxError(f"expected a statement such as SELECT, found '{word}'", line, col)
    return statements


def _refuse_adjacent_strings(sql: str) -> None:
    """``'a' 'b'``: sqlglot joins adjacent string literals into one; Trino's grammar rejects them."""
    previous = None
    for token in sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql):
        if previous is not None and previous.token_type == token.token_type == TokenType.STRING:
            column = token.col - len(token.text) - 1
            raise SqlSyntaxError(f"mismatched input ''{token.text}'': two string literals in a row", token.line, column)
        previous = token


def _position_of(sql: str, word: str) -> tuple[int, int]:
    return _advance(1, 1, sql[: max(sql.find(word), 0)])


def parse_one(sql: str) -> exp.Expr:
    """The single statement in ``sql``."""
    statements = parse(sql)
    if len(statements) != 1:
        raise SqlSyntaxError(f"expected one statement, found {len(statements)}")
    return statements[0]
