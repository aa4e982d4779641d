"""A SQLAlchemy dialect over :mod:`trailsql.dbapi`, for ``pandas.read_sql``, JupySQL and the like.

``trailsql:///?logs=/path/to/logs&workspace=/path/to/ws`` (``logs`` may be ``s3://...``),
or the logs folder as the URL's database, as SQLite spells a file: ``trailsql:///logs``
(relative), ``trailsql:////var/logs`` (absolute). ``timeout`` (seconds) and
``memory_limit`` (``4GB``) bound each query, as in :func:`trailsql.dbapi.connect`.
Registered as the ``trailsql`` dialect through the ``sqlalchemy.dialects`` entry point;
needs the ``sqlalchemy`` extra (``pip install 'trailsql[sqlalchemy]'``).

>>> from sqlalchemy import make_url
>>> TrailsqlDialect().create_connect_args(make_url("trailsql:///?logs=/l&workspace=/w&timeout=30"))
([], {'logs': '/l', 'workspace': '/w', 'timeout': 30.0})
>>> TrailsqlDialect().create_connect_args(make_url("trailsql:////var/logs"))
([], {'logs': '/var/logs'})
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.engine import URL, Connection
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext, ReflectedColumn

from trailsql import schema
from trailsql.catalog.table import DEFAULT_TABLE
from trailsql.dbapi import Connection as TrailsqlConnection

__all__ = ["TrailsqlDialect"]

#: Athena's type names (as DESCRIBE prints them) that have a SQLAlchemy type; nested
#: types (struct, array, map) and any other are NullType: values pass through untouched.
_TYPES: dict[str, type[sqltypes.TypeEngine[Any]]] = {
    "string": sqltypes.String,
    "varchar": sqltypes.String,
    "char": sqltypes.String,
    "boolean": sqltypes.Boolean,
    "tinyint": sqltypes.SmallInteger,
    "smallint": sqltypes.SmallInteger,
    "int": sqltypes.Integer,
    "integer": sqltypes.Integer,
    "bigint": sqltypes.BigInteger,
    "float": sqltypes.Float,
    "double": sqltypes.Float,
    "decimal": sqltypes.Numeric,
    "date": sqltypes.Date,
    "timestamp": sqltypes.DateTime,
    "binary": sqltypes.LargeBinary,
}


def column_type(athena: str) -> sqltypes.TypeEngine[Any]:
    """The SQLAlchemy type of an Athena type name.

    >>> column_type("varchar(20)"), column_type("struct<arn:string>")
    (String(), NullType())
    """
    found = _TYPES.get(re.split(r"[(<]", athena.strip().lower(), maxsplit=1)[0])
    return found() if found is not None else sqltypes.NullType()


class TrailsqlDialect(DefaultDialect):
    """Queries go to trailsql unchanged (Athena SQL); reflection reads its catalog."""

    name = "trailsql"
    driver = "trailsql"
    default_paramstyle = "pyformat"
    supports_statement_cache = True
    supports_native_boolean = True
    supports_alter = False
    supports_sequences = False
    supports_schemas = False

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        from trailsql import dbapi

        return dbapi

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        query = dict(url.query)
        kwargs: dict[str, Any] = {}
        logs = query.pop("logs", None) or url.database
        if logs:
            kwargs["logs"] = logs
        for name in ("workspace", "memory_limit"):
            if name in query:
                kwargs[name] = query.pop(name)
        if "timeout" in query:
            kwargs["timeout"] = float(str(query.pop("timeout")))
        if query:
            raise ValueError(f"unknown trailsql URL parameters: {', '.join(sorted(query))}")
        return [], kwargs

    def do_execute(
        self, cursor: DBAPICursor, statement: str, parameters: Any, context: ExecutionContext | None = None
    ) -> None:
        # SQLAlchemy hands driver SQL without parameters (pandas.read_sql("... LIKE 'a%'"))
        # an empty dict; formatting with it would read the SQL's own % as placeholders.
        # Compiled statements double their %, so they are formatted even without parameters.
        if not parameters and (context is None or context.compiled is None):
            cursor.execute(statement)
        else:
            cursor.execute(statement, parameters)

    def do_rollback(self, dbapi_connection: DBAPIConnection) -> None:
        """Nothing to roll back: queries are read-only (the pool rolls back each connection it takes back)."""

    def get_isolation_level(self, dbapi_connection: DBAPIConnection) -> Any:
        raise NotImplementedError  # no transactions: initialize() then records no level

    def _get_server_version_info(self, connection: Connection) -> tuple[int, ...]:
        from trailsql import __version__

        return tuple(int(p) for p in __version__.split(".") if p.isdigit())

    def _get_default_schema_name(self, connection: Connection) -> str:
        return "default"

    def get_schema_names(self, connection: Connection, **kw: Any) -> list[str]:
        return ["default"]

    def get_table_names(self, connection: Connection, schema: str | None = None, **kw: Any) -> list[str]:
        names = [row[0] for row in connection.exec_driver_sql("SHOW TABLES")]
        # SHOW TABLES lists the workspace's tables; the default one over --logs is not among them.
        if DEFAULT_TABLE not in names and _session(connection).table(DEFAULT_TABLE) is not None:
            names.append(DEFAULT_TABLE)
        return sorted(names)

    def get_view_names(self, connection: Connection, schema: str | None = None, **kw: Any) -> list[str]:
        return [row[0] for row in connection.exec_driver_sql("SHOW VIEWS")]

    def has_table(self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any) -> bool:
        return _session(connection).table(table_name) is not None

    def get_columns(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        if table_name.lower() == DEFAULT_TABLE and table_name.lower() not in _session(connection).workspace.tables:
            described = _default_columns(connection)  # DESCRIBE knows only the workspace's tables
        else:
            described = _described(connection, table_name)
        return [{"name": name, "type": column_type(typ), "nullable": True, "default": None} for name, typ in described]

    def get_pk_constraint(self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any) -> Any:
        return {"constrained_columns": [], "name": None}

    def get_foreign_keys(
        self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[Any]:
        return []

    def get_indexes(self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any) -> list[Any]:
        return []


def _session(connection: Connection) -> Any:
    """The trailsql session behind a SQLAlchemy connection."""
    dbapi_connection = connection.connection.dbapi_connection
    assert isinstance(dbapi_connection, TrailsqlConnection)
    return dbapi_connection.session


def _described(connection: Connection, table_name: str) -> list[tuple[str, str]]:
    """(name, Athena type) of a table's data and partition columns, from ``DESCRIBE``.

    DESCRIBE prints the partition columns again after a blank row and ``#`` headings.
    """
    rows = connection.exec_driver_sql(f'DESCRIBE "{table_name}"')
    return [(name, typ) for name, typ, *_ in rows if name and not name.startswith("#")]


def _default_columns(connection: Connection) -> list[tuple[str, str]]:
    """(name, Athena type) of the default table's columns, as DESCRIBE would print them."""
    table = _session(connection).table(DEFAULT_TABLE)
    if table is None:
        return []
    return [(n.lower(), schema.athena_type(t)) for n, t in table.columns] + [
        (n.lower(), t.lower()) for n, t in table.partitions
    ]
