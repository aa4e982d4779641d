"""``make bench``: trailsql's scan speed on generated logs, against peers in the same run.

    BENCH_EVENTS=2000000 (default)   events to generate (cached under benchmarks/data/)
    BENCH_REPEAT=3 (default)         runs per trailsql case; the median is reported
    BENCH_PEERS=duckdb,python,jq     peers to run (each once: they are slow)
    BENCH_S3=1 (default)             also read the logs from a local S3 server (SeaweedFS)
    BENCH_LAKE=1 (default)           also ingest into a Parquet lake and query it (and a month of ordinary
                                     days: a history answered by the lake's first-seen profiles and by a scan)
    BENCH_HISTORY=only               just that month's history case
    BENCH_INGEST_REPEAT=3 (default)  ingests into an empty lake; the median is reported
    BENCH_FIXED=1 (default)          a lake query's fixed cost; BENCH_FIXED=only runs just that case
    BENCH_SERVE=1 (default)          the same queries through trailsql serve's Athena API (boto3: start, poll,
                                     GetQueryResults pages) beside the session itself; BENCH_SERVE=only: just that
    BENCH_SPARK=1 (default)          the count on the Spark engine (local[2], then a standalone master
                                     and two workers on loopback), logs and lake; BENCH_SPARK=only: just that

Cases: a count by eventName over all the gzipped logs (the issue's headline figure),
then every query of the seed workload verbatim over its CREATE EXTERNAL TABLE. Peers:
DuckDB's plain ``read_json`` over the same files, a Python ``gzip`` + ``json`` loop,
and jq. The S3 case uploads the logs to SeaweedFS on loopback (the tests' server) and
times the same count through the S3 source, with an empty cache and a warm one. The lake
case runs ``trailsql ingest`` and ``trailsql compact`` in child processes (peak RSS
sampled every 50 ms with psutil), then the count and every seed query again, now read
from the lake, each checked to return what the logs returned. Last, the detections' false
positives: every detection over an ordinary generated day (``--profile benign``, 200,000
events over 24 hours in one account), printed as "benign findings per day". Results are
printed and written as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import psutil

from trailsql import generate_benign
from trailsql.alerts import shared_scan
from trailsql.alerts.report import build_report
from trailsql.generate import GenerateOptions, generate
from trailsql.lake import maintain
from trailsql.lake.ingest import Lake, ingest
from trailsql.library import load_library
from trailsql.library.precision import ORDINARY_DAY, ordinary_day_findings
from trailsql.library.run import run_query
from trailsql.seed import SEED_DAY, fill_daily_placeholders, load_seed
from trailsql.session import Session
from trailsql.sources import local
from trailsql.sql.parse import parse_one

HERE = Path(__file__).parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
PEERS = [p for p in os.environ.get("BENCH_PEERS", "duckdb,python,jq").split(",") if p]
S3 = os.environ.get("BENCH_S3", "1") == "1"
LAKE = os.environ.get("BENCH_LAKE", "1") == "1"
INGEST_REPEAT = int(os.environ.get("BENCH_INGEST_REPEAT", "3"))
FIXED = os.environ.get("BENCH_FIXED", "1")
SPARK = os.environ.get("BENCH_SPARK", "1")
SERVE = os.environ.get("BENCH_SERVE", "1")
#: The fixed-cost case: a lake over this many small log files, and the events of its count.
FIXED_FILES, FIXED_EVENTS = 20_000, 500_000
COUNT_SQL = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1"


def logs_for(events: int, per_file: int = 500) -> Path:
    """Generated logs of ``events`` events, made once and kept between runs."""
    root = HERE / "data" / (f"events-{events}" if per_file == 500 else f"events-{events}-per-file-{per_file}")
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating {events:,} events into {root} ...", flush=True)
        generate(root, GenerateOptions(events=events, days=3, events_per_file=per_file))
        done.touch()
    return root


def settled(root: Path) -> None:
    """Wait until the newest folder below ``root`` is older than a folder record's racy margin
    (logs written just now would have records the lake does not trust: it lists them)."""
    newest = max(p.stat().st_mtime for p in [root, *root.rglob("*")] if p.is_dir())
    time.sleep(max(0.0, newest + local.RACY_MARGIN_NS / 1e9 + 0.5 - time.time()))


def lake_over(root: Path, workspace: Path) -> None:
    """``trailsql ingest`` then ``trailsql compact``, in this process."""
    settled(root)
    ingest(str(root), workspace)
    lake = Lake(workspace)
    try:
        maintain.compact(lake)
    finally:
        lake.close()


def fixed_case() -> dict[str, Any]:
    """A lake query's fixed cost (plan, list, cover) over FIXED_FILES log files the lake holds,
    each stage timed by itself; then a count by eventName over FIXED_EVENTS events from the
    lake against the same count over the raw logs."""
    root = logs_for(FIXED_FILES * 5, per_file=5)
    workspace = Path(tempfile.mkdtemp(prefix="trailsql-bench-fixed-"))
    try:
        lake_over(root, workspace)
        session = Session(logs=root, workspace=workspace)
        # A command's first query also reads the manifest: its cost, once, as a CLI call pays it.
        started = time.perf_counter()
        session.cover(session.list_files(session.plan(parse_one(COUNT_SQL))).inputs)
        cold_ms = (time.perf_counter() - started) * 1000
        stages: dict[str, list[float]] = {"plan": [], "list": [], "cover": [], "total": []}
        for _ in range(max(REPEAT, 21)):
            started = time.perf_counter()
            plan = session.plan(parse_one(COUNT_SQL))
            planned = time.perf_counter()
            listed = session.list_files(plan)
            done_listing = time.perf_counter()
            inputs, _ = session.cover(listed.inputs)
            covered = time.perf_counter()
            for name, seconds in zip(
                stages,
                (planned - started, done_listing - planned, covered - done_listing, covered - started),
                strict=True,
            ):
                stages[name].append(seconds)
        held = sum(given.lake_sources for given in inputs)
        assert held == len(files_of(root)), "the lake did not hold every log file"
        session.close()
        fixed = {name: round(statistics.median(times) * 1000, 2) for name, times in stages.items()}
        print(
            f"lake fixed cost at {held:,} log files: {fixed['total']:.1f} ms (median: plan {fixed['plan']:.1f}, "
            f"list {fixed['list']:.1f}, cover {fixed['cover']:.1f} ms); a process's first query, reading "
            f"the manifest: {cold_ms:.0f} ms",
            flush=True,
        )
    finally:
        shutil.rmtree(workspace)
    root = logs_for(FIXED_EVENTS)
    workspace = Path(tempfile.mkdtemp(prefix="trailsql-bench-fixed-"))
    try:
        with Session(logs=root) as session:
            raw_s, raw = timed(lambda: session.execute(COUNT_SQL), REPEAT)
        lake_over(root, workspace)
        with Session(logs=root, workspace=workspace) as session:
            session.execute(COUNT_SQL)  # the first query reads the manifest
            lake_s, result = timed(lambda: session.execute(COUNT_SQL), max(REPEAT, 11))
        assert result.table.sort_by("eventname") == raw.table.sort_by("eventname")  # type: ignore[attr-defined]
        assert result.stats.events_from_lake == FIXED_EVENTS  # type: ignore[attr-defined]
        print(
            f"count by eventName over {FIXED_EVENTS:,} events: lake {lake_s * 1000:.1f} ms, logs {raw_s:.2f} s "
            f"({raw_s / lake_s:,.0f}x faster)",
            flush=True,
        )
    finally:
        shutil.rmtree(workspace)
    return {
        "files": held,
        "fixed_ms": fixed,
        "first_query_ms": round(cold_ms, 1),
        "count": {
            "events": FIXED_EVENTS,
            "lake_seconds": round(lake_s, 4),
            "logs_seconds": round(raw_s, 3),
            "speedup": round(raw_s / lake_s, 1),
        },
    }


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median seconds over ``repeat`` runs, and the last run's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def files_of(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.json.gz"))


def peer_duckdb_read_json(files: list[str]) -> dict[str, int]:
    con = duckdb.connect()
    rows = con.execute(
        "SELECT r.eventName, count(*) FROM (SELECT unnest(Records) AS r FROM read_json(?, "
        "columns={'Records': 'STRUCT(eventName VARCHAR)[]'}, format='unstructured')) GROUP BY 1",
        [files],
    ).fetchall()
    return dict(rows)


def peer_python(files: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in files:
        with gzip.open(path, "rb") as fh:
            counts.update(r["eventName"] for r in json.load(fh)["Records"])
    return dict(counts)


def peer_jq(files: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for start in range(0, len(files), 500):
        zcat = subprocess.Popen(["zcat", *files[start : start + 500]], stdout=subprocess.PIPE)
        out = subprocess.run(["jq", "-r", ".Records[].eventName"], stdin=zcat.stdout, capture_output=True, check=True)
        zcat.wait()
        counts.update(out.stdout.decode().split())
    return dict(counts)


def spark_case(root: Path, expected: dict[str, int]) -> list[dict[str, object]]:
    """The count on the Spark engine beside DuckDB's, in this process: over the logs and over a
    lake of them, on ``local[2]`` and on a standalone cluster (a master, two 1-core workers)."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from spark_cluster import standalone_cluster
    from trailsql.engines.spark import context

    out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch) / "ws"
        ingest(str(root), workspace)
        duckdb_logs, _ = timed(lambda: Session(logs=root).execute(COUNT_SQL), REPEAT)
        lake_session = Session(logs=root, workspace=workspace)
        duckdb_lake, _ = timed(lambda: lake_session.execute(COUNT_SQL), REPEAT)
        lake_session.close()

        def measure(where: str, **options: object) -> None:
            started = time.perf_counter()
            logs = Session(logs=root, engine="spark", engine_options=options)
            first = logs.execute(COUNT_SQL)
            start_s = time.perf_counter() - started
            assert {r["eventname"]: r["n"] for r in first.table.to_pylist()} == expected, "Spark counted differently"
            for label, session, duck in (
                ("logs", logs, duckdb_logs),
                ("lake", Session(logs=root, workspace=workspace, engine=logs.engine), duckdb_lake),
            ):
                seconds, result = timed(lambda session=session: session.execute(COUNT_SQL), REPEAT)  # type: ignore[misc]
                assert {r["eventname"]: r["n"] for r in result.table.to_pylist()} == expected  # type: ignore[attr-defined]
                out.append(
                    {"case": f"Spark {where}, {label}", "seconds": round(seconds, 3), "duckdb_seconds": round(duck, 3),
                     "time_vs_duckdb": round(seconds / duck, 1), "first_query_s": round(start_s, 1)}
                )  # fmt: skip
                print(
                    f"Spark {where}, {label}: {seconds:.2f} s ({seconds / duck:.1f}x DuckDB's {duck:.2f} s)", flush=True
                )
            logs.close()
            context.stop()

        measure("local[2]")
        with standalone_cluster(Path(scratch) / "cluster", memory="2g") as master:
            conf = {"spark.executor.memory": "2g", "spark.cores.max": "2"}
            measure("standalone, 2 workers", master=master, conf=conf)
    return out


