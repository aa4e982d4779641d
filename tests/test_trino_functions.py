"""Trino's function surface as Athena users write it, asked of trailsql.

Every expected value comes from Trino, never from trailsql's output: the function
reference (github.com/trinodb/trino, docs/src/main/sphinx/functions/*.md, cited per
group by file name), Trino's own function tests (core/trino-main/src/test/java/io/trino/
operator/scalar/Test*.java), or, where neither gives a value, the function's source;
the rest is plain Python over values the test writes. Athena runs its sessions in UTC.

Where Trino fails a call (``split_part(s, d, 0)``, an array subscript out of bounds)
trailsql must fail too; where trailsql cannot give Trino's answer it must refuse with
``not supported: ...`` (:class:`~trailsql.errors.NotSupportedError`).

Every case runs on each engine of ``conftest.ENGINES``. The DuckDB engine must answer as Trino
does; the Spark engine must answer as Trino does or refuse (``not supported``), never answer
otherwise. A module's count of Spark queries answered and refused is printed when its Spark
session closes (``pytest -s``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import ENGINES, engine_session
from trailsql.errors import NotSupportedError, TrailsqlError
from trailsql.session import Session

UTC = dt.UTC


#: Per Spark session (one a module), its queries answered and refused.
SPARK_TALLY: dict[int, Counter[str]] = {}


def is_spark(session: Session) -> bool:
    return session.engine.name == "spark"


def tally(session: Session, outcome: str) -> None:
    """Count a Spark query's outcome (``answered`` or ``refused``)."""
    if is_spark(session):
        SPARK_TALLY.setdefault(id(session), Counter())[outcome] += 1


def engine_sessions(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A module's session with no logs on the engine ``request.param``; on Spark, the module's
    count of queries answered and refused is printed when it closes."""
    s = engine_session(request.param)
    yield s
    counts = SPARK_TALLY.pop(id(s), Counter())
    if is_spark(s):
        print(
            f"\n{request.module.__name__} on Spark: {counts['answered']} queries answered, {counts['refused']} refused"
        )
    s.close()


@pytest.fixture(scope="module", params=ENGINES)
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session with no logs on each engine: for expressions and VALUES."""
    yield from engine_sessions(request)


def execute(session: Session, sql: str) -> pa.Table | None:
    """The rows of ``sql``; None where the Spark engine refuses it (and only Spark may)."""
    try:
        table = session.execute(sql).table
    except NotSupportedError:
        if not is_spark(session):
            raise
        tally(session, "refused")
        return None
    tally(session, "answered")
    return table


def _value(session: Session, expr: str) -> tuple[Any, pa.DataType] | None:
    table = execute(session, f"SELECT {expr} AS v")
    if table is None:
        return None
    assert table.num_rows == 1
    return table.column("v")[0].as_py(), table.schema.field("v").type


def check(session: Session, expr: str, expected: Any) -> None:
    """``expr`` is ``expected``: same value, and an exact number, text or timestamp kind."""
    answer = _value(session, expr)
    if answer is None:
        return
    value, arrow_type = answer
    if isinstance(expected, dict) and isinstance(value, list):
        value = dict(value)  # a MAP arrives as a list of (key, value) pairs
    assert value == expected, f"{expr}: {value!r} != {expected!r}"
    if isinstance(expected, bool):
        assert pa.types.is_boolean(arrow_type)
    elif isinstance(expected, int):
        assert pa.types.is_integer(arrow_type), f"{expr}: Trino returns an integer type; got {arrow_type}"
    elif isinstance(expected, str):
        assert pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type), arrow_type
    elif isinstance(expected, dt.datetime):
        assert pa.types.is_timestamp(arrow_type)
        assert (arrow_type.tz is not None) == (expected.tzinfo is not None), f"{expr}: {arrow_type}"
    elif isinstance(expected, dt.date):
        assert pa.types.is_date(arrow_type), f"{expr}: Trino returns a date; got {arrow_type}"


def fails(session: Session, expr: str, message: str) -> None:
    """Trino fails ``expr`` with ``message``; so must trailsql, and not by refusing it (Spark may refuse)."""
    with pytest.raises(TrailsqlError) as error:
        session.execute(f"SELECT {expr} AS v")
    if isinstance(error.value, NotSupportedError) and is_spark(session):
        tally(session, "refused")
        return
    assert not isinstance(error.value, NotSupportedError)
    assert re.search(message, str(error.value)), f"{expr}: {error.value} does not match {message!r}"
    tally(session, "answered")


def rows(session: Session, sql: str) -> list[tuple[Any, ...]] | None:
    """The rows of ``sql`` as tuples; None where the Spark engine refuses it (so ``rows(...) in
    (expected, None)`` holds DuckDB to ``expected``: only Spark may refuse)."""
    table = execute(session, sql)
    return None if table is None else [tuple(row.values()) for row in table.to_pylist()]


def refused(session: Session, sql: str) -> None:
    """Trino's answer is out of reach: every engine must refuse ``sql``."""
    with pytest.raises(NotSupportedError, match=r"^not supported: "):
        session.execute(sql)
    tally(session, "refused")


# --- JSON --------------------------------------------------------------------------------
# json.md: json_extract returns JSON (values from TestJsonExtract.testFullJsonExtract: compact
# text, a string keeps its quotes, JSON null is 'null', a missing key NULL).
JSON_EXTRACT = [
    ("""json_extract('{}', '$')""", "{}"),
    ("""json_extract('{"fuu": {"bar": 1}}', '$.fuu')""", '{"bar":1}'),
    ("""json_extract('{"fuu": 1}', '$.fuu')""", "1"),
    ("""json_extract('{"fuu": 1}', '$["fuu"]')""", "1"),
    ("""json_extract('{"fuu": null}', '$.fuu')""", "null"),
    ("""json_extract('{"fuu": 1}', '$.bar')""", None),
    ("""json_extract('{"fuu": ["\\u0001"]}', '$.fuu[0]')""", '"\\u0001"'),
    ("""json_extract('{"fuu": 1, "bar": "abc"}', '$.bar')""", '"abc"'),
    ("""json_extract('{"fuu": [0.1, 1, 2]}', '$.fuu[0]')""", "0.1"),
    ("""json_extract('{"fuu": [0, [100, 101], 2]}', '$.fuu[1]')""", "[100,101]"),
    # json_extract of json_extract reads the extracted JSON value.
    ("""json_extract(json_extract('{"fuu": {"bar": [7]}}', '$.fuu'), '$.bar')""", "[7]"),
    ("""json_extract_scalar(json_extract('{"fuu": {"bar": "x"}}', '$.fuu'), '$.bar')""", "x"),
]

