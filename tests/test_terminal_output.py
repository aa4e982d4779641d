"""Tables for people: they fit the screen (or ``COLUMNS`` when piped), shorten long values in
the middle but never timestamps or IP addresses, cap at 1,000 rows and page on a terminal;
CSV streams a record batch at a time. Expected text is written out by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import itertools
import os
import pty
import shlex
import struct
import subprocess
import sys
import termios
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from trailsql import output
from trailsql.cli import render
from trailsql.cli.main import cli
from trailsql.cli.query import print_result

TIME = dt.datetime(2025, 2, 12, 14, 23, 45, tzinfo=dt.UTC)
TIME_TEXT = "2025-02-12 14:23:45.000 UTC"
IP = "104.102.221.254"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
ARN = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com"
REQUEST = '{"bucketName":"central-logs-123456789012","key":"AWSLogs/123456789012/CloudTrail/us-east-1/2025/02/12/f.gz"}'
NARROW: dict[str, list[Any]] = {"eventtime": [TIME] * 3, "sourceipaddress": [IP, "10.0.0.1", "ec2.amazonaws.com"]}
NARROW |= {"eventname": ["AssumeRole", "GetObject", "ConsoleLogin"], "arn": [ARN, "arn:aws:iam::1:user/b", None]}
WIDE: dict[str, list[Any]] = NARROW | {"source_v6": [IPV6] * 3, "requestparameters": [REQUEST] * 3, "n": [1, 22, 333]}
#: A query of ``n`` rows that needs no logs.
ROWS_SQL = "SELECT x, 'arn:aws:iam::123456789012:user/someone-with-a-long-name-' || cast(x AS varchar) AS arn "
ROWS_SQL += "FROM UNNEST(sequence(1, {n})) AS t(x)"


def printed(columns: dict[str, list[Any]], **options: Any) -> str:
    """What ``print_result`` writes of a table when piped."""
    out = io.StringIO()
    print_result(SimpleNamespace(table=pa.table(columns)), "table", out, False, **options)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture(autouse=True)
def _screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """No width or pager from the terminal running the tests."""
    for name in ("COLUMNS", "LINES", "PAGER"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("width", "columns"), [(80, NARROW), (200, WIDE)])
def test_table_fits_the_width_with_every_header_and_whole_times_and_addresses(
    width: int, columns: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    text = printed(columns)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    header = lines[0].split(" │ ")
    assert [h.strip() for h in header] == list(columns)
    assert lines[-1] == "(3 rows)"
    first_row = lines[2]
    assert TIME_TEXT in first_row and IP in first_row
    if "source_v6" in columns:
        assert IPV6 in first_row
    arn_cell = next(cell.strip() for cell in first_row.split(" │ ") if cell.startswith("arn:"))
    assert arn_cell != ARN and "…" in arn_cell
    start, end = arn_cell.split("…")
    assert start.startswith("arn:aws") and ARN.startswith(start)
    assert end.endswith(".com") and ARN.endswith(end)
    # The short values are whole, the NULL is empty.
    for value in ("AssumeRole", "GetObject", "ConsoleLogin", "10.0.0.1", "ec2.amazonaws.com"):
        assert value in text


def test_exact_layout_of_a_shortened_arn_beside_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 cells, a separator of 3: the address keeps its 8, the ARN gets the other 19, its
    # middle cut so that 9 characters of its start and 9 of its end stay around "…".
    monkeypatch.setenv("COLUMNS", "30")
    text = printed({"ip": ["10.0.0.1"], "arn": ["arn:aws:iam::123456789012:user/alice"]})
    assert text.splitlines() == [
        "ip       │ arn",
        "─────────┼────────────────────",
        "10.0.0.1 │ arn:aws:i…ser/alice",
        "(1 row)",
    ]


def test_numbers_align_right_and_nothing_is_cut_when_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = printed({"eventname": ["GetObject", "ListBuckets"], "n": [7, 1234]})
    assert text.splitlines() == [
        "eventname   │    n",
        "────────────┼─────",
        "GetObject   │    7",
        "ListBuckets │ 1234",
        "(2 rows)",
    ]


def test_too_many_columns_for_the_width_print_as_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    columns = WIDE | {f"extra_column_{i}": ["x"] * 3 for i in range(6)}
    lines = printed(columns).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == "─[ row 1 ]" + "─" * 70
    names = [line.split(" │ ")[0].strip() for line in lines[1 : 1 + len(columns)]]
    assert names == list(columns)
    assert lines[1].split(" │ ")[1] == TIME_TEXT and lines[2].split(" │ ")[1] == IP
    assert lines[5].split(" │ ")[1] == IPV6


def test_wide_keeps_every_value_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    lines = printed(WIDE, wide=True).splitlines()
    assert ARN in lines[2] and REQUEST in lines[2]
    assert len(lines[2]) > 80


def test_piped_without_columns_keeps_values_whole() -> None:
    lines = printed(WIDE).splitlines()
    assert ARN in lines[2] and REQUEST in lines[2]


def test_control_characters_and_line_breaks_stay_out_of_cells() -> None:
    text = printed({"v": ["\x1b[31mred\x1b[0m\tand\nmore\r"]})
    assert text.splitlines()[2] == "red and more"


def test_over_a_thousand_rows_the_table_shows_the_first_thousand() -> None:
    text = printed({"x": list(range(100_000))})
    lines = text.splitlines()
    assert len(lines) == 2 + 1000 + 1
    assert lines[2].strip() == "0" and lines[1001].strip() == "999"
    assert lines[-1] == "(100,000 rows; showing the first 1,000: use --format csv or --output FILE for all)"


def test_a_file_gets_every_row_of_a_table(tmp_path: Path) -> None:
    out = tmp_path / "rows.txt"
    result = CliRunner().invoke(cli, ["query", "--output", str(out), ROWS_SQL.format(n=1500)], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 2 + 1500 + 1 and lines[-1] == "(1,500 rows)"
    assert lines[-2].endswith("arn:aws:iam::123456789012:user/someone-with-a-long-name-1500")


@pytest.mark.parametrize("wide", [False, True])
def test_piped_query_honours_columns_unless_wide(wide: bool) -> None:
    args = ["query", *(["--wide"] if wide else []), ROWS_SQL.format(n=3)]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    longest = max(len(line) for line in lines)
    assert longest > 40 if wide else longest <= 40
    assert ("arn:aws:iam::123456789012:user/someone-with-a-long-name-3" in lines[-2]) is wide


class Writes(io.StringIO):
    """A file that counts the writes made to it and the largest."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def write(self, text: str) -> int:
        self.sizes.append(text.count("\n"))
        return super().write(text)


