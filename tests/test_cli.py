"""The ``trailsql`` command line, as README documents it.

``trailsql query``: the SQL as an argument, with ``-f FILE`` or ``-`` for stdin;
``--logs``; the formats (``table``; ``csv`` as Athena's result files, a header row and
every value double-quoted; ``json`` one array of objects with lower-cased column names;
``jsonl`` one object per line); ``--output FILE``; ``--stats`` (the last stderr line is
one JSON object, Athena's cost at $5 per TB with a 10 MB minimum); ``--workspace``
keeping tables between calls; ``--location-map`` kept in the workspace; exit codes 0
(success), 1 (the query failed: syntax error with line and column, ``not supported:``,
unknown table) and 2 (usage). ``trailsql generate`` and ``trailsql demo``.

Most calls run in-process through ``trailsql.cli.main.main`` (the entry point that maps
errors to exit codes) under click's CliRunner; two run the installed console script.
Expected output is computed from the records written here.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from tests.conftest import log_folder, write_log

from trailsql.cli.main import main

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = dt.date(2025, 2, 12)
STATS_KEYS = {
    "files_listed",
    "files_scanned",
    "files_skipped",
    "bytes_scanned",
    "events_scanned",
    "elapsed_s",
    "athena_cost_usd",
}
#: Athena's minimum charge: 10 MB at $5 per TB (binary or decimal units).
MINIMUM_COST = (10 * 2**20 / 2**40 * 5, 10e6 / 1e12 * 5)


def event(
    event_id: str, name: str, user: str, *, day: dt.date = DAY, region: str = REGION, agent: str = "aws-cli/2.15"
) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "userName": user},
        "eventTime": f"{day:%Y-%m-%d}T{int(event_id[1:]):02d}:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": agent,
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


#: (day, region) -> records of one file each.
FILES: dict[tuple[dt.date, str], list[dict[str, Any]]] = {
    (DAY, REGION): [
        event("e01", "ConsoleLogin", "o'brien", agent='Mozilla/5.0 "quoted", with comma'),
        event("e02", "GetObject", "alice"),
        event("e03", "PutObject", "alice"),
    ],
    (DAY, "us-west-2"): [event("e04", "GetObject", "bob", region="us-west-2")],
    (DAY - dt.timedelta(days=1), REGION): [event("e05", "ListBuckets", "carol", day=DAY - dt.timedelta(days=1))],
}
ALL = sorted((r for records in FILES.values() for r in records), key=lambda r: r["eventID"])
SQL = "SELECT eventID, eventName, userIdentity.userName AS UserName, userAgent FROM cloudtrail_logs ORDER BY eventID"
COLUMNS = ["eventid", "eventname", "username", "useragent"]


def expected_rows() -> list[dict[str, str]]:
    return [
        {
            "eventid": r["eventID"],
            "eventname": r["eventName"],
            "username": r["userIdentity"]["userName"],
            "useragent": r["userAgent"],
        }
        for r in ALL
    ]


def athena_csv(rows: list[dict[str, str]]) -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    lines = [",".join(quoted(c) for c in COLUMNS)]
    lines += [",".join(quoted(row[c]) for c in COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    for n, ((day, region), records) in enumerate(FILES.items()):
        name = f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T1005Z_{n:016d}.json.gz"
        write_log(log_folder(root, ACCOUNT, region, day), name, records)
    return root


class _Entry:
    """``trailsql.cli.main.main`` (which maps errors to exit codes) in the shape CliRunner invokes."""

    name = "trailsql"

    def main(self, args: list[str], prog_name: str, **extra: Any) -> None:
        with mock.patch.object(sys, "argv", [prog_name, *args]):
            main()


def trailsql(*args: str | Path, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    runner = CliRunner()
    return runner.invoke(_Entry(), [str(a) for a in args], input=input, env=env, catch_exceptions=False)  # type: ignore[arg-type]


def last_stderr_line(result: Any) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    return lines[-1]


# --- formats ---------------------------------------------------------------------------


def test_format_json_is_one_array_of_objects_with_lower_cased_names(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "json", SQL)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected_rows()


def test_format_jsonl_is_one_object_per_line(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "jsonl", SQL)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(ALL)
    assert [json.loads(line) for line in lines] == expected_rows()


def test_format_csv_quotes_every_value_as_athena(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "csv", SQL)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == athena_csv(expected_rows())
    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert parsed == expected_rows()


def test_format_csv_quotes_numbers_too(logs: Path) -> None:
    sql = "SELECT eventName, count(*) AS N FROM cloudtrail_logs GROUP BY eventName ORDER BY eventName"
    result = trailsql("query", "--logs", logs, "--format", "csv", sql)
    assert result.exit_code == 0, result.stderr
    counts: dict[str, int] = {}
    for r in ALL:
        counts[r["eventName"]] = counts.get(r["eventName"], 0) + 1
    expected = ['"eventname","n"'] + [f'"{name}","{n}"' for name, n in sorted(counts.items())]
    assert result.stdout.splitlines() == expected


def test_format_table_shows_every_row(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "table", SQL)
    assert result.exit_code == 0, result.stderr
    for name in COLUMNS:
        assert name in result.stdout
    for row in expected_rows():
        line = next((line for line in result.stdout.splitlines() if row["eventid"] in line), None)
        assert line is not None, f"row {row['eventid']} missing"
        for value in row.values():
            assert value in line
    assert f"({len(ALL)} rows)" in result.stdout


def test_table_is_the_default_format(logs: Path) -> None:
    default = trailsql("query", "--logs", logs, SQL)
    table = trailsql("query", "--logs", logs, "--format", "table", SQL)
    assert default.exit_code == table.exit_code == 0
    assert default.stdout == table.stdout


# --- where the SQL comes from, where the rows go ----------------------------------------


def test_output_writes_the_rows_to_a_file(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    result = trailsql("query", "--logs", logs, "--format", "csv", "--output", out, SQL)
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8") == athena_csv(expected_rows())
    assert ALL[0]["eventID"] not in result.stdout


def test_output_json_file(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    result = trailsql("query", "--logs", logs, "--format", "json", "--output", out, SQL)
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == expected_rows()


def test_sql_from_a_file(logs: Path, tmp_path: Path) -> None:
    sql_file = tmp_path / "query.sql"
    sql_file.write_text("-- all events\n" + SQL.replace(" FROM ", "\nFROM ") + ";\n")
    result = trailsql("query", "--logs", logs, "--format", "json", "-f", sql_file)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected_rows()


def test_sql_from_stdin_with_dash(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "json", "-", input=SQL + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected_rows()


def test_sql_from_stdin_with_f_dash(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "--format", "json", "-f", "-", input=SQL)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected_rows()


def test_file_with_several_statements_gives_the_last_result(logs: Path, tmp_path: Path) -> None:
    sql_file = tmp_path / "script.sql"
    sql_file.write_text(
        "CREATE EXTERNAL TABLE t (eventID STRING, eventName STRING)\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        f"LOCATION '{logs}/AWSLogs/';\n"
        "SELECT count(*) AS n FROM t WHERE eventName = 'GetObject';\n"
    )
    result = trailsql("query", "--format", "json", "-f", sql_file)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": sum(r["eventName"] == "GetObject" for r in ALL)}]


# --- --stats ---------------------------------------------------------------------------


def test_stats_is_the_last_stderr_line(logs: Path) -> None:
    result = trailsql(
        "query", "--logs", logs, "--format", "json", "--stats", "SELECT count(*) AS n FROM cloudtrail_logs"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": len(ALL)}]  # stdout stays clean
    stats = json.loads(last_stderr_line(result))
    assert isinstance(stats, dict)
    assert set(stats) >= STATS_KEYS, STATS_KEYS - set(stats)
    files = list(logs.rglob("*.json.gz"))
    assert stats["files_listed"] == len(files) == len(FILES)
    assert stats["files_scanned"] == len(files)
    assert stats["files_skipped"] == 0
    assert stats["bytes_scanned"] == sum(p.stat().st_size for p in files)
    assert stats["events_scanned"] == len(ALL)
    assert isinstance(stats["elapsed_s"], (int, float)) and stats["elapsed_s"] >= 0
    # A few hundred bytes: Athena charges its 10 MB minimum.
    assert any(stats["athena_cost_usd"] == pytest.approx(m, rel=1e-3) for m in MINIMUM_COST), stats


def test_athena_cost_above_the_minimum() -> None:
    """$5 per TB once past 10 MB: a whole TB costs $5 (in the units the minimum uses)."""
    from trailsql.stats import RunStats

    minimum = RunStats(bytes_scanned=0).athena_cost_usd
    assert RunStats(bytes_scanned=1000).athena_cost_usd == minimum
    binary, decimal = MINIMUM_COST
    if minimum == pytest.approx(binary, rel=1e-3):
        assert RunStats(bytes_scanned=2**40).athena_cost_usd == pytest.approx(5.0)
        assert RunStats(bytes_scanned=3 * 2**40).athena_cost_usd == pytest.approx(15.0)
    else:
        assert minimum == pytest.approx(decimal, rel=1e-3)
        assert RunStats(bytes_scanned=10**12).athena_cost_usd == pytest.approx(5.0)
        assert RunStats(bytes_scanned=3 * 10**12).athena_cost_usd == pytest.approx(15.0)


def test_no_stats_without_the_flag(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "SELECT count(*) AS n FROM cloudtrail_logs")
    assert result.exit_code == 0
    assert "events_scanned" not in result.stderr


# --- --workspace and --location-map ------------------------------------------------------


def test_workspace_keeps_a_created_table_for_the_next_call(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ddl = (
        "CREATE EXTERNAL TABLE my_trail (eventID STRING, eventName STRING, userIdentity STRUCT<userName: STRING>) "
        f"ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe' LOCATION '{logs}/AWSLogs/'"
    )
    created = trailsql("query", "--workspace", workspace, ddl)
    assert created.exit_code == 0, created.stderr
    sql = "SELECT eventid, useridentity.username AS username FROM my_trail ORDER BY eventid"
    result = trailsql("query", "--workspace", workspace, "--format", "json", sql)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"eventid": r["eventID"], "username": r["userIdentity"]["userName"]} for r in ALL
    ]
    # Without the workspace the table is unknown.
    elsewhere = trailsql("query", "--workspace", tmp_path / "other", sql)
    assert elsewhere.exit_code == 1
    assert "my_trail" in elsewhere.stderr


def seed_ddl() -> str:
    """The seed's CREATE EXTERNAL TABLE, read from seed.sql as a user would copy it."""
    text = resources.files("trailsql").joinpath("seed.sql").read_text()
    match = re.search(r"^CREATE EXTERNAL TABLE.*?;\s*$", text, flags=re.MULTILINE | re.DOTALL)
    assert match is not None
    return match.group(0)