def serve_case(root: Path, expected: dict[str, int]) -> list[dict[str, object]]:
    """Queries through ``trailsql serve`` (a real server process, boto3 as the client: start,
    poll every 10 ms, every page of GetQueryResults) beside the same queries on a session in
    this process: what the API adds."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from serve_server import start, stop

    cases = [
        ("SELECT 1", "SELECT 1"),
        ("count by eventName", COUNT_SQL),
        ("100,000 rows paged", "SELECT eventid, eventname, eventtime FROM cloudtrail_logs LIMIT 100000"),
    ]
    out: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as scratch:
        served = start(Path(scratch) / "ws", root)
        client = served.client()
        session = Session(logs=root)

        def through_api(sql: str) -> list[Any]:
            execution_id = client.start_query_execution(QueryString=sql)["QueryExecutionId"]
            while True:
                state = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"]
                if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    break
                time.sleep(0.01)
            assert state == "SUCCEEDED", state
            pages = client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
            return [row for page in pages for row in page["ResultSet"]["Rows"]][1:]

        try:
            for label, sql in cases:
                api_s, rows = timed(lambda sql=sql: through_api(sql), REPEAT)  # type: ignore[misc]
                direct_s, result = timed(lambda sql=sql: session.execute(sql), REPEAT)  # type: ignore[misc]
                assert len(rows) == result.table.num_rows, f"{label}: the API gave {len(rows)} rows"  # type: ignore[attr-defined,arg-type]
                if sql == COUNT_SQL:
                    got = {r["Data"][0]["VarCharValue"]: int(r["Data"][1]["VarCharValue"]) for r in rows}  # type: ignore[union-attr]
                    assert got == expected, "the API counted differently"
                out.append(
                    {"case": f"serve: {label}", "seconds": round(api_s, 3), "session_seconds": round(direct_s, 3),
                     "time_vs_session": round(api_s / direct_s, 1)}
                )  # fmt: skip
                print(f"serve: {label}: {api_s:.3f} s through the API, {direct_s:.3f} s on a session", flush=True)
        finally:
            session.close()
            stop(served)
    return out


def s3_case(root: Path, local_seconds: float) -> list[dict[str, object]]:
    """The count over S3 (SeaweedFS on loopback, the tests' server): a cold cache, then a warm one."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from s3server import S3Server, seaweedfs

    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "weed").mkdir()
        with seaweedfs(Path(scratch) / "weed") as server:
            assert isinstance(server, S3Server)
            server.client().create_bucket(Bucket="bench")
            started = time.perf_counter()
            upload(server, root)
            print(f"uploaded to S3 in {time.perf_counter() - started:.1f} s", flush=True)
            os.environ["AWS_ACCESS_KEY_ID"] = server.access_key
            os.environ["AWS_SECRET_ACCESS_KEY"] = server.secret_key
            options = {"endpoint_url": server.endpoint, "region": "us-east-1", "cache_dir": f"{scratch}/cache"}
            session = Session(logs="s3://bench/", s3=options)
            out = [_time_s3(session, label, local_seconds) for label in ("S3, cold cache", "S3, warm cache")]
            session.close()
    return out


