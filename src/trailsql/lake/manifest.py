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
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from trailsql.errors import CatalogError
from trailsql.sources.local import FolderRecord

MANIFEST_NAME = "_manifest.sqlite"
#: Each lake file's first-seen profile (see :mod:`trailsql.lake.profiles`) is below this folder.
PROFILES_NAME = "_profiles"
#: Files being written: COPY writes here, then each file is renamed into its partition.
STAGING_NAME = "_staging"
#: Where a damaged lake file is moved when ingest repairs it (kept as evidence, never read).
DAMAGED_NAME = "_damaged"
#: How long a lake file compaction or re-ingest replaced stays on disk: a query planned over
#: it before the commit (planning to reading takes seconds) still finds it.
RETIRED_GRACE_S = 15 * 60
#: Bumped when the manifest's tables change; an older lake is refused with a clear message.
SCHEMA_VERSION = 5
#: ``trailsql ingest --verify``: each source file's CloudTrail integrity status (see
#: :mod:`trailsql.verify`), when it was checked, dropped when the source is read again.
_VERIFICATION = """
CREATE TABLE IF NOT EXISTS verification (
    location TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    checked TEXT NOT NULL
)"""
_FOLDERS = """
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    listed_ns INTEGER NOT NULL,
    newest_ns INTEGER NOT NULL,
    entries TEXT NOT NULL
)"""
#: Versions opened and migrated in place, each to the next: 2 lacks ``lake_files.sha256`` and
#: ``damaged``, 3 the ``folders`` table, 4 the ``verification`` table.
_MIGRATIONS = {
    2: ("ALTER TABLE lake_files ADD COLUMN sha256 TEXT", "ALTER TABLE lake_files ADD COLUMN damaged TEXT"),
    3: (_FOLDERS,),
    4: (_VERIFICATION,),
}
#: What SQLite says when the disk is full (or the file cannot grow).
_FULL = ("database or disk is full", "disk i/o error")

_SCHEMA = (
    """
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
    sorted INTEGER NOT NULL,
    sha256 TEXT,
    damaged TEXT
);
CREATE TABLE IF NOT EXISTS links (
    location TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (location, path)
);
CREATE INDEX IF NOT EXISTS links_by_path ON links (path);
"""
    + _FOLDERS
    + ";\n"
    + _VERIFICATION
    + ";\n"
)


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
    ``bytes``, ``rows`` and ``sha256`` are what was written, checked before the file is
    trusted (``sha256`` is None in a lake made before they were recorded); ``damaged``
    says why ``lake verify`` found it damaged.
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
    sha256: str | None = None
    damaged: str | None = None


_LAKE_FILE_COLUMNS = ", ".join(f.name for f in dataclasses.fields(LakeFile))


def lake_folder(workspace: str | os.PathLike[str]) -> Path:
    """Where a workspace keeps its lake (its manifest and Parquet files)."""
    return Path(workspace) / "lake"


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's content, read in chunks (lake files may be large)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def writable(folder: Path) -> bool:
    """Whether this process may create files in ``folder`` (a read-only mount says no, even to root)."""
    return os.access(folder, os.W_OK) and not os.statvfs(folder).f_flag & os.ST_RDONLY


def _connect(folder: Path, create: bool) -> sqlite3.Connection:
    """The manifest's database; read only (``mode=ro``, or ``immutable`` when even its WAL
    index cannot be made) when the folder is not writable, so a read-only workspace is queried."""
    path = folder / MANIFEST_NAME
    if create or writable(folder):
        return sqlite3.connect(path, isolation_level=None)
    mode = "ro" if (folder / (MANIFEST_NAME + "-shm")).exists() else "ro&immutable=1"
    return sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", isolation_level=None, uri=True)


def _retired_long_ago(path: Path) -> bool:
    """Whether a lake file the manifest does not list is past its grace period (its
    modification time is when it was written or retired)."""
    try:
        return time.time() - path.stat().st_mtime > RETIRED_GRACE_S
    except FileNotFoundError:
        return False