def test_location_map_is_kept_in_the_workspace(logs: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    ddl_file = tmp_path / "create_table.sql"
    ddl_file.write_text(seed_ddl())
    assert "s3://your-cloudtrail-bucket/AWSLogs/" in ddl_file.read_text()
    created = trailsql(
        "query", "--workspace", workspace, "--location-map", f"s3://your-cloudtrail-bucket={logs}", "-f", ddl_file
    )
    assert created.exit_code == 0, created.stderr
    # A later call, without repeating the map, reads the s3:// location from the local folder.
    sql = (
        "SELECT eventid FROM cloudtrail_logs WHERE account = '123456789012' AND region = 'us-east-1' "
        "AND year = '2025' AND month = '02' AND day = '12' ORDER BY eventid"
    )
    result = trailsql("query", "--workspace", workspace, "--format", "json", sql)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"eventid": r["eventID"]} for r in FILES[(DAY, REGION)]]
    everything = trailsql(
        "query", "--workspace", workspace, "--format", "json", "SELECT count(*) AS n FROM cloudtrail_logs"
    )
    assert everything.exit_code == 0, everything.stderr
    assert json.loads(everything.stdout) == [{"n": len(ALL)}]


def test_s3_location_without_a_map_is_read_from_s3_and_missing_credentials_give_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    workspace = tmp_path / "ws"
    ddl_file = tmp_path / "create_table.sql"
    ddl_file.write_text(seed_ddl())
    assert trailsql("query", "--workspace", workspace, "-f", ddl_file).exit_code == 0
    result = trailsql("query", "--workspace", workspace, "SELECT count(*) FROM cloudtrail_logs WHERE day = '12'")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: S3 credentials not found for s3://your-cloudtrail-bucket/")
    assert result.stderr.count("\n") == 1


