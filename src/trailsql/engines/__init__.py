"""Engines that run a plan. DuckDB is the default; Spark and Athena come later."""
