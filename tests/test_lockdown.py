"""The locked-down SQL surface (``trailsql serve``, ``trailsql query --safe``): every attempt to
read or write the machine through SQL is refused, and ordinary queries and allowed DDL still run.

Each attempt of :data:`ESCAPE_ATTEMPTS` runs through a real :class:`~trailsql.session.Session`
over a tiny log folder the test writes, with a secret file beside the logs (``secret.txt``)
and one inside a log folder (``secret.csv``, a folder DuckDB's confinement lets a plan read, so
only the SQL layer stands in the way). The attempt must fail with the expected error and
message, and neither secret's marker may appear anywhere (nor may a file be written).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import log_folder, write_log
from trailsql.cli.main import cli
from trailsql.errors import (
    AccessDeniedError,
    CatalogError,
    NotSupportedError,
    ProgrammingError,
    SqlSyntaxError,
    TrailsqlError,
    UsageError,
)
from trailsql.seed import load_seed
from trailsql.session import Session
from trailsql.sql.lockdown import Lockdown
from trailsql.sql.parse import parse_one

MARKER = "MARKER-7f3e-SECRET"
DAY = dt.date(2025, 2, 12)
ACCOUNT = "123456789012"
TABLE_COLUMNS = "(eventname string, eventsource string)"
TABLE_TAIL = "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"


@dataclass(frozen=True)
class Attempt:
    """One escape attempt: its SQL (``{secret}``, ``{inlogs}``, ``{out}``, ``{allowed}`` filled
    in), the lockdown it runs under, files put in the workspace first, and the refusal."""

    id: str
    sql: str
    error: type[TrailsqlError]
    says: str
    allow_ddl: bool = False
    locations: bool = True
    workspace: dict[str, str] = field(default_factory=dict)


A, N, C, S = AccessDeniedError, NotSupportedError, CatalogError, SqlSyntaxError
READ_ONLY = "this server is read-only ([serve] allow_ddl = true allows DDL)"
NEVER = "only queries, SHOW and DESCRIBE"
OUTSIDE = "not under [serve] allowed_locations"
#: A table the workspace holds (as its owner created it), inside and outside the allowed folder.
INSIDE_TABLE = {
    "tables/inside.sql": f"CREATE EXTERNAL TABLE inside {TABLE_COLUMNS} PARTITIONED BY (d string) "
    f"{TABLE_TAIL} LOCATION '{{allowed}}/inside/'"
}
OUTSIDE_TABLE = {
    "tables/outside.sql": f"CREATE EXTERNAL TABLE outside {TABLE_COLUMNS} PARTITIONED BY (d string) "
    f"{TABLE_TAIL} LOCATION '{{tmp}}/'"
}
LEAKY_VIEW = {"views/leaky.sql": "SELECT * FROM read_text('{secret}')"}


def create(location: str, extra: str = "") -> str:
    return (
        f"CREATE EXTERNAL TABLE t {TABLE_COLUMNS} PARTITIONED BY (d string) {TABLE_TAIL} LOCATION '{location}'{extra}"
    )


ESCAPE_ATTEMPTS: tuple[Attempt, ...] = (
    # --- DuckDB's file functions, however they are spelt and wherever they hide
    Attempt("read_csv", "SELECT * FROM read_csv('{secret}')", N, "table function READ_CSV in FROM"),
    Attempt("read_csv_quoted_upper", "SELECT * FROM \"READ_CSV\"('{secret}')", N, "table function READ_CSV"),
    Attempt("read_text_quoted_scalar", "SELECT \"read_text\"('{secret}')", N, "function read_text"),
    Attempt("read_text_mixed_case", "SELECT * FROM ReAd_TeXt('{secret}')", N, "table function"),
    Attempt("schema_qualified", "SELECT * FROM main.read_csv('{secret}')", N, "table function READ_CSV"),
    Attempt("quoted_schema_qualified", 'SELECT * FROM "main"."read_text"(\'{secret}\')', N, "table function"),
    Attempt("system_getenv", "SELECT system.getenv('HOME')", N, "function getenv"),
    Attempt("pg_catalog_current_setting", "SELECT pg_catalog.current_setting('home_directory')", N, "current_setting"),
    Attempt("getenv", "SELECT getenv('HOME')", N, "function getenv"),
    Attempt("current_setting", "SELECT current_setting('home_directory') FROM cloudtrail_logs", N, "current_setting"),
    Attempt("subquery", "SELECT * FROM (SELECT * FROM read_text('{secret}'))", N, "table function"),
    Attempt("lateral", "SELECT * FROM cloudtrail_logs, LATERAL (SELECT * FROM read_text('{secret}'))", N, "table f"),
    Attempt("cte", "WITH x AS (SELECT * FROM read_text('{secret}')) SELECT * FROM x", N, "table function"),
    Attempt(
        "in_subquery",
        "SELECT eventname FROM cloudtrail_logs WHERE eventname IN (SELECT content FROM read_text('{secret}'))",
        N,
        "table function",
    ),
    Attempt("scalar_subquery", "SELECT (SELECT read_blob('{secret}'))", N, "function read_blob"),
    Attempt("read_blob", "SELECT read_blob('{secret}')", N, "function read_blob"),
    Attempt("read_json_auto", "SELECT * FROM read_json_auto('{secret}')", N, "table function"),
    Attempt("parquet_scan", "SELECT * FROM parquet_scan('{secret}')", N, "table function parquet_scan"),
    Attempt("table_wrapper", "SELECT * FROM TABLE(read_text('{secret}'))", N, "table function"),
    Attempt("from_first", "FROM read_text('{secret}')", N, "table function read_text"),
    Attempt("beside_a_table", "SELECT * FROM cloudtrail_logs, read_csv('{secret}')", N, "table function READ_CSV"),
    Attempt("comment_hides_tokens", "SELECT * FROM /* cloudtrail_logs */ read_text('{secret}') -- x", N, "table f"),
    Attempt("unicode_escape_argument", "SELECT * FROM read_text(U&'\\002Fetc\\002Fpasswd')", N, "table function"),
    # --- SQL text, settings and the engine's catalog
    Attempt("json_serialize_sql", "SELECT json_serialize_sql('SELECT 1')", N, "function json_serialize_sql"),
    Attempt("json_execute_serialized_sql", "SELECT json_execute_serialized_sql('x')", N, "json_execute_serialized_sql"),
    Attempt("query_function", "SELECT * FROM query('SELECT * FROM read_text(''{secret}'')')", N, "table function"),
    Attempt("sql_auto_complete_table", "SELECT * FROM sql_auto_complete('SEL')", N, "table function"),
    Attempt("sql_auto_complete_scalar", "SELECT sql_auto_complete('SELECT * FROM rea')", N, "sql_auto_complete"),
    Attempt("current_query", "SELECT current_query() FROM cloudtrail_logs", N, "function current_query"),
    Attempt("pg_get_viewdef", "SELECT pg_get_viewdef(1)", N, "function pg_get_viewdef"),
    Attempt("duckdb_settings", "SELECT * FROM duckdb_settings()", N, "table function duckdb_settings"),
    Attempt("duckdb_settings_bare", "SELECT * FROM duckdb_settings", C, "TABLE_NOT_FOUND"),
    Attempt("duckdb_secrets", "SELECT * FROM duckdb_secrets()", N, "table function duckdb_secrets"),
    Attempt("information_schema", "SELECT * FROM information_schema.tables", C, "TABLE_NOT_FOUND"),
    Attempt("engine_tally", "SELECT __trailsql_tally('x', 1, 1)", N, "function __trailsql_tally"),
    # --- statements inside a query
    Attempt("insert_in_with", "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", A, "INSERT inside"),
    Attempt("delete_in_with", "WITH x AS (DELETE FROM cloudtrail_logs RETURNING *) SELECT 1", A, "DELETE inside"),
    Attempt("select_into", "SELECT * INTO x FROM cloudtrail_logs", A, "INTO inside a query"),
    # --- glob
    Attempt("glob_scalar", "SELECT glob('/*')", S, "syntax error"),
    Attempt("glob_table", "SELECT * FROM glob('/*')", S, "syntax error"),
    Attempt("unnest_glob", "SELECT * FROM UNNEST(glob('/*'))", S, "syntax error"),
    # --- file names as tables (DuckDB scans FROM 'file.csv')
    Attempt("quoted_path_table", 'SELECT * FROM "{secret}"', C, "TABLE_NOT_FOUND"),
    Attempt("string_path_table", "SELECT * FROM '{secret}'", C, "TABLE_NOT_FOUND"),
    Attempt("file_in_log_folder", "SELECT * FROM '{inlogs}'", C, "TABLE_NOT_FOUND"),
    Attempt("relative_file", "SELECT * FROM 'file.csv'", C, "TABLE_NOT_FOUND"),
    Attempt("s3_uri_table", 'SELECT * FROM "s3://other-bucket/x.csv"', C, "TABLE_NOT_FOUND"),
    Attempt("backticks", "SELECT * FROM `{secret}`", S, "syntax error"),
    Attempt("unicode_escape_table", "SELECT * FROM U&'{secret}'", S, "syntax error"),
    Attempt(
        "cte_name_out_of_scope",
        'SELECT t.* FROM cloudtrail_logs, "{inlogs}" AS t WHERE EXISTS (WITH "{inlogs}" AS (SELECT 1 a) SELECT 1)',
        N,
        "outside that query's scope",
    ),
    Attempt(
        "cte_forward_reference",
        'WITH a AS (SELECT * FROM "{inlogs}"), "{inlogs}" AS (SELECT 1 x) SELECT * FROM a, cloudtrail_logs',
        N,
        "outside that query's scope",
    ),
    # --- several statements: each is checked before any runs
    Attempt("then_copy", "SELECT 1; COPY (SELECT 1) TO '{out}'", S, "found 'COPY'"),
    Attempt("then_read", "SELECT 1; SELECT * FROM read_text('{secret}')", N, "table function"),
    Attempt("after_trailing_semicolon", "SELECT 1;\nSET enable_external_access = true;", A, "SET: " + NEVER),
    Attempt("show_then_load", "SHOW TABLES; LOAD httpfs", A, "LOAD: " + NEVER),
    Attempt("view_then_drop", "CREATE VIEW v AS SELECT 1; DROP TABLE cloudtrail_logs", A, "CREATE VIEW: " + READ_ONLY),
    # --- DuckDB's statements: never, whatever allow_ddl says
    Attempt("export_database", "EXPORT DATABASE '{out}'", S, "syntax error"),
    Attempt("import_database", "IMPORT DATABASE '{out}'", S, "syntax error"),
    Attempt("load_httpfs", "LOAD httpfs", A, "LOAD: " + NEVER, allow_ddl=True),
    Attempt("install", "INSTALL httpfs", S, "found 'INSTALL'", allow_ddl=True),
    Attempt("install_from_url", "INSTALL x FROM 'http://example.com'", S, "syntax error"),
    Attempt("attach", "ATTACH '{out}'", S, "syntax error"),
    Attempt("attach_as", "ATTACH DATABASE '{out}' AS x", S, "syntax error", allow_ddl=True),
    Attempt("detach", "DETACH x", S, "syntax error"),
    Attempt("set_external_access", "SET enable_external_access=true", A, "SET: " + NEVER, allow_ddl=True),
    Attempt("set_session", "SET SESSION query_max_run_time = '1h'", A, "SET: " + NEVER, allow_ddl=True),
    Attempt("reset", "RESET enable_external_access", S, "syntax error"),
    Attempt("pragma", "PRAGMA version", S, "syntax error"),
    Attempt("call", "CALL pragma_version()", A, "CALL: " + NEVER, allow_ddl=True),
    Attempt("use", "USE main", A, "USE: " + NEVER, allow_ddl=True),
    Attempt("checkpoint", "CHECKPOINT", S, "syntax error"),
    Attempt("summarize", "SUMMARIZE cloudtrail_logs", S, "syntax error"),
    Attempt("create_secret", "CREATE SECRET s (TYPE s3, KEY_ID 'a')", A, "CREATE SECRET: " + NEVER, allow_ddl=True),
    Attempt("create_macro", "CREATE MACRO m(a) AS a", A, "CREATE MACRO: " + NEVER, allow_ddl=True),
    Attempt("create_function", "CREATE FUNCTION f(a) AS a", A, "CREATE FUNCTION: " + NEVER, allow_ddl=True),
    Attempt("create_schema", "CREATE SCHEMA x", A, "CREATE SCHEMA: " + NEVER, allow_ddl=True),
    Attempt("prepare", "PREPARE p AS SELECT 1", A, "PREPARE: " + NEVER, allow_ddl=True),
    Attempt("begin", "BEGIN TRANSACTION", A, "TRANSACTION: " + NEVER),
    Attempt("vacuum", "VACUUM", A, "VACUUM: " + NEVER),
    Attempt("explain", "EXPLAIN SELECT 1", A, "EXPLAIN: " + NEVER),
    Attempt("describe_query", "DESCRIBE SELECT * FROM read_text('{secret}')", A, "DESCRIBE: " + NEVER),
    # --- writes: read-only unless allow_ddl; data never
    Attempt("ctas", "CREATE TABLE t AS SELECT * FROM cloudtrail_logs", A, "CREATE TABLE AS SELECT: " + READ_ONLY),
    Attempt("ctas_with_ddl", "CREATE TABLE t AS SELECT 1", A, "trailsql writes no data", allow_ddl=True),
    Attempt("insert", "INSERT INTO cloudtrail_logs VALUES (1)", A, "INSERT: " + READ_ONLY),
    Attempt("insert_with_ddl", "INSERT INTO cloudtrail_logs VALUES (1)", A, "writes no data", allow_ddl=True),
    Attempt("update", "UPDATE cloudtrail_logs SET eventname = 'x'", A, "UPDATE: " + READ_ONLY),
    Attempt("delete", "DELETE FROM cloudtrail_logs", A, "DELETE: " + READ_ONLY),
    Attempt("merge", "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", A, "MERGE: " + READ_ONLY),
    Attempt("drop_table", "DROP TABLE cloudtrail_logs", A, "DROP TABLE: " + READ_ONLY),
    Attempt("drop_view", "DROP VIEW leaky", A, "DROP VIEW: " + READ_ONLY, workspace=LEAKY_VIEW),
    Attempt("create_table", create("{allowed}/t/"), A, "CREATE EXTERNAL TABLE: " + READ_ONLY),
    Attempt("create_view", "CREATE VIEW v AS SELECT 1", A, "CREATE VIEW: " + READ_ONLY),
    Attempt("msck", "MSCK REPAIR TABLE inside", A, "MSCK REPAIR TABLE: " + READ_ONLY, workspace=INSIDE_TABLE),
    Attempt(
        "alter", "ALTER TABLE inside ADD PARTITION (d='1')", A, "ALTER TABLE: " + READ_ONLY, workspace=INSIDE_TABLE
    ),
    # --- DDL's locations under allow_ddl
    Attempt("location_etc", create("/etc/"), A, OUTSIDE, allow_ddl=True),
    Attempt("location_file_uri", create("file:///etc/"), A, "an absolute local folder", allow_ddl=True),
    Attempt("location_relative", create("logs/"), A, "an absolute local folder", allow_ddl=True),
    Attempt("location_other_bucket", create("s3://other-bucket/"), A, OUTSIDE, allow_ddl=True),
    Attempt("location_other_scheme", create("s3a://bucket/"), A, "an absolute local folder", allow_ddl=True),
    Attempt("location_dotdot", create("{allowed}/../etc/"), A, OUTSIDE, allow_ddl=True),
    Attempt("location_sibling_prefix", create("{allowed}2/"), A, OUTSIDE, allow_ddl=True),
    Attempt("location_none_allowed", create("{allowed}/t/"), A, "allowed_locations must list", True, False),
    Attempt(
        "location_template_outside",
        create("{allowed}/t/", " TBLPROPERTIES ('storage.location.template' = '/etc/${{d}}/')"),
        A,
        OUTSIDE,
        allow_ddl=True,
    ),
    Attempt(
        "location_template_dot",
        create("{allowed}/t/", " TBLPROPERTIES ('storage.location.template' = '{allowed}/.${{d}}/x/')"),
        A,
        "'..' segment",
        allow_ddl=True,
    ),
    Attempt(
        "date_format_dotdot",
        create("{allowed}/t/", " TBLPROPERTIES ('projection.d.format' = 'yyyy/../..')"),
        A,
        "may not hold '..'",
        allow_ddl=True,
    ),
    Attempt(
        "partition_location",
        "ALTER TABLE inside ADD PARTITION (d='1') LOCATION '/etc/'",
        A,
        OUTSIDE,
        allow_ddl=True,
        workspace=INSIDE_TABLE,
    ),
    Attempt(
        "second_partition_location",
        "ALTER TABLE inside ADD IF NOT EXISTS PARTITION (d='1') LOCATION '{allowed}/x/' PARTITION (d='2') LOCATION '{tmp}'",
        A,
        OUTSIDE,
        allow_ddl=True,
        workspace=INSIDE_TABLE,
    ),
    Attempt("set_location", "ALTER TABLE inside SET LOCATION '/etc/'", A, OUTSIDE, True, workspace=INSIDE_TABLE),
    Attempt("msck_outside", "MSCK REPAIR TABLE outside", A, OUTSIDE, allow_ddl=True, workspace=OUTSIDE_TABLE),
    Attempt("msck_missing", "MSCK REPAIR TABLE nowhere", C, "TABLE_NOT_FOUND", allow_ddl=True),
    Attempt(
        "add_partition_outside",
        "ALTER TABLE outside ADD PARTITION (d='1')",
        A,
        OUTSIDE,
        allow_ddl=True,
        workspace=OUTSIDE_TABLE,
    ),
    # --- views: their queries are checked as the query that names them
    Attempt("view_reads_file", "CREATE VIEW v AS SELECT * FROM read_text('{secret}')", N, "table f", allow_ddl=True),
    Attempt("stored_view_reads_file", "SELECT * FROM leaky", N, "table function", workspace=LEAKY_VIEW),
    Attempt("view_in_a_join", "SELECT * FROM cloudtrail_logs, leaky", N, "table function", workspace=LEAKY_VIEW),
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A day of logs (two events) and, inside its folder, a secret a plan's folder would expose."""
    root = tmp_path / "logs"
    records = [
        {"eventVersion": "1.08", "eventTime": "2025-02-12T10:00:00Z", "eventName": name, "eventSource": "iam"}
        for name in ("CreateUser", "DeleteUser")
    ]
    folder = log_folder(root, ACCOUNT, "us-east-1", DAY)
    write_log(folder, f"{ACCOUNT}_CloudTrail_us-east-1_20250212T1000Z_0000000000000001.json.gz", records)
    (folder / "secret.csv").write_text(f"a\n{MARKER}\n")
    (tmp_path / "secret.txt").write_text(f"{MARKER}\n")
    (tmp_path / "allowed").mkdir()
    return root