# --- exit codes ------------------------------------------------------------------------


def test_engine_is_chosen_by_option_or_workspace_and_unknown_ones_are_usage_errors(logs: Path, tmp_path: Path) -> None:
    sql = "SELECT count(*) AS n FROM cloudtrail_logs"
    chosen = trailsql("query", "--logs", logs, "--engine", "duckdb", "--format", "json", sql)
    assert (chosen.exit_code, json.loads(chosen.stdout)) == (0, [{"n": len(ALL)}])
    unknown = trailsql("query", "--logs", logs, "--engine", "presto", sql)
    assert unknown.exit_code == 2 and "presto" in unknown.stderr
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text('[engine]\nname = "nosuch"\n')
    configured = trailsql("query", "--logs", logs, "--workspace", workspace, sql)
    assert configured.exit_code == 2 and "unknown engine 'nosuch': choose one of duckdb" in configured.stderr
    shown = trailsql("config", "show", "--workspace", workspace, "--format", "json")
    assert json.loads(shown.stdout)["engine"] == "nosuch"


def test_success_exits_0(logs: Path) -> None:
    assert trailsql("query", "--logs", logs, "SELECT 1 AS x").exit_code == 0


def test_syntax_error_exits_1_with_line_and_column(logs: Path) -> None:
    sql = "SELECT eventname\nFROM cloudtrail_logs\nWHERE eventname = = 'x'"
    column = sql.splitlines()[2].index("= =") + 3  # 1-based column of the second '='
    result = trailsql("query", "--logs", logs, sql)
    assert result.exit_code == 1
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("error:")
    assert "line 3" in message
    assert f"column {column}" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO cloudtrail_logs SELECT * FROM cloudtrail_logs",
        "SELECT json_extract_scalar(requestparameters, eventname) FROM cloudtrail_logs",
    ],
    ids=["insert", "json-path-not-literal"],
)
def test_unsupported_construct_exits_1(logs: Path, sql: str) -> None:
    result = trailsql("query", "--logs", logs, sql)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: not supported:"), result.stderr


