"""The query library: headers, parameters, windows that prune, and the seed's queries generalised."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_seed import ACCOUNT, REGION, build
from trailsql.cli.main import cli
from trailsql.errors import CatalogError, UsageError
from trailsql.library import load_library, parse_query
from trailsql.library.run import run_query
from trailsql.library.window import Window
from trailsql.seed import SEED_DAY, fill_daily_placeholders, load_seed
from trailsql.session import Session

HEADER = "-- id: q\n-- title: T\n-- kind: detection\n-- severity: low\n"
NOW = dt.datetime(2025, 2, 13, 0, 0, tzinfo=dt.UTC)


def test_every_shipped_query_parses_and_renders() -> None:
    library = load_library()
    assert len([q for q in library.values() if q.kind == "hunt"]) >= 8
    assert len([q for q in library.values() if q.kind == "detection"]) >= 25
    for query in library.values():
        given = {"user": "alice"} if query.param("user") else {}
        sql = query.render(given, NOW)
        assert "{{" not in sql and "year = '2025'" in sql, query.id
        if query.kind == "detection":
            assert query.key and query.description, query.id


def test_bad_headers_name_the_file_and_line() -> None:
    with pytest.raises(CatalogError, match=r"x.sql:1: the header has no 'title:'"):
        parse_query("-- id: q\nSELECT 1", "x.sql")
    with pytest.raises(CatalogError, match=r"x.sql:5: expected 'param: NAME TYPE"):
        parse_query(HEADER + "-- param: threshold number = 3\nSELECT 1", "x.sql")
    with pytest.raises(CatalogError, match="severity must be one of"):
        parse_query(HEADER.replace("low", "scary") + "SELECT 1", "x.sql")


def test_parameters_are_checked_and_quoted() -> None:
    query = parse_query(
        HEADER + "-- param: user string\n-- param: threshold int = 10\n"
        "SELECT * FROM cloudtrail_logs WHERE {{window}} {{scope}} AND u = {{user}} HAVING count(*) > {{threshold}}",
        "q.sql",
    )
    sql = query.render({"user": "o'brien", "account": "123456789012"}, NOW)
    assert "u = 'o''brien'" in sql and "> 10" in sql and "AND account = '123456789012'" in sql
    with pytest.raises(UsageError, match="must be an integer"):
        query.render({"user": "a", "threshold": "1; DROP"}, NOW)
    with pytest.raises(UsageError, match="has no parameter 'nope'"):
        query.render({"nope": "1"}, NOW)
    with pytest.raises(UsageError, match="needs --param user=VALUE"):
        query.render({}, NOW)


def test_a_window_covers_its_days_and_the_next_for_late_deliveries() -> None:
    window = Window.parse("24h", now=dt.datetime(2025, 2, 12, 10, tzinfo=dt.UTC))
    assert window.days() == [dt.date(2025, 2, 11), dt.date(2025, 2, 12), dt.date(2025, 2, 13)]
    month_end = Window.parse("2025-01-31T20:00:00Z", "2025-02-01T00:00:00Z")
    assert (
        "(year = '2025' AND month = '01' AND day IN ('31')) OR (year = '2025' AND month = '02' AND day IN ('01'))"
        in (month_end.predicate())
    )
    with pytest.raises(UsageError, match="window is empty"):
        Window.parse("2025-02-02", "2025-02-01")


@pytest.fixture(scope="module")
def seed_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    build(root)
    return root


def test_the_window_prunes_folders(seed_logs: Path) -> None:
    query = load_library()["console-logins"]
    with Session(logs=seed_logs) as session:
        result = run_query(session, query, {"since": "2025-02-12", "until": "2025-02-13"}).result
        everything = session.execute("SELECT count(*) FROM cloudtrail_logs").stats
    assert result is not None
    assert 0 < result.stats.files_listed - result.stats.files_pruned < everything.files_scanned


#: Seed query name -> (library id, window, extra parameters) asking the same question.
SAME_QUESTION = {
    "Who Did What Recently": ("who-did-what", ("2025-02-12", "2025-02-13"), {"user": "alice"}),
    "Console Logins": ("console-logins", ("2025-02-01", "2025-03-01"), {}),
    "Security Group Changes": ("security-group-changes", ("2025-02-01", "2025-03-01"), {}),
    "IAM Changes": ("iam-changes", ("2025-02-01", "2025-03-01"), {}),
    "S3 Bucket Policy Changes": ("s3-bucket-policy-changes", ("2025-02-01", "2025-03-01"), {}),
    "Unauthorized Access Attempts": ("access-denied-by-principal", ("2025-02-01", "2025-03-01"), {}),
}


@pytest.mark.parametrize("name", sorted(SAME_QUESTION))
def test_generalised_seed_queries_find_what_the_seed_finds(seed_logs: Path, name: str) -> None:
    """Over the seed's fixture, with the seed's account, region and period, the library's
    version returns the seed's rows; it may add events the seed's folder predicate misses
    (an event of the period delivered in the next day's folder), never lose one."""
    seed = next(s for s in load_seed() if s.name == name)
    query_id, (since, until), extra = SAME_QUESTION[name]
    with Session(logs=seed_logs, location_maps={"s3://your-cloudtrail-bucket": str(seed_logs)}) as session:
        session.execute(load_seed()[0].sql)
        expected = session.execute(fill_daily_placeholders(seed.sql, SEED_DAY)).table.to_pylist()
        given = {"since": since, "until": until, "account": ACCOUNT, "region": REGION, **extra}
        got = run_query(session, load_library()[query_id], given).rows
    assert expected, "the seed's query finds nothing: the comparison would be empty"
    assert all(row in got for row in expected)
    assert len(got) - len(expected) <= 2


def test_cli_lists_shows_and_runs(seed_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["queries", "list", "--kind", "detection"])
    assert listed.exit_code == 0 and "cloudtrail-tampering" in listed.output and "who-did-what" not in listed.output
    shown = runner.invoke(cli, ["queries", "show", "who-did-what"])
    assert "param" in shown.output.lower() and "SELECT" in shown.output
    ran = runner.invoke(
        cli,
        [
            "queries",
            "run",
            "console-logins",
            "--logs",
            str(seed_logs),
            "--since",
            "2025-02-01",
            "--until",
            "2025-03-01",
            "--format",
            "json",
        ],
    )
    assert ran.exit_code == 0, ran.output
    own = tmp_path / "ws" / "mine"
    own.mkdir(parents=True)
    (own / "mine.sql").write_text(
        HEADER.replace("id: q", "id: my-query") + "SELECT count(*) AS n FROM cloudtrail_logs WHERE {{window}}"
    )
    (tmp_path / "ws" / "trailsql.toml").write_text('library_paths = ["mine"]\n')
    mine = runner.invoke(
        cli,
        [
            "queries",
            "run",
            "my-query",
            "--workspace",
            str(tmp_path / "ws"),
            "--logs",
            str(seed_logs),
            "--since",
            "2025-02-12",
            "--until",
            "2025-02-13",
            "--format",
            "csv",
        ],
    )
    assert mine.exit_code == 0, mine.output
    assert mine.output.splitlines()[0] == '"n"' and int(mine.output.splitlines()[1].strip('"')) > 0
