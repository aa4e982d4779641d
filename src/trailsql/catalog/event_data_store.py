"""A CloudTrail Lake-shaped view over the same logs.

CloudTrail Lake stopped taking new customers on 2026-05-31; its users hold queries written
against an event data store, whose schema differs from Athena's CloudTrail table:
``eventTime`` is a timestamp, ``readOnly`` and ``managementEvent`` are booleans,
``requestParameters``, ``responseElements``, ``additionalEventData`` and
``serviceEventDetails`` are ``MAP(varchar, varchar)`` (nested values as JSON text, read
with ``element_at``), and ``eventJson`` holds the whole event. This view gives that
schema over the default table, so that such a query runs once its ``FROM <event data
store id>`` names the view: trailsql answers to the name ``cloudtrail_lake`` and to
every id given with ``--event-data-store`` (kept in the workspace).
"""

from __future__ import annotations

import re

from trailsql import schema
from trailsql.catalog.table import DEFAULT_TABLE

#: The name the Lake-shaped view always answers to.
VIEW_NAME = "cloudtrail_lake"

_MAPS = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")
_BOOLEANS = ("readOnly", "managementEvent", "sessionCredentialFromConsole")


def _column(name: str) -> str:
    if name == "eventTime":
        return "CAST(TRY_CAST(eventtime AS TIMESTAMP WITH TIME ZONE) AS TIMESTAMP) AS eventTime"
    if name in _MAPS:
        return f"trailsql_lake_map({name}) AS {name}"
    if name in _BOOLEANS:
        return f"TRY_CAST({name} AS BOOLEAN) AS {name}"
    return f"{name}"


def view_sql() -> str:
    """The view's query, in Athena SQL over the default table."""
    columns = [_column(name) for name, _ in schema.EVENT.fields]
    columns.append(f'"{schema.RECORD_COLUMN}" AS eventJson')
    # Lake's annotation is set only on events sent by integrations; CloudTrail's own have none.
    columns.append("CAST(NULL AS VARCHAR) AS annotation")
    return f"SELECT {', '.join(columns)} FROM {DEFAULT_TABLE}"


def quote_store_ids(sql: str, ids: list[str]) -> str:
    """Event data store ids as quoted identifiers, since ids with hyphens do not parse bare.

    >>> quote_store_ids("SELECT * FROM a1b2-c3 WHERE x = 'a1b2-c3'", ["a1b2-c3"])
    'SELECT * FROM "a1b2-c3" WHERE x = \\'a1b2-c3\\''
    """
    for store in sorted(ids, key=len, reverse=True):
        pattern = re.compile(r"""('(?:[^']|'')*')|(?<![\w"-])""" + re.escape(store) + r"""(?![\w"-])""")
        quoted = f'"{store}"'
        sql = pattern.sub(lambda m, q=quoted: m.group(1) or q, sql)  # type: ignore[misc]
    return sql
