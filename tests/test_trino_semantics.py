"""Expectation tests: the answers Trino documents, asked of trailsql.

Every expected value below comes from Trino, never from trailsql's output. Sources,
cited per group (paths in github.com/trinodb/trino):

* the function reference, docs/src/main/sphinx/functions/*.md (trino.io/docs/current/functions/...),
  and the SELECT reference, docs/src/main/sphinx/sql/select.md (UNNEST);
* where the reference gives no example value, Trino's own function tests
  (core/trino-main/src/test/java/io/trino/operator/scalar/Test*.java) or the function's source.

Athena runs its sessions in UTC, so values that depend on the session time zone
(``parse_datetime``) are expected in UTC.

Cases marked ``beyond_list`` go past the behaviours trailsql promises to match. For those
(and only those) a clean refusal, :class:`~trailsql.errors.NotSupportedError`, is an
acceptable answer; a wrong answer or an engine error is not. Every case runs on each engine of
``conftest.ENGINES``, and on the Spark engine a refusal is acceptable for every case (see
:mod:`test_trino_functions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from conftest import ENGINES
from test_trino_functions import engine_sessions, execute, refused
from trailsql.errors import NotSupportedError
from trailsql.session import Session

UTC = dt.UTC


@pytest.fixture(scope="module", params=ENGINES)
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """This module's session on each engine (its Spark queries counted apart)."""
    yield from engine_sessions(request)


def _check_value(value: Any, expected: Any) -> None:
    """``value`` is Trino's ``expected``, and of a matching kind."""
    if expected is None:
        assert value is None
    elif isinstance(expected, bool):
        assert value is expected
    elif isinstance(expected, int):
        # An exact number (the integer type itself is checked in test_integer_result_types).
        assert isinstance(value, int | Decimal) and not isinstance(value, bool), f"expected an integer, got {value!r}"
        assert value == expected
    elif isinstance(expected, float):
        assert isinstance(value, float | Decimal), f"expected a number, got {value!r}"
        assert float(value) == expected
    elif isinstance(expected, dt.datetime):
        # parse_datetime returns a timestamp WITH time zone: an aware value, same instant.
        assert isinstance(value, dt.datetime), f"expected a timestamp, got {value!r}"
        assert value.tzinfo is not None, f"expected a timestamp with time zone, got {value!r}"
        assert value == expected
    else:
        assert value == expected


def _run(session: Session, sql: str, beyond_list: bool) -> pa.Table | None:
    """The result table of ``sql``, or None when trailsql refuses a ``beyond_list`` case (or
    the Spark engine any case)."""
    try:
        return execute(session, sql)
    except NotSupportedError:
        if beyond_list:
            return None
        raise


def check_expression(session: Session, expr: str, expected: Any, beyond_list: bool = False) -> None:
    table = _run(session, f"SELECT {expr} AS v", beyond_list)
    if table is None:
        return
    assert table.num_rows == 1
    _check_value(table.column("v")[0].as_py(), expected)


def check_rows(session: Session, sql: str, expected: list[tuple[Any, ...]], beyond_list: bool = False) -> None:
    """The rows of ``sql`` are ``expected``, in any order."""
    table = _run(session, sql, beyond_list)
    if table is None:
        return
    rows = [tuple(row.values()) for row in table.to_pylist()]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)


