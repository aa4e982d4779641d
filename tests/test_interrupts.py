"""Interrupts and races (issue 13, item 6): Ctrl-C cancels the query and exits 130 with one
line; a reader that goes away (``| head -1``) ends the command quietly with 0; a log file
that disappears between listing and reading is skipped and named like any bad file."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import log_folder, write_log

from trailsql.session import Session
from trailsql.sql.parse import parse_one

CLI = str(Path(sys.executable).with_name("trailsql"))
#: Hours of hashing in a little memory: only an interrupt ends it.
RUNAWAY = (
    "SELECT count(DISTINCT x * 100000000 + y * 10000 + z) FROM UNNEST(sequence(1, 10000)) AS a(x) "
    "CROSS JOIN UNNEST(sequence(1, 10000)) AS b(y) CROSS JOIN UNNEST(sequence(1, 100)) AS c(z)"
)


def _records(n: int) -> list[dict[str, object]]:
    return [
        {"eventVersion": "1.08", "eventTime": "2025-02-12T10:00:00Z", "eventName": "E", "eventID": str(i)}
        for i in range(n)
    ]


def test_ctrl_c_cancels_the_query_and_exits_130_with_one_line(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [CLI, "query", "--workspace", str(tmp_path / "ws"), "--memory-limit", "1GB", RUNAWAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # The query runs once the CLI has imported (over 2 s on a busy machine): SIGINT before that is no test.
    started = time.monotonic()
    subprocess.run([CLI, "--version"], capture_output=True, check=True)
    time.sleep(max(3.0, 2 * (time.monotonic() - started) + 1))
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = child.communicate(timeout=60)
    assert (child.returncode, err, out) == (130, "interrupted\n", "")
    assert time.monotonic() - sent < 30  # cancelled, not run to its end (hours)


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    folder = log_folder(tmp_path / "logs", "123456789012", "us-east-1", dt.date(2025, 2, 12))
    write_log(folder, "a.json.gz", _records(50_000))
    child = subprocess.Popen(
        [CLI, "query", "--logs", str(tmp_path / "logs"), "--format", "csv", "SELECT eventid FROM cloudtrail_logs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline() == b'"eventid"\n'
    child.stdout.close()  # as `| head -1` does
    err = child.stderr.read()
    assert (child.wait(timeout=60), err) == (0, b"")


def test_a_file_that_vanishes_after_the_listing_is_skipped_and_named(tmp_path: Path) -> None:
    folder = log_folder(tmp_path / "logs", "123456789012", "us-east-1", dt.date(2025, 2, 12))
    write_log(folder, "kept.json.gz", _records(7))
    gone = write_log(folder, "gone.json.gz", _records(5))
    with Session(logs=tmp_path / "logs") as session:
        plan = session.plan(parse_one("SELECT count(*) AS n FROM cloudtrail_logs"))
        listed = session.list_files(plan)
        gone.unlink()  # after the listing, before the read
        table, stats = session.engine.run(plan, listed.inputs)
    assert table.to_pylist() == [{"n": 7}]
    assert [Path(s.path).name for s in stats.skipped] == ["gone.json.gz"]
