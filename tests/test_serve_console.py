"""The web console's server side: sign-in, CSRF, headers, and its JSON API over a real server.

The browser suite drives the pages; these tests hold the API to expectations computed from
the sample logs with plain Python, and the security rules to their exact words.
"""

from __future__ import annotations

import collections
import csv
import http.cookiejar
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from serve_server import SAMPLES, TOKEN, Served, sample_events, serving


class Browser:
    """A cookie-keeping HTTP client that signs in as a browser does (no redirects followed)."""

    def __init__(self, served: Served) -> None:
        self.url = served.url
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, body: Any = None, csrf: bool = True) -> tuple[int, Message, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        token = next((c.value for c in self.jar if c.name == "trailsql_csrf"), None)
        if csrf and token is not None:
            request.add_header("X-CSRF-Token", token)
        try:
            with self.opener.open(request) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, _, data = self.request(method, path, body)
        assert status == 200, (status, data)
        return json.loads(data)

    def sign_in(self) -> None:
        status, headers, _ = self.request("GET", f"/?token={TOKEN}")
        assert status == 303 and headers["location"] == "/"

    def run(self, sql: str) -> dict[str, Any]:
        execution_id = self.json("POST", "/console/api/executions", {"sql": sql})["id"]
        deadline = time.monotonic() + 60
        while True:
            execution: dict[str, Any] = self.json("GET", f"/console/api/executions/{execution_id}")
            if execution["state"] not in ("QUEUED", "RUNNING"):
                return execution
            assert time.monotonic() < deadline
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serving(tmp_path_factory.mktemp("ws"))


@pytest.fixture
def browser(served: Served) -> Browser:
    found = Browser(served)
    found.sign_in()
    return found


def test_the_token_signs_in_once_and_the_cookies_are_strict(served: Served) -> None:
    anonymous = Browser(served)
    for path in ("/", "/queries/console-logins", "/console/api/catalog"):
        assert anonymous.request("GET", path)[0] == 401
    assert anonymous.request("GET", "/?token=wrong")[0] == 401
    status, headers, _ = anonymous.request("GET", f"/?token={TOKEN}&sql=SELECT%201&run=1")
    assert status == 303 and headers["location"] == "/?sql=SELECT%201&run=1"
    cookies = {c.split("=", 1)[0]: c for c in headers.get_all("set-cookie")}
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= set(cookies["trailsql_console"].split("; "))
    assert "SameSite=strict" in cookies["trailsql_csrf"] and "HttpOnly" not in cookies["trailsql_csrf"]
    status, headers, body = anonymous.request("GET", "/")
    assert status == 200 and b"<html" in body.lower()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_state_changing_requests_need_the_csrf_token(browser: Browser) -> None:
    status, _, body = browser.request("POST", "/console/api/executions", {"sql": "SELECT 1"}, csrf=False)
    assert status == 403 and b"CSRF" in body


def test_the_catalog_lists_columns_struct_fields_partitions_and_ddl(browser: Browser) -> None:
    tables = {t["name"]: t for t in browser.json("GET", "/console/api/catalog")["tables"]}
    logs = tables["cloudtrail_logs"]
    assert logs["kind"] == "table" and tables["cloudtrail_lake"]["kind"] == "view"
    columns = {c["name"]: c for c in logs["columns"]}
    assert "arn" in [f["name"] for f in columns["useridentity"]["fields"]]
    assert [p["name"] for p in logs["partitions"]] == ["account", "region", "year", "month", "day"]
    assert logs["ddl"].startswith("CREATE EXTERNAL TABLE cloudtrail_logs")


def test_a_query_runs_pages_sorts_and_downloads(browser: Browser) -> None:
    events = list(sample_events())
    execution = browser.run("SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1")
    assert execution["state"] == "SUCCEEDED" and execution["stats"]["bytes_scanned"] > 0
    counts = collections.Counter(e["eventName"] for e in events)
    assert execution["rows"] == len(counts)
    page = browser.json("GET", f"/console/api/executions/{execution['id']}/rows?offset=0&limit=5&sort=n&order=desc")
    assert page["total"] == len(counts) and [c["name"] for c in page["columns"]] == ["eventname", "n"]
    assert [r[1] for r in page["rows"]] == sorted(counts.values(), reverse=True)[:5]
    following = browser.json(
        "GET", f"/console/api/executions/{execution['id']}/rows?offset=5&limit=5&sort=n&order=desc"
    )
    assert following["offset"] == 5 and [r[1] for r in following["rows"]] == sorted(counts.values(), reverse=True)[5:10]
    status, headers, body = browser.request("GET", f"/console/api/executions/{execution['id']}/download?format=csv")
    assert status == 200 and "attachment" in headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["eventname", "n"] and {r[0]: int(r[1]) for r in rows[1:]} == dict(counts)
    as_json = browser.json("GET", f"/console/api/executions/{execution['id']}/download?format=json")
    assert {r["eventname"]: r["n"] for r in as_json} == dict(counts)


def test_downloads_carry_no_spreadsheet_formula_and_values_stay_data(browser: Browser) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    execution = browser.run(f"SELECT '=HYPERLINK(\"http://evil\")' AS f, '{hostile}' AS h, '@SUM(A1)' AS s")
    _, _, body = browser.request("GET", f"/console/api/executions/{execution['id']}/download?format=csv")
    assert (
        body.decode().splitlines()[1] == '"\'=HYPERLINK(""http://evil"")","<img src=x onerror=alert(1)>","\'@SUM(A1)"'
    )
    page = browser.json("GET", f"/console/api/executions/{execution['id']}/rows")
    assert page["rows"] == [['=HYPERLINK("http://evil")', hostile, "@SUM(A1)"]]


def test_errors_say_where_they_are(browser: Browser) -> None:
    status, _, body = browser.request("POST", "/console/api/executions", {"sql": "SELECT 1\nFROM WHERE"})
    error = json.loads(body)["error"]
    assert status == 400 and (error["line"], error["column"]) == (2, 6), error  # where WHERE starts
    failed = browser.run("SELECT * FROM no_such_table")
    assert failed["state"] == "FAILED" and failed["error"]["message"].startswith("TABLE_NOT_FOUND: ")
    refused = browser.run("SELECT * FROM read_text('/etc/passwd')")
    assert refused["state"] == "FAILED" and "not supported" in refused["error"]["message"]


def test_history_library_and_saving(browser: Browser, served: Served) -> None:
    browser.run("SELECT 'history marker' AS m")
    history = browser.json("GET", "/console/api/history?q=history%20marker")["executions"]
    assert history[0]["sql"] == "SELECT 'history marker' AS m" and history[0]["source"] == "console"
    queries = {q["id"]: q for q in browser.json("GET", "/console/api/library")["queries"]}
    logins = queries["console-logins"]
    assert logins["params"][0] == {"name": "since", "type": "duration", "default": logins["params"][0]["default"]}
    started = browser.json("POST", "/console/api/library/console-logins/run", {"params": {"since": "3650d"}})
    execution = {"state": "QUEUED"}
    deadline = time.monotonic() + 60
    while execution["state"] in ("QUEUED", "RUNNING"):
        assert time.monotonic() < deadline
        execution = browser.json("GET", f"/console/api/executions/{started['id']}")
        time.sleep(0.05)
    logins_seen = sum(e["eventName"] == "ConsoleLogin" for e in sample_events())
    assert execution["state"] == "SUCCEEDED", execution
    assert (execution["rows"] > 0) == (logins_seen > 0)
    saved = browser.json("POST", "/console/api/library", {"name": "My hunt", "sql": "SELECT 42 AS answer"})
    assert (served.workspace / "queries" / f"{saved['id']}.sql").exists()
    assert saved["id"] in {q["id"] for q in browser.json("GET", "/console/api/library")["queries"]}


def test_findings_are_the_detections_over_a_window_with_their_evidence(browser: Browser) -> None:
    answer = browser.json("GET", "/console/api/findings?since=2023-07-01&until=2023-08-01")
    assert answer["window"]["start"].startswith("2023-07-01")
    assert answer["findings"], "the samples hold attacks the library finds"
    finding = answer["findings"][0]
    assert {"detection", "title", "severity", "summary", "first_seen", "last_seen", "count", "evidence_sql"} <= set(
        finding
    )
    assert answer["overview"] and all(isinstance(n, int) for rows in answer["overview"].values() for _, n in rows)
    first_hours = collections.Counter(f["first_seen"][:13] for f in answer["findings"] if f["first_seen"])
    assert dict(answer["overview"]["findings_timeline"]) == dict(first_hours)
    evidence = browser.run(finding["evidence_sql"])
    assert evidence["state"] == "SUCCEEDED", evidence
    page = browser.json("GET", f"/console/api/executions/{evidence['id']}/rows?limit=1000")
    ids = [c["name"] for c in page["columns"]].index("eventid")
    assert sorted(r[ids] for r in page["rows"]) == sorted(finding["event_ids"])


def test_reports_and_alerts_link_to_the_console_with_a_public_url(tmp_path: Path) -> None:
    from trailsql.alerts.alert import message_for
    from trailsql.alerts.report import build_report, render_html
    from trailsql.library import load_library
    from trailsql.session import Session

    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "trailsql.toml").write_text('[serve]\npublic_url = "https://trailsql.example.com/"\n')
    detections = [q for q in load_library().values() if q.kind == "detection"]
    with Session(SAMPLES, workspace=workspace) as session:
        report = build_report(session, detections, {"since": "2023-07-01", "until": "2023-08-01"})
    finding = report.findings[0]
    expected = f"https://trailsql.example.com/queries/{finding.query_id}?since=2023-07-01T00%3A00%3A00Z&until=2023-08-01T00%3A00%3A00Z"
    assert finding.console == expected
    assert f'<a href="{expected.replace("&", "&amp;")}">open in the console</a>' in render_html(report)
    assert f"console: {expected}" in message_for(report.findings, report.window).text


