"""Whether a lake file is still what the manifest says was written: the lake checks itself.

The lake is an evidence store: a file deleted, truncated, rewritten without some rows or
copied over another must never make a query answer differently from the logs. Each lake
file's size, row count and SHA-256 are recorded when it is committed. Queries check the
cheap facts (:func:`quick_fault`: a stat and the Parquet footer, well under a millisecond a
file, and lake files are few after compaction); ``trailsql lake verify`` and ingest's
repair also hash the content (:func:`full_fault`). A file that fails is not read: its
source logs are, and ingest re-ingests them.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from trailsql.lake.manifest import LakeFile, SourceFile, file_sha256


def quick_fault(folder: Path, f: LakeFile) -> str | None:
    """Why ``f`` cannot be trusted without reading it (None when its size and footer agree):
    missing, another size, another row count, unreadable footer, or marked by ``lake verify``."""
    if f.damaged:
        return f.damaged
    try:
        size = (folder / f.path).stat().st_size
    except OSError as error:
        return f"missing ({error.strerror})"
    if size != f.bytes:
        return f"{size} bytes where {f.bytes} were written"
    try:
        rows = pq.read_metadata(folder / f.path).num_rows
    except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
        return f"unreadable Parquet footer ({error})"
    if rows != f.rows:
        return f"{rows} rows where {f.rows} were written"
    return None


def full_fault(folder: Path, f: LakeFile) -> str | None:
    """:func:`quick_fault`, then the content hash (when one was recorded)."""
    fault = quick_fault(folder, f)
    if fault is not None or f.sha256 is None:
        return fault
    if file_sha256(folder / f.path) != f.sha256:
        return "content differs from what was written (SHA-256)"
    return None


def unlinked_sources(sources: dict[str, SourceFile], links: dict[str, list[str]], known: set[str]) -> dict[str, str]:
    """Sources the manifest says the lake holds (with events) whose rows no listed lake file
    holds: links lost, or pointing at files the manifest does not list. By location, why."""
    found: dict[str, str] = {}
    for uri, source in sources.items():
        if source.note is not None or source.pruned or not source.events:
            continue
        paths = links.get(uri, [])
        if not paths:
            found[uri] = "the manifest links it to no lake file"
        elif not known.issuperset(paths):
            found[uri] = "the manifest links it to a lake file it does not list"
    return found
