"""Unchanged Athena clients against a real ``trailsql serve`` on loopback.

One server (a ``trailsql serve --port 0`` subprocess, tests/serve_server.py) over the bundled
sample logs serves the seed's automation script run as it is, the AWS CLI, PyAthena (its
cursors, parameters, cancel, errors and SQLAlchemy dialect) and awswrangler. Every answer is
checked twice: against expectations computed with plain Python over the sample logs'
JSON, and against the same SQL through ``trailsql query --logs <samples> --format csv``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError

import trailsql
from serve_server import KEY_ID, REGION, SAMPLES, SECRET, Served, sample_events, start, stop, wait

pyathena = pytest.importorskip("pyathena")
wr = pytest.importorskip("awswrangler")

DAILY_CHECK = Path("/work/shared/athena/daily_check.py")
BIN = Path(sys.executable).parent
TRAILSQL, AWS = BIN / "trailsql", BIN / "aws"
STAGING = "s3://trailsql-results/"

# The queries the clients send (small: the whole module runs in well under a minute).
COUNTS = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY eventname ORDER BY n DESC, eventname"
DENIED = "SELECT count(*) AS denied FROM cloudtrail_logs WHERE errorcode = 'AccessDenied'"
IPS = "SELECT DISTINCT sourceipaddress FROM cloudtrail_logs ORDER BY sourceipaddress"
# The daily check's query over the samples' own partition (the script's own names a day of this month).
DAILY_SAMPLE = """
SELECT userIdentity.arn, eventName, errorCode, COUNT(*) as count
FROM cloudtrail_logs
WHERE account = '218007301253' AND region = 'us-east-1'
    AND year = '2023' AND month = '07' AND day = '10'
    AND errorCode = 'AccessDenied'
GROUP BY userIdentity.arn, eventName, errorCode
HAVING COUNT(*) > 10
ORDER BY count DESC
"""
# Slow enough to be cancelled while it runs: 2900^4 rows counted.
SLOW = (
    "SELECT count(*) AS n FROM cloudtrail_logs a CROSS JOIN cloudtrail_logs b"
    " CROSS JOIN cloudtrail_logs c CROSS JOIN cloudtrail_logs d"
)
#: The queries whose result files are compared byte for byte with the CLI's CSV.
CSV_SQL = (DAILY_SAMPLE, IPS)


# --- expectations: plain Python over the sample logs ------------------------------------------


def partitioned_events(root: Path = SAMPLES) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(account, region, year, month, day) from each file's path, and each of its events."""
    for path in sorted(root.rglob("*.json.gz")):
        account, _, region, year, month, day = path.relative_to(root).parts[:6]
        with gzip.open(path) as handle:
            for event in json.load(handle)["Records"]:
                yield (account, region, year, month, day), event


EVENTS = list(sample_events())
COUNT_BY_NAME = Counter(e["eventName"] for e in EVENTS)
EXPECTED_COUNTS = sorted(COUNT_BY_NAME.items(), key=lambda item: (-item[1], item[0]))
EXPECTED_DENIED = sum(e.get("errorCode") == "AccessDenied" for e in EVENTS)
EXPECTED_IPS = sorted({e["sourceIPAddress"] for e in EVENTS if e.get("sourceIPAddress") is not None})


def denied_groups(partition: tuple[str, ...], more_than: int) -> list[list[str]]:
    """The daily check's rows: (arn, eventName, errorCode, count) of AccessDenied in ``partition``."""
    groups = Counter(
        (event["userIdentity"].get("arn"), event["eventName"], event["errorCode"])
        for where, event in partitioned_events()
        if where == partition and event.get("errorCode") == "AccessDenied"
    )
    chosen = [(key, n) for key, n in groups.items() if n > more_than]
    return [[*key, str(n)] for key, n in sorted(chosen, key=lambda item: -item[1])]