# --- date_diff ---------------------------------------------------------------------------
# functions/datetime.md, date_diff(unit, timestamp1, timestamp2): "Returns timestamp2 - timestamp1
# expressed in terms of unit", with the examples below. Trino counts whole units elapsed (and
# truncates toward zero when negative): TestDateTimeFunctions.testDateDiffTimestamp expects Joda's
# daysBetween / hoursBetween / monthsBetween / yearsBetween, i.e. complete units only.
DATE_DIFF = [
    # The reference's own examples.
    ("date_diff('second', TIMESTAMP '2020-03-01 00:00:00', TIMESTAMP '2020-03-02 00:00:00')", 86400),
    ("date_diff('hour', TIMESTAMP '2020-03-01 00:00:00 UTC', TIMESTAMP '2020-03-02 00:00:00 UTC')", 24),
    ("date_diff('day', DATE '2020-03-01', DATE '2020-03-02')", 1),
    (
        "date_diff('second', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')",
        86400,
    ),
    (
        "date_diff('millisecond', TIMESTAMP '2020-06-01 12:30:45.000000000', TIMESTAMP '2020-06-02 12:30:45.123456789')",
        86400123,
    ),
    # Whole units elapsed, not unit boundaries crossed.
    ("date_diff('day', TIMESTAMP '2025-01-01 10:00:00', TIMESTAMP '2025-01-02 09:00:00')", 0),
    ("date_diff('day', TIMESTAMP '2025-01-01 10:00:00', TIMESTAMP '2025-01-02 10:00:00')", 1),
    ("date_diff('hour', TIMESTAMP '2025-01-01 10:30:00', TIMESTAMP '2025-01-01 11:29:59')", 0),
    ("date_diff('second', TIMESTAMP '2025-01-01 10:00:00.900', TIMESTAMP '2025-01-01 10:00:01.100')", 0),
    ("date_diff('month', TIMESTAMP '2025-01-15 12:00:00', TIMESTAMP '2025-02-15 11:59:59')", 0),
    ("date_diff('month', TIMESTAMP '2025-01-15 12:00:00', TIMESTAMP '2025-02-15 12:00:00')", 1),
    ("date_diff('year', TIMESTAMP '2024-12-31 23:59:59', TIMESTAMP '2025-01-01 00:00:00')", 0),
    ("date_diff('week', DATE '2025-01-01', DATE '2025-01-14')", 1),
    # quarter = whole months / 3 (testDateDiffTimestamp): 5 whole months -> 1.
    ("date_diff('quarter', DATE '2025-01-15', DATE '2025-07-14')", 1),
    # Negative direction: timestamp2 before timestamp1, truncated toward zero.
    ("date_diff('day', TIMESTAMP '2025-01-02 09:00:00', TIMESTAMP '2025-01-01 10:00:00')", 0),
    ("date_diff('day', TIMESTAMP '2025-01-03 09:00:00', TIMESTAMP '2025-01-01 10:00:00')", -1),
    ("date_diff('hour', TIMESTAMP '2025-01-01 10:30:00', TIMESTAMP '2025-01-01 08:45:00')", -1),
    ("date_diff('month', TIMESTAMP '2025-03-15 12:00:00', TIMESTAMP '2025-01-20 00:00:00')", -1),
]


@pytest.mark.parametrize(("expr", "expected"), DATE_DIFF)
def test_date_diff(session: Session, expr: str, expected: int) -> None:
    check_expression(session, expr, expected)


