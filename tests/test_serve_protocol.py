"""``trailsql serve`` on the wire: every answer checked against botocore's model of Athena.

A real server (tests/serve_server.py) on loopback over the bundled sample logs; requests
signed by botocore and sent raw, so that what is checked is the server's JSON as it is, not
what botocore's parser keeps of it. Expectations come from plain Python over the sample
logs and from Athena's measured behaviour (docs/serve.md), never from the engine.
"""

from __future__ import annotations

import collections
import json
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import botocore.session
import pytest
from botocore.model import Shape

from serve_server import KEY_ID, REGION, SAMPLES, SECRET, Served, sample_events, serving, start, stop, wait
from trailsql.serve.protocol import service_model
from trailsql.serve.results import metadata

#: A query that runs for tens of seconds over the samples: a cross join counted.
SLOW = "SELECT count(*) FROM cloudtrail_logs a, cloudtrail_logs b, cloudtrail_logs c WHERE a.eventid < b.eventid"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serving(tmp_path_factory.mktemp("ws"))


def raw(served: Served, operation: str, params: Any, *, sign: bool = True, secret: str = SECRET) -> tuple[int, Any]:
    """POST one Athena operation as botocore would, and the status and JSON body as sent back."""
    body = json.dumps(params).encode()
    request = botocore.awsrequest.AWSRequest(
        "POST",
        served.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AmazonAthena.{operation}"},
    )
    if sign:
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(KEY_ID, secret), "athena", REGION).add_auth(request)
    prepared = urllib.request.Request(served.url + "/", data=body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def conforms(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Where ``value`` (JSON as sent) breaks ``shape``: unknown or missing members, wrong types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        members = shape.members  # type: ignore[attr-defined]
        problems = [f"{where}.{k}: not in {shape.name}" for k in value if k not in members]
        problems += [f"{where}.{k}: required" for k in shape.required_members if k not in value]  # type: ignore[attr-defined]
        for name, member in members.items():
            if name in value:
                problems += conforms(value[name], member, f"{where}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in conforms(item, shape.member, f"{where}[{i}]")]  # type: ignore[attr-defined]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        return [p for k, v in value.items() for p in conforms(v, shape.value, f"{where}[{k}]")]  # type: ignore[attr-defined]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: not a string"]
        enum = shape.enum  # type: ignore[attr-defined]
        if enum and value not in enum:
            return [f"{where}: {value!r} not one of {enum}"]
        if value == "" and shape.metadata.get("min", 0) > 0:
            return [f"{where}: empty, the model's minimum length is {shape.metadata['min']}"]
        return []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: not an integer"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: not a boolean"]
    if kind in ("timestamp", "double", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: not a number (epoch seconds)"]
    return [f"{where}: unexpected type {kind}"]


def answer_of(served: Served, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """A successful answer, checked against the operation's output shape in botocore's model."""
    status, body = raw(served, operation, params)
    assert status == 200, body
    problems = conforms(body, service_model().operation_model(operation).output_shape)
    assert problems == [], problems
    return body  # type: ignore[no-any-return]


def error_of(served: Served, operation: str, params: Any) -> tuple[int, dict[str, Any]]:
    status, body = raw(served, operation, params)
    assert status >= 400, body
    return status, body


def run(served: Served, sql: str, **params: Any) -> str:
    execution_id: str = answer_of(served, "StartQueryExecution", {"QueryString": sql, **params})["QueryExecutionId"]
    wait(served.client(), execution_id)
    return execution_id


def rows_of(served: Served, execution_id: str, page_size: int = 1000) -> list[list[str | None]]:
    """Every row of a result (the header row included), page by page, each page checked."""
    rows: list[list[str | None]] = []
    params: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": page_size}
    while True:
        page = answer_of(served, "GetQueryResults", params)
        assert len(page["ResultSet"]["Rows"]) <= page_size
        rows += [[d.get("VarCharValue") for d in row["Data"]] for row in page["ResultSet"]["Rows"]]
        if "NextToken" not in page:
            return rows
        assert page["NextToken"]
        params["NextToken"] = page["NextToken"]


# --- the shapes -------------------------------------------------------------------------


def test_every_supported_operation_answers_in_its_model_shape(served: Served) -> None:
    execution_id = run(served, "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    named = answer_of(
        served, "CreateNamedQuery", {"Name": "shape check", "Database": "default", "QueryString": "SELECT 1"}
    )
    calls: list[tuple[str, dict[str, Any]]] = [
        ("GetQueryExecution", {"QueryExecutionId": execution_id}),
        ("BatchGetQueryExecution", {"QueryExecutionIds": [execution_id, "no-such-id"]}),
        ("ListQueryExecutions", {}),
        ("GetQueryResults", {"QueryExecutionId": execution_id}),
        ("GetQueryRuntimeStatistics", {"QueryExecutionId": execution_id}),
        ("StopQueryExecution", {"QueryExecutionId": execution_id}),
        ("GetWorkGroup", {"WorkGroup": "primary"}),
        ("ListWorkGroups", {}),
        ("ListDataCatalogs", {}),
        ("ListDatabases", {"CatalogName": "AwsDataCatalog"}),
        ("GetDatabase", {"CatalogName": "AwsDataCatalog", "DatabaseName": "default"}),
        ("ListTableMetadata", {"CatalogName": "AwsDataCatalog", "DatabaseName": "default"}),
        (
            "GetTableMetadata",
            {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "TableName": "cloudtrail_logs"},
        ),
        (
            "GetTableMetadata",
            {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "TableName": "cloudtrail_lake"},
        ),
        ("ListNamedQueries", {}),
        ("GetNamedQuery", {"NamedQueryId": named["NamedQueryId"]}),
        ("BatchGetNamedQuery", {"NamedQueryIds": [named["NamedQueryId"], "nope"]}),
        ("UpdateNamedQuery", {"NamedQueryId": named["NamedQueryId"], "Name": "shape", "QueryString": "SELECT 2"}),
        ("DeleteNamedQuery", {"NamedQueryId": named["NamedQueryId"]}),
    ]
    for operation, params in calls:
        answer_of(served, operation, params)
    execution = answer_of(served, "GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML" and execution["SubstatementType"] == "SELECT"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://trailsql-results/{execution_id}.csv"
    assert execution["WorkGroup"] == "primary"
    assert isinstance(execution["Status"]["SubmissionDateTime"], float)
    assert execution["Statistics"]["DataScannedInBytes"] > 0


def test_a_select_pages_with_its_header_row_first_and_values_as_athena_writes_them(served: Served) -> None:
    events = list(sample_events())
    execution_id = run(served, "SELECT eventid, errorcode FROM cloudtrail_logs")
    rows = rows_of(served, execution_id)
    assert rows[0] == ["eventid", "errorcode"]
    assert sorted(r[0] or "" for r in rows[1:]) == sorted(e["eventID"] for e in events)
    errors = collections.Counter(r[1] for r in rows[1:])
    assert errors == collections.Counter(e.get("errorCode") for e in events)  # NULL: no VarCharValue
    assert len(rows) == len(events) + 1  # the header counts toward the first page's MaxResults
    assert rows_of(served, execution_id, page_size=7) == rows
    first = answer_of(served, "GetQueryResults", {"QueryExecutionId": execution_id, "MaxResults": 1})
    assert [d["VarCharValue"] for d in first["ResultSet"]["Rows"][0]["Data"]] == ["eventid", "errorcode"]
    columns = first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"], c["Precision"], c["Nullable"]) for c in columns] == [
        ("eventid", "varchar", 2147483647, "UNKNOWN"),
        ("errorcode", "varchar", 2147483647, "UNKNOWN"),
    ]
    assert first["UpdateCount"] == 0


def test_types_and_values_of_the_column_info(served: Served) -> None:
    sql = (
        "SELECT 1 AS i, CAST(2 AS BIGINT) AS b, 1.5e0 AS d, CAST(1.25 AS DECIMAL(5,2)) AS m, true AS t, "
        "'' AS e, CAST(NULL AS VARCHAR) AS n, DATE '2024-01-02' AS day, TIMESTAMP '2024-01-02 03:04:05' AS ts, "
        "ARRAY[1, 2] AS a, 'a\"b' AS q"
    )
    execution_id = run(served, sql)
    page = answer_of(served, "GetQueryResults", {"QueryExecutionId": execution_id})
    types = [
        (c["Name"], c["Type"], c["Precision"], c["Scale"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    ]
    assert types == [
        ("i", "integer", 10, 0),
        ("b", "bigint", 19, 0),
        ("d", "double", 17, 0),
        ("m", "decimal", 5, 2),
        ("t", "boolean", 0, 0),
        ("e", "varchar", 2147483647, 0),
        ("n", "varchar", 2147483647, 0),
        ("day", "date", 0, 0),
        ("ts", "timestamp", 3, 0),
        ("a", "array", 0, 0),
        ("q", "varchar", 2147483647, 0),
    ]
    assert page["ResultSet"]["Rows"][1]["Data"] == [
        {"VarCharValue": "1"},
        {"VarCharValue": "2"},
        {"VarCharValue": "1.5"},
        {"VarCharValue": "1.25"},
        {"VarCharValue": "true"},
        {"VarCharValue": ""},
        {},
        {"VarCharValue": "2024-01-02"},
        {"VarCharValue": "2024-01-02 03:04:05.000"},
        {"VarCharValue": "[1, 2]"},
        {"VarCharValue": 'a"b'},
    ]
    csv = (served.workspace / "serve" / "s3" / "trailsql-results" / f"{execution_id}.csv").read_bytes()
    assert csv == (
        b'"i","b","d","m","t","e","n","day","ts","a","q"\n'
        b'"1","2","1.5","1.25","true","",,"2024-01-02","2024-01-02 03:04:05.000","[1, 2]","a""b"\n'
    )


def test_the_metadata_file_holds_the_id_and_columns_in_athenas_protobuf() -> None:
    column = {"CatalogName": "hive", "Name": "n", "Label": "n", "Type": "bigint", "Precision": 19, "Scale": 0}
    encoded = metadata("q1", [{**column, "Nullable": "UNKNOWN", "CaseSensitive": False}])
    # field 1 (id) "q1"; field 4 a message: 1 "hive", 4 "n", 5 "n", 6 "bigint", 7=19, 8=0, 9=3, 10=0
    inner = b"\x0a\x04hive" + b"\x22\x01n" + b"\x2a\x01n" + b"\x32\x06bigint" + b"\x38\x13" + b"\x40\x00"
    inner += b"\x48\x03" + b"\x50\x00"
    assert encoded == b"\x0a\x02q1" + b"\x22" + bytes([len(inner)]) + inner


def test_show_and_describe_have_no_header_row_and_write_txt(served: Served) -> None:
    execution_id = run(served, "SHOW TABLES")
    execution = answer_of(served, "GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]
    assert (execution["StatementType"], execution["SubstatementType"]) == ("UTILITY", "SHOW_TABLES")
    assert execution["ResultConfiguration"]["OutputLocation"].endswith(f"{execution_id}.txt")
    assert rows_of(served, execution_id) == [["cloudtrail_logs"]]
    txt = served.workspace / "serve" / "s3" / "trailsql-results" / f"{execution_id}.txt"
    assert txt.read_text() == "cloudtrail_logs"
    described = rows_of(served, run(served, "DESCRIBE cloudtrail_logs"))
    assert described[0] == ["eventversion", "string", ""]
    assert "eventname" in [r[0] for r in described]


def test_parameters_bind_as_sql_literals_and_nothing_else(served: Served) -> None:
    events = list(sample_events())
    execution_id = run(
        served,
        "SELECT count(*) FROM cloudtrail_logs WHERE eventname = ? AND eventtime > ?",
        ExecutionParameters=["'Decrypt'", "'2000-01-01'"],
    )
    assert rows_of(served, execution_id)[1] == [str(sum(e["eventName"] == "Decrypt" for e in events))]
    execution = answer_of(served, "GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]
    assert execution["ExecutionParameters"] == ["'Decrypt'", "'2000-01-01'"]
    for bad in (["'x' OR 1=1"], ["1; DROP TABLE t"], ["(SELECT 1)"]):
        status, body = error_of(
            served, "StartQueryExecution", {"QueryString": "SELECT ? AS v", "ExecutionParameters": bad}
        )
        assert (status, body["AthenaErrorCode"]) == (400, "MALFORMED_QUERY"), body
    _, body = error_of(served, "StartQueryExecution", {"QueryString": "SELECT ?, ?", "ExecutionParameters": ["1"]})
    assert "2 parameters" in body["Message"]


# --- errors as Athena gives them --------------------------------------------------------


def test_request_errors_have_athenas_codes(served: Served) -> None:
    status, body = error_of(served, "StartQueryExecution", {"QueryString": "SELEC 1"})
    assert status == 400 and set(body) == {"__type", "Message", "AthenaErrorCode", "ErrorCode"}
    assert (body["__type"], body["AthenaErrorCode"]) == ("InvalidRequestException", "MALFORMED_QUERY")
    assert body["Message"].startswith("line 1:")
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": "nope"})
    assert (body["AthenaErrorCode"], body["Message"]) == (
        "QUERY_EXECUTION_NOT_FOUND",
        "QueryExecution nope was not found",
    )
    execution_id = run(served, "SELECT 1")
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": execution_id, "MaxResults": 1001})
    assert body["Message"] == "MaxResults is more than maximum allowed length 1000"
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": execution_id, "NextToken": "garbage"})
    assert body["Message"] == "Malformed nextPageToken garbage"
    _, body = error_of(served, "StartQueryExecution", {})
    assert body["AthenaErrorCode"] == "INVALID_INPUT" and "QueryString" in body["Message"]
    _, body = error_of(served, "StartQueryExecution", {"QueryString": "SELECT 1", "WorkGroup": "other"})
    assert body["Message"] == "WorkGroup is not found."
    _, body = error_of(
        served, "StartQueryExecution", {"QueryString": "SELECT 1", "ResultConfiguration": {"OutputLocation": "/tmp/x"}}
    )
    assert body["Message"] == "outputLocation is not a valid S3 path."
    status, body = error_of(
        served, "GetTableMetadata", {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "TableName": "nope"}
    )
    assert body["__type"] == "MetadataException"
    status, body = error_of(served, "CreateDataCatalog", {"Name": "x", "Type": "GLUE"})
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = error_of(served, "NoSuchOperation", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_a_failed_query_says_why_as_athena_does(served: Served) -> None:
    execution_id = run(served, "SELECT * FROM no_such_table")
    status = answer_of(served, "GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith("TABLE_NOT_FOUND: ")
    assert status["AthenaError"]["ErrorCategory"] == 2 and status["AthenaError"]["ErrorType"] == 1301
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": execution_id})
    assert (body["AthenaErrorCode"], body["Message"]) == (
        "INVALID_QUERY_EXECUTION_STATE",
        "Query did not finish successfully. Final query state: FAILED",
    )
    other = run(served, "SELECT 1", QueryExecutionContext={"Database": "security"})
    reason = answer_of(served, "GetQueryExecution", {"QueryExecutionId": other})["QueryExecution"]["Status"]
    assert reason["StateChangeReason"] == "SCHEMA_NOT_FOUND: Schema 'security' does not exist"


def test_a_client_request_token_starts_one_execution(served: Served) -> None:
    token = "a" * 36
    first = answer_of(served, "StartQueryExecution", {"QueryString": "SELECT 41", "ClientRequestToken": token})
    again = answer_of(served, "StartQueryExecution", {"QueryString": "SELECT 41", "ClientRequestToken": token})
    assert first == again
    _, body = error_of(served, "StartQueryExecution", {"QueryString": "SELECT 42", "ClientRequestToken": token})
    assert body["AthenaErrorCode"] == "IDEMPOTENT_PARAMETER_MISMATCH"


def test_a_running_query_is_stopped_and_says_so(served: Served) -> None:
    execution_id = answer_of(served, "StartQueryExecution", {"QueryString": SLOW})["QueryExecutionId"]
    deadline = time.monotonic() + 30
    while answer_of(served, "GetQueryExecution", {"QueryExecutionId": execution_id})["QueryExecution"]["Status"][
        "State"
    ] in ("QUEUED",):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": execution_id})
    assert body["Message"] == "Query has not yet finished. Current state: RUNNING"
    answer_of(served, "StopQueryExecution", {"QueryExecutionId": execution_id})
    execution = wait(served.client(), execution_id, timeout=10)
    assert execution["Status"]["State"] == "CANCELLED"
    assert execution["Status"]["StateChangeReason"] == "Query cancelled by user"
    _, body = error_of(served, "GetQueryResults", {"QueryExecutionId": execution_id})
    assert body["AthenaErrorCode"] == "RESULT_NOT_FOUND"
    assert rows_of(served, run(served, "SELECT 7"))[1] == ["7"]  # the worker runs the next query


def test_list_and_batch_get_executions_newest_first(served: Served) -> None:
    ids = [run(served, f"SELECT {n}") for n in range(3)]
    listed = answer_of(served, "ListQueryExecutions", {"MaxResults": 2})
    assert listed["QueryExecutionIds"] == ids[::-1][:2]
    following = answer_of(served, "ListQueryExecutions", {"MaxResults": 2, "NextToken": listed["NextToken"]})
    assert following["QueryExecutionIds"][0] == ids[0]
    batch = answer_of(served, "BatchGetQueryExecution", {"QueryExecutionIds": [*ids, "missing"]})
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == ids
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "missing"


# --- the catalog and the library --------------------------------------------------------


def test_table_metadata_describes_the_default_table(served: Served) -> None:
    table = answer_of(
        served,
        "GetTableMetadata",
        {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "TableName": "cloudtrail_logs"},
    )["TableMetadata"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    columns = {c["Name"]: c["Type"] for c in table["Columns"]}
    assert columns["eventname"] == "string" and columns["useridentity"].startswith("struct<type:string")
    assert [p["Name"] for p in table["PartitionKeys"]] == ["account", "region", "year", "month", "day"]
    listed = answer_of(
        served,
        "ListTableMetadata",
        {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "Expression": "cloudtrail_l*"},
    )
    assert {t["Name"]: t["TableType"] for t in listed["TableMetadataList"]} == {
        "cloudtrail_lake": "VIRTUAL_VIEW",
        "cloudtrail_logs": "EXTERNAL_TABLE",
    }
    assert answer_of(served, "ListDatabases", {"CatalogName": "AwsDataCatalog"})["DatabaseList"][0]["Name"] == "default"


def test_the_library_is_the_named_queries_and_new_ones_are_saved_to_it(served: Served) -> None:
    from trailsql.serve.named import named_id

    library = sorted(p.stem for p in Path(__file__).parents[1].joinpath("src/trailsql/library/queries").glob("*.sql"))
    first = answer_of(served, "ListNamedQueries", {"MaxResults": 10})
    rest = answer_of(served, "ListNamedQueries", {"MaxResults": 50, "NextToken": first["NextToken"]})
    assert sorted(first["NamedQueryIds"] + rest["NamedQueryIds"]) == sorted(named_id(q) for q in library)
    logins = answer_of(served, "GetNamedQuery", {"NamedQueryId": named_id("console-logins")})["NamedQuery"]
    assert logins["Description"].startswith("console-logins: ") and "cloudtrail_logs" in logins["QueryString"]
    created = answer_of(
        served,
        "CreateNamedQuery",
        {
            "Name": "Root activity",
            "Database": "default",
            "QueryString": "SELECT * FROM cloudtrail_logs WHERE useridentity.type = 'Root'",
            "ClientRequestToken": "t" * 40,
        },
    )
    retried = answer_of(
        served,
        "CreateNamedQuery",
        {"Name": "Root activity", "Database": "default", "QueryString": "SELECT 1", "ClientRequestToken": "t" * 40},
    )
    assert created == retried
    # (the package's library has a root-activity already: the saved one gets a name of its own)
    (saved,) = (p for p in (served.workspace / "queries").glob("*.sql") if "type = 'Root'" in p.read_text())
    assert saved.name == "root-activity-2.sql"
    listed = subprocess.run(
        [
            str(Path(sys.executable).parent / "trailsql"),
            "queries",
            "list",
            "--workspace",
            str(served.workspace),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "root-activity-2" in listed.stdout
    _, body = error_of(served, "DeleteNamedQuery", {"NamedQueryId": named_id("console-logins")})
    assert "only saved queries change" in body["Message"]
    answer_of(served, "DeleteNamedQuery", {"NamedQueryId": created["NamedQueryId"]})
    assert not saved.exists()


# --- the locked-down surface ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "NOT_SUPPORTED"),
        ("SELECT getenv('HOME')", "NOT_SUPPORTED"),
        ("CREATE EXTERNAL TABLE t (a string) LOCATION '/etc/'", "PERMISSION_DENIED"),
        ("DROP TABLE cloudtrail_logs", "PERMISSION_DENIED"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", None),
        ("ATTACH '/tmp/x.db'", None),
        ("SET enable_external_access = true", None),
    ],
)
def test_the_server_refuses_what_reaches_outside_the_workspace(served: Served, sql: str, code: str | None) -> None:
    status, body = raw(served, "StartQueryExecution", {"QueryString": sql})
    if status != 200:  # refused before it runs
        assert body["__type"] == "InvalidRequestException", body
        return
    execution = wait(served.client(), body["QueryExecutionId"])
    assert execution["Status"]["State"] == "FAILED"
    reason = execution["Status"]["StateChangeReason"]
    assert reason.startswith(f"{code}: " if code else ("NOT_SUPPORTED: ", "PERMISSION_DENIED: ")), reason


# --- the S3 facade ----------------------------------------------------------------------


def test_result_files_are_served_by_the_s3_facade(served: Served) -> None:
    execution_id = run(
        served, "SELECT 'x' AS a", ResultConfiguration={"OutputLocation": "s3://my-athena-results/security/"}
    )
    s3 = served.client("s3")
    key = f"security/{execution_id}.csv"
    assert s3.head_object(Bucket="my-athena-results", Key=key)["ContentLength"] == len(b'"a"\n"x"\n')
    assert s3.get_object(Bucket="my-athena-results", Key=key)["Body"].read() == b'"a"\n"x"\n'
    assert s3.get_object(Bucket="my-athena-results", Key=key, Range="bytes=4-6")["Body"].read() == b'"x"'
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="my-athena-results", Prefix="security/")["Contents"]]
    assert key in keys and f"{key}.metadata" in keys
    for bad in ("security/../../../etc/passwd", "../serve-credentials"):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            s3.get_object(Bucket="my-athena-results", Key=bad)
        assert raised.value.response["Error"]["Code"] in ("NoSuchKey", "404")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        s3.put_object(Bucket="my-athena-results", Key="x", Body=b"x")
    assert raised.value.response["Error"]["Code"] == "MethodNotAllowed"


# --- authentication ---------------------------------------------------------------------


def test_unsigned_and_badly_signed_requests_are_refused(served: Served) -> None:
    status, body = raw(served, "ListWorkGroups", {}, sign=False)
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")
    status, body = raw(served, "ListWorkGroups", {}, secret="wrong")
    assert (status, body["__type"]) == (400, "InvalidSignatureException")
    stranger = served.client(aws_access_key_id="AKIASTRANGER", aws_secret_access_key="x")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        stranger.list_work_groups()
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_a_generated_key_is_kept_private_and_works_as_an_aws_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start(tmp_path / "ws", keys=False)
    try:
        credentials = tmp_path / "ws" / "serve-credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        session = botocore.session.Session(profile="trailsql")
        client = session.create_client("athena", endpoint_url=server.url, region_name=REGION)
        assert client.list_work_groups()["WorkGroups"][0]["Name"] == "primary"
    finally:
        assert stop(server) == 0


# --- the process ------------------------------------------------------------------------


def test_history_survives_a_restart_and_sigterm_cancels_what_runs(tmp_path: Path) -> None:
    server = start(tmp_path)
    client = server.client()
    done = client.start_query_execution(QueryString="SELECT count(*) AS n FROM cloudtrail_logs")["QueryExecutionId"]
    wait(client, done)
    slow = client.start_query_execution(QueryString=SLOW)["QueryExecutionId"]
    deadline = time.monotonic() + 30
    while client.get_query_execution(QueryExecutionId=slow)["QueryExecution"]["Status"]["State"] == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    code = stop(server)
    assert code == 0, server.stderr
    assert time.monotonic() - started < 20
    server = start(tmp_path)
    try:
        client = server.client()
        assert client.get_query_execution(QueryExecutionId=slow)["QueryExecution"]["Status"]["State"] == "CANCELLED"
        rows = client.get_query_results(QueryExecutionId=done)["ResultSet"]["Rows"]
        assert rows[1]["Data"][0]["VarCharValue"] == str(sum(1 for _ in sample_events()))
        assert {done, slow} <= set(client.list_query_executions()["QueryExecutionIds"])
    finally:
        assert stop(server) == 0


def test_a_non_loopback_host_needs_tls_or_insecure_http(tmp_path: Path) -> None:
    trailsql = str(Path(sys.executable).parent / "trailsql")
    result = subprocess.run(
        [trailsql, "serve", "--workspace", str(tmp_path), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TRAILSQL_SERVE_ACCESS_KEY_ID": KEY_ID, "TRAILSQL_SERVE_SECRET_ACCESS_KEY": SECRET},
    )
    assert result.returncode == 2
    assert "--tls-cert" in result.stderr and "--insecure-http" in result.stderr


@pytest.mark.xdist_group("spark")
def test_the_engine_option_applies_to_the_server(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    events = list(sample_events())
    server = start(tmp_path, SAMPLES, "--engine", "spark")
    try:
        client = server.client()
        execution_id = client.start_query_execution(
            QueryString="SELECT eventsource, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 1"
        )["QueryExecutionId"]
        assert wait(client, execution_id, timeout=180)["Status"]["State"] == "SUCCEEDED"
        rows = client.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"]
        counts = collections.Counter(e["eventSource"] for e in events)
        assert [[d["VarCharValue"] for d in r["Data"]] for r in rows[1:]] == [
            [k, str(counts[k])] for k in sorted(counts)
        ]
    finally:
        code = stop(server)
        assert code == 0, server.stderr


def test_results_older_than_keep_results_are_forgotten_but_not_their_history(tmp_path: Path) -> None:
    import pyarrow as pa

    from trailsql.serve.store import Execution, Store

    store = Store(tmp_path / "serve")
    old = Execution("old", "SELECT 1", "DML", "SELECT", "default", "awsdatacatalog", "primary", "s3://bkt/p/")
    new = Execution("new", "SELECT 2", "DML", "SELECT", "default", "awsdatacatalog", "primary", "s3://bkt/p/")
    for execution, completed in ((old, 1_000.0), (new, time.time())):
        store.add(execution)
        store.save_rows(execution.id, pa.table({"x": [1]}))
        result = store.s3_root() / "bkt" / "p" / f"{execution.id}.csv"
        result.parent.mkdir(parents=True, exist_ok=True)
        result.write_text('"x"\n"1"\n')
        store.finish(execution, "SUCCEEDED", completed=completed)
    assert store.forget_results(time.time() - 3600) == 1
    assert store.load_rows("old") is None and not (store.s3_root() / "bkt" / "p" / "old.csv").exists()
    assert store.load_rows("new") is not None and (store.s3_root() / "bkt" / "p" / "new.csv").exists()
    store.close()
    assert [e.id for e in Store(tmp_path / "serve").newest_first()] == ["new", "old"]