# json.md, json_parse / json_format / JSON literals: json_parse('[1, 2, 3]') is JSON '[1,2,3]',
# json_format(JSON '{"a": 1, "b": 2}') is '{"a":1,"b":2}'; TestJsonFunctions.testJsonFormat. Objects
# come out with their keys sorted: JsonFunctions.jsonParse writes the parsed value with a Jackson
# mapper configured ORDER_MAP_ENTRIES_BY_KEYS (SORTED_MAPPER).
JSON_PARSE_AND_FORMAT = [
    ("json_parse('[1, 2, 3]')", "[1,2,3]"),
    ("""json_parse('"abc"')""", '"abc"'),
    ("json_parse('42')", "42"),
    ("json_parse('true')", "true"),
    ("json_parse('null')", "null"),
    (
        """json_parse('{"b": 2, "a": {"d": [1, {"z": 0, "y": null}], "c": "x"}}')""",
        '{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":2}',
    ),
    ("json_format(JSON '[1, 2, 3]')", "[1,2,3]"),
    ("""json_format(JSON '"a"')""", '"a"'),
    ("""json_format(JSON '{"a": 1, "b": 2}')""", '{"a":1,"b":2}'),
    ("json_format(JSON '42')", "42"),
    ("json_format(JSON 'true')", "true"),
    ("json_format(JSON 'null')", "null"),
    ("""json_format(JSON '["a", "b"]')""", '["a","b"]'),
    ("""json_format(json_parse('{"b": 1, "a": 2}'))""", '{"a":2,"b":1}'),
    # Reading one value out of a parsed document does not depend on key order.
    ("""json_extract_scalar(json_parse('{"b": 1, "a": 2}'), '$.a')""", "2"),
    ("""json_size(json_parse('{"b": 1, "a": [1, 2]}'), '$.a')""", 2),
]

# json.md, "Cast to JSON" and "Cast from JSON", with the examples below; CAST(string AS JSON)
# makes a JSON string, unlike json_parse; CAST(json AS VARCHAR) unquotes a JSON string and
# JSON null is NULL ("For JSON string, JSON number, true, false or null, the cast behavior is
# same as the corresponding SQL type"), elementwise for ARRAY(VARCHAR) and MAP(VARCHAR, VARCHAR).
JSON_CASTS = [
    ("CAST(NULL AS JSON)", None),
    ("CAST(1 AS JSON)", "1"),
    ("CAST('abc' AS JSON)", '"abc"'),
    ("CAST(true AS JSON)", "true"),
    ("CAST(ARRAY[1, 23, 456] AS JSON)", "[1,23,456]"),
    ("CAST(ARRAY[1, NULL, 456] AS JSON)", "[1,null,456]"),
    ("CAST(MAP(ARRAY['k1', 'k2', 'k3'], ARRAY[1, 23, 456]) AS JSON)", '{"k1":1,"k2":23,"k3":456}'),
    ("CAST('not_json' AS JSON)", '"not_json"'),
    ("CAST('[1, 2, 3]' AS JSON)", '"[1, 2, 3]"'),
    ("CAST('42' AS JSON)", '"42"'),
    ("CAST(JSON 'null' AS VARCHAR)", None),
    ("""CAST(JSON '"abc"' AS VARCHAR)""", "abc"),
    ("CAST(JSON '42' AS VARCHAR)", "42"),
    ("CAST(JSON 'true' AS VARCHAR)", "true"),
    ("""CAST(json_extract('{"user": "alice"}', '$.user') AS VARCHAR)""", "alice"),
    ("CAST(JSON '1' AS INTEGER)", 1),
    ("CAST(JSON '[1,23,456]' AS ARRAY(INTEGER))", [1, 23, 456]),
    ("CAST(JSON '[1,null,456]' AS ARRAY(INTEGER))", [1, None, 456]),
    ("""CAST(JSON '{"k1":1,"k2":23,"k3":456}' AS MAP(VARCHAR, INTEGER))""", {"k1": 1, "k2": 23, "k3": 456}),
    ("CAST(JSON '[[1, 23], 456]' AS ARRAY(JSON))", ["[1,23]", "456"]),
    ("""CAST(JSON '{"k1": [1, 23], "k2": 456}' AS MAP(VARCHAR, JSON))""", {"k1": "[1,23]", "k2": "456"}),
    ("CAST(JSON '[null]' AS ARRAY(JSON))", ["null"]),
    ("""CAST(JSON '["a", "b"]' AS ARRAY(VARCHAR))""", ["a", "b"]),
    ("""CAST(JSON '[1, "x", null, true]' AS ARRAY(VARCHAR))""", ["1", "x", None, "true"]),
    ("""CAST(JSON '{"a": "x", "b": 2, "c": null}' AS MAP(VARCHAR, VARCHAR))""", {"a": "x", "b": "2", "c": None}),
    # A timestamp as varchar is the text Trino prints for it (types.md: TIMESTAMP(P) has P digits of
    # fraction, WITH TIME ZONE adds the zone; timestamp(3) with time zone, 2012-10-31 01:00:00.000 UTC).
    ("CAST(TIMESTAMP '2012-10-31 01:00 UTC' AS VARCHAR)", "2012-10-31 01:00:00.000 UTC"),
    ("CAST(TIMESTAMP '2001-08-22 03:04:05.321' AS VARCHAR)", "2001-08-22 03:04:05.321"),
    ("CAST(TIMESTAMP '2001-08-22 03:04:05' AS VARCHAR)", "2001-08-22 03:04:05"),
    ("CAST(DATE '2001-08-22' AS VARCHAR)", "2001-08-22"),
    # conversion.md: try_cast "returns null if the cast fails".
    ("""try_cast(JSON '"abc"' AS VARCHAR)""", "abc"),
    ("try_cast(JSON '[1]' AS VARCHAR)", None),
]

