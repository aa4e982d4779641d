"""``trailsql ingest``: CloudTrail logs into the workspace's Parquet lake, exactly once.

The lake is ``<workspace>/lake/account=<id>/region=<name>/date=<yyyy-mm-dd>/part-<batch>.parquet``
(partition values are strings; ``date`` is the UTC day of ``eventTime``). Each file holds
the default table's columns, ``eventtime_ts`` (``eventTime`` as TIMESTAMP WITH TIME ZONE,
beside the original string) and ``source_path`` (the log file the event came from),
zstd-compressed, sorted by event time, in row groups small enough for time ranges to prune.

Files are read in batches (``IngestOptions.batch_files`` / ``batch_bytes``) by the
engine's own scan (bad files skipped and named), so memory stays bounded whatever the
input size. Each batch: the scan lands in a DuckDB temp table; per partition, its events
not already in the lake (by ``eventID``: CloudTrail delivers some events twice) are
written to ``_staging/`` and renamed into place; then the manifest commits the batch's
source files and lake files in one transaction. A run killed at any point leaves files
the manifest does not list; the next run deletes them and reads those sources again.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from trailsql import schema
from trailsql.catalog.table import default_table
from trailsql.engines.duckdb import DuckDBEngine
from trailsql.errors import CatalogError, NotSupportedError
from trailsql.lake.manifest import STAGING_NAME, LakeFile, Manifest, SourceFile
from trailsql.sources import local
from trailsql.sources.files import Listing, LogFile
from trailsql.sql.planner import Plan, Scan, list_table
from trailsql.sql.pruning import Pruner

#: Set to ``<point>:<n>`` to SIGKILL the process the n-th time it reaches a point (crash tests):
#: ``staged`` (data written, not renamed), ``renamed`` (data in place, manifest not committed),
#: ``committed`` (manifest committed).
CRASH_ENV = "TRAILSQL_LAKE_CRASH"


@dataclass
class IngestOptions:
    """How to ingest: which days (of the log files' dates) and how big a batch is."""

    since: dt.date | None = None
    until: dt.date | None = None
    batch_files: int = 200
    batch_bytes: int = 32 << 20
    row_group_rows: int = 32_768
    memory_limit: str = "512MB"
    threads: int | None = None


@dataclass
class IngestReport:
    """What a run did."""

    files_listed: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    events_read: int = 0
    events_written: int = 0
    batches: int = 0
    lake_files: int = 0
    cleaned: int = 0
    elapsed_s: float = 0.0

    @property
    def duplicates(self) -> int:
        return self.events_read - self.events_written

    @property
    def events_per_s(self) -> float:
        return self.events_read / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> str:
        return (
            f"ingested {self.files_ingested} files ({self.files_unchanged} unchanged, "
            f"{len(self.files_skipped)} skipped), {self.events_read} events read, {self.events_written} written "
            f"({self.duplicates} duplicates) in {self.elapsed_s:.1f}s ({self.events_per_s:,.0f} events/s)"
        )


Progress = Callable[[int, int, int], None]
"""Called after each batch with (files done, events done, files to do)."""


def lake_folder(workspace: str | os.PathLike[str]) -> Path:
    return Path(workspace) / "lake"


def _crash_point(point: str, counters: dict[str, int]) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, count = wanted.partition(":")
    if name != point:
        return
    counters[point] = counters.get(point, 0) + 1
    if counters[point] >= int(count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)


def _file_date(f: LogFile) -> dt.date | None:
    values = dict(_restated(f).partition)
    parts = (values.get("year"), values.get("month"), values.get("day"))
    try:
        return dt.date(int(parts[0] or ""), int(parts[1] or ""), int(parts[2] or ""))
    except ValueError:
        return None


def list_sources(logs: str, workspace: str | os.PathLike[str] | None) -> Listing:
    """The files of ``logs``: a folder of CloudTrail logs, or the name of a workspace table."""
    from trailsql.session import Session

    session = Session(workspace=workspace)
    try:
        table = session.table(logs)
        if table is None:
            if not Path(logs).exists():
                raise CatalogError(f"no logs folder or table named {logs}")
            table = default_table(os.path.abspath(logs))
        if session.resolve(table.location).startswith("s3://"):
            raise NotSupportedError("ingest from S3 (fetch into a local folder first)")
        warnings: list[str] = []
        return list_table(table, Pruner(None, set(), set()), None, session, warnings)
    finally:
        session.close()


def _restated(f: LogFile) -> LogFile:
    """A file with the default table's partition values (account, region, year, month, day)."""
    values = dict(f.partition)
    named = local.file_name_partition(PurePath(f.path).name)
    partition = tuple((c, values.get(c) or named.get(c)) for c in schema.PARTITION_COLUMNS)
    return LogFile(f.path, f.uri, f.size, partition)


def _batches(files: list[LogFile], options: IngestOptions) -> list[list[LogFile]]:
    batches: list[list[LogFile]] = []
    current: list[LogFile] = []
    size = 0
    for f in files:
        if current and (len(current) >= options.batch_files or size + f.size > options.batch_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        batches.append(current)
    return batches


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _batch_sql(view: str) -> str:
    """The scan's rows with the lake's columns, into the temp table ``__trailsql_batch``."""
    time_ts = "TRY_CAST(eventtime AS TIMESTAMP WITH TIME ZONE)"
    return (
        "CREATE OR REPLACE TEMP TABLE __trailsql_batch AS SELECT "
        f'* EXCLUDE ("$path", account, region, year, month, day), {time_ts} AS eventtime_ts, '
        '"$path" AS source_path, '
        "coalesce(account, recipientaccountid, 'unknown') AS account, "
        "coalesce(region, awsregion, 'unknown') AS region, "
        f"coalesce(strftime({time_ts}, '%Y-%m-%d'), year || '-' || month || '-' || day, 'unknown') AS date "
        f'FROM "{view}"'
    )


class Lake:
    """The Parquet lake of a workspace."""

    def __init__(self, workspace: str | os.PathLike[str], options: IngestOptions | None = None) -> None:
        self.folder = lake_folder(workspace)
        self.options = options or IngestOptions()
        self.manifest = Manifest(self.folder)
        self._crashes: dict[str, int] = {}

    def close(self) -> None:
        self.manifest.close()

    def engine(self) -> DuckDBEngine:
        engine = DuckDBEngine(threads=self.options.threads)
        staging = self.folder / STAGING_NAME
        engine.con.execute(f"SET memory_limit = {sql_string(self.options.memory_limit)}")
        engine.con.execute(f"SET temp_directory = {sql_string(str(staging / 'spill'))}")
        return engine

    def next_batch(self) -> int:
        row = self.manifest.db.execute(
            "SELECT max(CAST(batch AS INTEGER)) FROM (SELECT batch FROM sources UNION ALL SELECT batch FROM lake_files)"
        ).fetchone()
        return int(row[0] or 0) + 1

    def ingest(self, listing: Listing, progress: Progress | None = None) -> IngestReport:
        """Ingest the new or changed files of ``listing``."""
        started = time.perf_counter()
        report = IngestReport(files_listed=len(listing.files))
        report.cleaned = len(self.manifest.clean())
        known = self.manifest.sources()
        todo = []
        for f in sorted(listing.files, key=lambda f: f.path):
            day = _file_date(f)
            if day is not None and (
                (self.options.since and day < self.options.since) or (self.options.until and day > self.options.until)
            ):
                continue
            stat = os.stat(f.path)
            if known.get(f.uri) == (stat.st_size, stat.st_mtime_ns):
                report.files_unchanged += 1
                continue
            todo.append(f)
        engine = self.engine()
        try:
            for batch in _batches(todo, self.options):
                self._ingest_batch(engine, batch, report)
                if progress:
                    progress(report.files_ingested, report.events_read, len(todo))
        finally:
            engine.close()
            self.manifest.clean()
        report.elapsed_s = time.perf_counter() - started
        return report

    def _ingest_batch(self, engine: DuckDBEngine, batch: list[LogFile], report: IngestReport) -> None:
        number = self.next_batch()
        batch_id = f"{number:08d}"
        stats_before = {f.uri: os.stat(f.path) for f in batch}
        files = [_restated(f) for f in batch]
        table = default_table(str(self.folder))
        view = "__trailsql_ingest"
        scan = Scan(view, table, Listing(files=files), [n for n, _ in table.columns], list(table.partition_names), True)
        _, stats = engine.run(Plan(_batch_sql(view), [scan], []))
        con = engine.con
        counts = dict(con.execute("SELECT source_path, count(*) FROM __trailsql_batch GROUP BY 1").fetchall())
        skipped = {s.path: s.reason for s in stats.skipped}
        partitions = con.execute("SELECT DISTINCT account, region, date FROM __trailsql_batch ORDER BY ALL").fetchall()
        staging = self.folder / STAGING_NAME / batch_id
        staging.mkdir(parents=True, exist_ok=True)
        existing: dict[tuple[str, str, str], list[str]] = {}
        for f in self.manifest.lake_files(partitions):
            existing.setdefault((f.account, f.region, f.date), []).append(str(self.folder / f.path))
        added: list[LakeFile] = []
        staged: list[tuple[Path, Path]] = []
        for index, (account, region, date) in enumerate(partitions):
            relative = f"account={account}/region={region}/date={date}/part-{batch_id}.parquet"
            target = staging / f"{index}.parquet"
            where = f"account = {sql_string(account)} AND region = {sql_string(region)} AND date = {sql_string(date)}"
            old = existing.get((account, region, date))
            if old:
                listed = "[" + ", ".join(sql_string(p) for p in old) + "]"
                where += f" AND (eventid IS NULL OR eventid NOT IN (SELECT eventid FROM read_parquet({listed})))"
            rows = con.execute(
                f"COPY (SELECT * EXCLUDE (account, region, date) FROM __trailsql_batch WHERE {where} "
                "QUALIFY eventid IS NULL OR row_number() OVER (PARTITION BY eventid ORDER BY source_path, eventtime_ts) = 1 "
                f"ORDER BY eventtime_ts, eventid) TO {sql_string(str(target))} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {self.options.row_group_rows})"
            ).fetchone()
            written = int(rows[0]) if rows else 0
            if not written:
                target.unlink(missing_ok=True)
                continue
            low, high = con.execute(
                f"SELECT min(eventtime_ts)::VARCHAR, max(eventtime_ts)::VARCHAR FROM read_parquet({sql_string(str(target))})"
            ).fetchone() or (None, None)
            size = target.stat().st_size
            added.append(LakeFile(relative, account, region, date, written, size, low, high, batch_id))
            staged.append((target, self.folder / relative))
            report.events_written += written
        con.execute("DROP TABLE IF EXISTS __trailsql_batch")
        _crash_point("staged", self._crashes)
        for source, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        _crash_point("renamed", self._crashes)
        sources = []
        for log in batch:
            st = stats_before[log.uri]
            events = counts.get(log.uri, 0)
            note = skipped.get(log.uri)
            if note is not None:
                report.files_skipped.append((log.uri, note))
            sources.append(SourceFile(log.uri, st.st_size, st.st_mtime_ns, events, batch_id, note))
            report.events_read += events
        self.manifest.commit(sources, added)
        _crash_point("committed", self._crashes)
        report.files_ingested += len(batch)
        report.batches += 1
        report.lake_files += len(added)
        staging.rmdir()


def ingest(
    logs: str,
    workspace: str | os.PathLike[str],
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest the new or changed log files of ``logs`` (a folder or a workspace table) into the lake."""
    listing = list_sources(logs, workspace)
    lake = Lake(workspace, options)
    try:
        return lake.ingest(listing, progress)
    finally:
        lake.close()