def test_expectations_are_not_trivial() -> None:
    """The samples hold what the cases below rely on (else they would prove little)."""
    assert len(EVENTS) > 1000 and len(COUNT_BY_NAME) > 50
    assert EXPECTED_DENIED > 10 and len(EXPECTED_IPS) > 5
    assert len(denied_groups(("218007301253", "us-east-1", "2023", "07", "10"), 10)) == 1


# --- the reference: the same SQL through ``trailsql query`` ---------------------------------------


class Reference:
    """The same SQL through trailsql itself, outside the server: ``rows`` through the DB-API
    (``trailsql.connect(logs=<samples>)``, as text), ``csv`` through the CLI
    (``trailsql query --logs <samples> --format csv SQL``; a process each, the known ones
    started at once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._started: dict[str, subprocess.Popen[str]] = {}
        self._done: dict[str, str] = {}
        for sql in CSV_SQL:
            self._start(sql)
        self._connection = trailsql.connect(logs=SAMPLES)

    def _start(self, sql: str) -> subprocess.Popen[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRAILSQL_"))}
        process = subprocess.Popen(
            [str(TRAILSQL), "query", "--logs", str(SAMPLES), "--format", "csv", sql],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.folder,
            env=environ,
        )
        self._started[sql] = process
        return process

    def csv(self, sql: str) -> str:
        if sql not in self._done:
            process = self._started.get(sql) or self._start(sql)
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            self._done[sql] = out
        return self._done[sql]

    def rows(self, sql: str) -> list[list[str | None]]:
        """Header and rows, values as text (NULL: None)."""
        cursor = self._connection.cursor()
        cursor.execute(sql)
        header: list[str | None] = [column[0] for column in cursor.description]
        return [header, *([None if v is None else str(v) for v in row] for row in cursor.fetchall())]

    def close(self) -> None:
        self._connection.close()
        for process in self._started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


# --- the server and its clients --------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start(tmp_path_factory.mktemp("ws"))
    try:
        yield server
    finally:
        assert stop(server) == 0, server.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    found = Reference(tmp_path_factory.mktemp("cli"))
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def athena(served: Served) -> Any:
    return served.client()


def texts(rows: list[dict[str, Any]]) -> list[list[str | None]]:
    """GetQueryResults' rows as lists of text (NULL: None)."""
    return [[datum.get("VarCharValue") for datum in row["Data"]] for row in rows]


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return match.group(1)


def as_csv_text(rows: list[list[str | None]]) -> list[list[str]]:
    return [["" if value is None else value for value in row] for row in rows]


def paginated(athena: Any, execution_id: str, page_size: int = 2) -> tuple[list[list[str | None]], int]:
    """Every row of an execution through boto3's paginator, and the number of pages."""
    paginator = athena.get_paginator("get_query_results")
    rows: list[list[str | None]] = []
    pages = 0
    for page in paginator.paginate(QueryExecutionId=execution_id, PaginationConfig={"PageSize": page_size}):
        pages += 1
        assert len(page["ResultSet"]["Rows"]) <= page_size
        rows += texts(page["ResultSet"]["Rows"])
    return rows, pages


def run(athena: Any, sql: str, location: str = STAGING) -> dict[str, Any]:
    """A query through plain boto3, once it finished."""
    execution_id = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "default"},
        ResultConfiguration={"OutputLocation": location},
    )["QueryExecutionId"]
    return wait(athena, execution_id)


# --- 1. the seed's automation script, verbatim -----------------------------------------------------