def places(tmp_path: Path, logs: Path) -> dict[str, str]:
    inlogs = next(logs.rglob("secret.csv"))
    return {
        "secret": str(tmp_path / "secret.txt"),
        "inlogs": str(inlogs),
        "out": str(tmp_path / "out.db"),
        "allowed": str(tmp_path / "allowed"),
        "tmp": str(tmp_path),
    }


def session(tmp_path: Path, logs: Path, lockdown: Lockdown | None, files: dict[str, str] | None = None) -> Session:
    workspace = tmp_path / "ws"
    for name, text in (files or {}).items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text.format(**places(tmp_path, logs)))
    return Session(logs, workspace=workspace, lockdown=lockdown)


def everything(result: Any) -> str:
    return str(result.table.to_pylist()) + str(result.warnings)


#: What the README's reliability table counts (tests/test_reliability.py).
RELIABILITY = {"SQL lockdown escapes (serve, --safe)": len(ESCAPE_ATTEMPTS)}


@pytest.mark.parametrize(
    "attempt", ESCAPE_ATTEMPTS, ids=[f"{i + 1}/{len(ESCAPE_ATTEMPTS)}-{a.id}" for i, a in enumerate(ESCAPE_ATTEMPTS)]
)
def test_escape_attempt_is_refused(attempt: Attempt, tmp_path: Path, logs: Path) -> None:
    where = places(tmp_path, logs)
    lockdown = Lockdown(attempt.allow_ddl, (where["allowed"],) if attempt.locations else ())
    sql = attempt.sql.format(**where)
    with session(tmp_path, logs, lockdown, attempt.workspace) as locked, pytest.raises(TrailsqlError) as raised:
        leaked = locked.execute(sql)
        pytest.fail(f"ran: {everything(leaked)[:200]}")  # (the marker would be in it)
    assert type(raised.value) is attempt.error, raised.value
    assert attempt.says in str(raised.value)
    assert MARKER not in str(raised.value)
    assert not Path(where["out"]).exists()
    if attempt.error is AccessDeniedError:
        assert str(raised.value).startswith("not allowed: ")
        assert isinstance(raised.value, ProgrammingError)
    # nothing was written to the workspace's catalog
    assert not (tmp_path / "ws" / "tables" / "t.sql").exists()
    assert not (tmp_path / "ws" / "views" / "v.sql").exists()
    assert not (tmp_path / "ws" / "partitions").exists()


