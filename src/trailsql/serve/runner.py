"""Runs executions on a pool of sessions: a concurrency limit, a queue, cancellation.

Each worker thread owns one :class:`~trailsql.session.Session` (a session runs one query at
a time), made by the server's factory, so every query goes through the same pipeline as
``trailsql query`` and under the same lockdown. A session is made again when the
workspace's catalog changed on disk (DDL through the API or the CLI): sessions read the
catalog when they open.
"""

from __future__ import annotations

import re
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailsql.errors import (
    AccessDeniedError,
    CancelledError,
    LimitError,
    NotSupportedError,
    SqlSyntaxError,
    TrailsqlError,
)
from trailsql.serve import results
from trailsql.serve.s3 import object_path
from trailsql.serve.statements import bind
from trailsql.serve.store import Execution, Store
from trailsql.session import Session

SessionFactory = Callable[[], Session]

#: Athena's error codes and ErrorType numbers by what went wrong (measured on Athena).
_ERROR_TYPES = {
    "TABLE_NOT_FOUND": 1301,
    "SCHEMA_NOT_FOUND": 1301,
    "COLUMN_NOT_FOUND": 1006,
    "CATALOG_NOT_FOUND": 1006,
    "TYPE_MISMATCH": 1002,
    "FUNCTION_NOT_FOUND": 1303,
    "DIVISION_BY_ZERO": 1001,
    "INVALID_CAST_ARGUMENT": 1100,
    "NOT_SUPPORTED": 1200,
    "SYNTAX_ERROR": 1000,
    "PERMISSION_DENIED": 1300,
    "EXCEEDED_TIME_LIMIT": 1400,
    "GENERIC_USER_ERROR": 1000,
}


#: The engine's words for errors Athena names: the code a client (or a person) acts on.
_BY_MESSAGE = (
    (re.compile(r"Referenced column .* not found|Column .* cannot be resolved"), "COLUMN_NOT_FOUND"),
    (
        re.compile(r"Function with name \S+ does not exist|function \S+ does not exist", re.IGNORECASE),
        "FUNCTION_NOT_FOUND",
    ),
    (re.compile(r"Could not convert string|Conversion Error", re.IGNORECASE), "INVALID_CAST_ARGUMENT"),
    (re.compile(r"No function matches the given name and argument types|Cannot compare values"), "TYPE_MISMATCH"),
)


def failure(error: TrailsqlError) -> tuple[str, dict[str, object]]:
    """StateChangeReason and AthenaError of a failed query: ``CODE: message`` as Athena says it.

    >>> failure(TrailsqlError('Referenced column "x" not found in FROM clause'))[0]
    'COLUMN_NOT_FOUND: Referenced column "x" not found in FROM clause'
    """
    message = str(error)
    code, _, rest = message.partition(": ")
    if not (code.isupper() and code.replace("_", "").isalpha() and rest):
        named = next((name for pattern, name in _BY_MESSAGE if pattern.search(message)), None)
        if named is not None:
            code = named
        elif isinstance(error, NotSupportedError):
            code = "NOT_SUPPORTED"
        elif isinstance(error, AccessDeniedError):
            code = "PERMISSION_DENIED"
        elif isinstance(error, SqlSyntaxError):
            code = "SYNTAX_ERROR"
        elif isinstance(error, LimitError):
            code = "EXCEEDED_TIME_LIMIT" if "timed out" in message else "EXCEEDED_LOCAL_MEMORY_LIMIT"
        else:
            code = "GENERIC_USER_ERROR"
        message = f"{code}: {message}"
    reason = message
    return reason, {
        "ErrorCategory": 2,
        "ErrorType": _ERROR_TYPES.get(code, 1000),
        "Retryable": isinstance(error, LimitError),
        "ErrorMessage": reason,
    }


def _catalog_stamp(folder: Path | None) -> tuple[int, ...]:
    """When the workspace's catalog last changed (its folders and settings file)."""
    if folder is None:
        return ()
    stamps = []
    for name in ("tables", "views", "partitions", "trailsql.toml"):
        path = folder / name
        stamps.append(path.stat().st_mtime_ns if path.exists() else 0)
    return tuple(stamps)