# --- json_extract_scalar -----------------------------------------------------------------
# functions/json.md, json_extract_scalar(json, json_path): "Like json_extract, but returns the result
# value as a string ... The value referenced by json_path must be a scalar (boolean, number or
# string)", example json_extract_scalar('[1, 2, 3]', '$[2]'); json_extract shows the bracket forms
# '$.store[book]' and '$.store["book name"]'. Values: TestJsonExtract.testFullScalarExtract (objects
# and arrays give NULL, "Null b/c value is complex type"; missing keys and JSON null give NULL);
# invalid JSON gives NULL (JsonExtract.extract: "Return null if we failed to parse something").
JSON_EXTRACT_SCALAR = [
    ("""json_extract_scalar('[1, 2, 3]', '$[2]')""", "3"),
    ("""json_extract_scalar('[0, 1, 2]', '$[0]')""", "0"),
    ("""json_extract_scalar('{"fuu": 1}', '$.fuu')""", "1"),
    ("""json_extract_scalar('{"fuu": 1, "bar": "abc"}', '$.bar')""", "abc"),
    ("""json_extract_scalar('{"fuu": [0.1, 1, 2]}', '$.fuu[0]')""", "0.1"),
    ("""json_extract_scalar('{"fuu": [0, [100, 101], 2]}', '$.fuu[1][1]')""", "101"),
    ("""json_extract_scalar('{"fuu": [0, {"bar": {"key" : ["value"]}}, 2]}', '$.fuu[1].bar.key[0]')""", "value"),
    ("""json_extract_scalar('{"a": true}', '$.a')""", "true"),
    ("""json_extract_scalar('"abc"', '$')""", "abc"),
    ("""json_extract_scalar('123', '$')""", "123"),
    # An object or an array is not a scalar: NULL, not its JSON text.
    ("""json_extract_scalar('{"fuu": {"bar": 1}}', '$.fuu')""", None),
    ("""json_extract_scalar('{"fuu": [0, [100, 101], 2]}', '$.fuu[1]')""", None),
    ("""json_extract_scalar('{}', '$')""", None),
    # JSON null, a missing key, an index out of bounds, invalid JSON: NULL.
    ("""json_extract_scalar('{"fuu": null}', '$.fuu')""", None),
    ("""json_extract_scalar('null', '$')""", None),
    ("""json_extract_scalar('{"fuu": 1}', '$.bar')""", None),
    ("""json_extract_scalar('[1]', '$[1]')""", None),
    ("""json_extract_scalar('not json', '$.a')""", None),
    ("""json_extract_scalar('', '$.a')""", None),
    # Bracket paths.
    ("""json_extract_scalar('{"fuu": 1}', '$["fuu"]')""", "1"),
    ("""json_extract_scalar('{"fuu": 1}', '$[fuu]')""", "1"),
    ("""json_extract_scalar('{"x-amz-id-2": "abc"}', '$["x-amz-id-2"]')""", "abc"),
    (
        """json_extract_scalar('{"additionalEventData": {"x-amz-id-2": "abc"}}', '$.additionalEventData["x-amz-id-2"]')""",
        "abc",
    ),
    ("""json_extract_scalar('{"a": [10, 20]}', '$.a[0]')""", "10"),
    # A key starting with a digit, dotted (testFullScalarExtract, "fields starting with a digit").
    ("""json_extract_scalar('{"15day" : 0, "30day" : 1, "90day" : 2}', '$.30day')""", "1"),
]


@pytest.mark.parametrize(("expr", "expected"), JSON_EXTRACT_SCALAR)
def test_json_extract_scalar(session: Session, expr: str, expected: str | None) -> None:
    check_expression(session, expr, expected)


# --- integer division --------------------------------------------------------------------
# functions/math.md, mathematical operators: "/ Division (integer division performs truncation)".
DIVISION = [
    ("7 / 2", 3),
    ("-7 / 2", -3),
    ("7 / -2", -3),
    ("CAST(7 AS BIGINT) / CAST(-2 AS BIGINT)", -3),
    ("1 / 3", 0),
    # A decimal or double operand is not integer division.
    ("7.0 / 2", 3.5),
    ("7 / 2.0", 3.5),
    ("7e0 / 2", 3.5),
]


@pytest.mark.parametrize(("expr", "expected"), DIVISION)
def test_integer_division(session: Session, expr: str, expected: float) -> None:
    check_expression(session, expr, expected)


def test_integer_division_of_count(session: Session) -> None:
    # count(*) is a bigint: 5 / 2 truncates to 2.
    check_rows(session, "SELECT count(*) / 2 AS v FROM (VALUES 1, 2, 3, 4, 5) AS t(x)", [(2,)])


def test_integer_division_of_columns(session: Session) -> None:
    check_rows(session, "SELECT x / 2 AS v FROM (VALUES 7, -7) AS t(x)", [(3,), (-3,)])


# --- regexp_extract ----------------------------------------------------------------------
# functions/regexp.md, regexp_extract(string, pattern[, group]): "Returns the first substring matched
# by the regular expression pattern in string", examples below. No match, or a group that took no part
# in the match, gives NULL: AbstractTestRegexpFunctions.testRegexpExtract.
REGEXP_EXTRACT = [
    (r"regexp_extract('1a 2b 14m', '\d+')", "1"),
    (r"regexp_extract('1a 2b 14m', '(\d+)([a-z]+)', 2)", "a"),
    (r"regexp_extract('Hello world bye', '\b[a-z]([a-z]*)')", "world"),
    (r"regexp_extract('Hello world bye', '\b[a-z]([a-z]*)', 1)", "orld"),
    (r"regexp_extract('12345', 'x')", None),
    (r"regexp_extract('Baby X', 'by ([A-Z].*)\b[a-z]')", None),
    (r"regexp_extract('12345', '(\d)x', 1)", None),
]