# json.md, json_array_length / json_array_get (examples below) and TestJsonFunctions
# .testJsonArrayLength / testJsonArrayGet*: a string element comes back unquoted, a JSON null
# element or a missing index is NULL, negative indexes count from the end. JsonFunctions: text
# that is not a JSON array, or not JSON, gives NULL.
JSON_ARRAYS = [
    ("json_array_length('[1, 2, 3]')", 3),
    ("json_array_length('[]')", 0),
    ("""json_array_length('[1, "foo", null]')""", 3),
    ("""json_array_length('[2, 4, {"a": [8, 9]}, [], [5], 4]')""", 6),
    ("json_array_length(JSON '[1]')", 1),
    ("json_array_length(NULL)", None),
    ("""json_array_length('{"a": 1}')""", None),
    ("json_array_length('not json')", None),
    ("""json_array_get('["a", [3, 9], "c"]', 0)""", "a"),
    ("""json_array_get('["a", [3, 9], "c"]', 1)""", "[3,9]"),
    ("""json_array_get('["c", [3, 9], "a"]', -1)""", "a"),
    ("""json_array_get('["c", [3, 9], "a"]', -2)""", "[3,9]"),
    ("json_array_get('[]', 0)", None),
    ("""json_array_get('["a", "b", "c"]', 10)""", None),
    ("""json_array_get('["c", "b", "a"]', -10)""", None),
    ("json_array_get('[2, 7, 4, 6, 8, 1, 0]', 6)", "0"),
    ("json_array_get('[2, 7, 4, 6, 8, 1, 0]', -7)", "2"),
    ("json_array_get('[2, 7, 4, 6, 8, 1, 0]', -8)", None),
    ("json_array_get('[3.14]', 0)", "3.14"),
    ("json_array_get('[true]', 0)", "true"),
    ("""json_array_get('["jhfa", null]', 1)""", None),
    ("""json_array_get('[""]', 0)""", ""),
    ("json_array_get('', 1)", None),
    ("json_array_get('[1]', -9223372036854775807 - 1)", None),
    ("""json_array_get('[{"hello":"world"}, {"a":[{"x":99}]}]', -1)""", '{"a":[{"x":99}]}'),
    ("""json_array_contains(JSON '[1, "foo", null, "8"]', 8)""", False),
    ("json_array_contains(JSON '[3]', 3)", True),
]


@pytest.mark.parametrize(("expr", "expected"), [*JSON_EXTRACT, *JSON_PARSE_AND_FORMAT, *JSON_CASTS, *JSON_ARRAYS])
def test_json(session: Session, expr: str, expected: Any) -> None:
    check(session, expr, expected)


def test_json_values_print_as_their_text(session: Session) -> None:
    table = execute(session, """SELECT json_extract('{"a": {"b": [1, 2]}}', '$.a') AS v""")
    assert table is None or table.column("v").to_pylist() == ['{"b":[1,2]}']


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        # json.md: json_parse('not_json') -- ERROR; a JSON object or array cannot be cast to VARCHAR.
        ("json_parse('not_json')", "not_json"),
        ("""CAST(JSON '{"a": 1, "b": 2}' AS VARCHAR)""", "Cannot cast JSON object to varchar"),
        ("CAST(JSON '[1, 2, 3]' AS VARCHAR)", "Cannot cast JSON array to varchar"),
    ],
)
def test_json_failures(session: Session, expr: str, message: str) -> None:
    fails(session, expr, message)


