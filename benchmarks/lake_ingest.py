"""Lake ingest speed and memory: ``python benchmarks/lake_ingest.py`` (not part of the tests).

    BENCH_EVENTS=1000000 (default)   events to generate (cached under benchmarks/data/)

Runs ``trailsql ingest`` into an empty workspace in a child process, samples the child's
RSS (with its DuckDB threads) every 50 ms with psutil, and prints events/s and peak RSS;
the figures are written as JSON under ``benchmarks/results/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from trailsql.generate import GenerateOptions, generate

HERE = Path(__file__).parent


def measure(logs: Path, workspace: Path) -> dict[str, object]:
    """Ingest ``logs`` in a child process: seconds, peak RSS in MB."""
    code = "import sys; from trailsql.cli.main import main; sys.argv[0] = 'trailsql'; main()"
    args = [sys.executable, "-c", code, "ingest", "--workspace", str(workspace), "--logs", str(logs)]
    started = time.perf_counter()
    child = psutil.Popen(args, stderr=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, child.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    summary = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"ingest failed: {summary}")
    return {"seconds": round(elapsed, 2), "peak_rss_mb": round(peak / 2**20, 1), "summary": summary.strip()}


def main() -> None:
    events = int(os.environ.get("BENCH_EVENTS", "1000000"))
    logs = HERE / "data" / f"lake-{events}"
    if not (logs / "AWSLogs").exists():
        generate(logs, GenerateOptions(events=events))
    workspace = Path(tempfile.mkdtemp(prefix="trailsql-lake-bench-"))
    try:
        result = measure(logs, workspace)
    finally:
        shutil.rmtree(workspace)
    result["events"] = events
    seconds = result["seconds"]
    result["events_per_s"] = round(events / seconds) if isinstance(seconds, float) and seconds else 0
    result["cpus"] = os.cpu_count() or 0
    result["machine"] = platform.platform()
    print(json.dumps(result, indent=2))
    out = HERE / "results" / f"{dt.date.today()}-lake-ingest-{events}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
