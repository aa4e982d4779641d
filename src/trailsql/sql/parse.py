"""Parsing Athena SQL with sqlglot, with errors that point at the line and column."""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType  # type: ignore[attr-defined]

from trailsql.errors import LimitError, SemanticError, SqlSyntaxError

DIALECT = "athena"

T = TypeVar("T")

# sqlglot warns through ``logging`` ("contains unsupported syntax. Falling back to parsing as a
# 'Command'"); such a statement is refused as not supported when it runs, so the warning is
# dropped here instead of reaching the user's stderr through logging's last-resort handler.
_SQLGLOT_LOG = logging.getLogger("sqlglot")
_SQLGLOT_LOG.addHandler(logging.NullHandler())
_SQLGLOT_LOG.propagate = False

#: The deepest nesting of parentheses (and brackets) a statement may have. Athena runs IOC
#: lists of thousands of ``OR`` terms and machine-written queries nest deeply; sqlglot
#: recurses once or more per level, so parsing, planning and printing run in a thread with
#: a stack and recursion limit sized for this depth (see :func:`run_deep`).
MAX_NESTING = 500
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 100_000
_DEEP = threading.Lock()
_DEEP_THREAD = "trailsql-deep"
_OPENING = {TokenType.L_PAREN, TokenType.L_BRACKET}
_CLOSING = {TokenType.R_PAREN, TokenType.R_BRACKET}

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