@pytest.mark.parametrize(("expr", "expected"), REGEXP_EXTRACT)
def test_regexp_extract(session: Session, expr: str, expected: str | None) -> None:
    check_expression(session, expr, expected)


# --- UNNEST ------------------------------------------------------------------------------
# sql/select.md, UNNEST: "Arrays are expanded into a single column"; "UNNEST can be used in
# combination with an ARRAY of ROW structures for expanding each field of the ROW into a
# corresponding column"; "UNNEST is normally used with a JOIN".
UNNEST = [
    pytest.param(
        "SELECT * FROM UNNEST(ARRAY[1,2]) AS t(number)",
        [(1,), (2,)],
        False,
        id="array-scalars",
    ),
    pytest.param(
        "SELECT student, score FROM (VALUES ('John', ARRAY[7, 10, 9]), ('Mary', ARRAY[4, 8, 9]))"
        " AS tests (student, scores) CROSS JOIN UNNEST(scores) AS t(score)",
        [("John", 7), ("John", 10), ("John", 9), ("Mary", 4), ("Mary", 8), ("Mary", 9)],
        False,
        id="cross-join-scalars",
    ),
    pytest.param(
        "SELECT * FROM UNNEST(ARRAY[ROW('Java', 1995), ROW('SQL', 1974)]) AS t(language, first_appeared_year)",
        [("Java", 1995), ("SQL", 1974)],
        False,
        id="array-of-rows",
    ),
    pytest.param(
        "SELECT id, a, b, c FROM (VALUES (1, ARRAY[ROW('x', 1, true), ROW('y', 2, false)]), (2, ARRAY[ROW('z', 3, true)]))"
        " AS v(id, items) CROSS JOIN UNNEST(items) AS t(a, b, c)",
        [(1, "x", 1, True), (1, "y", 2, False), (2, "z", 3, True)],
        False,
        id="cross-join-rows-values",
    ),
    pytest.param(
        "SELECT id, a, b, c FROM (VALUES (1, ARRAY["
        "CAST(ROW('x', 1, true) AS ROW(p VARCHAR, q INTEGER, r BOOLEAN)), "
        "CAST(ROW('y', 2, false) AS ROW(p VARCHAR, q INTEGER, r BOOLEAN))]))"
        " AS v(id, items) CROSS JOIN UNNEST(items) AS t(a, b, c)",
        [(1, "x", 1, True), (1, "y", 2, False)],
        False,
        id="cross-join-rows-cast",
    ),
    pytest.param(
        "SELECT runner, checkpoint FROM (VALUES ('Joe', ARRAY[10, 20, 30, 42]), ('Roger', ARRAY[10]),"
        " ('Dave', ARRAY[]), ('Levi', NULL)) AS marathon (runner, checkpoints)"
        " LEFT JOIN UNNEST(checkpoints) AS t(checkpoint) ON TRUE",
        [("Joe", 10), ("Joe", 20), ("Joe", 30), ("Joe", 42), ("Roger", 10), ("Dave", None), ("Levi", None)],
        True,
        id="left-join-on-true",
    ),
    pytest.param(
        "SELECT * FROM UNNEST(CAST(null AS ARRAY(integer))) AS t(number)",
        [],
        True,
        id="null-array",
    ),
    pytest.param(
        "SELECT * FROM UNNEST(ARRAY[ROW('Java', 1995), ROW('SQL', 1974)], ARRAY[ROW(false), ROW(true)])"
        " AS t(language, first_appeared_year, declarative)",
        [("Java", 1995, False), ("SQL", 1974, True)],
        True,
        id="two-arrays-of-rows",
    ),
    pytest.param(
        "SELECT numbers, animals, n, a FROM (VALUES (ARRAY[2, 5], ARRAY['dog', 'cat', 'bird']),"
        " (ARRAY[7, 8, 9], ARRAY['cow', 'pig'])) AS x (numbers, animals)"
        " CROSS JOIN UNNEST(numbers, animals) AS t (n, a)",
        [
            ([2, 5], ["dog", "cat", "bird"], 2, "dog"),
            ([2, 5], ["dog", "cat", "bird"], 5, "cat"),
            ([2, 5], ["dog", "cat", "bird"], None, "bird"),
            ([7, 8, 9], ["cow", "pig"], 7, "cow"),
            ([7, 8, 9], ["cow", "pig"], 8, "pig"),
            ([7, 8, 9], ["cow", "pig"], 9, None),
        ],
        True,
        id="two-arrays-padded",
    ),
    pytest.param(
        "SELECT a, b, rownumber FROM UNNEST (ARRAY[2, 5], ARRAY[7, 8, 9]) WITH ORDINALITY AS t(a, b, rownumber)",
        [(2, 7, 1), (5, 8, 2), (None, 9, 3)],
        True,
        id="with-ordinality",
    ),
    pytest.param(
        "SELECT * FROM UNNEST(map_from_entries(ARRAY[('SQL',1974), ('Java', 1995)])) AS t(language, first_appeared_year)",
        [("SQL", 1974), ("Java", 1995)],
        True,
        id="map",
    ),
]


