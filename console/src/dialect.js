// An Athena (Trino) SQL dialect for @codemirror/lang-sql: keywords, types and functions.
import { SQLDialect } from "@codemirror/lang-sql";

const keywords =
  "all alter analyze and any array as asc at between bernoulli by call cascade case cast catalog catalogs column columns " +
  "comment commit committed constraint create cross cube current current_date current_time current_timestamp " +
  "current_user data database databases deallocate delete desc describe distinct distributed drop else end escape " +
  "except execute exists explain external extract false fetch filter first following for format from full functions " +
  "grant grants graphviz group grouping groups having if ignore in inner input insert intersect interval into is " +
  "isolation join last lateral left level like limit localtime localtimestamp location logical map match_recognize " +
  "merge natural next nfc nfd nfkc nfkd no none not null nulls offset on only option or order ordinality outer " +
  "over partition partitioned partitions position preceding prepare privileges properties range read recursive " +
  "rename repeatable replace reset respect restrict revoke right role roles rollback rollup row rows schema schemas " +
  "select serdeproperties session set sets show some start stats stored substring system table tables tablesample " +
  "tblproperties then ties to transaction true truncate try_cast uescape unbounded uncommitted union unique unknown " +
  "unload unnest update use user using values verbose view views when where window with without work write zone";

const types =
  "bigint boolean char date decimal double float int integer ipaddress json real smallint string struct time " +
  "timestamp tinyint varbinary varchar uuid";

const builtin =
  "abs approx_distinct approx_percentile approx_set arbitrary array_agg array_distinct array_except array_intersect " +
  "array_join array_max array_min array_position array_remove array_sort array_union arrays_overlap avg bit_and bit_or " +
  "bool_and bool_or cardinality cbrt ceil ceiling checksum coalesce concat concat_ws contains corr count count_if " +
  "covar_pop covar_samp date_add date_diff date_format date_parse date_trunc day day_of_month day_of_week day_of_year " +
  "dense_rank element_at every exp filter first_value flatten floor format_datetime from_base64 from_hex " +
  "from_iso8601_date from_iso8601_timestamp from_unixtime geometric_mean greatest histogram hour human_readable_seconds " +
  "if is_finite is_nan is_json_scalar json_array_contains json_array_get json_array_length json_extract " +
  "json_extract_scalar json_format json_parse json_query json_size json_value lag last_value lead least length " +
  "levenshtein_distance ln log log10 log2 lower lpad ltrim map_agg map_concat map_entries map_filter map_keys " +
  "map_values max max_by md5 min min_by minute mod month now nth_value ntile nullif parse_datetime percent_rank pow " +
  "power quarter rand random rank reduce regexp_count regexp_extract regexp_extract_all regexp_like regexp_replace " +
  "regexp_split repeat reverse round row_number rpad rtrim second sequence sha1 sha256 sha512 shuffle sign slice split " +
  "split_part sqrt starts_with stddev stddev_pop stddev_samp strpos substr sum to_base64 to_hex to_iso8601 " +
  "to_unixtime to_utf8 transform trim truncate try typeof upper url_decode url_encode url_extract_host " +
  "url_extract_parameter url_extract_path variance week with_timezone year year_of_week zip zip_with";

export const Athena = SQLDialect.define({
  keywords,
  types,
  builtin,
  operatorChars: "*+-%<>!=&|^/~?",
  identifierQuotes: '"`',
  doubleQuotedStrings: false,
  caseInsensitiveIdentifiers: true,
});
