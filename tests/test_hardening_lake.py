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
from collections import Counter
from collections.abc import Callable
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
from trailsql.lake.ingest import Lake, ingest, lake_folder
from trailsql.lake.manifest import MANIFEST_NAME
from trailsql.session import Session

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
    return sorted(p for p in lake_folder(workspace).rglob("*.parquet") if "_damaged" not in p.parts)


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


RELIABILITY: dict[str, int] = {"lake faults and races": len(DISTRUSTED) + len(SILENT) + 3}
