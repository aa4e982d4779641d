"""The errors trailsql raises. Each maps to an exit code of the CLI (see README)."""

from __future__ import annotations


class TrailsqlError(Exception):
    """Any error of a query or a command: exit code 1."""

    exit_code = 1


class SqlSyntaxError(TrailsqlError):
    """SQL that does not parse, with the position of the fault (1-based)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"syntax error: {where}{message}")


class NotSupportedError(TrailsqlError):
    """A construct trailsql cannot run with Athena's exact semantics.

    We fail rather than return an answer that might differ from Athena's.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"not supported: {what}")


class SemanticError(TrailsqlError):
    """A statement Athena's analyser rejects (an operator with no such argument types, a bad literal)."""


class LimitError(TrailsqlError):
    """A statement beyond a documented limit (nesting depth): refused with the limit, not a traceback."""


class CatalogError(TrailsqlError):
    """A table, view or location that does not exist or cannot be created."""


class BadInputError(TrailsqlError):
    """A log file that cannot be read, raised instead of skipping it under ``strict``."""


class UsageError(TrailsqlError):
    """Wrong arguments to a command: exit code 2."""

    exit_code = 2


class EmptyAnswer(TrailsqlError):
    """Under ``--fail-empty``: the statement read no log file (no folder of its window or
    partitions holds one), so its empty answer says nothing: exit code 4."""

    exit_code = 4
