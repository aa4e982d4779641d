"""A lake query lists a day folder only when it changed since ingest listed it.

Ingest keeps, per day folder, its mtime and what listing it found; a query whose folder
still has that mtime takes the folder's files from the record (one stat), and covers whole
folders at once. Each test writes logs, ingests them, changes the folders as delivery
tools do (a new file, a file replaced by rename) and compares the answer with plain Python
over the JSON it wrote. Logs are dated an hour back (as delivered logs are): a record made
within two seconds of its folder's last change is never trusted (the racy case).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import test_hardening_lake
from trailsql.generate import GenerateOptions, generate
from trailsql.lake import manifest as manifest_module
from trailsql.lake.ingest import IngestOptions, ingest, lake_folder
from trailsql.lake.manifest import MANIFEST_NAME, Manifest
from trailsql.session import Session
from trailsql.sources import local
from trailsql.sql.parse import parse_one

QUERY = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1"
read_only = test_hardening_lake.read_only  # the fixture: a read-only bind mount of a folder
BY_FILE = 'SELECT "$path" AS p, region, day, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2, 3'


def records(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(gzip.decompress(path.read_bytes()))["Records"])


def readable(root: Path) -> dict[Path, list[dict[str, Any]]]:
    """The events of each log file below ``root`` that can be read (bad and empty files left out, as queries skip them)."""
    found = {}
    for path in sorted(root.rglob("*.json.gz")):
        with contextlib.suppress(OSError, EOFError, ValueError):
            found[path] = records(path)
    return found


def expected(root: Path) -> Counter[str]:
    """Events by name, every delivery, in plain Python over the JSON logs."""
    return Counter(r["eventName"] for events in readable(root).values() for r in events)


def expected_by_file(root: Path) -> set[tuple[str, str, str, int]]:
    return {(str(p), p.parents[3].name, p.parent.name, len(events)) for p, events in readable(root).items() if events}


def age(root: Path, seconds: float = 3600) -> None:
    """Date every file and folder below ``root`` ``seconds`` back, as logs delivered earlier are."""
    when = time.time() - seconds
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):  # files first: a folder's mtime last
        os.utime(path, (when, when))


def write_log(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_bytes(gzip.compress(json.dumps({"Records": events}).encode()))


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Two days, two regions, a redelivered file and an empty one; dated an hour back."""
    root = tmp_path / "logs"
    generate(root, GenerateOptions(events=1600, events_per_file=100, days=2, regions=("us-east-1", "us-west-2")))
    files = sorted(root.rglob("*.json.gz"))
    shutil.copy(files[0], files[0].with_name(files[0].name.replace(".json.gz", "-again.json.gz")))
    (files[-1].parent / "123456789012_CloudTrail_us-west-2_20250211T2359Z_empty.json.gz").write_bytes(b"")
    age(root)
    return root


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders a listing opens (each, on every listing), from now on."""
    opened: list[str] = []
    real = local._entries

    def spy(folder: Path | str, skipped: list[tuple[str, str]]) -> contextlib.AbstractContextManager[Any]:
        opened.append(str(folder))
        return real(folder, skipped)

    monkeypatch.setattr(local, "_entries", spy)
    return opened


def day_folders(root: Path) -> set[str]:
    return {str(p.parent) for p in root.rglob("*.json.gz")}


def query(root: Path, workspace: Path, sql: str = QUERY) -> tuple[Counter[str], int, int, list[str]]:
    """The count by event name, events from the lake and from the logs, and the warnings."""
    with Session(logs=root, workspace=workspace) as session:
        result = session.execute(sql)
    rows = Counter({r["eventname"]: r["n"] for r in result.table.to_pylist()})
    return rows, result.stats.events_from_lake, result.stats.events_from_logs, result.warnings


def test_ingest_records_each_day_folder_as_listing_found_it(logs: Path, tmp_path: Path) -> None:
    ingest(str(logs), tmp_path / "ws")
    manifest = Manifest(lake_folder(tmp_path / "ws"), create=False)
    try:
        kept = manifest.folder_records()
    finally:
        manifest.close()
    assert set(kept) == day_folders(logs)
    for folder, record in kept.items():
        names = sorted(p.name for p in Path(folder).iterdir() if p.stat().st_size)
        assert [Path(f.path).name for f in record.files] == names
        assert all(f.version == local.file_version(Path(f.path).stat()) for f in record.files)
        assert record.mtime_ns == Path(folder).stat().st_mtime_ns and record.trusted
    empty = [s for r in kept.values() for s in r.skipped]
    assert [(Path(p).name, why) for p, why in empty] == [
        ("123456789012_CloudTrail_us-west-2_20250211T2359Z_empty.json.gz", "empty file (0 bytes)")
    ]


def test_an_unchanged_folder_is_not_listed_again(logs: Path, tmp_path: Path, listed: list[str]) -> None:
    ingest(str(logs), tmp_path / "ws")
    listed.clear()
    rows, from_lake, from_logs, warnings = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and (from_lake, from_logs, warnings) == (sum(expected(logs).values()), 0, [])
    assert day_folders(logs).isdisjoint(listed) and listed  # only the folders above the days
    with Session(logs=logs, workspace=tmp_path / "ws") as session:
        by_file = session.execute(BY_FILE).table.to_pylist()
        assert {(r["p"], r["region"], r["day"], r["n"]) for r in by_file} == expected_by_file(logs)
        result = session.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE day = '11' AND region = 'us-west-2'")
        files = [p for p in logs.rglob("*.json.gz") if "/us-west-2/2025/02/11/" in str(p)]
        assert result.table.to_pylist() == [{"n": sum(len(e) for p, e in readable(logs).items() if p in files)}]
        assert result.stats.files_listed == len(files)  # the empty file is listed, skipped as the logs skip it
    assert day_folders(logs).isdisjoint(listed)


def test_a_new_file_in_a_folder_is_seen(logs: Path, tmp_path: Path) -> None:
    ingest(str(logs), tmp_path / "ws")
    first = sorted(logs.rglob("*.json.gz"))[0]
    write_log(first.with_name(first.name.replace(".json.gz", "-new.json.gz")), records(first)[:7])
    rows, from_lake, from_logs, _ = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and from_logs == 7 and from_lake == sum(expected(logs).values()) - 7


def test_a_file_replaced_by_rename_is_read_from_the_logs(logs: Path, tmp_path: Path) -> None:
    """As ``aws s3 sync`` and rsync write: a temporary file renamed over the old one (here the
    temporary file is written elsewhere, so only the rename touches the day folder)."""
    ingest(str(logs), tmp_path / "ws")
    target = sorted(logs.rglob("*.json.gz"))[3]
    kept = records(target)[:-4]
    staged = tmp_path / "staged.json.gz"
    write_log(staged, kept)
    os.replace(staged, target)
    rows, _, from_logs, _ = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and from_logs == len(kept)
    with Session(logs=logs, workspace=tmp_path / "ws") as session:
        by_file = session.execute(BY_FILE).table.to_pylist()
    assert {(r["p"], r["region"], r["day"], r["n"]) for r in by_file} == expected_by_file(logs)


def test_a_removed_file_is_no_longer_read(logs: Path, tmp_path: Path) -> None:
    ingest(str(logs), tmp_path / "ws")
    sorted(logs.rglob("*.json.gz"))[5].unlink()
    rows, _, from_logs, _ = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and from_logs == 0


def test_a_racy_record_is_not_trusted(tmp_path: Path, listed: list[str]) -> None:
    """Logs written just before the ingest: their folders' records may miss a file written in
    the same tick, so they are not trusted; a file then rewritten in place is still seen."""
    root = tmp_path / "logs"
    generate(root, GenerateOptions(events=400, events_per_file=100, days=1, regions=("us-east-1",)))
    ingest(str(root), tmp_path / "ws")
    manifest = Manifest(lake_folder(tmp_path / "ws"), create=False)
    try:
        assert [r.trusted for r in manifest.folder_records().values()] == [False]
    finally:
        manifest.close()
    target = sorted(root.rglob("*.json.gz"))[0]
    folder_mtime = target.parent.stat().st_mtime_ns
    content = gzip.compress(json.dumps({"Records": records(target)[:10]}).encode())
    with open(target, "wb") as handle:  # in place: the folder's mtime does not change
        handle.write(content)
    assert target.parent.stat().st_mtime_ns == folder_mtime
    listed.clear()
    rows, _, from_logs, _ = query(root, tmp_path / "ws")
    assert rows == expected(root) and from_logs == 10
    assert str(target.parent) in listed


def test_a_future_dated_folder_is_not_trusted(logs: Path, tmp_path: Path, listed: list[str]) -> None:
    ingest(str(logs), tmp_path / "ws")
    folder = sorted(day_folders(logs))[0]
    when = time.time() + 3600
    os.utime(folder, (when, when))
    ingest(str(logs), tmp_path / "ws")
    listed.clear()
    rows, *_ = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and folder in listed and len(set(listed) & day_folders(logs)) == 1


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE folders SET entries = 'not json' WHERE rowid = 1",
        'UPDATE folders SET entries = \'{"files": [[1]], "skipped": []}\'',
        "DELETE FROM folders",
        "DROP TABLE folders",
    ],
)
def test_a_corrupt_or_missing_record_falls_back_to_listing(
    logs: Path, tmp_path: Path, listed: list[str], damage: str
) -> None:
    ingest(str(logs), tmp_path / "ws")
    db = sqlite3.connect(lake_folder(tmp_path / "ws") / MANIFEST_NAME)
    db.execute(damage)
    db.commit()
    db.close()
    listed.clear()
    rows, from_lake, from_logs, warnings = query(logs, tmp_path / "ws")
    assert rows == expected(logs) and (from_lake, from_logs, warnings) == (sum(expected(logs).values()), 0, [])
    assert listed and set(listed) & day_folders(logs)


def test_a_manifest_without_folders_is_read_by_queries_and_migrated_by_ingest(logs: Path, tmp_path: Path) -> None:
    ingest(str(logs), tmp_path / "ws")
    db = sqlite3.connect(lake_folder(tmp_path / "ws") / MANIFEST_NAME)
    db.execute("DROP TABLE folders")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    assert query(logs, tmp_path / "ws")[0] == expected(logs)
    db = sqlite3.connect(lake_folder(tmp_path / "ws") / MANIFEST_NAME)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3  # a query migrates nothing: it writes nothing
    db.close()
    ingest(str(logs), tmp_path / "ws")
    manifest = Manifest(lake_folder(tmp_path / "ws"), create=False)
    try:
        assert set(manifest.folder_records()) == day_folders(logs)
        assert manifest.db.execute("PRAGMA user_version").fetchone()[0] == manifest_module.SCHEMA_VERSION
    finally:
        manifest.close()


def test_a_folder_with_a_link_or_a_subfolder_is_always_listed(logs: Path, tmp_path: Path, listed: list[str]) -> None:
    """A linked file's target, or a subfolder's files, change without the day folder's mtime."""
    folders = sorted(day_folders(logs))
    elsewhere = tmp_path / "elsewhere.json.gz"
    write_log(elsewhere, records(sorted(Path(folders[0]).iterdir())[0])[:3])
    (Path(folders[0]) / "123456789012_CloudTrail_us-east-1_20250210T2300Z_link.json.gz").symlink_to(elsewhere)
    (Path(folders[1]) / "more").mkdir()
    write_log(Path(folders[1]) / "more" / "123456789012_CloudTrail_us-east-1_20250211T2300Z_sub.json.gz", [])
    age(logs)
    ingest(str(logs), tmp_path / "ws")
    write_log(elsewhere, records(sorted(Path(folders[0]).iterdir())[1])[:5])
    listed.clear()
    rows, *_ = query(logs, tmp_path / "ws")
    assert rows == expected(logs)
    assert {folders[0], folders[1]} <= set(listed) and len(set(listed) & day_folders(logs)) == 2


