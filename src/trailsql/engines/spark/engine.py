"""The Spark engine: plans run on Apache Spark, in this process or on a cluster.

A plan's SQL is written in Spark's dialect with Trino's semantics by
:func:`~trailsql.engines.spark.transforms.to_spark`; each scan becomes a temporary view
over a DataFrame of its files, named as the plan names the scan.

Log files are read by Spark's JSON reader over exactly the files the planner listed
(never a glob of a whole bucket): one JSON document a file (``multiLine``) with a schema
of ``Records`` holding the scan's columns under CloudTrail's key spellings (the reader
matches keys case-sensitively), unwrapped by ``explode``. A per-file tally of the parsed
documents, cached so that the query reads them once, finds the bad files: a file Spark
skipped (unreadable, a truncated gzip) is missing from it, one it could not parse has a
corrupt record, one without events has no ``Records``. Files whose document Spark could
not parse as a whole (``Records`` holding a value that is not an object) are read again
with each element as its JSON text, and the objects among them kept, as Athena does.
Partition columns and ``"$path"`` come from a small table of the files, broadcast and
joined on the file name Spark gives each row (``_metadata.file_path``).

The lake's Parquet files are read directly, their columns cast to the table's types,
with the partition values and ``"$path"`` of the log files they came from: the rows the
log files would give.

Objects in S3 are read from trailsql's cache (the session fetches them first): the pip
PySpark has no S3 connector. A cluster on the same machine reads the cached copies too.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from trailsql.engines.base import Readable
from trailsql.engines.spark.context import DEFAULT_MASTER, spark_session
from trailsql.engines.spark.enrich import register as register_ip_info
from trailsql.engines.spark.errors import query_error
from trailsql.engines.spark.transforms import to_spark
from trailsql.enrich import EnrichSources, enricher_for, used_in
from trailsql.errors import BadInputError, CancelledError, LimitError, NotSupportedError
from trailsql.schema import PATH_COLUMN, RECORD_COLUMN, HiveType, Struct, default_columns, spark_type
from trailsql.sources.files import LakeRead, LogFile, ScanInput
from trailsql.sql.parse import run_deep
from trailsql.sql.planner import Scan
from trailsql.stats import EngineStats, Skipped

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from trailsql.sql.planner import Plan

#: The lake stores the default table's columns with these types (see :mod:`trailsql.lake.ingest`).
_LAKE_TYPES = {name.lower(): typ for name, typ in default_columns()}

#: The column Spark's JSON reader puts a document it cannot parse in.
_CORRUPT = "_corrupt_record"


@dataclass
class _Tally:
    """What the engine learnt of a scan's files: per file (as Spark names it), its events
    (None: no ``Records`` array), the ``Records`` elements that are not objects, whether
    Spark could not parse it."""

    events: dict[str, int | None] = field(default_factory=dict)
    not_objects: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    #: Per file (by its path), the name Spark gives it, to join its rows on.
    names: dict[str, str] = field(default_factory=dict)

    def seen(self, name: str) -> str:
        """The path of a file Spark names ``name``, noted."""
        path = _local_path(name)
        self.names[path] = name
        return path


class SparkEngine:
    """Runs plans on Spark: ``master`` is ``local[N]`` (the default ``local[2]``),
    ``spark://host:port`` or ``sc://host:port``; ``conf`` extra Spark settings;
    ``memory_limit`` the driver's memory (of a driver this process starts); ``enrich`` the
    data of ``ip_info`` (the workspace's ``[enrich]``; None: the kinds only)."""

    name = "spark"
    reads: frozenset[Readable] = frozenset({"files", "lake"})

    def __init__(
        self,
        *,
        master: str | None = None,
        conf: Mapping[str, Any] | None = None,
        memory_limit: str | None = None,
        enrich: EnrichSources | None = None,
    ) -> None:
        self.enrich = enrich
        self.master = master or DEFAULT_MASTER
        self.conf = dict(conf or {})
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        #: The running query's job tag and whether cancel() stopped it.
        self._tag: str | None = None
        self._cancelled = threading.Event()

    @property
    def spark(self) -> SparkSession:
        """The process's Spark session for this engine's master, started on first use (seconds:
        a JVM), and again if another engine's master replaced it."""
        return spark_session(self.master, self.conf, self.memory_limit)

    def close(self) -> None:
        """Nothing to free: the process's Spark session outlives an engine, the next one reuses it."""

    def cancel(self) -> None:
        """Cancel the running query's jobs, or the next query; that run raises CancelledError."""
        self._cancelled.set()
        tag = self._tag
        if tag is not None:
            self.spark.interruptTag(tag)

    def _spend_cancel(self) -> CancelledError:
        self._cancelled.clear()
        return CancelledError("query cancelled")

    def run(
        self, plan: Plan, inputs: Sequence[ScanInput], *, strict: bool = False, timeout: float | None = None
    ) -> tuple[pa.Table, EngineStats]:
        """Run a plan over its scans' inputs; bad files are skipped and named in the stats (or
        raise under ``strict``); past ``timeout`` seconds its jobs are cancelled (LimitError)."""
        sql = run_deep(lambda: to_spark(plan.tree))
        calls_ip_info = used_in(plan.tree)
        if calls_ip_info:
            enricher_for(self.enrich)  # (a missing or bad data file fails here, named)
        with self._lock:
            started = time.perf_counter()
            spark = self.spark
            if calls_ip_info:
                register_ip_info(spark, self.enrich)
            stats = EngineStats()
            cached: list[DataFrame] = []
            with self._deadline(spark, timeout) as expired:
                try:
                    if self._cancelled.is_set():  # (asked before the run: its tag was not there to cancel)
                        raise self._spend_cancel()
                    for given in inputs:
                        frame = self._scan_frame(spark, given, stats, cached)
                        frame.createOrReplaceTempView(given.scan.name)
                    if strict and stats.skipped:
                        first = stats.skipped[0]
                        raise BadInputError(f"{first.path}: {first.reason}")
                    table = spark.sql(sql).toArrow()
                except Exception as error:
                    if expired.is_set():
                        raise _timed_out(timeout) from None
                    if self._cancelled.is_set():
                        raise self._spend_cancel() from None
                    if isinstance(error, BadInputError | NotSupportedError | CancelledError):
                        raise
                    raise query_error(error) from None
                else:
                    if self._cancelled.is_set():  # (asked as the last job ended)
                        raise self._spend_cancel()
                    if expired.is_set():  # (the deadline passed between two jobs: none left to cancel)
                        raise _timed_out(timeout)
                finally:
                    for given in inputs:
                        spark.catalog.dropTempView(given.scan.name)
                    for frame in cached:
                        frame.unpersist()
            stats.elapsed_s = time.perf_counter() - started
            return table, stats

    @contextlib.contextmanager
    def _deadline(self, spark: SparkSession, timeout: float | None) -> Iterator[threading.Event]:
        """The run's jobs tagged, and cancelled if they still run ``timeout`` seconds from now
        (the event is set then); Ctrl-C cancels them too."""
        expired = threading.Event()
        tag = f"trailsql-{uuid.uuid4().hex}"
        spark.addTag(tag)
        self._tag = tag
        timer = None
        if timeout is not None:

            def expire() -> None:
                expired.set()
                spark.interruptTag(tag)

            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            yield expired
        except KeyboardInterrupt:
            spark.interruptTag(tag)
            raise
        finally:
            self._tag = None
            if timer is not None:
                timer.cancel()
            spark.removeTag(tag)

    # --- a scan's rows ----------------------------------------------------------------------

    def _scan_frame(
        self, spark: SparkSession, given: ScanInput, stats: EngineStats, cached: list[DataFrame]
    ) -> DataFrame:
        """One row per event of the input's log files and lake files, with the scan's columns."""
        scan = given.scan
        parts = [_lake_frame(spark, scan, read) for read in given.lake]
        if given.listing.files or not parts:
            parts.insert(0, self._logs_frame(spark, scan, given.listing.files, stats, cached))
        frame = parts[0]
        for part in parts[1:]:
            frame = frame.unionByName(part)
        return frame

    def _logs_frame(
        self, spark: SparkSession, scan: Scan, files: list[LogFile], stats: EngineStats, cached: list[DataFrame]
    ) -> DataFrame:
        from pyspark.sql import functions as F

        if scan.table.delimiter is not None:
            raise NotSupportedError("a ROW FORMAT DELIMITED table on the Spark engine")
        if not files:
            return spark.createDataFrame([], _output_schema(scan))
        tally = _Tally()
        if scan.table.unwraps_records and not scan.record:
            documents = _read_documents(spark, scan, [f.path for f in files]).persist()
            cached.append(documents)
            _count(documents, tally)
            good = documents.where(F.col(_CORRUPT).isNull())
            rows = good.select("__file", F.explode("Records").alias("r"))
            again = sorted(tally.corrupt)
            if again:  # documents Spark could not parse whole: element by element
                rows = rows.unionByName(self._elements(spark, scan, again, tally, cached))
        elif scan.table.unwraps_records:  # "$record": every event's text, its columns parsed out of it
            rows = self._elements(spark, scan, [f.path for f in files], tally, cached)
        else:  # each JSON value (a line) of a file is a row
            rows = _read_lines(spark, scan, [f.path for f in files]).persist()
            cached.append(rows)
            _count_lines(rows, tally)
            rows = rows.where(F.col(_CORRUPT).isNull())
        _note(stats, files, tally)
        return _with_file_columns(spark, scan, rows, files, tally)

    def _elements(
        self, spark: SparkSession, scan: Scan, paths: list[str], tally: _Tally, cached: list[DataFrame]
    ) -> DataFrame:
        """Rows of files read with each ``Records`` element as its JSON text: the objects
        parsed into the scan's columns (``raw``: the text), the other elements counted."""
        from pyspark.sql import functions as F

        texts = (
            spark.read.schema(f"Records ARRAY<STRING>, {_CORRUPT} STRING")
            .option("multiLine", True)
            .option("mode", "PERMISSIVE")
            .json(_escaped(paths))
            .select("*", F.col("_metadata.file_path").alias("__file"))
            .persist()
        )
        cached.append(texts)
        again: dict[str, tuple[int | None, int, bool]] = {}
        for spark_name, elements, objects, corrupt in texts.select(
            "__file",
            F.size("Records").alias("n"),
            F.size(F.filter("Records", lambda x: F.ltrim(x).startswith("{"))).alias("o"),
            F.col(_CORRUPT).isNotNull().alias("c"),
        ).collect():
            name = tally.seen(spark_name)
            known = again.get(name, (None, 0, False))
            count = None if elements is None or elements < 0 else elements
            again[name] = (
                count if known[0] is None else known[0] + (count or 0),
                known[1] + (objects if count is not None else 0),
                known[2] or bool(corrupt),
            )
        for name, (count, objects, corrupt) in again.items():
            tally.corrupt.discard(name)
            if corrupt:
                tally.corrupt.add(name)
                tally.events.pop(name, None)
                continue
            tally.events[name] = None if count is None else objects
            if count is not None and count > objects:
                tally.not_objects[name] = count - objects
        element = F.explode(F.filter("Records", lambda x: F.ltrim(x).startswith("{"))).alias("raw")
        raws = texts.where(F.col(_CORRUPT).isNull()).select("__file", element)
        return raws.select("__file", F.from_json("raw", _event_type(scan)).alias("r"), "raw").select(
            "__file", "r", *(["raw"] if scan.record else [])
        )


def _timed_out(timeout: float | None) -> LimitError:
    return LimitError(f"query timed out after {timeout or 0:g} s (the timeout)")


def _local_path(name: str) -> str:
    """The path of a local file Spark's ``_metadata.file_path`` names (a percent-encoded URI).

    >>> _local_path("file:/l/a%20b/x%2520.json.gz"), _local_path("file:///l/a.json")
    ('/l/a b/x%20.json.gz', '/l/a.json')
    """
    if not name.startswith("file:"):
        return name
    rest = name[len("file:") :]
    return urllib.parse.unquote(rest[2:] if rest.startswith("//") else rest)


def _escaped(paths: list[str]) -> list[str]:
    """Paths as Spark's readers take exactly these files: Hadoop expands glob characters in
    every path, so each is escaped with a backslash (CloudTrail's names have none).

    >>> _escaped(["/l/a*b{c}.json"])
    ['/l/a\\\\*b\\\\{c\\\\}.json']
    """
    return [p.translate(_GLOB_ESCAPES) for p in paths]


_GLOB_ESCAPES = str.maketrans({c: "\\" + c for c in "\\*?[]{}"})


def _event_type(scan: Scan) -> str:
    """The Spark type of one event with the scan's columns, by CloudTrail's JSON keys."""
    types = dict(scan.table.columns)
    fields = [f"`{scan.table.json_key(n)}`: {spark_type(types[n])}" for n in scan.columns]
    return f"STRUCT<{', '.join(fields or ['`eventVersion`: STRING'])}>"


def _output_schema(scan: Scan) -> str:
    """The DDL of a scan's view: its columns (lower case), partitions, ``$path`` and ``$record``."""
    types = dict(scan.table.columns)
    columns = [f"`{n.lower()}` {spark_type(types[n])}" for n in scan.columns] or ["__event INT"]
    columns += [f"`{p}` STRING" for p in _extras(scan)]
    return ", ".join(columns)


def _extras(scan: Scan) -> list[str]:
    extras = [*scan.partitions, PATH_COLUMN] if scan.path else list(scan.partitions)
    return [*extras, RECORD_COLUMN] if scan.record else extras


def _read_documents(spark: SparkSession, scan: Scan, paths: list[str]) -> DataFrame:
    """One row per file: its ``Records`` with the scan's columns, or its text if corrupt."""
    from pyspark.sql import functions as F

    return (
        spark.read.schema(f"Records ARRAY<{_event_type(scan)}>, {_CORRUPT} STRING")
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .json(_escaped(paths))
        .select("Records", _CORRUPT, F.col("_metadata.file_path").alias("__file"))
    )


def _read_lines(spark: SparkSession, scan: Scan, paths: list[str]) -> DataFrame:
    """One row per line of each file (a table whose rows are JSON values, not ``Records``)."""
    from pyspark.sql import functions as F

    schema = _event_type(scan)[len("STRUCT<") : -1].replace(": ", " ")
    frame = spark.read.schema(f"{schema}, {_CORRUPT} STRING").option("mode", "PERMISSIVE").json(_escaped(paths))
    fields = [F.col(f"`{scan.table.json_key(n)}`") for n in scan.columns] or [F.col("`eventVersion`")]
    return frame.select(F.struct(*fields).alias("r"), _CORRUPT, F.col("_metadata.file_path").alias("__file"))


def _count(documents: DataFrame, tally: _Tally) -> None:
    """Tally per file the events of its documents (the read's one pass: it fills the cache)."""
    from pyspark.sql import functions as F

    counted = documents.groupBy("__file").agg(
        F.sum(F.when(F.col("Records").isNotNull(), F.size("Records"))).alias("n"),
        F.max(F.col(_CORRUPT).isNotNull()).alias("c"),
    )
    for spark_name, count, corrupt in counted.collect():
        name = tally.seen(spark_name)
        if corrupt:
            tally.corrupt.add(name)
        tally.events[name] = None if count is None else int(count)


def _count_lines(rows: DataFrame, tally: _Tally) -> None:
    from pyspark.sql import functions as F

    counted = rows.groupBy("__file").agg(
        F.count(F.when(F.col(_CORRUPT).isNull(), 1)).alias("n"), F.max(F.col(_CORRUPT).isNotNull()).alias("c")
    )
    for spark_name, count, corrupt in counted.collect():
        name = tally.seen(spark_name)
        if corrupt:
            tally.corrupt.add(name)
        tally.events[name] = int(count)


def _note(stats: EngineStats, files: list[LogFile], tally: _Tally) -> None:
    """Add a scan's counts and bad files to the stats, each file named as the user knows it."""
    from trailsql.engines.duckdb.engine import _no_events, _not_objects

    skipped: set[str] = set()
    for f in files:
        name = f.path
        if name not in tally.events and name not in tally.corrupt:
            why = "unreadable: Spark could not read the file (a truncated or corrupt compressed file?)"
        elif name in tally.corrupt:
            why = "Malformed JSON: Spark could not parse the file"
        elif not tally.events[name] and name not in tally.not_objects:
            why = _no_events(tally.events[name])
        else:
            if name in tally.not_objects:
                stats.skipped.append(Skipped(f.uri, _not_objects(tally.not_objects[name], tally.events[name])))
            stats.events_scanned += tally.events[name] or 0
            continue
        stats.skipped.append(Skipped(f.uri, why))
        skipped.add(f.path)
    kept = [f for f in files if f.path not in skipped]
    stats.files_scanned += len(kept)
    stats.bytes_scanned += sum(f.size for f in kept)


def _with_file_columns(
    spark: SparkSession, scan: Scan, rows: DataFrame, files: list[LogFile], tally: _Tally
) -> DataFrame:
    """The scan's columns out of ``rows`` (``r`` an event, ``__file``), with the partition
    values and ``"$path"`` of each row's file joined from a small table of the files."""
    from pyspark.sql import functions as F

    table = scan.table
    select: list[Column | str] = [F.col("r").getField(table.json_key(n)).alias(n.lower()) for n in scan.columns]
    select = select or [F.lit(1).alias("__event")]
    if scan.partitions or scan.path:
        columns = ["__file", "__uri", *scan.partitions]
        values = [
            (tally.names[f.path], f.uri, *(dict(f.partition).get(p) for p in scan.partitions))
            for f in files
            if f.path in tally.names
        ]
        schema = ", ".join(f"`{c}` STRING" for c in columns)
        files_frame = F.broadcast(spark.createDataFrame(values, schema))
        rows = rows.join(files_frame, "__file")
        select += [F.col(f"`{p}`").alias(p) for p in scan.partitions]
        if scan.path:
            select.append(F.col("__uri").alias(PATH_COLUMN))
    if scan.record:
        select.append(F.col("raw").alias(RECORD_COLUMN))
    return rows.select(*select)


def _lake_frame(spark: SparkSession, scan: Scan, read: LakeRead) -> DataFrame:
    """The rows of lake files with the scan's columns, as :func:`_with_file_columns` gives them."""
    from pyspark.sql import functions as F

    if scan.record:
        raise NotSupportedError(f'"{RECORD_COLUMN}" from the lake on the Spark engine')
    types = dict(scan.table.columns)
    frame = spark.read.parquet(*_escaped(list(read.files)))
    if read.sources:
        frame = frame.where(F.col("source_path").isin(list(read.sources)))
    select: list[Column] = [
        _conform(F.col(f"`{n.lower()}`"), types[n], _LAKE_TYPES[n.lower()]).alias(n.lower()) for n in scan.columns
    ]
    select = select or [F.lit(1).alias("__event")]
    select += [F.lit(v).cast("string").alias(p) for p, v in read.partition]
    if scan.path and read.shown:
        location, uri = read.shown
        select.append(F.concat(F.lit(uri), F.expr(f"substring(source_path, {len(location) + 1})")).alias(PATH_COLUMN))
    elif scan.path:
        select.append(F.col("source_path").alias(PATH_COLUMN))
    return frame.select(*select)


def _conform(value: Column, declared: HiveType, stored: HiveType) -> Column:
    """``value`` of the lake's type ``stored`` as the table's type ``declared``: a struct with
    fewer (or other) fields is rebuilt field by field (Spark casts only between structs of
    as many fields), a field the lake lacks is NULL."""
    from pyspark.sql import functions as F

    if declared == stored:
        return value
    if isinstance(declared, Struct) and isinstance(stored, Struct):
        fields = []
        for name, typ in declared.fields:
            known = stored.field(name)
            inner = _conform(value.getField(known[0]), typ, known[1]) if known else F.lit(None).cast(spark_type(typ))
            fields.append(inner.alias(name))
        return F.when(value.isNull(), F.lit(None)).otherwise(F.struct(*fields))
    return value.cast(spark_type(declared))
