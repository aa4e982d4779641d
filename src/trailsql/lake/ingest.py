"""``trailsql ingest``: CloudTrail logs into the workspace's Parquet lake, exactly once.

The lake is ``<workspace>/lake/account=<id>/region=<name>/date=<yyyy-mm-dd>/part-<batch>.parquet``
(partition values are strings). A log file's events go to the partition of the file
itself: the account, region and day of its ``AWSLogs/`` folder (or its CloudTrail file
name), so a query's partition predicates choose the same events from the lake as from
the logs; a file that names none of them is placed by its events' ``recipientAccountId``,
``awsRegion`` and ``eventTime``. Each file holds the default table's columns,
``eventtime_ts`` (``eventTime`` as TIMESTAMP WITH TIME ZONE beside the original string),
``source_path`` (the location of the log file) and ``redelivered``, zstd-compressed, in
row groups of ``IngestOptions.row_group_rows``. Ingest writes rows unsorted (a sort costs
a third of its time) and lighter (no Bloom filters); ``trailsql compact`` rewrites each
partition sorted by event time, latest first, so row groups then cover short time ranges:
time predicates prune them, and a query for the latest events (``ORDER BY eventTime DESC
LIMIT n``) stops after the first row groups.

CloudTrail may deliver an event twice, in two log files. The lake dedupes by ``eventID``
within an account and region (over the file's day and the days either side): the first
delivery ingested is the event, later ones are kept with ``redelivered = true``. Queries
on a table read every delivery, as Athena does over the logs; readers that want each
event once filter ``NOT redelivered``.

Files are read in batches of one partition (``IngestOptions.batch_files`` /
``batch_bytes``) by the engine's own scan (bad files skipped and named), so memory stays
bounded whatever the input size. Each batch is one COPY from the JSON to a Parquet file
in ``_staging/``; redeliveries found, the file is rewritten with them marked (rare);
it is renamed into place, then the manifest commits the batch's source files, lake files
and links in one transaction. A run killed at any point leaves files the manifest does
not list: the next run deletes them and reads those sources again.
A source file whose content changed (its size and mtime, or ETag) is read again and its
old rows are taken out of the lake files that held them, in the same commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from trailsql import schema
from trailsql.catalog.table import default_table
from trailsql.catalog.workspace import Workspace
from trailsql.engines.duckdb import DuckDBEngine
from trailsql.errors import CatalogError
from trailsql.lake import profiles
from trailsql.lake.check import quick_fault, unlinked_sources
from trailsql.lake.manifest import (
    DAMAGED_NAME,
    MANIFEST_NAME,
    STAGING_NAME,
    LakeFile,
    Manifest,
    SourceFile,
    file_sha256,
    lake_folder,
)
from trailsql.sources import local
from trailsql.sources.files import Listing, LogFile
from trailsql.sources.listing import Locations, WorkspaceLocations, list_table
from trailsql.sources.s3 import S3Options, S3Source
from trailsql.verify.run import verify_days
from trailsql.verify.validate import tally

#: Set to ``<point>:<n>`` to SIGKILL the process the n-th time it reaches a point (crash tests):
#: ``staged`` (data written, not renamed), ``renamed`` (data in place, manifest not committed),
#: ``committed`` (manifest committed).
CRASH_ENV = "TRAILSQL_LAKE_CRASH"

#: Where a value of a file's partition is unknown (no folder or file name gives it, no event either).
UNKNOWN = "unknown"

LOCK_NAME = "_lock"

_PARQUET = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"

#: Ingest's files are rewritten by ``trailsql compact``: written faster (a sixth less time in
#: the Parquet writer), with neither Bloom filters nor dictionaries for columns of over a
#: thousand values a row group (the files are as small: zstd finds the repeats anyway).
_PARQUET_STAGED = f"{_PARQUET}, WRITE_BLOOM_FILTER false, DICTIONARY_SIZE_LIMIT 1000"


@dataclass
class IngestOptions:
    """How to ingest: which days (of the log files' dates) and how big a batch is."""

    since: dt.date | None = None
    until: dt.date | None = None
    batch_files: int = 5000
    batch_bytes: int = 128 << 20
    row_group_rows: int = 32_768
    memory_limit: str = "800MB"
    threads: int | None = None
    #: Validate the logs against their digests first (``--verify``) and keep each file's status.
    verify: bool = False


@dataclass
class IngestReport:
    """What a run did."""

    files_listed: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    events_read: int = 0
    redelivered: int = 0
    batches: int = 0
    lake_files: int = 0
    cleaned: int = 0
    #: Lake files found damaged (moved to ``_damaged/``, their sources read again), and why.
    repaired: list[tuple[str, str]] = field(default_factory=list)
    #: Lake files given the profile they lacked (see :meth:`Lake.profile_missing`).
    profiled: int = 0
    #: ``--verify``: each source file's integrity status and its detail, by location.
    verified: dict[str, tuple[str, str]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events_read / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> str:
        return (
            f"ingested {self.files_ingested} files ({self.files_unchanged} unchanged, "
            f"{len(self.files_skipped)} skipped), {self.events_read} events "
            f"({self.redelivered} delivered twice) in {self.elapsed_s:.1f}s ({self.events_per_s:,.0f} events/s)"
        ) + (f"; validated: {tally(status for status, _ in self.verified.values())}" if self.verified else "")


Progress = Callable[[int, int, int], None]
"""Called after each batch with (files done, events done, files to do)."""

PartitionKey = tuple[str | None, str | None, str | None]
"""(account, region, date) of a log file; None where its path and name do not say."""


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


def restated(f: LogFile) -> LogFile:
    """A file with the default table's partition values (account, region, year, month, day),
    shown by its location (the lake's ``source_path``).

    >>> restated(LogFile("/x/123456789012_CloudTrail_us-east-1_20250212T0000Z_a.json.gz", "u", 1)).partition[:3]
    (('account', '123456789012'), ('region', 'us-east-1'), ('year', '2025'))
    """
    values = dict(f.partition)
    named = local.file_name_partition(PurePath(f.path).name)
    partition = tuple((c, values.get(c) or named.get(c)) for c in schema.PARTITION_COLUMNS)
    return LogFile(f.path, f.location, f.size, partition, f.version, f.remote)


def partition_key(f: LogFile) -> PartitionKey:
    """The lake partition of a (restated) file's events.

    >>> partition_key(LogFile("p", "u", 1, (("account", "1"), ("region", "r"), ("year", "2025"), ("month", "02"), ("day", "12"))))
    ('1', 'r', '2025-02-12')
    """
    values = dict(f.partition)
    year, month, day = values.get("year"), values.get("month"), values.get("day")
    date = f"{year}-{month}-{day}" if year and month and day else None
    return values.get("account"), values.get("region"), date


def _file_date(key: PartitionKey) -> dt.date | None:
    try:
        return dt.date.fromisoformat(key[2] or "")
    except ValueError:
        return None


def list_sources(
    logs: str, workspace: Workspace, locations: Locations, recorded: list[local.FolderRecord] | None = None
) -> Listing:
    """The files of ``logs``: a folder or ``s3://`` URI of CloudTrail logs, or a workspace table;
    with ``recorded``, what listing each local day folder found is added to it (ingest always
    lists: it never lists from the records queries use).

    S3 objects are listed, not fetched: ingest fetches each batch's new objects in turn.
    """
    table = workspace.tables.get(logs.lower())
    if table is None:
        if logs.startswith("s3://"):
            table = default_table(logs)
        elif Path(logs).exists():
            table = default_table(os.path.abspath(logs))
        else:
            raise CatalogError(f"no logs folder or table named {logs}")
    return list_table(table, lambda _: True, None, locations, [], recorded=recorded)


def _batches(files: list[LogFile], options: IngestOptions) -> Iterator[list[LogFile]]:
    """Runs of files of one partition, within the batch limits."""
    current: list[LogFile] = []
    size = 0
    for f in files:
        full = len(current) >= options.batch_files or size + f.size > options.batch_bytes
        if current and (full or partition_key(f) != partition_key(current[0])):
            yield current
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        yield current


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_list(items: list[str]) -> str:
    return "[" + ", ".join(sql_string(i) for i in items) + "]"


def _rows_sql(view: str, key: PartitionKey) -> str:
    """The scan's rows with the lake's columns.

    A batch is of one partition ``key``; where its files do not name all of it, each row
    also gets the ``__account``/``__region``/``__date`` it goes to, from its event.
    """
    time_ts = "TRY_CAST(eventtime AS TIMESTAMP WITH TIME ZONE)"
    select = f'SELECT * EXCLUDE ("$path"), {time_ts} AS eventtime_ts, "$path" AS source_path, false AS redelivered'
    if None in key:
        account, region, date = ("NULL" if v is None else sql_string(v) for v in key)
        select += (
            f", coalesce({account}, recipientaccountid, '{UNKNOWN}') AS __account, "
            f"coalesce({region}, awsregion, '{UNKNOWN}') AS __region, "
            f"coalesce({date}, strftime({time_ts}, '%Y-%m-%d'), '{UNKNOWN}') AS __date"
        )
    return f'{select} FROM "{view}"'


def _write_profile(engine: DuckDBEngine, lake_file: Path, to: Path) -> None:
    engine.rows(f"COPY ({profiles.profile_sql(str(lake_file))}) TO {sql_string(str(to))} ({_PARQUET})")


def _neighbour_dates(date: str) -> list[str]:
    """The days whose lake files may hold an earlier delivery of an event of ``date``."""
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        return [date]
    return [(day + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)]


class Lake:
    """The Parquet lake of a workspace; a ``writer`` holds its lock: one writer at a time."""

    def __init__(
        self, workspace: str | os.PathLike[str], options: IngestOptions | None = None, writer: bool = True
    ) -> None:
        self.folder = lake_folder(workspace)
        self.options = options or IngestOptions()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.folder / LOCK_NAME, "w")  # noqa: SIM115 (held until close)
        try:
            if writer:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise CatalogError(
                f"the lake in {self.folder} is busy: another ingest, compact or prune is running"
            ) from None
        self.manifest = self._open_manifest(writer)
        #: Where S3 objects are fetched from, batch by batch.
        self.s3: S3Source | None = None
        self._crashes: dict[str, int] = {}

    def _open_manifest(self, writer: bool) -> Manifest:
        """The manifest; a writer that finds it unreadable (not a database, or its tables gone)
        moves it aside to ``_damaged/`` and starts an empty one: the lake files it no longer
        lists are then debris, and ingest reads their sources again."""
        try:
            manifest = Manifest(self.folder)
            manifest.sources(), manifest.links(), manifest.lake_files()
            return manifest
        except sqlite3.DatabaseError:
            if not writer:
                raise
        aside = self.folder / DAMAGED_NAME / f"{MANIFEST_NAME}.{time.time_ns()}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.folder / (MANIFEST_NAME + suffix), aside.with_name(aside.name + suffix))
        return Manifest(self.folder)

    def in_days(self, f: LogFile) -> bool:
        """Whether a (restated) file is of the days ingested (``since``/``until``; a file of no known day is)."""
        day = _file_date(partition_key(f))
        return day is None or not (
            (self.options.since and day < self.options.since) or (self.options.until and day > self.options.until)
        )

    def close(self) -> None:
        self.manifest.close()
        self._lock.close()

    def repair(self) -> list[tuple[str, str]]:
        """Take out the lake files failing their quick check (or marked by ``lake verify``) and
        forget the sources they, or lost links, held, so this run reads them again; the damaged
        files are kept in ``_damaged/`` as evidence. Returns (lake file or source, why)."""
        sources, links = self.manifest.sources(), self.manifest.links()
        files = self.manifest.lake_files()
        faults = {f.path: why for f in files if (why := quick_fault(self.folder, f)) is not None}
        listed = {f.path for f in files}
        faults |= {p: "linked but not listed by the manifest" for ps in links.values() for p in ps if p not in listed}
        lost = unlinked_sources(sources, links, {f.path for f in files})
        if not faults and not lost:
            return []
        held = {uri for uri, paths in links.items() if not faults.keys().isdisjoint(paths)}
        for path in faults:
            if (self.folder / path).exists():
                (self.folder / DAMAGED_NAME / path).parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.folder / path, self.folder / DAMAGED_NAME / path)
        self.manifest.forget(faults, held | lost.keys())
        return [*faults.items(), *lost.items()]

    def engine(self, memory_limit: str | None = None) -> DuckDBEngine:
        """The engine that writes the lake: in the ingest's memory (``memory_limit``, else the
        options'), spilling into the lake's staging folder, rows written in any order."""
        return DuckDBEngine(
            threads=self.options.threads,
            memory_limit=memory_limit or self.options.memory_limit,
            spill=str(self.folder / STAGING_NAME / "spill"),
            keep_order=False,
        )

    def next_batch(self) -> str:
        row = self.manifest.db.execute(
            "SELECT max(CAST(batch AS INTEGER)) FROM (SELECT batch FROM sources UNION ALL SELECT batch FROM lake_files)"
        ).fetchone()
        return f"{int(row[0] or 0) + 1:08d}"

    def write(self, engine: DuckDBEngine, select: str, target: Path) -> None:
        """COPY a SELECT's rows to a lake file at ``target``."""
        engine.rows(
            f"COPY ({select}) TO {sql_string(str(target))} ({_PARQUET}, ROW_GROUP_SIZE {self.options.row_group_rows})"
        )

    def staged(self, engine: DuckDBEngine, target: Path, relative: str) -> list[tuple[Path, Path]]:
        """The renames that place a lake file written at ``target`` at ``relative``: the file,
        then its profile (written here, beside it; see :mod:`trailsql.lake.profiles`)."""
        profile = target.with_name(f"{target.stem}.profile.parquet")
        _write_profile(engine, target, profile)
        return [(target, self.folder / relative), (profile, profiles.profile_path(self.folder, relative))]

    def profile_missing(self, engine: DuckDBEngine) -> int:
        """Give every lake file that has no profile one (a lake from before profiles, a run
        killed between a file's rename and its profile's); return how many."""
        made = 0
        for f in self.manifest.lake_files():
            path = profiles.profile_path(self.folder, f.path)
            if path.exists():
                continue
            staging = self.folder / STAGING_NAME / f"profile-{os.getpid()}"
            staging.mkdir(parents=True, exist_ok=True)
            written = staging / "profile.parquet"
            _write_profile(engine, self.folder / f.path, written)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(written, path)
            staging.rmdir()
            made += 1
        return made

    @staticmethod
    def lake_file(
        relative: str,
        partition: tuple[str, str, str],
        target: Path,
        described: tuple[int, int, str | None, str | None],
        batch_id: str,
        sorted: bool = False,
    ) -> LakeFile:
        """The manifest's record of a file written at ``target``, to be renamed to ``relative``."""
        rows, redelivered, low, high = described
        size, digest = target.stat().st_size, file_sha256(target)
        return LakeFile(relative, *partition, rows, redelivered, size, low, high, batch_id, sorted, digest)

    def describe(self, engine: DuckDBEngine, target: Path) -> tuple[int, int, str | None, str | None]:
        """A lake file's rows, redelivered rows, first and last event time."""
        [row] = engine.rows(
            "SELECT count(*), count(*) FILTER (redelivered), min(eventtime_ts)::VARCHAR, max(eventtime_ts)::VARCHAR "
            f"FROM read_parquet({sql_string(str(target))})"
        )
        return int(row[0]), int(row[1]), row[2], row[3]

    def ingest(
        self, listing: Listing, progress: Progress | None = None, folders: Sequence[local.FolderRecord] = ()
    ) -> IngestReport:
        """Ingest the new or changed files of ``listing``; then keep ``folders``, what listing
        its day folders found, for queries (each stands for its folder only while the folder's
        mtime is unchanged, so a run killed before they are kept leaves earlier records that
        still say the truth or are seen to be out of date)."""
        started = time.perf_counter()
        report = IngestReport(files_listed=len(listing.files))
        report.repaired = self.repair()
        report.cleaned = len(self.manifest.clean())
        report.files_skipped.extend(listing.skipped)
        known = self.manifest.sources()
        todo = []
        for f in map(restated, listing.files):
            if not self.in_days(f):
                continue
            source = known.get(f.uri)
            if source is not None and source.version == f.version:
                report.files_unchanged += 1
                continue
            todo.append(f)
        todo.sort(key=lambda f: (*(part or "" for part in partition_key(f)), f.uri))
        engine = self.engine()
        try:
            for listed in _batches(todo, self.options):
                batch = self._fetch(listed, report) if any(f.remote for f in listed) else listed
                if batch:
                    self._ingest_batch(engine, batch, known, report)
                if progress:
                    progress(report.files_ingested, report.events_read, len(todo))
            if folders:
                self.manifest.record_folders(folders)
            report.profiled = self.profile_missing(engine)
        finally:
            engine.close()
            self.manifest.clean()
        report.elapsed_s = time.perf_counter() - started
        return report

    def _fetch(self, batch: list[LogFile], report: IngestReport) -> list[LogFile]:
        """The batch with its S3 objects fetched; those that could not be are skipped (and read next run)."""
        assert self.s3 is not None
        fetched = self.s3.fetch(Listing(files=batch))
        report.files_skipped.extend(fetched.skipped)
        return fetched.files

    def _ingest_batch(
        self, engine: DuckDBEngine, batch: list[LogFile], known: dict[str, SourceFile], report: IngestReport
    ) -> None:
        batch_id = self.next_batch()
        staging = self.folder / STAGING_NAME / batch_id
        staging.mkdir(parents=True, exist_ok=True)
        whole = staging / "batch.parquet"
        key = partition_key(batch[0])
        placed = None not in key
        # Partition values are the batch's own (or the events'); "$path" is the source's location.
        # One pass over the JSON, unsorted: sorting by time here would cost a third of the
        # ingest's time; ``trailsql compact`` sorts each partition by event time.
        stats = engine.write_parquet(
            batch,
            lambda view: _rows_sql(view, key),
            str(whole),
            f"{_PARQUET_STAGED}, ROW_GROUP_SIZE {self.options.row_group_rows}",
        )
        rows = f"read_parquet({sql_string(str(whole))}, file_row_number=true)"
        counts = dict(engine.rows(f"SELECT source_path, count(*) FROM {rows} GROUP BY 1"))
        # Known by its source row or only by its links (a manifest whose sources were emptied):
        # its old rows are taken out, and are no earlier delivery of its events.
        linked = self.manifest.links()
        changed = [f.uri for f in batch if (f.uri in known and not known[f.uri].pruned) or f.uri in linked]
        replaced, added, staged = self._take_out(engine, changed, staging, batch_id)
        lake_files = [f for f in self.manifest.lake_files() if f.path not in replaced]
        if placed:
            partitions = [(key[0] or "", key[1] or "", key[2] or "")]
        else:
            partitions = engine.rows(f"SELECT DISTINCT __account, __region, __date FROM {rows} ORDER BY ALL")
        links: list[tuple[str, str]] = []
        for index, (account, region, date) in enumerate(partitions):
            relative = f"account={account}/region={region}/date={date}/part-{batch_id}.parquet"
            where = (
                "true"
                if placed
                else (
                    f"__account = {sql_string(account)} AND __region = {sql_string(region)} AND __date = {sql_string(date)}"
                )
            )
            near = set(_neighbour_dates(date))
            earlier = [
                str(self.folder / f.path)
                for f in lake_files
                if (f.account, f.region) == (account, region) and f.date in near
            ]
            repeats = self._redeliveries(engine, rows, where, earlier, sorted({*changed, *counts}))
            target = staging / f"{index}.parquet"
            if placed and not repeats:
                os.replace(whole, target)
            else:
                flagged = f"file_row_number IN (SELECT unnest({repeats!r}::BIGINT[]))" if repeats else "false"
                drop = "" if placed else ", __account, __region, __date"
                self.write(
                    engine,
                    f"SELECT * EXCLUDE (file_row_number{drop}) REPLACE ({flagged} AS redelivered) FROM {rows} "
                    f"WHERE {where} ORDER BY file_row_number",
                    target,
                )
            described = self.describe(engine, target)
            if not described[0]:  # only bad or empty log files
                target.unlink()
                continue
            added.append(self.lake_file(relative, (account, region, date), target, described, batch_id))
            staged += self.staged(engine, target, relative)
            report.redelivered += described[1]
            sources_here = engine.rows(f"SELECT DISTINCT source_path FROM read_parquet({sql_string(str(target))})")
            links += [(source, relative) for (source,) in sources_here]
        whole.unlink(missing_ok=True)
        _crash_point("staged", self._crashes)
        for source, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        _crash_point("renamed", self._crashes)
        skipped = {s.path: s.reason for s in stats.skipped}
        empty = {f.path: f.uri for f in batch if f.uri not in counts and f.uri not in skipped}
        skipped |= {empty[path]: why for path, why in engine.why_no_events(list(empty)).items()}
        sources = []
        for log in batch:
            events = counts.get(log.uri, 0)
            note = skipped.get(log.uri)
            if note is not None:
                report.files_skipped.append((log.uri, note))
            sources.append(SourceFile(log.uri, log.version, log.size, events, batch_id, note))
            report.events_read += events
        self.manifest.commit(sources, added, replaced, links)
        _crash_point("committed", self._crashes)
        report.files_ingested += len(batch)
        report.batches += 1
        report.lake_files += len(added)
        staging.rmdir()

    def _redeliveries(
        self, engine: DuckDBEngine, rows: str, where: str, earlier: list[str], changed: list[str]
    ) -> list[int]:
        """Row numbers of the batch's rows (of one partition) that deliver an event again.

        An event is delivered again when the lake already holds its eventID (for the same
        account and region, on the day or the days either side, outside the changed files
        being read again, and outside the batch's own sources, whatever the manifest says of
        them), or an earlier row of the batch has it (earlier by log file, then
        by position). A redelivery has the same eventTime, so only the lake's row groups
        over the batch's time range are read.
        """
        found = engine.rows(
            f"SELECT file_row_number FROM (SELECT file_row_number, row_number() OVER "
            f"(PARTITION BY eventid ORDER BY source_path, file_row_number) AS nth FROM {rows} WHERE {where} AND eventid IN "
            f"(SELECT eventid FROM {rows} WHERE {where} GROUP BY eventid HAVING count(*) > 1)) WHERE nth > 1"
        )
        if earlier:
            [(low, high)] = engine.rows(f"SELECT min(eventtime_ts), max(eventtime_ts) FROM {rows} WHERE {where}")
            if low is not None:
                outside = f" AND source_path NOT IN (SELECT unnest({sql_list(changed)}))" if changed else ""
                found += engine.rows(
                    f"SELECT file_row_number FROM {rows} WHERE {where} AND eventid IN (SELECT eventid FROM "
                    f"read_parquet({sql_list(earlier)}) WHERE eventtime_ts BETWEEN ? AND ?{outside})",
                    [low, high],
                )
        return sorted({int(n) for (n,) in found})

    def _take_out(
        self, engine: DuckDBEngine, changed: list[str], staging: Path, batch_id: str
    ) -> tuple[dict[str, str | None], list[LakeFile], list[tuple[Path, Path]]]:
        """Rewrite the lake files holding rows of changed sources without those rows."""
        replaced: dict[str, str | None] = {}
        added: list[LakeFile] = []
        staged: list[tuple[Path, Path]] = []
        if not changed:
            return replaced, added, staged
        links = self.manifest.links()
        holding = sorted({path for uri in changed for path in links.get(uri, [])})
        by_path = {f.path: f for f in self.manifest.lake_files()}
        for index, path in enumerate(holding):
            old = by_path[path]
            relative = str(PurePath(path).parent / f"part-{batch_id}-{index}.parquet")
            target = staging / f"rewrite-{index}.parquet"
            self.write(
                engine,
                f"SELECT * FROM read_parquet({sql_string(str(self.folder / path))}) "
                f"WHERE source_path NOT IN (SELECT unnest({sql_list(changed)}))",
                target,
            )
            described = self.describe(engine, target)
            if not described[0]:
                replaced[path] = None
                target.unlink()
                continue
            replaced[path] = relative
            added.append(self.lake_file(relative, (old.account, old.region, old.date), target, described, batch_id))
            staged += self.staged(engine, target, relative)
        return replaced, added, staged


def ingest(
    logs: str,
    workspace: str | os.PathLike[str],
    options: IngestOptions | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest the new or changed log files of ``logs`` (a folder, ``s3://`` URI or workspace table) into the lake."""
    lake = Lake(workspace, options)
    kept = Workspace(workspace)  # its tables, location maps and S3 settings
    locations = WorkspaceLocations(kept, S3Source(S3Options.from_config(kept.s3_config)))
    try:
        lake.s3 = locations.s3()
        folders: list[local.FolderRecord] = []
        listing = list_sources(logs, kept, locations, folders)
        # (validated first: the S3 objects it fetches are in the cache the ingest reads)
        checked = verify_days(logs, kept, lake.options.since, lake.options.until) if lake.options.verify else None
        report = lake.ingest(listing, progress, folders)
        if checked is not None:
            report.verified = checked.statuses(f.uri for f in map(restated, listing.files) if lake.in_days(f))
            lake.manifest.record_verification(report.verified, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        return report
    finally:
        locations.s3().close()
        lake.close()