@pytest.mark.parametrize(("sql", "expected", "beyond_list"), UNNEST)
def test_unnest(session: Session, sql: str, expected: list[tuple[Any, ...]], beyond_list: bool) -> None:
    check_rows(session, sql, expected, beyond_list)


# --- to_iso8601 --------------------------------------------------------------------------
# functions/datetime.md, to_iso8601(x): "Formats x as an ISO 8601 string. x can be date, timestamp, or
# timestamp with time zone." Values: TestDateTimeFunctions.testToIso8601 / ...ForTimestampWithoutTimeZone
# (TIMESTAMP '2001-08-22 03:04:05.321' -> '2001-08-22T03:04:05.321'; with zone +07:09 -> '...+07:09';
# DATE -> '2001-08-22'). The zone is the value's own offset (timestamptz/ToIso8601.java appends the
# ZoneOffset, which prints 'Z' for UTC); from_iso8601_timestamp keeps the offset it parsed (datetime.md).
TO_ISO8601 = [
    ("to_iso8601(TIMESTAMP '2001-08-22 03:04:05.321')", "2001-08-22T03:04:05.321"),
    ("to_iso8601(TIMESTAMP '2001-08-22 03:04:05.321 UTC')", "2001-08-22T03:04:05.321Z"),
    ("to_iso8601(DATE '2001-08-22')", "2001-08-22"),
]


@pytest.mark.parametrize(("expr", "expected"), TO_ISO8601)
def test_to_iso8601(session: Session, expr: str, expected: str) -> None:
    check_expression(session, expr, expected)


# --- format_datetime / parse_datetime (Joda-Time patterns) -------------------------------
# functions/datetime.md, "Java date functions": format strings are JodaTime DateTimeFormat patterns;
# format_datetime(timestamp, format) -> varchar, parse_datetime(string, format) -> timestamp with time
# zone. Values: TestDateTimeFunctions.testFormatDatetime / testParseDatetime (session zone: UTC in Athena).
FORMAT_DATETIME = [
    pytest.param("format_datetime(TIMESTAMP '2001-08-22 03:04:05.321', 'YYYY/MM/dd HH:mm')", "2001/08/22 03:04", False),
    pytest.param(
        "format_datetime(TIMESTAMP '2025-02-12 08:09:10', 'yyyy-MM-dd HH:mm:ss')", "2025-02-12 08:09:10", False
    ),
    # Joda: text in single quotes is literal ('' in SQL), SSS is the fraction of second.
    pytest.param(
        "format_datetime(TIMESTAMP '2001-08-22 03:04:05.321', 'yyyy-MM-dd''T''HH:mm:ss.SSS')",
        "2001-08-22T03:04:05.321",
        False,
    ),
    pytest.param(
        "format_datetime(parse_datetime('2025-02-12 08:09:10', 'yyyy-MM-dd HH:mm:ss'), 'yyyy-MM-dd HH:mm:ss')",
        "2025-02-12 08:09:10",
        False,
    ),
    pytest.param(
        "format_datetime(TIMESTAMP '2001-08-22 03:04:05.321 +07:09', 'YYYY/MM/dd HH:mm ZZZZ')",
        "2001/08/22 03:04 +07:09",
        True,
    ),
]


@pytest.mark.parametrize(("expr", "expected", "beyond_list"), FORMAT_DATETIME)
def test_format_datetime(session: Session, expr: str, expected: str, beyond_list: bool) -> None:
    check_expression(session, expr, expected, beyond_list)


