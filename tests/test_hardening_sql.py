"""Issue 11, the SQL surface: Trino semantics probes, escapes to DuckDB's files, limits, a fuzz.

Expected values come from Trino's documentation (``repeat``: an array; a decimal has at
most 38 digits; ``||`` is defined for strings and arrays only) or from counting by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.conftest import log_folder, write_log

from trailsql.errors import LimitError, NotSupportedError, SemanticError, SqlSyntaxError, TrailsqlError
from trailsql.seed import load_seed
from trailsql.session import Session
from trailsql.sql.parse import MAX_NESTING

CORPUS = Path(__file__).parent / "corpus" / "corpus.jsonl"
EVENTS = 20


def _records() -> list[dict[str, Any]]:
    """A small day of events: ``eventname`` E0..E4, source IP 10.0.0.<i>."""
    return [
        {
            "eventVersion": "1.08",
            "eventTime": f"2025-02-12T00:00:{i:02d}Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": f"E{i % 5}",
            "awsRegion": "us-east-1",
            "sourceIPAddress": f"10.0.0.{i}",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::123456789012:user/u{i}"},
            "eventID": f"id-{i}",
            "readOnly": True,
        }
        for i in range(EVENTS)
    ]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A session over one small log file."""
    root = tmp_path_factory.mktemp("hardening_sql")
    folder = log_folder(root / "logs", "123456789012", "us-east-1", dt.date(2025, 2, 12))
    write_log(folder, "123456789012_CloudTrail_us-east-1_20250212T0000Z_a.json.gz", _records())
    session = Session(logs=root / "logs", workspace=root / "ws")
    yield session
    session.close()


# --- item 5: Trino semantics ------------------------------------------------------------------

#: (SQL, Trino's documented answer as the single value of the single row)
TRINO_ANSWERS: list[tuple[str, Any]] = [
    ("SELECT repeat('ab', 3)", ["ab", "ab", "ab"]),
    ("SELECT repeat(1, 0)", []),
    ("SELECT repeat(NULL, 2)", [None, None]),
    ("SELECT cardinality(repeat('x', 10000))", 10000),
    ("""SELECT json_extract_scalar('{"a": 1}', '$.a')""", "1"),
    ("""SELECT json_size('{"a": [1, 2]}', '$.a')""", 2),
    ("""SELECT json_extract_scalar(concat('{"a": ', '"b"}'), '$.a')""", "b"),
    ("SELECT sequence(1, 5)", [1, 2, 3, 4, 5]),
    ("SELECT sequence(5, 1)", [5, 4, 3, 2, 1]),
    ("SELECT sequence(1, 10, 4)", [1, 5, 9]),
    ("SELECT sequence(-2, -8, -3)", [-2, -5, -8]),
    ("SELECT cardinality(sequence(1, 10000))", 10000),
    (
        "SELECT sequence(DATE '2025-02-27', DATE '2025-03-01')",
        [dt.date(2025, 2, 27), dt.date(2025, 2, 28), dt.date(2025, 3, 1)],
    ),
    ("SELECT sequence(DATE '2025-01-02', DATE '2025-01-01')", [dt.date(2025, 1, 2), dt.date(2025, 1, 1)]),
]

#: (SQL, the error class Athena's refusal maps to)
TRINO_REFUSALS: list[tuple[str, type[TrailsqlError]]] = [
    ("SELECT typeof(1)", NotSupportedError),
    ("SELECT typeof('ab')", NotSupportedError),
    ("SELECT 'x' || 1", TrailsqlError),
    ("SELECT 2.5 || 'x'", TrailsqlError),
    ("SELECT " + "1" * 39, TrailsqlError),
    ("SELECT 0." + "1" * 39, TrailsqlError),
    ("SELECT CAST(1 AS DECIMAL(39, 0))", TrailsqlError),
    ("SELECT eventname , , eventsource FROM cloudtrail_logs", SqlSyntaxError),
    ("SELECT 1, , 2", SqlSyntaxError),
    ("SELECT $$abc$$", SqlSyntaxError),
    ("SELECT repeat('x', 10001)", TrailsqlError),
    ("SELECT repeat('x', -1)", TrailsqlError),
    ("""SELECT json_extract_scalar('{"a": 1}', 'a')""", SemanticError),
    ("""SELECT json_extract('{"a": 1}', 'a.b')""", SemanticError),
    ("""SELECT json_size('{"a": [1]}', 'a')""", SemanticError),
    ("SELECT sequence(1, 5, 0)", TrailsqlError),
    ("SELECT sequence(1, 5, -1)", TrailsqlError),
    ("SELECT sequence(1, 10001)", TrailsqlError),
    ("SELECT cardinality(sequence(1, 100000000))", TrailsqlError),
    (
        "SELECT sequence(TIMESTAMP '2025-01-01 00:00:00', TIMESTAMP '2025-01-02 00:00:00', INTERVAL '1' HOUR)",
        NotSupportedError,
    ),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t", NotSupportedError),
    ("""SELECT json_extract_scalar(json_extract('{"a": {"b": 1}}', '$.a'), 'b')""", SemanticError),
]