def _time_s3(session: Session, label: str, local_seconds: float) -> dict[str, object]:
    seconds, result = timed(lambda: session.execute(COUNT_SQL), 1)
    stats = result.stats  # type: ignore[attr-defined]
    print(
        f"trailsql over {label}: {seconds:.2f} s, {EVENTS / seconds:,.0f} events/s, "
        f"{stats.list_requests} LIST, {stats.get_requests} GET",
        flush=True,
    )
    return {
        "case": label,
        "seconds": round(seconds, 3),
        "events_per_s": round(EVENTS / seconds),
        "time_vs_local": round(seconds / local_seconds, 2),
        "list_requests": stats.list_requests,
        "get_requests": stats.get_requests,
        "bytes_fetched": stats.bytes_fetched,
    }


def upload(server: Any, root: Path) -> None:
    """Every log file under ``root`` into the bench bucket, 8 at a time."""
    client = server.client()
    paths = [p for p in root.rglob("*.json.gz")]

    def put(path: Path) -> None:
        client.put_object(Bucket="bench", Key=path.relative_to(root).as_posix(), Body=path.read_bytes())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, paths))


def child(*args: str) -> tuple[float, float]:
    """Run ``trailsql ARGS`` in a child process: seconds, peak RSS in MiB (sampled every 50 ms)."""
    code = "import sys; from trailsql.cli.main import main; sys.argv[0] = 'trailsql'; main()"
    started = time.perf_counter()
    process = psutil.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    summary = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"trailsql {args[0]} failed: {summary}")
    print(summary.strip(), flush=True)
    return seconds, peak / 2**20