PARSE_DATETIME = [
    ("parse_datetime('2025-02-12 08:09:10', 'yyyy-MM-dd HH:mm:ss')", dt.datetime(2025, 2, 12, 8, 9, 10, tzinfo=UTC)),
    (
        "parse_datetime('2020-08-18 03:04:05.678', 'yyyy-MM-dd HH:mm:ss.SSS')",
        dt.datetime(2020, 8, 18, 3, 4, 5, 678000, tzinfo=UTC),
    ),
    ("parse_datetime('1960/01/22 03:04', 'yyyy/MM/dd HH:mm')", dt.datetime(1960, 1, 22, 3, 4, tzinfo=UTC)),
    (
        "parse_datetime('1960/01/22 03:04 +0500', 'yyyy/MM/dd HH:mm Z')",
        dt.datetime(1960, 1, 22, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=5))),
    ),
]


@pytest.mark.parametrize(("expr", "expected"), PARSE_DATETIME)
def test_parse_datetime(session: Session, expr: str, expected: dt.datetime) -> None:
    check_expression(session, expr, expected)


# --- url_extract_host --------------------------------------------------------------------
# functions/url.md: "extract components from HTTP URLs (or any valid URIs conforming to RFC 2396)",
# syntax [protocol:][//host[:port]][path][?query][#fragment]. Values: TestUrlFunctions.testUrlExtract.
# A URI without an authority (no '//host') has an empty host, '' not NULL ('foo', 'mailto:...');
# NULL is for text that is not a valid URI ('http://example.com/^'). UrlFunctions.urlExtractHost
# returns nullToEmpty(uri.getHost()), and NULL only when java.net.URI fails to parse.
URL_EXTRACT_HOST = [
    ("url_extract_host('https://user@example.com:8080/path?q=1')", "example.com"),
    ("url_extract_host('http://example.com/path1/p.php?k1=v1&k2=v2#Ref1')", "example.com"),
    ("url_extract_host('http://example.com:8080/path1/p.php?k1=v1&k2=v2#Ref1')", "example.com"),
    ("url_extract_host('https://username:password@example.com')", "example.com"),
    ("url_extract_host('mailto:test@example.com')", ""),
    ("url_extract_host('foo')", ""),
    ("url_extract_host('example.com/path')", ""),
    ("url_extract_host('http://example.com/^')", None),
]


@pytest.mark.parametrize(("expr", "expected"), URL_EXTRACT_HOST)
def test_url_extract_host(session: Session, expr: str, expected: str | None) -> None:
    check_expression(session, expr, expected)


# --- json_array_contains -----------------------------------------------------------------
# functions/json.md: json_array_contains(json, value) -> boolean, "Determine if value exists in json
# (a string containing a JSON array)", example json_array_contains('[1, 2, 3]', 2) -- true; "Returns
# NULL if json is not an array" (json.rst). Values: TestJsonFunctions.testJsonArrayContains* and
# testJsonArrayContainsInvalid (values compare as JSON values: '[1, 5]' does not contain '5').
JSON_ARRAY_CONTAINS = [
    ("json_array_contains('[1, 2, 3]', 2)", True),
    ("json_array_contains('[1, 2, 3]', 5)", False),
    ("json_array_contains('[]', 1)", False),
    ("json_array_contains('[-4]', -4)", True),
    ("json_array_contains('[1.0]', 1)", False),
    ("json_array_contains('[[2]]', 2)", False),
    ("""json_array_contains('[1, "foo", null, "8"]', 8)""", False),
    ("json_array_contains('[1.5]', 1.5)", True),
    ("json_array_contains('[true, false]', false)", True),
    ("json_array_contains('[1]', true)", False),
    ("""json_array_contains('["foo"]', 'foo')""", True),
    ("""json_array_contains('[1, "foo", null]', 'foo')""", True),
    ("""json_array_contains('["8"]', '8')""", True),
    ("json_array_contains('[1, 5]', '5')", False),
    ("""json_array_contains('[""]', 'x')""", False),
    # Not a JSON array, or invalid JSON: NULL.
    ("json_array_contains('123', 8)", None),
    ("json_array_contains('', 'x')", None),
    ("json_array_contains('[3]', NULL)", None),
]


