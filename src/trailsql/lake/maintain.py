"""Keeping the lake in shape: compaction, statistics and retention.

Every change follows ingest's order: new data is written to ``_staging/`` and renamed into
place, the manifest commits, and only then are replaced files deleted (after a grace period,
for queries planned before, see ``RETIRED_GRACE_S``); a run killed in between leaves files the
manifest does not list, which a later command deletes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from trailsql.errors import UsageError
from trailsql.lake.check import full_fault, unlinked_sources
from trailsql.lake.ingest import Lake, sql_list
from trailsql.lake.manifest import STAGING_NAME, LakeFile, file_sha256
from trailsql.library.window import parse_duration

#: DuckDB's memory limit while compacting (peak RSS measured 808 MiB at 10M events).
COMPACT_MEMORY_LIMIT = "640MB"


@dataclass
class CompactReport:
    partitions: int = 0
    files_before: int = 0
    files_after: int = 0


def compact(lake: Lake, min_files: int = 2) -> CompactReport:
    """Merge the files of each partition holding at least ``min_files`` into one sorted by event
    time (latest first: the order of a security review, whose ``ORDER BY eventTime DESC LIMIT n``
    then reads the first row groups only), and sort a partition's single file if ingest wrote it."""
    lake.manifest.clean()
    report = CompactReport()
    groups: dict[tuple[str, str, str], list[LakeFile]] = {}
    for f in lake.manifest.lake_files():
        groups.setdefault((f.account, f.region, f.date), []).append(f)
    # Sorting a partition spills to disk past the limit: ingest's 800 MB would take compaction's RSS near 1 GB.
    engine = lake.engine(memory_limit=COMPACT_MEMORY_LIMIT)
    try:
        for (account, region, date), files in sorted(groups.items()):
            if len(files) < min_files and all(f.sorted for f in files):
                continue
            batch_id = lake.next_batch()
            staging = lake.folder / STAGING_NAME / batch_id
            staging.mkdir(parents=True, exist_ok=True)
            target = staging / "0.parquet"
            listed = sql_list([str(lake.folder / f.path) for f in files])
            lake.write(engine, f"SELECT * FROM read_parquet({listed}) ORDER BY eventtime_ts DESC, eventid", target)
            relative = f"account={account}/region={region}/date={date}/part-{batch_id}.parquet"
            described = lake.describe(engine, target)
            merged = lake.lake_file(relative, (account, region, date), target, described, batch_id, sorted=True)
            for staged, placed in lake.staged(engine, target, relative):
                placed.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, placed)
            lake.manifest.commit([], [merged], {f.path: relative for f in files})
            staging.rmdir()
            report.partitions += 1
            report.files_before += len(files)
            report.files_after += 1
    finally:
        engine.close()
        lake.manifest.clean()
    return report


def stats(lake: Lake) -> list[dict[str, object]]:
    """Events, files, bytes and date range per account and region."""
    rows = lake.manifest.db.execute(
        "SELECT account, region, sum(rows) - sum(redelivered), sum(redelivered), count(*), sum(bytes), "
        "min(date), max(date), min(min_time), max(max_time) "
        "FROM lake_files GROUP BY account, region ORDER BY account, region"
    ).fetchall()
    keys = (
        "account",
        "region",
        "events",
        "redelivered",
        "files",
        "bytes",
        "first_date",
        "last_date",
        "first_event",
        "last_event",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def parse_age(text: str) -> dt.timedelta:
    """An age in the time grammar of every command (``400d``, ``8w``, ``30days``), whole days.

    >>> parse_age("400d").days, parse_age("30days").days
    (400, 30)
    """
    age = parse_duration(text)
    if age is None or age < dt.timedelta(days=1) or age % dt.timedelta(days=1):
        raise UsageError(f"expected an age in whole days or weeks like 400d, 8w or 30days, got {text}")
    return age


def prune(lake: Lake, older_than: dt.timedelta, today: dt.date | None = None) -> list[str]:
    """Delete partitions whose day is before ``today - older_than``; return their files.

    Their source files stay in the manifest, marked pruned: ingest does not read them
    again, and queries read them from the logs if the logs still hold them.
    """
    lake.manifest.clean()
    cutoff = ((today or dt.datetime.now(dt.UTC).date()) - older_than).isoformat()
    old = [f.path for f in lake.manifest.lake_files() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", f.date) and f.date < cutoff]
    lake.manifest.mark_pruned(old)
    for path in old:  # retention deletes now: no grace period for data past its age
        (lake.folder / path).unlink(missing_ok=True)
    lake.manifest.clean()
    return old


def verify(lake: Lake) -> list[dict[str, str]]:
    """Every lake file checked in full (size, footer rows, SHA-256) and the manifest's links;
    return what is damaged (``{"path", "problem"}``). A file whose hash was never recorded
    (a lake made before hashes) and passes the other checks has it recorded now; a damaged
    file is marked, so queries stop reading it and the next ingest repairs it."""
    files = lake.manifest.lake_files()
    damaged: list[dict[str, str]] = []
    hashes: dict[str, str] = {}
    marks: dict[str, str | None] = {}
    for f in files:
        fault = full_fault(lake.folder, f)
        if fault is None and f.sha256 is None:
            hashes[f.path] = file_sha256(lake.folder / f.path)
        if fault is not None:
            damaged.append({"path": f.path, "problem": fault})
        marks[f.path] = fault
    lost = unlinked_sources(lake.manifest.sources(), lake.manifest.links(), {f.path for f in files})
    damaged += [{"path": uri, "problem": why} for uri, why in sorted(lost.items())]
    lake.manifest.record_checks(hashes, marks)
    return damaged
