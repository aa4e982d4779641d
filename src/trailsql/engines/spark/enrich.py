"""``ip_info`` on Spark: a Python UDF with a struct return type, over :mod:`trailsql.enrich`.

Spark runs Python UDFs in its own Python worker processes: the function sent there is this
module's :func:`_row` with the query's :class:`~trailsql.enrich.EnrichSources` (paths, not
loaded data), and each worker loads the data once (``enricher_for`` keeps it per process).
A cluster's workers therefore need trailsql installed and the data files at the same paths.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from trailsql.enrich import FIELDS, FUNCTION, EnrichSources, enricher_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _row(sources: EnrichSources | None, value: str | None) -> tuple[str | int | None, ...] | None:
    return enricher_for(sources).row(value)


def register(spark: SparkSession, sources: EnrichSources | None) -> None:
    """Make ``ip_info`` a function of ``spark``'s SQL, reading the data of ``sources``."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType([StructField(name, LongType() if sql == "BIGINT" else StringType()) for name, sql in FIELDS])
    # (a row at a time, pickled: Arrow batches would need pandas in the workers)
    spark.udf.register(FUNCTION, udf(functools.partial(_row, sources), schema, useArrow=False))
