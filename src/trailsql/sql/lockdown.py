"""A locked-down SQL surface: what a client of ``trailsql serve`` (or ``trailsql query --safe``)
may run.

A server must not let its clients read or write the machine. Queries may read the workspace's
tables and views only: the planner already refuses table functions and DuckDB's file, SQL-text
and settings functions (:func:`~trailsql.sql.planner.refuse_engine_access`, run here too on the
query with its views expanded, so a refusal comes before anything runs) and answers
``TABLE_NOT_FOUND`` for any other name (``FROM '/etc/passwd'``). What this module adds is the
statement kinds: an allowlist, not a denylist, since DuckDB's statements (``COPY``, ``ATTACH``,
``INSTALL``, ``SET``, ``PRAGMA``...) and sqlglot's catch-all :class:`~sqlglot.exp.Command` keep
growing. Reading statements always run; catalog DDL runs only under ``[serve] allow_ddl = true``,
and then every location it names must fall under ``[serve] allowed_locations``.

>>> from trailsql.catalog.workspace import Workspace
>>> from trailsql.sql.parse import parse_one
>>> Lockdown().check(parse_one("SELECT eventname FROM cloudtrail_logs"), Workspace())
>>> Lockdown().check(parse_one("DROP TABLE cloudtrail_logs"), Workspace())
Traceback (most recent call last):
...
trailsql.errors.AccessDeniedError: not allowed: DROP TABLE: this server is read-only ([serve] allow_ddl = true allows DDL)
"""

from __future__ import annotations

import itertools
import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

from trailsql.catalog.table import Table
from trailsql.catalog.workspace import Workspace
from trailsql.errors import AccessDeniedError, UsageError
from trailsql.sql.parse import DIALECT
from trailsql.sql.planner import expand_views, refuse_engine_access

#: What a refused write says: the server is read-only, and how to change that.
READ_ONLY = "this server is read-only ([serve] allow_ddl = true allows DDL)"
#: What a statement of a kind never allowed says.
NEVER = "only queries, SHOW and DESCRIBE (and catalog DDL under [serve] allow_ddl) run here"

