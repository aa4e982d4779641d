"""Values print as Athena prints them."""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa

from trailsql import output


def test_athena_text_of_rows_arrays_maps_and_times() -> None:
    assert output.athena_text({"ARN": "a", "accountId": "1", "type": None}) == "{arn=a, accountid=1, type=null}"
    assert output.athena_text([{"ARN": "x"}, {"ARN": "y"}]) == "[{arn=x}, {arn=y}]"
    assert output.athena_text([("k", "v")]) == "{k=v}"
    utc = dt.datetime(2025, 1, 15, 14, 23, 45, tzinfo=dt.UTC)
    assert output.athena_text(utc) == "2025-01-15 14:23:45.000 UTC"
    assert output.athena_text(dt.datetime(2025, 1, 15, 14, 23, 45, 120000)) == "2025-01-15 14:23:45.120"
    assert output.athena_text(dt.date(2025, 1, 15)) == "2025-01-15"
    assert output.athena_text(True) == "true" and output.athena_text(None) is None


def test_csv_is_athena_result_file_shape() -> None:
    table = pa.table({"eventname": ["A", 'say "hi"', None], "n": [1, 2, 3]})
    out = io.StringIO()
    output.write(table, "csv", out)
    assert out.getvalue() == '"eventname","n"\n"A","1"\n"say ""hi""","2"\n,"3"\n'


def test_athena_shaped_names_and_rows(session: object) -> None:
    from trailsql.session import Session

    assert isinstance(session, Session)
    # Unnamed expressions are _col0, _col1... (Athena's result set metadata); columns keep their names.
    result = session.execute("SELECT x, count(*), x + 1 AS y FROM (VALUES 1, 1, 2) AS t(x) GROUP BY x ORDER BY x")
    assert result.table.column_names == ["x", "_col1", "y"]
    assert result.table.to_pylist() == [{"x": 1, "_col1": 2, "y": 2}, {"x": 2, "_col1": 1, "y": 3}]
    # A top-level VALUES is a query too.
    assert session.execute("VALUES (1, 'a')").table.to_pylist() == [{"_col0": 1, "_col1": "a"}]
    # Anonymous rows print with field0, field1..., as in Athena's console and CSV.
    row = session.execute("SELECT DISTINCT (a, b) FROM (VALUES (1, 'x')) AS t(a, b)").table.column(0)[0].as_py()
    assert output.athena_text(row) == "{field0=1, field1=x}"
