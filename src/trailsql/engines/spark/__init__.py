"""The Spark engine: the same plans on Apache Spark, local or a cluster (PySpark, an extra)."""

from trailsql.engines.spark.engine import SparkEngine

__all__ = ["SparkEngine"]