# --- dates and times ---------------------------------------------------------------------
# datetime.md: from_iso8601_timestamp ("the time defaults to 00:00:00.000, and the time zone
# defaults to the session time zone"), from_iso8601_date (calendar, week and ordinal dates), and
# the examples of date_trunc, date_add, date_format, date_parse and the operator table.
DATES = [
    ("from_iso8601_timestamp('2020-05-11')", dt.datetime(2020, 5, 11, tzinfo=UTC)),
    ("from_iso8601_timestamp('2020-05-11T11:15:05')", dt.datetime(2020, 5, 11, 11, 15, 5, tzinfo=UTC)),
    ("from_iso8601_timestamp('2020-05-11T11:15:05.055Z')", dt.datetime(2020, 5, 11, 11, 15, 5, 55000, tzinfo=UTC)),
    ("from_iso8601_date('2020-05-11')", dt.date(2020, 5, 11)),
    ("from_iso8601_date('2020-W10')", dt.date(2020, 3, 2)),
    ("from_iso8601_date('2020-123')", dt.date(2020, 5, 2)),
    ("to_iso8601(from_iso8601_timestamp('2020-05-11T11:15:05.055Z'))", "2020-05-11T11:15:05.055Z"),
    # date_trunc(unit, x) -> [same as input], with the unit table over TIMESTAMP '2001-08-22 03:04:05.321'.
    ("date_trunc('day', TIMESTAMP '2022-10-20 05:10:00')", dt.datetime(2022, 10, 20)),
    ("date_trunc('month', TIMESTAMP '2022-10-20 05:10:00')", dt.datetime(2022, 10, 1)),
    ("date_trunc('year', TIMESTAMP '2022-10-20 05:10:00')", dt.datetime(2022, 1, 1)),
    ("date_trunc('second', TIMESTAMP '2001-08-22 03:04:05.321')", dt.datetime(2001, 8, 22, 3, 4, 5)),
    ("date_trunc('minute', TIMESTAMP '2001-08-22 03:04:05.321')", dt.datetime(2001, 8, 22, 3, 4)),
    ("date_trunc('hour', TIMESTAMP '2001-08-22 03:04:05.321')", dt.datetime(2001, 8, 22, 3)),
    ("date_trunc('week', TIMESTAMP '2001-08-22 03:04:05.321')", dt.datetime(2001, 8, 20)),
    ("date_trunc('quarter', TIMESTAMP '2001-08-22 03:04:05.321')", dt.datetime(2001, 7, 1)),
    ("date_trunc('month', DATE '2001-08-22')", dt.date(2001, 8, 1)),
    ("date_trunc('week', DATE '2001-08-22')", dt.date(2001, 8, 20)),
    ("date_trunc('hour', TIMESTAMP '2001-08-22 03:04:05.321 UTC')", dt.datetime(2001, 8, 22, 3, tzinfo=UTC)),
    ("date_trunc('day', from_iso8601_timestamp('2020-05-11T11:15:05Z'))", dt.datetime(2020, 5, 11, tzinfo=UTC)),
    # date_add(unit, value, timestamp) -> [same as input]; "Subtraction can be performed by using a
    # negative value".
    ("date_add('second', 86, TIMESTAMP '2020-03-01 00:00:00')", dt.datetime(2020, 3, 1, 0, 1, 26)),
    ("date_add('hour', 9, TIMESTAMP '2020-03-01 00:00:00')", dt.datetime(2020, 3, 1, 9)),
    ("date_add('day', -1, TIMESTAMP '2020-03-01 00:00:00 UTC')", dt.datetime(2020, 2, 29, tzinfo=UTC)),
    ("date_add('day', -7, DATE '2020-03-01')", dt.date(2020, 2, 23)),
    ("date_add('month', 1, DATE '2020-01-31')", dt.date(2020, 2, 29)),
    ("date_add('hour', -24, from_iso8601_timestamp('2020-03-01T00:00:00Z'))", dt.datetime(2020, 2, 29, tzinfo=UTC)),
    # The operator table.
    ("DATE '2012-08-08' + INTERVAL '2' DAY", dt.date(2012, 8, 10)),
    ("TIMESTAMP '2012-08-08 01:00' + INTERVAL '29' HOUR", dt.datetime(2012, 8, 9, 6)),
    ("TIMESTAMP '2012-10-31 01:00' + INTERVAL '1' MONTH", dt.datetime(2012, 11, 30, 1)),
    ("DATE '2012-08-08' - INTERVAL '2' DAY", dt.date(2012, 8, 6)),
    ("TIMESTAMP '2012-08-08 01:00' - INTERVAL '29' HOUR", dt.datetime(2012, 8, 6, 20)),
    ("TIMESTAMP '2012-10-31 01:00' - INTERVAL '1' MONTH", dt.datetime(2012, 9, 30, 1)),
    ("TIMESTAMP '2020-03-01 00:00:00 UTC' - INTERVAL '7' DAY", dt.datetime(2020, 2, 23, tzinfo=UTC)),
    ("TIMESTAMP '2020-03-01 00:00:00 UTC' - INTERVAL '30' MINUTE", dt.datetime(2020, 2, 29, 23, 30, tzinfo=UTC)),
    # "MySQL date functions": date_format / date_parse with the specifier table (%i minutes, %s and
    # %S seconds, %T = %H:%i:%s, any other character as itself; %f shows milliseconds as 6 digits).
    ("date_format(TIMESTAMP '2022-10-20 05:10:00', '%m-%d-%Y %H')", "10-20-2022 05"),
    ("date_format(TIMESTAMP '2022-10-20 05:10:00', '%Y-%m-%dT%H:%i:%sZ')", "2022-10-20T05:10:00Z"),
    ("date_format(TIMESTAMP '2022-10-20 05:10:00', '%Y/%m/%d %T')", "2022/10/20 05:10:00"),
    ("date_format(TIMESTAMP '2001-08-22 03:04:05.321', '%f')", "321000"),
    (
        "date_format(TIMESTAMP '2001-08-02 03:04:05', '%e %c %k %l %p %a %b %M %W %j')",
        "2 8 3 3 AM Thu Aug August Thursday 214",
    ),
    ("date_format(from_iso8601_timestamp('2020-05-11T11:15:05.055Z'), '%Y-%m-%d %H:%i:%s')", "2020-05-11 11:15:05"),
    ("date_parse('2022/10/20/05', '%Y/%m/%d/%H')", dt.datetime(2022, 10, 20, 5)),
    ("date_parse('2023-01-05T10:11:12Z', '%Y-%m-%dT%H:%i:%sZ')", dt.datetime(2023, 1, 5, 10, 11, 12)),
    ("date_parse('2023-01-05T10:11:12Z', '%Y-%m-%dT%TZ')", dt.datetime(2023, 1, 5, 10, 11, 12)),
    ("date_parse('2023/01/05', '%Y/%m/%d')", dt.datetime(2023, 1, 5)),
    ("date_parse('2023-01-05 10:11:12.123456', '%Y-%m-%d %H:%i:%s.%f')", dt.datetime(2023, 1, 5, 10, 11, 12, 123000)),
    # DateTimeFunctions.dateParse parses with Joda in ISO chronology: missing fields are 1970-01-01's.
    ("date_parse('10:11', '%H:%i')", dt.datetime(1970, 1, 1, 10, 11)),
    # Time zone conversion: timestamp '2012-10-31 01:00 UTC' is 2012-10-31 01:00:00.000 UTC; AT TIME
    # ZONE sets the zone of a timestamp with time zone (the same instant), at_timezone converts from the
    # session zone (UTC).
    ("TIMESTAMP '2012-10-31 01:00 UTC'", dt.datetime(2012, 10, 31, 1, tzinfo=UTC)),
    ("TIMESTAMP '2012-10-31 01:00 UTC' AT TIME ZONE 'UTC'", dt.datetime(2012, 10, 31, 1, tzinfo=UTC)),
    (
        "from_iso8601_timestamp('2020-05-11T11:15:05Z') AT TIME ZONE 'UTC'",
        dt.datetime(2020, 5, 11, 11, 15, 5, tzinfo=UTC),
    ),
    ("at_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'UTC')", dt.datetime(2022, 11, 1, 9, 8, 7, 321000, tzinfo=UTC)),
    (
        "with_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'UTC')",
        dt.datetime(2022, 11, 1, 9, 8, 7, 321000, tzinfo=UTC),
    ),
    # from_unixtime: seconds since 1970-01-01 00:00:00 UTC, a timestamp with time zone; to_unixtime ->
    # double.
    ("from_unixtime(0)", dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ("from_unixtime(1700000000)", dt.datetime.fromtimestamp(1700000000, UTC)),
    ("from_unixtime(1700000000.5)", dt.datetime.fromtimestamp(1700000000.5, UTC)),
    ("from_unixtime(86400, 'UTC')", dt.datetime(1970, 1, 2, tzinfo=UTC)),
    ("to_unixtime(TIMESTAMP '1970-01-02 00:00:00')", 86400.0),
    ("to_unixtime(from_iso8601_timestamp('2020-05-11T11:15:05.055Z'))", 1589195705.055),
    # Extraction: day_of_week/dow is ISO (Monday 1 .. Sunday 7); date(x) is CAST(x AS date).
    ("day_of_week(DATE '2022-10-23')", dt.date(2022, 10, 23).isoweekday()),
    ("dow(TIMESTAMP '2022-10-24 05:00:00')", dt.date(2022, 10, 24).isoweekday()),
    ("day(DATE '2022-10-23')", 23),
    ("hour(TIMESTAMP '2022-10-20 05:10:00')", 5),
    ("hour(from_iso8601_timestamp('2020-05-11T11:15:05Z'))", 11),
    ("date(TIMESTAMP '2022-10-20 05:10:00')", dt.date(2022, 10, 20)),
    ("date(from_iso8601_timestamp('2020-05-11T23:15:05Z'))", dt.date(2020, 5, 11)),
    ("date('2022-10-20')", dt.date(2022, 10, 20)),
    ("DATE '2022-01-31'", dt.date(2022, 1, 31)),
    ("TIMESTAMP '2022-01-31 01:02:03.123'", dt.datetime(2022, 1, 31, 1, 2, 3, 123000)),
    # date_diff(unit, timestamp1, timestamp2) -> bigint.
    ("date_diff('day', DATE '2020-03-01', DATE '2020-03-02')", 1),
    (
        "date_diff('hour', from_iso8601_timestamp('2020-03-01T00:00:00Z'), from_iso8601_timestamp('2020-03-02T00:00:00Z'))",
        24,
    ),
]


@pytest.mark.parametrize(("expr", "expected"), DATES)
def test_dates_and_times(session: Session, expr: str, expected: Any) -> None:
    check(session, expr, expected)


def test_to_unixtime_is_a_double(session: Session) -> None:
    answer = _value(session, "to_unixtime(TIMESTAMP '1970-01-01 00:00:01')")
    assert answer is None or (answer[0] == 1.0 and pa.types.is_floating(answer[1]))


def test_now_and_current_values(session: Session) -> None:
    # datetime.md: now() is an alias for current_timestamp, a timestamp with time zone; current_date
    # is a date (UTC, the session zone); both "as of the start of the query".
    table = execute(
        session, "SELECT now() AS n, current_timestamp AS ts, current_date AS d, now() = current_timestamp AS same"
    )
    if table is None:
        return
    row = table.to_pylist()[0]
    assert row["same"] is True
    assert row["n"].tzinfo is not None and row["ts"].tzinfo is not None
    today = dt.datetime.now(UTC).date()
    assert row["d"] in (today, today - dt.timedelta(days=1))
    assert abs(row["n"] - dt.datetime.now(UTC)) < dt.timedelta(minutes=5)


# Comparing a varchar literal with a date or a timestamp compares values of that type (Trino
# coerces the literal), here on expressions known to be one.
TEXT_AGAINST_TIME = [
    ("from_iso8601_timestamp('2023-02-01T00:00:00Z') > '2023-01-01 00:00:00'", True),
    ("from_iso8601_timestamp('2023-02-01T00:00:00Z') < '2023-01-01 00:00:00'", False),
    ("from_iso8601_timestamp('2023-02-01T00:00:00Z') BETWEEN '2023-01-01' AND current_timestamp", True),
    ("from_iso8601_timestamp('2023-02-01T00:00:00Z') = '2023-02-01 00:00:00 UTC'", True),
    ("'2023-01-01' < from_iso8601_timestamp('2023-02-01T00:00:00Z')", True),
    ("date_parse('2023/02/01', '%Y/%m/%d') >= '2023-02-01'", True),
    ("CAST('2023-02-01' AS DATE) IN ('2023-02-01', '2024-01-01')", True),
    ("date_trunc('day', from_iso8601_timestamp('2023-02-01T10:00:00Z')) = '2023-02-01'", True),
    ("date_add('day', 1, DATE '2023-02-01') = '2023-02-02'", True),
]


@pytest.mark.parametrize(("expr", "expected"), TEXT_AGAINST_TIME)
def test_text_compared_with_time(session: Session, expr: str, expected: bool) -> None:
    check(session, expr, expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        # datetime.md, date_trunc on a DATE and date + interval: hours are not date fields (Trino fails).
        ("date_trunc('hour', DATE '2020-01-01')", "'hour' is not a valid DATE field"),
        ("date_add('hour', 1, DATE '2020-01-01')", "Cannot add hour, minutes or seconds to a date"),
        ("DATE '2020-01-01' + INTERVAL '2' HOUR", "Cannot add hour, minutes or seconds to a date"),
    ],
)
def test_date_failures(session: Session, expr: str, message: str) -> None:
    fails(session, expr, message)