#: The catalog statements ``allow_ddl`` allows (trailsql's own DDL, answered from the workspace).
_DDL = frozenset({"CREATE TABLE", "CREATE EXTERNAL TABLE", "CREATE VIEW", "DROP TABLE", "DROP VIEW", "ALTER TABLE"})
#: Statements that write: refused as "read-only" without ``allow_ddl``; with it, those not in
#: :data:`_DDL` (data is never written) are refused as never allowed.
_WRITES = frozenset({"CREATE TABLE AS SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "MSCK REPAIR TABLE"})
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: A command's location as :mod:`trailsql.catalog.statements` reads it (``LOCATION '...'``).
_COMMAND_LOCATION = re.compile(r"LOCATION\s*'([^']*)'", re.IGNORECASE)
_COMMAND_TABLE = re.compile(
    r"\bTABLE\s+((?:`[^`]*`|\"[^\"]*\"|[^\s.`\"()]+)(?:\.(?:`[^`]*`|\"[^\"]*\"|[^\s.`\"()]+))*)", re.I
)


@dataclass(frozen=True)
class Lockdown:
    """What a locked-down session lets its statements do (see the module's docstring).

    ``allowed_locations`` are prefixes: ``s3://bucket/prefix/`` or absolute local folders,
    compared on path segments (``/data/logs2`` is not under ``/data/logs``).

    >>> Lockdown.from_config({"allow_ddl": True, "allowed_locations": ["s3://logs/AWSLogs/"]})
    Lockdown(allow_ddl=True, allowed_locations=('s3://logs/AWSLogs/',))
    """

    allow_ddl: bool = False
    allowed_locations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.allow_ddl, bool):
            raise UsageError(f"[serve] allow_ddl must be true or false, not {self.allow_ddl!r}")
        for prefix in self.allowed_locations:
            if not isinstance(prefix, str) or _normal(prefix) is None:
                raise UsageError(
                    f"[serve] allowed_locations: {prefix!r} is neither an s3://bucket/prefix nor an absolute folder"
                )

    @classmethod
    def from_config(cls, serve: Mapping[str, Any]) -> Lockdown:
        """The lockdown of a workspace's ``[serve]`` table (``allow_ddl``, ``allowed_locations``)."""
        allow_ddl = serve.get("allow_ddl", False)
        if not isinstance(allow_ddl, bool):
            raise UsageError(f"[serve] allow_ddl must be true or false, not {allow_ddl!r}")
        locations = serve.get("allowed_locations", [])
        if isinstance(locations, str) or not isinstance(locations, (list, tuple)):
            raise UsageError(f"[serve] allowed_locations must be a list of prefixes, not {locations!r}")
        return cls(allow_ddl=allow_ddl, allowed_locations=tuple(locations))

    def check(self, statement: exp.Expr, workspace: Workspace) -> None:
        """Refuse ``statement`` (raise :class:`~trailsql.errors.AccessDeniedError`, or the
        planner's ``NotSupportedError``) unless it may run here."""
        kind = statement_kind(statement)
        if isinstance(statement, (exp.Query, exp.Values)):
            _refuse_in_query(expand_views(statement.copy(), _Catalog(workspace)))
            return
        if (kind == "DESCRIBE" and isinstance(statement.this, exp.Table)) or kind.startswith("SHOW"):
            return
        if kind not in _DDL and kind not in _WRITES:
            raise AccessDeniedError(f"{kind}: {NEVER}")
        if not self.allow_ddl:
            raise AccessDeniedError(f"{kind}: {READ_ONLY}")
        if kind in _WRITES and kind != "MSCK REPAIR TABLE":
            raise AccessDeniedError(f"{kind}: {NEVER} (trailsql writes no data)")
        if kind == "CREATE VIEW" and isinstance(statement.expression, exp.Query):
            _refuse_in_query(expand_views(statement.expression.copy(), _Catalog(workspace)))
        for location in _locations(statement):
            self.check_location(location)
        for template in _templates(statement):
            self.check_template(template)
        table = workspace.tables.get(_target(statement) or "")
        if table is not None and kind in ("ALTER TABLE", "MSCK REPAIR TABLE"):
            self.check_table(table)  # (partitions with no LOCATION of their own are under the table's)

    def check_table(self, table: Table) -> None:
        """A table whose partitions a statement adds must lie under the allowed locations."""
        self.check_location(table.location)
        template = table.properties.get("storage.location.template")
        if template:
            self.check_template(template)

    def check_template(self, template: str) -> None:
        """A projection's ``storage.location.template``: its text, and no placeholder that a value
        (``.``, a date format's) could turn into a ``..`` segment.

        >>> Lockdown(True, ("/logs",)).check_template("/logs/.${day}/x")
        Traceback (most recent call last):
        ...
        trailsql.errors.AccessDeniedError: not allowed: storage.location.template '/logs/.${day}/x': a placeholder next to '.' may make a '..' segment
        """
        for segment in template.split("/"):
            rest = _PLACEHOLDER.sub("", segment)
            pieces = len(_PLACEHOLDER.findall(segment)) + len(rest)
            if _PLACEHOLDER.search(segment) and set(rest) <= {"."} and pieces >= 2:
                raise AccessDeniedError(
                    f"storage.location.template '{template}': a placeholder next to '.' may make a '..' segment"
                )
        self.check_location(_PLACEHOLDER.sub("x", template))

    def check_location(self, location: str) -> None:
        """A location DDL names must fall under one of :attr:`allowed_locations`.

        >>> Lockdown(True, ("/data/logs",)).check_location("/data/logs/../../etc")
        Traceback (most recent call last):
        ...
        trailsql.errors.AccessDeniedError: not allowed: LOCATION '/data/logs/../../etc': not under [serve] allowed_locations (/data/logs)
        """
        normal = _normal(location)
        if normal is None:
            raise AccessDeniedError(
                f"LOCATION '{location}': a location is an s3://bucket/prefix or an absolute local folder"
            )
        if not self.allowed_locations:
            raise AccessDeniedError(f"LOCATION '{location}': [serve] allowed_locations must list a prefix holding it")
        if not any(_under(normal, allowed) for allowed in (_normal(p) for p in self.allowed_locations) if allowed):
            raise AccessDeniedError(
                f"LOCATION '{location}': not under [serve] allowed_locations ({', '.join(self.allowed_locations)})"
            )


#: Statements sqlglot takes inside a query (``WITH x AS (INSERT ... RETURNING *)``, ``SELECT ...
#: INTO t``): a query only reads.
_NOT_IN_QUERIES = (exp.DML, exp.DDL, exp.Drop, exp.Alter, exp.Command, exp.Into, exp.Set, exp.Use, exp.Describe)


def _refuse_in_query(tree: exp.Expr) -> None:
    """A query (its views expanded) that reads only: no statement inside it, no engine access.

    >>> from trailsql.sql.parse import parse_one
    >>> _refuse_in_query(parse_one("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"))
    Traceback (most recent call last):
    ...
    trailsql.errors.AccessDeniedError: not allowed: DELETE inside a query: a query only reads
    """
    for node in tree.walk():
        if isinstance(node, _NOT_IN_QUERIES):
            raise AccessDeniedError(f"{node.key.upper()} inside a query: a query only reads")
    refuse_engine_access(tree)


def statement_kind(statement: exp.Expr) -> str:
    """What a statement is, in words: ``SELECT``, ``CREATE EXTERNAL TABLE``, ``MSCK REPAIR TABLE``...

    >>> from trailsql.sql.parse import parse_one
    >>> statement_kind(parse_one("ALTER TABLE t ADD IF NOT EXISTS PARTITION (a='1') PARTITION (a='2')"))
    'ALTER TABLE'
    """
    if isinstance(statement, exp.Command):
        name = statement.name.upper()
        words = [name, *_command_text(statement).upper().split()[:2]]
        if name in ("MSCK", "MSCK REPAIR"):
            return "MSCK REPAIR TABLE"
        if name in ("ALTER", "CREATE", "DROP", "SHOW") and len(words) > 1:
            return f"{name} {words[1]}"
        return name
    if isinstance(statement, exp.Create):
        kind = (statement.kind or "").upper()
        if kind == "TABLE" and isinstance(statement.expression, exp.Query):
            return "CREATE TABLE AS SELECT"
        external = kind == "TABLE" and statement.find(exp.ExternalProperty) is not None
        return f"CREATE {'EXTERNAL ' if external else ''}{kind}".strip()
    if isinstance(statement, (exp.Drop, exp.Alter)):
        return f"{statement.key.upper()} {(statement.args.get('kind') or '').upper()}".strip()
    if isinstance(statement, exp.Query):
        return "SELECT"
    return statement.key.upper()


class _Catalog:
    """The workspace's tables and views as the planner's :class:`~trailsql.sql.planner.Catalog`
    (views are expanded to be checked; a name that is neither is the planner's to refuse)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def table(self, name: str) -> Table | None:
        return self.workspace.tables.get(name)

    def view(self, name: str) -> str | None:
        return self.workspace.views.get(name)

    def names(self) -> list[str]:
        return sorted({*self.workspace.tables, *self.workspace.views})


def _command_text(statement: exp.Command) -> str:
    rest = statement.expression
    if isinstance(rest, exp.Expr):
        return rest.name if isinstance(rest, exp.Literal) else rest.sql(DIALECT)
    return str(rest or "")


def _locations(statement: exp.Expr) -> Iterator[str]:
    """Every location a statement names: ``LOCATION``, a partition's, ``SET LOCATION``; in a
    command (sqlglot's unparsed statements), each string after ``LOCATION`` as the tokenizer
    and as :mod:`trailsql.catalog.statements` read it."""
    if isinstance(statement, exp.Command):
        text = _command_text(statement)
        yield from _COMMAND_LOCATION.findall(text)
        try:
            tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
        except TokenError:
            raise AccessDeniedError(f"{statement_kind(statement)}: a statement that does not tokenize") from None
        for before, token in itertools.pairwise(tokens):
            if before.text.upper() == "LOCATION":
                if token.token_type != TokenType.STRING:
                    raise AccessDeniedError(f"LOCATION {token.text}: a location is a string literal")
                yield token.text
        return
    for node in statement.walk():
        location = node.this if isinstance(node, exp.LocationProperty) else node.args.get("location")
        if isinstance(location, exp.LocationProperty):
            continue  # (its own node comes in the walk)
        if isinstance(location, exp.Expr):  # (some nodes keep a flag of that name)
            if not (isinstance(location, exp.Literal) and location.is_string):
                raise AccessDeniedError(f"LOCATION {location.sql(DIALECT)}: a location is a string literal")
            yield location.name


def _templates(statement: exp.Expr) -> Iterator[str]:
    """The ``storage.location.template`` a statement's properties give (and no date format
    with ``..``, whose values would fill a template with parent folders)."""
    for prop in statement.find_all(exp.Property):
        key = prop.this.name.lower() if isinstance(prop.this, exp.Literal) else ""
        value = prop.args.get("value")
        text = value.name if isinstance(value, exp.Expr) else str(value or "")
        if key == "storage.location.template":
            yield text
        elif key.startswith("projection.") and ".." in text:
            raise AccessDeniedError(f"TBLPROPERTIES '{key}'='{text}': a projection value may not hold '..'")


def _target(statement: exp.Expr) -> str | None:
    """The (lower-case) name of the table an ALTER TABLE or MSCK REPAIR TABLE names."""
    if isinstance(statement, exp.Alter) and isinstance(statement.this, exp.Table):
        return statement.this.name.lower()
    if isinstance(statement, exp.Command):
        match = _COMMAND_TABLE.search(f"{statement.name} {_command_text(statement)}")
        if match:
            return re.split(r"\.(?=[^.]*$)", match.group(1))[-1].strip('`"').lower()
    return None


def _normal(location: str) -> str | None:
    """A location normalised for comparison: ``s3://bucket/key`` with ``.``/``..`` segments
    resolved, or an absolute local path (symbolic links resolved); None for anything else
    (``file://``, another scheme, a relative path, a NUL).

    >>> _normal("s3://Bucket/a/./b/../c/"), _normal("file:///etc"), _normal("logs")
    ('s3://bucket/a/c/', None, None)
    """
    if "\x00" in location:
        return None
    if location[:5].lower() == "s3://":
        bucket, _, key = location[5:].partition("/")
        if not bucket or "\\" in location:
            return None
        path = posixpath.normpath("/" + key) if key else "/"
        return f"s3://{bucket.lower()}{path.rstrip('/')}/"
    if _SCHEME.match(location) or not os.path.isabs(location):
        return None
    return os.path.realpath(location).rstrip("/") + "/"


def _under(location: str, prefix: str) -> bool:
    """Whether a normalised location lies under a normalised prefix, segment by segment."""
    if location.startswith("s3://") != prefix.startswith("s3://"):
        return False
    if location.startswith("s3://"):
        return location.startswith(prefix)  # (both end with "/": a segment boundary)
    parts, base = PurePosixPath(location).parts, PurePosixPath(prefix).parts
    return parts[: len(base)] == base
