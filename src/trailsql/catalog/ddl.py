"""Athena DDL: ``CREATE EXTERNAL TABLE`` statements turned into :class:`Table` objects."""

from __future__ import annotations

from sqlglot import exp

from trailsql import schema
from trailsql.catalog.table import Table
from trailsql.errors import NotSupportedError
from trailsql.schema import Array, HiveType, Map, Struct

_PRIMITIVES = {
    exp.DType.TEXT: "STRING",
    exp.DType.VARCHAR: "STRING",
    exp.DType.CHAR: "STRING",
    exp.DType.INT: "INT",
    exp.DType.TINYINT: "TINYINT",
    exp.DType.SMALLINT: "SMALLINT",
    exp.DType.BIGINT: "BIGINT",
    exp.DType.FLOAT: "FLOAT",
    exp.DType.DOUBLE: "DOUBLE",
    exp.DType.BOOLEAN: "BOOLEAN",
    exp.DType.TIMESTAMP: "TIMESTAMP",
    exp.DType.DATE: "DATE",
    exp.DType.BINARY: "BINARY",
}

# SerDes that read CloudTrail's JSON.
JSON_SERDES = (
    "org.apache.hive.hcatalog.data.JsonSerDe",
    "com.amazon.emr.hive.serde.CloudTrailSerde",
    "org.openx.data.jsonserde.JsonSerDe",
)

#: Hive's text SerDe (``ROW FORMAT DELIMITED``), for logs read beside CloudTrail such as VPC Flow Logs.
DELIMITED_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


def _unescape(delimiter: str) -> str:
    """Hive writes tabs and control characters escaped: ``'\\t'``, ``'\\001'``."""
    named = {"\\t": "\t", "\\n": "\n"}
    if delimiter in named:
        return named[delimiter]
    if delimiter.startswith("\\") and delimiter[1:].isdigit():
        return chr(int(delimiter[1:], 8))
    return delimiter


def hive_type(datatype: exp.DataType) -> HiveType:
    """Our type for a column type sqlglot parsed from Athena DDL."""
    kind = datatype.this
    if kind == exp.DType.STRUCT:
        fields = []
        for member in datatype.expressions:
            if not isinstance(member, exp.ColumnDef) or not isinstance(member.args.get("kind"), exp.DataType):
                raise NotSupportedError(f"struct member {member.sql('athena')}")
            fields.append((member.name, hive_type(member.args["kind"])))
        return Struct(tuple(fields))
    if kind == exp.DType.ARRAY:
        return Array(hive_type(datatype.expressions[0]))
    if kind == exp.DType.MAP:
        return Map(hive_type(datatype.expressions[0]), hive_type(datatype.expressions[1]))
    if kind == exp.DType.DECIMAL:
        return datatype.sql("athena").upper()
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    raise NotSupportedError(f"column type {datatype.sql('athena')}")


def _column_defs(node: exp.Expr | None) -> list[tuple[str, HiveType]]:
    if node is None:
        return []
    return [(col.name, hive_type(col.args["kind"])) for col in node.expressions if isinstance(col, exp.ColumnDef)]


def table_from_ddl(create: exp.Create, sql: str) -> Table:
    """The table a ``CREATE EXTERNAL TABLE`` statement declares."""
    target = create.this
    if not isinstance(target, exp.Schema) or not isinstance(target.this, exp.Table):
        raise NotSupportedError("CREATE TABLE without a column list")
    properties: dict[str, str] = {}
    serde = None
    serde_properties: dict[str, str] = {}
    input_format = None
    location = None
    partitions: list[tuple[str, HiveType]] = []
    for prop in create.args["properties"].expressions if create.args.get("properties") else []:
        if isinstance(prop, exp.PartitionedByProperty):
            partitions = _column_defs(prop.this)
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            serde = prop.this.name
            extra = prop.args.get("serde_properties")
            for item in extra.expressions if extra is not None else []:
                serde_properties[item.this.name.lower()] = item.args["value"].name
        elif isinstance(prop, exp.RowFormatDelimitedProperty):
            fields = prop.args.get("fields")
            serde = DELIMITED_SERDE
            serde_properties["field.delim"] = _unescape(fields.name) if fields is not None else "\x01"
        elif isinstance(prop, exp.FileFormatProperty) and isinstance(prop.this, exp.InputOutputFormat):
            input_format = prop.this.args["input_format"].name
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        elif isinstance(prop, exp.Property) and isinstance(prop.this, exp.Literal):
            properties[prop.this.name] = prop.args["value"].name
    if serde is not None and serde not in (*JSON_SERDES, DELIMITED_SERDE):
        raise NotSupportedError(f"ROW FORMAT SERDE '{serde}'")
    if location is None:
        raise NotSupportedError("CREATE EXTERNAL TABLE without LOCATION")
    columns = tuple(
        (name, schema.reconcile(typ, known[1] if (known := schema.EVENT.field(name)) else None))
        for name, typ in _column_defs(target)
    )
    return Table(
        name=target.this.name.lower(),
        columns=columns,
        partitions=tuple((name, typ if isinstance(typ, str) else "STRING") for name, typ in partitions),
        location=location,
        properties=properties,
        serde=serde,
        ddl=sql,
        input_format=input_format,
        serde_properties=serde_properties,
    )
