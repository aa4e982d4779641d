"""The main job on the bundled sample: the seed's security queries over real CloudTrail logs,
then a report of what the library's detections find there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from trailsql.alerts.report import Report, build_report
from trailsql.library import load_library
from trailsql.seed import load_seed, retarget
from trailsql.session import Result, Session

#: The bundled sample: real logs of one account on one day (see samples/NOTICE).
SAMPLE_ACCOUNT = "218007301253"
SAMPLE_DAY = dt.date(2023, 7, 10)


def samples_root() -> Path:
    return Path(str(resources.files("trailsql").joinpath("samples")))


@dataclass
class DemoStep:
    name: str
    description: str
    sql: str
    result: Result


def run_demo(logs: Path | None = None) -> Iterator[DemoStep]:
    """Each seed query, moved to the sample's account and day, with its result."""
    session = Session(logs=logs or samples_root())
    try:
        for statement in load_seed():
            if statement.sql.upper().startswith("CREATE"):
                continue
            sql = retarget(statement.sql, SAMPLE_DAY, SAMPLE_ACCOUNT)
            yield DemoStep(statement.name, statement.description, sql, session.execute(sql))
    finally:
        session.close()


def demo_report(logs: Path | None = None) -> Report:
    """Every detection of the library over the sample's day."""
    detections = [q for q in load_library().values() if q.kind == "detection"]
    window = {"since": SAMPLE_DAY.isoformat(), "until": (SAMPLE_DAY + dt.timedelta(days=1)).isoformat()}
    with Session(logs=logs or samples_root()) as session:
        return build_report(session, detections, window)