def test_csv_of_100000_rows_streams_a_batch_at_a_time() -> None:
    n = 100_000
    ids = list(range(n))
    names = [None if i % 7 == 0 else f'say "{i}"' for i in ids]
    # Record batches as the engine makes them: uneven, one larger than a slice of output.
    cuts = [0, 3, 25_000, 25_001, 60_000, n]
    batches = [
        pa.record_batch({"id": ids[a:b], "name": names[a:b], "ok": [i % 2 == 0 for i in ids[a:b]]})
        for a, b in itertools.pairwise(cuts)
    ]
    table = pa.Table.from_batches(batches)
    out = Writes()
    output.write(table, "csv", out)
    expected = ['"id","name","ok"']
    for i in ids:
        name = "" if i % 7 == 0 else f'"say ""{i}"""'
        expected.append(f'"{i}",{name},"{"true" if i % 2 == 0 else "false"}"')
    assert out.getvalue() == "\n".join(expected) + "\n"
    assert max(out.sizes) <= output.BATCH_ROWS and len(out.sizes) >= n // output.BATCH_ROWS


def test_json_streamed_is_still_one_array() -> None:
    table = pa.Table.from_batches([pa.record_batch({"x": [1, 2]}), pa.record_batch({"x": [3]})])
    out = io.StringIO()
    output.write(table, "json", out)
    assert out.getvalue() == '[{"x":1},{"x":2},{"x":3}]\n'


# --- the pager ---------------------------------------------------------------------------


def test_pager_decision() -> None:
    assert render.pager_command(True, False, {}) == ["less", "-S", "-R", "-F", "-X"]
    assert render.pager_command(True, False, {"PAGER": "more -d"}) == ["more", "-d"]
    assert render.pager_command(True, False, {"PAGER": ""}) is None
    assert render.pager_command(True, True, {}) is None  # --no-pager
    assert render.pager_command(False, False, {"PAGER": "less"}) is None  # piped
    assert render.needs_pager(24, 24) and not render.needs_pager(23, 24)


