"""Results for people: tables that fit the screen, a row cap, and a pager.

Widths come from the content: a column wants its header and the 90th percentile of its
values' lengths, and may grow to its widest value; when the line is too short for every
column's wish, each starts from a floor and all grow a cell at a time, the narrow ones
met first. Values wider than their column are shortened in the middle
(``arn:aws:iam::12…:user/alice``): an
ARN's account and its name, a path's root and file both stay. Timestamps and IP addresses
are never cut, their columns get their full width first. When even the floors do not fit
(``SELECT *`` on 80 columns) each row prints as a record, one ``name │ value`` line a column.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO

import pyarrow as pa
from rich.cells import cell_len, get_character_cell_size

from trailsql import output

#: Rows a table shows; past that CSV, JSON lines or a file are the way to read them all.
ROW_LIMIT = 1000
#: What runs the pager when ``PAGER`` is unset: chop long lines (scroll sideways), keep
#: colours, quit when it fits one screen, leave the screen as it was.
DEFAULT_PAGER = "less -S -R -F -X"
SEPARATOR = " │ "
#: Headers up to this many cells always show whole; longer ones may be shortened.
HEADER_FLOOR = 12
#: The narrowest a shortened value gets: first and last characters around the ellipsis.
VALUE_FLOOR = 5
ELLIPSIS = "…"

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z| UTC|[+-]\d\d:?\d\d)?")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)


def is_whole(text: str) -> bool:
    """A value never shortened: a timestamp or an IP address loses its meaning when cut.

    >>> [is_whole(t) for t in ("2025-01-15 14:23:45.000 UTC", "10.0.0.1", "::1", "arn:aws:s3:::b")]
    [True, True, True, False]
    """
    return bool(_TIMESTAMP.fullmatch(text) or _IPV4.fullmatch(text) or _IPV6.fullmatch(text))


def cut_middle(text: str, width: int) -> str:
    """``text`` in ``width`` terminal cells, its middle replaced by an ellipsis if too wide.

    >>> cut_middle("arn:aws:iam::123456789012:user/alice", 20)
    'arn:aws:ia…ser/alice'
    >>> cut_middle("short", 20)
    'short'
    """
    if cell_len(text) <= width:
        return text
    room = max(width - 1, 0)
    tail = _fit(reversed(text), room // 2)
    head = _fit(iter(text), room - cell_len(tail))
    return "".join(head) + ELLIPSIS + "".join(reversed(tail))


def _fit(chars: Iterable[str], width: int) -> str:
    """The longest run of ``chars`` (in order) that fits ``width`` cells."""
    taken = []
    for char in chars:
        width -= get_character_cell_size(char)
        if width < 0:
            break
        taken.append(char)
    return "".join(taken)


def cell_text(value: object) -> str:
    """A value on one line of a table: terminal-safe, tabs and newlines as spaces."""
    return output.terminal_text(value).replace("\t", " ").replace("\n", " ")


def _percentile(lengths: Sequence[int], fraction: float) -> int:
    if not lengths:
        return 0
    ordered = sorted(lengths)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def column_widths(headers: Sequence[str], columns: Sequence[Sequence[str]], width: int | None) -> list[int] | None:
    """Each column's width in a line of ``width`` cells (None: no limit), or None when even
    the narrowest layout does not fit (the caller prints records instead). Never zero.
    """
    needs = [_needs(h, column) for h, column in zip(headers, columns, strict=True)]
    natural = [n for n, _, _ in needs]
    if width is None:
        return natural
    room = width - len(SEPARATOR) * (len(headers) - 1)
    floor = [f for _, f, _ in needs]
    if sum(natural) <= room:
        return natural
    if sum(floor) > room:
        return None
    wish = [w for _, _, w in needs]
    if sum(wish) <= room:  # every wish met: what is left goes to the columns still cut
        return _share(wish, natural, room)
    return _share(floor, wish, room)


def _needs(header: str, values: Sequence[str]) -> tuple[int, int, int]:
    """A column's widths: natural (nothing cut), floor (the least it gets: its timestamps
    and IP addresses whole, a few characters of the rest) and wish (its header and the
    90th percentile of its values).
    """
    lengths = [cell_len(v) for v in values]
    natural = max([cell_len(header), 1, *lengths])
    whole = max([n for n, v in zip(lengths, values, strict=True) if is_whole(v)], default=0)
    floor = max(whole, min(natural, max(min(cell_len(header), HEADER_FLOOR), VALUE_FLOOR)))
    wish = max(floor, min(natural, max(cell_len(header), _percentile(lengths, 0.9))))
    return natural, floor, wish


def _share(base: list[int], goal: list[int], room: int) -> list[int]:
    """``base`` grown toward ``goal`` within ``room``: every column still short gets the same
    cells at a time, so narrow columns are met whole and the widest share what is left.
    """
    widths = list(base)
    spare = room - sum(widths)
    short = [i for i in range(len(widths)) if widths[i] < goal[i]]
    while short and spare > 0:
        step = min(spare // len(short), min(goal[i] - widths[i] for i in short))
        if step == 0:  # fewer cells than columns: one each to the widest wishes
            for i in sorted(short, key=lambda i: goal[i] - widths[i], reverse=True)[:spare]:
                widths[i] += 1
            break
        for i in short:
            widths[i] += step
        spare -= step * len(short)
        short = [i for i in short if widths[i] < goal[i]]
    return widths


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - cell_len(text))
    return fill + text if right else text + fill


def table_lines(table: pa.Table, width: int | None, wide: bool = False, limit: int | None = ROW_LIMIT) -> Iterator[str]:
    """The lines of ``table`` as a text table in ``width`` cells (``wide``: no shortening),
    its first ``limit`` rows, and a last line with the row count.
    """
    shown = table if limit is None else table.slice(0, limit)
    yield from body_lines(shown, None if wide else width)
    yield footer(table.num_rows, shown.num_rows)


def body_lines(table: pa.Table, width: int | None) -> Iterator[str]:
    """Every row of ``table`` under its header, in ``width`` cells (None: values whole)."""
    headers = [cell_text(name) for name in table.column_names]
    columns = [[cell_text(v) for v in column.to_pylist()] for column in table.columns]
    widths = column_widths(headers, columns, width)
    if widths is None:
        yield from _record_lines(headers, columns, width or 0)
    else:
        yield from _grid_lines(headers, columns, widths, [_is_numeric(f.type) for f in table.schema])


def _is_numeric(kind: pa.DataType) -> bool:
    return any(test(kind) for test in _NUMERIC)


def _grid_lines(
    headers: Sequence[str], columns: Sequence[Sequence[str]], widths: Sequence[int], right: Sequence[bool]
) -> Iterator[str]:
    yield SEPARATOR.join(_pad(cut_middle(h, w), w, r) for h, w, r in zip(headers, widths, right, strict=True)).rstrip()
    yield "─┼─".join("─" * w for w in widths)
    for row in zip(*columns, strict=True):
        cells = (_pad(cut_middle(v, w), w, r) for v, w, r in zip(row, widths, right, strict=True))
        yield SEPARATOR.join(cells).rstrip()


def _record_lines(headers: Sequence[str], columns: Sequence[Sequence[str]], width: int) -> Iterator[str]:
    """Rows too wide for a line as records: a rule, then ``name │ value`` for each column."""
    whole = max([cell_len(v) for column in columns for v in column if is_whole(v)], default=0)
    names = min(max(cell_len(h) for h in headers), width // 3, width - len(SEPARATOR) - whole)
    names = max(names, VALUE_FLOOR)
    values = max(width - names - len(SEPARATOR), whole, VALUE_FLOOR)
    shown_headers = [_pad(cut_middle(h, names), names, False) for h in headers]
    for number, row in enumerate(zip(*columns, strict=True), 1):
        label = f"─[ row {number:,} ]"
        yield label + "─" * max(width - cell_len(label), 0)
        for name, value in zip(shown_headers, row, strict=True):
            yield (name + SEPARATOR + cut_middle(value, values)).rstrip()


def footer(total: int, shown: int) -> str:
    """The row count under a table, and how to get the rows it leaves out.

    >>> footer(100_000, 1000)
    '(100,000 rows; showing the first 1,000: use --format csv or --output FILE for all)'
    """
    if shown < total:
        return f"({total:,} rows; showing the first {shown:,}: use --format csv or --output FILE for all)"
    return f"({total:,} row{'' if total == 1 else 's'})"


def screen_width(to_terminal: bool, environ: Mapping[str, str] = os.environ) -> int | None:
    """The width tables fit: the terminal's, or when piped ``COLUMNS`` if set (else no limit:
    a pipe into ``grep`` or a file keeps whole values).
    """
    if to_terminal:
        return shutil.get_terminal_size().columns
    columns = environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def pager_command(to_terminal: bool, no_pager: bool, environ: Mapping[str, str] = os.environ) -> list[str] | None:
    """The pager to run (``PAGER``, else :data:`DEFAULT_PAGER`), or None: piped, ``--no-pager``,
    or ``PAGER`` set empty.
    """
    if not to_terminal or no_pager:
        return None
    return shlex.split(environ.get("PAGER", DEFAULT_PAGER)) or None


def needs_pager(lines: int, height: int) -> bool:
    """Whether ``lines`` overflow a screen of ``height`` rows (one kept for the prompt)."""
    return lines > height - 1


@contextlib.contextmanager
def paged(out: IO[str], command: list[str] | None) -> Iterator[output.Writer]:
    """Where to write output for ``out``: ``out`` itself, or with a pager ``command`` a
    writer that keeps the text until it overflows the screen, then sends it through the pager.
    """
    if command is None:
        yield out
        return
    screen = _Screen(out, command, shutil.get_terminal_size().lines)
    try:
        yield screen
    finally:
        screen.close()


class _Screen:
    """Text for a terminal: kept while it fits one screen, then given to the pager."""

    def __init__(self, out: IO[str], command: list[str], height: int) -> None:
        self.out, self.command, self.height = out, command, height
        self.kept: list[str] = []
        self.lines = 0
        self.pager: subprocess.Popen[str] | None = None
        self.direct = False  # no pager to run: straight to ``out``

    def write(self, text: str, /) -> int:
        if self.pager is not None:
            self._send(text)
        elif self.direct:
            self.out.write(text)
        else:
            self.kept.append(text)
            self.lines += text.count("\n")
            if needs_pager(self.lines, self.height):
                self._start()
        return len(text)

    def _start(self) -> None:
        kept, self.kept = "".join(self.kept), []
        self.out.flush()
        try:
            self.pager = subprocess.Popen(self.command, stdin=subprocess.PIPE, encoding="utf-8")
        except OSError:  # no such pager: the rows still print
            self.direct = True
            self.out.write(kept)
            return
        self._send(kept)

    def _send(self, text: str) -> None:
        assert self.pager is not None and self.pager.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the pager quit: nothing more to show
            self.pager.stdin.write(text)

    def close(self) -> None:
        if self.pager is None:
            self.out.write("".join(self.kept))
            return
        assert self.pager.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.pager.stdin.close()
        while True:  # Ctrl-C is the pager's (less ignores it): wait until it ends
            with contextlib.suppress(KeyboardInterrupt):
                self.pager.wait()
                return
