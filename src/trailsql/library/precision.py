"""How quiet the detections are on an ordinary day: each detection's false-positive figure.

An ordinary day is ``trailsql generate --profile benign`` (docs/benign-background.md): one
account's busy day with no attack in it, read through the lake as a daily report reads it.
Every finding there is a false positive. The tests hold the total to a budget; ``make bench``
prints it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trailsql import generate_benign
from trailsql.generate import GenerateOptions
from trailsql.lake.ingest import ingest
from trailsql.library import load_library
from trailsql.library.findings import Finding
from trailsql.library.run import run_queries
from trailsql.session import Session

#: A Tuesday: the benign day's working-hours peak is a weekday's.
ORDINARY_DAY = dt.date(2025, 2, 11)


def ordinary_day_findings(
    folder: Path, seed: int, events: int = 200_000, day: dt.date = ORDINARY_DAY
) -> dict[str, list[Finding]]:
    """Every detection's findings over a generated ordinary day written under ``folder``."""
    options = GenerateOptions(events=events, days=1, start=day, seed=seed, accounts=("123456789012",))
    written = generate_benign.generate(folder / "logs", options)
    if written != events:
        raise AssertionError(f"the benign generator wrote {written} events, not {events}")
    ingest(str(folder / "logs"), folder / "ws")
    window = {"since": f"{day}T00:00:00Z", "until": f"{day + dt.timedelta(days=1)}T00:00:00Z"}
    detections = [q for q in load_library().values() if q.kind == "detection"]
    with Session(logs=folder / "logs", workspace=folder / "ws") as session:
        runs = run_queries(session, detections, window)
    failed = [f"{r.query.id}: {r.error}" for r in runs if r.error]
    if failed:
        raise AssertionError(f"detections failed: {failed}")
    return {run.query.id: run.findings for run in runs}
