"""Engines that run plans (see :mod:`trailsql.engines.base` for what an engine is).

``create(name, ...)`` makes one by the name ``--engine`` gives; DuckDB is the default.
Spark (:mod:`trailsql.engines.spark`, PySpark an optional extra) runs the same plans on a
local Spark or a cluster; Athena (:mod:`trailsql.engines.athena`) sends them to Amazon
Athena's own tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailsql.engines.base import Engine
from trailsql.errors import UsageError

__all__ = ["DEFAULT", "NAMES", "Engine", "create"]

#: Every engine, by name; the first is the default.
NAMES = ("duckdb", "spark", "athena")
DEFAULT = NAMES[0]


def create(name: str = DEFAULT, *, memory_limit: str | None = None, options: Mapping[str, Any] | None = None) -> Engine:
    """An engine by name, confined to the files each plan reads.

    ``options`` are the engine's settings (the workspace's ``[engine]`` or ``[athena]``
    table, over which the caller's win): Spark's ``master`` and ``conf``; Athena's
    ``workgroup``, ``output``, ``database``, ``catalog``, ``region`` and ``profile``; DuckDB's
    and Spark's ``enrich`` (the data of ``ip_info``, :class:`trailsql.enrich.EnrichSources`).

    >>> create("presto")
    Traceback (most recent call last):
    ...
    trailsql.errors.UsageError: unknown engine 'presto': choose one of duckdb, spark, athena
    """
    options = options or {}
    if name == "duckdb":
        from trailsql.engines.duckdb import DuckDBEngine

        return DuckDBEngine(memory_limit=memory_limit, confined=True, enrich=options.get("enrich"))
    if name == "spark":
        from trailsql.engines.spark import SparkEngine

        return SparkEngine(
            master=options.get("master"),
            conf=options.get("conf"),
            memory_limit=memory_limit,
            enrich=options.get("enrich"),
        )
    if name == "athena":
        from trailsql.engines.athena import AthenaEngine

        return AthenaEngine(**{k: v for k, v in options.items() if k in AthenaEngine.OPTIONS})
    raise UsageError(f"unknown engine {name!r}: choose one of {', '.join(NAMES)}")
