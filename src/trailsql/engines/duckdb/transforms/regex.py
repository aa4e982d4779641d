"""Regular expressions: Trino's ``regexp_*`` functions on DuckDB's RE2.

Trino's ``regexp_extract`` is NULL where the pattern does not match (DuckDB: ''), and a
group that takes no part in a match is NULL in Trino but '' in DuckDB, so extracting such a
group is refused (the capture groups are read with Python's regex parser, which reads Java's
groups alike). ``regexp_replace`` replaces every match and writes groups Java's way, ``$1``,
which :func:`java_replacement` turns into RE2's ``\\1``.
"""

from __future__ import annotations

import re
import re._constants as sre_constants  # type: ignore[import-not-found]  # the stdlib regex parser: Java groups read alike
import re._parser as sre_parse  # type: ignore[import-not-found]
from typing import Any

from sqlglot import exp

from trailsql.engines.duckdb.transforms.common import _call, _literal_text
from trailsql.errors import NotSupportedError


def _group_is_optional(pattern: str, group: int) -> bool:
    """Whether capture ``group`` of ``pattern`` can stay out of a successful match.

    >>> _group_is_optional("ra(.)|blah(.)(.)", 2), _group_is_optional("a(b)c", 1)
    (True, False)
    """
    try:
        tree = sre_parse.parse(pattern)
    except (re.error, OverflowError):
        return False  # not Python syntax: the engine's parser decides

    def walk(items: Any, optional: bool) -> bool:
        for op, arg in items:
            if op is sre_constants.SUBPATTERN:
                if arg[0] == group and optional:
                    return True
                if walk(arg[-1], optional):
                    return True
            elif op is sre_constants.BRANCH:
                if any(walk(branch, optional or len(arg[1]) > 1) for branch in arg[1]):
                    return True
            elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
                if walk(arg[2], optional or arg[0] == 0):
                    return True
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT) and walk(arg[1], True):
                return True
        return False

    return walk(tree, False)


def regexp_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``regexp_extract`` is NULL when the pattern does not match; DuckDB's is ''.

    A group that takes no part in a match is NULL in Trino and '' in DuckDB, and the two
    cannot be told apart afterwards: such groups are refused.
    """
    if isinstance(node, exp.RegexpExtract):
        group = node.args.get("group") or exp.Literal.number(0)
        _refuse_optional_group("regexp_extract", node.expression, group)
        return _call("trino_regexp_extract", node.this, node.expression, group)
    return node


def _refuse_optional_group(function: str, pattern: exp.Expr, group: exp.Expr | None) -> None:
    """Refuse extracting a literal group that may take no part in a match of a literal pattern."""
    if not (isinstance(pattern, exp.Literal) and pattern.is_string and isinstance(group, exp.Literal)):
        return
    if _group_is_optional(pattern.this, int(group.this)):
        raise NotSupportedError(
            f"{function} of group {group.this} of '{pattern.this}', which may not take part in a match"
        )


def _capture_groups(pattern: str) -> int | None:
    """How many capture groups ``pattern`` has (None: not Python syntax, the engine decides)."""
    try:
        return int(sre_parse.parse(pattern).state.groups) - 1
    except (re.error, OverflowError):
        return None


def java_replacement(replacement: str, groups: int | None) -> str:
    r"""A Java ``Matcher`` replacement string as RE2's: ``$1`` is ``\1``, ``\$`` is ``$``.

    Java reads ``$12`` as group 12 when the pattern has that many groups; RE2 reads one
    digit, so such a reference is refused.

    >>> java_replacement(r"3c$2 \$ \\", 2)
    '3c\\2 $ \\\\'
    >>> java_replacement("$10", 1)
    '\\10'
    """
    out, i = "", 0
    while i < len(replacement):
        char = replacement[i]
        if char == "\\":
            if i + 1 == len(replacement):
                raise NotSupportedError(f"regexp_replace replacement '{replacement}' ending in a backslash")
            out += "\\\\" if replacement[i + 1] == "\\" else replacement[i + 1]
            i += 2
        elif char == "$":
            digits = re.match(r"[0-9]+", replacement[i + 1 :])
            if digits is None:
                raise NotSupportedError(f"regexp_replace replacement '{replacement}' with a named group")
            number = digits.group(0)
            if len(number) > 1 and (groups is None or int(number[:2]) <= groups):
                raise NotSupportedError(f"regexp_replace replacement '{replacement}' naming group {number[:2]}")
            out += "\\" + number[0]
            i += 2
        else:
            out += char
            i += 1
    return out


def regexp_replace(node: exp.Expr) -> exp.Expr:
    r"""``regexp_replace`` replaces every match and names groups ``$1``; RE2 wants ``\1``.

    >>> from sqlglot import parse_one
    >>> print(regexp_replace(parse_one("regexp_replace(s, '(a)(b)', '$2$1')", read="athena")).sql("duckdb"))
    REGEXP_REPLACE(s, '(a)(b)', '\2\1', 'g')
    """
    if not isinstance(node, exp.RegexpReplace):
        return node
    pattern = _literal_text(node.expression, "a regexp_replace pattern")
    replacement = node.args.get("replacement") or exp.Literal.string("")
    if isinstance(replacement, exp.Lambda):
        raise NotSupportedError("regexp_replace with a lambda")
    text = java_replacement(_literal_text(replacement, "a regexp_replace replacement"), _capture_groups(pattern))
    return _call("regexp_replace", node.this, node.expression, exp.Literal.string(text), exp.Literal.string("g"))


def regexp_extract_all(node: exp.Expr) -> exp.Expr:
    """``regexp_extract_all`` of a group that may take no part in a match: refused.

    Trino gives NULL for such a match, DuckDB ''; see :func:`regexp_extract`.
    """
    if isinstance(node, exp.RegexpExtractAll):
        _refuse_optional_group("regexp_extract_all", node.expression, node.args.get("group"))
    return node
