"""The Parquet lake: ingest, exactly once, incremental, crash safety, compaction, retention.

Expectations come from the JSON files themselves, read with plain Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from trailsql import schema
from trailsql.cli.main import cli
from trailsql.generate import GenerateOptions, generate
from trailsql.lake import maintain
from trailsql.lake.ingest import CRASH_ENV, IngestOptions, Lake, ingest, lake_folder
from trailsql.lake.manifest import Manifest


def event(n: int, when: str, account: str = "012345678901", region: str = "us-east-1") -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": when,
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": region,
        "eventID": f"id-{n:06d}",
        "recipientAccountId": account,
        "requestParameters": {"bucketName": "b", "key": f"k{n}"},
    }


Delivery = tuple[str, str, str, str, str]
"""(eventID, account, region, date, source file): one delivery of an event, as the lake holds it."""


def expected_deliveries(root: Path) -> list[Delivery]:
    """Every event of every readable log file, read with plain Python, partitioned by its folder."""
    found: list[Delivery] = []
    for path in sorted(root.rglob("*.json*")):
        try:
            records = json.loads(gzip.decompress(path.read_bytes()))["Records"]
        except (OSError, EOFError, ValueError):
            continue
        parts = path.relative_to(root).parts  # AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<file>
        date = "-".join(parts[4:7])
        found += [(r["eventID"], parts[1], parts[3], date, str(path)) for r in records]
    return sorted(found)


def expected_events(root: Path) -> dict[str, Delivery]:
    """Each eventID's first delivery (by account, region, day and file), as the lake keeps it."""
    first: dict[str, Delivery] = {}
    for delivery in sorted(expected_deliveries(root), key=lambda d: (d[1], d[2], d[3], d[4])):
        first.setdefault(delivery[0], delivery)
    return first


def records(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(gzip.decompress(path.read_bytes()))["Records"])


def listed_files(workspace: Path) -> list[Path]:
    """The lake files the manifest lists (files replaced by compaction stay on disk a while)."""
    lake = lake_folder(workspace)
    manifest = Manifest(lake)
    try:
        return sorted(lake / f.path for f in manifest.lake_files())
    finally:
        manifest.close()


def lake_rows(workspace: Path) -> list[tuple[Any, ...]]:
    """(eventID, account, region, date, source_path, redelivered, eventtime, eventtime_ts) of every
    row of the lake's manifest-listed files, with partition values read as strings."""
    lake = lake_folder(workspace)
    manifest = Manifest(lake)
    files = [str(lake / f.path) for f in manifest.lake_files()]
    manifest.close()
    if not files:
        return []
    return duckdb.sql(
        "SELECT eventid, account, region, date, source_path, redelivered, eventtime, eventtime_ts "
        f"FROM read_parquet({files!r}, hive_partitioning=true, hive_types_autocast=false) ORDER BY ALL"
    ).fetchall()


def deliveries(rows: list[tuple[Any, ...]]) -> list[Delivery]:
    return sorted((r[0], r[1], r[2], r[3], r[4]) for r in rows)


def events(rows: list[tuple[Any, ...]]) -> list[Delivery]:
    """The rows that are not redeliveries: each event once."""
    return sorted((r[0], r[1], r[2], r[3], r[4]) for r in rows if not r[5])


def lake_state(workspace: Path) -> tuple[list[tuple[Any, ...]], list[str]]:
    lake = lake_folder(workspace)
    files = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))
    return lake_rows(workspace), files


@pytest.fixture
def logs(write_logs):  # type: ignore[no-untyped-def]
    day = dt.date(2025, 2, 12)
    write_logs([event(i, f"2025-02-12T0{i % 10}:00:00Z") for i in range(30)], account="012345678901", day=day)
    write_logs([event(i, f"2025-02-12T1{i % 10}:00:00Z") for i in range(30, 50)], account="012345678901", day=day)
    # Delivered twice: events 40-49 again, in another file.
    write_logs([event(i, f"2025-02-12T1{i % 10}:00:00Z") for i in range(40, 50)], account="012345678901", day=day)
    # Past midnight: delivered in the folder of the 12th, the event stays in that partition.
    write_logs([event(100, "2025-02-13T00:00:05Z", region="eu-west-1")], region="eu-west-1", day=day)
    write_logs(
        [event(i, "2025-02-11T23:00:00Z", account="111111111111") for i in range(200, 205)],
        account="111111111111",
        day=dt.date(2025, 2, 11),
    )
    bad = write_logs([event(999, "2025-02-12T00:00:00Z")], day=day)
    bad.write_bytes(bad.read_bytes()[:20])  # truncated gzip: skipped and named
    return write_logs.root


