"""The lake checks itself: no fault of the lake or its manifest changes a query's answer.

Each fault is applied to a lake ingested from logs the test wrote; the query's answer is
compared with plain Python over those JSON logs, the query must say on its warnings that
it did not trust the lake (when it did not), and ``trailsql ingest`` must repair the lake
so that the next query reads it all again with the same answer.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from trailsql.cli.main import cli
from trailsql.errors import CatalogError
from trailsql.generate import GenerateOptions, generate
from trailsql.lake import maintain
from trailsql.lake import manifest as manifest_module
from trailsql.lake.ingest import IngestOptions, Lake, ingest, lake_folder
from trailsql.lake.manifest import MANIFEST_NAME
from trailsql.session import Session
from trailsql.sql.parse import parse_one

QUERY = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1"


def expected(root: Path) -> Counter[str]:
    """Events by name, every delivery, in plain Python over the JSON logs."""
    found: Counter[str] = Counter()
    for path in root.rglob("*.json.gz"):
        found.update(r["eventName"] for r in json.loads(gzip.decompress(path.read_bytes()))["Records"])
    return found


def answer(root: Path, workspace: Path) -> tuple[Counter[str], list[str], int]:
    """The query's answer, its warnings and the events it read from the lake."""
    session = Session(logs=root, workspace=workspace)
    try:
        result = session.execute(QUERY)
    finally:
        session.close()
    rows = Counter({r["eventname"]: r["n"] for r in result.table.to_pylist()})
    return rows, result.warnings, result.stats.events_from_lake


def lake_files(workspace: Path) -> list[Path]:
    return sorted(lake_folder(workspace).glob("account=*/**/*.parquet"))  # (not _damaged/ nor _profiles/)


def delete(workspace: Path) -> None:
    lake_files(workspace)[0].unlink()


def truncate(workspace: Path) -> None:
    path = lake_files(workspace)[0]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def drop_rows(workspace: Path) -> None:
    """Rewrite a lake file without the rows of its most common event name (the ConsoleLogin case)."""
    path = lake_files(workspace)[0]
    table = pq.read_table(path)
    common = Counter(table.column("eventname").to_pylist()).most_common(1)[0][0]
    keep = [name != common for name in table.column("eventname").to_pylist()]
    pq.write_table(table.filter(keep), path, compression="zstd")


def copy_over(workspace: Path) -> None:
    first, second = lake_files(workspace)[:2]
    shutil.copy(second, first)


def garbage_manifest(workspace: Path) -> None:
    folder = lake_folder(workspace)
    for suffix in ("-wal", "-shm"):
        (folder / (MANIFEST_NAME + suffix)).unlink(missing_ok=True)
    (folder / MANIFEST_NAME).write_bytes(b"this is not a database" * 100)


def empty_table(name: str) -> Callable[[Path], None]:
    def empty(workspace: Path) -> None:
        db = sqlite3.connect(lake_folder(workspace) / MANIFEST_NAME)
        db.execute(f"DELETE FROM {name}")
        db.commit()
        db.close()

    empty.__name__ = f"empty_{name}"
    return empty


#: Faults under which the query must not trust (part of) the lake and say so.
DISTRUSTED: list[Callable[[Path], None]] = [
    delete,
    truncate,
    drop_rows,
    copy_over,
    garbage_manifest,
    empty_table("links"),
    empty_table("lake_files"),
]
#: Faults after which the lake simply holds nothing for the query (no warning needed).
SILENT: list[Callable[[Path], None]] = [empty_table("sources")]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    generate(root, GenerateOptions(events=1200, events_per_file=100, days=2, regions=("us-east-1", "us-west-2")))
    return root


