"""Queries read the lake by themselves and give exactly the rows the logs give.

Each query runs three ways over the same logs: from the logs only (no workspace), with
everything ingested, and with part ingested (the rest newer than the last ingest). The
rows must be the same multiset, every delivery of an event delivered twice included, as
Athena gives them over the logs. Counts are also checked against plain Python over the
JSON files, and ``--stats`` must split the events between the lake and the logs.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trailsql.cli.main import cli
from trailsql.errors import TrailsqlError
from trailsql.generate import GenerateOptions, generate
from trailsql.lake import maintain
from trailsql.lake.ingest import IngestOptions, Lake, ingest
from trailsql.seed import SEED_DAY, fill_daily_placeholders, load_seed
from trailsql.session import Result, Session
from trailsql.sql.parse import parse_one

BUCKET = "s3://your-cloudtrail-bucket"


def records(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(gzip.decompress(path.read_bytes()))["Records"])


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of generated logs, an event file delivered twice (the same day, and past midnight), a bad file."""
    root = tmp_path_factory.mktemp("lake-queries") / "logs"
    generate(root, GenerateOptions(events=6000, events_per_file=150, regions=("us-east-1", "us-west-2")))
    files = sorted(root.rglob("*.json.gz"))
    twin = files[0].with_name(files[0].name.replace(".json.gz", "-again.json.gz"))
    shutil.copy(files[0], twin)
    last_of_day = max(f for f in files if "/2025/02/10/" in str(f) and "us-east-1" in str(f))
    next_folder = Path(str(last_of_day.parent).replace("/2025/02/10", "/2025/02/11"))
    shutil.copy(last_of_day, next_folder / last_of_day.name.replace("20250210", "20250211"))
    (next_folder / "123456789012_CloudTrail_us-east-1_20250211T2359Z_bad.json.gz").write_bytes(b"\x1f\x8b not gzip")
    return root