def full_disk(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite failed because the disk (or the file system) has no room."""
    return any(text in str(error).lower() for text in _FULL)


class Manifest:
    """The manifest of the lake in ``folder`` (created if missing)."""

    def __init__(self, folder: Path, create: bool = True) -> None:
        self.folder = folder
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        self.db = _connect(folder, create)
        self.read_only = not create and not writable(folder)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = self.db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables and version != SCHEMA_VERSION and version not in _MIGRATIONS:
            self.db.close()
            raise CatalogError(f"the lake in {folder} was made by another trailsql version: delete it and ingest again")
        #: Columns a lake of an older version lacks until it is migrated (a reader does not migrate).
        self._columns = [name for _, name, *_ in self.db.execute("PRAGMA table_info(lake_files)")]
        if self.read_only or not create:  # a query's reader writes nothing, not even a migration
            return
        self.db.execute("PRAGMA synchronous=FULL")
        if tables and version in _MIGRATIONS:
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._columns = [f.name for f in dataclasses.fields(LakeFile)]
        if not tables:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._columns = [f.name for f in dataclasses.fields(LakeFile)]

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

    def folder_records(self) -> dict[str, FolderRecord]:
        """What ingest's last listing of each day folder found, by folder path. A record that
        cannot be read is left out (its folder is listed), as are all in a manifest of an older
        version that a reader does not migrate."""
        try:
            rows = self.db.execute("SELECT path, mtime_ns, listed_ns, newest_ns, entries FROM folders").fetchall()
        except sqlite3.OperationalError:  # no such table: a read-only manifest of version 3
            return {}
        found = {}
        for path, mtime_ns, listed_ns, newest_ns, entries in rows:
            try:
                stored = json.loads(entries)
                found[path] = FolderRecord.restore(
                    path, mtime_ns, listed_ns, newest_ns, stored["files"], stored["skipped"]
                )
            except (ValueError, TypeError, KeyError):
                continue
        return found

    def record_folders(self, records: Iterable[FolderRecord]) -> None:
        """Keep what listing these day folders found (replacing earlier records of them), in one transaction."""
        rows = []
        for record in records:
            files, skipped = record.stored()
            entries = json.dumps({"files": files, "skipped": skipped}, separators=(",", ":"))
            rows.append((record.path, record.mtime_ns, record.listed_ns, record.newest_ns, entries))
        with self._transaction() as cur:
            cur.executemany("INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?)", rows)

    def record_verification(self, statuses: Mapping[str, tuple[str, str]], checked: str) -> None:
        """Keep each source's integrity status and its detail (``trailsql ingest --verify``),
        checked at ``checked`` (ISO 8601), replacing what an earlier run said of it."""
        rows = [(location, status, detail, checked) for location, (status, detail) in statuses.items()]
        with self._transaction() as cur:
            cur.executemany("INSERT OR REPLACE INTO verification VALUES (?, ?, ?, ?)", rows)

    def verification(self) -> dict[str, str]:
        """Each source's integrity status (``valid``, ``hash mismatch``, ``not validated``, ...)
        by location, for the sources ``ingest --verify`` checked; none in a manifest of an
        older version that a reader does not migrate."""
        try:
            rows = self.db.execute("SELECT location, status FROM verification").fetchall()
        except sqlite3.OperationalError:  # no such table: a read-only manifest of version 4
            return {}
        return {str(location): str(status) for location, status in rows}

    def lake_files(self, partitions: Iterable[tuple[str, str, str]] | None = None) -> list[LakeFile]:
        """The lake's files, all or those of the given (account, region, date) partitions."""
        names = [f.name for f in dataclasses.fields(LakeFile)]
        select = ", ".join(n if n in self._columns else "NULL" for n in names)
        found = self.db.execute(f"SELECT {select} FROM lake_files ORDER BY path")
        rows = [dataclasses.replace(f, sorted=bool(f.sorted)) for f in (LakeFile(*row) for row in found)]
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
        with self._transaction() as cur:
            for old, new in replaced.items():
                if new is None:
                    cur.execute("DELETE FROM links WHERE path = ?", (old,))
                else:
                    cur.execute("UPDATE OR IGNORE links SET path = ? WHERE path = ?", (new, old))
                    cur.execute("DELETE FROM links WHERE path = ?", (old,))
                cur.execute("DELETE FROM lake_files WHERE path = ?", (old,))
            cur.executemany("DELETE FROM links WHERE location = ?", [(s.location,) for s in sources])
            # (a source read again: its verification was of what it held before)
            cur.executemany("DELETE FROM verification WHERE location = ?", [(s.location,) for s in sources])
            cur.executemany(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.location, s.version, s.size, s.events, s.batch, s.note, int(s.pruned)) for s in sources],
            )
            marks = ", ".join("?" * len(dataclasses.fields(LakeFile)))
            cur.executemany(
                f"INSERT INTO lake_files ({_LAKE_FILE_COLUMNS}) VALUES ({marks})",
                [dataclasses.astuple(f) for f in added],
            )
            cur.executemany("INSERT OR IGNORE INTO links VALUES (?, ?)", list(links))
        self._retire(replaced)

    def _retire(self, paths: Iterable[str]) -> None:
        """Start the grace period of lake files the manifest no longer lists: :meth:`clean`
        deletes them :data:`RETIRED_GRACE_S` after, so a query planned before still reads them."""
        for path in paths:
            with contextlib.suppress(OSError):
                os.utime(self.folder / path)

    def mark_pruned(self, paths: list[str]) -> None:
        """Remove lake files whose partitions retention dropped; their sources stay known but pruned."""
        with self._transaction() as cur:
            for path in paths:
                cur.execute(
                    "UPDATE sources SET pruned = 1 WHERE location IN (SELECT location FROM links WHERE path = ?)",
                    (path,),
                )
                cur.execute("DELETE FROM links WHERE path = ?", (path,))
                cur.execute("DELETE FROM lake_files WHERE path = ?", (path,))

    def record_checks(self, hashes: Mapping[str, str], damaged: Mapping[str, str | None]) -> None:
        """Keep what ``lake verify`` found: hashes of files that had none, and why files are damaged."""
        with self._transaction() as cur:
            cur.executemany("UPDATE lake_files SET sha256 = ? WHERE path = ?", [(h, p) for p, h in hashes.items()])
            cur.executemany("UPDATE lake_files SET damaged = ? WHERE path = ?", [(d, p) for p, d in damaged.items()])

    def forget(self, paths: Iterable[str], locations: Iterable[str]) -> None:
        """Take damaged lake files out, and mark the sources they held as not ingested (version
        ``""``), so the next ingest reads those sources again and rewrites the other lake files
        holding their rows without them."""
        with self._transaction() as cur:
            cur.executemany("DELETE FROM links WHERE path = ?", [(p,) for p in paths])
            cur.executemany("DELETE FROM lake_files WHERE path = ?", [(p,) for p in paths])
            cur.executemany("UPDATE sources SET version = '' WHERE location = ?", [(u,) for u in locations])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """One write transaction, rolled back on any failure; a full disk is one clean error
        (the lake is as it was before: the data written is debris the next run deletes)."""
        cur = self.db.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            if full_disk(error):
                raise CatalogError(
                    f"the lake's manifest in {self.folder} could not be written ({error}): nothing was "
                    "recorded; free some space and run the command again"
                ) from None
            raise

    def clean(self) -> list[str]:
        """Delete staging leftovers and Parquet files the manifest does not list (once their
        grace period is over, see :meth:`_retire`); return them."""
        known = {f.path for f in self.lake_files()}
        removed = []
        for dirpath, _, filenames in os.walk(self.folder):
            for name in filenames:
                full = Path(dirpath) / name
                relative = full.relative_to(self.folder).as_posix()
                if relative.startswith(DAMAGED_NAME + "/"):
                    continue
                staged = relative.startswith(STAGING_NAME + "/")
                # A profile (lake/profiles.py) goes with its lake file.
                of = relative.removeprefix(PROFILES_NAME + "/")
                if staged or (relative.endswith(".parquet") and of not in known and _retired_long_ago(full)):
                    full.unlink()
                    removed.append(relative)
        for dirpath, _, _ in os.walk(self.folder, topdown=False):
            if dirpath != str(self.folder):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        return removed