@pytest.mark.parametrize(("sql", "expected"), TRINO_ANSWERS, ids=[s for s, _ in TRINO_ANSWERS])
def test_trino_answer(logs: Session, sql: str, expected: Any) -> None:
    table = logs.execute(sql).table
    assert table is not None
    assert table.to_pylist() == [{"_col0": expected}]


@pytest.mark.parametrize(("sql", "error"), TRINO_REFUSALS, ids=[s[:40] for s, _ in TRINO_REFUSALS])
def test_trino_refusal(logs: Session, sql: str, error: type[TrailsqlError]) -> None:
    with pytest.raises(error):
        logs.execute(sql)


def test_numbers_of_38_digits_still_run(logs: Session) -> None:
    """The limit is Trino's: 38 digits fit a decimal(38)."""
    table = logs.execute("SELECT CAST(" + "9" * 38 + " AS VARCHAR)").table
    assert table is not None and table.to_pylist() == [{"_col0": "9" * 38}]


# --- item 8: the engine's own file access ---------------------------------------------------

#: Statements that would make DuckDB read a file, run SQL text, show settings or change itself.
ESCAPES: list[str] = [
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT content FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_json('/etc/hostname')",
    "SELECT * FROM read_json_auto('/etc/hostname')",
    "SELECT * FROM read_ndjson('/etc/hostname')",
    "SELECT * FROM read_json_objects('/etc/hostname')",
    "SELECT * FROM read_parquet('/x.parquet')",
    "SELECT * FROM parquet_metadata('/x.parquet')",
    "SELECT * FROM parquet_schema('/x.parquet')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM query('SELECT 42')",
    "SELECT * FROM query_table('t')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_secrets()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM range(3)",
    "SELECT * FROM TABLE(read_text('/etc/hostname'))",
    "SELECT current_setting('allowed_directories')",
    "SELECT getenv('HOME')",
    "SELECT length(content) FROM cloudtrail_logs, read_text('/etc/hostname')",
    "SELECT eventname FROM cloudtrail_logs WHERE eventname IN (SELECT content FROM read_text('/etc/hostname'))",
    "WITH f AS (SELECT * FROM read_text('/etc/hostname')) SELECT * FROM f",
    "SELECT * FROM 'x.csv'",
    'SELECT * FROM "/etc/passwd"',
    "SELECT * FROM '/etc/hostname'",
    "COPY (SELECT 1) TO '/tmp/trailsql-escape.csv'",
    "ATTACH '/tmp/trailsql-escape.db' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA version",
    "SET threads = 1",
    "SET enable_external_access = true",
    "EXPORT DATABASE '/tmp/trailsql-escape'",
    "CALL pragma_version()",
    "SELECT json_execute_serialized_sql('{}')",
]


@pytest.mark.parametrize("sql", ESCAPES)
def test_escape_refused(logs: Session, sql: str) -> None:
    """Refused before DuckDB runs anything: no rows, a one-line trailsql error."""
    with pytest.raises(TrailsqlError) as raised:
        logs.execute(sql)
    assert "\n" not in str(raised.value)
    assert not Path("/tmp/trailsql-escape.csv").exists()


def test_engine_functions_are_not_supported(logs: Session) -> None:
    """The file functions are named as not supported, not as a missing table."""
    with pytest.raises(NotSupportedError, match=r"(?i)read_text"):
        logs.execute("SELECT * FROM read_text('/etc/hostname')")
    with pytest.raises(NotSupportedError, match=r"(?i)current_setting"):
        logs.execute("SELECT current_setting('threads')")


def test_view_reading_a_file_is_refused(logs: Session) -> None:
    """A view goes through the same planner: one whose body reads a file is refused."""
    with pytest.raises(NotSupportedError, match=r"(?i)read_text"):
        logs.execute("CREATE OR REPLACE VIEW leak AS SELECT content FROM read_text('/etc/hostname')")
    with pytest.raises(TrailsqlError):
        logs.execute("SELECT * FROM leak")


