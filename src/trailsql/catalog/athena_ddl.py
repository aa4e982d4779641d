"""The ``CREATE EXTERNAL TABLE`` Athena would need for a table trailsql reads.

A table created by DDL is its DDL as written; the default ``cloudtrail_logs`` (over
``--logs``) is Athena's CloudTrail table, with partition projection on the partitions
trailsql reads from the ``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`` folders.
``trailsql tables ddl`` prints it; the console shows it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trailsql import schema
from trailsql.catalog.table import Table
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


def athena_ddl(table: Table, location: str | None = None, accounts: tuple[str, ...] = ()) -> str:
    """The DDL of ``table`` in Athena: its own, else the CloudTrail table over its logs."""
    return table.ddl if table.ddl is not None else _default_ddl(table, location, accounts)


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
