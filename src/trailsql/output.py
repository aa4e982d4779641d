"""Results as people and machines read them: table, CSV, JSON and JSON lines.

Values print as Athena prints them: a timestamp with time zone as
``2025-01-15 14:23:45.000 UTC``, a ROW as ``{arn=..., type=...}``, an ARRAY as
``[a, b]``, a VARBINARY as its bytes in hex separated by spaces (``61 62``). JSON keeps
Infinity and NaN as Athena's strings (``"Infinity"``, ``"-Infinity"``, ``"NaN"``), never null.
Text meant for a terminal has its control and escape sequences removed
(:func:`terminal_text`): a log field must not recolour, retitle or rewrite the screen.
CSV follows Athena's result files: a header row and every value quoted,
NULL left empty.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from typing import Any, Protocol

import orjson
import pyarrow as pa

FORMATS = ("table", "csv", "json", "jsonl")


class Writer(Protocol):
    """Where output goes: a text file, or anything with its ``write``."""

    def write(self, text: str, /) -> int: ...


def athena_text(value: Any) -> str | None:
    """A value as Athena's console and CSV results print it (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + " UTC" if value.tzinfo is not None else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):  # a ROW: Athena prints its field names lower-cased, as Hive declares them
        return "{" + ", ".join(f"{k.lower()}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and isinstance(value[0], tuple) and len(value[0]) == 2:  # a MAP
            return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value) + "}"
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, float):
        return _float_text(value) if not math.isfinite(value) else repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex(" ")
    return str(value)


def _float_text(value: float) -> str:
    """A non-finite double as Athena prints it.

    >>> [_float_text(v) for v in (float("inf"), float("-inf"), float("nan"))]
    ['Infinity', '-Infinity', 'NaN']
    """
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


#: Terminal escape sequences (CSI ``ESC [``, OSC ``ESC ]`` up to BEL or ST, other two-byte
#: ``ESC x``), then single control characters: C0 but tab and newline, DEL, C1, and the
#: Unicode bidirectional overrides that reorder what a reader sees.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x9c]*[\x07\x9c]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def terminal_text(value: Any) -> str:
    r"""A value as :func:`athena_text` prints it, safe on a terminal: escape sequences (colours,
    OSC 8 links, titles) and control characters (``\r``, BEL, backspace) removed.

    >>> terminal_text("\x1b[31mred\x1b[0m ok\r\x07\x08")
    'red ok'
    >>> terminal_text("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\")
    'click'
    """
    text = athena_text(value)
    return "" if text is None else _ESCAPES.sub("", text)


def _nested(value: Any) -> str:
    text = athena_text(value)
    return "null" if text is None else text


def json_value(value: Any) -> Any:
    """A value for JSON output: nested values stay structured, times print as Athena's."""
    if isinstance(value, (dt.datetime, dt.date)):
        return athena_text(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (float, bytes, bytearray, memoryview)):
        return athena_text(value) if not isinstance(value, float) or not math.isfinite(value) else value
    if isinstance(value, dict):
        return {k.lower(): json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and isinstance(value[0], tuple) and len(value[0]) == 2:
            return {str(k): json_value(v) for k, v in value}
        return [json_value(v) for v in value]
    return value


#: Rows converted to Python at a time: output streams in slices this size, whatever the
#: size of the engine's record batches.
BATCH_ROWS = 10_000


def write(table: pa.Table, fmt: str, out: Writer) -> None:
    """Write ``table`` to ``out`` in one of :data:`FORMATS` (``table`` is plain text here),
    a record batch at a time: memory stays that of one batch, whatever the rows.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    names = table.column_names
    if fmt == "csv":
        out.write(",".join(csv_field(n) for n in names) + "\n")
    elif fmt == "table":
        out.write("\t".join(names) + "\n")
    elif fmt == "json":
        out.write("[")
    first = True
    for batch in table.to_batches(BATCH_ROWS):
        if batch.num_rows:
            out.write(_batch_text(batch, fmt, first))
            first = False
    if fmt == "json":
        out.write("]\n")


def _batch_text(batch: pa.RecordBatch, fmt: str, first: bool) -> str:
    """One record batch in ``fmt``, its lines joined (one write a batch, not one a row)."""
    if fmt in ("json", "jsonl"):
        objects = (orjson.dumps({k: json_value(v) for k, v in row.items()}).decode() for row in batch.to_pylist())
        if fmt == "jsonl":
            return "".join(o + "\n" for o in objects)
        return ("" if first else ",") + ",".join(objects)
    if fmt == "csv":
        columns = [[csv_field(v) for v in texts(column)] for column in batch.columns]
        return "".join(",".join(line) + "\n" for line in zip(*columns, strict=True))
    columns = [[terminal_text(v) for v in column.to_pylist()] for column in batch.columns]
    return "".join("\t".join(line) + "\n" for line in zip(*columns, strict=True))


def texts(column: pa.Array) -> list[str | None]:
    """A column's values as :func:`athena_text` prints them; text and integers directly,
    the bulk of CloudTrail's columns, as the per-value dispatch is most of CSV's time.
    """
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        strings: list[str | None] = column.to_pylist()
        return strings
    if pa.types.is_integer(kind):
        return [None if v is None else str(v) for v in column.to_pylist()]
    return [athena_text(v) for v in column.to_pylist()]


def csv_field(text: str | None) -> str:
    """A value as Athena's CSV result files quote it: in double quotes, inner ones doubled; NULL empty."""
    if text is None:
        return ""
    return '"' + text.replace('"', '""') + '"'