def test_the_engine_itself_reads_only_the_folders_of_the_tables(tmp_path: Path) -> None:
    """Behind the planner, DuckDB is locked down: SQL that reached it past the refusals (here
    sent to the connection directly) reads no file outside the folders of the tables queried."""
    folder = log_folder(tmp_path / "logs", "123456789012", "us-east-1", dt.date(2025, 2, 12))
    write_log(folder, "a.json.gz", _records())
    (tmp_path / "secret.txt").write_text("s3cr3t")
    with Session(logs=tmp_path / "logs", workspace=tmp_path / "ws") as session:
        assert session.execute("SELECT count(*) AS n FROM cloudtrail_logs").table.to_pylist() == [{"n": EVENTS}]
        con = session.engine.con
        inside = con.execute(f"SELECT count(*) FROM read_blob('{folder / 'a.json.gz'}')").fetchall()
        assert inside == [(1,)]
        for outside in (tmp_path / "secret.txt", Path("/etc/hostname")):
            with pytest.raises(duckdb.PermissionException):
                con.execute(f"SELECT content FROM read_text('{outside}')").fetchall()
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'")
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("SET enable_external_access = true")
        assert session.execute("SELECT count(*) AS n FROM cloudtrail_logs").table.to_pylist() == [{"n": EVENTS}]
    assert not (tmp_path / "out.csv").exists()


# --- item 11: parser limits and warnings ----------------------------------------------------


def test_five_thousand_or_terms(logs: Session) -> None:
    """An IOC list: 5,000 OR terms; 5 of them match (hand-counted from the 20 IPs written)."""
    ips = [f"10.0.0.{i}" for i in range(0, 25, 5)] + [f"192.0.2.{i % 250}.{i}" for i in range(4995)]
    where = " OR ".join(f"sourceipaddress = '{ip}'" for ip in ips)
    table = logs.execute(f"SELECT count(*) AS n FROM cloudtrail_logs WHERE {where}").table
    expected = sum(1 for r in _records() if r["sourceIPAddress"] in ips)
    assert table is not None and table.to_pylist() == [{"n": expected}]


def test_two_hundred_nested_parentheses(logs: Session) -> None:
    table = logs.execute("SELECT " + "(" * 200 + "1" + ")" * 200 + " AS one").table
    assert table is not None and table.to_pylist() == [{"one": 1}]


def test_beyond_the_documented_depth_is_a_clean_error(logs: Session) -> None:
    deep = MAX_NESTING + 1
    with pytest.raises(LimitError, match=f"more than {MAX_NESTING} levels"):
        logs.execute("SELECT " + "(" * deep + "1" + ")" * deep)


def test_parser_warnings_do_not_reach_stderr(tmp_path: Path) -> None:
    """sqlglot logs 'contains unsupported syntax' for a statement it falls back on; a fresh
    process (no pytest log capture) shows whether it reaches stderr."""
    script = "from trailsql.session import Session\ntry:\n    Session().execute('LOAD httpfs')\nexcept Exception as e:\n    print(type(e).__name__)\n"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.stdout.strip() == "NotSupportedError"
    assert run.stderr == ""


# --- item 11: a timeout and a memory limit -------------------------------------------------

#: A query that would run for hours (10^12 rows), in little memory.
RUNAWAY = (
    "SELECT count(*) FROM UNNEST(sequence(1, 10000)) AS a(x) CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) "
    "CROSS JOIN UNNEST(sequence(1, 10000)) AS c(z)"
)
#: A query whose hash table of 30 million distinct numbers needs far more than 64 MB.
HUNGRY = (
    "SELECT count(DISTINCT x * 100000 + y) FROM UNNEST(sequence(1, 10000)) AS a(x) "
    "CROSS JOIN UNNEST(sequence(1, 3000)) AS b(y)"
)


def test_a_runaway_query_times_out_and_the_session_goes_on(tmp_path: Path) -> None:
    with Session(workspace=tmp_path / "ws", timeout=0.5) as session:
        with pytest.raises(LimitError, match=r"timed out after 0\.5 s"):
            session.execute(RUNAWAY)
        assert session.execute("SELECT 41 + 1").table.to_pylist() == [{"_col0": 42}]


def test_a_query_beyond_the_memory_limit_is_one_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # DuckDB spilled to .tmp in the current directory
    with Session(workspace=tmp_path / "ws", memory_limit="64MB", timeout=120) as session:
        with pytest.raises(LimitError, match="out of memory: it needs more than the memory limit of 64MB"):
            session.execute(HUNGRY)
        assert session.execute("SELECT 1").table.to_pylist() == [{"_col0": 1}]
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"]


