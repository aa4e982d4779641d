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
