"""The reference workload: the Athena table and security queries of ``seed.sql``.

``seed.sql`` is the workload trailsql must run verbatim: the ``CREATE EXTERNAL TABLE``
with partition projection that AWS users write, and their daily security queries over
account 123456789012 in February 2025. :func:`retarget` points the queries at another
account and day (the demo's sample logs) by changing only the literals compared with
partition columns, so the queries are otherwise exactly the seed's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources

from dateutil.relativedelta import relativedelta
from sqlglot import exp

from trailsql.sql.parse import parse_one

#: The account and day the seed's queries look at.
SEED_ACCOUNT = "123456789012"
SEED_DAY = dt.date(2025, 2, 12)


@dataclass(frozen=True)
class SeedStatement:
    name: str
    description: str
    sql: str


def load_seed() -> list[SeedStatement]:
    """The seed's statements in order, each with its ``-- name:`` and description."""
    text = resources.files("trailsql").joinpath("seed.sql").read_text()
    statements = []
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        header, _, body = block.partition("\n")
        comments = [line[3:] for line in body.splitlines() if line.startswith("-- ")]
        sql = "\n".join(line for line in body.splitlines() if not line.startswith("--")).strip().rstrip(";")
        statements.append(SeedStatement(header.strip(), " ".join(comments), sql))
    return statements


def fill_daily_placeholders(sql: str, day: dt.date) -> str:
    """The scheduled check's ``{year}``, ``{month}``, ``{day}`` filled in for ``day``."""
    return sql.replace("{year}", f"{day:%Y}").replace("{month}", f"{day:%m}").replace("{day}", f"{day:%d}")


def retarget(sql: str, day: dt.date, account: str) -> str:
    """A seed query moved from the seed's account and day to ``account`` and ``day``.

    Literals compared with partition columns move by the same offsets they have from
    the seed's day (the previous month stays the previous month, a 7-day window stays
    7 days).
    """
    seed_prev_month = SEED_DAY - relativedelta(months=1)
    week_start = SEED_DAY - dt.timedelta(days=6)
    mapping = {
        ("account", SEED_ACCOUNT): account,
        ("year", f"{SEED_DAY:%Y}"): f"{day:%Y}",
        ("month", f"{SEED_DAY:%m}"): f"{day:%m}",
        ("month", f"{seed_prev_month:%m}"): f"{day - relativedelta(months=1):%m}",
        ("day", f"{SEED_DAY:%d}"): f"{day:%d}",
        ("day", f"{week_start:%d}"): f"{day - dt.timedelta(days=6):%d}",
    }
    tree = parse_one(fill_daily_placeholders(sql, SEED_DAY))

    def move(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.EQ, exp.Between)):
            column = node.this if isinstance(node, exp.Between) else node.left
            if isinstance(column, exp.Column):
                for literal in node.find_all(exp.Literal):
                    new = mapping.get((column.name.lower(), literal.this))
                    if new is not None and literal.is_string:
                        literal.replace(exp.Literal.string(new))
        return node

    return tree.transform(move).sql("athena", pretty=True)
