"""The package installs and answers a query with its declared dependencies only (no extras).

``pip install .`` once failed every query because numpy, which DuckDB's Arrow UDFs import,
was not declared. This builds the wheel and the sdist as ``make dist`` does (one build per
run), installs each into a fresh venv (dependencies from PyPI, as a user gets them) and
runs ``trailsql`` there. Slow (about a minute each); skipped, saying why, only when PyPI
cannot be reached.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = [("ConsoleLogin", "signin.amazonaws.com")] * 3 + [("ListBuckets", "s3.amazonaws.com")] * 4


def pypi_reachable() -> str | None:
    """None if PyPI answers, else why not."""
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=15) as response:
            response.read(1)
    except OSError as error:
        return str(error)
    return None


def sample_logs(root: Path) -> list[dict[str, Any]]:
    """A day folder with one CloudTrail delivery file; its records."""
    records = [
        {
            "eventVersion": "1.08",
            "eventTime": f"2025-02-10T10:{i:02d}:00Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "eventID": f"00000000-0000-0000-0000-{i:012d}",
            "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        }
        for i, (name, source) in enumerate(EVENTS)
    ]
    day = root / "AWSLogs/123456789012/CloudTrail/us-east-1/2025/02/10"
    day.mkdir(parents=True)
    name = "123456789012_CloudTrail_us-east-1_20250210T1000Z_abc.json.gz"
    (day / name).write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return records


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, cwd=cwd)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and the sdist, built once for this module as ``make dist`` builds them."""
    unreachable = pypi_reachable()
    if unreachable:
        pytest.skip(f"PyPI cannot be reached ({unreachable}): the build backend and dependencies come from there")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


def installed(package: Path, tmp_path: Path) -> Path:
    """A fresh venv with ``package`` (a wheel or an sdist) installed; its bin folder."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", package)
    return venv / "bin"


def test_the_wheel_installs_without_extras_and_answers_a_query(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("trailsql-*.whl")
    bin_ = installed(wheel, tmp_path)
    listed = run(bin_ / "python", "-m", "pip", "list", "--format", "json")
    assert not {"pandas", "sqlalchemy"} & {p["name"].lower() for p in json.loads(listed)}  # no extras came along
    assert_answers_a_query(bin_ / "trailsql", tmp_path)


def test_the_sdist_installs_and_answers_a_query(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("trailsql-*.tar.gz")
    bin_ = installed(sdist, tmp_path)
    assert run(bin_ / "trailsql", "--version").strip() == "trailsql, version 0.1.0"  # pyproject's version
    assert_answers_a_query(bin_ / "trailsql", tmp_path)


def assert_answers_a_query(trailsql: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    records = sample_logs(logs)
    sql = "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 1"
    out = run(trailsql, "query", "--logs", logs, "--format", "json", sql, cwd=tmp_path)
    expected: dict[str, int] = {}
    for record in records:
        expected[record["eventName"]] = expected.get(record["eventName"], 0) + 1
    assert json.loads(out) == [{"eventname": k, "n": v} for k, v in sorted(expected.items())]
