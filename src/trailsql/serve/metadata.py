"""The workspace's tables and views as Athena's catalog operations describe them.

SQLAlchemy's reflection (PyAthena's dialect), BI tools and the console read these: column
types in Hive's spelling (``string``, ``bigint``, ``struct<arn:string>``), partition keys
apart from columns, tables as ``EXTERNAL_TABLE`` and views as ``VIRTUAL_VIEW``.
"""

from __future__ import annotations

import fnmatch
import time
from typing import Any

import pyarrow as pa

from trailsql import schema
from trailsql.catalog.table import Table
from trailsql.session import Session

_HIVE_INTEGERS = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint"}


def hive_type(kind: pa.DataType) -> str:
    """An Arrow type in Hive's spelling, as Glue keeps a view's columns.

    >>> hive_type(pa.struct([("ARN", pa.string()), ("n", pa.list_(pa.int32()))]))
    'struct<arn:string,n:array<int>>'
    """
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return _HIVE_INTEGERS[kind.bit_width]
    if pa.types.is_float32(kind):
        return "float"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "binary"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"array<{hive_type(kind.value_type)}>"
    if pa.types.is_map(kind):
        return f"map<{hive_type(kind.key_type)},{hive_type(kind.item_type)}>"
    if pa.types.is_struct(kind):
        return "struct<" + ",".join(f"{f.name.lower()}:{hive_type(f.type)}" for f in kind) + ">"
    return "string"


def database(name: str) -> dict[str, Any]:
    return {"Name": name, "Description": "the tables and views of the trailsql workspace", "Parameters": {}}


def matching(names: list[str], expression: str | None) -> list[str]:
    """Names a ListTableMetadata ``Expression`` keeps (Glue's ``*`` patterns, ``|`` between them).

    >>> matching(["cloudtrail_logs", "vpc_flow", "cloudtrail_lake"], "cloudtrail*")
    ['cloudtrail_logs', 'cloudtrail_lake']
    """
    if not expression:
        return names
    patterns = [p.strip().lower() for p in expression.split("|")]
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def _table_parameters(table: Table) -> dict[str, str]:
    parameters = {
        "EXTERNAL": "TRUE",
        "classification": "cloudtrail",
        "location": table.location,
        "inputformat": table.input_format or "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
        "outputformat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "serde.serialization.lib": table.serde or "org.apache.hive.hcatalog.data.JsonSerDe",
        **{f"serde.param.{k}": v for k, v in table.serde_properties.items()},
        **table.properties,
    }
    return {k: str(v) for k, v in parameters.items()}


def table_metadata(session: Session, name: str) -> dict[str, Any]:
    """GetTableMetadata's ``TableMetadata`` of a table or view the session knows."""
    now = time.time()
    table = session.table(name)
    if table is not None:
        return {
            "Name": name,
            "CreateTime": now,
            "LastAccessTime": now,
            "TableType": "EXTERNAL_TABLE",
            "Columns": [{"Name": n.lower(), "Type": schema.athena_type(t)} for n, t in table.columns],
            "PartitionKeys": [{"Name": n.lower(), "Type": t.lower()} for n, t in table.partitions],
            "Parameters": _table_parameters(table),
        }
    shape = session.execute(f'SELECT * FROM "{name}" LIMIT 0').table.schema
    return {
        "Name": name,
        "CreateTime": now,
        "LastAccessTime": now,
        "TableType": "VIRTUAL_VIEW",
        "Columns": [{"Name": f.name, "Type": hive_type(f.type)} for f in shape],
        "PartitionKeys": [],
        "Parameters": {"comment": "Presto View", "presto_view": "true"},
    }
