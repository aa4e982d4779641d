"""The Spark engine reads CloudTrail as the DuckDB engine does: the same rows, the same bad files named.

Every expected value is computed here in plain Python from the records written; the
engines are compared with those and, where both answer, with each other.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import engine_session
from trailsql.errors import BadInputError, CancelledError, LimitError, UsageError
from trailsql.lake.ingest import ingest
from trailsql.session import Session

pytestmark = pytest.mark.xdist_group("spark")

DAY = dt.date(2025, 2, 12)


def event(i: int, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventTime": f"2025-02-12T10:{i % 60:02d}:00Z",
        "eventName": name,
        "eventSource": "iam.amazonaws.com",
        "eventID": f"e-{i}",
        "userIdentity": {"type": "IAMUser", "userName": f"user{i % 3}", "arn": f"arn:aws:iam::1:user/user{i % 3}"},
        **extra,
    }


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[Path, dict[str, Any]]]]:
    """Good files in three partitions (one with a space and a percent sign in its name) and
    the written (file, record) pairs."""
    from conftest import log_folder, write_log

    root = tmp_path_factory.mktemp("spark") / "logs"
    written: list[tuple[Path, dict[str, Any]]] = []
    places = [
        ("111111111111", "us-east-1", "a"),
        ("111111111111", "eu-west-1", "b"),
        ("222222222222", "us-east-1", "c d%20"),
    ]
    for n, (account, region, tag) in enumerate(places):
        records = [
            event(
                10 * n + i,
                ["CreateUser", "DeleteUser", "ListUsers"][i % 3],
                requestParameters={"userName": f"u{i}", "n": 1.50},
            )
            for i in range(5 + n)
        ]
        path = write_log(
            log_folder(root, account, region, DAY), f"{account}_CloudTrail_{region}_{tag}.json.gz", records
        )
        written += [(path, r) for r in records]
    return root, written


@pytest.fixture(scope="module")
def spark(logs: tuple[Path, list[Any]]) -> Iterator[Session]:
    session = engine_session("spark", logs=logs[0])
    yield session
    session.close()


def test_counts_partitions_and_path_are_the_written_ones(spark: Session, logs: tuple[Path, list[Any]]) -> None:
    _, written = logs
    got = spark.execute(
        'SELECT account, region, "$path" AS p, eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2, 3, 4'
    ).table.to_pylist()
    expected = Counter((p.parts[-7], p.parts[-5], str(p), r["eventName"]) for p, r in written)
    assert Counter({(g["account"], g["region"], g["p"], g["eventname"]): g["n"] for g in got}) == expected


def compact(value: Any) -> str:
    """JSON text as CloudTrail writes it and both engines give it back: no spaces."""
    return json.dumps(value, separators=(",", ":"))


def test_a_string_column_holding_an_object_is_its_json_text(spark: Session, logs: tuple[Path, list[Any]]) -> None:
    _, written = logs
    got = spark.execute("SELECT eventid, requestparameters, useridentity.username AS u FROM cloudtrail_logs")
    expected = {r["eventID"]: (compact(r["requestParameters"]), r["userIdentity"]["userName"]) for _, r in written}
    assert {g["eventid"]: (g["requestparameters"], g["u"]) for g in got.table.to_pylist()} == expected


def test_record_column_is_each_events_text(spark: Session, logs: tuple[Path, list[Any]]) -> None:
    _, written = logs
    got = spark.execute('SELECT "$record" AS r FROM cloudtrail_logs').table.column("r").to_pylist()
    assert sorted(json.loads(r)["eventID"] for r in got) == sorted(r["eventID"] for _, r in written)
    assert {compact(r) for _, r in written} == set(got)


def test_stats_count_the_files_and_events(spark: Session, logs: tuple[Path, list[Any]]) -> None:
    _, written = logs
    stats = spark.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE region = 'us-east-1'").stats
    in_region = [p for p, _ in written if p.parts[-5] == "us-east-1"]
    assert (stats.files_scanned, stats.events_scanned) == (len(set(in_region)), len(in_region))
    assert stats.files_listed == len(set(in_region)) and not stats.skipped


@pytest.fixture(params=["duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bad_logs(write_logs: Callable[..., Path], engine: str) -> tuple[Path, dict[str, str]]:
    """One good file and one of each kind of bad file, with the words its reason must say."""
    write_logs([event(1, "CreateUser"), event(2, "ListUsers")])
    folder = write_logs([event(3, "GetUser")]).parent
    truncated = gzip.compress(json.dumps({"Records": [event(4, "X")] * 50}).encode())
    bad = {
        "truncated.json.gz": (truncated[: len(truncated) // 2], "GZIP" if engine == "duckdb" else "unreadable"),
        "malformed.json.gz": (gzip.compress(b'{"Records": [{"eventName": '), "Malformed JSON"),
        "other.json.gz": (gzip.compress(b'{"configurationItems": []}'), "no Records array"),
        "empty.json.gz": (gzip.compress(b'{"Records": []}'), "empty Records array"),
        "mixed.json.gz": (gzip.compress(json.dumps({"Records": [event(5, "Mixed"), 7]}).encode()), "1 Records element"),
    }
    for name, (data, _) in bad.items():
        (folder / name).write_bytes(data)
    return write_logs.root, {name: why for name, (_, why) in bad.items()}  # type: ignore[attr-defined]


def test_bad_files_are_skipped_and_named(engine: str, bad_logs: tuple[Path, dict[str, str]]) -> None:
    root, bad = bad_logs
    with engine_session(engine, logs=root) as session:
        result = session.execute("SELECT eventname FROM cloudtrail_logs")
    assert sorted(result.table.column("eventname").to_pylist()) == ["CreateUser", "GetUser", "ListUsers", "Mixed"]
    named = {Path(s.path).name: s.reason for s in result.stats.skipped}
    assert set(named) == set(bad)
    for name, words in bad.items():
        assert words in named[name], (name, named[name])
    assert result.stats.events_scanned == 4


def test_bad_files_fail_a_strict_query(engine: str, bad_logs: tuple[Path, dict[str, str]]) -> None:
    with engine_session(engine, logs=bad_logs[0], strict=True) as session, pytest.raises(BadInputError):
        session.execute("SELECT count(*) AS n FROM cloudtrail_logs")


def test_the_lake_gives_the_rows_the_logs_give(logs: tuple[Path, list[Any]], tmp_path: Path) -> None:
    root, written = logs
    ingest(str(root), tmp_path)
    sql = (
        'SELECT account, region, day, "$path" AS p, eventid, useridentity.arn AS arn, requestparameters AS rp '
        "FROM cloudtrail_logs"
    )
    with engine_session("spark", logs=root, workspace=tmp_path) as session:
        result = session.execute(sql)
    assert result.stats.events_from_lake == len(written) and result.stats.events_from_logs == 0
    got = {
        (r["account"], r["region"], r["day"], r["p"], r["eventid"], r["arn"], r["rp"]) for r in result.table.to_pylist()
    }
    expected = {
        (
            p.parts[-7],
            p.parts[-5],
            "12",
            str(p),
            r["eventID"],
            r["userIdentity"]["arn"],
            compact(r["requestParameters"]),
        )
        for p, r in written
    }
    assert got == expected


def test_a_timeout_cancels_the_query(logs: tuple[Path, list[Any]]) -> None:
    with engine_session("spark", logs=logs[0], timeout=0.001) as session, pytest.raises(LimitError, match="timed out"):
        session.execute("SELECT count(*) AS n FROM cloudtrail_logs")


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_cancel_from_another_thread_stops_the_query(logs: tuple[Path, list[Any]], engine: str) -> None:
    """``Engine.cancel`` (the server's StopQueryExecution): the run raises CancelledError soon."""
    copies = "abcdefgh"  # 18 events to the 8th power: 10^10 rows to count
    endless = f"SELECT count(*) FROM {', '.join(f'cloudtrail_logs {c}' for c in copies)} WHERE a.eventid <> h.eventid"
    with engine_session(engine, logs=logs[0]) as session:
        threading.Timer(3.0, session.engine.cancel).start()
        started = time.monotonic()
        with pytest.raises(CancelledError, match=r"^query cancelled$"):
            session.execute(endless)
        assert time.monotonic() - started < 60
        assert session.execute("SELECT count(*) AS n FROM cloudtrail_logs").table.column("n").to_pylist() == [
            len(logs[1])
        ]


def test_without_pyspark_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    from trailsql.engines.spark import context

    monkeypatch.setattr(context, "_active", None)
    with pytest.raises(UsageError, match=r"pip install 'trailsql\[spark\]'"):
        context.spark_session("local[1]")


def test_the_cli_gives_the_same_answer_on_both_engines() -> None:
    """The issue's command over the bundled real sample logs: `--engine spark` prints what the
    default engine prints, and both are the counts plain Python reads from the files."""
    from click.testing import CliRunner

    from trailsql.cli.main import cli

    samples = Path(__file__).parent.parent / "src" / "trailsql" / "samples"
    sql = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5"
    outputs = {}
    for engine in ("duckdb", "spark"):
        ran = CliRunner().invoke(cli, ["query", "--engine", engine, "--logs", str(samples), "--format", "json", sql])
        assert ran.exit_code == 0, ran.output
        outputs[engine] = json.loads(ran.stdout)
    counts = Counter(
        r["eventName"]
        for p in samples.rglob("*.json.gz")
        for r in json.loads(gzip.decompress(p.read_bytes()))["Records"]
    )
    expected = [{"eventname": n, "n": c} for n, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    assert outputs["spark"] == outputs["duckdb"] == expected


def test_the_python_api_takes_the_engine_and_its_master(logs: tuple[Path, list[Any]]) -> None:
    import trailsql

    root, written = logs
    with trailsql.connect(root, engine="spark", spark_master="local[2]") as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM cloudtrail_logs WHERE eventname = %(name)s", {"name": "CreateUser"})
        assert cursor.fetchall() == [(sum(r["eventName"] == "CreateUser" for _, r in written),)]
