"""A statement's rows as Athena gives them: ColumnInfo, pages of ``VarCharValue``s, result files.

Values are written as Athena writes them (:func:`trailsql.output.athena_text`: timestamps
with milliseconds, ``{k=v}`` rows, ``[a, b]`` arrays, spaced hex for varbinary), the same
text in GetQueryResults, in ``<id>.csv`` and in ``<id>.txt``, since PyAthena and awswrangler
parse one or the other.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from trailsql import output

#: Type, precision and scale as Athena reports them (measured on Athena, PyAthena's tests).
_INTEGERS = {8: ("tinyint", 3, 0), 16: ("smallint", 5, 0), 32: ("integer", 10, 0), 64: ("bigint", 19, 0)}
MAX_RESULTS = 1000


def athena_type(kind: pa.DataType) -> tuple[str, int, int]:
    """The Athena type name, precision and scale of an Arrow type.

    >>> athena_type(pa.int64()), athena_type(pa.string()), athena_type(pa.decimal128(10, 2))
    (('bigint', 19, 0), ('varchar', 2147483647, 0), ('decimal', 10, 2))
    >>> athena_type(pa.timestamp("us", tz="UTC")), athena_type(pa.list_(pa.string()))
    (('timestamp with time zone', 3, 0), ('array', 0, 0))
    """
    if pa.types.is_boolean(kind):
        return "boolean", 0, 0
    if pa.types.is_integer(kind):
        return _INTEGERS[kind.bit_width]
    if pa.types.is_float32(kind):
        return "float", 17, 0
    if pa.types.is_floating(kind):
        return "double", 17, 0
    if pa.types.is_decimal(kind):
        return "decimal", kind.precision, kind.scale
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "varchar", 2147483647, 0
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "varbinary", 1073741824, 0
    if pa.types.is_date(kind):
        return "date", 0, 0
    if pa.types.is_timestamp(kind):
        return ("timestamp with time zone" if kind.tz else "timestamp"), 3, 0
    if pa.types.is_time(kind):
        return "time", 3, 0
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return "array", 0, 0
    if pa.types.is_map(kind):
        return "map", 0, 0
    if pa.types.is_struct(kind):
        return "row", 0, 0
    return "unknown", 0, 0


def column_info(schema: pa.Schema) -> list[dict[str, Any]]:
    """ResultSetMetadata.ColumnInfo, every member present (PyAthena reads each by key)."""
    columns = []
    for field in schema:
        name, precision, scale = athena_type(field.type)
        columns.append(
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": field.name,
                "Label": field.name,
                "Type": name,
                "Precision": precision,
                "Scale": scale,
                "Nullable": "UNKNOWN",
                "CaseSensitive": name in ("varchar", "char"),
            }
        )
    return columns


def _datum(text: str | None) -> dict[str, str]:
    """A value of GetQueryResults: NULL has no VarCharValue at all (``{}``), '' is ``""``."""
    return {} if text is None else {"VarCharValue": text}


def page(table: pa.Table, header: bool, offset: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """Rows ``offset`` to ``offset + limit`` of the result as Athena pages it, and the offset
    of the next page (None: the last). With ``header`` the first row of the first page holds
    the column names, and counts toward ``limit`` as on Athena."""
    rows: list[dict[str, Any]] = []
    start = offset
    if header and offset == 0:
        rows.append({"Data": [_datum(name) for name in table.column_names]})
        limit -= 1
    else:
        start -= int(header)
    piece = table.slice(start, max(limit, 0))
    texts = [output.texts(column) for column in piece.columns]
    rows += [{"Data": [_datum(t) for t in values]} for values in zip(*texts, strict=True)]
    following = offset + len(rows)
    return rows, (following if following < table.num_rows + int(header) else None)


def next_token(execution_id: str, offset: int) -> str:
    """An opaque NextToken: which execution it pages and where the next page starts."""
    return base64.urlsafe_b64encode(json.dumps([execution_id, offset]).encode()).decode()


def token_offset(execution_id: str, token: str) -> int | None:
    """The offset a NextToken of ``execution_id`` says, or None for a token that is not one."""
    try:
        given, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error):
        return None
    return offset if given == execution_id and isinstance(offset, int) and offset > 0 else None


def _lines(table: pa.Table, separator: str, field: Callable[[str | None], str]) -> Iterator[str]:
    """The rows as lines of Athena's result files, a batch at a time, each value by ``field``."""
    for batch in table.to_batches(output.BATCH_ROWS):
        texts = [output.texts(column) for column in batch.columns]
        for values in zip(*texts, strict=True):
            yield separator.join(field(v) for v in values)


def csv_lines(table: pa.Table, field: Callable[[str | None], str] = output.csv_field) -> Iterator[str]:
    """Athena's CSV, a line at a time: the header row, then the rows, every value by ``field``
    (Athena's quoting by default: every value quoted, NULL an empty field)."""
    yield ",".join(field(n) for n in table.column_names)
    yield from _lines(table, ",", field)


def write_csv(table: pa.Table, path: Path) -> None:
    """``<id>.csv``: :func:`csv_lines`, ``\\n`` after each line."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for line in csv_lines(table):
            out.write(line + "\n")


def _varint(number: int) -> bytes:
    """A protobuf varint.

    >>> _varint(1).hex(), _varint(300).hex()
    ('01', 'ac02')
    """
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _field(number: int, value: str | int | bytes) -> bytes:
    """One protobuf field: a string or message (wire type 2), or a varint (wire type 0)."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


#: ``Nullable`` as the metadata file's enum numbers it.
_NULLABLE = {"NOT_NULL": 1, "NULLABLE": 2, "UNKNOWN": 3}


def metadata(execution_id: str, columns: list[dict[str, Any]]) -> bytes:
    """``<id>.csv.metadata``: Athena's protobuf of the query id and its columns (field numbers
    as Athena's JDBC driver reads them: 1 the id; 4 a column with 1 catalog, 4 name, 5 label,
    6 type, 7 precision, 8 scale, 9 nullable, 10 case sensitive)."""
    out = _field(1, execution_id)
    for column in columns:
        message = _field(1, column["CatalogName"]) + _field(4, column["Name"]) + _field(5, column["Label"])
        message += _field(6, column["Type"]) + _field(7, column["Precision"]) + _field(8, column["Scale"])
        message += _field(9, _NULLABLE[column["Nullable"]]) + _field(10, int(column["CaseSensitive"]))
        out += _field(4, message)
    return out


def write_txt(table: pa.Table, path: Path) -> None:
    """``<id>.txt`` of DDL, SHOW and DESCRIBE: tab-separated, no header, no final newline."""
    text = "\n".join(_lines(table, "\t", lambda v: v or "")) if table.num_columns else ""
    path.write_text(text, encoding="utf-8")