def test_the_cli_against_the_workspace_is_in_the_history(browser: Browser, served: Served) -> None:
    import subprocess
    import sys

    trailsql = str(Path(sys.executable).parent / "trailsql")
    for sql in ("SELECT 'from the cli' AS m", "SELECT * FROM missing_from_the_cli"):
        subprocess.run([trailsql, "query", "--workspace", str(served.workspace), sql], capture_output=True, timeout=120)
    history = browser.json("GET", "/console/api/history?q=from_the_cli")["executions"]
    history += browser.json("GET", "/console/api/history?q=from%20the%20cli")["executions"]
    found = {e["sql"]: e for e in history}
    ok, failed = found["SELECT 'from the cli' AS m"], found["SELECT * FROM missing_from_the_cli"]
    assert (ok["source"], ok["state"], ok["rows"]) == ("cli", "SUCCEEDED", 1)
    assert (failed["source"], failed["state"]) == ("cli", "FAILED")
    assert browser.json("GET", f"/console/api/executions/{failed['id']}")["error"]["message"].startswith(
        "TABLE_NOT_FOUND"
    )


def test_the_committed_bundle_is_built_from_the_sources() -> None:
    """``make console`` records the hash of what it built from; a source edited without
    rebuilding (or a bundle edited by hand) fails here, with no Node needed."""
    import hashlib

    root = Path(__file__).resolve().parents[1] / "console"
    sources = [
        "package-lock.json",
        "package.json",
        *(f"{d}/{p.name}" for d in ("src", "scripts") for p in (root / d).iterdir()),
    ]
    digest = hashlib.sha256()
    for relative in sorted(sources):
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    built = Path(__file__).resolve().parents[1] / "src" / "trailsql" / "serve" / "console" / "SOURCES.sha256"
    assert built.read_text().strip() == digest.hexdigest(), "console/ changed since the bundle was built: make console"