def test_the_attempts_have_unique_ids() -> None:
    assert len({a.id for a in ESCAPE_ATTEMPTS}) == len(ESCAPE_ATTEMPTS) >= 100


# --- what still runs -------------------------------------------------------------------------

ORDINARY = (
    "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY eventname ORDER BY eventname",
    "SELECT \"$path\" LIKE '%.json.gz' AS own_file FROM cloudtrail_logs LIMIT 1",
    "WITH c AS (SELECT eventname FROM cloudtrail_logs) SELECT count(*) FROM c WHERE eventname IN (SELECT eventname FROM c)",
    "SELECT e FROM UNNEST(ARRAY['a', 'b']) AS t(e)",
    "SELECT * FROM (VALUES (1, 'x')) AS v(a, b)",
    "VALUES 1, 2",
    "SELECT 1 UNION ALL SELECT 2",
    "SHOW TABLES",
    "DESCRIBE cloudtrail_logs",
    "SHOW COLUMNS IN cloudtrail_logs",
    "SELECT eventname FROM cloudtrail_logs WHERE eventname = 'CreateUser'; SELECT count(*) FROM cloudtrail_logs",
)


@pytest.mark.parametrize("sql", ORDINARY)
def test_ordinary_statements_answer_as_without_lockdown(sql: str, tmp_path: Path, logs: Path) -> None:
    with session(tmp_path / "a", logs, Lockdown()) as locked, session(tmp_path / "b", logs, None) as free:
        assert locked.execute(sql).table.to_pylist() == free.execute(sql).table.to_pylist()


