"""Spark's errors as trailsql's: what Trino would say, or what the user got wrong.

Where Trino fails a query, Spark in ANSI mode mostly fails it too, with messages of its own;
those whose Trino message the tests pin (division by zero, an array subscript out of bounds,
a missing map key) are given Trino's words. The rewrites of :mod:`.transforms` fail a query
Trino fails with ``raise_error(<Trino's message>)`` and refuse, when they meet a value they
cannot answer for (a time zone other than UTC), with ``raise_error('not supported: ...')``:
both arrive here as Spark's USER_RAISED_EXCEPTION.
"""

from __future__ import annotations

import re

from trailsql.errors import NotSupportedError, TrailsqlError

#: Spark's error class prefix (``[DIVIDE_BY_ZERO] Division by zero. ...``).
_ERROR_CLASS = re.compile(r"^\[([A-Z_.]+)\]\s*")

#: Spark error classes that are Trino's failures, and Trino's message for them.
_TRINO_FAILURES = {
    "DIVIDE_BY_ZERO": "DIVISION_BY_ZERO: Division by zero",
    "REMAINDER_BY_ZERO": "DIVISION_BY_ZERO: Division by zero",
    "INVALID_INDEX_OF_ZERO": "SQL array indices start at 1",
}

#: Spark's message for ``a[i]`` out of bounds; the rewrites write Trino's 1-based ``a[i]`` as
#: Spark's 0-based ``a[i - 1]``.
_ARRAY_INDEX = re.compile(r"The index (-?\d+) is out of bounds\. The array has (\d+) elements")

#: The text of a ``raise_error`` (``[USER_RAISED_EXCEPTION] <message> SQLSTATE: P0001``).
_RAISED = re.compile(r"^\[USER_RAISED_EXCEPTION\]\s*(.*?)(?:\s+SQLSTATE: \w+)?$")


def _array_index(index: int, length: int) -> str:
    """Trino's message for the 1-based subscript ``index + 1`` of an array of ``length``.

    >>> _array_index(3, 3), _array_index(-1, 3), _array_index(-2, 3)
    ('Array subscript must be less than or equal to array length: 4 > 3', 'SQL array indices start at 1', 'Array subscript is negative: -1')
    """
    if index >= length:
        return f"Array subscript must be less than or equal to array length: {index + 1} > {length}"
    if index == -1:
        return "SQL array indices start at 1"
    return f"Array subscript is negative: {index + 1}"


def query_error(error: Exception) -> TrailsqlError:
    """The trailsql error for a failed Spark query: Trino's message where the tests pin it,
    else Spark's first line, without its hints.

    >>> str(query_error(Exception("[USER_RAISED_EXCEPTION] Index must be greater than zero SQLSTATE: P0001")))
    'Index must be greater than zero'
    """
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    raised = _RAISED.match(first)
    if raised:
        first = raised.group(1)
    found = _ERROR_CLASS.match(first)
    if found and found.group(1) in _TRINO_FAILURES:
        return TrailsqlError(_TRINO_FAILURES[found.group(1)])
    index = _ARRAY_INDEX.search(first) if found and found.group(1) == "INVALID_ARRAY_INDEX" else None
    if index:
        return TrailsqlError(_array_index(int(index.group(1)), int(index.group(2))))
    if first.startswith("not supported: "):
        return NotSupportedError(first[len("not supported: ") :])
    missing = _MISSING_COLUMN.match(first)
    if missing and missing.group(1).lower() in _NOT_CLOUDTRAIL:
        return NotSupportedError(_NOT_CLOUDTRAIL[missing.group(1).lower()])
    return TrailsqlError(first)


#: A column Spark could not find (``[UNRESOLVED_COLUMN.WITH_SUGGESTION] ... name `x` ...``).
_MISSING_COLUMN = re.compile(r"^\[UNRESOLVED_COLUMN[A-Z_.]*\].*? name `([^`]+)`")

#: Columns of CloudTrail Lake that no CloudTrail log holds: refused, as on DuckDB.
_NOT_CLOUDTRAIL = {
    "eventjsonchecksum": "eventJsonChecksum (Lake's own checksum)",
    "eventdata": "eventData: AWS Config items are not CloudTrail events",
}
