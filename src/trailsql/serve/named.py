"""Named queries: the workspace's query library as Athena's saved queries.

Every library query (the package's hunts and detections, the workspace's ``library_paths``)
is a named query whose id is derived from the library id (the same on every start), its
SQL rendered with the default parameters. A named query created through the API is saved
as a library file in ``<workspace>/queries/`` (added to ``library_paths``), so ``trailsql
queries`` and the console see it; only those may be updated or deleted.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from trailsql.catalog.workspace import Workspace
from trailsql.errors import TrailsqlError
from trailsql.library.query import LibraryQuery, load_library, parse_query
from trailsql.serve.protocol import ApiError, invalid
from trailsql.serve.store import Store

SAVED = "queries"
#: Named query ids are uuid5(NAMESPACE, library id): stable across restarts and machines.
NAMESPACE = uuid.UUID("5f1e0c9a-6f0b-4d55-9a57-7c1d2b2f0a11")


def named_id(query_id: str) -> str:
    """The NamedQueryId of a library query.

    >>> named_id("console-logins") == named_id("console-logins") != named_id("cloudtrail-tampering")
    True
    """
    return str(uuid.uuid5(NAMESPACE, query_id))


def _slug(name: str) -> str:
    """A library id from a named query's Name.

    >>> _slug("Root logins (last week)!")
    'root-logins-last-week'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "query"


class Library:
    """The library of one workspace, read when asked (files may change between calls)."""

    def __init__(self, workspace: Workspace, store: Store) -> None:
        if workspace.folder is None:
            raise invalid("named queries need a workspace folder")
        self.workspace = workspace
        self.store = store
        self.saved = workspace.folder / SAVED
        folders = [p for p in workspace.library_paths if p.is_dir()]
        self.queries = {named_id(q.id): q for q in load_library(folders).values()}

    def ids(self) -> list[str]:
        return sorted(self.queries, key=lambda i: self.queries[i].id)

    def _query(self, query_id: str) -> LibraryQuery:
        query = self.queries.get(query_id)
        if query is None:
            raise invalid(f"NamedQuery {query_id} was not found")
        return query

    def get(self, query_id: str) -> dict[str, Any]:
        query = self._query(query_id)
        try:
            sql = query.render()
        except TrailsqlError as error:  # a required parameter with no default: the SQL as written
            sql = f"-- {error}\n{query.sql}"
        description = f"{query.id}: {query.title}" + (f". {query.description}" if query.description else "")
        return {
            "Name": query.title[:128],
            "Description": description[:1024],
            "Database": "default",
            "QueryString": sql,
            "NamedQueryId": query_id,
            "WorkGroup": "primary",
        }

    def _path(self, query_id: str) -> Path:
        """The file of a named query saved through the API (others may not change)."""
        query = self._query(query_id)
        path = Path(query.path)
        if path.parent.resolve() != self.saved.resolve():
            raise invalid(f"NamedQuery {query_id} is the library's {query.id}: only saved queries change")
        return path

    def create(self, params: dict[str, Any]) -> str:
        """Save a named query as a library file; its library id (the NamedQueryId is
        :func:`named_id` of it). A ClientRequestToken seen before gives the query it made."""
        token = params.get("ClientRequestToken")
        if token is not None and (earlier := self.store.named_by_token(token)) is not None:
            return earlier
        base = _slug(params["Name"])
        taken = {q.id for q in self.queries.values()}
        slug = (
            base if base not in taken else next(f"{base}-{n}" for n in range(2, 10_000) if f"{base}-{n}" not in taken)
        )
        self.saved.mkdir(exist_ok=True)
        self._write(self.saved / f"{slug}.sql", slug, params)
        self.workspace.add_library_path(SAVED)
        if token is not None:
            self.store.remember_named(token, slug)
        return slug

    def update(self, params: dict[str, Any]) -> None:
        path = self._path(params["NamedQueryId"])
        self._write(path, self.queries[params["NamedQueryId"]].id, params)

    def delete(self, query_id: str) -> None:
        self._path(query_id).unlink()

    def _write(self, path: Path, slug: str, params: dict[str, Any]) -> None:
        """A library file: the header from the Name and Description, then the SQL as given."""
        one_line = " ".join(str(params.get("Description") or "").split())
        header = [f"-- id: {slug}", f"-- title: {' '.join(params['Name'].split())}", "-- kind: hunt"]
        header += ["-- severity: info", "-- tags: saved"] + ([f"-- description: {one_line}"] if one_line else [])
        text = "\n".join(header) + "\n" + params["QueryString"].strip() + "\n"
        try:
            parse_query(text, str(path))
        except TrailsqlError as error:
            raise ApiError("InvalidRequestException", f"the query cannot be saved to the library: {error}") from None
        partial = path.with_suffix(".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
