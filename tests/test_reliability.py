"""The README's reliability table states what the hardening tests try: this keeps it true.

Each ``tests/test_hardening_*.py`` module (and ``tests/test_lockdown.py``, the SQL surface of
``trailsql serve`` and ``--safe``) counts its cases in ``RELIABILITY`` (category ->
number of distinct cases, taken from the lists its tests are parametrized over). The table
between the README's ``reliability-table`` markers must list exactly those sums.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- reliability-table -->", "<!-- /reliability-table -->"


def measured() -> dict[str, tuple[int, list[str]]]:
    """Category -> (cases, the test modules that try them), from every hardening module."""
    counts: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for path in sorted([*(ROOT / "tests").glob("test_hardening_*.py"), ROOT / "tests" / "test_lockdown.py"]):
        module = importlib.import_module(path.stem)
        for category, n in module.RELIABILITY.items():
            counts[category] += n
            where.setdefault(category, []).append(f"`tests/{path.name}`")
    return {category: (counts[category], where[category]) for category in counts}


def table(rows: dict[str, tuple[int, list[str]]]) -> str:
    lines = ["| what is tried | cases | tests |", "|---|---:|---|"]
    lines += [f"| {c} | {n:,} | {', '.join(w)} |" for c, (n, w) in sorted(rows.items())]
    return "\n".join(lines)


def test_readme_lists_what_the_hardening_tests_try() -> None:
    rows = measured()
    assert rows, "no tests/test_hardening_*.py module defines RELIABILITY"
    assert all(n > 0 for n, _ in rows.values()), rows
    readme = (ROOT / "README.md").read_text()
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), readme, re.DOTALL)
    assert found, f"README.md has no {BEGIN} ... {END} block"
    expected = table(rows)
    assert found.group(1).strip() == expected, "README's reliability table is stale; it should read:\n" + expected
