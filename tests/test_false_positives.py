"""The false-positive budget (issue 12, item 2): every detection over an ordinary day.

The day is ``trailsql generate --profile benign`` (docs/benign-background.md: a fleet of
instances behind shared NAT addresses, CI roles through OIDC, SSO users, IAM users with keys,
infrastructure as code, AWS services, routine errors; no attack technique), 200,000 events
over 24 hours in one account, for three seeds; read through the lake, as a daily report
would. Each detection's findings are printed (``pytest -s``); the total must stay within
:data:`BUDGET` and most detections must say nothing. The real benign logs of
tests/data/benign are held to zero by tests/test_detections.py, and the Stratus matrix and
the Panther agreement there hold at the same time: quiet is not allowed to mean blind.
"""

from __future__ import annotations

import pytest

from trailsql.library import load_library
from trailsql.library.findings import Finding
from trailsql.library.precision import ordinary_day_findings

SEEDS = (1, 2, 3)
EVENTS = 200_000
#: Findings allowed on one ordinary day of one account, all detections together.
BUDGET = 5
#: Of the detections, how many may say anything at all on that day.
NOISY = 2
DETECTIONS = [q for q in load_library().values() if q.kind == "detection"]


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def ordinary_day(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    """Each detection's findings over one generated ordinary day."""
    return ordinary_day_findings(tmp_path_factory.mktemp(f"benign{request.param}"), request.param, EVENTS)


def test_an_ordinary_day_stays_within_the_false_positive_budget(ordinary_day: dict[str, list[Finding]]) -> None:
    width = max(len(q.id) for q in DETECTIONS)
    print(f"\n{'detection':{width}}  findings on {EVENTS:,} benign events over 24 h")
    for query in sorted(DETECTIONS, key=lambda q: q.id):
        found = ordinary_day[query.id]
        print(f"{query.id:{width}}  {len(found)}" + "".join(f"\n{'':{width}}    {f.summary}" for f in found))
    total = sum(len(f) for f in ordinary_day.values())
    noisy = sorted(q for q, f in ordinary_day.items() if f)
    print(f"{'total':{width}}  {total} (budget {BUDGET}); detections with findings: {', '.join(noisy) or 'none'}")
    assert len(ordinary_day) == len(DETECTIONS)
    assert total <= BUDGET
    assert len(noisy) <= NOISY
