"""The Athena pass-through engine, against moto's Athena (no real Athena can run here).

moto runs no query: it keeps each execution (the SQL text, context, workgroup and result
location it was sent) and answers ``GetQueryResults`` from a queue of results the test
puts there, which is enough to check what is sent and how the answer is read. moto returns
every row in one page and every query as SUCCEEDED, so paging, failures and timeouts are
tested on a client stubbed by botocore's Stubber. Expected values are written by hand.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
import sqlglot
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from trailsql import schema
from trailsql.catalog.table import default_table
from trailsql.cli.main import cli
from trailsql.engines.athena import AthenaEngine
from trailsql.errors import CancelledError, CatalogError, LimitError, NotSupportedError, SourceError, TrailsqlError
from trailsql.library.window import Window
from trailsql.session import Session
from trailsql.sql.planner import restrict_to_window

moto = pytest.importorskip("moto")
from moto.athena.models import QueryResults, athena_backends  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and a region, and no file or instance metadata to find others in."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("TRAILSQL_WORKSPACE", raising=False)


@pytest.fixture
def athena() -> Iterator[Any]:
    """moto's Athena backend (in-process), with a workgroup ``w``."""
    with moto.mock_aws():
        boto3.client("athena", region_name=REGION).create_work_group(Name="w")
        yield athena_backends[ACCOUNT][REGION]