def test_the_seed_runs_under_lockdown_as_without(tmp_path: Path, logs: Path) -> None:
    bucket = "s3://your-cloudtrail-bucket"
    lockdown = Lockdown(allow_ddl=True, allowed_locations=(f"{bucket}/AWSLogs/",))
    answers = []
    for given in (lockdown, None):
        folder = tmp_path / ("locked" if given else "free")
        with Session(workspace=folder, location_maps={bucket: str(logs)}, lockdown=given) as s:
            answers.append([s.execute(statement.sql).table.to_pylist() for statement in load_seed()])
    assert answers[0] == answers[1]


def test_ddl_runs_under_allow_ddl_inside_the_allowed_locations(tmp_path: Path, logs: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "t" / "d=1").mkdir(parents=True)
    lockdown = Lockdown(allow_ddl=True, allowed_locations=(f"{allowed}/",))
    with session(tmp_path, logs, lockdown) as s:
        s.execute(create(f"{allowed}/t/"))
        s.execute(f"ALTER TABLE t ADD PARTITION (d='2') LOCATION '{allowed}/t/elsewhere/../d=2/'")
        assert s.execute("MSCK REPAIR TABLE t").table.to_pylist()[0]["result"].startswith("1 partitions added")
        assert [r["partition"] for r in s.execute("SHOW PARTITIONS t").table.to_pylist()] == ["d=2", "d=1"]
        s.execute("CREATE VIEW v AS SELECT eventname FROM cloudtrail_logs WHERE eventname = 'CreateUser'")
        assert s.execute("SELECT * FROM v").table.to_pylist() == [{"eventname": "CreateUser"}]
        assert s.execute("SELECT count(*) AS n FROM t").table.to_pylist() == [{"n": 0}]
        s.execute("DROP VIEW v; DROP TABLE t")
        assert s.execute("SHOW TABLES").table.to_pylist() == [{"tab_name": "cloudtrail_logs"}]