@pytest.mark.parametrize(
    "expr",
    [
        # Timestamps with time zone are held in UTC; another zone would print differently.
        "TIMESTAMP '2012-10-31 01:00 UTC' AT TIME ZONE 'America/Los_Angeles'",
        "at_timezone(TIMESTAMP '2022-11-01 09:08:07.321', 'America/Los_Angeles')",
        "from_unixtime(0, 'Asia/Tokyo')",
        # datetime.md: "The following specifiers are not currently supported: %D %U %u %V %w %X".
        "date_format(TIMESTAMP '2022-10-20 05:10:00', '%D')",
        "date_parse('2022 05', '%Y %U')",
        # Two-digit years: Trino reads 70..69 as 1970..2069, DuckDB 69 as 1969.
        "date_parse('69-01-01', '%y-%m-%d')",
    ],
)
def test_dates_refused(session: Session, expr: str) -> None:
    refused(session, f"SELECT {expr} AS v")


def _event(time: str, name: str) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": time, "eventName": name, "eventSource": "s3.amazonaws.com"}


@pytest.mark.parametrize("engine", ENGINES)
def test_event_time_against_text(write_logs: Callable[..., Path], engine: str) -> None:
    times = ["2025-02-12T09:59:59Z", "2025-02-12T10:00:00Z", "2025-02-12T23:30:00Z"]
    write_logs([_event(t, "GetObject") for t in times])
    s = engine_session(engine, logs=write_logs.root)  # type: ignore[attr-defined]
    try:
        cutoff = dt.datetime(2025, 2, 12, 10, tzinfo=UTC)
        expected = sum(dt.datetime.fromisoformat(t) >= cutoff for t in times)
        # A timestamp compared with text compares instants ...
        sql = "SELECT count(*) FROM cloudtrail_logs WHERE from_iso8601_timestamp(eventtime) >= '2025-02-12 10:00:00'"
        assert rows(s, sql) in ([(expected,)], None)
        # ... a varchar column compared with text compares text.
        sql = "SELECT count(*) FROM cloudtrail_logs WHERE eventtime >= '2025-02-12T10'"
        assert rows(s, sql) in ([(sum(t >= "2025-02-12T10" for t in times),)], None)
        sql = (
            "SELECT count(*) FROM cloudtrail_logs WHERE from_iso8601_timestamp(eventtime)"
            " BETWEEN '2025-02-12 00:00:00' AND current_timestamp"
        )
        assert rows(s, sql) in ([(len(times),)], None)
    finally:
        s.close()


