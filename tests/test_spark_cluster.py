"""The Spark engine on a real standalone cluster: a master and two worker JVMs on loopback.

The driver (this process) plans and lists; the executors on the workers read the files
and run the query. Expected values are computed in plain Python from the records written.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import engine_session
from trailsql.generate import GenerateOptions, generate
from trailsql.lake.ingest import ingest
from trailsql.session import Session

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cluster-logs")
    generate(root, GenerateOptions(events=3000, days=2, events_per_file=100))
    (next(root.rglob("*.json.gz")).parent / "broken.json.gz").write_bytes(b"\x1f\x8b\x08 not gzip")
    return root


def events(root: Path) -> list[dict[str, object]]:
    found = []
    for path in sorted(root.rglob("*.json.gz")):
        try:
            found += json.loads(gzip.decompress(path.read_bytes()))["Records"]
        except (OSError, EOFError, ValueError):
            continue
    return found


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://...`` of a standalone master with two workers, for this module."""
    pytest.importorskip("pyspark", reason="the Spark engine needs PySpark: pip install 'trailsql[spark]'")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 or later, and there is no java here")
    from spark_cluster import standalone_cluster

    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as url:
        yield url
        from trailsql.engines.spark import context

        context.stop()  # the next Spark test starts a local session of its own


@pytest.fixture(scope="module")
def cluster(logs: Path, master: str) -> Iterator[Session]:
    conf = {"spark.executor.memory": "1g", "spark.cores.max": "2", "spark.executor.cores": "1"}
    session = engine_session("spark", logs=logs, engine_options={"master": master, "conf": conf})
    yield session
    session.close()


def test_the_executors_run_on_the_two_workers(cluster: Session) -> None:
    cluster.execute("SELECT count(*) AS n FROM cloudtrail_logs")  # starts the engine's Spark session
    spark = cluster.engine.spark  # type: ignore[attr-defined]
    assert spark.sparkContext.master.startswith("spark://127.0.0.1:")
    hosts = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
    assert hosts == 3  # the driver's block manager and one executor on each worker


def test_a_group_by_gives_the_written_counts(cluster: Session, logs: Path) -> None:
    got = cluster.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1").table.to_pylist()
    assert {r["eventname"]: r["n"] for r in got} == dict(Counter(str(e["eventName"]) for e in events(logs)))


def test_the_bad_file_is_named(cluster: Session) -> None:
    result = cluster.execute("SELECT count(*) AS n FROM cloudtrail_logs")
    assert [Path(s.path).name for s in result.stats.skipped] == ["broken.json.gz"]


def test_partitions_and_path_per_event(cluster: Session, logs: Path) -> None:
    sql = 'SELECT eventid, account, region, year, month, day, "$path" AS p FROM cloudtrail_logs'
    got = {
        r["eventid"]: (r["account"], r["region"], r["year"], r["month"], r["day"], r["p"])
        for r in cluster.execute(sql).table.to_pylist()
    }
    expected = {}
    for path in logs.rglob("*.json.gz"):
        if path.name == "broken.json.gz":
            continue
        parts = path.parts
        for e in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            expected[e["eventID"]] = (parts[-7], parts[-5], parts[-4], parts[-3], parts[-2], str(path))
    assert got == expected


def test_the_lake_on_the_cluster(cluster: Session, logs: Path, tmp_path: Path) -> None:
    ingest(str(logs), tmp_path)
    with Session(logs=logs, workspace=tmp_path, engine=cluster.engine) as lake:
        result = lake.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    assert result.stats.events_from_lake == len(events(logs))
    expected = Counter(str(e["eventName"]) for e in events(logs))
    assert {r["eventname"]: r["n"] for r in result.table.to_pylist()} == dict(expected)


def test_spark_connect_in_front_of_the_cluster(logs: Path, master: str, tmp_path: Path) -> None:
    """``sc://``: a Spark Connect server (its own driver) running the jobs on the cluster."""
    from spark_cluster import connect_server
    from trailsql.engines.spark import context

    with connect_server(master, tmp_path / "connect") as url:
        try:
            with engine_session("spark", logs=logs, engine_options={"master": url}) as session:
                result = session.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
        finally:
            context.stop()  # while the server is there to hear it (a client retries a gone server)
    expected = Counter(str(e["eventName"]) for e in events(logs))
    assert {r["eventname"]: r["n"] for r in result.table.to_pylist()} == dict(expected)
    assert [Path(s.path).name for s in result.stats.skipped] == ["broken.json.gz"]