def run_deep(function: Callable[[], T]) -> T:
    """``function()`` run in a thread with a big stack and a raised recursion limit.

    sqlglot recurses per level of nesting (about 50 parentheses or 1,000 ``OR`` terms exhaust
    Python's default limit); the main thread's stack is too small to raise the limit safely,
    a thread's is ours to choose. The limit is process-wide, so it is raised only while the
    thread runs (one at a time) and restored after. Running out even so is a clean error.

    ``function`` is first run here, as most statements are shallow (a thread with a big stack
    costs a millisecond to start, and a query makes four such calls); only if it runs out of
    depth is it run again in the thread, so it must be safe to repeat: it reads, it does
    not change what it was given (the parser, the planner and the rewrites work on copies).
    """
    if threading.current_thread().name == _DEEP_THREAD:
        return function()  # already deep: a view's query parsed while planning
    try:
        return function()
    except RecursionError:
        pass  # deeply nested: again, where the stack is deep enough
    outcome: list[tuple[bool, object]] = []

    def target() -> None:
        try:
            outcome.append((True, function()))
        except RecursionError:
            outcome.append((False, LimitError(f"query too deeply nested: more than {MAX_NESTING} levels")))
        except BaseException as error:  # handed to the caller's thread as it is
            outcome.append((False, error))

    with _DEEP:
        previous_stack, previous_limit = threading.stack_size(_STACK_BYTES), sys.getrecursionlimit()
        sys.setrecursionlimit(max(previous_limit, _RECURSION_LIMIT))
        try:
            thread = threading.Thread(target=target, name=_DEEP_THREAD)
            thread.start()
            thread.join()
        finally:
            threading.stack_size(previous_stack)
            sys.setrecursionlimit(previous_limit)
    ok, value = outcome[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def parse(sql: str) -> list[exp.Expr]:
    """Every statement in ``sql``; a syntax error names its line and column."""
    if "\x00" in sql:
        raise SqlSyntaxError("a NUL character in the statement", *_advance(1, 1, sql[: sql.index("\x00")]))
    return run_deep(lambda: _parse(sql))


def _parse(sql: str) -> list[exp.Expr]:
    """:func:`parse`, in a thread deep enough for it."""
    _refuse_deep_nesting(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        message = _readable(first.get("description") or str(error))
        if first.get("highlight"):
            message += f" (near '{first['highlight']}')"
        column = first.get("col")
        # sqlglot names the last column of the token at fault: the editor wants its first. (At the
        # end of the input the fault is after the last token: its last column says so.)
        if column is not None and first.get("highlight") and "SENTINEL" not in str(first.get("description")):
            column = max(column - len(first["highlight"]) + 1, 1)
        raise SqlSyntaxError(message, first.get("line"), column) from None
    except TokenError:
        where = _unterminated(sql)
        raise SqlSyntaxError("unterminated quoted string or comment", *(where or (None, None))) from None
    tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    _refuse_adjacent_strings(tokens)
    _refuse_json_paths_without_root(tokens)
    for statement in statements:
        if not isinstance(statement, STATEMENTS):
            word = statement.sql(DIALECT).split()[0] if statement.sql(DIALECT) else "?"
            line, col = _position_of(sql, word)
            raise SqlSyntaxError(f"expected a statement such as SELECT, found '{word}'", line, col)
    return statements


def _refuse_deep_nesting(sql: str) -> None:
    """More than :data:`MAX_NESTING` open parentheses is refused before sqlglot recurses into them."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    except TokenError:
        return  # the parser names the unterminated quote
    depth = 0
    for token in tokens:
        depth += (token.token_type in _OPENING) - (token.token_type in _CLOSING)
        if depth > MAX_NESTING:
            raise LimitError(f"query too deeply nested: more than {MAX_NESTING} levels (line {token.line})")


def _refuse_adjacent_strings(tokens: list[Token]) -> None:
    """Token sequences sqlglot accepts and Trino's grammar rejects.

    ``'a' 'b'`` (sqlglot joins adjacent string literals), ``a , , b`` (sqlglot drops the empty
    item) and ``$$abc$$`` (a dollar-quoted string in PostgreSQL and DuckDB; Trino identifiers do
    not start with ``$``).
    """
    previous = None
    for token in tokens:
        column = _column(token)
        if previous is not None and previous.token_type == token.token_type == TokenType.STRING:
            raise SqlSyntaxError(
                f"mismatched input ''{token.text}'': two string literals in a row", token.line, column - 2
            )
        if previous is not None and previous.token_type == token.token_type == TokenType.COMMA:
            raise SqlSyntaxError("mismatched input ',': an empty item in a list", token.line, column)
        if token.token_type == TokenType.VAR and token.text.startswith("$"):
            raise SqlSyntaxError(f"token recognition error at: '{token.text[:20]}'", token.line, column)
        previous = token


#: Trino's functions that take a JSONPath as their second argument.
_JSON_PATH_FUNCTIONS = {"json_extract", "json_extract_scalar", "json_size"}


def _refuse_json_paths_without_root(tokens: list[Token]) -> None:
    """A literal JSONPath must start at ``$``: Trino refuses ``json_extract_scalar(j, 'a')``.

    sqlglot reads ``'a'`` as ``$.a`` while parsing, so the path is checked on the tokens:
    the string that is a whole second argument of one of :data:`_JSON_PATH_FUNCTIONS`.
    """
    for i, token in enumerate(tokens[:-1]):
        if token.text.lower() not in _JSON_PATH_FUNCTIONS or tokens[i + 1].token_type != TokenType.L_PAREN:
            continue
        depth, j = 0, i + 1
        while j < len(tokens):
            kind = tokens[j].token_type
            depth += (kind in _OPENING) - (kind in _CLOSING)
            if depth == 0 or (depth == 1 and kind == TokenType.COMMA):
                break
            j += 1
        path = tokens[j + 1 : j + 3] if j < len(tokens) and tokens[j].token_type == TokenType.COMMA else []
        if (
            len(path) == 2
            and path[0].token_type == TokenType.STRING
            and path[1].token_type in (TokenType.R_PAREN, TokenType.COMMA)
            and not path[0].text.startswith("$")
        ):
            where = f"line {path[0].line}:{_column(path[0]) - 2}"  # (at its opening quote)
            raise SemanticError(f"{where}: INVALID_FUNCTION_ARGUMENT: Invalid JSON path: '{path[0].text}'")


def _column(token: Token) -> int:
    """The 1-based column a token starts at (sqlglot gives the column of its last character)."""
    return token.col - len(token.text) + 1


def _position_of(sql: str, word: str) -> tuple[int, int]:
    return _advance(1, 1, sql[: max(sql.find(word), 0)])


def parse_one(sql: str) -> exp.Expr:
    """The single statement in ``sql``."""
    statements = parse(sql)
    if len(statements) != 1:
        raise SqlSyntaxError(f"expected one statement, found {len(statements)}")
    return statements[0]
