"""Executions kept in the workspace, so that history and results survive a restart.

Layout under ``<workspace>/serve/``::

    executions.sqlite            one row per execution: its record as JSON, newest last
    rows/<id>.arrow              the rows of a succeeded execution (Arrow IPC), paged by GetQueryResults
    s3/<bucket>/<key>            the result files at their OutputLocation (<id>.csv, .csv.metadata, .txt),
                                 served by the S3 facade (s3.py)

An execution changes state QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED; each change
is written at once (SQLite, one transaction), so a server killed mid-query finds its
record on the next start and says it did not finish.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc

from trailsql.serve.s3 import object_path

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class Execution:
    """One query execution: what was asked, where it stands, what it read."""

    id: str
    query: str
    statement_type: str
    substatement_type: str
    database: str
    catalog: str
    workgroup: str
    #: The prefix results go under (``s3://bucket/path/``), None: managed results.
    output_prefix: str | None
    parameters: list[str] = field(default_factory=list)
    token: str | None = None
    #: What StartQueryExecution asked (text, database, catalog, location, parameters): a
    #: request repeated with the same ClientRequestToken must ask the same.
    request: list[Any] = field(default_factory=list)
    state: str = "QUEUED"
    reason: str | None = None
    #: Athena's AthenaError of a failed execution: category, type, retryable, message.
    error: dict[str, Any] | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    scanned_bytes: int = 0
    engine_ms: int = 0
    rows: int | None = None
    columns: list[dict[str, Any]] | None = None
    #: trailsql's own counts (files, lake events, ...), for the console and ``--stats``.
    stats: dict[str, Any] = field(default_factory=dict)
    #: Who started it: ``api`` (Athena's API), ``console`` or ``cli`` (``trailsql query``).
    source: str = "api"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def result_suffix(self) -> str:
        """``.csv`` for queries, ``.txt`` for DDL, SHOW and DESCRIBE, as Athena names them."""
        return ".csv" if self.statement_type == "DML" else ".txt"

    @property
    def output_location(self) -> str | None:
        return None if self.output_prefix is None else f"{self.output_prefix}{self.id}{self.result_suffix}"

    def describe(self) -> dict[str, Any]:
        """The execution as GetQueryExecution's ``QueryExecution``."""
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.reason is not None:
            status["StateChangeReason"] = self.reason
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.error is not None:
            status["AthenaError"] = self.error
        total = ((self.completed or time.time()) - self.submitted) * 1000
        queued = ((self.started or self.completed or time.time()) - self.submitted) * 1000
        described: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "SubstatementType": self.substatement_type,
            "ResultConfiguration": {} if self.output_location is None else {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": self.engine_ms,
                "DataScannedInBytes": self.scanned_bytes,
                "TotalExecutionTimeInMillis": int(total),
                "QueryQueueTimeInMillis": int(queued),
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": 0,
                "ServiceProcessingTimeInMillis": max(int(total - queued) - self.engine_ms, 0),
                "ResultReuseInformation": {"ReusedPreviousResult": False},
            },
            "WorkGroup": self.workgroup,
            "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
        }
        if self.output_prefix is None:
            described["ManagedQueryResultsConfiguration"] = {"Enabled": True}
        if self.parameters:
            described["ExecutionParameters"] = self.parameters
        return described