def lake_case(root: Path, raw_count: float, expected: dict[str, int], seed_raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Ingest, compact, then the count and the seed queries from the lake."""
    workspace = Path(tempfile.mkdtemp(prefix="trailsql-bench-lake-"))
    try:
        # Ingest is timed INGEST_REPEAT times into an empty lake (the machine is noisy): the median is reported.
        runs = []
        for _ in range(INGEST_REPEAT):
            shutil.rmtree(workspace)
            runs.append(child("ingest", "--workspace", str(workspace), "--logs", str(root)))
        ingest_s = statistics.median(s for s, _ in runs)
        ingest_rss = max(r for _, r in runs)
        compact_s, compact_rss = child("compact", "--workspace", str(workspace))
        lake_bytes = sum(p.stat().st_size for p in (workspace / "lake").glob("account=*/**/*.parquet"))
        print(
            f"lake: ingest {ingest_s:.1f} s ({EVENTS / ingest_s:,.0f} events/s, peak RSS {ingest_rss:.0f} MiB), "
            f"compact {compact_s:.1f} s, {lake_bytes / 1e6:.0f} MB of Parquet",
            flush=True,
        )
        session = Session(logs=root, workspace=workspace)
        count_s, result = timed(lambda: session.execute(COUNT_SQL), REPEAT)
        got = {r["eventname"]: r["n"] for r in result.table.to_pylist()}  # type: ignore[attr-defined]
        assert got == expected, "the lake counted differently from the logs"
        assert result.stats.events_from_lake == EVENTS  # type: ignore[attr-defined]
        print(f"lake count by eventName: {count_s:.3f} s ({raw_count / count_s:,.0f}x faster than the logs)")
        session.close()
        ddl_session = Session(workspace=workspace, location_maps={"s3://your-cloudtrail-bucket": str(root)})
        ddl_session.execute(load_seed()[0].sql)
        queries = []
        for statement, raw in zip(load_seed()[1:], seed_raw, strict=True):
            sql = fill_daily_placeholders(statement.sql, SEED_DAY)
            seconds, out = timed(lambda sql=sql: ddl_session.execute(sql), REPEAT)  # type: ignore[misc]
            assert out.table.num_rows == raw["rows"], f"{statement.name}: the lake returned other rows"  # type: ignore[attr-defined]
            assert out.stats.events_from_logs == 0  # type: ignore[attr-defined]
            queries.append(
                {
                    "query": statement.name,
                    "seconds": round(seconds, 4),
                    "raw_seconds": raw["seconds"],
                    "speedup": round(raw["seconds"] / seconds, 1),
                }
            )
            print(f"lake seed: {statement.name}: {seconds:.3f} s ({raw['seconds'] / seconds:,.0f}x faster)", flush=True)
        ddl_session.close()
    finally:
        shutil.rmtree(workspace)
    return {
        "ingest": {
            "seconds": round(ingest_s, 2),
            "events_per_s": round(EVENTS / ingest_s),
            "peak_rss_mib": round(ingest_rss),
            "runs_seconds": [round(s, 2) for s, _ in runs],
        },
        "compact": {"seconds": round(compact_s, 2), "peak_rss_mib": round(compact_rss)},
        "lake_bytes": lake_bytes,
        "count_by_eventname": {"seconds": round(count_s, 4), "speedup_vs_logs": round(raw_count / count_s, 1)},
        "seed": queries,
    }


def history_case(days: int = 31, events: int = 1_000_000) -> dict[str, Any]:
    """new-source-ips over the last of ``days`` ordinary days (the benign generator: an
    account's own addresses, not random ones), its 30-day baseline answered by the lake's
    first-seen profiles, then (the profiles moved away) by a scan of the lake's Parquet."""
    query = load_library()["new-source-ips"]
    start = dt.date(2025, 1, 13)
    params: dict[str, str | None] = {"since": "24h", "baseline": "30d"}
    now = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), dt.UTC)
    with tempfile.TemporaryDirectory() as folder:
        root, workspace = Path(folder) / "logs", Path(folder) / "ws"
        generate_benign.generate(root, GenerateOptions(events=events, days=days, start=start, seed=1))
        ingest(str(root), workspace)
        profiles = workspace / "lake" / "_profiles"
        profile_bytes = sum(p.stat().st_size for p in profiles.rglob("*.parquet"))
        lake_bytes = sum(p.stat().st_size for p in (workspace / "lake").glob("account=*/**/*.parquet"))
        with Session(logs=root, workspace=workspace) as session:
            profiled_s, profiled = timed(lambda: run_query(session, query, params, now), REPEAT)
            hidden = profiles.rename(profiles.with_name("_profiles-away"))
            try:
                scanned_s, scanned = timed(lambda: run_query(session, query, params, now), REPEAT)
            finally:
                hidden.rename(profiles)
    assert profiled.history == {"recent_ips": "profiles"}, profiled.history  # type: ignore[attr-defined]
    assert scanned.history["recent_ips"].startswith("a lake file has no profile")  # type: ignore[attr-defined]
    rows = [sorted(map(str, run.rows)) for run in (profiled, scanned)]  # type: ignore[attr-defined]
    assert rows[0] == rows[1], "the profiles answered differently from the scan"
    print(
        f"lake history: new-source-ips, {days} ordinary days ({events:,} events): the 30-day baseline "
        f"{profiled_s:.3f} s from the profiles, {scanned_s:.3f} s scanning the lake ({scanned_s / profiled_s:.1f}x); "
        f"profiles {profile_bytes / 1e6:.1f} MB beside {lake_bytes / 1e6:.1f} MB of lake",
        flush=True,
    )
    return {
        "days": days,
        "events": events,
        "profiles_seconds": round(profiled_s, 4),
        "scan_seconds": round(scanned_s, 4),
        "speedup": round(scanned_s / profiled_s, 1),
        "profile_bytes": profile_bytes,
        "lake_bytes": lake_bytes,
        "rows": len(rows[0]),
    }