class Runner:
    """Runs executions ``concurrency`` at a time; more wait in the queue (up to ``queue_limit``)."""

    def __init__(
        self,
        store: Store,
        factory: SessionFactory,
        workspace: Path | None,
        *,
        concurrency: int = 2,
        queue_limit: int = 100,
    ) -> None:
        self.store = store
        self.factory = factory
        self.workspace = workspace
        self.queue_limit = queue_limit
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="trailsql-serve")
        self._local = threading.local()
        self._catalog = types.SimpleNamespace()
        self._lock = threading.Lock()
        self._sessions: list[Session] = []
        #: The session running each execution now, to cancel it; those whose engine was asked to.
        self._running: dict[str, Session] = {}
        self._stopped: set[str] = set()
        self._waiting = 0
        self._closing = False

    def full(self) -> bool:
        return self._waiting >= self.queue_limit

    def submit(self, execution: Execution) -> None:
        with self._lock:
            self._waiting += 1
        self._pool.submit(self._run, execution)

    def stop(self, execution: Execution) -> None:
        """StopQueryExecution: a queued execution never runs; a running one is interrupted."""
        with self._lock:
            session = self._running.get(execution.id)
            if self.store.finish(execution, "CANCELLED", "Query cancelled by user") and session is not None:
                self._stopped.add(execution.id)
                session.engine.cancel()

    def shutdown(self) -> None:
        """Stop: queued and running executions are cancelled and saved, sessions closed."""
        self._closing = True
        for execution in self.store.newest_first():
            if not execution.finished:
                self.stop(execution)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for session in self._sessions:
            session.close()

    def session(self) -> Session:
        """This worker's session, made again when the workspace's catalog changed."""
        return self._fresh(self._local)

    def catalog_session(self) -> Session:
        """The session the catalog operations read (the caller serialises its making: two threads
        must not each make one)."""
        return self._fresh(self._catalog)

    def _fresh(self, holder: Any) -> Session:
        """``holder.session``, replaced by a new one when the catalog changed since it was made."""
        stamp = _catalog_stamp(self.workspace)
        session: Session | None = getattr(holder, "session", None)
        if session is None or holder.stamp != stamp:
            if session is not None:
                session.close()
                self._sessions.remove(session)
            session = self.factory()
            holder.session, holder.stamp = session, stamp
            self._sessions.append(session)
        return session

    def _run(self, execution: Execution) -> None:
        with self._lock:
            self._waiting -= 1
        session = self.session()
        with self._lock:
            if execution.finished or self._closing:  # (stopped while it waited)
                self.store.finish(execution, "CANCELLED", "Query cancelled by user")
                return
            self._running[execution.id] = session
            self.store.update(execution, state="RUNNING", started=time.time())
        spent = False
        try:
            sql = bind(execution.query, execution.parameters) if execution.parameters else execution.query
            result = session.execute(sql)
            table = result.table if execution.substatement_type not in _NO_ROWS else pa.table({})
            self._keep(execution, table)
            stats = result.stats
            self.store.finish(
                execution,
                "SUCCEEDED",
                scanned_bytes=stats.bytes_scanned,
                engine_ms=int(stats.elapsed_s * 1000),
                rows=table.num_rows,
                columns=results.column_info(table.schema),
                stats={**stats.as_dict(), "warnings": result.warnings},
            )
        except CancelledError:
            spent = True
            self.store.finish(execution, "CANCELLED", "Query cancelled by user")
        except TrailsqlError as error:
            reason, athena_error = failure(error)
            self.store.finish(execution, "FAILED", reason, error=athena_error)
            self._failed_text(execution, reason)
        except Exception as error:  # an engine's own failure: the server goes on
            reason = f"INTERNAL_ERROR: {type(error).__name__}: {error}"
            self.store.finish(
                execution,
                "FAILED",
                reason,
                error={"ErrorCategory": 1, "ErrorType": 401, "Retryable": False, "ErrorMessage": reason},
            )
        finally:
            with self._lock:
                self._running.pop(execution.id, None)
                if execution.id in self._stopped and not spent:
                    # Stopped as it ended another way: the engine keeps the request for its next
                    # run, which must not be cancelled. This worker takes a new session instead.
                    self._local.session = None
                    self._sessions.remove(session)
                    session.close()
                self._stopped.discard(execution.id)

    def _keep(self, execution: Execution, table: pa.Table) -> None:
        """The rows for GetQueryResults and Athena's result files at the OutputLocation."""
        self.store.save_rows(execution.id, table)
        path = self.result_path(execution)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if execution.result_suffix == ".csv":
            results.write_csv(table, path)
        else:
            results.write_txt(table, path)
        if table.num_columns:
            metadata = path.with_name(path.name + ".metadata")
            metadata.write_bytes(results.metadata(execution.id, results.column_info(table.schema)))

    def _failed_text(self, execution: Execution, reason: str) -> None:
        """A failed DDL or SHOW leaves ``<id>.txt`` saying ``FAILED: <why>``, as on Athena."""
        path = self.result_path(execution)
        if path is not None and execution.result_suffix == ".txt":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"FAILED: {reason}", encoding="utf-8")

    def result_path(self, execution: Execution) -> Path | None:
        location = execution.output_location
        return None if location is None else object_path(self.store.s3_root(), location)


#: Statements whose answer has no rows on Athena: column-less DDL.
_NO_ROWS = frozenset(
    {"CREATE_TABLE", "CREATE_VIEW", "DROP_TABLE", "DROP_VIEW", "CREATE_DATABASE", "DROP_DATABASE", "ALTER_TABLE"}
)
