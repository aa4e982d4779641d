"""Engines that run plans (see :mod:`trailsql.engines.base` for what an engine is).

``create(name, ...)`` makes one by the name ``--engine`` gives; DuckDB is the default.
"""

from __future__ import annotations

from trailsql.engines.base import Engine
from trailsql.errors import UsageError

__all__ = ["DEFAULT", "NAMES", "Engine", "create"]

#: Every engine, by name; the first is the default.
NAMES = ("duckdb",)
DEFAULT = NAMES[0]


def create(name: str = DEFAULT, *, memory_limit: str | None = None) -> Engine:
    """An engine by name, confined to the files each plan reads.

    >>> create("presto")
    Traceback (most recent call last):
    ...
    trailsql.errors.UsageError: unknown engine 'presto': choose one of duckdb
    """
    if name == "duckdb":
        from trailsql.engines.duckdb import DuckDBEngine

        return DuckDBEngine(memory_limit=memory_limit, confined=True)
    raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(NAMES)}")
