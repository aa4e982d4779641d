"""The workspace: a folder that keeps the catalog and settings between calls.

Layout::

    <workspace>/trailsql.toml            settings (TOML): [locations] maps s3:// prefixes to folders,
                                         [cloudtrail_lake] event_data_stores names the
                                         CloudTrail Lake-shaped view (not the Parquet lake),
                                         [engine] name the engine that runs queries
                                         (Spark's master and [engine.conf]),
                                         [athena] the Athena engine's workgroup, output,
                                         database, catalog, region and profile,
                                         [s3] how to reach S3, library_paths (folders of
                                         library queries), [channels.*] and [jobs.*] (alerts),
                                         [enrich] the data of ip_info (trailsql.enrich.sources)
    <workspace>/tables/<name>.sql        the DDL of each table, replayed when the workspace opens
    <workspace>/views/<name>.sql         the query of each view
    <workspace>/partitions/<name>.json   partitions added by ALTER TABLE / MSCK REPAIR

Without a folder the workspace lives in memory for one connection.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from trailsql.catalog.table import Table
from trailsql.enrich.sources import EnrichSources
from trailsql.enrich.sources import from_config as enrich_sources
from trailsql.errors import CatalogError

CONFIG_FILE = "trailsql.toml"
#: The environment variable naming the workspace when ``--workspace`` is not given.
WORKSPACE_ENV = "TRAILSQL_WORKSPACE"


def find_workspace(given: str | None, start: Path | None = None) -> tuple[str | None, str]:
    """The workspace folder to use and where it came from: ``--workspace``, else
    ``$TRAILSQL_WORKSPACE``, else the nearest folder holding a ``trailsql.toml`` from the
    current one up; None (no workspace) when none of these is there."""
    if given:
        return given, "--workspace"
    if os.environ.get(WORKSPACE_ENV):
        return os.environ[WORKSPACE_ENV], f"${WORKSPACE_ENV}"
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return str(folder), f"{CONFIG_FILE} found in {folder}"
    return None, "none"


_IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def identifier(name: str) -> str:
    """A table or view name, lowercased, once it is known to be an identifier.

    A name becomes a file name in the workspace (``tables/<name>.sql``): only letters,
    digits, ``_`` and ``-`` (Glue allows it in quoted names, ``"cloudtrail-table"``) keep it
    one file inside the folder, never ``../x``, ``/abs`` or ``.hidden``.

    >>> identifier("My_Table1")
    'my_table1'
    """
    if not _IDENTIFIER.fullmatch(name):
        raise CatalogError(f"{name!r} is not a valid identifier: names are ASCII letters, digits, _ and -")
    return name.lower()


def within(root: str, path: str) -> str:
    """``path`` normalised, once it is known to stay inside ``root`` (both absolute).

    Locations are joined to mapped folders as text; a ``..`` in them must not walk out.
    A trailing ``/`` is kept: it says the location is a folder.

    >>> within("/m", "/m/a/../b/")
    '/m/b/'
    """
    normal = os.path.normpath(path)
    base = os.path.normpath(root)
    if normal != base and not normal.startswith(base.rstrip("/") + "/"):
        raise CatalogError(f"location {path!r} is outside its mapped folder {root!r}")
    return normal + "/" if path.endswith("/") and normal != "/" else normal


@dataclass(frozen=True)
class Partition:
    """A partition of a table without projection: its values and where its files are."""

    values: tuple[tuple[str, str], ...]
    location: str


class Workspace:
    """Tables, views, partitions and location maps, optionally kept in a folder."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.config: dict[str, Any] = {}
        self.tables: dict[str, Table] = {}
        self.views: dict[str, str] = {}
        self.partitions: dict[str, list[Partition]] = {}
        if self.folder is not None:
            if not self.folder.is_dir():  # (an existing workspace is only read when opened)
                self.folder.mkdir(parents=True)
            config_path = self.folder / CONFIG_FILE
            if config_path.exists():
                with config_path.open("rb") as fh:
                    self.config = tomllib.load(fh)
            self.views = {p.stem: p.read_text() for p in _named(self.folder, "views", ".sql")}
            for path in _named(self.folder, "partitions", ".json"):
                self.partitions[path.stem] = [
                    Partition(tuple((k, v) for k, v in p["values"]), p["location"])
                    for p in json.loads(path.read_text())
                ]

    @property
    def location_maps(self) -> dict[str, str]:
        """``s3://`` prefixes and the local folders that hold their objects."""
        return dict(self.config.get("locations", {}))

    def add_location_map(self, prefix: str, folder: str) -> None:
        """Map an ``s3://`` prefix to a local folder, and keep it in the workspace."""
        if not prefix.startswith("s3://"):
            raise CatalogError(f"--location-map wants s3://PREFIX=PATH, got {prefix}")
        maps, resolved = self.config.setdefault("locations", {}), str(Path(folder).resolve())
        if maps.get(prefix.rstrip("/")) != resolved:  # (a map kept already is not written again)
            maps[prefix.rstrip("/")] = resolved
            self._save_config()

    @property
    def default_logs(self) -> str | None:
        """The logs of the default table ``cloudtrail_logs`` (``[logs] default``), if remembered."""
        value = self.config.get("logs", {}).get("default")
        return str(value) if value else None

    def remember_logs(self, logs: str) -> None:
        """Keep ``logs`` (a local path, made absolute, or an ``s3://`` URI) as the default table's."""
        value = logs if logs.startswith("s3://") else str(Path(logs).resolve())
        if self.folder is not None and self.default_logs != value:
            self.config.setdefault("logs", {})["default"] = value
            self._save_config()

    @property
    def engine_name(self) -> str | None:
        """The engine ``[engine] name`` chooses (None: the default engine)."""
        name = self.config.get("engine", {}).get("name")
        return None if name is None else str(name)

    def engine_options(self, name: str) -> dict[str, Any]:
        """The settings of engine ``name``: Spark's from ``[engine]`` (``master``, ``conf``),
        Athena's from ``[athena]``; DuckDB's and Spark's ``enrich``, the data of ``ip_info``."""
        if name == "spark":
            engine = self.config.get("engine", {})
            return {**{k: engine[k] for k in ("master", "conf") if k in engine}, "enrich": self.enrich_sources}
        if name == "athena":
            return dict(self.config.get("athena", {}))
        return {"enrich": self.enrich_sources}

    @property
    def enrich_sources(self) -> EnrichSources:
        """The files of ``[enrich]`` (AWS's ranges, ``.mmdb`` databases), see :mod:`trailsql.enrich.sources`."""
        return enrich_sources(self.config, self.folder)

    @property
    def event_data_stores(self) -> list[str]:
        """CloudTrail Lake event data store ids that name the Lake-shaped view."""
        return list(self.config.get("cloudtrail_lake", {}).get("event_data_stores", []))

    def add_event_data_store(self, store: str) -> None:
        stores = self.config.setdefault("cloudtrail_lake", {}).setdefault("event_data_stores", [])
        if store not in stores:
            stores.append(store)
            self._save_config()

    @property
    def s3_config(self) -> dict[str, Any]:
        """The ``[s3]`` table: profile, region, endpoint_url, cache_dir, cache_size_mb."""
        return dict(self.config.get("s3", {}))

    @property
    def serve_config(self) -> dict[str, Any]:
        """The ``[serve]`` table: ``allow_ddl``, ``allowed_locations`` (``trailsql serve``, ``query --safe``)."""
        return dict(self.config.get("serve", {}))

    @property
    def library_paths(self) -> list[Path]:
        """Folders of the workspace's own library queries (relative paths: to the workspace)."""
        base = self.folder or Path.cwd()
        return [base / Path(p).expanduser() for p in self.config.get("library_paths", [])]

    def add_library_path(self, folder: str) -> None:
        """Keep ``folder`` (relative: to the workspace) among the library's folders."""
        paths = self.config.setdefault("library_paths", [])
        if folder not in paths:
            paths.append(folder)
            self._save_config()

    def resolve(self, uri: str) -> str:
        """The local path of a table location (longest mapped prefix wins); an unmapped
        ``s3://`` URI is returned as it is, to be read from S3."""
        if not uri.startswith("s3://"):
            return uri
        for prefix in sorted(self.location_maps, key=len, reverse=True):
            if uri == prefix or uri.startswith(prefix + "/"):
                folder = self.location_maps[prefix]
                return within(folder, folder + uri[len(prefix) :])
        return uri

    def save_table(self, table: Table) -> None:
        self.tables[table.name] = table
        if table.ddl is not None:
            self._write("tables", f"{identifier(table.name)}.sql", table.ddl)

    def drop_table(self, name: str) -> None:
        self.tables.pop(name, None)
        self.partitions.pop(name, None)
        self._remove("tables", f"{identifier(name)}.sql")
        self._remove("partitions", f"{name}.json")

    def save_view(self, name: str, query: str) -> None:
        self.views[name] = query
        self._write("views", f"{identifier(name)}.sql", query)

    def drop_view(self, name: str) -> None:
        self.views.pop(name, None)
        self._remove("views", f"{identifier(name)}.sql")

    def set_partitions(self, table: str, partitions: list[Partition]) -> None:
        self.partitions[table] = partitions
        data = [{"values": [list(kv) for kv in p.values], "location": p.location} for p in partitions]
        self._write("partitions", f"{identifier(table)}.json", json.dumps(data, indent=1))

    def stored_ddl(self) -> list[str]:
        """The DDL of the tables kept in the folder, to replay when the workspace opens."""
        if self.folder is None:
            return []
        return [p.read_text() for p in _named(self.folder, "tables", ".sql")]

    def _write(self, kind: str, name: str, text: str) -> None:
        if self.folder is not None:
            (self.folder / kind).mkdir(exist_ok=True)
            _atomic_write(self.folder / kind / name, text)

    def _remove(self, kind: str, name: str) -> None:
        if self.folder is not None:
            (self.folder / kind / name).unlink(missing_ok=True)

    def _save_config(self) -> None:
        if self.folder is not None:
            _atomic_write(self.folder / CONFIG_FILE, tomli_w.dumps(self.config))


def _named(folder: Path, kind: str, suffix: str) -> list[Path]:
    """A workspace folder's files whose names are identifiers (others were not written by
    trailsql: they are left alone, never loaded under a name that is a path)."""
    return [p for p in sorted((folder / kind).glob("*" + suffix)) if _IDENTIFIER.fullmatch(p.stem)]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
