"""The web console in a real browser: headless Chromium (Debian's) driven by Selenium.

One server (tests/serve_server.py) over the bundled samples plus a log file whose fields
hold hostile strings, one browser for the module. Expectations come from plain Python over
the logs. The screenshots in the README are taken here (docs/console-*.png).
"""

from __future__ import annotations

import collections
import csv
import gzip
import json
import os
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from serve_server import SAMPLES, TOKEN, Served, sample_events, start, stop

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import JavascriptException, NoSuchElementException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        shutil.which("chromium") is None or shutil.which("chromedriver") is None,
        reason="Debian's chromium and chromium-driver are not installed (make test installs them)",
    ),
    pytest.mark.xdist_group("browser"),
]

#: Where the screenshots go: ``TRAILSQL_SCREENSHOTS=docs`` refreshes the README's (docs/console-*.png).
SCREENSHOTS = os.environ.get("TRAILSQL_SCREENSHOTS")
HOSTILE = {
    "script": "<script>window.pwned=1</script>",
    "img": '<img src=x onerror="window.pwned=2">',
    "link": "javascript:window.pwned=3",
    "formula": '=HYPERLINK("http://evil.example","x")',
}
#: 100,000 rows, numbered 0..99,999 (Trino's sequence stops at 10,000 entries, hence the product).
HUNDRED_THOUSAND = (
    "SELECT a.x * 1000 + b.y AS n FROM UNNEST(sequence(0, 99)) AS a (x) CROSS JOIN UNNEST(sequence(0, 999)) AS b (y)"
)
SLOW = "SELECT count(*) FROM cloudtrail_logs a, cloudtrail_logs b, cloudtrail_logs c WHERE a.eventid < b.eventid"


def hostile_logs(root: Path) -> Path:
    """The samples, and one log file more whose event fields hold :data:`HOSTILE`."""
    logs = root / "logs"
    shutil.copytree(SAMPLES, logs / "AWSLogs")
    folder = logs / "AWSLogs" / "999999999999" / "CloudTrail" / "us-east-1" / "2023" / "07" / "10"
    folder.mkdir(parents=True)
    records = [
        {
            "eventVersion": "1.08",
            "eventTime": "2023-07-10T12:00:00Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": f"Hostile{name.title()}",
            "awsRegion": "us-east-1",
            "sourceIPAddress": value,
            "userAgent": value,
            "eventID": f"hostile-{name}",
            "userIdentity": {"type": "IAMUser", "arn": value},
            "recipientAccountId": "999999999999",
        }
        for name, value in HOSTILE.items()
    ]
    with gzip.open(folder / "999999999999_CloudTrail_us-east-1_20230710T1200Z_hostile.json.gz", "wt") as out:
        json.dump({"Records": records}, out)
    return logs


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("console")
    server = start(root / "ws", hostile_logs(root))
    yield server
    code = stop(server)
    assert code == 0, server.stderr


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(served: Served, downloads: Path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(0)
    driver.get(f"{served.url}/?token={TOKEN}")
    until(lambda: driver.execute_script("return !!window.trailsqlEditor"), "the editor never loaded")
    yield driver
    driver.quit()


def until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """``condition()``'s first truthy value, polled; fails saying ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except (NoSuchElementException, JavascriptException):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def type_sql(driver: Any, sql: str) -> None:
    driver.execute_script(
        "const view = window.trailsqlEditor;"
        "view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: arguments[0]}});"
        "view.dispatch({selection: {anchor: 0}});",
        sql,
    )


def run(driver: Any, sql: str, done: bool = True) -> None:
    type_sql(driver, sql)
    driver.find_element(By.ID, "run").click()
    if done:
        until(lambda: not driver.find_element(By.ID, "cancel").is_displayed(), f"{sql} did not finish", 60)


def grid(driver: Any) -> list[list[str]]:
    """The grid's visible rows as text."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#grid tbody tr')].map(r => [...r.querySelectorAll('td')].map(c => c.textContent))"
    )
    return rows  # type: ignore[no-any-return]


def headers(driver: Any) -> list[str]:
    return driver.execute_script(  # type: ignore[no-any-return]
        "return [...document.querySelectorAll('#grid th[data-column]')].map(h => h.dataset.column)"
    )


def test_a_query_shows_the_right_rows_and_sorts(browser: Any, shots: Path) -> None:
    events = list(sample_events())
    counts = collections.Counter(e["eventSource"] for e in events)
    run(browser, "SELECT eventsource, count(*) AS n FROM cloudtrail_logs WHERE account <> '999999999999' GROUP BY 1")
    until(lambda: grid(browser), "no rows shown")
    assert headers(browser) == ["eventsource", "n"]
    assert {r[0]: int(r[1]) for r in grid(browser)} == dict(counts)
    browser.find_element(By.CSS_SELECTOR, "#grid th[data-column='n']").click()
    until(lambda: [int(r[1]) for r in grid(browser)] == sorted(counts.values()), "not sorted ascending")
    browser.find_element(By.CSS_SELECTOR, "#grid th[data-column='n']").click()
    until(lambda: [int(r[1]) for r in grid(browser)] == sorted(counts.values(), reverse=True), "not sorted descending")
    stats = browser.find_element(By.ID, "stats").text  # (the other account's folder is pruned: the samples only)
    assert f"{len(events):,} from the logs" in stats and "scanned" in stats
    browser.save_screenshot(str(shots / "console-editor.png"))


