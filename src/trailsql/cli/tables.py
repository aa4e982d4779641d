"""``trailsql tables``: the workspace's tables as another engine declares them.

``tables ddl`` prints the ``CREATE EXTERNAL TABLE`` of each table, so that the table
``--engine athena`` queries in Athena is the one trailsql queries here: a table created by
DDL as it was written; the default ``cloudtrail_logs`` (over ``--logs``) as Athena's
CloudTrail table, with partition projection on the partitions trailsql reads from the
``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`` folders.
"""

from __future__ import annotations

import click

from trailsql.catalog.athena_ddl import athena_ddl
from trailsql.catalog.table import DEFAULT_TABLE, Table
from trailsql.catalog.workspace import find_workspace
from trailsql.errors import CatalogError
from trailsql.session import Session


@click.group()
def tables() -> None:
    """The workspace's tables."""


@tables.command("ddl")
@click.argument("name", required=False)
@click.option(
    "--for",
    "target",
    type=click.Choice(["athena"]),
    default="athena",
    show_default=True,
    help="The engine to create them in.",
)
@click.option("--logs", type=click.Path(), help="Logs root: the location of the default table cloudtrail_logs.")
@click.option("--workspace", type=click.Path(file_okay=False), help="Folder keeping tables and settings.")
@click.option("--location", metavar="S3URI", help="Where the default table's logs are in S3 (default: --logs).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID",
    help="An account the projection enumerates (repeatable; default: those of the local logs).",
)
def ddl(
    name: str | None,
    target: str,
    logs: str | None,
    workspace: str | None,
    location: str | None,
    accounts: tuple[str, ...],
) -> None:
    """Print the CREATE EXTERNAL TABLE of each table (or of NAME), to run in Athena."""
    folder, _ = find_workspace(workspace)
    with Session(logs, workspace=folder) as session:
        for table in _tables(session, name):
            if table.ddl is None and location is None and not table.location.startswith("s3://"):
                click.echo(
                    f"note: {table.name} reads local logs: edit its LOCATION, or give --location s3://...", err=True
                )
            text = athena_ddl(table, location, accounts)
            click.echo(text.strip().rstrip(";") + ";\n")


def _tables(session: Session, name: str | None) -> list[Table]:
    """The tables asked for: NAME, else every table of the workspace and the default one."""
    names = [name] if name is not None else sorted({*session.workspace.tables, DEFAULT_TABLE})
    found = [table for table in map(session.table, names) if table is not None]
    if name is not None and not found:
        raise CatalogError(f"TABLE_NOT_FOUND: Table '{name}' does not exist (give --logs for {DEFAULT_TABLE})")
    if not found:
        raise CatalogError(f"no table: give --logs for {DEFAULT_TABLE}, or a workspace with tables")
    return found
