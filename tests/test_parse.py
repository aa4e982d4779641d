"""Syntax errors name the line and column of the fault."""

from __future__ import annotations

import pytest

from trailsql.errors import SqlSyntaxError
from trailsql.sql.parse import parse


@pytest.mark.parametrize(
    ("sql", "line", "column"),
    [
        ("SELEC x", 1, 1),
        ("  \n SELEC x", 2, 2),
        ("SELECT 'abc", 1, 8),
        ('SELECT 1;\n  SELECT "a', 2, 10),
        ("SELECT 'it''s' -- a comment\n, 'x", 2, 3),
        ("SELECT /* a\n b */ 'q", 2, 7),
        ("SELECT a\nFROM t\nWHERE x = = 1", 3, 11),
        ("SELECT 1 FROM", 1, 13),
    ],
)
def test_syntax_error_position(sql: str, line: int, column: int) -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        parse(sql)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"syntax error: line {line}, column {column}: ")
    assert "<Token" not in str(caught.value) and "<class" not in str(caught.value)


def test_adjacent_string_literals_are_a_syntax_error_as_in_trino() -> None:
    with pytest.raises(SqlSyntaxError) as caught:
        parse("SELECT 1 WHERE x IN ('a' 'b', 'c')")
    assert (caught.value.line, caught.value.column) == (1, 26)
