"""The lake's manifest: which source files are in the lake, and which Parquet files hold them.

A SQLite file ``<lake>/_manifest.sqlite`` (hidden from Hive readers by its ``_``). The
manifest is the truth about the lake: a Parquet file it does not list is debris of a run
that was killed before it committed, and :meth:`Manifest.clean` deletes it. Each batch
commits its source files and lake files in one transaction, after the data is in place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "_manifest.sqlite"
#: Files being written: COPY writes here, then each file is renamed into its partition.
STAGING_NAME = "_staging"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    location TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    events INTEGER NOT NULL,
    batch TEXT NOT NULL,
    note TEXT
);
CREATE TABLE IF NOT EXISTS lake_files (
    path TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    date TEXT NOT NULL,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_time TEXT,
    max_time TEXT,
    batch TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SourceFile:
    """A log file ingested: where, its size and mtime when read, events read, the batch."""

    location: str
    size: int
    mtime_ns: int
    events: int
    batch: str
    note: str | None = None


@dataclass(frozen=True)
class LakeFile:
    """A Parquet file of the lake, by its path relative to the lake folder."""

    path: str
    account: str
    region: str
    date: str
    rows: int
    bytes: int
    min_time: str | None
    max_time: str | None
    batch: str


class Manifest:
    """The manifest of the lake in ``folder`` (created if missing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / MANIFEST_NAME, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def sources(self) -> dict[str, tuple[int, int]]:
        """Each ingested location's (size, mtime_ns) when it was read."""
        rows = self.db.execute("SELECT location, size, mtime_ns FROM sources")
        return {location: (size, mtime) for location, size, mtime in rows}

    def source_events(self) -> int:
        return int(self.db.execute("SELECT coalesce(sum(events), 0) FROM sources").fetchone()[0])

    def lake_files(self, partitions: Iterable[tuple[str, str, str]] | None = None) -> list[LakeFile]:
        """The lake's files, all or those of the given (account, region, date) partitions."""
        rows = [LakeFile(*row) for row in self.db.execute("SELECT * FROM lake_files ORDER BY path")]
        if partitions is None:
            return rows
        wanted = set(partitions)
        return [f for f in rows if (f.account, f.region, f.date) in wanted]

    def commit(self, sources: list[SourceFile], added: list[LakeFile], removed: Iterable[str] = ()) -> None:
        """Record a batch (or a compaction) atomically."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.executemany(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                [(s.location, s.size, s.mtime_ns, s.events, s.batch, s.note) for s in sources],
            )
            cur.executemany("DELETE FROM lake_files WHERE path = ?", [(p,) for p in removed])
            cur.executemany(
                "INSERT INTO lake_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (f.path, f.account, f.region, f.date, f.rows, f.bytes, f.min_time, f.max_time, f.batch)
                    for f in added
                ],
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def clean(self) -> list[str]:
        """Delete staging leftovers and Parquet files the manifest does not list; return them."""
        known = {f.path for f in self.lake_files()}
        removed = []
        for dirpath, _, filenames in os.walk(self.folder):
            for name in filenames:
                full = Path(dirpath) / name
                relative = full.relative_to(self.folder).as_posix()
                if relative.startswith(STAGING_NAME + "/") or (relative.endswith(".parquet") and relative not in known):
                    full.unlink()
                    removed.append(relative)
        for dirpath, _, _ in os.walk(self.folder, topdown=False):
            if dirpath != str(self.folder):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        return removed