# --- strings and regular expressions -----------------------------------------------------
# string.md and TestStringFunctions: split_part (NULL past the last field, testSplitPart), split
# (testSplit: "The last element in the array always contain everything left"), strpos with an
# instance (testStringPosition), substr (testSubstring: position 0 or before the start is ''),
# replace (testReplace: an empty search inserts the replacement around every character), trim
# (testLeftTrim/testRightTrim: Java whitespace such as U+2028 is removed).
STRINGS = [
    ("split_part('abc-@-def-@-ghi', '-@-', 1)", "abc"),
    ("split_part('abc-@-def-@-ghi', '-@-', 3)", "ghi"),
    ("split_part('abc-@-def-@-ghi', '-@-', 4)", None),
    ("split_part('abc-@-def-@-ghi', '-@-', 99)", None),
    ("split_part('abc', 'abc', 1)", ""),
    ("split_part('abc', 'abc', 3)", None),
    ("split_part('', 'abc', 1)", ""),
    ("split_part('', '', 1)", None),
    ("split_part('abc', '', 2)", "b"),
    ("split_part('abc', '', 4)", None),
    ("split_part('abcdddddef', 'dd', 2)", ""),
    ("split_part('a/b/c/', '/', 4)", ""),
    ("split_part('arn:aws:iam::123456789012:user/alice', ':', 5)", "123456789012"),
    ("split('a.b.c', '.')", ["a", "b", "c"]),
    ("split('a..b..c', '..')", ["a", "b", "c"]),
    ("split('a.b.c', '.', 2)", ["a", "b.c"]),
    ("split('a.b.c', '.', 4)", ["a", "b", "c"]),
    ("split('a.b.c.', '.', 3)", ["a", "b", "c."]),
    ("split('a..b..c', '.', 3)", ["a", "", "b..c"]),
    ("split('...', '.')", ["", "", "", ""]),
    ("split('ab', '.', 1)", ["ab"]),
    ("strpos('high', 'ig')", 2),
    ("strpos('high', 'igx')", 0),
    ("strpos('x', '')", 1),
    ("strpos(NULL, '')", None),
    ("strpos('abc/xyz/foo/bar', '/', 2)", 8),
    ("strpos('abc/xyz/foo/bar', '/', 4)", 0),
    ("strpos('abc/xyz/foo/bar', '/', -1)", 12),
    ("strpos('abc/xyz/foo/bar', '/', -3)", 4),
    ("strpos('highhigh', 'ig', -2)", 2),
    ("strpos('foobarfoo', 'oo', -1)", 8),
    ("strpos('\u4fe1\u5ff5,\u7231,\u5e0c\u7231\u671b', '\u7231', -1)", 7),
    ("substr('Quadratically', 5)", "ratically"),
    ("substr('Quadratically', 50)", ""),
    ("substr('Quadratically', -5)", "cally"),
    ("substr('Quadratically', -50)", ""),
    ("substr('Quadratically', 0)", ""),
    ("substr('Quadratically', 5, 6)", "ratica"),
    ("substr('Quadratically', -5, 4)", "call"),
    ("substr('Quadratically', -5, 40)", "cally"),
    ("substr('Quadratically', -50, 4)", ""),
    ("substr('Quadratically', 0, 4)", ""),
    ("substr('Quadratically', 5, 0)", ""),
    ("substring('Quadratically' FROM 5 FOR 6)", "ratica"),
    ("replace('abcdefabcdef', 'cd')", "abefabef"),
    ("replace('abcdefabcdef', 'cd', 'XX')", "abXXefabXXef"),
    ("replace('abc', '', 'xx')", "xxaxxbxxcxx"),
    ("replace('', '', 'xx')", "xx"),
    ("replace('foo', '')", "foo"),
    ("trim('  hello  ')", "hello"),
    ("ltrim('  hello  ')", "hello  "),
    ("rtrim('  hello  ')", "  hello"),
    ("ltrim(' \u2028 \u4fe1\u5ff5 \u7231')", "\u4fe1\u5ff5 \u7231"),
    ("rtrim('\u4fe1\u5ff5 \u7231 \u2028 ')", "\u4fe1\u5ff5 \u7231"),
    ("trim('\t\nhello\r\n')", "hello"),
    ("trim('!' FROM '!foo!')", "foo"),
    ("lower('HeLLo')", "hello"),
    ("upper('HeLLo')", "HELLO"),
    ("concat('hello', ' world')", "hello world"),
    ("concat('a', NULL)", None),
    ("'a' || 'b' || 'c'", "abc"),
    ("length('hello na\u00efve world')", 17),
    ("reverse('hello')", "olleh"),
    # binary.md: md5(varbinary) -> varbinary, to_hex -> uppercase hexadecimal.
    ("to_hex(md5(to_utf8('hello')))", "5D41402ABC4B2A76B9719D911017C592"),
    ("to_hex(to_utf8('ab'))", "6162"),
    ("lower(to_hex(md5(to_utf8(''))))", "d41d8cd98f00b204e9800998ecf8427e"),
]

# regexp.md, with its examples; "\$" in a replacement is a dollar sign; the (?i) flag of Java's
# pattern syntax makes a match case-insensitive.
REGEXPS = [
    (r"regexp_extract_all('1a 2b 14m', '\d+')", ["1", "2", "14"]),
    (r"regexp_extract_all('1a 2b 14m', '(\d+)([a-z]+)', 2)", ["a", "b", "m"]),
    (r"regexp_extract_all('1a 2b 14m', 'x')", []),
    (r"regexp_like('1a 2b 14m', '\d+b')", True),
    ("regexp_like('ABC', '(?i)abc')", True),
    ("regexp_like('abc', '^b')", False),
    (r"regexp_replace('1a 2b 14m', '\d+[ab] ')", "14m"),
    (r"regexp_replace('1a 2b 14m', '(\d+)([ab]) ', '3c$2 ')", "3ca 3cb 14m"),
    ("regexp_replace('abcabc', 'b', 'X')", "aXcaXc"),
    (r"regexp_replace('price 5', '(\d)', '\$$1')", "price $5"),
    (r"regexp_replace('a.b', '\.', '\\')", "a\\b"),
    ("regexp_replace('arn:aws:iam::1:role/x', '^arn:aws:iam::([0-9]+):.*$', 'account $1')", "account 1"),
]

