"""The lake's manifest: which source files are in the lake, and which Parquet files hold them.

A SQLite file ``<lake>/_manifest.sqlite`` (hidden from Hive readers by its ``_``). The
manifest is the truth about the lake: a Parquet file it does not list is debris of a run
that was killed before it committed, and :meth:`Manifest.clean` deletes it. Each batch
commits its source files, lake files and the links between them in one transaction,
after the data is in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from trailsql.errors import CatalogError

MANIFEST_NAME = "_manifest.sqlite"
#: Files being written: COPY writes here, then each file is renamed into its partition.
STAGING_NAME = "_staging"
#: Bumped when the manifest's tables change; an older lake is refused with a clear message.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    location TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    size INTEGER NOT NULL,
    events INTEGER NOT NULL,
    batch TEXT NOT NULL,
    note TEXT,
    pruned INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS lake_files (
    path TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    date TEXT NOT NULL,
    rows INTEGER NOT NULL,
    redelivered INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_time TEXT,
    max_time TEXT,
    batch TEXT NOT NULL,
    sorted INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    location TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (location, path)
);
CREATE INDEX IF NOT EXISTS links_by_path ON links (path);
"""


@dataclass(frozen=True)
class SourceFile:
    """A log file ingested: its URI, version and size when read, events read, the batch,
    why it was skipped (if it was), and whether ``lake prune`` has since removed its rows."""

    location: str
    version: str
    size: int
    events: int
    batch: str
    note: str | None = None
    pruned: bool = False


@dataclass(frozen=True)
class LakeFile:
    """A Parquet file of the lake, by its path relative to the lake folder.

    ``redelivered`` counts its rows that are second deliveries of an event already in the
    lake; ``sorted`` says whether its rows are sorted by event time (compacted).
    """

    path: str
    account: str
    region: str
    date: str
    rows: int
    redelivered: int
    bytes: int
    min_time: str | None
    max_time: str | None
    batch: str
    sorted: bool = False


class Manifest:
    """The manifest of the lake in ``folder`` (created if missing)."""

    def __init__(self, folder: Path, create: bool = True) -> None:
        self.folder = folder
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / MANIFEST_NAME, isolation_level=None)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables and version != SCHEMA_VERSION:
            self.db.close()
            raise CatalogError(f"the lake in {folder} was made by another trailsql version: delete it and ingest again")
        self.db.execute("PRAGMA synchronous=FULL")
        if not tables:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def sources(self) -> dict[str, SourceFile]:
        """Every source file ingested, by location."""
        rows = self.db.execute("SELECT * FROM sources")
        return {
            location: SourceFile(location, version, size, events, batch, note, bool(pruned))
            for location, version, size, events, batch, note, pruned in rows
        }

    def links(self) -> dict[str, list[str]]:
        """The lake files holding each source's rows, by source location."""
        found: dict[str, list[str]] = {}
        for location, path in self.db.execute("SELECT location, path FROM links ORDER BY path"):
            found.setdefault(location, []).append(path)
        return found

    def lake_files(self, partitions: Iterable[tuple[str, str, str]] | None = None) -> list[LakeFile]:
        """The lake's files, all or those of the given (account, region, date) partitions."""
        found = self.db.execute("SELECT * FROM lake_files ORDER BY path")
        rows = [dataclasses.replace(LakeFile(*row), sorted=bool(row[-1])) for row in found]
        if partitions is None:
            return rows
        wanted = set(partitions)
        return [f for f in rows if (f.account, f.region, f.date) in wanted]

    def commit(
        self,
        sources: list[SourceFile],
        added: list[LakeFile],
        replaced: Mapping[str, str | None] | None = None,
        links: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Record a batch (or a compaction, or a prune) atomically.

        ``replaced`` maps each lake file taken out to the file now holding its rows (or None
        when they are gone); ``links`` are the (source, lake file) pairs of ``sources``.
        """
        replaced = replaced or {}
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for old, new in replaced.items():
                if new is None:
                    cur.execute("DELETE FROM links WHERE path = ?", (old,))
                else:
                    cur.execute("UPDATE OR IGNORE links SET path = ? WHERE path = ?", (new, old))
                    cur.execute("DELETE FROM links WHERE path = ?", (old,))
                cur.execute("DELETE FROM lake_files WHERE path = ?", (old,))
            cur.executemany("DELETE FROM links WHERE location = ?", [(s.location,) for s in sources])
            cur.executemany(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.location, s.version, s.size, s.events, s.batch, s.note, int(s.pruned)) for s in sources],
            )
            cur.executemany(
                "INSERT INTO lake_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [dataclasses.astuple(f) for f in added],
            )
            cur.executemany("INSERT OR IGNORE INTO links VALUES (?, ?)", list(links))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def mark_pruned(self, paths: list[str]) -> None:
        """Remove lake files whose partitions retention dropped; their sources stay known but pruned."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for path in paths:
                cur.execute(
                    "UPDATE sources SET pruned = 1 WHERE location IN (SELECT location FROM links WHERE path = ?)",
                    (path,),
                )
                cur.execute("DELETE FROM links WHERE path = ?", (path,))
                cur.execute("DELETE FROM lake_files WHERE path = ?", (path,))
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