@pytest.mark.parametrize(("expr", "expected"), JSON_ARRAY_CONTAINS)
def test_json_array_contains(session: Session, expr: str, expected: bool | None) -> None:
    check_expression(session, expr, expected)


# --- json_size ---------------------------------------------------------------------------
# functions/json.md: json_size(json, json_path) -> bigint, "Like json_extract, but returns the size of
# the value. For objects or arrays, the size is the number of members, and the size of a scalar value is
# zero", with the first three examples below. Values: TestJsonFunctions.testJsonSize (invalid JSON gives
# NULL). A path that selects nothing gives NULL, as json_extract does (TestJsonExtract: '$.bar' on
# {"fuu": 1} -> null; json_size runs the same path extractor).
JSON_SIZE = [
    ("""json_size('{"x": {"a": 1, "b": 2}}', '$.x')""", 2),
    ("""json_size('{"x": [1, 2, 3]}', '$.x')""", 3),
    ("""json_size('{"x": {"a": 1, "b": 2}}', '$.x.a')""", 0),
    ("""json_size('{"x": {"a" : 1, "b" : 2} }', '$')""", 1),
    ("""json_size('{"x": {"a" : 1, "b" : [1,2,3], "c" : {"w":9}} }', '$.x')""", 3),
    ("""json_size('[1,2,3]', '$')""", 3),
    ("""json_size('INVALID_JSON', '$')""", None),
    ("""json_size('{"x": 1}', '$.y')""", None),
]


@pytest.mark.parametrize(("expr", "expected"), JSON_SIZE)
def test_json_size(session: Session, expr: str, expected: int | None) -> None:
    check_expression(session, expr, expected)


# --- result types ------------------------------------------------------------------------
# The reference gives these an integer type: date_diff(...) -> bigint and json_size(...) -> bigint
# (datetime.md, json.md); integer / integer stays an integer (math.md: "integer division performs
# truncation"), and count(*) is a bigint (aggregate.md: count(*) -> bigint).
INTEGER_RESULTS = [
    "date_diff('day', DATE '2020-03-01', DATE '2020-03-02')",
    "7 / 2",
    "(SELECT count(*) / 2 FROM (VALUES 1, 2, 3) AS t(x))",
    """json_size('{"x": [1, 2, 3]}', '$.x')""",
]


@pytest.mark.parametrize("expr", INTEGER_RESULTS)
def test_integer_result_types(session: Session, expr: str) -> None:
    table = execute(session, f"SELECT {expr} AS v")
    if table is None:
        return
    arrow_type = table.schema.field("v").type
    assert pa.types.is_integer(arrow_type), f"Trino returns an integer type; got {arrow_type}"


# --- refused by design -------------------------------------------------------------------
# Where trailsql cannot give Trino's answer it must say so instead of answering differently.
# - A capture group that takes no part in the match is NULL in Trino (AbstractTestRegexpFunctions:
#   regexp_extract('rat cat\nbat dog', 'ra(.)|blah(.)(.)', 2) IS NULL) but '' in DuckDB.
# - Trino keeps a timestamp's own zone (to_iso8601 of TIMESTAMP '... +07:09' is '...+07:09');
#   trailsql holds timestamps with time zone in UTC, as CloudTrail writes them.
# - UNNEST of a MAP (sql/select.md) has no DuckDB equivalent over a MAP value yet.
# - CAST of a ROW without field names to JSON: Presto's docs give a JSON array, Trino's
#   row-to-JSON change (trinodb/trino#3613) an object; DuckDB would invent field0, field1 keys.
REFUSED = [
    "SELECT CAST(ROW(1, 'a') AS JSON) AS v",
    "SELECT regexp_extract('rat cat\nbat dog', 'ra(.)|blah(.)(.)', 2) AS v",
    "SELECT to_iso8601(TIMESTAMP '2001-08-22 03:04:05.321 +07:09') AS v",
    "SELECT to_iso8601(from_iso8601_timestamp('2020-05-11T11:15:05.055+01:00')) AS v",
    "SELECT hour(from_iso8601_timestamp('2020-05-11T11:15:05.055-05:00')) AS v",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_rather_than_different(session: Session, sql: str) -> None:
    refused(session, sql)
