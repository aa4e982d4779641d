"""``trailsql tables``: the workspace's tables as another engine declares them.

``tables ddl`` prints the ``CREATE EXTERNAL TABLE`` of each table, so that the table
``--engine athena`` queries in Athena is the one trailsql queries here: a table created by
DDL as it was written; the default ``cloudtrail_logs`` (over ``--logs``) as Athena's
CloudTrail table, with partition projection on the partitions trailsql reads from the
``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`` folders.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from trailsql import schema
from trailsql.catalog.table import DEFAULT_TABLE, Table
from trailsql.catalog.workspace import find_workspace
from trailsql.errors import CatalogError
from trailsql.session import Session
from trailsql.sources.local import list_awslogs

#: The regions a projection over S3 enumerates, where no local logs say which hold logs.
AWS_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "sa-east-1",
]

#: The first year CloudTrail delivered logs: the start of the projected years.
FIRST_YEAR = 2013

#: Where the logs are in S3, when ``--logs`` is a local folder and no ``--location`` is given.
PLACEHOLDER_LOCATION = "s3://your-cloudtrail-bucket/AWSLogs/"


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
            text = table.ddl if table.ddl is not None else _default_ddl(table, location, accounts)
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


def _default_ddl(table: Table, location: str | None, accounts: tuple[str, ...]) -> str:
    """Athena's CloudTrail table (its documented SerDe and input format) over ``table``'s logs,
    with every column of :mod:`trailsql.schema` and the partitions projected.

    The projection enumerates accounts and regions: those given, else those the local logs
    hold, else (logs in S3) every region and a placeholder account to edit.
    """
    local = None if table.location.startswith("s3://") else Path(table.location)
    found = _partition_values(local) if local is not None else {}
    root = _awslogs_root(location or (table.location if local is None else PLACEHOLDER_LOCATION))
    columns = ",\n".join(f"    {column} {schema.athena_type(typ)}" for column, typ in table.columns)
    partitions = ",\n".join(f"    {column} {typ.lower()}" for column, typ in table.partitions)
    projection = {
        "projection.enabled": "true",
        "projection.account.type": "enum",
        "projection.account.values": ",".join(accounts or found.get("account") or ["123456789012"]),
        "projection.region.type": "enum",
        "projection.region.values": ",".join(found.get("region") or AWS_REGIONS),
        "projection.year.type": "integer",
        "projection.year.range": f"{FIRST_YEAR},{dt.date.today().year + 10}",
        "projection.month.type": "integer",
        "projection.month.range": "1,12",
        "projection.month.digits": "2",
        "projection.day.type": "integer",
        "projection.day.range": "1,31",
        "projection.day.digits": "2",
        "storage.location.template": root + "${account}/CloudTrail/${region}/${year}/${month}/${day}/",
    }
    properties = ",\n".join(f"    '{key}' = '{value}'" for key, value in projection.items())
    return (
        f"CREATE EXTERNAL TABLE {table.name} (\n{columns}\n)\n"
        f"PARTITIONED BY (\n{partitions}\n)\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{root}'\n"
        f"TBLPROPERTIES (\n{properties}\n)"
    )


def _awslogs_root(location: str) -> str:
    """The ``AWSLogs/`` prefix of a location given as the bucket, its prefix or ``AWSLogs/`` itself.

    >>> _awslogs_root("s3://trail-bucket"), _awslogs_root("s3://b/org/AWSLogs/")
    ('s3://trail-bucket/AWSLogs/', 's3://b/org/AWSLogs/')
    """
    base = location.rstrip("/")
    return (base if base.endswith("/AWSLogs") else base + "/AWSLogs") + "/"


def _partition_values(root: Path) -> dict[str, list[str]]:
    """The accounts and regions the local logs under ``root`` hold (from their folders' names)."""
    values: dict[str, set[str]] = {"account": set(), "region": set()}
    for log in list_awslogs(root, lambda _: True).files:
        for column, value in log.partition:
            if column in values and value:
                values[column].add(value)
    return {column: sorted(found) for column, found in values.items()}
