"""A DB-API 2.0 (PEP 249) interface, shaped like PyAthena's.

>>> from trailsql.dbapi import format_sql
>>> format_sql("SELECT * FROM t WHERE a = %(user)s AND n > %(n)s", {"user": "o'brien", "n": 3})
"SELECT * FROM t WHERE a = 'o''brien' AND n > 3"
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trailsql.errors import (
    CatalogError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from trailsql.session import Result, Session

if TYPE_CHECKING:
    import pandas

    from trailsql.engines.base import Engine

apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"

__all__ = [
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "connect",
    "format_sql",
]

Params = Mapping[str, Any] | Sequence[Any] | None


def sql_literal(value: Any) -> str:
    """A Python value as an Athena SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(sql_literal(v) for v in value) + ")"
    return "'" + str(value).replace("'", "''") + "'"


def format_sql(operation: str, parameters: Params = None) -> str:
    """``operation`` with pyformat parameters (``%(name)s``) replaced by SQL literals."""
    if parameters is None:
        return operation
    if isinstance(parameters, Mapping):
        return operation % {k: sql_literal(v) for k, v in parameters.items()}
    return operation % tuple(sql_literal(v) for v in parameters)


class Cursor:
    """A cursor over one statement's result at a time."""

    arraysize = 1000

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._result: Result | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._position = 0

    @property
    def description(self) -> list[tuple[str, str, None, None, None, None, None]] | None:
        if self._result is None:
            return None
        return [(f.name, str(f.type), None, None, None, None, None) for f in self._result.table.schema]

    @property
    def rowcount(self) -> int:
        return -1 if self._result is None else self._result.table.num_rows

    @property
    def stats(self) -> dict[str, object] | None:
        """What the last query read (files, bytes, events), as ``--stats`` prints it."""
        return None if self._result is None else self._result.stats.as_dict()

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        self._result = self.connection.session.execute(format_sql(operation, parameters))
        table = self._result.table
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        self._rows = list(zip(*columns, strict=True)) if columns else []
        self._position = 0
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Params]) -> None:
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._position >= len(self._rows):
            return None
        self._position += 1
        return self._rows[self._position - 1]

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = self.arraysize if size is None else size
        rows = self._rows[self._position : self._position + size]
        self._position += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._position :]
        self._position = len(self._rows)
        return rows

    def as_arrow(self) -> pa.Table:
        """The whole result of the last statement as an Arrow table."""
        if self._result is None:
            raise CatalogError("no statement executed")
        return self._result.table

    def as_pandas(self) -> pandas.DataFrame:
        """The whole result of the last statement as a pandas DataFrame."""
        return self.as_arrow().to_pandas()

    def setinputsizes(self, sizes: Any) -> None:
        """Part of PEP 249; nothing to do."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Part of PEP 249; nothing to do."""

    def close(self) -> None:
        self._result = None
        self._rows = []

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


class Connection:
    """A connection: a :class:`~trailsql.session.Session` behind PEP 249's methods."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:
        """Queries are read-only; DDL takes effect at once. Nothing to commit."""

    def rollback(self) -> None:
        raise NotSupportedError("transactions")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    logs: str | os.PathLike[str] | None = None,
    *,
    workspace: str | os.PathLike[str] | None = None,
    location_maps: dict[str, str] | None = None,
    strict: bool = False,
    event_data_stores: list[str] | None = None,
    s3: dict[str, Any] | None = None,
    timeout: float | None = None,
    memory_limit: str | None = None,
    engine: str | Engine | None = None,
    spark_master: str | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> Connection:
    """A DB-API 2.0 connection over CloudTrail logs (see :class:`~trailsql.session.Session`).

    ``logs`` may be a local folder or ``s3://bucket/prefix``; ``s3`` takes ``profile``,
    ``region``, ``endpoint_url``, ``no_cache``, ``cache_dir`` and ``cache_max_bytes``;
    ``timeout`` (seconds) and ``memory_limit`` (``"4GB"``) bound each query; ``engine``
    runs them (a name, ``"duckdb"`` by default, ``"spark"`` or ``"athena"``, or an
    :class:`~trailsql.engines.base.Engine`); ``spark_master`` is the Spark engine's master
    (``local[2]`` by default, ``spark://host:port``, ``sc://host:port``) and ``engine_options``
    the engine's other settings (see :func:`trailsql.engines.create`).
    """
    session = Session(
        logs,
        workspace=workspace,
        location_maps=location_maps,
        strict=strict,
        event_data_stores=event_data_stores,
        s3=s3,
        timeout=timeout,
        memory_limit=memory_limit,
        engine=engine,
        engine_options={**(engine_options or {}), **({"master": spark_master} if spark_master else {})},
    )
    return Connection(session)
