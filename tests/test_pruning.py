"""Partition pruning: the predicate evaluator decides per partition, conservatively."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlglot import exp

from trailsql.sql.parse import parse_one
from trailsql.sql.pruning import Pruner, applicable_predicate

PARTITIONS = {"account", "region", "year", "month", "day"}


def pruner(where: str, names: tuple[str, ...] = ("cloudtrail_logs",)) -> Pruner:
    select = parse_one(f"SELECT 1 FROM cloudtrail_logs WHERE {where}")
    return Pruner(select.args["where"].this, PARTITIONS, set(names))


@pytest.mark.parametrize(
    ("where", "values", "expected"),
    [
        ("day = '12'", {"day": "12"}, True),
        ("day = '12'", {"day": "11"}, False),
        ("day <> '12'", {"day": "12"}, False),
        ("day IN ('01', '12')", {"day": "12"}, True),
        ("day IN ('01', '12')", {"day": "02"}, False),
        ("day NOT IN ('01', '12')", {"day": "12"}, False),
        ("day BETWEEN '06' AND '12'", {"day": "05"}, False),
        ("day BETWEEN '06' AND '12'", {"day": "06"}, True),
        ("day BETWEEN '06' AND '12'", {"day": "13"}, False),
        ("day > '10'", {"day": "10"}, False),
        ("day >= '10'", {"day": "10"}, True),
        ("day < '10'", {"day": "10"}, False),
        ("day <= '10'", {"day": "10"}, True),
        ("'10' < day", {"day": "11"}, True),
        ("(month = '01' AND day = '31') OR (month = '02' AND day = '01')", {"month": "02", "day": "01"}, True),
        ("(month = '01' AND day = '31') OR (month = '02' AND day = '01')", {"month": "02", "day": "31"}, False),
        ("NOT (day = '12')", {"day": "12"}, False),
        # Unknown parts keep the partition: a data column, a function, a subquery.
        ("day = '12' OR eventname = 'X'", {"day": "01"}, True),
        ("day = '12' AND eventname = 'X'", {"day": "01"}, False),
        ("lower(day) = '12'", {"day": "01"}, True),
        ("day IN (SELECT '12')", {"day": "01"}, True),
        # A partial assignment (folders not yet reached) never prunes on what it lacks.
        ("day = '12'", {"year": "2025"}, True),
        # Varchar compared with a number is not decided (Trino would not coerce).
        ("day = 12", {"day": "11"}, True),
        # Columns of another table are not ours.
        ("other.day = '12'", {"day": "11"}, True),
        ("cloudtrail_logs.day = '12'", {"day": "11"}, False),
        # Struct paths that end in a partition name are data, not partitions.
        ("useridentity.sessioncontext.day = '12'", {"day": "11"}, True),
    ],
)
def test_may_match(where: str, values: dict[str, str], expected: bool) -> None:
    assert pruner(where).may_match(values) is expected


def test_integer_partitions_compare_as_numbers() -> None:
    assert pruner("year BETWEEN 2020 AND 2024").may_match({"year": Decimal("2025")}) is False
    assert pruner("year BETWEEN 2020 AND 2024").may_match({"year": Decimal("2021")}) is True


def _table_refs(sql: str) -> dict[str, exp.Expr | None]:
    tree = parse_one(sql)
    return {t.alias_or_name: applicable_predicate(t) for t in tree.find_all(exp.Table)}


def test_outer_join_null_side_is_pruned_by_its_on_condition_only() -> None:
    preds = _table_refs(
        "SELECT 1 FROM a LEFT JOIN b ON a.x = b.x AND b.day = '01' WHERE b.day IS NULL AND a.day = '02'"
    )
    assert preds["a"] is not None and "'02'" in preds["a"].sql()
    assert preds["b"] is not None and "'01'" in preds["b"].sql() and "'02'" not in preds["b"].sql()


def test_right_and_full_joins_prune_nothing_they_may_null_extend() -> None:
    preds = _table_refs("SELECT 1 FROM a RIGHT JOIN b ON a.x = b.x WHERE a.day = '02'")
    assert preds["a"] is None and preds["b"] is None
    preds = _table_refs("SELECT 1 FROM a FULL JOIN b ON a.x = b.x WHERE b.day = '02'")
    assert preds["a"] is None and preds["b"] is None


def test_inner_join_uses_where_and_on() -> None:
    preds = _table_refs("SELECT 1 FROM a JOIN b ON a.x = b.x AND b.month = '01' WHERE b.day = '02'")
    text = preds["b"].sql() if preds["b"] is not None else ""
    assert "'01'" in text and "'02'" in text
