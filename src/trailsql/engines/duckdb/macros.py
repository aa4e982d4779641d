"""Trino functions DuckDB lacks or answers differently, as DuckDB macros.

The rewrites in :mod:`trailsql.engines.duckdb.transforms` call these by name. Each follows Trino's
documentation for the function of the same name without the ``trino_`` prefix,
including its NULL handling; invalid JSON gives NULL, as in Trino.

Timestamps with time zone are held in UTC (CloudTrail writes every time in UTC); a value
in another zone would print and extract fields differently from Trino, so the functions
that could make one refuse it with ``not supported``.

Where Trino fails a call (``split_part(s, d, 0)``, an array subscript out of bounds) the
macro fails too, with Trino's message, through ``trino_fail``: a failing cast, which
``try()`` turns into NULL as Trino's ``try`` does (DuckDB's ``TRY`` refuses ``error()``);
the engine shows the message marked ``TRINO_ERROR:`` in DuckDB's cast error as Trino's.
``error()`` is kept for what trailsql does not support, which ``try()`` must not hide.
"""

MACROS = r"""
CREATE OR REPLACE MACRO trino_fail(message, typed) AS (
    [typed][CAST('TRINO_ERROR: ' || message AS INTEGER)]
);
CREATE OR REPLACE MACRO trino_json_extract_scalar(j, p) AS (
    CASE WHEN TRY(json_type(j, p)) IN ('OBJECT', 'ARRAY', 'NULL') THEN NULL
         ELSE TRY(json_extract_string(j, p)) END
);
CREATE OR REPLACE MACRO trino_json_extract(j, p) AS (
    TRY(json_extract(j, p))
);
CREATE OR REPLACE MACRO trino_json_size(j, p) AS (
    CASE TRY(json_type(j, p))
        WHEN 'ARRAY' THEN json_array_length(j, p)::BIGINT
        WHEN 'OBJECT' THEN len(json_keys(j, p))::BIGINT
        ELSE (CASE WHEN TRY(json_type(j, p)) IS NOT NULL THEN 0::BIGINT END) END
);
CREATE OR REPLACE MACRO trino_json_array_contains(j, v) AS (
    CASE WHEN TRY(json_type(j)) = 'ARRAY'
         THEN list_contains(list_transform(json_extract(j, '$[*]'), lambda e: e::VARCHAR), to_json(v)::VARCHAR) END
);
CREATE OR REPLACE MACRO trino_json_canonical(j) AS (
    WITH RECURSIVE nodes AS (SELECT id, parent, key, type, atom FROM json_tree(j)),
    walk(id, sk) AS (
        SELECT id, []::STRUCT(o INTEGER, k VARCHAR)[] FROM nodes WHERE parent IS NULL
        UNION ALL
        SELECT n.id, list_append(w.sk, {'o': 0, 'k': CASE WHEN p.type = 'ARRAY' THEN lpad(n.key, 20, '0') ELSE n.key END})
        FROM nodes n JOIN walk w ON n.parent = w.id JOIN nodes p ON p.id = n.parent
    ),
    tokens(sk, token) AS (
        SELECT w.sk,
               (CASE WHEN len(w.sk) > 0 AND w.sk[-1].k <> min(w.sk[-1].k) OVER (PARTITION BY n.parent) THEN ',' ELSE '' END)
               || (CASE WHEN p.type = 'OBJECT' THEN to_json(n.key)::VARCHAR || ':' ELSE '' END)
               || (CASE n.type WHEN 'OBJECT' THEN '{' WHEN 'ARRAY' THEN '[' WHEN 'NULL' THEN 'null' ELSE n.atom::VARCHAR END)
        FROM nodes n JOIN walk w USING (id) LEFT JOIN nodes p ON p.id = n.parent
        UNION ALL
        SELECT list_append(w.sk, {'o': 1, 'k': ''}), CASE n.type WHEN 'OBJECT' THEN '}' ELSE ']' END
        FROM nodes n JOIN walk w USING (id) WHERE n.type IN ('OBJECT', 'ARRAY')
    )
    SELECT string_agg(token, '' ORDER BY sk) FROM tokens
);
CREATE OR REPLACE MACRO trino_json_parse(s) AS (
    CAST(trino_json_canonical(json(s)) AS JSON)
);
CREATE OR REPLACE MACRO trino_json_array_length(j) AS (
    CASE WHEN json_valid(j) AND json_type(j) = 'ARRAY' THEN json_array_length(j)::BIGINT END
);
CREATE OR REPLACE MACRO trino_json_array_get(j, i) AS (
    CASE WHEN json_valid(j) AND json_type(j) = 'ARRAY' AND i BETWEEN -json_array_length(j)::BIGINT AND json_array_length(j)::BIGINT - 1
         THEN trino_json_element_text(
             json_extract(j, '$[' || (CASE WHEN i < 0 THEN json_array_length(j) + i ELSE i END) || ']')) END
);
CREATE OR REPLACE MACRO trino_json_element_text(e) AS (
    CASE json_type(e) WHEN 'VARCHAR' THEN json_extract_string(e, '$') WHEN 'NULL' THEN NULL ELSE e::VARCHAR END
);
CREATE OR REPLACE MACRO trino_json_to_varchar(j) AS (
    CASE json_type(j)
        WHEN 'OBJECT' THEN trino_fail('Cannot cast JSON object to varchar: ' || j::VARCHAR, j::VARCHAR)
        WHEN 'ARRAY' THEN trino_fail('Cannot cast JSON array to varchar: ' || j::VARCHAR, j::VARCHAR)
        ELSE trino_json_element_text(j) END
);
CREATE OR REPLACE MACRO trino_to_varchar(x TIMESTAMPTZ) AS (
    strftime(x, '%Y-%m-%d %H:%M:%S.%g') || ' UTC'
), (x TIMESTAMP_S) AS (
    strftime(x, '%Y-%m-%d %H:%M:%S')
), (x TIMESTAMP) AS (
    strftime(x, '%Y-%m-%d %H:%M:%S.%g')
), (x DATE) AS (
    CAST(x AS VARCHAR)
), (x) AS (
    CASE WHEN typeof(x) = 'JSON' THEN trino_json_to_varchar(to_json(x)) ELSE CAST(x AS VARCHAR) END
);
CREATE OR REPLACE MACRO trino_try_to_varchar(x) AS (
    CASE WHEN typeof(x) = 'JSON' AND json_type(to_json(x)) IN ('OBJECT', 'ARRAY') THEN NULL ELSE trino_to_varchar(x) END
);
CREATE OR REPLACE MACRO trino_to_varchar_array(x) AS (
    CASE WHEN typeof(x) = 'JSON' THEN list_transform(CAST(x AS JSON[]), lambda e: trino_json_to_varchar(e))
         ELSE CAST(x AS VARCHAR[]) END
);
CREATE OR REPLACE MACRO trino_to_json_array(x) AS (
    list_transform(CAST(x AS JSON[]), lambda e: coalesce(e, 'null'::JSON))
);
CREATE OR REPLACE MACRO trino_to_varchar_map(x) AS (
    CASE WHEN typeof(x) = 'JSON'
         THEN map_from_entries(list_transform(map_entries(CAST(x AS MAP(VARCHAR, JSON))),
                                              lambda e: {'k': e.key, 'v': trino_json_to_varchar(e.value)}))
         ELSE CAST(x AS MAP(VARCHAR, VARCHAR)) END
);
CREATE OR REPLACE MACRO trino_to_json_map(x) AS (
    map_from_entries(list_transform(map_entries(CAST(x AS MAP(VARCHAR, JSON))),
                                    lambda e: {'k': e.key, 'v': coalesce(e.value, 'null'::JSON)}))
);
CREATE OR REPLACE MACRO trino_regexp_extract(s, p, g) AS (
    CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END
);
CREATE OR REPLACE MACRO trino_split_part(s, d, i) AS (
    CASE WHEN i < 1 THEN trino_fail('Index must be greater than zero', s) ELSE str_split(s, d)[i] END
);
CREATE OR REPLACE MACRO trino_split(s, d) AS (
    CASE WHEN d = '' THEN trino_fail('The delimiter may not be the empty string', []::VARCHAR[])
         ELSE str_split(s, d) END
), (s, d, n) AS (
    CASE WHEN d = '' THEN trino_fail('The delimiter may not be the empty string', []::VARCHAR[])
         WHEN n <= 0 THEN trino_fail('Limit must be positive', []::VARCHAR[])
         WHEN len(str_split(s, d)) <= n THEN str_split(s, d)
         ELSE list_append(str_split(s, d)[1:n - 1], array_to_string(str_split(s, d)[n:], d)) END
);
CREATE OR REPLACE MACRO trino_strpos(s, f, n) AS (
    CASE WHEN s IS NULL OR f IS NULL OR n IS NULL THEN NULL
         WHEN n = 0 THEN trino_fail('''instance'' must be a positive or negative number.', 0::BIGINT)
         WHEN f = '' THEN 1::BIGINT
         ELSE coalesce(list_filter(range(1, length(s) + 1), lambda p: substring(s, p, length(f)) = f)[n], 0) END
);
CREATE OR REPLACE MACRO trino_substr(s, b) AS (
    CASE WHEN s IS NULL OR b IS NULL THEN NULL
         WHEN b = 0 OR -b > length(s) THEN ''
         WHEN b > 0 THEN substring(s, b)
         ELSE substring(s, length(s) + b + 1) END
), (s, b, n) AS (
    CASE WHEN s IS NULL OR b IS NULL OR n IS NULL THEN NULL
         WHEN b = 0 OR n <= 0 OR -b > length(s) THEN ''
         WHEN b > 0 THEN substring(s, b, n)
         ELSE substring(s, length(s) + b + 1, n) END
);
CREATE OR REPLACE MACRO trino_whitespace() AS (
    -- java.lang.Character.isWhitespace, which Trino's trim functions use
    chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || chr(30) || chr(31) || chr(32)
    || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198)
    || chr(8200) || chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8287) || chr(12288)
);
CREATE OR REPLACE MACRO trino_trim(s) AS (
    trim(s, trino_whitespace())
);
CREATE OR REPLACE MACRO trino_ltrim(s) AS (
    ltrim(s, trino_whitespace())
);
CREATE OR REPLACE MACRO trino_rtrim(s) AS (
    rtrim(s, trino_whitespace())
);
CREATE OR REPLACE MACRO trino_replace(s, f, r) AS (
    CASE WHEN f = '' THEN r || array_to_string(list_transform(str_split(s, ''), lambda c: c || r), '')
         ELSE replace(s, f, r) END
);
CREATE OR REPLACE MACRO trino_url_invalid(u) AS (
    regexp_matches(u, '[ "<>\\^`{|}]|%([^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)')
    OR regexp_matches(u, '^([^/?#:]*[^A-Za-z0-9+.\-/?#:][^/?#:]*|[^A-Za-z/?#:][^/?#:]*|):')
);
CREATE OR REPLACE MACRO trino_url_part(u, g) AS (
    CASE WHEN NOT trino_url_invalid(u)
         THEN regexp_extract(u, '^(([A-Za-z][A-Za-z0-9+.\-]*):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$', g) END
);
CREATE OR REPLACE MACRO trino_url_opaque(u) AS (
    trino_url_part(u, 2) <> '' AND trino_url_part(u, 3) = '' AND NOT starts_with(trino_url_part(u, 5), '/')
);
CREATE OR REPLACE MACRO trino_url_extract_host(u) AS (
    CASE WHEN NOT trino_url_invalid(u)
         THEN regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^@/?#]*@)?([^/:?#]*)', 2) END
);
CREATE OR REPLACE MACRO trino_url_extract_protocol(u) AS (
    trino_url_part(u, 2)
);
CREATE OR REPLACE MACRO trino_url_extract_path(u) AS (
    CASE WHEN trino_url_opaque(u) THEN '' ELSE url_decode(trino_url_part(u, 5)) END
);
CREATE OR REPLACE MACRO trino_url_extract_query(u) AS (
    CASE WHEN trino_url_opaque(u) THEN '' ELSE url_decode(trino_url_part(u, 7)) END
);
CREATE OR REPLACE MACRO trino_url_extract_fragment(u) AS (
    url_decode(trino_url_part(u, 9))
);
CREATE OR REPLACE MACRO trino_url_extract_port(u) AS (
    TRY_CAST(regexp_extract(trino_url_part(u, 4), ':([0-9]+)$', 1) AS BIGINT)
);
CREATE OR REPLACE MACRO trino_url_extract_parameter(u, name) AS (
    CASE WHEN trino_url_part(u, 6) <> '' AND NOT trino_url_opaque(u)
         THEN list_transform(
             list_filter(str_split(trino_url_part(u, 7), '&'), lambda a: split_part(a, '=', 1) = name),
             lambda a: CASE WHEN contains(a, '=') THEN url_decode(replace(substring(a, strpos(a, '=') + 1), '+', ' '))
                            ELSE '' END)[1] END
);
CREATE OR REPLACE MACRO trino_from_iso8601_timestamp(s) AS (
    CASE WHEN regexp_matches(s, 'T[0-9:.,]+([+-][0-9]{2}(:?[0-9]{2})?)$')
              AND NOT regexp_matches(s, 'T[0-9:.,]+[+-]00(:?00)?$')
         THEN error('not supported: timestamps with a time zone other than UTC (' || s || ')')
         ELSE CAST(s AS TIMESTAMPTZ) END
);
CREATE OR REPLACE MACRO trino_iso_week_date(y, w, d) AS (
    make_date(y, 1, 4) - (isodow(make_date(y, 1, 4)) - 1)::INTEGER + 7 * (w - 1) + d - 1
);
CREATE OR REPLACE MACRO trino_from_iso8601_date(s) AS (
    CASE WHEN regexp_matches(s, '^[0-9]{4}-W[0-9]{2}(-[1-7])?$')
              AND regexp_extract(s, '-W([0-9]+)', 1)::INTEGER BETWEEN 1 AND 53 THEN
             trino_iso_week_date(left(s, 4)::INTEGER, regexp_extract(s, '-W([0-9]+)', 1)::INTEGER,
                                 coalesce(TRY_CAST(regexp_extract(s, 'W[0-9]+-([1-7])', 1) AS INTEGER), 1))
         WHEN regexp_matches(s, '^[0-9]{4}-[0-9]{3}$')
              AND right(s, 3)::INTEGER BETWEEN 1 AND dayofyear(make_date(left(s, 4)::INTEGER, 12, 31)) THEN
             make_date(left(s, 4)::INTEGER, 1, 1) + right(s, 3)::INTEGER - 1
         WHEN regexp_matches(s, '^[0-9]{4}(-[0-9]{1,2})?$') THEN
             make_date(left(s, 4)::INTEGER, coalesce(TRY_CAST(regexp_extract(s, '-([0-9]+)', 1) AS INTEGER), 1), 1)
         WHEN regexp_matches(s, '^[0-9]{4}-(W[0-9]{2}(-[0-9])?|[0-9]{3})$') THEN
             trino_fail('Invalid format: "' || s || '"', NULL::DATE)
         ELSE CAST(s AS DATE) END
);
CREATE OR REPLACE MACRO trino_to_iso8601(x) AS (
    CASE WHEN typeof(x) = 'DATE' THEN strftime(x::DATE, '%Y-%m-%d')
         WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE'
              THEN strftime(timezone('UTC', x::TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')
         ELSE strftime(x::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%g') END
);
CREATE OR REPLACE MACRO trailsql_lake_map(j) AS (
    CASE WHEN TRY(json_type(j)) = 'OBJECT' THEN map_from_entries(list_transform(json_keys(j),
        lambda k: {'key': k, 'value': json_extract_string(j, '$."' || replace(k, '"', '\\"') || '"')}))
    END
);
CREATE OR REPLACE MACRO trino_date_trunc(u, d DATE) AS (
    CASE WHEN u IN ('day', 'week', 'month', 'quarter', 'year') THEN CAST(date_trunc(u, d) AS DATE)
         ELSE trino_fail('''' || u || ''' is not a valid DATE field', d) END
), (u, x) AS (
    date_trunc(u, x)
);
CREATE OR REPLACE MACRO trino_date_plus(d DATE, i) AS (
    CASE WHEN epoch(i) % 86400 <> 0 THEN trino_fail('Cannot add hour, minutes or seconds to a date', d)
         ELSE CAST(d + i AS DATE) END
), (x, i) AS (
    x + i
);
CREATE OR REPLACE MACRO trino_date_minus(d DATE, i) AS (
    CASE WHEN epoch(i) % 86400 <> 0 THEN trino_fail('Cannot subtract hour, minutes or seconds from a date', d)
         ELSE CAST(d - i AS DATE) END
), (x, i) AS (
    x - i
);
CREATE OR REPLACE MACRO trino_element_at(c, i) AS (
    CASE WHEN typeof(c) NOT LIKE 'MAP(%' AND i = 0 THEN trino_fail('SQL array indices start at 1', c[i])
         ELSE c[i] END
);
CREATE OR REPLACE MACRO trino_subscript(c, i) AS (
    CASE WHEN c IS NULL OR i IS NULL THEN NULL
         WHEN typeof(c) LIKE 'MAP(%' THEN
             CASE WHEN c[i] IS NOT NULL OR list_contains(json_keys(to_json(c)), CAST(i AS VARCHAR)) THEN c[i]
                  ELSE trino_fail('Key not present in map: ' || CAST(i AS VARCHAR), c[i]) END
         WHEN TRY_CAST(i AS BIGINT) BETWEEN 1 AND cardinality(c) THEN c[i]
         WHEN TRY_CAST(i AS BIGINT) = 0 THEN trino_fail('SQL array indices start at 1', c[i])
         WHEN TRY_CAST(i AS BIGINT) < 0 THEN trino_fail('Array subscript is negative: ' || CAST(i AS VARCHAR), c[i])
         ELSE trino_fail('Array subscript must be less than or equal to array length: '
                         || CAST(i AS VARCHAR) || ' > ' || CAST(cardinality(c) AS VARCHAR), c[i]) END
);
CREATE OR REPLACE MACRO trino_contains(a, x) AS (
    CASE WHEN a IS NULL OR x IS NULL THEN NULL
         WHEN list_contains(a, x) THEN true
         WHEN list_count(a) < len(a) THEN NULL
         ELSE false END
);
CREATE OR REPLACE MACRO trino_array_distinct(a) AS (
    list_filter(a, lambda x, i: list_position(a, x) = i)
);
CREATE OR REPLACE MACRO trino_any_match(b) AS (
    CASE WHEN list_contains(b, true) THEN true WHEN list_count(b) < len(b) THEN NULL WHEN b IS NOT NULL THEN false END
);
CREATE OR REPLACE MACRO trino_all_match(b) AS (
    CASE WHEN list_contains(b, false) THEN false WHEN list_count(b) < len(b) THEN NULL WHEN b IS NOT NULL THEN true END
);
CREATE OR REPLACE MACRO trino_none_match(b) AS (
    CASE WHEN list_contains(b, true) THEN false WHEN list_count(b) < len(b) THEN NULL WHEN b IS NOT NULL THEN true END
);
CREATE OR REPLACE MACRO trino_sum(x BIGINT) AS (
    CAST(sum(x) AS BIGINT)
), (x) AS (
    sum(x)
);
CREATE OR REPLACE MACRO trino_window_sum(x BIGINT, s) AS (
    CAST(s AS BIGINT)
), (x, s) AS (
    s
);
CREATE OR REPLACE MACRO trino_histogram(x) AS (
    map_from_entries(list_transform(map_entries(histogram(x)), lambda e: {'k': e.key, 'v': CAST(e.value AS BIGINT)}))
);
CREATE OR REPLACE MACRO trino_sequence(a, b, s) AS (
    CASE WHEN s = 0 THEN trino_fail('step must not be zero', [a])
         WHEN (s > 0 AND a > b) OR (s < 0 AND a < b) THEN trino_fail('sequence stop value should be greater than or '
              || 'equal to start value if step is greater than zero otherwise stop should be less than or equal to start', [a])
         WHEN (CAST(b AS HUGEINT) - a) // s >= 10000 THEN
              trino_fail('result of sequence function must not have more than 10000 entries', [a])
         ELSE generate_series(CAST(a AS BIGINT), CAST(b AS BIGINT), CAST(s AS BIGINT)) END
);
CREATE OR REPLACE MACRO trino_date_sequence(a, b) AS (
    CASE WHEN abs(date_diff('day', a, b)) >= 10000 THEN
              trino_fail('result of sequence function must not have more than 10000 entries', [a])
         ELSE list_transform(range(abs(date_diff('day', a, b)) + 1),
                             lambda i: a + CAST(CASE WHEN a <= b THEN i ELSE -i END AS INTEGER)) END
);
CREATE OR REPLACE MACRO trino_repeat(e, n) AS (
    CASE WHEN n < 0 THEN trino_fail('count argument of repeat function must be greater than or equal to 0', [e])
         WHEN n > 10000 THEN trino_fail('count argument of repeat function must be less than or equal to 10000', [e])
         ELSE list_transform(range(n), lambda i: e) END
);
"""