# --- the lockdown's own rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "allowed"),
    [
        ("/data/logs/", True),
        ("/data/logs", True),
        ("/data/logs/a/../b/", True),
        ("/data/logs2/", False),
        ("/data/", False),
        ("/data/logs/../../etc", False),
        ("//data/logs/", True),  # (POSIX: a leading // is /)
        ("/data/./logs/x", True),
        ("s3://bucket/AWSLogs/123/", True),
        ("s3://bucket/AWSLogs", True),
        ("s3://bucket/AWSLogs2/", False),
        ("s3://bucket/AWSLogs/../other/", False),
        ("s3://bucket2/AWSLogs/", False),
        ("s3://bucket/", False),
        ("file:///data/logs/", False),
        ("data/logs", False),
        ("/data/logs/\x00", False),
    ],
)
def test_locations_are_compared_by_segments(location: str, allowed: bool) -> None:
    lockdown = Lockdown(allow_ddl=True, allowed_locations=("/data/logs", "s3://bucket/AWSLogs/"))
    if allowed:
        lockdown.check_location(location)
    else:
        with pytest.raises(AccessDeniedError):
            lockdown.check_location(location)


@pytest.mark.parametrize(
    "serve",
    [
        {"allow_ddl": "yes"},
        {"allow_ddl": 1},
        {"allowed_locations": "/data"},
        {"allowed_locations": [1]},
        {"allowed_locations": ["relative/folder"]},
        {"allowed_locations": ["file:///data"]},
    ],
)
def test_a_bad_serve_setting_is_a_usage_error(serve: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        Lockdown.from_config(serve)


def test_from_config_reads_the_serve_table() -> None:
    assert Lockdown.from_config({}) == Lockdown()
    got = Lockdown.from_config({"allow_ddl": True, "allowed_locations": ["/a/"], "port": 8080})
    assert got == Lockdown(True, ("/a/",))


def test_check_takes_a_parsed_statement_and_a_workspace(tmp_path: Path) -> None:
    from trailsql.catalog.workspace import Workspace

    Lockdown().check(parse_one("SELECT 1"), Workspace(tmp_path))
    with pytest.raises(AccessDeniedError, match=r"^not allowed: DROP TABLE"):
        Lockdown().check(parse_one("DROP TABLE x"), Workspace(tmp_path))


# --- the CLI's --safe --------------------------------------------------------------------------


def run_cli(*args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_safe_refuses_a_file_function(tmp_path: Path, logs: Path) -> None:
    result = run_cli(
        "query", "--safe", "--logs", logs, "--workspace", tmp_path / "ws", "SELECT * FROM read_csv('/etc/passwd')"
    )
    assert result.exit_code != 0
    assert "table function READ_CSV" in str(result.exception)
    assert "root:" not in result.output


def test_without_safe_ddl_runs_and_with_it_is_refused_until_the_workspace_allows_it(tmp_path: Path, logs: Path) -> None:
    workspace = tmp_path / "ws"
    ddl = create(f"{tmp_path / 'allowed'}/t/")
    refused = run_cli("query", "--safe", "--logs", logs, "--workspace", workspace, ddl)
    assert refused.exit_code != 0
    assert isinstance(refused.exception, AccessDeniedError)
    assert READ_ONLY in str(refused.exception)
    (workspace / "trailsql.toml").write_text(
        f'[serve]\nallow_ddl = true\nallowed_locations = ["{tmp_path / "allowed"}/"]\n'
        + f'[logs]\ndefault = "{logs}"\n'
    )
    outside = run_cli("query", "--safe", "--workspace", workspace, create("/etc/"))
    assert isinstance(outside.exception, AccessDeniedError)
    assert OUTSIDE in str(outside.exception)
    allowed = run_cli("query", "--safe", "--workspace", workspace, "--format", "csv", ddl)
    assert allowed.exit_code == 0, allowed.output
    assert "table t created" in allowed.output
    assert run_cli("query", "--workspace", workspace, "--format", "csv", "SELECT count(*) FROM t").exit_code == 0


def test_safe_with_a_bad_serve_setting_is_a_usage_error(tmp_path: Path, logs: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text('[serve]\nallow_ddl = "yes"\n')
    result = run_cli("query", "--safe", "--logs", logs, "--workspace", workspace, "SELECT 1")
    assert isinstance(result.exception, UsageError)


def test_safe_runs_library_queries_and_refuses_one_reading_a_file(tmp_path: Path, logs: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "lib").mkdir(parents=True)
    (workspace / "trailsql.toml").write_text('library_paths = ["lib"]\n')
    (workspace / "lib" / "leak.sql").write_text(
        "-- id: leak\n-- title: a file's text\n-- kind: hunt\n-- severity: info\n-- description: reads a file.\n"
        f"SELECT content FROM read_text('{tmp_path / 'secret.txt'}')\n"
    )
    common = ("--safe", "--logs", logs, "--workspace", workspace, "--format", "csv")
    leaked = run_cli("queries", "run", "leak", *common)
    assert leaked.exit_code != 0
    assert "table function read_text" in str(leaked.exception)
    assert MARKER not in leaked.output
    fine = run_cli("queries", "run", "access-denied-by-principal", *common, "--since", "3650d")
    assert fine.exit_code == 0, fine.output