def test_piped_width_comes_from_columns() -> None:
    assert render.screen_width(False, {"COLUMNS": "120"}) == 120
    assert render.screen_width(False, {}) is None
    assert render.screen_width(False, {"COLUMNS": "wide"}) is None


def pager_writing_to(path: Path, keep: str = "cat") -> str:
    """A ``PAGER`` that writes what it is given (through ``keep``) to ``path``."""
    return "sh -c " + shlex.quote(keep + " > " + shlex.quote(str(path)))


def on_a_terminal(
    columns: dict[str, list[Any]], pager: str, monkeypatch: pytest.MonkeyPatch, fmt: str = "table", **options: Any
) -> str:
    """What ``print_result`` writes to a terminal of 24 lines by 80 columns itself."""
    monkeypatch.setenv("LINES", "24")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("PAGER", pager)
    out = io.StringIO()
    print_result(SimpleNamespace(table=pa.table(columns)), fmt, out, True, **options)  # type: ignore[arg-type]
    return out.getvalue()


NUMBERS = {"x": list(range(1, 101))}
NUMBERS_TABLE = ["  x", "───"] + [f"{i:>3}" for i in range(1, 101)] + ["(100 rows)"]


def test_a_terminal_pages_what_overflows_the_screen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paged_file = tmp_path / "paged.txt"
    assert on_a_terminal(NUMBERS, pager_writing_to(paged_file), monkeypatch) == ""
    assert paged_file.read_text().splitlines() == NUMBERS_TABLE


def test_no_pager_for_what_fits_or_with_no_pager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paged_file = tmp_path / "paged.txt"
    pager = pager_writing_to(paged_file)
    assert on_a_terminal(NUMBERS, pager, monkeypatch, no_pager=True).splitlines() == NUMBERS_TABLE
    few = on_a_terminal({"x": [1, 2]}, pager, monkeypatch)
    assert few.splitlines() == ["x", "─", "1", "2", "(2 rows)"]
    assert not paged_file.exists()


def test_csv_on_a_terminal_is_paged_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paged_file = tmp_path / "paged.txt"
    assert on_a_terminal(NUMBERS, pager_writing_to(paged_file), monkeypatch, "csv") == ""
    assert paged_file.read_text() == '"x"\n' + "".join(f'"{i}"\n' for i in range(1, 101))


def test_a_pager_that_quits_early_ends_the_output_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paged_file = tmp_path / "paged.txt"
    pager = pager_writing_to(paged_file, "head -n 1")
    assert on_a_terminal({"x": list(range(200_000))}, pager, monkeypatch, "csv") == ""
    assert paged_file.read_text() == '"x"\n'


def test_a_missing_pager_prints_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    assert on_a_terminal(NUMBERS, "/no/such/pager", monkeypatch).splitlines() == NUMBERS_TABLE


def test_the_command_pages_on_a_pseudo_terminal(tmp_path: Path) -> None:
    """The installed command, its stdout a pseudo-terminal of 24 by 80: the pager gets the table."""
    paged_file = tmp_path / "paged.txt"
    env = {**os.environ, "PAGER": pager_writing_to(paged_file)}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    script = Path(sys.executable).with_name("trailsql")
    process = subprocess.Popen([str(script), "query", ROWS_SQL.format(n=100)], stdout=terminal, env=env)
    os.close(terminal)
    shown = b""
    with contextlib.suppress(OSError):  # EIO: the command closed the terminal
        while chunk := os.read(controller, 65536):
            shown += chunk
    assert process.wait(timeout=60) == 0
    os.close(controller)
    lines = paged_file.read_text().splitlines()
    assert len(lines) == 100 + 3 and lines[-1] == "(100 rows)"
    assert lines[2] == "  1 │ arn:aws:iam::123456789012:user/someone-with-a-long-name-1"
    assert b"someone" not in shown


def test_piped_output_never_pages(tmp_path: Path) -> None:
    paged_file = tmp_path / "paged.txt"
    result = CliRunner().invoke(cli, ["query", ROWS_SQL.format(n=100)], env={"PAGER": pager_writing_to(paged_file)})
    assert result.exit_code == 0, result.output
    assert not paged_file.exists()
    assert result.output.splitlines()[-1] == "(100 rows)"