def test_100000_rows_page_through_and_download(browser: Any, downloads: Path) -> None:
    run(browser, HUNDRED_THOUSAND)
    until(
        lambda: (
            "100,000" in browser.find_element(By.ID, "page-info").text
            or "100000" in browser.find_element(By.ID, "page-info").text
        ),
        "no count of 100000 rows",
    )
    first = {int(r[0]) for r in grid(browser)}
    browser.find_element(By.ID, "next").click()
    until(
        lambda: {int(r[0]) for r in grid(browser)} and {int(r[0]) for r in grid(browser)}.isdisjoint(first),
        "next page not shown",
    )
    browser.find_element(By.ID, "download-csv").click()
    path = until(lambda: next((p for p in downloads.glob("*.csv") if p.stat().st_size > 500_000), None), "no CSV", 60)
    until(lambda: not list(downloads.glob("*.crdownload")), "download unfinished")
    with path.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["n"] and sorted(int(r[0]) for r in rows[1:]) == list(range(100_000))


def test_a_syntax_error_is_shown_at_its_position(browser: Any) -> None:
    run(browser, "SELECT eventname\nFROM cloudtrail_logs WHERE WHERE", done=False)
    until(lambda: browser.find_element(By.ID, "error").text, "no error shown")
    assert "2" in browser.find_element(By.ID, "error").text  # line 2
    marked = until(lambda: browser.find_elements(By.CSS_SELECTOR, ".cm-lintRange-error, .cm-error-mark"), "not marked")
    assert marked


def test_a_slow_query_is_cancelled(browser: Any, served: Served) -> None:
    run(browser, SLOW, done=False)
    until(lambda: browser.find_element(By.ID, "cancel").is_displayed(), "no cancel button while running")
    time.sleep(1.0)
    browser.find_element(By.ID, "cancel").click()
    until(lambda: not browser.find_element(By.ID, "cancel").is_displayed(), "still running after cancel", 30)
    client = served.client()
    latest = client.list_query_executions(MaxResults=1)["QueryExecutionIds"][0]
    assert client.get_query_execution(QueryExecutionId=latest)["QueryExecution"]["Status"]["State"] == "CANCELLED"


def test_hostile_values_show_as_text(browser: Any) -> None:
    run(
        browser,
        "SELECT eventname, sourceipaddress, useridentity FROM cloudtrail_logs WHERE account = '999999999999' ORDER BY 1",
    )
    until(lambda: len(grid(browser)) == len(HOSTILE), "hostile rows not shown")
    shown = {r[1] for r in grid(browser)}
    assert shown == set(HOSTILE.values())
    assert browser.execute_script("return window.pwned === undefined")
    assert (
        browser.execute_script(
            "return document.querySelectorAll('#grid img, #grid script, #grid a[href^=javascript]').length"
        )
        == 0
    )


def test_a_shared_link_opens_and_runs(browser: Any, served: Served) -> None:
    sql = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC"
    browser.get(f"{served.url}/?sql={urllib.parse.quote(sql)}&run=1")
    until(lambda: grid(browser), "the link did not run")
    counts = collections.Counter(e["eventName"] for e in sample_events())
    counts.update(f"Hostile{name.title()}" for name in HOSTILE)
    assert int(grid(browser)[0][1]) == max(counts.values())


def test_a_library_query_runs_with_its_parameters(browser: Any, served: Served) -> None:
    browser.get(f"{served.url}/queries/console-logins?since=3650d")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#grid th[data-column]"), "the library query did not run", 60)
    logins = [e for e in sample_events() if e["eventName"] == "ConsoleLogin"]
    assert len(grid(browser)) == len(logins)


def test_the_findings_page_links_to_the_evidence(browser: Any, served: Served, shots: Path) -> None:
    browser.get(f"{served.url}/findings?since=2023-07-01&until=2023-08-01")
    findings = until(lambda: browser.find_elements(By.CSS_SELECTOR, ".finding"), "no finding shown", 90)
    expected = served_findings(served)
    assert len(findings) == len(expected)
    assert browser.find_elements(By.CSS_SELECTOR, "#findings-overview figure[data-chart]")
    browser.save_screenshot(str(shots / "console-findings.png"))
    first = expected[0]
    link = browser.find_element(By.CSS_SELECTOR, ".finding a.evidence")
    link.click()
    until(lambda: headers(browser), "the evidence did not run", 60)
    column = headers(browser).index("eventid")
    shown = sorted(row[column] for row in grid(browser))
    assert shown == sorted(first["event_ids"])


def served_findings(served: Served) -> list[dict[str, Any]]:
    """The findings the console's API gives for the window, read with a signed-in plain client."""
    import http.cookiejar
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{served.url}/?token={TOKEN}").read()
    with opener.open(f"{served.url}/console/api/findings?since=2023-07-01&until=2023-08-01") as answer:
        found: list[dict[str, Any]] = json.loads(answer.read())["findings"]
    return found