def column(name: str, typ: str, precision: int = 0, scale: int = 0) -> dict[str, Any]:
    return {"Name": name, "Label": name, "Type": typ, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN"}


def rows(*values: tuple[str | None, ...]) -> list[dict[str, Any]]:
    """Result rows as Athena writes them: a missing ``VarCharValue`` is NULL."""
    return [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in values]


def queue(backend: Any, columns: list[dict[str, Any]], *values: tuple[str | None, ...]) -> None:
    """The next execution's result: the header row (the column names), then ``values``."""
    header = tuple(c["Name"] for c in columns)
    backend.query_results_queue.append(QueryResults(rows=rows(header, *values), column_info=columns))


def only_execution(backend: Any) -> Any:
    (execution,) = backend.executions.values()
    return execution


OPTIONS = {"workgroup": "w", "output": "s3://results/trailsql/", "database": "trails", "catalog": "AwsDataCatalog"}


def test_query_sent_to_athena_names_its_tables_and_settings(athena: Any, tmp_path: Path) -> None:
    queue(athena, [column("eventname", "varchar"), column("n", "bigint")], ("GetObject", "12"), ("PutObject", "3"))
    with Session(tmp_path / "logs", engine="athena", engine_options=OPTIONS) as session:
        result = session.execute("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    assert result.table.to_pydict() == {"eventname": ["GetObject", "PutObject"], "n": [12, 3]}
    assert result.table.schema.types == [pa.string(), pa.int64()]
    execution = only_execution(athena)
    assert (
        execution.query == "SELECT eventname, COUNT(*) AS n FROM trails.cloudtrail_logs AS cloudtrail_logs GROUP BY 1"
    )
    assert execution.context == {"Database": "trails", "Catalog": "AwsDataCatalog"}
    assert execution.workgroup.name == "w"
    assert execution.config["OutputLocation"] == f"s3://results/trailsql/{execution.id}.csv"  # (moto names the file)


def test_only_the_settings_given_are_sent(athena: Any) -> None:
    with Session(engine="athena") as session:
        session.execute("SELECT 1")
    execution = only_execution(athena)
    assert execution.query == "SELECT 1 AS _col0"
    assert execution.context == {"Database": "default", "Catalog": "AwsDataCatalog"}
    assert execution.workgroup is None
    assert execution.config is None


def test_values_are_typed_as_athena_types_them(athena: Any) -> None:
    columns = [
        column("s", "varchar", 2147483647),
        column("c", "char", 3),
        column("b", "bigint", 19),
        column("i", "integer", 10),
        column("t", "tinyint", 3),
        column("d", "double", 17),
        column("r", "real", 17),
        column("ok", "boolean"),
        column("amount", "decimal", 10, 2),
        column("day", "date"),
        column("at", "timestamp", 3),
        column("atz", "timestamp with time zone", 3),
        column("tags", "array"),
        column("props", "map"),
        column("bytes", "varbinary", 1073741824),
    ]
    queue(
        athena,
        columns,
        ("a", "abc", "9007199254740993", "-7", "1", "1.0E20", "0.5", "true", "12.30", "2025-02-12",
         "2025-02-12 10:11:12.345", "2025-02-12 10:00:00.000 UTC", "[1, 2]", "{k=v}", "31 32 33"),
        ("", None, None, None, None, "NaN", None, "false", None, None, None, "2025-02-12 10:00:00.000 Europe/Paris",
         None, None, None),
    )  # fmt: skip
    with Session(engine="athena") as session:
        table = session.execute("SELECT 1").table
    assert table.schema.types == [
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.int32(),
        pa.int8(),
        pa.float64(),
        pa.float32(),
        pa.bool_(),
        pa.decimal128(10, 2),
        pa.date32(),
        pa.timestamp("us"),
        pa.timestamp("us", tz="UTC"),
        pa.string(),
        pa.string(),
        pa.binary(),
    ]
    first, second = table.to_pylist()
    assert first == {
        "s": "a",
        "c": "abc",
        "b": 9007199254740993,
        "i": -7,
        "t": 1,
        "d": 1e20,
        "r": 0.5,
        "ok": True,
        "amount": decimal.Decimal("12.30"),
        "day": dt.date(2025, 2, 12),
        "at": dt.datetime(2025, 2, 12, 10, 11, 12, 345000),
        "atz": dt.datetime(2025, 2, 12, 10, 0, tzinfo=dt.UTC),
        "tags": "[1, 2]",
        "props": "{k=v}",
        "bytes": b"123",
    }
    assert second["s"] == "" and second["c"] is None and second["b"] is None and second["ok"] is False
    assert second["d"] != second["d"]  # NaN
    assert second["atz"] == dt.datetime(2025, 2, 12, 9, 0, tzinfo=dt.UTC)  # Paris is UTC+1 in February


def test_empty_answer_keeps_its_columns(athena: Any) -> None:
    queue(athena, [column("eventname", "varchar")])
    with Session(engine="athena") as session:
        table = session.execute("SELECT 1").table
    assert table.num_rows == 0 and table.column_names == ["eventname"]


def plan_sql(sql: str, tmp_path: Path, window: Window | None = None, **options: str) -> str:
    """The SQL the engine would send for ``sql`` (planned by a session, sent nowhere)."""
    engine = AthenaEngine(**options)
    with Session(tmp_path / "logs", engine=engine) as session:
        statement = sqlglot.parse_one(sql, read="athena")
        if window is not None:
            statement = restrict_to_window(statement, session, window)
        return engine.sql(session.plan(statement))


def test_aliases_joins_and_named_databases(tmp_path: Path) -> None:
    sql = "SELECT a.eventname FROM logsdb.cloudtrail_logs a JOIN cloudtrail_logs b ON a.eventid = b.eventid"
    assert plan_sql(sql, tmp_path, database="trails") == (
        "SELECT a.eventname FROM trails.cloudtrail_logs AS a JOIN trails.cloudtrail_logs AS b ON a.eventid = b.eventid"
    )


def test_window_and_path_are_athena_sql(tmp_path: Path) -> None:
    window = Window(dt.datetime(2025, 2, 12, tzinfo=dt.UTC), dt.datetime(2025, 2, 13, tzinfo=dt.UTC))
    sent = plan_sql('SELECT "$path", eventname FROM cloudtrail_logs', tmp_path, window)
    assert sent.startswith(
        'SELECT "$path", eventname FROM (SELECT *, "$path" FROM default.cloudtrail_logs AS cloudtrail_logs WHERE '
    )
    assert "__trailsql_scan" not in sent
    assert "year = '2025'" in sent
    sqlglot.parse_one(sent, read="athena")


def test_record_pseudo_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotSupportedError, match=r"\$record"):
        plan_sql('SELECT "$record" FROM cloudtrail_logs', tmp_path)


def test_unknown_workgroup_is_athena_refusing(athena: Any) -> None:
    refused = pytest.raises(SourceError, match="Athena: InvalidRequestException: WorkGroup does not exist")
    with Session(engine="athena", engine_options={"workgroup": "nope"}) as session, refused:
        session.execute("SELECT 1")


def test_making_the_engine_touches_no_aws() -> None:
    engine = AthenaEngine(profile="no-such-profile")  # no client yet: nothing to fail
    refused = pytest.raises(SourceError, match=r"cannot reach Athena: The config profile \(no-such-profile\)")
    with Session(engine=engine) as session, refused:
        session.execute("SELECT 1")


def test_no_credentials_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with Session(engine="athena") as session, pytest.raises(SourceError, match="no AWS credentials"):
        session.execute("SELECT 1")


# --- a stubbed client: paging, failures, timeouts -------------------------------------------


class Stubbed:
    """An engine over a stubbed Athena client, with instant sleeps on a clock of its own."""

    def __init__(self) -> None:
        self.client = boto3.client("athena", region_name=REGION)
        self.stub = Stubber(self.client)
        self.engine = AthenaEngine(client=self.client)
        self.now = 0.0
        self.slept: list[float] = []
        self.engine.sleep = self._sleep
        self.engine.clock = lambda: self.now

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def start(self) -> None:
        self.stub.add_response(
            "start_query_execution", {"QueryExecutionId": "q1"}, {"QueryString": ANY, "QueryExecutionContext": ANY}
        )

    def state(self, state: str, **more: Any) -> None:
        execution = {"QueryExecutionId": "q1", "Status": {"State": state, **more.pop("status", {})}, **more}
        self.stub.add_response("get_query_execution", {"QueryExecution": execution}, {"QueryExecutionId": "q1"})

    def run(self, sql: str = "SELECT 1", timeout: float | None = None) -> tuple[pa.Table, Any]:
        with self.stub, Session(engine=self.engine, timeout=timeout) as session:
            result = session.execute(sql)
        self.stub.assert_no_pending_responses()
        return result.table, result.stats


@pytest.fixture
def stubbed() -> Stubbed:
    return Stubbed()


def test_pages_are_followed_and_the_header_skipped_once(stubbed: Stubbed) -> None:
    columns = [column("n", "integer", 10)]
    stubbed.start()
    stubbed.state("QUEUED")
    stubbed.state("RUNNING")
    stubbed.state("SUCCEEDED", Statistics={"DataScannedInBytes": 123456})
    first = {
        "ResultSet": {
            "Rows": rows(("n",), *((str(i),) for i in range(999))),
            "ResultSetMetadata": {"ColumnInfo": columns},
        }
    }
    second = {
        "ResultSet": {
            "Rows": rows(*((str(i),) for i in range(999, 1500))),
            "ResultSetMetadata": {"ColumnInfo": columns},
        }
    }
    stubbed.stub.add_response(
        "get_query_results", {**first, "NextToken": "page2"}, {"QueryExecutionId": "q1", "MaxResults": 1000}
    )
    stubbed.stub.add_response(
        "get_query_results", second, {"QueryExecutionId": "q1", "MaxResults": 1000, "NextToken": "page2"}
    )
    table, stats = stubbed.run()
    assert table.column("n").to_pylist() == list(range(1500))
    assert stats.bytes_scanned == 123456 and stats.files_scanned == 0
    assert stubbed.slept == [0.05, 0.1]  # a poll per state, the wait doubling


def test_backoff_doubles_up_to_a_second(stubbed: Stubbed) -> None:
    stubbed.start()
    for _ in range(7):
        stubbed.state("RUNNING")
    stubbed.state("SUCCEEDED")
    stubbed.stub.add_response("get_query_results", {"ResultSet": {"Rows": [], "ResultSetMetadata": {"ColumnInfo": []}}})
    stubbed.run()
    assert stubbed.slept == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_failed_query_says_athenas_reason(stubbed: Stubbed) -> None:
    reason = "SYNTAX_ERROR: line 1:8: Function 'nosuch' not registered"
    stubbed.start()
    stubbed.state(
        "FAILED",
        status={
            "StateChangeReason": reason,
            "AthenaError": {"ErrorCategory": 2, "ErrorType": 1303, "ErrorMessage": reason},
        },
    )
    with pytest.raises(TrailsqlError, match=f"^Athena: {reason}$"):
        stubbed.run()


def test_missing_column_is_a_catalog_error(stubbed: Stubbed) -> None:
    reason = "COLUMN_NOT_FOUND: line 1:8: Column 'foo' cannot be resolved"
    stubbed.start()
    stubbed.state("FAILED", status={"StateChangeReason": reason})
    with pytest.raises(CatalogError, match="Column 'foo' cannot be resolved"):
        stubbed.run()


def test_cancelled_elsewhere_is_an_error(stubbed: Stubbed) -> None:
    stubbed.start()
    stubbed.state("CANCELLED", status={"StateChangeReason": "Query cancelled by user"})
    with pytest.raises(TrailsqlError, match="the Athena query was cancelled: Query cancelled by user"):
        stubbed.run()


def test_timeout_stops_the_query(stubbed: Stubbed) -> None:
    stubbed.start()
    for _ in range(4):  # polled at 0, 0.05, 0.15, 0.35 s; the wait after that is cut to the 0.5 s left
        stubbed.state("RUNNING")
    stubbed.state("RUNNING")  # at 0.5 s: past the timeout
    stubbed.stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q1"})
    with pytest.raises(LimitError, match=r"^query timed out after 0.5 s \(the timeout\)$"):
        stubbed.run(timeout=0.5)
    assert stubbed.slept == pytest.approx([0.05, 0.1, 0.2, 0.15])


def test_ctrl_c_stops_the_query(stubbed: Stubbed) -> None:
    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    stubbed.engine.sleep = interrupted
    stubbed.start()
    stubbed.state("RUNNING")
    stubbed.stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q1"})
    with pytest.raises(KeyboardInterrupt):
        stubbed.run()


def test_cancel_stops_the_running_query_in_athena(stubbed: Stubbed) -> None:
    """``Engine.cancel`` (the server's StopQueryExecution) from another thread while the run polls."""

    def cancel_while_waiting(seconds: float) -> None:
        stubbed.engine.cancel()

    stubbed.engine.sleep = cancel_while_waiting
    stubbed.start()
    stubbed.state("RUNNING")
    stubbed.stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q1"})
    stubbed.state("CANCELLED", status={"StateChangeReason": "Query cancelled by user"})
    with pytest.raises(CancelledError, match=r"^query cancelled$"):
        stubbed.run()
    stubbed.engine.cancel()  # nothing runs: nothing is sent


# --- the command line -----------------------------------------------------------------------


def test_cli_query_on_athena(athena: Any, tmp_path: Path) -> None:
    queue(athena, [column("eventname", "varchar"), column("n", "bigint")], ("GetObject", "12"))
    args = ["query", "--engine", "athena", "--athena-output", "s3://results/", "--athena-workgroup", "w"]
    args += ["--athena-database", "trails", "--logs", str(tmp_path), "--format", "json"]
    result = CliRunner().invoke(cli, [*args, "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"eventname": "GetObject", "n": 12}]
    execution = only_execution(athena)
    assert (
        execution.query == "SELECT eventname, COUNT(*) AS n FROM trails.cloudtrail_logs AS cloudtrail_logs GROUP BY 1"
    )
    assert execution.workgroup.name == "w"
    assert execution.config["OutputLocation"].startswith("s3://results/")


def test_tables_ddl_of_the_default_table(write_logs: Any) -> None:
    write_logs([], account="111111111111", region="eu-west-1")
    write_logs([], account="222222222222", region="us-east-1")
    result = CliRunner().invoke(
        cli, ["tables", "ddl", "--for", "athena", "--logs", str(write_logs.root), "--location", "s3://trail-bucket"]
    )
    assert result.exit_code == 0, result.output
    ddl = result.stdout
    sqlglot.parse_one(ddl, read="athena")
    assert "LOCATION 's3://trail-bucket/AWSLogs/'" in ddl
    assert "'projection.account.values' = '111111111111,222222222222'" in ddl
    assert "'projection.region.values' = 'eu-west-1,us-east-1'" in ddl
    assert "'s3://trail-bucket/AWSLogs/${account}/CloudTrail/${region}/${year}/${month}/${day}/'" in ddl
    with Session() as session:
        session.execute(ddl)
        created = session.table("cloudtrail_logs")
    assert created is not None and created.projected and created.unwraps_records
    expected = default_table("/logs")
    assert [(n.lower(), schema.athena_type(t)) for n, t in created.columns] == [
        (n.lower(), schema.athena_type(t)) for n, t in expected.columns
    ]
    assert created.partition_names == ("account", "region", "year", "month", "day")


def test_tables_ddl_of_a_ddl_table(tmp_path: Path) -> None:
    ddl = (
        "CREATE EXTERNAL TABLE trail (eventname STRING, eventtime STRING) PARTITIONED BY (day STRING)"
        " ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION 's3://bucket/AWSLogs/'"
        " TBLPROPERTIES ('projection.enabled' = 'true', 'projection.day.type' = 'date',"
        " 'projection.day.format' = 'yyyy/MM/dd', 'projection.day.range' = '2025/01/01,NOW',"
        " 'storage.location.template' = 's3://bucket/AWSLogs/${day}/')"
    )
    workspace = tmp_path / "ws"
    with Session(workspace=workspace) as session:
        session.execute(ddl)
    result = CliRunner().invoke(cli, ["tables", "ddl", "--workspace", str(workspace), "trail"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ddl + ";\n\n"
    missing = CliRunner().invoke(cli, ["tables", "ddl", "--workspace", str(workspace), "nope"])
    assert missing.exit_code != 0 and "TABLE_NOT_FOUND" in str(missing.exception)