def test_cli_timeout_and_memory_limit_are_one_line_errors(tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).with_name("trailsql")), "query", "--workspace", str(tmp_path / "ws")]
    ran = subprocess.run([*cli, "--timeout", "0.5", RUNAWAY], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (ran.returncode, ran.stderr.strip()) == (1, "error: query timed out after 0.5 s (the timeout)")
    ran = subprocess.run([*cli, "--memory-limit", "lots", "SELECT 1"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2 and "memory limit 'lots'" in ran.stderr
    ran = subprocess.run([*cli, "--timeout", "0", "SELECT 1"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "ws"]  # nothing spilled beside the user's files


# --- the fuzz ---------------------------------------------------------------------------------


def _base_statements() -> list[str]:
    """The seed's and the vendored corpus's query statements, plus a few of ours."""
    texts = [s.sql for s in load_seed() if not s.sql.lstrip().upper().startswith("CREATE")]
    for line in CORPUS.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("kind") != "ddl" and "cloudtrail_logs" in entry["sql"]:
            texts.append(entry["sql"])
    return [*texts[:16], "SELECT eventname, count(*) FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC"]


def _mutations(sql: str, rng: random.Random) -> list[str]:
    """Malformed variants of ``sql``: dropped tokens, doubled commas, unbalanced quotes and
    parentheses, truncations."""
    words = sql.split()
    drop = rng.randrange(len(words))
    out = [
        " ".join(words[:drop] + words[drop + 1 :]),
        sql.replace(",", ", ,", 1),
        sql + ")",
        "(" + sql,
        sql.replace("'", "", 1),
        sql.replace("'", "''", 1),
        sql.replace('"', "", 1),
        sql.replace("(", "", 1),
        sql + ";;",
        sql.replace(" ", "\x00", 1),
    ]
    step = max(len(sql) // 8, 1)
    out += [sql[:cut] for cut in range(step, len(sql), step)]
    return out


EXTREMES: list[str] = [
    "",
    ";",
    ";;",
    "   ",
    "-- only a comment",
    "/* unterminated",
    "SELECT 'unterminated",
    'SELECT "unterminated',
    "SELECT\x00 1",
    "SELECT 1;;SELECT 2",
    "SELECT " + "9" * 10_000,
    "SELECT '" + "x" * 100_000 + "'",
    "SELECT " + "(" * 2000 + "1" + ")" * 2000,
    "SELECT " + "[" * 1200 + "1" + "]" * 1200,
    "SELECT " + " + ".join(["1"] * 3000),
    "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(2000)),
    "SELECT 'é☃𝔘' AS u, '\u202e' AS rtl, '\ufeff' AS bom",
    "SELECT \u2018x\u2019",
    "SELECT ＊ FROM cloudtrail_logs",
    "SELECT * FROM cloudtrail_logs WHERE eventname = '\udcff'",
    "SELECT * FROM",
    "FROM cloudtrail_logs",
    "SELECT (((",
    "SELECT )))",
    "SELECT CASE WHEN THEN END",
    "SELECT 1e400",
    "SELECT -" + "-" * 500 + "1",
    "SELECT NOT " + "NOT " * 800 + "true",
    "SELECT ARRAY[" + ",".join(["1"] * 5000) + "]",
    "WITH " + ", ".join(f"c{i} AS (SELECT {i} AS x)" for i in range(300)) + " SELECT count(*) FROM c0",
]


def _fuzz_corpus() -> list[str]:
    rng = random.Random(11)
    statements = list(EXTREMES)
    for sql in _base_statements():
        statements += _mutations(sql, rng)
    return statements


FUZZ = _fuzz_corpus()


def test_fuzz_corpus_is_large_enough() -> None:
    assert len(FUZZ) >= 300


def test_fuzz(logs: Session) -> None:
    """Each statement returns rows or raises a TrailsqlError with a one-line message."""
    failures = []
    for sql in FUZZ:
        try:
            logs.execute(sql)
        except TrailsqlError as error:
            if "\n" in str(error) or not str(error):
                failures.append((sql[:80], f"multi-line or empty message: {str(error)[:200]!r}"))
        except Exception as error:  # the finding: anything else escaped
            failures.append((sql[:80], f"{type(error).__name__}: {str(error)[:200]}"))
    assert failures == []


RELIABILITY: dict[str, int] = {
    "malformed or extreme statements": len(FUZZ),
    "escape attempts": len(ESCAPES) + 1 + 4,  # + the view whose body reads a file, + 4 past the planner
    "Trino semantics probes": len(TRINO_ANSWERS) + len(TRINO_REFUSALS) + 1,
    "runaway queries (timeout, memory limit)": 2,
}