# url.md and TestUrlFunctions.testUrlExtract / testUrlExtractParameter.
URLS = [
    ("url_extract_protocol('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "http"),
    ("url_extract_host('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "example.com"),
    ("url_extract_path('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "/path1/p.php"),
    ("url_extract_query('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "k1=v1&k2=v2"),
    ("url_extract_fragment('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "Ref1"),
    ("url_extract_port('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", None),
    ("url_extract_port('http://example.com:8080/path1/p.php?k1=v1&k2=v2#Ref1')", 8080),
    ("url_extract_query('http://example.com/path1/p.php?')", ""),
    ("url_extract_path('https://username:password@example.com')", ""),
    ("url_extract_protocol('mailto:test@example.com')", "mailto"),
    ("url_extract_path('mailto:test@example.com')", ""),
    ("url_extract_path('foo')", "foo"),
    ("url_extract_protocol('foo')", ""),
    ("url_extract_path('http://example.com/^')", None),
    ("url_extract_protocol('https://127.0.0.1:8080/req_path')", "https"),
    ("url_extract_protocol('ftp://path/file')", "ftp"),
    ("url_extract_parameter('http://example.com/path1/p.php?k1=v1&k2=v2&k3&k4#Ref1', 'k1')", "v1"),
    ("url_extract_parameter('http://example.com/path1/p.php?k1=v1&k2=v2&k3&k4#Ref1', 'k3')", ""),
    ("url_extract_parameter('http://example.com/path1/p.php?k1=v1&k2=v2&k3&k4#Ref1', 'k5')", None),
    ("url_extract_parameter('http://example.com/path1/p.php?k1=v1&k1=v2&k1&k1#Ref1', 'k1')", "v1"),
    ("url_extract_parameter('http://example.com/path1/p.php?k1&k1=v1&k1&k1#Ref1', 'k1')", ""),
    ("url_extract_parameter('http://example.com/path1/p.php?k=a=b=c&x=y#Ref1', 'k')", "a=b=c"),
    ("url_extract_parameter('http://example.com/path1/p.php?k1=a%26k2%3Db&k2=c#Ref1', 'k2')", "c"),
    ("url_extract_parameter('foo', 'k1')", None),
]


@pytest.mark.parametrize(("expr", "expected"), [*STRINGS, *REGEXPS, *URLS])
def test_strings(session: Session, expr: str, expected: Any) -> None:
    check(session, expr, expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("split_part('abc', '', 0)", "Index must be greater than zero"),
        ("split_part('abc-@-def-@-ghi', '-@-', -1)", "Index must be greater than zero"),
        ("split('a.b.c', '', 1)", "The delimiter may not be the empty string"),
        ("split('a.b.c', '.', 0)", "Limit must be positive"),
        ("strpos('abc/xyz/foo/bar', '/', 0)", "'instance' must be a positive or negative number."),
    ],
)
def test_string_failures(session: Session, expr: str, message: str) -> None:
    fails(session, expr, message)


@pytest.mark.parametrize(
    "expr",
    [
        # A group that takes no part in a match is NULL in Trino, '' in DuckDB.
        "regexp_extract_all('ab', 'a|(b)', 1)",
        # Named groups and group numbers above 9 have no RE2 rewrite.
        "regexp_replace('ab', '(?<x>a)', '${x}')",
        "regexp_replace('abcdefghij', '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)', '$10')",
    ],
)
def test_strings_refused(session: Session, expr: str) -> None:
    refused(session, f"SELECT {expr} AS v")


# --- arrays and maps ---------------------------------------------------------------------
# array.md and map.md: subscripts and element_at are 1-based; element_at is NULL past the end and
# counts from the end for a negative index; contains is NULL when the element is missing and the
# array holds a NULL (ArrayContains); array_distinct keeps the first of each value (and one NULL);
# any_match/all_match/none_match are three-valued; cardinality -> bigint; filter, transform and
# reduce with the reference's examples.
ARRAYS = [
    ("ARRAY[10, 20, 30][1]", 10),
    ("ARRAY[10, 20, 30][3]", 30),
    ("split('a/b/c', '/')[2]", "b"),
    ("element_at(ARRAY[10, 20, 30], 1)", 10),
    ("element_at(ARRAY[10, 20, 30], 4)", None),
    ("element_at(ARRAY[10, 20, 30], -1)", 30),
    ("element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'b')", 2),
    ("element_at(MAP(ARRAY['a', 'b'], ARRAY[1, 2]), 'z')", None),
    ("MAP(ARRAY['a', 'b'], ARRAY[1, 2])['a']", 1),
    ("cardinality(ARRAY[1, 2, 3])", 3),
    ("cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))", 2),
    ("contains(ARRAY[1, 2, 3], 2)", True),
    ("contains(ARRAY[1, 2, 3], 5)", False),
    ("contains(ARRAY[1, NULL, 3], 2)", None),
    ("contains(ARRAY[1, NULL, 3], 3)", True),
    ("contains(ARRAY[1, 2], NULL)", None),
    ("array_distinct(ARRAY[3, 1, 3, 2, 1])", [3, 1, 2]),
    ("array_distinct(ARRAY['b', NULL, 'a', NULL, 'b'])", ["b", None, "a"]),
    ("array_join(ARRAY['a', 'b', NULL], ',')", "a,b"),
    ("array_join(ARRAY['a', 'b', NULL], ',', 'N')", "a,b,N"),
    ("filter(ARRAY[5, -6, NULL, 7], x -> x > 0)", [5, 7]),
    ("filter(ARRAY[5, NULL, 7, NULL], x -> x IS NOT NULL)", [5, 7]),
    ("transform(ARRAY[5, 6], x -> x + 1)", [6, 7]),
    ("transform(ARRAY[5, NULL, 6], x -> coalesce(x, 0) + 1)", [6, 1, 7]),
    ("transform(ARRAY['x', 'abc', 'z'], x -> x || '0')", ["x0", "abc0", "z0"]),
    ("transform(ARRAY[ARRAY[1, NULL, 2], ARRAY[3, NULL]], a -> filter(a, x -> x IS NOT NULL))", [[1, 2], [3]]),
    ("reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s)", 75),
    ("reduce(ARRAY[5, 20, NULL, 50], 0, (s, x) -> s + x, s -> s)", None),
    ("reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s * 2)", 150),
    ("any_match(ARRAY[1, 2, 3], x -> x > 2)", True),
    ("any_match(ARRAY[1, 2, 3], x -> x > 5)", False),
    ("any_match(ARRAY[1, NULL, 3], x -> x > 5)", None),
    ("any_match(ARRAY[1, NULL, 7], x -> x > 5)", True),
    ("all_match(ARRAY[1, 2, 3], x -> x > 0)", True),
    ("all_match(ARRAY[1, NULL, 3], x -> x > 0)", None),
    ("all_match(ARRAY[1, NULL, -3], x -> x > 0)", False),
    ("all_match(ARRAY[], x -> x > 0)", True),
    ("none_match(ARRAY[1, 2, 3], x -> x > 5)", True),
    ("none_match(ARRAY[1, 2, 7], x -> x > 5)", False),
    ("none_match(ARRAY[1, NULL], x -> x > 5)", None),
    ("map_keys(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))", ["a", "b"]),
    ("map_values(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))", [1, 2]),
    ("ARRAY['x', 'y']", ["x", "y"]),
    ("ARRAY[1] || ARRAY[2]", [1, 2]),
]


@pytest.mark.parametrize(("expr", "expected"), ARRAYS)
def test_arrays_and_maps(session: Session, expr: str, expected: Any) -> None:
    check(session, expr, expected)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        # array.md: the subscript operator "would fail" past the end, where element_at is NULL.
        ("ARRAY[1, 2, 3][4]", "Array subscript must be less than or equal to array length: 4 > 3"),
        ("ARRAY[1, 2, 3][0]", "SQL array indices start at 1"),
        ("ARRAY[1, 2, 3][-1]", "Array subscript is negative: -1"),
        ("element_at(ARRAY[1, 2, 3], 0)", "SQL array indices start at 1"),
        ("MAP(ARRAY['a'], ARRAY[1])['z']", "Key not present in map: z"),
    ],
)
def test_array_failures(session: Session, expr: str, message: str) -> None:
    fails(session, expr, message)


# --- aggregates and window functions -----------------------------------------------------
# aggregate.md: count_if -> bigint ("the number of TRUE input values"), histogram -> map<K,bigint>,
# max_by/min_by (the n-value form in descending/ascending order of y), arbitrary, array_agg with
# DISTINCT and ORDER BY, approx_distinct -> bigint; sum of integers is a bigint. window.md:
# row_number, rank (with gaps), lag/lead (default NULL, or the given default), frames.
VALUES = "(VALUES ('a', 3), ('b', 1), ('a', 2), ('c', NULL)) AS t(k, x)"


def test_count_if(session: Session) -> None:
    table = execute(session, f"SELECT count_if(x > 1) AS v, count_if(x > 100) AS none FROM {VALUES}")
    if table is None:
        return
    assert table.to_pylist() == [{"v": 2, "none": 0}]
    assert pa.types.is_int64(table.schema.field("v").type)


def test_sum_of_integers_is_a_bigint(session: Session) -> None:
    table = execute(session, f"SELECT sum(x) AS v, sum(CAST(x AS DOUBLE)) AS d FROM {VALUES}")
    if table is None:
        return
    assert table.to_pylist() == [{"v": 6, "d": 6.0}]
    assert pa.types.is_int64(table.schema.field("v").type)
    assert pa.types.is_floating(table.schema.field("d").type)


def test_histogram(session: Session) -> None:
    table = execute(session, f"SELECT histogram(k) AS v FROM {VALUES}")
    if table is None:
        return
    assert dict(table.column("v")[0].as_py()) == {"a": 2, "b": 1, "c": 1}
    assert pa.types.is_int64(table.schema.field("v").type.item_type)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (f"SELECT max_by(k, x), min_by(k, x) FROM {VALUES}", [("a", "b")]),
        (f"SELECT max_by(k, x, 2) FROM {VALUES}", [(["a", "a"],)]),
        (f"SELECT arbitrary(k) FROM {VALUES} WHERE k = 'b'", [("b",)]),
        (f"SELECT array_agg(x ORDER BY x) FROM {VALUES} WHERE x IS NOT NULL", [([1, 2, 3],)]),
        (f"SELECT array_agg(x ORDER BY x DESC) FROM {VALUES} WHERE x IS NOT NULL", [([3, 2, 1],)]),
        (f"SELECT array_agg(DISTINCT k ORDER BY k) FROM {VALUES}", [(["a", "b", "c"],)]),
        (f"SELECT array_agg(x) FROM {VALUES} WHERE x > 100", [(None,)]),
        (f"SELECT approx_distinct(k) FROM {VALUES}", [(3,)]),
        (f"SELECT approx_distinct(k, 0.0040625) FROM {VALUES}", [(3,)]),
        ("SELECT approx_percentile(x, 0.5) FROM (VALUES 1, 2, 3, 4, 5) AS t(x)", [(3,)]),
        (f"SELECT k, count_if(x > 1) FROM {VALUES} GROUP BY k ORDER BY k", [("a", 2), ("b", 0), ("c", 0)]),
        (f"SELECT sum(x) FILTER (WHERE k = 'a') FROM {VALUES}", [(5,)]),
    ],
)
def test_aggregates(session: Session, sql: str, expected: list[tuple[Any, ...]]) -> None:
    assert rows(session, sql) in (expected, None)


