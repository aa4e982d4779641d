"""Reports: the same findings in every format, and an HTML file that needs nothing else.

The HTML report is opened in headless Chromium (Debian's package, installed by the
project's Makefile) from a file:// URL with the network switched off, and its DOM read
back: it must show the findings and draw its charts with nothing fetched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_detections import DATA, technique_logs
from trailsql.alerts import shared_scan
from trailsql.alerts.report import build_report, render
from trailsql.cli.main import cli
from trailsql.errors import UsageError
from trailsql.library import load_library
from trailsql.session import Session

WINDOW = {"since": "2024-07-01", "until": "2024-08-10"}
TECHNIQUES = (
    "aws.defense-evasion.cloudtrail-stop",
    "aws.exfiltration.rds-share-snapshot",
    "aws.credential-access.ec2-get-password-data",
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return technique_logs(tmp_path_factory.mktemp("report") / "logs", TECHNIQUES)


@pytest.fixture(scope="module")
def rendered(logs: Path) -> dict[str, str]:
    library = load_library()
    queries = [q for q in library.values() if q.kind == "detection"] + [library["failed-api-calls"]]
    with Session(logs=logs) as session:
        report = build_report(session, queries, WINDOW)
    return {fmt: render(report, fmt) for fmt in ("html", "md", "json", "csv")}


def expected_events() -> int:
    return sum(len(json.loads((DATA / "stratus" / f"{t}.json").read_text())["Records"]) for t in TECHNIQUES)


def test_formats_carry_the_same_findings(rendered: dict[str, str], logs: Path) -> None:
    data = json.loads(rendered["json"])
    techniques = {f["technique"] for f in data["findings"]}
    assert techniques >= set(TECHNIQUES)
    assert data["events"] == expected_events()
    rows = list(csv.DictReader(io.StringIO(rendered["csv"])))
    assert [(r["query"], r["key"]) for r in rows] == [(f["query"], f["key"]) for f in data["findings"]]
    for f in data["findings"]:
        assert f["link"].startswith(f"trailsql queries run {f['query']} --logs {logs} --since 2024-07-01T00:00:00Z")
        assert f["query"] in rendered["md"]
    # A hunt's rows are in the report too (failed calls of the three files).
    hunt = next(q for q in data["queries"] if q["id"] == "failed-api-calls")
    failed = sum(
        1
        for t in TECHNIQUES
        for r in json.loads((DATA / "stratus" / f"{t}.json").read_text())["Records"]
        if r.get("errorCode")
    )
    assert failed > 0 and len(hunt["rows"]) == failed


def test_html_is_one_self_contained_file(rendered: dict[str, str]) -> None:
    html = rendered["html"]
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") == 4  # the timeline, events per hour, top principals, errors by code


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (make installs it)")
def test_html_report_renders_in_headless_chromium(rendered: dict[str, str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(rendered["html"], encoding="utf-8")
    flags = [
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--proxy-server=127.0.0.1:9",
        "--virtual-time-budget=2000",
    ]
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert dom.count("<svg") == 4 and dom.count("<rect") > 10
    assert "StopLogging" in dom and "rds-share-snapshot" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", *flags, "--window-size=1100,1200", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_cli_report_writes_the_file(logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--logs",
            str(logs),
            "--since",
            WINDOW["since"],
            "--until",
            WINDOW["until"],
            "--format",
            "md",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "findings over" in result.stderr and "cloudtrail-tampering" in out.read_text()
    unknown = CliRunner().invoke(cli, ["report", "--logs", str(logs), "--queries", "nope"])
    assert isinstance(unknown.exception, UsageError) and unknown.exception.exit_code == 2
    assert "no query 'nope'" in str(unknown.exception)


def test_charts_count_by_hour_or_by_day_over_long_windows() -> None:
    import datetime as dt

    from trailsql.alerts.report import Report
    from trailsql.library.window import Window

    short = Report(Window.parse("2025-02-10", "2025-02-12"), dt.datetime.now(dt.UTC), [])
    hours = short.hourly({"2025-02-10T05": 3, "2025-02-11T23": 1})
    assert len(hours) == 48 and hours[5] == ("2025-02-10T05", 3) and hours[-1] == ("2025-02-11T23", 1)
    long = Report(Window.parse("2025-01-01", "2025-02-10"), dt.datetime.now(dt.UTC), [])
    days = long.hourly({"2025-01-03T05": 3, "2025-01-03T07": 2})
    assert len(days) == 40 and days[2] == ("2025-01-03", 5) and sum(n for _, n in days) == 5


def test_the_report_leads_with_what_needs_action(rendered: dict[str, str]) -> None:
    """Critical and high findings come first, each with its one-sentence reason."""
    findings = json.loads(rendered["json"])["findings"]
    urgent = [f for f in findings if f["severity"] in ("critical", "high")]
    assert urgent and all(f["summary"] for f in urgent)
    md = rendered["md"]
    first_section = md.index("## ")
    assert md[first_section:].startswith("## Needs action")
    section = md[first_section : md.index("\n## ", first_section + 1)]
    assert section.count("\n- **") == min(len(urgent), 20)
    assert "<h2>Needs action" in rendered["html"]
    assert rendered["html"].index("<h2>Needs action") < rendered["html"].index("<h2>Overview")


def test_one_shared_scan_gives_the_report_each_query_alone_gives(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report reads the window once (a scratch lake) and must say exactly what running
    each query over the logs says (issue 13, item 7)."""
    library = load_library()
    queries = [q for q in library.values() if q.kind == "detection"] + [library["failed-api-calls"]]
    now = dt.datetime(2024, 9, 1, tzinfo=dt.UTC)
    with Session(logs=logs) as session:
        shared = build_report(session, queries, WINDOW, now)
    assert sum(r.result.stats.events_from_lake for r in shared.runs if r.result) > 0  # it did read the lake
    monkeypatch.setattr(shared_scan, "MIN_QUERIES", 10**9)  # every query scans the logs itself
    with Session(logs=logs) as session:
        alone = build_report(session, queries, WINDOW, now)
    assert sum(r.result.stats.events_from_lake for r in alone.runs if r.result) == 0
    for mine, theirs in zip(shared.runs, alone.runs, strict=True):
        assert mine.error is None and theirs.error is None
        assert sorted(map(repr, mine.rows)) == sorted(map(repr, theirs.rows)), mine.query.id
    assert json.loads(render(shared, "json"))["findings"] == json.loads(render(alone, "json"))["findings"]
    assert shared.overview == alone.overview


@pytest.mark.xdist_group("spark")
def test_the_report_is_the_same_on_spark(logs: Path) -> None:
    """`trailsql report --engine spark` finds what the default engine finds, over every event."""
    pytest.importorskip("pyspark", reason="the Spark engine needs PySpark: pip install 'trailsql[spark]'")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 or later, and there is no java here")
    reports = {}
    window = ["--since", WINDOW["since"], "--until", WINDOW["until"]]
    for engine in ("duckdb", "spark"):
        ran = CliRunner().invoke(
            cli,
            ["report", "--engine", engine, "--logs", str(logs), "--format", "json", *window],
        )
        assert ran.exit_code == 0, ran.output
        reports[engine] = json.loads(ran.stdout)
    for report in reports.values():
        assert report["events"] == expected_events()
        assert {f["technique"] for f in report["findings"]} >= set(TECHNIQUES)
    findings = {e: [(f["query"], f["key"], f["technique"]) for f in r["findings"]] for e, r in reports.items()}
    assert findings["spark"] == findings["duckdb"]
