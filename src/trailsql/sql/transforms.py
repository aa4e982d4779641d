"""Trino semantics on DuckDB: one rewrite per difference.

sqlglot parses Athena (Trino) SQL and writes DuckDB SQL, but where the two engines
differ in meaning it keeps the syntax and changes the answer. Each function below
fixes one such difference on the AST: it takes a node and returns the node to put in
its place (the node itself when nothing changes). A construct we cannot translate
exactly raises :class:`~trailsql.errors.NotSupportedError`; we never emit SQL whose
answer could silently differ from Athena's.

Functions DuckDB lacks are implemented as DuckDB macros named ``trino_*``, defined in
:mod:`trailsql.engines.macros`; the rewrites here only call them.

Integer division (``7 / 2 = 3`` in Trino) is not a rewrite: the engine runs with
DuckDB's ``integer_division`` setting, which truncates toward zero as Trino does.
"""

from __future__ import annotations

import re
import re._constants as sre_constants  # type: ignore[import-not-found]  # the stdlib regex parser: Java groups read alike
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from trailsql.errors import NotSupportedError, SemanticError

Transform = Callable[[exp.Expr], exp.Expr]


def _call(name: str, *args: exp.Expr | None) -> exp.Anonymous:
    """A call of ``name``; arguments that are None (optional, absent) are left out."""
    return exp.Anonymous(this=name, expressions=[a for a in args if a is not None])


def _is_call(node: exp.Expr | None, *names: str) -> bool:
    """Whether ``node`` calls a function sqlglot does not know, by one of ``names``."""
    return isinstance(node, exp.Anonymous) and node.name.lower() in names


def _literal_text(node: exp.Expr | None, what: str) -> str:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise NotSupportedError(f"{what} that is not a string literal")
    return str(node.this)


def duckdb_json_path(path: exp.Expr) -> exp.Expr:
    """A Trino JSONPath as DuckDB's JSONPath: bracketed keys become quoted keys.

    Trino accepts ``$["x-amz-id-2"]`` and ``$.a[0]``; DuckDB wants ``$."x-amz-id-2"``.

    >>> from sqlglot import parse_one
    >>> node = parse_one("SELECT json_extract_scalar(j, '$[\\"a-b\\"].c[0]')", read="athena")
    >>> duckdb_json_path(node.expressions[0].expression).sql()
    '\\'$."a-b"."c"[0]\\''
    """
    if not isinstance(path, exp.JSONPath):
        if isinstance(path, exp.Literal) and path.is_string:
            # sqlglot leaves Trino's unquoted bracket keys ($[name]) unparsed.
            return exp.Literal.string(re.sub(r"\[([A-Za-z_][A-Za-z0-9_]*)\]", r'."\1"', path.this))
        raise NotSupportedError("a JSON path that is not a string literal")
    out = ""
    for part in path.expressions:
        if isinstance(part, exp.JSONPathRoot):
            out += "$"
        elif isinstance(part, exp.JSONPathKey):
            if part.this == "*":
                out += ".*"
            else:
                out += '."' + str(part.this).replace('"', '\\"') + '"'
        elif isinstance(part, exp.JSONPathSubscript) and isinstance(part.this, int):
            out += f"[{part.this}]"
        elif isinstance(part, exp.JSONPathWildcard):
            out += "[*]"
        else:
            raise NotSupportedError(f"JSON path element {part.sql()}")
    return exp.Literal.string(out)