@pytest.mark.parametrize("fault", DISTRUSTED + SILENT, ids=[f.__name__ for f in DISTRUSTED + SILENT])
def test_a_damaged_lake_gives_the_logs_answer_and_ingest_repairs_it(
    logs: Path, tmp_path: Path, fault: Callable[[Path], None]
) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    truth = expected(logs)
    assert answer(logs, workspace)[0] == truth
    fault(workspace)
    rows, warnings, _ = answer(logs, workspace)
    assert rows == truth
    if fault in DISTRUSTED:
        assert any("not trusted" in w for w in warnings), warnings
    report = ingest(str(logs), workspace)
    assert report.repaired or fault in (garbage_manifest, *SILENT) or fault.__name__ == "empty_lake_files"
    rows, warnings, from_lake = answer(logs, workspace)
    assert (rows, warnings, from_lake) == (truth, [], sum(truth.values()))
    # Every event once, no phantom redelivery (the emptied sources table made them all "redelivered").
    redelivered = sum(
        pq.read_table(p, columns=["redelivered"]).column(0).to_pylist().count(True) for p in lake_files(workspace)
    )
    assert redelivered == 0


def flip_a_byte(workspace: Path) -> None:
    """Damage inside the data, same size and footer: only the hash sees it."""
    path = lake_files(workspace)[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def test_lake_verify_finds_what_only_the_hash_sees_and_ingest_repairs_it(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    runner = CliRunner()
    sound = runner.invoke(cli, ["lake", "verify", "--workspace", str(workspace), "--format", "json"])
    assert (sound.exit_code, json.loads(sound.stdout)) == (0, [])
    flip_a_byte(workspace)
    damaged = runner.invoke(cli, ["lake", "verify", "--workspace", str(workspace), "--format", "json"])
    relative = lake_files(workspace)[0].relative_to(lake_folder(workspace)).as_posix()
    assert damaged.exit_code == 1
    assert [row["path"] for row in json.loads(damaged.stdout)] == [relative]
    rows, warnings, _ = answer(logs, workspace)  # marked damaged: not read
    assert rows == expected(logs) and warnings
    assert ingest(str(logs), workspace).repaired
    assert runner.invoke(cli, ["lake", "verify", "--workspace", str(workspace)]).exit_code == 0


def test_a_manifest_without_hashes_opens_and_verify_records_them(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    db = sqlite3.connect(lake_folder(workspace) / MANIFEST_NAME)
    db.execute("ALTER TABLE lake_files DROP COLUMN sha256")
    db.execute("ALTER TABLE lake_files DROP COLUMN damaged")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    assert answer(logs, workspace)[0] == expected(logs)
    lake = Lake(workspace)
    try:
        assert maintain.verify(lake) == []
        assert all(f.sha256 for f in lake.manifest.lake_files())
    finally:
        lake.close()


def test_a_full_disk_at_the_manifest_commit_is_one_clean_error(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    real = manifest_module.Manifest._transaction
    monkeypatch.setattr(manifest_module.Manifest, "_transaction", lambda self: _raising(real(self)))
    with pytest.raises(CatalogError, match="could not be written"):
        ingest(str(logs), workspace)
    monkeypatch.undo()
    assert answer(logs, workspace)[0] == expected(logs)
    ingest(str(logs), workspace)
    assert answer(logs, workspace)[2] == sum(expected(logs).values())


class _raising:
    """A transaction whose COMMIT fails as SQLite does on a full disk."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Any:
        cur = self.inner.__enter__()
        return cur

    def __exit__(self, *exc: Any) -> Any:
        return self.inner.__exit__(sqlite3.OperationalError, sqlite3.OperationalError("database or disk is full"), None)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """A function giving a read-only view of a folder: a bind mount remounted ``ro`` (which
    refuses writes even to root); skipped where this process may not mount."""
    mounts: list[Path] = []

    def view(folder: Path) -> Path:
        target = tmp_path / f"ro{len(mounts)}"
        target.mkdir()
        for command in (["mount", "--bind", str(folder), str(target)], ["mount", "-o", "remount,bind,ro", str(target)]):
            if shutil.which("mount") is None or subprocess.run(command, capture_output=True).returncode != 0:
                subprocess.run(["umount", str(target)], capture_output=True)
                pytest.skip("a read-only bind mount needs mount privileges")
        mounts.append(target)
        return target

    yield view
    for target in mounts:
        subprocess.run(["umount", str(target)], check=True)


def _state(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_a_read_only_workspace_is_queried_from_its_lake(
    logs: Path, tmp_path: Path, read_only: Callable[[Path], Path]
) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    before = _state(workspace)
    mounted = read_only(workspace)
    with pytest.raises(OSError):
        (mounted / "probe").write_text("x")
    rows, warnings, from_lake = answer(logs, mounted)
    assert (rows, warnings, from_lake) == (expected(logs), [], sum(expected(logs).values()))
    assert _state(workspace) == before


def test_a_query_planned_before_a_compaction_and_a_re_ingest_still_reads_its_files(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning (the lake files chosen) and reading are apart in time; a compaction and a
    re-ingest that replace those files in between must not make the query fail."""
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace, IngestOptions(batch_files=3))
    session = Session(logs=logs, workspace=workspace)
    try:
        plan = session.plan(parse_one(QUERY))
        inputs, warnings = session.cover(session.list_files(plan).inputs)
        assert warnings == []
        planned = {p for given in inputs for read in given.lake for p in read.files}
        assert planned
        before = expected(logs)  # the answer when the query was planned, from the JSON
        lake = Lake(workspace)
        try:
            maintain.compact(lake)
        finally:
            lake.close()
        changed = sorted(logs.rglob("*.json.gz"))[0]  # a redelivered file: the lake rewrites its rows
        records = json.loads(gzip.decompress(changed.read_bytes()))["Records"]
        changed.write_bytes(gzip.compress(json.dumps({"Records": records[:-1]}).encode()))
        ingest(str(logs), workspace)
        assert not planned & {str(lake_folder(workspace) / f) for f in _listed(workspace)}  # all replaced
        table, stats = session.engine.run(plan, inputs)
        assert Counter({r["eventname"]: r["n"] for r in table.to_pylist()}) == before
        assert stats.skipped == []
    finally:
        session.close()
    monkeypatch.setattr(manifest_module, "RETIRED_GRACE_S", 0)
    lake = Lake(workspace)
    try:
        lake.manifest.clean()
    finally:
        lake.close()
    assert not any(Path(p).exists() for p in planned)  # gone once the grace period is over


def _listed(workspace: Path) -> list[str]:
    manifest = manifest_module.Manifest(lake_folder(workspace), create=False)
    try:
        return [f.path for f in manifest.lake_files()]
    finally:
        manifest.close()


def test_opening_a_workspace_with_tables_writes_nothing(
    logs: Path, tmp_path: Path, read_only: Callable[[Path], Path]
) -> None:
    """Opening reads the stored DDL (it used to replay and rewrite it); so a workspace with
    tables, location maps and a lake is queried from a read-only mount."""
    workspace = tmp_path / "ws"
    maps = {"s3://trail": str(logs)}
    ddl = (
        "CREATE EXTERNAL TABLE trail (eventname STRING, eventtime STRING) "
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION 's3://trail/'"
    )
    with Session(logs=logs, workspace=workspace, location_maps=maps) as session:
        session.execute(ddl)
    ingest(str(logs), workspace)
    before = _files(workspace)
    with Session(logs=logs, workspace=workspace, location_maps=maps) as session:
        events = [{"n": sum(expected(logs).values())}]
        assert session.execute("SELECT count(*) AS n FROM trail").table.to_pylist() == events
        assert session.execute("SELECT count(*) AS n FROM cloudtrail_logs").table.to_pylist() == events
    assert _files(workspace) == before
    mounted = read_only(workspace)
    rows, warnings, from_lake = answer(logs, mounted)
    assert (rows, warnings, from_lake) == (expected(logs), [], sum(expected(logs).values()))
    with Session(logs=logs, workspace=mounted) as session:
        assert "trail" in session.workspace.tables
    assert _files(workspace) == before


def _files(folder: Path) -> list[tuple[str, int, int]]:
    """Every file with its size and modification time, but SQLite's transient -wal/-shm."""
    return [f for f in _state(folder) if not f[0].endswith(("-wal", "-shm")) and (folder / f[0]).is_file()]


RELIABILITY: dict[str, int] = {"lake faults and races": len(DISTRUSTED) + len(SILENT) + 6}