WINDOW_DATA = "(VALUES (1, 10), (2, 20), (2, 20), (3, 5)) AS t(g, x)"


def test_window_functions(session: Session) -> None:
    sql = (
        "SELECT g, x, row_number() OVER (ORDER BY g, x) AS rn, rank() OVER (ORDER BY g) AS rk,"
        " lag(x) OVER (ORDER BY g, x) AS prev, lead(x, 1, 0) OVER (ORDER BY g, x) AS next,"
        " sum(x) OVER (ORDER BY g, x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair,"
        " sum(x) OVER (ORDER BY g, x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,"
        " count_if(x > 10) OVER () AS big"
        f" FROM {WINDOW_DATA} ORDER BY rn"
    )
    table = execute(session, sql)
    if table is None:
        return
    xs = [10, 20, 20, 5]
    assert [tuple(r.values()) for r in table.to_pylist()] == [
        (1, 10, 1, 1, None, 20, 10, 10, 2),
        (2, 20, 2, 2, 10, 20, 30, 30, 2),
        (2, 20, 3, 2, 20, 5, 40, 50, 2),
        (3, 5, 4, 4, 20, 0, 25, sum(xs), 2),
    ]
    for name in ("pair", "running", "big"):
        assert pa.types.is_int64(table.schema.field(name).type), name


# --- conditionals, conversions and query constructs --------------------------------------
# conditional.md (if, coalesce, try: NULL where the expression fails) and conversion.md (try_cast);
# select.md (TABLESAMPLE, VALUES, DISTINCT over a row).
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("if(1 > 0, 'a', 'b')", "a"),
        ("if(1 < 0, 'a')", None),
        ("coalesce(NULL, 2, 3)", 2),
        ("try(1 / 0)", None),
        ("try(CAST('x' AS integer))", None),
        ("try(split_part('a:b', ':', 0))", None),
        ("try(ARRAY[1, 2][3])", None),
        ("coalesce(try(split('a.b', '.')[5]), 'none')", "none"),
        ("try_cast('a' AS integer)", None),
        ("try_cast('12' AS integer)", 12),
    ],
)
def test_conditionals(session: Session, expr: str, expected: Any) -> None:
    check(session, expr, expected)


@pytest.mark.parametrize("method", ["BERNOULLI", "SYSTEM"])
def test_tablesample_runs(session: Session, method: str) -> None:
    counted = rows(session, f"SELECT count(*) FROM (VALUES 1, 2, 3, 4) AS t(x) TABLESAMPLE {method} (50)")
    assert counted is None or 0 <= counted[0][0] <= 4


def test_values_and_distinct_rows(session: Session) -> None:
    assert rows(session, "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(x, y)") in ([(1, "a"), (2, "b")], None)
    distinct = rows(session, "SELECT DISTINCT (x, y) FROM (VALUES (1, 'a'), (1, 'a'), (2, 'b')) AS t(x, y)")
    assert distinct is None or sorted(tuple(r[0].values()) for r in distinct) == [(1, "a"), (2, "b")]
    counted = rows(session, "SELECT count(DISTINCT (x, y)) FROM (VALUES (1, 'a'), (1, 'a'), (2, 'b')) AS t(x, y)")
    assert counted in ([(2,)], None)


def test_lambdas_use_duckdb_syntax() -> None:
    # DuckDB 2.0 deprecates the arrow lambda; the SQL sent to it spells `lambda x: ...`.
    from trailsql.engines.duckdb.transforms import to_duckdb
    from trailsql.sql.parse import parse_one

    sql = to_duckdb(parse_one("SELECT transform(a, x -> x + 1), filter(a, x -> x > 0) FROM t"))
    assert "->" not in sql and sql.count("LAMBDA x") == 2


@pytest.mark.parametrize(
    "sql",
    [
        # sqlglot would drop the comparator of array_sort and the weight of approx_percentile.
        "SELECT array_sort(ARRAY[3, 1, 2], (x, y) -> IF(x < y, 1, IF(x = y, 0, -1)))",
        "SELECT approx_percentile(x, w, 0.5) FROM (VALUES (1, 1), (2, 5)) AS t(x, w)",
    ],
)
def test_dropped_arguments_are_refused(session: Session, sql: str) -> None:
    refused(session, sql)