def json_extract_scalar(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract_scalar`` is NULL for objects, arrays and invalid JSON.

    DuckDB's ``->>`` returns an object's JSON text and fails on invalid JSON.

    >>> from sqlglot import parse_one
    >>> json_extract_scalar(parse_one("json_extract_scalar(j, '$.a')", read="athena")).sql("duckdb")
    'TRINO_JSON_EXTRACT_SCALAR(j, \\'$."a"\\')'
    """
    if isinstance(node, exp.JSONExtractScalar):
        return _call("trino_json_extract_scalar", node.this, duckdb_json_path(node.expression))
    return node


def json_extract(node: exp.Expr) -> exp.Expr:
    """Trino's ``json_extract`` is NULL for invalid JSON; paths use Trino's syntax."""
    if isinstance(node, exp.JSONExtract):
        return _call("trino_json_extract", node.this, duckdb_json_path(node.expression))
    return node


def json_size(node: exp.Expr) -> exp.Expr:
    """``json_size(json, path)``: elements of an array or object there, 0 for a scalar."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_size":
        json, path = node.expressions
        return _call("trino_json_size", json, _json_path_of_literal(path))
    return node


def _json_path_of_literal(path: exp.Expr) -> exp.Expr:
    from sqlglot.dialects.dialect import Dialect

    text = _literal_text(path, "a JSON path")
    return duckdb_json_path(Dialect.get_or_raise("athena").to_json_path(exp.Literal.string(text)) or path)


def json_array_contains(node: exp.Expr) -> exp.Expr:
    """``json_array_contains(json, value)``: compares JSON values, not their text."""
    if isinstance(node, exp.JSONArrayContains):
        return _call("trino_json_array_contains", node.this, node.expression)
    return node


#: Functions whose answer does not depend on the order of an object's keys.
_KEY_ORDER_BLIND = (exp.JSONExtractScalar, exp.JSONArrayContains)


def json_parse(node: exp.Expr) -> exp.Expr:
    """``json_parse`` (and a ``JSON '...'`` literal) writes objects with their keys sorted.

    Trino re-serializes the parsed value compactly with every object's keys in order;
    DuckDB's ``json()`` keeps the input order. Functions that read one value out of the
    document cannot tell, so they get the cheaper ``json()``.

    >>> from sqlglot import parse_one
    >>> json_parse(parse_one("json_parse(s)", read="athena")).sql("duckdb")
    'TRINO_JSON_PARSE(s)'
    """
    if not isinstance(node, exp.ParseJSON):
        return node
    if isinstance(node.parent, _KEY_ORDER_BLIND) or _is_call(node.parent, "json_size", "json_array_length"):
        return _call("json", node.this)
    return _call("trino_json_parse", node.this)


def cast_to_json(node: exp.Expr) -> exp.Expr:
    """``CAST(x AS JSON)`` makes a JSON value of ``x``: a varchar becomes a JSON string.

    DuckDB parses a varchar as JSON text instead (Trino: ``CAST('[1]' AS JSON)`` is ``"[1]"``).

    >>> from sqlglot import parse_one
    >>> cast_to_json(parse_one("CAST(s AS JSON)", read="athena")).sql("duckdb")
    'TO_JSON(s)'
    """
    if isinstance(node, exp.Cast) and node.to.this == exp.DType.JSON:
        return _call("to_json", node.this)
    return node


def _type_name(data_type: exp.DataType) -> str:
    return data_type.sql("duckdb").upper()


#: Casts that read a JSON value as Trino does, each a macro dispatching on the operand's type.
_CASTS_FROM_JSON = {
    "TEXT": "trino_to_varchar",  # also a timestamp's text
    "VARCHAR": "trino_to_varchar",
    "TEXT[]": "trino_to_varchar_array",
    "VARCHAR[]": "trino_to_varchar_array",
    "JSON[]": "trino_to_json_array",
    "MAP(TEXT, TEXT)": "trino_to_varchar_map",
    "MAP(VARCHAR, VARCHAR)": "trino_to_varchar_map",
    "MAP(TEXT, JSON)": "trino_to_json_map",
    "MAP(VARCHAR, JSON)": "trino_to_json_map",
}


def cast_from_json(node: exp.Expr) -> exp.Expr:
    """``CAST(json AS varchar)`` is the value a JSON scalar holds, not the JSON text.

    ``CAST(JSON '"abc"' AS varchar)`` is ``abc`` and JSON ``null`` is NULL; an object or
    array cannot be cast. The same holds for the elements of ``ARRAY(varchar)`` and the
    values of ``MAP(varchar, varchar)``; in ``ARRAY(JSON)`` and ``MAP(varchar, JSON)`` a
    JSON ``null`` stays a JSON value. ``try_cast`` to varchar is NULL where the cast fails.
    A timestamp becomes Trino's text of it, ``2020-05-11 11:15:05.055 UTC``.

    >>> from sqlglot import parse_one
    >>> cast_from_json(parse_one("CAST(j AS varchar)", read="athena")).sql("duckdb")
    'TRINO_TO_VARCHAR(j)'
    """
    if not isinstance(node, exp.Cast) or (isinstance(node.this, exp.Literal) and node.this.is_string):
        return node
    macro = _CASTS_FROM_JSON.get(_type_name(node.to))
    if isinstance(node, exp.TryCast):
        return _call("trino_try_to_varchar", node.this) if macro == "trino_to_varchar" else node
    return _call(macro, node.this) if macro is not None else node


def date_diff(node: exp.Expr) -> exp.Expr:
    """Trino's ``date_diff`` counts whole units elapsed; DuckDB's counts boundaries crossed.

    DuckDB's ``date_sub`` counts whole units, as Trino does.

    >>> from sqlglot import parse_one
    >>> date_diff(parse_one("date_diff('day', a, b)", read="athena")).sql("duckdb")
    "DATE_SUB('day', a, b)"
    """
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_name = unit.name.lower() if unit is not None else "day"
        return _call("date_sub", exp.Literal.string(unit_name), node.expression, node.this)
    return node


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


def split_part(node: exp.Expr) -> exp.Expr:
    """``split_part`` is NULL past the last field and fails for an index below 1; DuckDB gives ''.

    >>> from sqlglot import parse_one
    >>> split_part(parse_one("split_part(s, ':', 2)", read="athena")).sql("duckdb")
    "TRINO_SPLIT_PART(s, ':', 2)"
    """
    if isinstance(node, exp.SplitPart):
        return _call("trino_split_part", node.this, node.args["delimiter"], node.args["part_index"])
    return node


def split(node: exp.Expr) -> exp.Expr:
    """``split(s, d, limit)`` keeps the rest of ``s`` in the last element; an empty delimiter fails.

    sqlglot drops the limit; DuckDB splits on an empty delimiter into characters.

    >>> from sqlglot import parse_one
    >>> split(parse_one("split(s, '.', 2)", read="athena")).sql("duckdb")
    "TRINO_SPLIT(s, '.', 2)"
    """
    if isinstance(node, exp.Split):
        return _call("trino_split", node.this, node.expression, node.args.get("limit"))
    return node


def strpos(node: exp.Expr) -> exp.Expr:
    """``strpos(s, sub, n)``: the position of the n-th instance, from the end when n < 0.

    sqlglot drops the instance argument.

    >>> from sqlglot import parse_one
    >>> strpos(parse_one("strpos(s, '/', -1)", read="athena")).sql("duckdb")
    "TRINO_STRPOS(s, '/', -1)"
    """
    if isinstance(node, exp.StrPosition):
        if node.args.get("position") is not None:
            raise NotSupportedError("strpos with a start position")
        instance = node.args.get("occurrence")
        if instance is not None:
            return _call("trino_strpos", node.this, node.args["substr"], instance)
    return node


def substr(node: exp.Expr) -> exp.Expr:
    """``substr`` from position 0, or from before the start, is ''; DuckDB starts at 1 instead.

    >>> from sqlglot import parse_one
    >>> substr(parse_one("substr(s, 0)", read="athena")).sql("duckdb")
    'TRINO_SUBSTR(s, 0)'
    """
    if isinstance(node, exp.Substring):
        start = node.args.get("start") or exp.Literal.number(1)
        return _call("trino_substr", node.this, start, node.args.get("length"))
    return node


def trim_whitespace(node: exp.Expr) -> exp.Expr:
    """``trim``, ``ltrim`` and ``rtrim`` remove all of Java's whitespace; DuckDB only spaces.

    >>> from sqlglot import parse_one
    >>> trim_whitespace(parse_one("ltrim(s)", read="athena")).sql("duckdb")
    'TRINO_LTRIM(s)'
    """
    if isinstance(node, exp.Trim) and node.expression is None:
        position = str(node.args.get("position") or "BOTH").upper()
        return _call({"LEADING": "trino_ltrim", "TRAILING": "trino_rtrim"}.get(position, "trino_trim"), node.this)
    return node


def replace_empty(node: exp.Expr) -> exp.Expr:
    """``replace(s, '', r)`` puts ``r`` around every character; DuckDB leaves ``s`` alone.

    >>> from sqlglot import parse_one
    >>> replace_empty(parse_one("replace(s, x, 'r')", read="athena")).sql("duckdb")
    "TRINO_REPLACE(s, x, 'r')"
    """
    if isinstance(node, exp.Replace):
        search = node.expression
        if isinstance(search, exp.Literal) and search.is_string and search.this:
            return node
        replacement = node.args.get("replacement") or exp.Literal.string("")
        return _call("trino_replace", node.this, search, replacement)
    return node


#: Trino functions DuckDB lacks, each a macro of the same name with a ``trino_`` prefix.
MACRO_FUNCTIONS = frozenset(
    {
        "json_array_length",
        "json_array_get",
        "to_iso8601",
        "url_extract_host",
        "url_extract_path",
        "url_extract_parameter",
        "url_extract_protocol",
        "url_extract_query",
        "url_extract_fragment",
        "url_extract_port",
    }
)


def trino_only_functions(node: exp.Expr) -> exp.Expr:
    """A function DuckDB lacks calls its macro: ``url_extract_path(u)`` is ``trino_url_extract_path(u)``.

    >>> from sqlglot import parse_one
    >>> trino_only_functions(parse_one("url_extract_path(u)", read="athena")).sql("duckdb")
    'TRINO_URL_EXTRACT_PATH(u)'
    """
    if isinstance(node, exp.Anonymous) and node.name.lower() in MACRO_FUNCTIONS:
        return _call("trino_" + node.name.lower(), *node.expressions)
    return node


def repeat(node: exp.Expr) -> exp.Expr:
    """Trino's ``repeat(element, count)`` is an array of ``count`` elements; DuckDB's repeats a string.

    >>> from sqlglot import parse_one
    >>> repeat(parse_one("repeat('ab', 3)", read="athena")).sql("duckdb")
    "TRINO_REPEAT('ab', 3)"
    """
    if isinstance(node, exp.Repeat):
        return _call("trino_repeat", node.this, node.args.get("times"))
    return node


def sequence(node: exp.Expr) -> exp.Expr:
    """Trino's ``sequence`` counts down when ``stop < start``, refuses a zero step and more than
    10,000 entries; DuckDB's ``generate_series`` gives ``[]`` or runs out of memory instead.

    >>> from sqlglot import parse_one
    >>> sequence(parse_one("sequence(5, 1)", read="athena")).sql("duckdb")
    'TRINO_SEQUENCE(5, 1, CASE WHEN 5 <= 1 THEN 1 ELSE -1 END)'
    >>> sequence(parse_one("sequence(DATE '2025-01-01', current_date)", read="athena")).sql("duckdb")
    "TRINO_DATE_SEQUENCE(CAST('2025-01-01' AS DATE), CURRENT_DATE)"
    """
    if not isinstance(node, exp.GenerateSeries):
        return node
    start, end, step = node.args["start"], node.args["end"], node.args.get("step")
    kinds = {_temporal_type(start), _temporal_type(end)} - {None}
    if not kinds:  # (Trino's step is -1 when the sequence counts down)
        if step is None:
            step = exp.If(
                this=exp.LTE(this=start.copy(), expression=end.copy()),
                true=exp.Literal.number(1),
                false=exp.Literal.number(-1),
            )
        return _call("trino_sequence", start, end, step)
    if kinds == {"DATE"} and step is None:
        return _call("trino_date_sequence", start, end)
    raise NotSupportedError("sequence over timestamps, or over dates with a step")


def recursive_with(node: exp.Expr) -> exp.Expr:
    """Trino fails a recursive ``WITH`` deeper than 10 levels; DuckDB recurses without a bound
    (and runs forever on a query without one): refused rather than answering where Athena fails."""
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise NotSupportedError("WITH RECURSIVE (Trino's limit of 10 recursion levels is not enforced)")
    return node


def typeof(node: exp.Expr) -> exp.Expr:
    """Trino's ``typeof`` names types its own way (``varchar(2)``, ``integer``, ``row(a integer)``);
    DuckDB's (``VARCHAR``, ``INTEGER``, ``STRUCT(...)``) would differ, and string lengths are
    not tracked here: refused."""
    if isinstance(node, exp.Typeof):
        raise NotSupportedError("typeof (Trino's type names, such as varchar(2), are not tracked)")
    return node


def _is_number(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and not node.is_string


def concat_operands(node: exp.Expr) -> exp.Expr:
    """Trino has no ``||`` of varchar and a number (``'x' || 1``: no operator); DuckDB casts the number.

    Only literal numbers are recognised; a numeric column is not (types are not inferred).
    """
    if isinstance(node, exp.DPipe) and (_is_number(node.this) or _is_number(node.expression)):
        raise SemanticError("Unexpected parameters (varchar, integer) for function concat: cast the number to varchar")
    return node


#: Trino's decimal precision: an exact number literal of more digits does not fit any type.
MAX_DECIMAL_DIGITS = 38


def numeric_literal_range(node: exp.Expr) -> exp.Expr:
    """A literal of more than 38 digits is Trino's error; DuckDB reads it as a double or a blob.

    >>> numeric_literal_range(exp.Literal.number("1" * 39))
    Traceback (most recent call last):
    ...
    trailsql.errors.SemanticError: Invalid numeric literal: 111111111111111111111111111111111111111 (more than 38 digits)
    """
    if _is_number(node) and "e" not in str(node.this).lower():
        digits = sum(c.isdigit() for c in str(node.this).lstrip("0."))
        if digits > MAX_DECIMAL_DIGITS:
            raise SemanticError(
                f"Invalid numeric literal: {str(node.this)[:60]} (more than {MAX_DECIMAL_DIGITS} digits)"
            )
    return node


_JODA = [
    ("yyyy", "%Y"),
    ("YYYY", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("M", "%-m"),
    ("dd", "%d"),
    ("d", "%-d"),
    ("HH", "%H"),
    ("H", "%-H"),
    ("hh", "%I"),
    ("h", "%-I"),
    ("mm", "%M"),
    ("m", "%-M"),
    ("ss", "%S"),
    ("s", "%-S"),
    ("SSSSSS", "%f"),
    ("SSS", "%g"),
    ("a", "%p"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("ZZ", "%z"),
    ("Z", "%z"),
    ("DDD", "%j"),
]


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern (``format_datetime``, ``parse_datetime``) as a strftime format.

    >>> joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS")
    '%Y-%m-%dT%H:%M:%S.%g'
    """
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise NotSupportedError(f"unterminated quote in date pattern '{pattern}'")
            out += "'" if end == i + 1 else pattern[i + 1 : end].replace("%", "%%")
            i = end + 1
            continue
        if char.isalpha():
            run = re.match(rf"{re.escape(char)}+", pattern[i:])
            token = run.group(0) if run else char
            match = next((c for j, c in _JODA if j == token), None)
            if match is None:
                raise NotSupportedError(f"Joda pattern letter '{token}' in '{pattern}'")
            out += match
            i += len(token)
            continue
        out += "%%" if char == "%" else char
        i += 1
    return out


def format_datetime(node: exp.Expr) -> exp.Expr:
    """``format_datetime(ts, 'yyyy-MM-dd')`` with a Joda pattern, as ``strftime``."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime":
        value, pattern = node.expressions
        return _call(
            "strftime", value, exp.Literal.string(joda_to_strftime(_literal_text(pattern, "a format_datetime pattern")))
        )
    return node


def parse_datetime(node: exp.Expr) -> exp.Expr:
    """``parse_datetime(text, 'yyyy-MM-dd')`` with a Joda pattern: a timestamp with time zone."""
    if isinstance(node, exp.ParseDatetime):
        fmt = joda_to_strftime(_literal_text(node.args.get("format"), "a parse_datetime pattern"))
        parsed = _call("strptime", node.this, exp.Literal.string(fmt))
        return exp.cast(parsed, exp.DataType.build("TIMESTAMPTZ"))
    return node


_UTC_SUFFIX = re.compile(r"(\s*(UTC|Z|GMT|Etc/UTC|[+-]00(:?00)?))$", re.IGNORECASE)
_ZONE_SUFFIX = re.compile(r"(\d\s*[A-Za-z][A-Za-z_/+-]*|:\d{2}(\.\d*)?\s*[+-]\d{1,2}(:?\d{2})?)$")


def timestamp_with_zone_literal(node: exp.Expr) -> exp.Expr:
    """``TIMESTAMP '... UTC'`` is fine; a literal in another zone is refused.

    Timestamps with time zone are held in UTC; Trino keeps the zone, which changes how the
    value prints and what ``hour()`` returns.
    """
    if (
        isinstance(node, exp.Cast)
        and node.to.is_type(exp.DType.TIMESTAMPTZ)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
    ):
        text = node.this.this.strip()
        utc = _UTC_SUFFIX.search(text)
        if utc:
            return exp.cast(exp.Literal.string(text[: utc.start()] + "+00:00"), exp.DataType.build("TIMESTAMPTZ"))
        if _ZONE_SUFFIX.search(text):
            raise NotSupportedError(f"timestamps with a time zone other than UTC ('{text}')")
    return node


def from_iso8601_timestamp(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_timestamp`` refuses (at run time) offsets other than UTC: see above."""
    if isinstance(node, exp.FromISO8601Timestamp):
        return _call("trino_from_iso8601_timestamp", node.this)
    return node


def _temporal_type(node: exp.Expr) -> str | None:
    """``DATE``, ``TIMESTAMP`` or ``TIMESTAMPTZ`` when ``node`` is known to be one, else None."""
    if isinstance(node, exp.Cast):
        kind = node.to.this
        if kind == exp.DType.DATE:
            return "DATE"
        if kind in (exp.DType.TIMESTAMPTZ, exp.DType.TIMESTAMPLTZ):
            return "TIMESTAMPTZ"
        return "TIMESTAMP" if kind in exp.DataType.TEMPORAL_TYPES and "TIMESTAMP" in kind.name else None
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd, exp.Paren)):
        return _temporal_type(node.this)
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _temporal_type(node.this)
    if _is_call(node, "at_timezone", "with_timezone") or isinstance(
        node, (exp.FromISO8601Timestamp, exp.ParseDatetime, exp.CurrentTimestamp, exp.UnixToTime, exp.AtTimeZone)
    ):
        return "TIMESTAMPTZ"
    if isinstance(node, exp.StrToTime):
        return "TIMESTAMP"
    if isinstance(node, (exp.CurrentDate, exp.Date, exp.FromISO8601Date)):
        return "DATE"
    return None


def _as_type_of(text: exp.Expr, other: exp.Expr) -> exp.Expr:
    """A string literal cast to the type ``other`` is known to have; anything else unchanged."""
    kind = _temporal_type(other)
    if kind is not None and isinstance(text, exp.Literal) and text.is_string:
        return exp.cast(text, exp.DataType.build(kind))
    return text


def compare_text_with_time(node: exp.Expr) -> exp.Expr:
    """A varchar literal compared with a date or timestamp is read as one, as Trino coerces it.

    ``from_iso8601_timestamp(eventtime) > '2023-01-01 00:00:00'`` compares instants, not text.

    >>> from sqlglot import parse_one
    >>> compare_text_with_time(parse_one("current_date > '2023-01-01'", read="athena")).sql("duckdb")
    "CURRENT_DATE > CAST('2023-01-01' AS DATE)"
    """
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        node.set("this", _as_type_of(node.this, node.expression))
        node.set("expression", _as_type_of(node.expression, node.this))
    elif isinstance(node, exp.Between):
        node.set("low", _as_type_of(node.args["low"], node.this))
        node.set("high", _as_type_of(node.args["high"], node.this))
    elif isinstance(node, exp.In):
        node.set("expressions", [_as_type_of(e, node.this) for e in node.expressions])
    return node


def _unit(node: exp.Expr) -> str:
    unit = node.args.get("unit")
    return (unit.name if unit is not None else "day").lower()


def date_trunc(node: exp.Expr) -> exp.Expr:
    """``date_trunc`` of a date is a date (DuckDB: a timestamp); a unit below a day fails on it.

    >>> from sqlglot import parse_one
    >>> date_trunc(parse_one("date_trunc('month', d)", read="athena")).sql("duckdb")
    "TRINO_DATE_TRUNC('month', d)"
    """
    if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        return _call("trino_date_trunc", exp.Literal.string(_unit(node)), node.this)
    return node


def date_add(node: exp.Expr) -> exp.Expr:
    """``date_add`` of a date is a date (DuckDB: a timestamp); hours and less fail on it.

    >>> from sqlglot import parse_one
    >>> date_add(parse_one("date_add('day', -7, d)", read="athena")).sql("duckdb")
    'TRINO_DATE_PLUS(d, INTERVAL (-7) DAY)'
    """
    if isinstance(node, exp.DateAdd):
        interval = exp.Interval(this=node.expression, unit=exp.var(_unit(node).upper()))
        return _call("trino_date_plus", node.this, interval)
    return node


def interval_arithmetic(node: exp.Expr) -> exp.Expr:
    """``date ± INTERVAL`` is a date, as in Trino; DuckDB makes a timestamp of it.

    >>> from sqlglot import parse_one
    >>> interval_arithmetic(parse_one("d - INTERVAL '7' DAY", read="athena")).sql("duckdb")
    "TRINO_DATE_MINUS(d, INTERVAL '7' DAY)"
    """
    if isinstance(node, exp.Add) and isinstance(node.this, exp.Interval):
        return _call("trino_date_plus", node.expression, node.this)
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _call("trino_date_plus" if isinstance(node, exp.Add) else "trino_date_minus", node.this, node.expression)
    return node


def _utc_zone(zone: exp.Expr | None, what: str) -> None:
    text = _literal_text(zone, f"{what} with a time zone").strip()
    if not _UTC_SUFFIX.fullmatch(text):
        raise NotSupportedError(f"{what} to a time zone other than UTC ('{text}')")


def at_time_zone(node: exp.Expr) -> exp.Expr:
    """``AT TIME ZONE 'UTC'``, ``at_timezone`` and ``with_timezone`` to UTC: a timestamp with time zone.

    DuckDB's ``AT TIME ZONE`` turns a timestamp with time zone into one without. Other
    zones are refused: timestamps with time zone are held in UTC.

    >>> from sqlglot import parse_one
    >>> at_time_zone(parse_one("t AT TIME ZONE 'UTC'", read="athena")).sql("duckdb")
    'CAST(t AS TIMESTAMPTZ)'
    """
    if isinstance(node, exp.AtTimeZone):
        _utc_zone(node.args.get("zone"), "AT TIME ZONE")
        return exp.cast(node.this, exp.DataType.build("TIMESTAMPTZ"))
    if _is_call(node, "at_timezone", "with_timezone"):
        value, zone = node.expressions
        _utc_zone(zone, node.name.lower())
        return exp.cast(value, exp.DataType.build("TIMESTAMPTZ"))
    return node


def from_unixtime_zone(node: exp.Expr) -> exp.Expr:
    """``from_unixtime(x, zone)`` in UTC is ``from_unixtime(x)``; other zones are refused."""
    if isinstance(node, exp.UnixToTime):
        if node.args.get("hours") is not None or node.args.get("minutes") is not None:
            raise NotSupportedError("from_unixtime with an offset in hours and minutes")
        if node.args.get("zone") is not None:
            _utc_zone(node.args["zone"], "from_unixtime")
            node.set("zone", None)
    return node


def from_iso8601_date(node: exp.Expr) -> exp.Expr:
    """``from_iso8601_date`` also reads week dates (``2020-W10``) and ordinal dates (``2020-123``)."""
    if isinstance(node, exp.FromISO8601Date):
        return _call("trino_from_iso8601_date", node.this)
    return node


#: The strftime form (sqlglot's) of every MySQL specifier Trino supports; %v is ISO's %V.
_MYSQL_SPECIFIERS = {
    "%a", "%b", "%-m", "%d", "%-d", "%f", "%H", "%I", "%M", "%j", "%-H", "%-I", "%B",
    "%m", "%p", "%S", "%A", "%G", "%v", "%Y", "%y", "%%",
}  # fmt: skip


def _mysql_format(node: exp.Expr, what: str) -> str:
    fmt = _literal_text(node.args.get("format"), f"a {what} format")
    for specifier in re.findall(r"%-?.", fmt):
        if specifier not in _MYSQL_SPECIFIERS:
            raise NotSupportedError(f"{what} format specifier {specifier} in '{fmt}'")
    return fmt.replace("%v", "%V")


def date_parse(node: exp.Expr) -> exp.Expr:
    """``date_parse`` defaults to 1970-01-01 and keeps milliseconds; two-digit years are refused.

    DuckDB's ``strptime`` defaults to 1900 and reads ``69`` as 1969 (Trino: 2069).

    >>> from sqlglot import parse_one
    >>> date_parse(parse_one("date_parse(s, '%H:%i')", read="athena")).sql("duckdb")
    "STRPTIME('1970 ' || s, '%Y %H:%M')"
    """
    if not isinstance(node, exp.StrToTime):
        return node
    fmt = _mysql_format(node, "date_parse")
    if "%y" in fmt:
        raise NotSupportedError(f"date_parse of a two-digit year ('{fmt}')")
    text = node.this
    if not {"%Y", "%G"} & set(re.findall(r"%-?.", fmt)):
        text, fmt = exp.DPipe(this=exp.Literal.string("1970 "), expression=text), "%Y " + fmt
    parsed: exp.Expr = _call("strptime", text, exp.Literal.string(fmt))
    if "%f" in fmt:
        parsed = _call("date_trunc", exp.Literal.string("millisecond"), parsed)
    return parsed


def date_format(node: exp.Expr) -> exp.Expr:
    """``date_format`` with MySQL specifiers; ``%f`` shows milliseconds, as Trino does.

    >>> from sqlglot import parse_one
    >>> date_format(parse_one("date_format(t, '%Y-%m-%dT%H:%i:%sZ')", read="athena")).sql("duckdb")
    "STRFTIME(t, '%Y-%m-%dT%H:%M:%SZ')"
    """
    if not isinstance(node, exp.TimeToStr):
        return node
    fmt = _mysql_format(node, "date_format")
    value = node.this
    if "%f" in fmt:
        value = _call("date_trunc", exp.Literal.string("millisecond"), value)
    return _call("strftime", value, exp.Literal.string(fmt))


def unnest_columns(node: exp.Expr) -> exp.Expr:
    """Trino's ``UNNEST`` as a DuckDB lateral subquery.

    ``UNNEST(rows) AS t(a, b, c)`` expands each ROW into columns; ``UNNEST(x, y) AS t(a, b)``
    zips arrays, padding the shorter with NULLs; ``WITH ORDINALITY`` adds the 1-based
    position. A single alias column over an array of rows keeps the row whole, as the
    AWS documentation's ``CROSS JOIN UNNEST(resources) AS t(r)`` expects.
    """
    if not isinstance(node, exp.Unnest):
        return node
    alias = node.args.get("alias")
    columns = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    arrays = node.expressions
    ordinality = bool(node.args.get("offset"))
    if len(arrays) == 1 and not ordinality and len(columns) < 2:
        return node
    names = [f"__u{i}" for i in range(len(arrays))]
    inner = exp.select(*[exp.alias_(exp.Unnest(expressions=[a.copy()]), n) for a, n in zip(arrays, names, strict=True)])
    if ordinality:
        longest = (
            exp.func("greatest", *[exp.func("len", a.copy()) for a in arrays])
            if len(arrays) > 1
            else exp.func("len", arrays[0].copy())
        )
        positions = exp.func("range", exp.Literal.number(1), exp.Add(this=longest, expression=exp.Literal.number(1)))
        inner = inner.select(exp.alias_(exp.Unnest(expressions=[positions]), "__ord"))
    expected = len(arrays) + int(ordinality)
    if len(columns) == expected or not columns:
        outer: list[exp.Expr] = [exp.column(n) for n in names]
    elif len(arrays) == 1:
        outer = [exp.Column(this=exp.Star(), table=exp.to_identifier(names[0]))]
    else:
        raise NotSupportedError("UNNEST of several arrays of rows into their fields")
    if ordinality:
        outer.append(exp.column("__ord"))
    return exp.Lateral(this=exp.select(*outer).from_(inner.subquery()).subquery(), alias=alias)


def subscript(node: exp.Expr) -> exp.Expr:
    """``a[i]`` fails out of bounds and ``m[k]`` on a missing key; ``element_at`` is NULL there.

    DuckDB answers NULL for both, and counts ``a[-1]`` from the end. ``element_at(a, 0)``
    fails in Trino.

    >>> from sqlglot import parse_one
    >>> subscript(parse_one("SELECT a[1]", read="athena").expressions[0]).sql("duckdb")
    'TRINO_SUBSCRIPT(a, 1)'
    """
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    if node.args.get("safe"):
        return _call("trino_element_at", node.this, node.expressions[0])
    (index,) = exp.apply_index_offset(node.this, node.expressions, 1, dialect="athena")
    return _call("trino_subscript", node.this, index)


def cardinality(node: exp.Expr) -> exp.Expr:
    """``cardinality`` of an array or a map is a bigint; DuckDB's ``array_length`` takes no map.

    >>> from sqlglot import parse_one
    >>> cardinality(parse_one("cardinality(m)", read="athena")).sql("duckdb")
    'CAST(CARDINALITY(m) AS BIGINT)'
    """
    if isinstance(node, exp.ArraySize):
        return exp.cast(_call("cardinality", node.this), exp.DataType.build("BIGINT"))
    return node


def array_contains(node: exp.Expr) -> exp.Expr:
    """``contains(a, x)`` is NULL, not false, when ``x`` is missing and ``a`` holds a NULL."""
    if isinstance(node, exp.ArrayContains):
        return _call("trino_contains", node.this, node.expression)
    return node


def array_distinct(node: exp.Expr) -> exp.Expr:
    """``array_distinct`` keeps first occurrences in order, and one NULL; DuckDB's neither."""
    if isinstance(node, exp.ArrayDistinct):
        return _call("trino_array_distinct", node.this)
    return node


def match_functions(node: exp.Expr) -> exp.Expr:
    """``any_match``, ``all_match``, ``none_match``: three-valued, over the predicate's results.

    >>> from sqlglot import parse_one
    >>> match_functions(parse_one("any_match(a, x -> x > 1)", read="athena")).sql("duckdb")
    'TRINO_ANY_MATCH(LIST_TRANSFORM(a, LAMBDA x : x > 1))'
    """
    if _is_call(node, "any_match", "all_match", "none_match"):
        array, predicate = node.expressions
        return _call("trino_" + node.name.lower(), _call("list_transform", array, predicate))
    return node


def reduce_output(node: exp.Expr) -> exp.Expr:
    """``reduce(a, s, f, g)`` applies the output function ``g``, which sqlglot drops."""
    if isinstance(node, exp.Reduce) and node.args.get("finish") is not None:
        finish = node.args["finish"]
        node.set("finish", None)
        params = finish.expressions
        if len(params) == 1 and finish.this == params[0]:
            return node
        return _call(
            "list_extract", _call("list_transform", exp.Array(expressions=[node]), finish), exp.Literal.number(1)
        )
    return node


def _aggregate_of(node: exp.Expr) -> exp.Expr:
    """The aggregate under a window or a FILTER clause (the node itself otherwise)."""
    while isinstance(node, (exp.Window, exp.Filter)):
        node = node.this
    return node


def _is_wrapped(node: exp.Expr) -> bool:
    return isinstance(node.parent, (exp.Window, exp.Filter)) and node.arg_key == "this"


def count_if(node: exp.Expr) -> exp.Expr:
    """``count_if(x)`` is ``count(CASE WHEN x THEN 1 END)``: a bigint, 0 when no ``x`` is TRUE.

    DuckDB's is a HUGEINT (a decimal to Arrow), and NULL when every ``x`` is NULL.

    >>> from sqlglot import parse_one
    >>> count_if(parse_one("count_if(x > 1)", read="athena")).sql("duckdb")
    'COUNT(CASE WHEN x > 1 THEN 1 END)'
    """
    if isinstance(node, exp.CountIf):
        return exp.Count(this=exp.Case(ifs=[exp.If(this=node.this, true=exp.Literal.number(1))]))
    return node


def sum_of_integers(node: exp.Expr) -> exp.Expr:
    """``sum`` of integers is a bigint; DuckDB's is a HUGEINT. Other sums keep their type.

    The macro dispatches on the argument's type (an integer fits a BIGINT parameter).

    >>> from sqlglot import parse_one
    >>> sum_of_integers(parse_one("sum(x) OVER (ORDER BY y)", read="athena")).sql("duckdb")
    'TRINO_WINDOW_SUM(x, SUM(x) OVER (ORDER BY y))'
    """
    total = _aggregate_of(node)
    if not isinstance(total, exp.Sum) or _is_wrapped(node) or isinstance(total.this, exp.Distinct):
        return node
    if isinstance(node, exp.Window):
        return _call("trino_window_sum", total.this.copy(), node)
    if isinstance(node, exp.Sum):
        return _call("trino_sum", node.this)
    return node


def approximate_aggregates(node: exp.Expr) -> exp.Expr:
    """``approx_distinct(x, e)`` is estimated as ``approx_distinct(x)``; weighted percentiles are refused.

    The error bound ``e`` only tunes Trino's estimator (DuckDB's has its own); sqlglot
    drops the weight of ``approx_percentile(x, w, p)``, which changes the answer.
    """
    if isinstance(node, exp.ApproxDistinct):
        node.set("accuracy", None)
    elif isinstance(node, exp.ApproxQuantile) and node.args.get("weight") is not None:
        raise NotSupportedError("approx_percentile with weights")
    return node


def histogram(node: exp.Expr) -> exp.Expr:
    """``histogram`` counts are bigints; DuckDB's are unsigned."""
    if _is_call(node, "histogram") and not _is_wrapped(node):
        return _call("trino_histogram", *node.expressions)
    return node


def anonymous_row(node: exp.Expr) -> exp.Expr:
    """A ROW without field names, ``(a, b)`` or ``ROW(a, b)``, has fields ``field0``, ``field1``...

    Athena prints ``SELECT DISTINCT (eventsource, eventname)`` as ``{field0=..., field1=...}``;
    DuckDB would name the fields ``element1`` or ``_0``.

    >>> from sqlglot import parse_one
    >>> _rewrite(parse_one("SELECT (a, b)", read="athena"), anonymous_row).sql("duckdb")
    "SELECT {'field0': a, 'field1': b}"
    """
    in_projection = isinstance(node, exp.Tuple) and isinstance(node.parent, (exp.Select, exp.Alias))
    anonymous_struct = (
        isinstance(node, exp.Struct)
        and not isinstance(node.parent, exp.Cast)  # a cast names the fields itself
        and not any(isinstance(e, exp.PropertyEQ) for e in node.expressions)
    )
    if in_projection or anonymous_struct:
        fields = [
            exp.PropertyEQ(this=exp.to_identifier(f"field{i}"), expression=e) for i, e in enumerate(node.expressions)
        ]
        return exp.Struct(expressions=fields)
    return node


#: The rewrites, applied in this order, each to every node of a statement, children first.
#: The first two read node types and array indexes as sqlglot parsed them.
TRANSFORMS: tuple[Transform, ...] = (
    compare_text_with_time,
    subscript,
    json_parse,
    cast_to_json,
    cast_from_json,
    json_extract_scalar,
    json_extract,
    json_size,
    json_array_contains,
    trino_only_functions,
    repeat,
    sequence,
    recursive_with,
    typeof,
    concat_operands,
    numeric_literal_range,
    date_diff,
    regexp_extract,
    regexp_extract_all,
    regexp_replace,
    split_part,
    split,
    strpos,
    substr,
    trim_whitespace,
    replace_empty,
    format_datetime,
    parse_datetime,
    date_parse,
    date_format,
    timestamp_with_zone_literal,
    from_iso8601_timestamp,
    from_iso8601_date,
    from_unixtime_zone,
    at_time_zone,
    date_trunc,
    date_add,
    interval_arithmetic,
    cardinality,
    array_contains,
    array_distinct,
    match_functions,
    reduce_output,
    count_if,
    sum_of_integers,
    approximate_aggregates,
    histogram,
    anonymous_row,
    unnest_columns,
)


def _rewrite(tree: exp.Expr, transform: Transform) -> exp.Expr:
    """``tree`` with ``transform`` applied to every node, each node's children before it.

    A rewrite thus sees its arguments already rewritten, including calls of itself
    (``json_extract(json_extract(j, p), q)``).
    """
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


def to_duckdb(statement: exp.Expr) -> str:
    """The DuckDB SQL that answers ``statement`` as Trino would.

    sqlglot drops what DuckDB cannot say (an argument, a clause) with a warning; here
    that is a refusal.
    """
    tree = statement.copy()
    for transform in TRANSFORMS:
        tree = _rewrite(tree, transform)
    try:
        return tree.sql("duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise NotSupportedError(str(error).splitlines()[0]) from None