def all_deliveries(root: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(root.rglob("*.json.gz")):
        try:
            found += records(path)
        except (OSError, EOFError, ValueError):
            continue
    return found


def rows(result: Result) -> Counter[str]:
    return Counter(repr(sorted(row.items())) for row in result.table.to_pylist())


def without_limit(sql: str) -> str:
    """The query without its LIMIT: ties at the limit may be cut differently, the rows before it may not."""
    tree = parse_one(sql)
    tree.set("limit", None)
    return tree.sql("athena")


def seed_queries() -> list[tuple[str, str]]:
    """The seed's queries on its day; the thresholds lowered to the small logs' volume."""
    lowered = {"COUNT(*) > 1000": "COUNT(*) > 100", "COUNT(*) > 10\n": "COUNT(*) > 1\n"}
    queries = []
    for statement in load_seed()[1:]:
        sql = fill_daily_placeholders(statement.sql, SEED_DAY)
        for old, new in lowered.items():
            sql = sql.replace(old, new)
        queries.append((statement.name.split(" (")[0], sql))
    return queries


@pytest.fixture(scope="module")
def sessions(logs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Session]:
    """``logs``: no lake; ``lake``: all ingested; ``partial``: the first day ingested, the rest not."""
    seed_ddl = load_seed()[0].sql
    made = {}
    for name, until in (("logs", None), ("lake", dt.date(2025, 2, 12)), ("partial", dt.date(2025, 2, 10))):
        workspace = tmp_path_factory.mktemp(f"ws-{name}")
        if until is not None:
            ingest(str(logs), workspace, IngestOptions(until=until, batch_files=7))
        session = Session(logs=logs, workspace=workspace, location_maps={BUCKET: str(logs)})
        session.execute(seed_ddl)
        made[name] = session
    yield made
    for session in made.values():
        session.close()


@pytest.mark.parametrize(("name", "sql"), seed_queries(), ids=[n for n, _ in seed_queries()])
def test_seed_queries_give_the_same_rows_from_the_lake(sessions: dict[str, Session], name: str, sql: str) -> None:
    expected = sessions["logs"].execute(without_limit(sql))
    assert expected.table.num_rows > 0, f"{name} finds nothing in the generated logs: the comparison would be empty"
    for way in ("lake", "partial"):
        got = sessions[way].execute(without_limit(sql))
        assert rows(got) == rows(expected), f"{name} differs when read with the {way} lake"
    verbatim = [sessions[way].execute(sql) for way in ("logs", "lake", "partial")]
    assert len({r.table.num_rows for r in verbatim}) == 1
    assert sessions["lake"].execute(sql).stats.events_from_lake > 0


def test_every_delivery_counts_as_athena_counts_it(logs: Path, sessions: dict[str, Session]) -> None:
    deliveries = all_deliveries(logs)
    assert len(deliveries) > len({r["eventID"] for r in deliveries})  # the twins are there
    sql = 'SELECT eventid, count(*) AS n, count(DISTINCT "$path") AS files FROM cloudtrail_logs GROUP BY eventid'
    expected = Counter(r["eventID"] for r in deliveries)
    for way in ("logs", "lake", "partial"):
        got = {r["eventid"]: r["n"] for r in sessions[way].execute(sql).table.to_pylist()}
        assert got == dict(expected), way


def test_stats_split_events_between_lake_and_logs(logs: Path, sessions: dict[str, Session]) -> None:
    first_day = [r for p in sorted(logs.rglob("*/2025/02/10/*.json.gz")) for r in records(p)]
    total = len(all_deliveries(logs))
    stats = sessions["partial"].execute("SELECT count(*) AS n FROM cloudtrail_logs").stats
    assert (stats.events_from_lake, stats.events_from_logs) == (len(first_day), total - len(first_day))
    assert stats.files_from_lake == len(list(logs.rglob("*/2025/02/10/*.json.gz")))
    everything = sessions["lake"].execute("SELECT count(*) AS n FROM cloudtrail_logs")
    assert everything.table.to_pylist() == [{"n": total}]
    # The bad file is not in the lake: it is read from the logs, skipped and named again.
    assert (everything.stats.events_from_lake, everything.stats.events_from_logs) == (total, 0)
    assert [s.path.rsplit("_", 1)[-1] for s in everything.stats.skipped] == ["bad.json.gz"]


def test_partition_values_and_path_come_from_the_log_files(logs: Path, sessions: dict[str, Session]) -> None:
    # cloudtrail_logs is the seed's DDL table over the location-mapped bucket: "$path" shows s3:// URIs.
    sql = (
        'SELECT account, region, year, month, day, "$path" AS p, count(*) AS n FROM cloudtrail_logs '
        "WHERE day = '11' GROUP BY 1, 2, 3, 4, 5, 6"
    )
    from_lake = sessions["lake"].execute(sql)
    assert rows(from_lake) == rows(sessions["logs"].execute(sql))
    assert all(r["p"].startswith(BUCKET + "/AWSLogs/") for r in from_lake.table.to_pylist())
    assert from_lake.stats.events_from_lake > 0 and from_lake.stats.events_from_logs == 0


def test_changed_and_new_files_are_read_from_the_logs(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    generate(root, GenerateOptions(events=900, events_per_file=100, days=1, regions=("us-east-1",)))
    workspace = tmp_path / "ws"
    ingest(str(root), workspace)
    first = sorted(root.rglob("*.json.gz"))[0]
    kept = records(first)[:-3]
    first.write_bytes(gzip.compress(json.dumps({"Records": kept}).encode()))
    new = first.with_name(first.name.replace(".json.gz", "-new.json.gz"))
    new.write_bytes(gzip.compress(json.dumps({"Records": records(sorted(root.rglob("*.json.gz"))[1])[:5]}).encode()))
    session = Session(logs=root, workspace=workspace)
    result = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.table.to_pylist() == [{"n": len(all_deliveries(root))}]
    assert result.stats.events_from_logs == len(kept) + 5
    by_file = 'SELECT "$path" AS p, day, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2'
    expected = {(str(p), p.parent.name, len(records(p))) for p in root.rglob("*.json.gz")}
    assert {(r["p"], r["day"], r["n"]) for r in session.execute(by_file).table.to_pylist()} == expected
    ingest(str(root), workspace)
    again = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    assert again.table.to_pylist() == [{"n": len(all_deliveries(root))}]
    assert again.stats.events_from_logs == 0
    session.close()


def test_pruned_days_are_read_from_the_logs(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    generate(root, GenerateOptions(events=600, events_per_file=100, days=2, regions=("us-east-1",)))
    workspace = tmp_path / "ws"
    ingest(str(root), workspace)
    lake = Lake(workspace)
    try:
        maintain.prune(lake, maintain.parse_age("1d"), today=dt.date(2025, 2, 12))
    finally:
        lake.close()
    session = Session(logs=root, workspace=workspace)
    result = session.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    session.close()
    assert result.table.to_pylist() == [{"n": 600}]
    assert (result.stats.events_from_lake, result.stats.events_from_logs) == (300, 300)


def test_cli_stats_say_where_events_came_from(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--workspace", str(workspace), "--logs", str(logs)]).exit_code == 0
    result = runner.invoke(
        cli,
        [
            "query",
            "--logs",
            str(logs),
            "--workspace",
            str(workspace),
            "--stats",
            "--format",
            "json",
            "SELECT count(*) AS n FROM cloudtrail_logs WHERE day = '12'",
        ],
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stderr.strip().splitlines()[-1])
    day = [r for p in logs.rglob("*/2025/02/12/*.json.gz") for r in records(p)]
    assert (stats["events_from_lake"], stats["events_from_logs"]) == (len(day), 0)


def test_a_second_writer_is_refused_while_one_runs(tmp_path: Path) -> None:
    first = Lake(tmp_path / "ws")
    try:
        with pytest.raises(Exception, match="busy"):
            Lake(tmp_path / "ws")
    finally:
        first.close()
    Lake(tmp_path / "ws").close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT userIdentity, eventid FROM cloudtrail_logs WHERE day = '11'",
        "SELECT userIdentity.sessionContext.attributes.mfaAuthenticated AS m, count(*) AS n FROM cloudtrail_logs GROUP BY 1",
        # A declared nested struct read whole: its declared fields only, though the lake stores more.
        "SELECT userIdentity.sessionContext AS s, eventid FROM cloudtrail_logs WHERE day = '11'",
        "SELECT useridentity.ARN AS a, userIdentity.sessionContext.sessionIssuer.userName AS u, count(*) AS n "
        "FROM cloudtrail_logs WHERE userIdentity.type IS NOT NULL GROUP BY 1, 2",
    ],
)
def test_a_struct_declared_with_fewer_fields_reads_the_same(sessions: dict[str, Session], sql: str) -> None:
    """The seed's DDL declares userIdentity with fewer fields than the lake stores."""
    expected = rows(sessions["logs"].execute(sql))
    assert len(expected) > 1
    for way in ("lake", "partial"):
        assert rows(sessions[way].execute(sql)) == expected, way


def test_a_field_the_table_does_not_declare_fails_from_the_lake_too(sessions: dict[str, Session]) -> None:
    sql = "SELECT userIdentity.identityProvider FROM cloudtrail_logs"
    for way in ("logs", "lake"):
        with pytest.raises(TrailsqlError):
            sessions[way].execute(sql)