def test_a_read_only_workspace_still_answers(
    logs: Path, tmp_path: Path, listed: list[str], read_only: Callable[[Path], Path]
) -> None:
    ingest(str(logs), tmp_path / "ws")
    first = sorted(logs.rglob("*.json.gz"))[0]
    write_log(first.with_name(first.name.replace(".json.gz", "-new.json.gz")), records(first)[:6])
    before = sorted((str(p), p.stat().st_mtime_ns) for p in (tmp_path / "ws").rglob("*"))
    mounted = read_only(tmp_path / "ws")
    listed.clear()
    rows, _, from_logs, warnings = query(logs, mounted)
    assert rows == expected(logs) and (from_logs, warnings) == (6, [])
    assert len(set(listed) & day_folders(logs)) == 1  # the changed folder only, and it is not recorded
    assert sorted((str(p), p.stat().st_mtime_ns) for p in (tmp_path / "ws").rglob("*")) == before


def test_folders_and_files_cover_alike(logs: Path, tmp_path: Path) -> None:
    """Covering by whole folders gives what covering file by file gives, with the lake
    holding some folders whole, some in part (a file changed, one new, one bad) and in
    batches of a few files, for queries with and without ``"$path"`` and partitions."""
    ingest(str(logs), tmp_path / "ws", IngestOptions(batch_files=3))
    files = sorted(logs.rglob("*.json.gz"))
    write_log(files[2].with_name(files[2].name.replace(".json.gz", "-new.json.gz")), records(files[2])[:2])
    staged = tmp_path / "staged.json.gz"
    write_log(staged, records(files[-3])[:-1])
    os.replace(staged, files[-3])
    (files[-5].parent / "123456789012_CloudTrail_us-west-2_20250211T2358Z_bad.json.gz").write_bytes(b"\x1f\x8b no")
    age(logs, 1800)
    ingest(str(logs), tmp_path / "ws", IngestOptions(until=dt.date(2025, 2, 10)))  # the 11th's changes stay in the logs
    write_log(files[8].with_name(files[8].name.replace(".json.gz", "-later.json.gz")), records(files[8])[:1])
    with Session(logs=logs, workspace=tmp_path / "ws") as session:
        assert session.lake is not None
        for sql in (QUERY, BY_FILE, "SELECT count(*) FROM cloudtrail_logs WHERE day = '10'"):
            plan = session.plan(parse_one(sql))
            inputs = session.list_files(plan).inputs
            by_folders, _ = session.cover(inputs)
            assert any(read.sources is None for given in by_folders for read in given.lake)
            whole = session.lake._whole
            session.lake._whole = {}
            by_files, _ = session.cover(inputs)
            session.lake._whole = whole
            assert by_folders == by_files
        rows = Counter({r["eventname"]: r["n"] for r in session.execute(QUERY).table.to_pylist()})
        assert rows == expected(logs)
