"""One library query: its header parsed, its parameters checked, its SQL rendered."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from trailsql.errors import CatalogError, UsageError
from trailsql.library.window import Window

KINDS = ("hunt", "detection")
SEVERITIES = ("info", "low", "medium", "high", "critical")
PARAM_TYPES = ("duration", "string", "int")

_HEADER = re.compile(r"^--\s?([a-z_]+):\s*(.*)$")
_CONTINUED = re.compile(r"^--\s{2,}(\S.*)$")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
#: An integer parameter is spliced as it is: ASCII digits only (``\d`` would take '١٢').
_INTEGER = re.compile(r"-?[0-9]+")
#: Where a quoted string starts (``'`` or ``"``), a comment starts, or a placeholder is.
_LEXEME = re.compile(r"'(?:[^']|'')*'?|\"[^\"]*\"?|--[^\n]*|\{\{")
_PARAM = re.compile(r"^([a-z_][a-z0-9_]*)\s+(duration|string|int)(?:\s*=\s*(.*))?$")
#: Parameters every query has: the window and the optional scope (a header may change their defaults).
_BUILT_IN = {"since": "24h", "until": None, "account": None, "region": None}


@dataclass(frozen=True)
class Param:
    """A parameter: its name, type (``duration``, ``string`` or ``int``) and default (None: optional)."""

    name: str
    type: str
    default: str | None = None


@dataclass(frozen=True)
class LibraryQuery:
    """A query of the library; see :mod:`trailsql.library` for the format."""

    id: str
    title: str
    description: str
    kind: str
    severity: str
    sql: str
    path: str
    tags: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    params: tuple[Param, ...] = field(default_factory=tuple)
    #: A detection's columns whose values make one finding of its rows (see :mod:`trailsql.library.findings`).
    group: tuple[str, ...] = ()
    #: The sentence a finding says, with ``{column}`` and ``{count}``-style fields (see findings).
    summary: str = ""
    #: CTEs over ``{{baseline}}`` that the lake's first-seen profiles may answer (see library/history.py).
    history: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def values(self, given: Mapping[str, str | None]) -> dict[str, str | None]:
        """The parameters' values: ``given`` over the defaults; unknown names are refused."""
        values: dict[str, str | None] = {name: default for name, default in _BUILT_IN.items()}
        values.update({p.name: p.default for p in self.params})
        for name, value in given.items():
            if name not in values:
                known = ", ".join(sorted(values))
                raise UsageError(f"{self.id} has no parameter {name!r} (it takes {known})")
            if value is not None:
                values[name] = value
        for p in self.params:
            value = values[p.name]
            if p.type == "int" and value is not None and not _INTEGER.fullmatch(value):
                raise UsageError(f"{self.id}: {p.name} must be an integer, got {value!r}")
        return values

    def window(self, given: Mapping[str, str | None] | None = None, now: dt.datetime | None = None) -> Window:
        """The time window the query covers with these parameters."""
        values = self.values(given or {})
        return Window.parse(values["since"] or "24h", values["until"], now)

    def baseline(self, given: Mapping[str, str | None] | None = None, now: dt.datetime | None = None) -> Window:
        """The ``baseline`` before the window that ``{{baseline}}`` stands for (30 days by default)."""
        window = self.window(given, now)
        return Window.parse(self.values(given or {}).get("baseline") or "30d", window.start.isoformat(), now)

    def compares_with_baseline(self) -> bool:
        return "{{baseline}}" in self.sql.replace(" ", "")

    def scope(self, given: Mapping[str, str | None] | None = None) -> str:
        r"""What ``{{scope}}`` stands for: the ``account``/``region`` filters given.

        >>> parse_query("-- id: x\n-- title: t\n-- kind: hunt\n-- severity: low\nSELECT 1", "x.sql").scope({"account": "1"})
        " AND account = '1'"
        """
        values = self.values(given or {})
        return "".join(
            f" AND {column} = {_literal(values[column] or '')}" for column in ("account", "region") if values[column]
        )

    def render(self, given: Mapping[str, str | None] | None = None, now: dt.datetime | None = None) -> str:
        """The query's SQL with its placeholders filled in."""
        values = self.values(given or {})
        window = self.window(given, now)
        scope = self.scope(given)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "window":
                return f"({window.predicate()})"
            if name == "baseline":  # the `baseline` (a duration) before the window
                return f"({self.baseline(given, now).predicate()})"
            if name == "scope":
                return scope
            param = self.param(name)
            value = values.get(name)
            if value is None:
                raise UsageError(f"{self.id} needs --param {name}=VALUE")
            return value if param is not None and param.type == "int" else _literal(value)

        return _PLACEHOLDER.sub(fill, self.sql)

    def console_url(self, public_url: str, given: Mapping[str, str | None]) -> str:
        r"""The query with these parameters in the web console served at ``public_url``.

        >>> q = parse_query("-- id: x\n-- title: t\n-- kind: hunt\n-- severity: low\nSELECT 1", "x.sql")
        >>> q.console_url("https://trailsql.example.com/", {"since": "7d", "until": None})
        'https://trailsql.example.com/queries/x?since=7d'
        """
        params = urllib.parse.urlencode(sorted((k, v) for k, v in given.items() if v is not None))
        return f"{public_url.rstrip('/')}/queries/{urllib.parse.quote(self.id)}" + (f"?{params}" if params else "")

    def command(self, given: Mapping[str, str | None], where: Iterable[str] = ()) -> str:
        """The command that runs this query again with the same parameters (a finding's deep
        link), over the logs and workspace options ``where`` (see ``Session.command_options``)."""
        parts = ["trailsql", "queries", "run", self.id, *where]
        for name, value in sorted(given.items()):
            if value is None:
                continue
            parts += [f"--{name}", value] if name in ("since", "until") else ["--param", f"{name}={value}"]
        return shlex.join(parts)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parse_query(text: str, path: str) -> LibraryQuery:
    """A library query from its file's text; a bad header fails with the file and line."""
    fields: dict[str, str] = {}
    params: list[Param] = []
    lines = text.splitlines()
    body_start = len(lines)
    last: str | None = None
    for number, line in enumerate(lines, 1):
        continued = _CONTINUED.match(line)
        if continued and last is not None:
            fields[last] += " " + continued.group(1).strip()
            continue
        header = _HEADER.match(line)
        if header is None:
            if line.strip() and not line.startswith("--"):
                body_start = number - 1
                break
            last = None
            continue
        name, value = header.group(1), header.group(2).strip()
        if name == "param":
            match = _PARAM.match(value)
            if match is None:
                raise CatalogError(
                    f"{path}:{number}: expected 'param: NAME TYPE [= DEFAULT]' with TYPE one of {PARAM_TYPES}"
                )
            params.append(Param(match.group(1), match.group(2), (match.group(3) or "").strip() or None))
            last = None
            continue
        fields[name] = value
        last = name
    for required in ("id", "title", "kind", "severity"):
        if not fields.get(required):
            raise CatalogError(f"{path}:1: the header has no '{required}:'")
    if fields["kind"] not in KINDS:
        raise CatalogError(f"{path}: kind must be one of {KINDS}, not {fields['kind']!r}")
    if fields["severity"] not in SEVERITIES:
        raise CatalogError(f"{path}: severity must be one of {SEVERITIES}, not {fields['severity']!r}")
    for number, line in enumerate(lines[:body_start], 1):
        if re.search(r"['\"][^'\"]*\{\{", line):
            raise CatalogError(f"{path}:{number}: {_QUOTED}")
    _check_unquoted("\n".join(lines[body_start:]), path, body_start)
    sql = "\n".join(lines[body_start:]).strip().rstrip(";")
    if not sql:
        raise CatalogError(f"{path}: no SQL after the header")
    return LibraryQuery(
        id=fields["id"],
        title=fields["title"],
        description=fields.get("description", ""),
        kind=fields["kind"],
        severity=fields["severity"],
        sql=sql,
        path=path,
        tags=_listed(fields.get("tags")),
        techniques=_listed(fields.get("techniques")),
        key=_listed(fields.get("key")),
        params=tuple(params),
        group=_listed(fields.get("group")),
        summary=fields.get("summary", ""),
        history=_listed(fields.get("history")),
    )