def test_unknown_table_exits_1(logs: Path) -> None:
    result = trailsql("query", "--logs", logs, "SELECT * FROM no_such_table")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error:")
    assert "no_such_table" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["query", "--no-such-option", "SELECT 1"],
        ["query"],
        ["query", "--format", "xml", "SELECT 1"],
        ["query", "--location-map", "not-an-s3-prefix", "SELECT 1"],
        ["no-such-command"],
    ],
    ids=["unknown-option", "no-sql", "bad-format", "bad-location-map", "unknown-command"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = trailsql(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.strip()


def test_sql_both_as_argument_and_file_is_a_usage_error(logs: Path, tmp_path: Path) -> None:
    sql_file = tmp_path / "q.sql"
    sql_file.write_text("SELECT 1")
    result = trailsql("query", "--logs", logs, "-f", sql_file, "SELECT 2")
    assert result.exit_code == 2


# --- the installed console script ------------------------------------------------------


def console_script() -> Path:
    script = Path(sys.executable).with_name("trailsql")
    if not script.exists():
        pytest.skip("console script trailsql not installed beside the interpreter")
    return script


def test_console_script_query_with_stats(logs: Path) -> None:
    done = subprocess.run(
        [console_script(), "query", "--logs", logs, "--format", "csv", "--stats", "-"],
        input="SELECT count(*) AS n FROM cloudtrail_logs",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f'"n"\n"{len(ALL)}"\n'
    stats = json.loads(done.stderr.strip().splitlines()[-1])
    assert stats["events_scanned"] == len(ALL)


def test_console_script_exit_codes(logs: Path) -> None:
    bad_sql = subprocess.run(
        [console_script(), "query", "--logs", logs, "SELECT FROM WHERE"], capture_output=True, text=True, timeout=60
    )
    assert bad_sql.returncode == 1
    assert bad_sql.stderr.startswith("error:")
    usage = subprocess.run([console_script(), "query", "--logs", logs], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2


# --- generate and demo -----------------------------------------------------------------

LAYOUT = re.compile(
    r"AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json\.gz$"
)


def test_generate_writes_the_requested_number_of_events(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = trailsql("generate", "--events", "2000", "--out", out)
    assert result.exit_code == 0, result.stderr
    files = sorted(out.rglob("*.json.gz"))
    assert files
    total = 0
    ids: set[str] = set()
    for path in files:
        relative = path.relative_to(out).as_posix()
        match = LAYOUT.match(relative)
        assert match, f"not in the AWSLogs layout: {relative}"
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)["Records"]
        total += len(records)
        for record in records:
            assert record["recipientAccountId"] == match["account"]
            assert record["awsRegion"] == match["region"]
            ids.add(record["eventID"])
    assert total == 2000
    assert len(ids) == 2000
    assert not [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".json.gz")]


def seed_query_names() -> list[str]:
    """The ``-- name:`` of each seed statement that is a query (not the CREATE TABLE)."""
    text = resources.files("trailsql").joinpath("seed.sql").read_text()
    names = []
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        code = [line for line in body.splitlines() if line.strip() and not line.startswith("--")]
        if code and not code[0].upper().startswith("CREATE"):
            names.append(name.strip())
    return names


def test_demo_prints_the_seed_query_names() -> None:
    names = seed_query_names()
    assert len(names) >= 5
    result = trailsql("demo", env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    for name in names:
        assert name in result.stdout, f"{name!r} not shown"


def test_version() -> None:
    result = trailsql("--version")
    assert result.exit_code == 0
    assert re.search(r"\d+\.\d+", result.stdout)


@pytest.fixture(autouse=True)
def _no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich reads COLUMNS; keep tests independent of the terminal running them."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
