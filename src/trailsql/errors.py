"""The errors trailsql raises. Each maps to an exit code of the CLI (see README) and has its
place in PEP 249's hierarchy, so DB-API code catches them as it catches any database's:
a syntax error or an unknown table is a ``ProgrammingError``, ``not supported`` a
``NotSupportedError``, a bad log file under ``strict`` a ``DataError``, a limit reached an
``OperationalError``.
"""

from __future__ import annotations

# --- PEP 249's exception classes, by their standard names -----------------------------------


class Warning(Exception):
    """Important warnings (PEP 249)."""


class Error(Exception):
    """The base of every error (PEP 249)."""


class InterfaceError(Error):
    """An error of the interface rather than the database (PEP 249)."""


class DatabaseError(Error):
    """An error of the database (PEP 249)."""


class DataError(DatabaseError):
    """A problem with the data processed (PEP 249)."""


class OperationalError(DatabaseError):
    """An error of the database's operation, not the programmer's: a limit, a resource (PEP 249)."""


class IntegrityError(DatabaseError):
    """Relational integrity affected (PEP 249; trailsql has no constraints)."""


class InternalError(DatabaseError):
    """An internal error of the database (PEP 249)."""


class ProgrammingError(DatabaseError):
    """A programming error: bad SQL, an unknown table (PEP 249)."""


# --- trailsql's own errors -----------------------------------------------------------------


class TrailsqlError(DatabaseError):
    """Any error of a query or a command: exit code 1."""

    exit_code = 1


class SqlSyntaxError(TrailsqlError, ProgrammingError):
    """SQL that does not parse, with the position of the fault (1-based)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"syntax error: {where}{message}")


class NotSupportedError(TrailsqlError):
    """A construct trailsql cannot run with Athena's exact semantics (PEP 249's NotSupportedError).

    We fail rather than return an answer that might differ from Athena's.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"not supported: {what}")


class AccessDeniedError(TrailsqlError, ProgrammingError):
    """A statement a locked-down session (``trailsql serve``, ``query --safe``) does not run:
    a write when read-only, DuckDB's own statements, a location outside the allowed ones.
    The server answers it as Athena's ``PERMISSION_DENIED``."""

    def __init__(self, what: str) -> None:
        self.what = what.removeprefix("not allowed: ")
        super().__init__(f"not allowed: {self.what}")


class SemanticError(TrailsqlError, ProgrammingError):
    """A statement Athena's analyser rejects (an operator with no such argument types, a bad literal)."""


class LimitError(TrailsqlError, OperationalError):
    """A statement beyond a documented limit (nesting depth): refused with the limit, not a traceback."""


class SourceError(TrailsqlError, OperationalError):
    """A store of logs that cannot be reached or read: S3 unreachable, credentials refused,
    access denied, no such bucket (an error of the environment, not of the SQL)."""


class CatalogError(TrailsqlError, ProgrammingError):
    """A table, view or location that does not exist or cannot be created."""


class BadInputError(TrailsqlError, DataError):
    """A log file that cannot be read, raised instead of skipping it under ``strict``."""


class UsageError(TrailsqlError, InterfaceError):
    """Wrong arguments to a command: exit code 2."""

    exit_code = 2


class EmptyAnswer(TrailsqlError):
    """Under ``--fail-empty``: the statement read no log file (no folder of its window or
    partitions holds one), so its empty answer says nothing: exit code 4."""

    exit_code = 4


class CancelledError(TrailsqlError, OperationalError):
    """A query stopped on request from another thread (the Athena API's StopQueryExecution)."""
