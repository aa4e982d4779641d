"""A session: the workspace, the engine and the SQL layer, behind one ``execute``.

The CLI, the DB-API connection and the demo are thin shells over this class. A
statement flows one way: parse -> (DDL: catalog) or (query: the pipeline) -> result.
The pipeline is the session's, one stage a module, each taking the previous stage's
output and returning a new value:

    plan   (sql/planner.py: no file or network access)  -> Plan
    list   (sources/listing.py: folders, S3 listings)    -> one ScanInput per scan
    cover  (lake/read.py: the log files the lake holds)   -> ScanInputs reading the lake
    fetch  (sources/s3.py: the S3 objects left)           -> ScanInputs of local copies
    run    (the engine, engines/base.py)                  -> Arrow rows, the engine's stats
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlglot import exp

from trailsql import engines
from trailsql.catalog import event_data_store
from trailsql.catalog import statements as statements_module
from trailsql.catalog.table import DEFAULT_TABLE, Table, default_table
from trailsql.catalog.workspace import Partition, Workspace
from trailsql.engines.base import Engine
from trailsql.errors import BadInputError, CatalogError, NotSupportedError, TrailsqlError, UsageError
from trailsql.lake.read import LakeReader
from trailsql.library.window import Window
from trailsql.sources.files import Listing, ScanInput
from trailsql.sources.listing import Listed, list_plan
from trailsql.sources.local import list_awslogs
from trailsql.sources.s3 import S3Options, S3Source
from trailsql.sql.lockdown import Lockdown
from trailsql.sql.parse import parse, parse_one, run_deep
from trailsql.sql.planner import Plan, plan_query, restrict_to_window
from trailsql.stats import RunStats


@dataclass
class Result:
    """The rows of a statement (column names lower-cased as Athena returns them) and what it read."""

    table: pa.Table
    stats: RunStats = field(default_factory=RunStats)
    warnings: list[str] = field(default_factory=list)


class Session:
    """Runs Athena SQL over CloudTrail logs.

    ``logs`` is the location of the default table ``cloudtrail_logs`` (a local folder);
    ``workspace`` a folder keeping tables created by DDL and location maps between
    sessions; ``location_maps`` maps ``s3://`` prefixes to local folders; ``strict``
    turns every bad log file into an error instead of a skipped file;
    ``event_data_stores`` are CloudTrail Lake event data store ids that name the
    Lake-shaped view of ``logs`` (see :mod:`trailsql.catalog.event_data_store`). ``logs`` and table
    locations may be ``s3://`` URIs; ``s3`` says how to reach S3 and where to cache, over
    the workspace's ``[s3]`` settings (see :class:`~trailsql.sources.s3.S3Options`).
    ``timeout`` (seconds) bounds each query's run in the engine and ``memory_limit`` (``"4GB"``)
    the engine's memory: a query beyond either fails with a :class:`~trailsql.errors.LimitError`.
    ``engine`` runs the queries: a name (default: the workspace's ``[engine] name``, else
    ``"duckdb"``) or an :class:`~trailsql.engines.base.Engine` (which the session closes with itself);
    ``engine_options`` the named engine's settings over the workspace's (see
    :func:`trailsql.engines.create`: Spark's ``master``, Athena's ``workgroup``...).
    ``lockdown`` limits what statements may do (``trailsql serve``, ``query --safe``): each
    statement of a text is checked before any of them runs (see :mod:`trailsql.sql.lockdown`).
    """

    def __init__(
        self,
        logs: str | os.PathLike[str] | None = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        location_maps: dict[str, str] | None = None,
        strict: bool = False,
        event_data_stores: list[str] | None = None,
        s3: dict[str, Any] | None = None,
        timeout: float | None = None,
        memory_limit: str | None = None,
        engine: str | Engine | None = None,
        engine_options: Mapping[str, Any] | None = None,
        lockdown: Lockdown | None = None,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise UsageError(f"timeout must be a positive number of seconds, not {timeout}")
        self.timeout = timeout
        self.lockdown = lockdown
        self.workspace = Workspace(workspace)
        self.s3_options = S3Options.from_config(self.workspace.s3_config, **(s3 or {}))
        self._s3: S3Source | None = None
        for prefix, folder in (location_maps or {}).items():
            self.workspace.add_location_map(prefix, folder)
        for store in event_data_stores or []:
            self.workspace.add_event_data_store(store)
        self.logs = os.fspath(logs) if logs is not None else self.workspace.default_logs
        self.lake = LakeReader(self.workspace.folder) if self.workspace.folder is not None else None
        self.strict = strict
        #: Told what a long statement is doing (a CLI's progress line); ``stage`` says which of
        #: several (a report's "query 3 of 25").
        self.on_progress: Callable[[str], None] | None = None
        self.stage = ""
        if engine is None or isinstance(engine, str):
            name = engine or self.workspace.engine_name or engines.DEFAULT
            given = {k: v for k, v in (engine_options or {}).items() if v is not None}
            options = {**self.workspace.engine_options(name), **given}
            engine = engines.create(name, memory_limit=memory_limit, options=options)
        self.engine: Engine = engine
        self.closed = False
        for ddl in self.workspace.stored_ddl():
            statements_module.load(parse_one(ddl), ddl, self.workspace)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        self.engine.close()
        if self.lake is not None:
            self.lake.close()
        if self._s3 is not None:
            self._s3.close()

    def logs_span(self) -> tuple[str, str] | None:
        """The first and last day of the default table's local logs (from their folders and
        names, no file read), or None: no local logs, or none with a day."""
        table = self.table(DEFAULT_TABLE) if self.logs is not None and not self.logs.startswith("s3://") else None
        if table is None:
            return None
        listing = list_awslogs(Path(table.location), lambda _: True)
        days = sorted(
            f"{p['year']}-{p['month']}-{p['day']}"
            for p in (dict(f.partition) for f in listing.files)
            if p.get("year") and p.get("month") and p.get("day")
        )
        return (days[0], days[-1]) if days else None

    def _progress(self, inputs: list[ScanInput]) -> None:
        """Tell :attr:`on_progress` how much a run reads: log files, their bytes, lake files."""
        if self.on_progress is None:
            return
        files = [f for given in inputs for f in given.listing.files]
        lake_files = sum(len(read.files) for given in inputs for read in given.lake)
        text = f"scanning {len(files):,} log files ({sum(f.size for f in files) / 1e6:,.1f} MB)"
        text += f" and {lake_files:,} lake files" if lake_files else ""
        self.on_progress(f"{self.stage}: {text}" if self.stage else text)

    def command_options(self) -> list[str]:
        """The options that make a command see what this session sees (``--logs``, ``--workspace``):
        a report's "run it again" commands carry them, so they run as printed."""
        options = ["--logs", self.logs] if self.logs is not None else []
        if self.workspace.folder is not None:
            options += ["--workspace", str(self.workspace.folder)]
        return options

    def s3(self) -> S3Source:
        """The S3 source of ``s3://`` locations that no location map sends to a local folder."""
        if self._s3 is None:
            self._s3 = S3Source(self.s3_options, self.strict)
        return self._s3

    def table(self, name: str) -> Table | None:
        """A table by name: one created by DDL, else the default table over ``logs`` (or, for an
        engine reading its own tables, Athena's ``cloudtrail_logs`` wherever it is)."""
        found = self.workspace.tables.get(name.lower())
        if found is not None or name.lower() != DEFAULT_TABLE:
            return found
        if self.logs is not None:
            return default_table(self.logs if self.logs.startswith("s3://") else os.path.abspath(self.logs))
        return default_table("") if "tables" in self.engine.reads else None

    def _check_default_logs(self) -> None:
        """Logs given that are not there are a mistyped path, not an empty answer."""
        if self.logs is not None and not self.logs.startswith("s3://") and not os.path.exists(self.logs):
            raise CatalogError(f"the logs location {self.logs} does not exist (--logs)")

    def _default_for_catalog(self) -> Table | None:
        """The default table as SHOW TABLES and DESCRIBE see it (None: no logs, or a DDL table
        of the same name, or logs that are not there, which a query over them will say)."""
        if self.logs is None or DEFAULT_TABLE in self.workspace.tables:
            return None
        try:
            self._check_default_logs()
        except CatalogError:
            return None
        return self.table(DEFAULT_TABLE)

    def names(self) -> list[str]:
        """Every table and view name a query may use."""
        default = [DEFAULT_TABLE] if self.logs is not None else []
        return sorted({*self.workspace.tables, *self.workspace.views, *default, event_data_store.VIEW_NAME})

    def view(self, name: str) -> str | None:
        """A view's query: one created by DDL, or the CloudTrail Lake-shaped view."""
        found = self.workspace.views.get(name.lower())
        if found is None and (name.lower() == event_data_store.VIEW_NAME or name in self.workspace.event_data_stores):
            return event_data_store.view_sql()
        return found

    def partitions(self, name: str) -> list[Partition]:
        return self.workspace.partitions.get(name.lower(), [])

    def resolve(self, uri: str) -> str:
        return self.workspace.resolve(uri)

    def execute(self, sql: str, window: Window | None = None) -> Result:
        """Run every statement in ``sql``; the result is the last statement's. With ``window``,
        every CloudTrail table a query reads holds only that window's events (``--since``)."""
        if self.closed:
            raise TrailsqlError("the connection is closed")
        statements = parse(event_data_store.quote_store_ids(sql, self.workspace.event_data_stores))
        if not statements:
            raise CatalogError("no SQL statement given")
        if self.lockdown is not None:
            for statement in statements:
                self.lockdown.check(statement, self.workspace)
        result = Result(statements_module.message("OK"))
        for statement in statements:
            if window is not None and isinstance(statement, exp.Query):
                statement = restrict_to_window(statement, self, window)
            result = self._execute_one(statement, sql if len(statements) == 1 else statement.sql("athena"))
        return result

    def _validate_view(self, name: str, replaced: str | None) -> None:
        """Athena analyses a view's query when it is created: a view that cannot run is refused."""
        try:
            self._execute_one(parse(f'SELECT * FROM "{name}" LIMIT 0')[0], "")
        except TrailsqlError:
            if replaced is None:
                self.workspace.drop_view(name)
            else:
                self.workspace.save_view(name, replaced)
            raise

    def _execute_one(self, statement: exp.Expr, text: str) -> Result:
        replaced_view = self.workspace.views.get(statement.this.name.lower()) if _is_view(statement) else None
        answered = statements_module.run(statement, text, self.workspace, self._default_for_catalog())
        if answered is not None:
            if _is_view(statement):
                self._validate_view(statement.this.name.lower(), replaced_view)
            return Result(answered)
        if isinstance(statement, exp.Values):
            statement = _select_from_values(statement)
        if not isinstance(statement, exp.Query):
            raise NotSupportedError(f"statement {statement.key.upper()}: {text.strip().splitlines()[0][:60]}")
        plan = self.plan(statement)
        listed = self.list_files(plan)
        inputs, covered_warnings = self.cover(listed.inputs)
        self._progress(inputs)
        inputs = self.fetch(inputs)
        warnings = [*listed.warnings, *covered_warnings]
        if self.strict:  # a listing's warning or a file it could not read, before running anything
            said = [*listed.warnings, *(f"{uri}: {why}" for given in inputs for uri, why in given.listing.skipped)]
            if said:
                raise BadInputError(said[0])
        table, engine_stats = self.engine.run(plan, inputs, strict=self.strict, timeout=self.timeout)
        table = table.rename_columns([c.lower() for c in table.column_names])
        return Result(table, RunStats.assemble(inputs, engine_stats), warnings)

    # --- the pipeline, a stage a method -------------------------------------------------------

    def plan(self, statement: exp.Expr) -> Plan:
        """The plan of a query (no file is read)."""
        return plan_query(statement, self)

    def list_files(self, plan: Plan) -> Listed:
        """The files each scan of ``plan`` may read; day folders unchanged since the lake's
        ingest listed them are not listed again (their files are the lake's record of them)."""
        if "tables" in self.engine.reads:  # the engine reads the tables where they are: no file of ours
            return Listed(tuple(ScanInput(scan, Listing()) for scan in plan.scans))
        if any(scan.table.name == DEFAULT_TABLE for scan in plan.scans) and DEFAULT_TABLE not in self.workspace.tables:
            self._check_default_logs()
        folders = self.lake.folders() if self.lake is not None and "lake" in self.engine.reads else None
        with _garbage_collector_paused():  # (in a deep thread: pruning walks the predicates' trees)
            return run_deep(lambda: list_plan(plan, self, folders))

    def cover(self, inputs: tuple[ScanInput, ...]) -> tuple[list[ScanInput], list[str]]:
        """The inputs with the log files the lake holds read from it, where the engine reads the lake."""
        if self.lake is None or "lake" not in self.engine.reads:
            return list(inputs), []
        with _garbage_collector_paused():
            return self.lake.cover(inputs)

    def fetch(self, inputs: list[ScanInput]) -> list[ScanInput]:
        """The inputs with local copies of their S3 objects, for an engine that does not read S3."""
        if "s3" in self.engine.reads:
            return inputs
        return [
            dataclasses.replace(given, listing=self.s3().fetch(given.listing))
            if any(f.remote for f in given.listing.files)
            else given
            for given in inputs
        ]


@contextlib.contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """No cycle collection while a plan lists its files: a listing makes an object or two per
    file, tens of thousands, none in a cycle, and the collections they would set off (walking
    every object of the process, again and again) cost a fifth of a lake query's time. Cycles
    planning leaves (sqlglot's trees) are collected after, as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _is_view(statement: exp.Expr) -> bool:
    return isinstance(statement, exp.Create) and (statement.kind or "").upper() == "VIEW"


def _select_from_values(values: exp.Values) -> exp.Select:
    """A top-level ``VALUES`` as the query Athena runs: columns ``_col0``, ``_col1``..."""
    first = values.expressions[0] if values.expressions else None
    width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
    alias = exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier(f"_col{i}") for i in range(width)])
    return exp.select("*").from_(exp.Values(expressions=values.expressions, alias=alias))
