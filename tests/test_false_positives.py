"""The false-positive budget (issue 12, item 2): every detection over an ordinary day.

The day is ``trailsql generate --profile benign`` (docs/benign-background.md: a fleet of
instances behind shared NAT addresses, CI roles through OIDC, SSO users, IAM users with keys,
infrastructure as code, AWS services, routine errors; no attack technique), 200,000 events
over 24 hours in one account, for three seeds, read through the lake as a daily report
would; and the real logs of a Control Tower account (tests/data/benign). Each detection's findings are printed (``pytest -s``); the total must stay within
:data:`BUDGET` and most detections must say nothing. The Stratus matrix and the Panther
agreement of tests/test_detections.py hold at the same time: quiet must not mean blind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.test_detections import deliver

from trailsql.library import load_library
from trailsql.library.findings import Finding
from trailsql.library.precision import ordinary_day_findings
from trailsql.library.run import run_queries
from trailsql.session import Session

SEEDS = (1, 2, 3)
EVENTS = 200_000
#: Findings allowed on one ordinary day of one account, all detections together.
BUDGET = 5
#: Of the detections, how many may say anything at all on that day.
NOISY = 2
DETECTIONS = [q for q in load_library().values() if q.kind == "detection"]
#: A day of a real Control Tower account (Apache-2.0, see tests/data/benign/NOTICE).
REAL = Path(__file__).parent / "data" / "benign" / "zyNWSr_real_controltower_2022-01-03.json"


@pytest.fixture(scope="module", params=[*SEEDS, "real"], ids=[*(f"seed{s}" for s in SEEDS), "real-control-tower"])
def ordinary_day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    """Each detection's findings over one generated ordinary day, or over the real benign logs."""
    folder = tmp_path_factory.mktemp(f"benign-{request.param}")
    if request.param != "real":
        return ordinary_day_findings(folder, request.param, EVENTS)
    deliver(folder / "logs", json.loads(REAL.read_text())["Records"], "benign")
    with Session(logs=folder / "logs") as session:
        runs = run_queries(session, DETECTIONS, {"since": "2022-01-03", "until": "2022-01-04"})
    assert not [r.error for r in runs if r.error]
    return {run.query.id: run.findings for run in runs}


def test_an_ordinary_day_stays_within_the_false_positive_budget(ordinary_day: dict[str, list[Finding]]) -> None:
    width = max(len(q.id) for q in DETECTIONS)
    print(f"\n{'detection':{width}}  findings on an ordinary day (benign: every finding is a false positive)")
    for query in sorted(DETECTIONS, key=lambda q: q.id):
        found = ordinary_day[query.id]
        print(f"{query.id:{width}}  {len(found)}" + "".join(f"\n{'':{width}}    {f.summary}" for f in found))
    total = sum(len(f) for f in ordinary_day.values())
    noisy = sorted(q for q, f in ordinary_day.items() if f)
    print(f"{'total':{width}}  {total} (budget {BUDGET}); detections with findings: {', '.join(noisy) or 'none'}")
    assert len(ordinary_day) == len(DETECTIONS)
    assert total <= BUDGET
    assert len(noisy) <= NOISY
