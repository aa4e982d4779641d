"""One scan per report: a report's window read once, into a lake of its own, and every query
of the report answered from that lake.

A report runs two dozen queries over the same window; each would parse the window's JSON
again (25 detections over 200,000 raw events: about 50 s). Ingesting the window's days once
into a temporary lake (a few seconds) and letting each query read Parquet instead gives the
same rows, because the lake is read exactly as a workspace's lake is: the same files, the
same versions, the same partition values (see :mod:`trailsql.lake.read`). A workspace whose
own lake is there is read through that lake instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trailsql.lake.ingest import IngestOptions, ingest
from trailsql.lake.manifest import lake_folder
from trailsql.lake.read import LakeReader
from trailsql.library.window import Window
from trailsql.session import Session

#: Below this many queries, one scan each costs less than ingesting the window first.
MIN_QUERIES = 3


@contextlib.contextmanager
def shared_scan(session: Session, window: Window, queries: int) -> Iterator[bool]:
    """Within the block, ``session`` reads the default table's logs of ``window`` from a
    temporary lake holding them (yields True), when that is worth it: local logs, no lake of
    the workspace's own, at least :data:`MIN_QUERIES` queries. Else nothing changes (False)."""
    local = session.logs is not None and os.path.isdir(session.logs)
    own_lake = session.workspace.folder is not None and lake_folder(session.workspace.folder).exists()
    if not local or own_lake or queries < MIN_QUERIES or session.table("cloudtrail_logs") is None:
        yield False
        return
    assert session.logs is not None
    before = session.lake
    with tempfile.TemporaryDirectory(prefix="trailsql-report-") as scratch:
        # The window's days, and the day after its end: CloudTrail files late events there.
        days = IngestOptions(since=window.start.date(), until=window.end.date() + dt.timedelta(days=1))
        ingest(session.logs, Path(scratch), days)
        session.lake = LakeReader(scratch)
        try:
            yield True
        finally:
            session.lake.close()
            session.lake = before
