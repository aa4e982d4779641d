"""The embedded engine: DuckDB with Trino's semantics (see :mod:`.engine`)."""

from trailsql.engines.duckdb.engine import DuckDBEngine

__all__ = ["DuckDBEngine"]
