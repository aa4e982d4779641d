"""What an engine is: the one interface every engine implements.

The session plans a query (:mod:`trailsql.sql.planner`: a sqlglot tree in Trino's
dialect whose CloudTrail table references name :class:`~trailsql.sql.planner.Scan`\\ s),
lists each scan's files, lets the lake cover what it holds and fetches the S3 objects
left; the engine gets the plan and, per scan, a :class:`~trailsql.sources.files.ScanInput`
(log files, lake Parquet files), and runs it: rows as Arrow, and what it read itself.

An engine says what it can read (:attr:`Engine.reads`), and the session gives it only
that: an engine that does not read ``"lake"`` gets every log file, one that does not read
``"s3"`` gets local copies of S3 objects. A construct it cannot run with Athena's
semantics raises :class:`~trailsql.errors.NotSupportedError`; it never answers otherwise.
A new engine is one module implementing this protocol, registered in
:mod:`trailsql.engines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import pyarrow as pa

from trailsql.sources.files import ScanInput
from trailsql.sql.planner import Plan
from trailsql.stats import EngineStats

Readable = Literal["files", "s3", "lake", "tables"]
"""What a scan's input may hold: local log files, ``s3://`` objects read by the engine
itself, the lake's Parquet files; ``"tables"``: the engine reads the scans' tables where
they are (Athena's own tables), and the session lists no file for it."""


class Engine(Protocol):
    """Runs plans."""

    #: The name ``--engine`` and ``[engine] name`` select it by.
    name: str
    #: What it reads (see :data:`Readable`).
    reads: frozenset[Readable]

    def run(
        self, plan: Plan, inputs: Sequence[ScanInput], *, strict: bool = False, timeout: float | None = None
    ) -> tuple[pa.Table, EngineStats]:
        """The rows of ``plan`` over ``inputs`` (one per scan of the plan, in order).

        Bad log files are left out and named in the stats (``strict``: raise
        :class:`~trailsql.errors.BadInputError`); a run beyond ``timeout`` seconds or the
        engine's memory raises :class:`~trailsql.errors.LimitError`.
        """
        ...

    def cancel(self) -> None:
        """Stop the run in progress, from another thread: it raises
        :class:`~trailsql.errors.CancelledError`. Asked before a run starts, the next run
        raises it at once (a stop must not be lost while the session plans); the request is
        spent by the run that raises."""
        ...

    def close(self) -> None:
        """Free what the engine holds (connections, spill files); it runs nothing after."""
        ...
