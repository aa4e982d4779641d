"""The pass-through engine: Amazon Athena runs the plan over its own tables.

Nothing is listed, read or fetched here (``reads`` is ``"tables"``): each scan of the plan
becomes the Athena table of the same name again, in the engine's database, and the query
goes to Athena as the Trino SQL the planner left (views expanded, ``--since`` windows and
``_col0`` names included, all of which Athena reads as written). The engine then waits
with a short backoff, stops the query on a timeout or Ctrl-C (an abandoned query would go
on scanning, and billing), and reads the rows back page by page, typed as Athena's result
metadata types them. The table must exist in Athena: ``trailsql tables ddl`` prints its
DDL.

boto3 finds credentials and the region by the standard chain (``profile`` and ``region``
choose among them); the client is made on the first run, so making the engine, as every
session does, never touches AWS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import botocore.exceptions
import pyarrow as pa
from sqlglot import exp

from trailsql.engines.base import Readable
from trailsql.enrich import used_in
from trailsql.errors import CancelledError, CatalogError, LimitError, NotSupportedError, SourceError, TrailsqlError
from trailsql.sources.files import ScanInput
from trailsql.sql.parse import DIALECT
from trailsql.sql.planner import Plan
from trailsql.stats import EngineStats

#: The first wait between two polls of a running query, doubled up to the longest: a
#: quick query is seen done within tens of milliseconds, a long one costs a request a second.
FIRST_POLL_S = 0.05
LONGEST_POLL_S = 1.0

#: Athena's messages of a query naming what is not there (a ``CatalogError``, as locally).
_NOT_FOUND = ("TABLE_NOT_FOUND", "SCHEMA_NOT_FOUND", "COLUMN_NOT_FOUND", "CATALOG_NOT_FOUND")

Parse = Callable[[str], object]


class AthenaEngine:
    """Runs plans on Amazon Athena.

    ``workgroup`` and ``output`` (the ``s3://`` result location) are sent only when given
    (a workgroup may set its own location); ``database`` is where the tables are,
    ``catalog`` their data catalog. ``client`` is an Athena client to use instead of one
    made from ``profile`` and ``region`` (tests give a stubbed one).
    """

    name = "athena"
    reads: frozenset[Readable] = frozenset({"tables"})
    #: The settings :func:`trailsql.engines.create` passes on (``[athena]``, ``--athena-*``).
    OPTIONS = ("workgroup", "output", "database", "catalog", "region", "profile")

    def __init__(
        self,
        *,
        workgroup: str | None = None,
        output: str | None = None,
        database: str | None = None,
        catalog: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        client: Any = None,
    ) -> None:
        self.workgroup = workgroup
        self.output = output
        self.database = database or "default"
        self.catalog = catalog or "AwsDataCatalog"
        self.region = region
        self.profile = profile
        self._client = client
        #: The execution running now, which cancel() stops, and whether a stop was asked.
        self._running: str | None = None
        self._cancel_asked = threading.Event()
        #: How the engine waits between polls and reads the time (tests make both instant).
        self.sleep: Callable[[float], None] = time.sleep
        self.clock: Callable[[], float] = time.monotonic

    def client(self) -> Any:
        """The Athena client, made on first use from the profile and region."""
        if self._client is None:
            try:
                session = boto3.Session(profile_name=self.profile, region_name=self.region)
                self._client = session.client("athena")
            except botocore.exceptions.BotoCoreError as error:  # an unknown profile, no region
                raise SourceError(f"cannot reach Athena: {error}") from None
        return self._client

    def sql(self, plan: Plan) -> str:
        """The query Athena receives: the plan's tree with each scan the table it stands for.

        The planner dropped any database the query named (trailsql knows tables by name), so
        every table is qualified with the engine's ``database``.
        """
        if any(scan.record for scan in plan.scans):
            raise NotSupportedError('"$record" on Athena (a pseudo-column of trailsql; Athena has "$path")')
        if used_in(plan.tree):
            raise NotSupportedError("ip_info on Athena (a function of trailsql's: the duckdb and spark engines run it)")
        tables = {scan.name: scan.table.name for scan in plan.scans}
        tree = plan.tree.copy()
        for ref in list(tree.find_all(exp.Table)):
            if ref.name in tables:
                alias = ref.args.get("alias")
                ref.replace(
                    exp.Table(
                        this=exp.to_identifier(tables[ref.name]),
                        db=exp.to_identifier(self.database),
                        alias=alias.copy() if alias is not None else None,
                    )
                )
        return tree.sql(DIALECT)

    def run(
        self, plan: Plan, inputs: Sequence[ScanInput], *, strict: bool = False, timeout: float | None = None
    ) -> tuple[pa.Table, EngineStats]:
        """The rows of ``plan`` as Athena answers it; ``inputs`` hold nothing to read
        (``strict`` has no file to apply to: Athena's SerDe decides what a bad record is)."""
        query = self.sql(plan)
        started = self.clock()
        if self._cancel_asked.is_set():
            raise self._spend_cancel()
        execution_id = self._running = self._start(query)
        if self._cancel_asked.is_set():  # (asked while it started: cancel() saw no execution to stop)
            self._stop(execution_id)
        try:
            execution = self._wait(execution_id, started, timeout)
        finally:
            self._running = None
        if self._cancel_asked.is_set():
            raise self._spend_cancel()
        execution = _succeeded(execution)
        table = rows_table(self._pages(execution_id))
        # What Athena read and billed for: its own count, not an estimate (RunStats prices it).
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
        return table, EngineStats(bytes_scanned=scanned, elapsed_s=self.clock() - started)

    def close(self) -> None:
        """Drop the client (it holds only an HTTP connection pool)."""
        self._client = None

    def cancel(self) -> None:
        """Stop the running execution in Athena (or the next one); that run raises CancelledError."""
        self._cancel_asked.set()
        running = self._running
        if running is not None:
            self._stop(running)

    def _spend_cancel(self) -> CancelledError:
        self._cancel_asked.clear()
        return CancelledError("query cancelled")

    # --- one Athena call a method ---------------------------------------------------------

    def _start(self, query: str) -> str:
        request: dict[str, Any] = {
            "QueryString": query,
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
        }
        if self.workgroup:
            request["WorkGroup"] = self.workgroup
        if self.output:
            request["ResultConfiguration"] = {"OutputLocation": self.output}
        with _athena_errors():
            return str(self.client().start_query_execution(**request)["QueryExecutionId"])

    def _wait(self, execution_id: str, started: float, timeout: float | None) -> dict[str, Any]:
        """The execution once it finished, polled with a doubling wait; a timeout or Ctrl-C
        stops the query in Athena first."""
        delay = FIRST_POLL_S
        try:
            while True:
                with _athena_errors():
                    execution: dict[str, Any] = self.client().get_query_execution(QueryExecutionId=execution_id)[
                        "QueryExecution"
                    ]
                if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                    return execution
                waited = self.clock() - started
                if timeout is not None and waited >= timeout:
                    self._stop(execution_id)
                    raise LimitError(f"query timed out after {timeout:g} s (the timeout)")
                self.sleep(delay if timeout is None else min(delay, timeout - waited))
                delay = min(delay * 2, LONGEST_POLL_S)
        except KeyboardInterrupt:
            with contextlib.suppress(SourceError):  # (the interrupt is what the user must see)
                self._stop(execution_id)
            raise

    def _stop(self, execution_id: str) -> None:
        with _athena_errors():
            self.client().stop_query_execution(QueryExecutionId=execution_id)

    def _pages(self, execution_id: str) -> Iterator[dict[str, Any]]:
        """Each page of the results (``GetQueryResults``' ``ResultSet``), following ``NextToken``."""
        request = {"QueryExecutionId": execution_id, "MaxResults": 1000}
        while True:
            with _athena_errors():
                page = self.client().get_query_results(**request)
            yield page["ResultSet"]
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]


@contextlib.contextmanager
def _athena_errors() -> Iterator[None]:
    """Errors of the AWS SDK as trailsql's: Athena refusing a request, or out of reach."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        raise SourceError(f"Athena: {details.get('Code', 'error')}: {details.get('Message', error)}") from None
    except botocore.exceptions.NoCredentialsError:
        raise SourceError("cannot reach Athena: no AWS credentials (configure them, or give a profile)") from None
    except botocore.exceptions.BotoCoreError as error:
        raise SourceError(f"cannot reach Athena: {error}") from None


def _succeeded(execution: dict[str, Any]) -> dict[str, Any]:
    """The execution, if it succeeded; a failed or cancelled one as an error saying Athena's why."""
    status = execution["Status"]
    if status["State"] == "SUCCEEDED":
        return execution
    reason = status.get("StateChangeReason") or status["State"].lower()
    message = status.get("AthenaError", {}).get("ErrorMessage")
    text = reason if not message or message == reason else f"{reason} ({message})"
    if status["State"] == "CANCELLED":
        raise TrailsqlError(f"the Athena query was cancelled: {text}")
    if text.startswith(_NOT_FOUND):
        raise CatalogError(f"Athena: {text}")
    raise TrailsqlError(f"Athena: {text}")


# --- results: Athena's text values as Arrow ------------------------------------------------


def rows_table(pages: Iterator[dict[str, Any]]) -> pa.Table:
    """The rows of ``GetQueryResults`` pages as an Arrow table typed by their ColumnInfo.

    The first row of the first page is the header Athena puts before a SELECT's rows (the
    column labels), not data. A value without ``VarCharValue`` is NULL. Types with an Arrow
    counterpart are converted (see :func:`arrow_type`); ``array``, ``map``, ``row``,
    ``json``, ``interval`` and any other type stay the text Athena wrote (``[1, 2]``,
    ``{k=v}``), since that text is not JSON and cannot be read back exactly.

    >>> page = {"ResultSetMetadata": {"ColumnInfo": [{"Name": "n", "Type": "bigint"}]},
    ...         "Rows": [{"Data": [{"VarCharValue": "n"}]}, {"Data": [{"VarCharValue": "7"}]}, {"Data": [{}]}]}
    >>> rows_table(iter([page])).to_pydict()
    {'n': [7, None]}
    """
    first = next(pages)
    columns = first["ResultSetMetadata"]["ColumnInfo"]
    values: list[list[str | None]] = [[] for _ in columns]
    _append(values, first["Rows"][1:])
    for page in pages:
        _append(values, page["Rows"])
    arrays = [_array(column, texts) for column, texts in zip(columns, values, strict=True)]
    return pa.Table.from_arrays(arrays, names=[column["Name"] for column in columns])


def _append(values: list[list[str | None]], rows: list[dict[str, Any]]) -> None:
    """Each row's values (None: NULL) appended to their columns' lists."""
    for row in rows:
        for column, datum in zip(values, row["Data"], strict=True):
            column.append(datum.get("VarCharValue"))


def _array(column: dict[str, Any], texts: list[str | None]) -> pa.Array:
    typ, parse = arrow_type(column)
    return pa.array([None if text is None else parse(text) for text in texts], type=typ)


def arrow_type(column: dict[str, Any]) -> tuple[pa.DataType, Parse]:
    """The Arrow type of a ColumnInfo and how to read its values' text.

    >>> arrow_type({"Type": "decimal", "Precision": 10, "Scale": 2})[0]
    Decimal128Type(decimal128(10, 2))
    """
    name = column["Type"].lower()
    if name == "decimal":
        return pa.decimal128(int(column.get("Precision", 38)), int(column.get("Scale", 0))), Decimal
    return _TYPES.get(name, (pa.string(), str))


def _timestamp_with_zone(text: str) -> dt.datetime:
    """``2025-02-12 10:00:00.000 UTC`` (or a zone id, or an offset) as an aware datetime.

    >>> _timestamp_with_zone("2025-02-12 10:00:00.000 America/New_York").astimezone(dt.UTC).hour
    15
    """
    stamp, _, zone = text.rpartition(" ")
    if zone.startswith(("+", "-")):
        return dt.datetime.fromisoformat(stamp + zone)
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC if zone == "UTC" else ZoneInfo(zone))


def _boolean(text: str) -> bool:
    return text == "true"


def _varbinary(text: str) -> bytes:
    """Athena writes bytes as hex pairs separated by spaces (``31 32 33``)."""
    return bytes.fromhex(text)


_TYPES: dict[str, tuple[pa.DataType, Parse]] = {
    "boolean": (pa.bool_(), _boolean),
    "tinyint": (pa.int8(), int),
    "smallint": (pa.int16(), int),
    "integer": (pa.int32(), int),
    "bigint": (pa.int64(), int),
    "real": (pa.float32(), float),
    "float": (pa.float32(), float),
    "double": (pa.float64(), float),
    "varchar": (pa.string(), str),
    "char": (pa.string(), str),
    "date": (pa.date32(), dt.date.fromisoformat),
    "time": (pa.time64("us"), dt.time.fromisoformat),
    "timestamp": (pa.timestamp("us"), dt.datetime.fromisoformat),
    "timestamp with time zone": (pa.timestamp("us", tz="UTC"), _timestamp_with_zone),
    "varbinary": (pa.binary(), _varbinary),
}