def _open(folder: Path) -> sqlite3.Connection:
    db = sqlite3.connect(folder / "executions.sqlite", check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS executions (id TEXT PRIMARY KEY, token TEXT, seq INTEGER, record TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS by_token ON executions (token)")
    db.execute("CREATE TABLE IF NOT EXISTS named_tokens (token TEXT PRIMARY KEY, id TEXT)")
    return db


def _insert(db: sqlite3.Connection, execution: Execution) -> None:
    db.execute(
        "INSERT INTO executions (id, token, seq, record) VALUES (?, ?, (SELECT coalesce(max(seq), -1) + 1 FROM executions), ?)"
        " ON CONFLICT (id) DO UPDATE SET record = excluded.record",
        (execution.id, execution.token, json.dumps(dataclasses.asdict(execution))),
    )


def record(workspace: Path, execution: Execution) -> None:
    """Add a finished execution to the workspace's history without loading it (``trailsql
    query`` over a workspace: the console's history shows it; its rows are not kept)."""
    folder = workspace / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    db = _open(folder)
    try:
        _insert(db, execution)
    finally:
        db.close()


class Store:
    """Executions and their rows under ``<folder>/serve`` (or in memory without a workspace)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "rows").mkdir(exist_ok=True)
        (folder / "s3").mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._db = _open(folder)
        self._executions: dict[str, Execution] = {}
        self._seen = -1
        self._refresh()

    def _refresh(self) -> None:
        """Take in the executions others wrote since (``trailsql query`` records its own)."""
        with self._lock:
            for seq, record in self._db.execute(
                "SELECT seq, record FROM executions WHERE seq > ? ORDER BY seq", (self._seen,)
            ):
                execution = Execution(**json.loads(record))
                self._executions.setdefault(execution.id, execution)
                self._seen = max(self._seen, seq)

    def interrupted(self, reason: str) -> list[Execution]:
        """Executions a previous server left unfinished (it was killed): failed with ``reason``."""
        left = [e for e in self._executions.values() if not e.finished]
        for execution in left:
            self.finish(execution, "FAILED", reason, error={"ErrorCategory": 1, "ErrorType": 401, "Retryable": True})
        return left

    def add(self, execution: Execution) -> None:
        with self._lock:
            self._executions[execution.id] = execution
            self._save(execution)

    def get(self, execution_id: str) -> Execution | None:
        return self._executions.get(execution_id)

    def by_token(self, token: str) -> Execution | None:
        return next((e for e in self._executions.values() if e.token == token), None)

    def newest_first(self, workgroup: str | None = None) -> list[Execution]:
        self._refresh()
        found = [e for e in self._executions.values() if workgroup is None or e.workgroup == workgroup]
        return found[::-1]

    def update(self, execution: Execution, **changes: Any) -> None:
        """Change an execution's fields and write it at once."""
        with self._lock:
            for name, value in changes.items():
                setattr(execution, name, value)
            self._save(execution)

    def finish(self, execution: Execution, state: str, reason: str | None = None, **changes: Any) -> bool:
        """Put an unfinished execution in a final state (False: it had finished already)."""
        with self._lock:
            if execution.finished:
                return False
            execution.state, execution.reason, execution.completed = state, reason, time.time()
            for name, value in changes.items():
                setattr(execution, name, value)
            self._save(execution)
            return True

    def _save(self, execution: Execution) -> None:
        _insert(self._db, execution)

    def remember_named(self, token: str, query_id: str) -> None:
        """The library query a CreateNamedQuery's ClientRequestToken made (a retry makes no other)."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO named_tokens VALUES (?, ?)", (token, query_id))

    def named_by_token(self, token: str) -> str | None:
        row = self._db.execute("SELECT id FROM named_tokens WHERE token = ?", (token,)).fetchone()
        return None if row is None else str(row[0])

    # --- rows and files ------------------------------------------------------------------

    def rows_path(self, execution_id: str) -> Path:
        return self.folder / "rows" / f"{execution_id}.arrow"

    def save_rows(self, execution_id: str, table: pa.Table) -> None:
        """Keep the rows (written aside, then renamed: a reader never sees half a file)."""
        path = self.rows_path(execution_id)
        partial = path.with_suffix(".partial")
        with pa.OSFile(str(partial), "wb") as sink, pyarrow.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        partial.replace(path)

    def load_rows(self, execution_id: str) -> pa.Table | None:
        path = self.rows_path(execution_id)
        if not path.exists():
            return None
        with pa.memory_map(str(path)) as source:
            return pyarrow.ipc.open_file(source).read_all()

    def forget_results(self, older_than: float) -> int:
        """Remove the rows and result files of executions that finished before ``older_than``
        (epoch seconds); their records stay, as history. The number of executions cleared."""
        cleared = 0
        for execution in list(self._executions.values()):
            if execution.completed is None or execution.completed >= older_than:
                continue
            files = [self.rows_path(execution.id)]
            location = execution.output_location
            result = object_path(self.s3_root(), location) if location is not None else None
            if result is not None:
                files += [result, result.with_name(result.name + ".metadata")]
            present = [path for path in files if path.is_file()]
            for path in present:
                path.unlink()
            cleared += bool(present)
        return cleared

    def s3_root(self) -> Path:
        return self.folder / "s3"

    def close(self) -> None:
        self._db.close()
