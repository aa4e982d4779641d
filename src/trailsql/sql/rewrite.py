"""How an engine's rewrites apply to a plan's tree: each to every node, children first.

An engine's SQL dialect differs from Trino's in meaning at places sqlglot keeps the syntax;
each engine fixes them with a tuple of rewrites (``trailsql.engines.<engine>.transforms``),
each a function taking a node and returning the node to put in its place (the node itself
when nothing changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlglot import exp

Transform = Callable[[exp.Expr], exp.Expr]


def apply(tree: exp.Expr, transforms: Iterable[Transform]) -> exp.Expr:
    """``tree`` with each of ``transforms`` in turn applied to every node, a node's children
    before it: a rewrite sees its arguments already rewritten, including calls of itself
    (``json_extract(json_extract(j, p), q)``). ``tree`` is changed in place; copy it first.

    >>> from sqlglot import parse_one
    >>> upper = lambda n: exp.column(n.name.upper()) if isinstance(n, exp.Column) else n
    >>> apply(parse_one("SELECT a + b"), [upper]).sql()
    'SELECT A + B'
    """
    for transform in transforms:
        tree = _rewrite(tree, transform)
    return tree


def _rewrite(tree: exp.Expr, transform: Transform) -> exp.Expr:
    for node in reversed(list(tree.walk(bfs=False))):
        parent, key, index = node.parent, node.arg_key, node.index
        new = transform(node)
        if new is node:
            continue
        if parent is None or key is None:
            tree = new
        else:
            parent.set(key, new, index)
    return tree