def test_ingest_keeps_each_delivery_and_each_event_once(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    report = ingest(str(logs), workspace)
    rows = lake_rows(workspace)
    assert deliveries(rows) == expected_deliveries(logs)
    assert events(rows) == sorted(expected_events(logs).values())
    assert len(events(rows)) == len({r[0] for r in rows}) == 56
    assert report.redelivered == 10 and report.events_read == 66
    assert [path for path, _ in report.files_skipped] == [str(sorted(logs.rglob("*.json.gz"))[-1])]
    # Leading zeros kept: partition values are strings.
    assert {r[1] for r in rows} == {"012345678901", "111111111111", "123456789012"}
    assert all(r[7] == dt.datetime.fromisoformat(r[6]) for r in rows)
    assert ("id-000100", "2025-02-12", "2025-02-13T00:00:05Z") in {(r[0], r[3], r[6]) for r in rows}


def test_lake_files_hold_the_default_columns_and_compact_sorts_them_by_time(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    files = sorted(lake_folder(workspace).glob("account=*/**/*.parquet"))  # (not the _profiles/)
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{files[0]}', hive_partitioning=false)").fetchall()
    names = [row[0] for row in described]
    assert names == [n.lower() for n, _ in schema.default_columns()] + ["eventtime_ts", "source_path", "redelivered"]
    assert dict((r[0], r[1]) for r in described)["eventtime_ts"] == "TIMESTAMP WITH TIME ZONE"
    for path in files:
        got = duckdb.sql(f"SELECT source_path, eventid FROM read_parquet('{path}')").fetchall()
        assert sorted(got) == sorted((str(p), r["eventID"]) for p in {Path(g[0]) for g in got} for r in records(p))
        codec = duckdb.sql(f"SELECT DISTINCT compression FROM parquet_metadata('{path}')").fetchall()
        assert codec == [("ZSTD",)]
    Lake(workspace).close()
    lake = Lake(workspace)
    try:
        maintain.compact(lake)
    finally:
        lake.close()
    distinct = 0
    for path in listed_files(workspace):
        times = [r[0] for r in duckdb.sql(f"SELECT eventtime_ts FROM read_parquet('{path}')").fetchall()]
        assert times == sorted(times, reverse=True)  # latest first
        distinct = max(distinct, len(set(times)))
    assert distinct > 1  # some file whose order is checked has events at several times


def test_files_without_events_are_noted_and_not_read_again(write_logs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file with an empty Records array and a JSON file that is not CloudTrail's give no
    rows; ingest says why for each, and a second run does not read them again."""
    good = write_logs([event(i, "2025-02-12T01:00:00Z") for i in range(3)])
    empty = good.with_name(good.name.replace(".json.gz", "-empty.json.gz"))
    empty.write_bytes(gzip.compress(b'{"Records": []}'))
    other = good.with_name(good.name.replace(".json.gz", "-other.json.gz"))
    other.write_bytes(gzip.compress(b'{"configurationItems": [{"a": 1}]}'))
    report = ingest(str(write_logs.root), tmp_path / "ws")
    assert report.events_read == 3
    assert sorted(report.files_skipped) == [
        (str(empty), "no events (empty Records array)"),
        (str(other), "not a CloudTrail log file (no Records array)"),
    ]
    again = ingest(str(write_logs.root), tmp_path / "ws")
    assert (again.files_ingested, again.files_unchanged) == (0, 3)


def test_second_run_reads_only_new_or_changed_files(logs: Path, write_logs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    again = ingest(str(logs), workspace)
    assert (again.files_ingested, again.events_read, again.files_unchanged) == (0, 0, 6)
    write_logs([event(i, "2025-02-12T05:00:00Z") for i in range(300, 310)], account="012345678901")
    # A changed file: a delivery rewritten with one event more and one less. Its old rows leave the lake.
    changed = sorted(logs.rglob("*.json.gz"))[0]
    records = json.loads(gzip.decompress(changed.read_bytes()))["Records"]
    rewritten = [*records[1:], event(400, "2025-02-12T06:00:00Z")]
    changed.write_bytes(gzip.compress(json.dumps({"Records": rewritten}).encode()))
    os.utime(changed, ns=(1, 1))
    third = ingest(str(logs), workspace)
    assert third.files_ingested == 2 and third.events_read == 10 + len(rewritten)
    rows = lake_rows(workspace)
    assert deliveries(rows) == expected_deliveries(logs)
    assert len({r[0] for r in rows if not r[5]}) == len({r[0] for r in rows})


def test_since_and_until_choose_files_by_their_day(write_logs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for offset in range(3):
        day = dt.date(2025, 2, 10) + dt.timedelta(days=offset)
        write_logs([event(offset, f"{day}T12:00:00Z")], day=day)
    workspace = tmp_path / "ws"
    report = ingest(
        str(write_logs.root), workspace, IngestOptions(since=dt.date(2025, 2, 11), until=dt.date(2025, 2, 11))
    )
    assert report.events_read == 1
    assert [r[3] for r in lake_rows(workspace)] == ["2025-02-11"]
    ingest(str(write_logs.root), workspace)
    assert sorted(r[3] for r in lake_rows(workspace)) == ["2025-02-10", "2025-02-11", "2025-02-12"]


def _generated(root: Path) -> Path:
    generate(root, GenerateOptions(events=3000, events_per_file=100, days=2, regions=("us-east-1", "eu-west-1")))
    # CloudTrail delivers some events twice: copy one file's events into a second delivery.
    first = sorted(root.rglob("*.json.gz"))[0]
    twin = first.with_name(first.name.replace(".json.gz", "x.json.gz"))
    twin.write_bytes(first.read_bytes())
    return root


def _run_ingest(logs: Path, workspace: Path, crash: str | None) -> int:
    env = {**os.environ}
    env.pop(CRASH_ENV, None)
    if crash:
        env[CRASH_ENV] = crash
    code = (
        "import sys; from trailsql.lake.ingest import ingest, IngestOptions; "
        "ingest(sys.argv[1], sys.argv[2], IngestOptions(batch_files=4))"
    )
    return subprocess.run([sys.executable, "-c", code, str(logs), str(workspace)], env=env, check=False).returncode


@pytest.mark.parametrize("crash", ["staged:1", "staged:3", "renamed:1", "renamed:4", "committed:2"])
def test_a_killed_ingest_resumes_to_the_same_lake(tmp_path: Path, crash: str) -> None:
    logs = _generated(tmp_path / "logs")
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert _run_ingest(logs, clean, None) == 0
    assert _run_ingest(logs, killed, crash) == -9
    assert _run_ingest(logs, killed, None) == 0
    state = lake_state(killed)
    assert state == lake_state(clean)
    assert deliveries(state[0]) == expected_deliveries(logs)
    assert events(state[0]) == sorted(expected_events(logs).values())


def test_cli_ingest_compact_stats_prune(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", "--workspace", str(workspace), "--logs", str(logs), "--batch-files", "1"])
    assert result.exit_code == 0, result.output
    assert "66 events (10 delivered twice)" in result.output
    before = lake_rows(workspace)
    result = runner.invoke(cli, ["compact", "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    assert lake_rows(workspace) == before
    partitions = {(r[1], r[2], r[3]) for r in before}
    assert len(listed_files(workspace)) == len(partitions)
    result = runner.invoke(cli, ["lake", "stats", "--workspace", str(workspace), "--format", "json"])
    stats = json.loads(result.stdout)
    expected: dict[tuple[str, str], int] = {}
    for _, account, region, _, _ in expected_events(logs).values():
        expected[(account, region)] = expected.get((account, region), 0) + 1
    assert {(s["account"], s["region"]): s["events"] for s in stats} == expected
    assert sum(s["redelivered"] for s in stats) == 10
    result = runner.invoke(cli, ["lake", "prune", "--workspace", str(workspace), "--older-than", "400d"])
    assert result.exit_code == 0, result.output
    assert lake_rows(workspace) == []


def test_prune_keeps_recent_days(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    lake = Lake(workspace)
    try:
        removed = maintain.prune(lake, maintain.parse_age("1d"), today=dt.date(2025, 2, 13))
    finally:
        lake.close()
    assert removed and all("date=2025-02-11" in p for p in removed)
    assert {r[3] for r in lake_rows(workspace)} == {"2025-02-12"}
    # Pruned sources stay recorded: the next ingest does not bring them back.
    assert ingest(str(logs), workspace).files_ingested == 0


def test_ingest_memory_stays_bounded(tmp_path: Path) -> None:
    """Peak RSS of an ingest in batches, sampled with psutil (the figure for large inputs is the benchmark's)."""
    psutil = pytest.importorskip("psutil")
    logs = tmp_path / "logs"
    generate(logs, GenerateOptions(events=40_000, events_per_file=200))
    code = (
        "import sys; from trailsql.lake.ingest import ingest, IngestOptions; "
        "print(ingest(sys.argv[1], sys.argv[2], IngestOptions(batch_files=20)).events_read)"
    )
    child = psutil.Popen(
        [sys.executable, "-c", code, str(logs), str(tmp_path / "ws")], stdout=subprocess.PIPE, text=True
    )
    peak = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            peak = max(peak, child.memory_info().rss)
        time.sleep(0.02)
    assert child.returncode == 0
    assert int(child.stdout.read()) == len(expected_events(logs)) == 40_000
    assert peak < 1 << 30