def benign_case(seed: int = 1, events: int = 200_000) -> dict[str, Any]:
    """Every detection's findings on an ordinary day (all false positives), and the time of a
    report of every detection over that day's raw logs, one shared scan against one scan each."""
    with tempfile.TemporaryDirectory() as folder:
        found = ordinary_day_findings(Path(folder), seed, events)
        report = report_times(Path(folder) / "logs")
    by_detection = {query: len(f) for query, f in sorted(found.items()) if f}
    return {
        "events": events,
        "seed": seed,
        "findings": sum(by_detection.values()),
        "by_detection": by_detection,
        "report": report,
    }


def report_times(logs: Path) -> dict[str, float]:
    """Seconds for a report of every detection over the day's raw logs: with its one shared scan,
    with each query scanning alone, and for a single scan (a count) of the same logs."""
    queries = [q for q in load_library().values() if q.kind == "detection"]
    window = {"since": f"{ORDINARY_DAY}", "until": f"{ORDINARY_DAY + dt.timedelta(days=1)}"}
    times = {}
    for case, least in (("shared_scan_s", shared_scan.MIN_QUERIES), ("scan_per_query_s", 10**9)):
        shared_scan.MIN_QUERIES = least
        with Session(logs=logs) as session:
            times[case], _ = timed(lambda session=session: build_report(session, queries, window), 1)  # type: ignore[misc]
    shared_scan.MIN_QUERIES = 3
    with Session(logs=logs) as session:
        times["single_scan_s"], _ = timed(lambda session=session: session.execute(COUNT_SQL), 1)  # type: ignore[misc]
    return {k: round(v, 2) for k, v in times.items()}