def test_daily_check_script_runs_unchanged(served: Served, athena: Any, reference: Reference) -> None:
    """/work/shared/athena/daily_check.py as it is: its environment names only the Athena
    endpoint, the keys and the region (it makes an SNS client but sends nothing to it)."""
    environ = {k: v for k, v in served.env().items() if k != "AWS_ENDPOINT_URL_S3"}
    environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    before = set(athena.list_query_executions()["QueryExecutionIds"])
    done = subprocess.run(
        [sys.executable, str(DAILY_CHECK)], env=environ, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    printed = re.fullmatch(r"Query started: (\S+)\n", done.stdout)
    assert printed is not None, done.stdout

    paginator = athena.get_paginator("list_query_executions")
    listed = [i for page in paginator.paginate() for i in page["QueryExecutionIds"]]
    new = [i for i in listed if i not in before]
    assert new == [printed.group(1)]
    execution = wait(athena, new[0])
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["QueryExecutionContext"]["Database"] == "default"
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://my-athena-results/security/{new[0]}.csv"

    # The partition the script asked for (this month, "yesterday"'s day), in plain Python.
    query = execution["Query"]
    partition = tuple(found(rf"\b{name} = '([^']*)'", query) for name in ("account", "region", "year", "month", "day"))
    expected = denied_groups(partition, int(found(r"HAVING COUNT\(\*\) > (\d+)", query)))
    assert partition[0] == "123456789012" and expected == []  # (not the samples' account: no rows)

    rows, pages = paginated(athena, new[0])
    assert rows[0] == ["arn", "eventname", "errorcode", "count"]
    assert rows[1:] == expected
    assert pages == max(1, -(-len(rows) // 2))
    assert rows == reference.rows(query)

    # The result file at the script's OutputLocation, read through the S3 facade.
    s3 = served.client("s3")
    body = s3.get_object(Bucket="my-athena-results", Key=f"security/{new[0]}.csv")["Body"].read().decode()
    assert list(csv.reader(io.StringIO(body))) == as_csv_text(rows)
    assert body == reference.csv(query)


def test_daily_check_query_over_the_samples_partition(served: Served, athena: Any, reference: Reference) -> None:
    """The script's SQL over the one partition the samples hold: one group of more than 10."""
    execution = run(athena, DAILY_SAMPLE, "s3://my-athena-results/security/")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    rows, pages = paginated(athena, execution["QueryExecutionId"])
    expected = denied_groups(("218007301253", "us-east-1", "2023", "07", "10"), 10)
    assert rows == [["arn", "eventname", "errorcode", "count"], *expected]
    assert pages == 1
    assert rows == reference.rows(DAILY_SAMPLE)
    key = execution["ResultConfiguration"]["OutputLocation"].removeprefix("s3://my-athena-results/")
    body = served.client("s3").get_object(Bucket="my-athena-results", Key=key)["Body"].read().decode()
    assert body == reference.csv(DAILY_SAMPLE)


def test_boto3_paginates_with_the_header_on_the_first_page_only(
    served: Served, athena: Any, reference: Reference
) -> None:
    execution = run(athena, IPS)
    rows, pages = paginated(athena, execution["QueryExecutionId"])
    assert rows == [["sourceipaddress"], *([ip] for ip in EXPECTED_IPS)]
    assert pages == -(-len(rows) // 2)
    assert rows == reference.rows(IPS)
    key = f"{execution['QueryExecutionId']}.csv"
    body = served.client("s3").get_object(Bucket="trailsql-results", Key=key)["Body"].read().decode()
    assert body == reference.csv(IPS)


# --- 2. the AWS CLI --------------------------------------------------------------------------------


def aws(served: Served, *args: str) -> Any:
    environ = {**served.env(), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    done = subprocess.run(
        [str(AWS), "athena", *args, "--endpoint-url", served.url, "--output", "json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_aws_cli(served: Served, reference: Reference) -> None:
    started = aws(
        served,
        "start-query-execution",
        "--query-string",
        DENIED,
        "--query-execution-context",
        "Database=default",
        "--result-configuration",
        "OutputLocation=s3://trailsql-results/cli/",
    )
    execution_id = started["QueryExecutionId"]
    deadline = time.monotonic() + 30
    while True:
        execution = aws(served, "get-query-execution", "--query-execution-id", execution_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://trailsql-results/cli/{execution_id}.csv"
    answer = aws(served, "get-query-results", "--query-execution-id", execution_id)
    rows = texts(answer["ResultSet"]["Rows"])
    assert rows == [["denied"], [str(EXPECTED_DENIED)]]
    assert answer["ResultSet"]["ResultSetMetadata"]["ColumnInfo"][0]["Type"] == "bigint"
    assert rows == reference.rows(DENIED)


# --- 3. PyAthena -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def connection(served: Served) -> Iterator[Any]:
    from pyathena import connect

    conn = connect(
        s3_staging_dir=STAGING,
        region_name=REGION,
        endpoint_url=served.url,
        aws_access_key_id=served.key_id,
        aws_secret_access_key=served.secret,
        poll_interval=0.1,
    )
    try:
        yield conn
    finally:
        conn.close()


def test_pyathena_default_cursor(connection: Any, reference: Reference) -> None:
    cursor = connection.cursor()
    cursor.execute(COUNTS)
    assert cursor.fetchall() == EXPECTED_COUNTS
    assert cursor.description == [
        ("eventname", "varchar", None, None, 2147483647, 0, "UNKNOWN"),
        ("n", "bigint", None, None, 19, 0, "UNKNOWN"),
    ]
    assert [[name, str(n)] for name, n in EXPECTED_COUNTS] == reference.rows(COUNTS)[1:]


def test_pyathena_dict_cursor(connection: Any, reference: Reference) -> None:
    from pyathena.cursor import DictCursor

    cursor = connection.cursor(DictCursor)
    cursor.execute(IPS)
    assert cursor.fetchall() == [{"sourceipaddress": ip} for ip in EXPECTED_IPS]
    assert [[ip] for ip in EXPECTED_IPS] == reference.rows(IPS)[1:]


def test_pyathena_parameters(connection: Any, athena: Any) -> None:
    """qmark sends ExecutionParameters (SQL literals); pyformat is formatted by PyAthena."""
    expected = sum(e["eventName"] == "AssumeRole" and e.get("errorCode") == "AccessDenied" for e in EVENTS)
    cursor = connection.cursor()
    sql = "SELECT count(*) AS n FROM cloudtrail_logs WHERE eventname = ? AND errorcode = ?"
    cursor.execute(sql, ["'AssumeRole'", "'AccessDenied'"], paramstyle="qmark")
    assert cursor.fetchall() == [(expected,)]
    sent = athena.get_query_execution(QueryExecutionId=cursor.query_id)["QueryExecution"]
    assert sent["Query"] == sql
    assert sent["ExecutionParameters"] == ["'AssumeRole'", "'AccessDenied'"]

    cursor.execute("SELECT count(*) AS n FROM cloudtrail_logs WHERE eventname = %(name)s", {"name": "Decrypt"})
    assert cursor.fetchall() == [(COUNT_BY_NAME["Decrypt"],)]
    sent = athena.get_query_execution(QueryExecutionId=cursor.query_id)["QueryExecution"]
    assert "'Decrypt'" in sent["Query"] and "ExecutionParameters" not in sent


def test_pyathena_pandas_cursor_reads_the_csv_through_the_s3_facade(
    served: Served, reference: Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyAthena 4 builds its S3 client without ``endpoint_url`` (only Athena's client gets it):
    the S3 endpoint comes from ``AWS_ENDPOINT_URL_S3``, read when the client is made."""
    from pyathena import connect
    from pyathena.pandas.cursor import PandasCursor

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", served.url)
    with connect(
        s3_staging_dir=STAGING,
        region_name=REGION,
        endpoint_url=served.url,
        aws_access_key_id=served.key_id,
        aws_secret_access_key=served.secret,
        poll_interval=0.1,
        cursor_class=PandasCursor,
    ) as pandas_connection:
        frame = pandas_connection.cursor().execute(COUNTS).as_pandas()
    assert list(frame.columns) == ["eventname", "n"]
    assert str(frame["n"].dtype) == "Int64" or str(frame["n"].dtype) == "int64"
    assert list(frame.itertuples(index=False, name=None)) == EXPECTED_COUNTS
    assert [[name, str(n)] for name, n in EXPECTED_COUNTS] == reference.rows(COUNTS)[1:]


def test_pyathena_cancel(connection: Any, athena: Any) -> None:
    from pyathena.error import OperationalError

    cursor = connection.cursor()
    started: list[str] = []
    raised: list[BaseException] = []

    def execute() -> None:
        try:
            cursor.execute(SLOW, on_start_query_execution=started.append)
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=execute)
    thread.start()
    deadline = time.monotonic() + 20
    while not started or athena.get_query_execution(QueryExecutionId=started[0])["QueryExecution"]["Status"][
        "State"
    ] not in ("RUNNING", "SUCCEEDED", "FAILED"):
        assert time.monotonic() < deadline, "the slow query never ran"
        time.sleep(0.05)
    time.sleep(1.5)  # (inside the engine by now: see test_stop_right_after_running_stops_the_engine)
    cursor.cancel()
    thread.join(30)
    assert not thread.is_alive()
    execution = wait(athena, started[0], timeout=30)
    assert execution["Status"]["State"] == "CANCELLED", execution["Status"]
    assert execution["Status"]["StateChangeReason"] == "Query cancelled by user"
    assert len(raised) == 1 and isinstance(raised[0], OperationalError), raised
    # The server goes on: the next query runs.
    follow = connection.cursor().execute(DENIED)
    assert follow.fetchall() == [(EXPECTED_DENIED,)]


def test_pyathena_error(connection: Any) -> None:
    from pyathena.error import OperationalError

    with pytest.raises(OperationalError, match="TABLE_NOT_FOUND"):
        connection.cursor().execute("SELECT * FROM no_such_table")


def test_pyathena_sqlalchemy(served: Served) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    url = (
        "awsathena+rest://athena.us-east-1.amazonaws.com:443/default"
        f"?s3_staging_dir={quote(STAGING, safe='')}&endpoint_url={quote(served.url, safe='')}&poll_interval=0.1"
    )
    engine = sqlalchemy.create_engine(
        url, connect_args={"aws_access_key_id": served.key_id, "aws_secret_access_key": served.secret}
    )
    try:
        inspector = sqlalchemy.inspect(engine)
        assert "cloudtrail_logs" in inspector.get_table_names()
        columns = {c["name"]: c["type"] for c in inspector.get_columns("cloudtrail_logs")}
        for name in ("eventname", "eventsource", "sourceipaddress", "errorcode"):
            assert isinstance(columns[name], sqlalchemy.types.String), (name, columns[name])
        assert isinstance(columns["useridentity"], sqlalchemy.types.TypeEngine)
        with engine.connect() as conn:
            sql = "SELECT count(*) AS denied FROM cloudtrail_logs WHERE errorcode = :code"
            found = conn.execute(sqlalchemy.text(sql), {"code": "AccessDenied"}).scalar()
        assert found == EXPECTED_DENIED
    finally:
        engine.dispose()


# --- 4. awswrangler --------------------------------------------------------------------------------


@pytest.fixture
def wrangler(served: Served) -> Iterator[Any]:
    """awswrangler pointed at the server (Athena, S3 and Glue: nothing reaches AWS)."""
    wr.config.athena_endpoint_url = served.url
    wr.config.s3_endpoint_url = served.url
    wr.config.glue_endpoint_url = served.url
    try:
        yield boto3.Session(aws_access_key_id=served.key_id, aws_secret_access_key=served.secret, region_name=REGION)
    finally:
        wr.config.reset()


def test_awswrangler_read_sql_query(wrangler: Any, reference: Reference) -> None:
    frame = wr.athena.read_sql_query(COUNTS, database="default", ctas_approach=False, boto3_session=wrangler)
    assert list(frame.columns) == ["eventname", "n"]
    assert [(name, int(n)) for name, n in frame.itertuples(index=False, name=None)] == EXPECTED_COUNTS
    assert [[name, str(n)] for name, n in EXPECTED_COUNTS] == reference.rows(COUNTS)[1:]


def test_awswrangler_start_and_wait(wrangler: Any, athena: Any) -> None:
    execution_id = wr.athena.start_query_execution(DENIED, database="default", boto3_session=wrangler)
    execution = wr.athena.wait_query(execution_id, boto3_session=wrangler)
    assert execution["Status"]["State"] == "SUCCEEDED"
    rows = texts(athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"])
    assert rows == [["denied"], [str(EXPECTED_DENIED)]]


@pytest.fixture(scope="module")
def glue() -> Iterator[str]:
    """moto's server for Glue: awswrangler's CTAS approach always ends with Glue's DeleteTable
    of its temporary table (``EntityNotFoundException`` is what it expects and ignores)."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_awswrangler_ctas_approach_is_refused_clearly(wrangler: Any, glue: str, athena: Any) -> None:
    """CTAS into the lake is not supported: the server's reason reaches the caller."""
    wr.config.glue_endpoint_url = glue
    with pytest.raises(wr.exceptions.QueryFailed, match=r"not supported|not allowed") as raised:
        wr.athena.read_sql_query(COUNTS, database="default", ctas_approach=True, boto3_session=wrangler)
    assert "CREATE TABLE AS SELECT" in str(raised.value)
    newest = athena.list_query_executions(MaxResults=1)["QueryExecutionIds"][0]
    execution = athena.get_query_execution(QueryExecutionId=newest)["QueryExecution"]
    assert execution["Query"].startswith('CREATE TABLE "default"."temp_table_')
    assert execution["StatementType"] == "DDL" and execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["AthenaError"]["ErrorMessage"] == execution["Status"]["StateChangeReason"]


# --- 5. signatures ---------------------------------------------------------------------------------


def test_wrong_secret_is_refused(served: Served) -> None:
    client = boto3.client(
        "athena",
        endpoint_url=served.url,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET + "-wrong",
    )
    with pytest.raises(ClientError) as raised:
        client.list_query_executions()
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_unknown_key_is_refused(served: Served) -> None:
    client = boto3.client(
        "athena",
        endpoint_url=served.url,
        region_name=REGION,
        aws_access_key_id="TSQLNOSUCHKEY0000000",
        aws_secret_access_key=SECRET,
    )
    with pytest.raises(ClientError) as raised:
        client.start_query_execution(QueryString=DENIED)
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_requests_are_refused(served: Served) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config

    client = boto3.client(
        "athena", endpoint_url=served.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError) as raised:
        client.list_query_executions()
    assert raised.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    s3 = boto3.client("s3", endpoint_url=served.url, region_name=REGION, config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as raised:
        s3.list_objects_v2(Bucket="trailsql-results")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    wrong = boto3.client(
        "s3", endpoint_url=served.url, region_name=REGION, aws_access_key_id=KEY_ID, aws_secret_access_key="wrong"
    )
    with pytest.raises(ClientError) as raised:
        wrong.list_objects_v2(Bucket="trailsql-results")
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


# --- stopping ----------------------------------------------------------------------------------


def test_stop_right_after_running_stops_the_engine(tmp_path: Path) -> None:
    """A stop sent as soon as the query is RUNNING (PyAthena's Ctrl-C does this) ends the work:
    the server then stops on SIGTERM at once."""
    server = start(tmp_path / "ws")
    try:
        client = server.client()
        execution_id = client.start_query_execution(QueryString=SLOW)["QueryExecutionId"]
        while client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"] in (
            "QUEUED",
        ):
            time.sleep(0.01)
        client.stop_query_execution(QueryExecutionId=execution_id)
        assert wait(client, execution_id)["Status"]["State"] == "CANCELLED"
        assert stop(server, timeout=8) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