_QUOTED = (
    "a placeholder inside quotes would be spliced into a string: write {{name}} unquoted (values are SQL literals)"
)

#: A value holding a newline would end the comment and run as SQL.
_COMMENTED = "a placeholder inside a -- comment would let a value's newline end it: move {{name}} out of the comment"


def _check_unquoted(body: str, path: str, offset: int) -> None:
    """Refuse a body that quotes a placeholder (``'{{user}}'``, ``"{{x}}"``, ``'%{{x}}%'``):
    the value is substituted as a literal, so inside quotes it would close the string and
    the rest of the value would run as SQL. Nor may a ``--`` comment hold one."""
    for match in _LEXEME.finditer(body):
        token = match.group(0)
        quoted = token[0] in "'\"" and "{{" in token
        if quoted or (token.startswith("--") and _PLACEHOLDER.search(token)):
            line = offset + body.count("\n", 0, match.start() + token.index("{{")) + 1
            raise CatalogError(f"{path}:{line}: {_QUOTED if quoted else _COMMENTED}")


def choose_queries(
    library: Mapping[str, LibraryQuery], ids: Iterable[str] = (), tags: Iterable[str] = ()
) -> list[LibraryQuery]:
    """The queries named, then those with one of the tags; by default every detection.

    >>> [q.id for q in choose_queries(load_library(), ["cloudtrail-tampering"])]
    ['cloudtrail-tampering']
    """
    ids, tags = list(ids), list(tags)
    unknown = [i for i in ids if i not in library]
    if unknown:
        raise UsageError(f"no query {unknown[0]!r} in the library (trailsql queries list)")
    if not ids and not tags:
        return [q for q in library.values() if q.kind == "detection"]
    chosen = [library[i] for i in ids]
    chosen += [q for q in library.values() if any(t in q.tags for t in tags) and q not in chosen]
    if not chosen:
        raise UsageError(f"no query has the tag {tags[0]!r}")
    return chosen


def _listed(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _files(folder: Path | resources.abc.Traversable) -> Iterable[tuple[str, str]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            yield str(entry), entry.read_text()


def load_library(extra: Iterable[str | Path] = ()) -> dict[str, LibraryQuery]:
    """The package's queries, then those of the ``extra`` folders (which may replace them by id)."""
    found: dict[str, LibraryQuery] = {}
    sources: list[Iterable[tuple[str, str]]] = [_files(resources.files("trailsql.library").joinpath("queries"))]
    for folder in extra:
        if not Path(folder).is_dir():
            raise CatalogError(f"library path {folder} is not a folder")
        sources.append(_files(Path(folder)))
    for source in sources:
        for path, text in source:
            query = parse_query(text, path)
            found[query.id] = query
    return found