def machine() -> dict[str, object]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def main() -> None:
    if os.environ.get("BENCH_HISTORY") == "only":
        write_results({"history": history_case(), "machine": machine()}, "history")
        return
    if FIXED == "only":
        write_results({"fixed": fixed_case(), "machine": machine()}, "fixed")
        return
    root = logs_for(EVENTS)
    if SERVE == "only":
        expected = {r["eventname"]: r["n"] for r in Session(logs=root).execute(COUNT_SQL).table.to_pylist()}
        write_results({"serve": serve_case(root, expected), "events": EVENTS, "machine": machine()}, f"serve-{EVENTS}")
        return
    if SPARK == "only":
        expected = {r["eventname"]: r["n"] for r in Session(logs=root).execute(COUNT_SQL).table.to_pylist()}
        write_results({"spark": spark_case(root, expected), "events": EVENTS, "machine": machine()}, f"spark-{EVENTS}")
        return
    files = files_of(root)
    raw_bytes = sum(os.path.getsize(f) for f in files)
    print(f"{EVENTS:,} events in {len(files):,} files, {raw_bytes / 1e6:.0f} MB gzipped", flush=True)
    results: dict[str, object] = {"events": EVENTS, "files": len(files), "gz_bytes": raw_bytes, "machine": machine()}

    session = Session(logs=root)
    seconds, result = timed(lambda: session.execute(COUNT_SQL), REPEAT)
    expected = {r["eventname"]: r["n"] for r in result.table.to_pylist()}  # type: ignore[attr-defined]
    assert sum(expected.values()) == EVENTS, "trailsql did not count every event"
    rows = [("trailsql: count by eventName (raw .json.gz)", seconds, EVENTS / seconds, 1.0)]
    print(f"trailsql count by eventName: {seconds:.2f} s, {EVENTS / seconds:,.0f} events/s", flush=True)

    peers = {
        "duckdb": ("DuckDB read_json (columns=...)", peer_duckdb_read_json),
        "python": ("Python gzip + json loop, 1 process", peer_python),
        "jq": ("zcat | jq", peer_jq),
    }
    for key in PEERS:
        if key == "jq" and shutil.which("jq") is None:
            continue
        label, fn = peers[key]
        peer_seconds, counts = timed(lambda fn=fn: fn(files), 1)  # type: ignore[misc]
        assert counts == expected, f"{label} counted differently"
        rows.append((f"peer: {label}", peer_seconds, EVENTS / peer_seconds, peer_seconds / seconds))
        print(f"{label}: {peer_seconds:.2f} s ({peer_seconds / seconds:.1f}x trailsql's time)", flush=True)
    if S3:
        results["s3"] = s3_case(root, seconds)
    results["count_by_eventname"] = [
        {"case": c, "seconds": round(s, 3), "events_per_s": round(e), "time_vs_trailsql": round(r, 2)}
        for c, s, e, r in rows
    ]

    seed = load_seed()
    ddl_session = Session(location_maps={"s3://your-cloudtrail-bucket": str(root)})
    ddl_session.execute(seed[0].sql)
    seed_rows = []
    for statement in seed[1:]:
        sql = fill_daily_placeholders(statement.sql, SEED_DAY)
        seed_seconds, out = timed(lambda sql=sql: ddl_session.execute(sql), REPEAT)  # type: ignore[misc]
        stats = out.stats  # type: ignore[attr-defined]
        seed_rows.append(
            {
                "query": statement.name,
                "seconds": round(seed_seconds, 3),
                "rows": out.table.num_rows,  # type: ignore[attr-defined]
                "files_scanned": stats.files_scanned,
                "events_scanned": stats.events_scanned,
            }
        )
        print(f"seed: {statement.name}: {seed_seconds:.2f} s, {stats.events_scanned:,} events scanned", flush=True)
    results["seed_raw"] = seed_rows
    if LAKE:
        results["lake"] = lake_case(root, seconds, expected, seed_rows)
    if FIXED == "1":
        results["fixed"] = fixed_case()
    if SPARK == "1":
        results["spark"] = spark_case(root, expected)
    if SERVE == "1":
        results["serve"] = serve_case(root, expected)
    results["benign"] = benign_case()
    if LAKE:
        results["history"] = history_case()
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    print()
    print(f"{'case':58} {'seconds':>8} {'events/s':>12} {'time / trailsql':>16}")
    for case, s, e, r in rows:
        print(f"{case:58} {s:8.2f} {e:12,.0f} {r:16.2f}")
    if LAKE:
        lake = results["lake"]
        assert isinstance(lake, dict)
        print(f"\n{'seed query':58} {'logs s':>8} {'lake s':>8} {'speedup':>8}")
        for q in lake["seed"]:
            print(f"{q['query'][:58]:58} {q['raw_seconds']:8.3f} {q['seconds']:8.3f} {q['speedup']:8.0f}")
        print(f"ingest: {lake['ingest']['events_per_s']:,} events/s, peak RSS {lake['ingest']['peak_rss_mib']} MiB")
    benign = results["benign"]
    assert isinstance(benign, dict)
    print(
        f"\nbenign findings per day: {benign['findings']} ({benign['events']:,} benign events over 24 h, one account, "
        f"seed {benign['seed']}; {', '.join(f'{k}: {n}' for k, n in benign['by_detection'].items()) or 'none'})"
    )
    times = benign["report"]
    print(
        f"report of every detection over those raw logs: {times['shared_scan_s']:.1f} s with one shared scan, "
        f"{times['scan_per_query_s']:.1f} s with a scan per query; a single scan takes {times['single_scan_s']:.1f} s "
        f"({times['shared_scan_s'] / times['single_scan_s']:.1f}x)"
    )
    write_results(results, f"raw-{EVENTS}")


def write_results(results: dict[str, object], name: str) -> None:
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out_file = out_dir / f"{dt.date.today():%Y-%m-%d}-{name}.json"
    out_file.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out_file.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
