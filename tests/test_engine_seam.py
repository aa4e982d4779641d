"""A second engine needs no change elsewhere: a test engine of a few lines, behind the protocol.

``PythonEngine`` implements :class:`trailsql.engines.base.Engine` with plain Python (gzip and
json): it answers ``SELECT <columns> | count(*) FROM <scan> [WHERE col = 'text' AND ...]``
and refuses anything else with NotSupportedError. The session's pipeline (plan, list,
cover, fetch) and its shells (``connect``, the DB-API) run it unchanged.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlglot import exp

import trailsql
from trailsql.engines.base import Engine, Readable
from trailsql.errors import NotSupportedError
from trailsql.lake.ingest import ingest
from trailsql.session import Session
from trailsql.sources.files import ScanInput
from trailsql.sql.planner import Plan
from trailsql.stats import EngineStats

from .conftest import log_folder, write_log

DAYS = [dt.date(2025, 2, 11), dt.date(2025, 2, 12)]


class PythonEngine:
    """Runs the simplest plans over log files with gzip and json; records what it was given."""

    name = "python"

    def __init__(self, reads: frozenset[Readable] = frozenset({"files"})) -> None:
        self.reads = reads
        self.runs: list[tuple[Plan, Sequence[ScanInput]]] = []
        self.closed = False

    def run(
        self, plan: Plan, inputs: Sequence[ScanInput], *, strict: bool = False, timeout: float | None = None
    ) -> tuple[pa.Table, EngineStats]:
        self.runs.append((plan, inputs))
        select = plan.tree
        source = select.args.get("from_") if isinstance(select, exp.Select) else None
        if not isinstance(select, exp.Select) or source is None or select.args.get("joins") or select.args.get("group"):
            raise NotSupportedError("anything but SELECT ... FROM one table [WHERE col = 'text' AND ...]")
        [given] = inputs
        if given.lake:
            raise NotSupportedError("lake files (this engine reads JSON only)")
        wanted = _equalities(select.args["where"].this) if select.args.get("where") else {}
        stats, rows = EngineStats(), []
        for log in given.listing.files:
            partition = dict(log.partition)
            events = json.loads(gzip.decompress(Path(log.path).read_bytes()))["Records"]
            stats.files_scanned, stats.bytes_scanned = stats.files_scanned + 1, stats.bytes_scanned + log.size
            stats.events_scanned += len(events)
            rows += [e for e in events if all({**partition, **_lower(e)}.get(k) == v for k, v in wanted.items())]
        outputs = select.expressions
        if len(outputs) == 1 and isinstance(outputs[0].unalias(), exp.Count):
            return pa.table({outputs[0].alias_or_name: [len(rows)]}), stats
        names = [e.alias_or_name.lower() for e in outputs]
        return pa.table({n: [_lower(r).get(n) for r in rows] for n in names}), stats

    def close(self) -> None:
        self.closed = True


def _lower(event: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in event.items()}


def _equalities(node: exp.Expr) -> dict[str, str]:
    """``a = 'x' AND b = 'y'`` as {"a": "x", "b": "y"}; anything else is refused."""
    if isinstance(node, exp.And):
        return {**_equalities(node.this), **_equalities(node.expression)}
    if isinstance(node, exp.EQ) and isinstance(node.this, exp.Column) and isinstance(node.expression, exp.Literal):
        return {node.this.name.lower(): node.expression.this}
    raise NotSupportedError(f"predicate {node.sql()}")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for index, day in enumerate(DAYS):
        records = [
            {
                "eventID": f"{day}-{n}",
                "eventName": "ConsoleLogin" if n % 3 == 0 else "GetObject",
                "eventTime": f"{day}T0{n}:00:00Z",
            }
            for n in range(5 + index)
        ]
        write_log(log_folder(root, "123456789012", "us-east-1", day), f"f{index}.json.gz", records)
    return root


def test_the_protocol_is_met_by_a_few_lines() -> None:
    engine: Engine = PythonEngine()  # (mypy checks the protocol here)
    assert engine.name == "python"


def test_a_session_runs_the_pipeline_into_another_engine(logs: Path) -> None:
    engine = PythonEngine()
    with Session(logs=logs, engine=engine) as session:
        result = session.execute(
            "SELECT count(*) AS n FROM cloudtrail_logs WHERE day = '12' AND eventname = 'GetObject'"
        )
    assert result.table.to_pylist() == [{"n": 4}]  # of day 12's six events, n = 1, 2, 4, 5
    [(plan, inputs)] = engine.runs
    assert [given.scan for given in inputs] == list(plan.scans)  # one input per scan, in order
    assert [Path(f.path).name for f in inputs[0].listing.files] == ["f1.json.gz"]  # pruned before the engine
    assert result.stats.files_listed == 1  # the listing stage's count: day 11's folder is never opened
    assert result.stats.events_scanned == 6 and result.stats.files_scanned == 1  # the engine's own
    assert engine.closed


def test_the_shells_take_an_engine(logs: Path) -> None:
    with trailsql.connect(logs=logs, engine=PythonEngine()) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT eventid FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin' AND day = '11'")
        assert sorted(cursor.fetchall()) == [("2025-02-11-0",), ("2025-02-11-3",)]


def test_what_an_engine_cannot_run_is_refused_as_not_supported(logs: Path) -> None:
    with Session(logs=logs, engine=PythonEngine()) as session, pytest.raises(trailsql.NotSupportedError):
        session.execute("SELECT eventname, count(*) FROM cloudtrail_logs GROUP BY 1")


def test_an_engine_gets_lake_files_only_if_it_reads_them(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ingest(str(logs), workspace)
    sql = "SELECT count(*) AS n FROM cloudtrail_logs"
    files_only = PythonEngine()
    with Session(logs=logs, workspace=workspace, engine=files_only) as session:
        assert session.execute(sql).table.to_pylist() == [{"n": 11}]
    [(_, inputs)] = files_only.runs
    assert len(inputs[0].listing.files) == 2 and inputs[0].lake == ()
    reads_lake = PythonEngine(frozenset({"files", "lake"}))
    with Session(logs=logs, workspace=workspace, engine=reads_lake) as session, pytest.raises(NotSupportedError):
        session.execute(sql)
    [(_, inputs)] = reads_lake.runs
    assert inputs[0].listing.files == [] and inputs[0].lake_sources == 2 and inputs[0].lake_events == 11


def test_an_unknown_engine_name_is_a_usage_error(logs: Path) -> None:
    with pytest.raises(trailsql.InterfaceError, match="unknown engine 'presto'"):
        Session(logs=logs, engine="presto")
