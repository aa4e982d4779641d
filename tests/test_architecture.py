"""The shape of the code: imports flow one way (no module imports, at any depth, one that
imports it back), and each stage of the query pipeline is one module."""

from __future__ import annotations

import ast
from pathlib import Path

import trailsql

SRC = Path(trailsql.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of trailsql and the trailsql modules it imports anywhere: at the top, in a
    function (a lazy import hides a circle, it does not remove it) or for type checking only."""
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_under_src() -> None:
    # (A package's __init__ re-exporting its own modules is no circle: a module importing
    # its own package's __init__ is left out by taking only the modules named.)
    graph = {name: {m for m in targets if not name.startswith(m + ".")} for name, targets in imports().items()}
    assert {"trailsql.sql.planner", "trailsql.engines"} <= graph["trailsql.session"]  # the graph is read
    assert "trailsql.engines.base" in graph["trailsql.engines"]
    assert cycles(graph) == []


def test_the_lake_runs_no_session_and_planning_imports_no_source() -> None:
    graph = imports()
    lake = {m for name, targets in graph.items() if name.startswith("trailsql.lake") for m in targets}
    assert "trailsql.session" not in lake
    assert not {
        m
        for m in graph["trailsql.sql.planner"]
        if m.startswith(("trailsql.sources", "trailsql.lake", "trailsql.engines"))
    }


def test_engines_are_reached_through_the_protocol() -> None:
    """Outside engines/, only the lake's writer (the DuckDB engine's own client) names DuckDB's engine."""
    users = {
        name
        for name, targets in imports().items()
        if any(t.startswith("trailsql.engines.duckdb") for t in targets) and not name.startswith("trailsql.engines")
    }
    assert users <= {"trailsql.lake.ingest"}
