-- BigQuery compatibility for the embedded engine: type aliases and SQL
-- macros that give DuckDB the GoogleSQL functions SAM's models use, with
-- BigQuery's documented results. Installed on every open; every statement
-- is idempotent. Statements end with a semicolon at the end of a line.
-- Names qualified with system.main. call DuckDB's built-in function where a
-- macro replaces it.

-- Types. INT64, STRING, BOOL, DATETIME already exist in DuckDB; NUMERIC is a
-- DuckDB built-in (DECIMAL(18,3)) that cannot be redefined.
CREATE TYPE FLOAT64 AS DOUBLE;
CREATE TYPE BYTES AS BLOB;

-- Translates the format elements BigQuery has and DuckDB's strftime and
-- strptime lack into DuckDB's equivalents.
CREATE OR REPLACE MACRO sam_bq_format(fmt) AS
  replace(replace(replace(replace(replace(replace(replace(replace(replace(fmt,
    '%E*S', '%S.%f'), '%E6S', '%S.%f'), '%E3S', '%S.%g'), '%E4Y', '%Y'),
    '%F', '%Y-%m-%d'), '%T', '%H:%M:%S'), '%D', '%m/%d/%y'), '%R', '%H:%M'), '%h', '%b');

-- Timestamps from and to epoch counts.
CREATE OR REPLACE MACRO timestamp_micros(x) AS make_timestamp(CAST(x AS BIGINT));
CREATE OR REPLACE MACRO timestamp_millis(x) AS make_timestamp(CAST(x AS BIGINT) * 1000);
CREATE OR REPLACE MACRO timestamp_seconds(x) AS make_timestamp(CAST(x AS BIGINT) * 1000000);
CREATE OR REPLACE MACRO unix_micros(ts) AS epoch_us(CAST(ts AS TIMESTAMP));
CREATE OR REPLACE MACRO unix_millis(ts) AS epoch_ms(CAST(ts AS TIMESTAMP));
CREATE OR REPLACE MACRO unix_seconds(ts) AS CAST(floor(epoch_us(CAST(ts AS TIMESTAMP)) / 1000000) AS BIGINT);
CREATE OR REPLACE MACRO unix_date(d) AS CAST(CAST(d AS DATE) - DATE '1970-01-01' AS BIGINT);
CREATE OR REPLACE MACRO date_from_unix_date(n) AS DATE '1970-01-01' + CAST(n AS INTEGER);

-- Parsing and formatting with BigQuery format strings. TIMESTAMP values
-- are UTC; the optional time zone argument names the zone to read or show.
-- DuckDB's strptime needs a constant format, so PARSE_* take the format
-- as written: use the elements both engines share (%Y-%m-%d, not %F).
CREATE OR REPLACE MACRO parse_date(fmt, s) AS CAST(strptime(s, fmt) AS DATE);
CREATE OR REPLACE MACRO parse_datetime(fmt, s) AS CAST(strptime(s, fmt) AS TIMESTAMP);
CREATE OR REPLACE MACRO parse_timestamp(fmt, s) AS CAST(strptime(s, fmt) AS TIMESTAMP),
  (fmt, s, tz) AS CAST(timezone(tz, CAST(strptime(s, fmt) AS TIMESTAMP)) AS TIMESTAMP);
-- FORMAT_* translate BigQuery-only elements (%F, %T, %E*S, %Ez, ...). The
-- value argument stays bare: DuckDB then binds the format per call, where
-- it is constant.
CREATE OR REPLACE MACRO format_date(fmt, d) AS strftime(d, sam_bq_format(fmt));
CREATE OR REPLACE MACRO format_datetime(fmt, ts) AS strftime(ts, sam_bq_format(fmt));
CREATE OR REPLACE MACRO format_timestamp(fmt, ts) AS strftime(ts, replace(sam_bq_format(fmt), '%Z', 'UTC'));

-- DATETIME(ts) is the UTC civil time of a TIMESTAMP.
CREATE OR REPLACE MACRO datetime(x) AS CAST(x AS TIMESTAMP);

-- BigQuery's CURRENT_TIMESTAMP() takes parentheses and returns a UTC
-- TIMESTAMP.
CREATE OR REPLACE MACRO current_timestamp() AS CAST(now() AS TIMESTAMP);
CREATE OR REPLACE MACRO current_datetime() AS CAST(now() AS TIMESTAMP);

-- Date and timestamp arithmetic with INTERVAL arguments. BigQuery's
-- DATE_ADD and DATE_SUB return a DATE (DuckDB's return a TIMESTAMP);
-- DuckDB's three-argument date_sub(part, start, end) still works.
CREATE OR REPLACE MACRO timestamp_add(ts, i) AS ts + i;
CREATE OR REPLACE MACRO timestamp_sub(ts, i) AS ts - i;
CREATE OR REPLACE MACRO datetime_add(ts, i) AS CAST(ts AS TIMESTAMP) + i;
CREATE OR REPLACE MACRO datetime_sub(ts, i) AS CAST(ts AS TIMESTAMP) - i;
CREATE OR REPLACE MACRO date_add(d, i) AS CAST(CAST(d AS DATE) + i AS DATE);
CREATE OR REPLACE MACRO date_sub(d, i) AS CAST(CAST(d AS DATE) - i AS DATE),
  (part, startdate, enddate) AS system.main.date_sub(part, startdate, enddate);
CREATE OR REPLACE MACRO generate_date_array(a, b) AS
    list_transform(generate_series(CAST(a AS DATE), CAST(b AS DATE), INTERVAL 1 DAY), lambda x: CAST(x AS DATE)),
  (a, b, i) AS
    list_transform(generate_series(CAST(a AS DATE), CAST(b AS DATE), i), lambda x: CAST(x AS DATE));
CREATE OR REPLACE MACRO generate_timestamp_array(a, b, i) AS
  generate_series(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP), i);
CREATE OR REPLACE MACRO generate_array(a, b) AS generate_series(a, b),
  (a, b, step) AS generate_series(a, b, step);

-- Arithmetic.
CREATE OR REPLACE MACRO safe_divide(a, b) AS CASE WHEN b = 0 THEN NULL ELSE a / b END;
CREATE OR REPLACE MACRO ieee_divide(a, b) AS CAST(a AS DOUBLE) / CAST(b AS DOUBLE);
CREATE OR REPLACE MACRO div(x, y) AS
  CASE WHEN y = 0 THEN error('division by zero: ' || x || ' / ' || y) ELSE CAST(trunc(x / y) AS BIGINT) END;
CREATE OR REPLACE MACRO is_nan(x) AS isnan(x);
CREATE OR REPLACE MACRO is_inf(x) AS isinf(x);
-- BigQuery LOG(x) is the natural logarithm and LOG(x, base) puts the base
-- second; DuckDB's log is base 10 and takes the base first.
CREATE OR REPLACE MACRO log(x) AS ln(x),
  (x, base) AS ln(x) / ln(base);
-- BigQuery's GREATEST and LEAST return NULL if any argument is NULL.
CREATE OR REPLACE MACRO greatest(a, b) AS
    CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE system.main.greatest(a, b) END,
  (a, b, c) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL THEN NULL ELSE system.main.greatest(a, b, c) END,
  (a, b, c, d) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL THEN NULL ELSE system.main.greatest(a, b, c, d) END,
  (a, b, c, d, e) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL THEN NULL ELSE system.main.greatest(a, b, c, d, e) END,
  (a, b, c, d, e, f) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL THEN NULL ELSE system.main.greatest(a, b, c, d, e, f) END,
  (a, b, c, d, e, f, g) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL OR g IS NULL THEN NULL ELSE system.main.greatest(a, b, c, d, e, f, g) END,
  (a, b, c, d, e, f, g, h) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL OR g IS NULL OR h IS NULL THEN NULL ELSE system.main.greatest(a, b, c, d, e, f, g, h) END;
CREATE OR REPLACE MACRO least(a, b) AS
    CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE system.main.least(a, b) END,
  (a, b, c) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL THEN NULL ELSE system.main.least(a, b, c) END,
  (a, b, c, d) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL THEN NULL ELSE system.main.least(a, b, c, d) END,
  (a, b, c, d, e) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL THEN NULL ELSE system.main.least(a, b, c, d, e) END,
  (a, b, c, d, e, f) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL THEN NULL ELSE system.main.least(a, b, c, d, e, f) END,
  (a, b, c, d, e, f, g) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL OR g IS NULL THEN NULL ELSE system.main.least(a, b, c, d, e, f, g) END,
  (a, b, c, d, e, f, g, h) AS
    CASE WHEN a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL OR e IS NULL OR f IS NULL OR g IS NULL OR h IS NULL THEN NULL ELSE system.main.least(a, b, c, d, e, f, g, h) END;

-- Aggregates (usable with OVER as well).
CREATE OR REPLACE MACRO logical_or(x) AS bool_or(x);
CREATE OR REPLACE MACRO logical_and(x) AS bool_and(x);
-- BigQuery's PERCENTILE_CONT(x, p) OVER (...) is its way to a median.
CREATE OR REPLACE MACRO percentile_cont(x, p) AS quantile_cont(x, p);
CREATE OR REPLACE MACRO percentile_disc(x, p) AS quantile_disc(x, p);
CREATE OR REPLACE MACRO rand() AS random();

-- Regular expressions. BigQuery returns the first capturing group when the
-- pattern has one and NULL when nothing matches, and REGEXP_REPLACE replaces
-- every match.
CREATE OR REPLACE MACRO regexp_contains(s, re) AS regexp_matches(s, re);
-- Whether a pattern has a capturing group: drop escapes and character
-- classes, then look for "(" not followed by "?" (named groups count).
CREATE OR REPLACE MACRO sam_regex_has_group(re) AS
  regexp_matches(
    system.main.regexp_replace(system.main.regexp_replace(re, '\\.', '', 'g'), '\[\^?\]?[^\]]*\]', '', 'g'),
    '\((?:[^?]|\?P?<)');
CREATE OR REPLACE MACRO regexp_extract_all(s, re) AS
    CASE WHEN sam_regex_has_group(re) THEN system.main.regexp_extract_all(s, re, 1)
         ELSE system.main.regexp_extract_all(s, re, 0) END,
  (s, re, grp) AS system.main.regexp_extract_all(s, re, grp);
-- REGEXP_EXTRACT's optional arguments are BigQuery's: the 1-based position
-- to start searching at and the 1-based occurrence.
CREATE OR REPLACE MACRO regexp_extract(s, re) AS
    CASE WHEN NOT regexp_matches(s, re) THEN NULL
         WHEN sam_regex_has_group(re) THEN system.main.regexp_extract(s, re, 1)
         ELSE system.main.regexp_extract(s, re, 0) END,
  (s, re, pos) AS
    CASE WHEN NOT regexp_matches(substr(s, pos), re) THEN NULL
         WHEN sam_regex_has_group(re) THEN system.main.regexp_extract(substr(s, pos), re, 1)
         ELSE system.main.regexp_extract(substr(s, pos), re, 0) END,
  (s, re, pos, occurrence) AS regexp_extract_all(substr(s, pos), re)[occurrence];
CREATE OR REPLACE MACRO regexp_substr(s, re) AS regexp_extract(s, re),
  (s, re, pos) AS regexp_extract(s, re, pos),
  (s, re, pos, occurrence) AS regexp_extract(s, re, pos, occurrence);
-- DuckDB's four-argument form (options) is not available: its options must
-- be a constant, which a macro parameter is not.
CREATE OR REPLACE MACRO regexp_replace(s, re, repl) AS system.main.regexp_replace(s, re, repl, 'g');

-- Strings and bytes. BigQuery's CONCAT is NULL when any argument is NULL
-- (DuckDB's skips NULLs).
CREATE OR REPLACE MACRO concat(a) AS CAST(a AS VARCHAR),
  (a, b) AS a || b,
  (a, b, c) AS a || b || c,
  (a, b, c, d) AS a || b || c || d,
  (a, b, c, d, e) AS a || b || c || d || e,
  (a, b, c, d, e, f) AS a || b || c || d || e || f,
  (a, b, c, d, e, f, g) AS a || b || c || d || e || f || g,
  (a, b, c, d, e, f, g, h) AS a || b || c || d || e || f || g || h;
CREATE OR REPLACE MACRO split(s) AS string_split(s, ','),
  (s, delim) AS string_split(s, delim);
CREATE OR REPLACE MACRO to_hex(b) AS lower(system.main.hex(b));
-- BYTE_LENGTH takes STRING here; for BYTES use octet_length.
CREATE OR REPLACE MACRO byte_length(s) AS strlen(s);
CREATE OR REPLACE MACRO contains_substr(s, sub) AS contains(lower(CAST(s AS VARCHAR)), lower(sub));
CREATE OR REPLACE MACRO generate_uuid() AS CAST(gen_random_uuid() AS VARCHAR);
-- BigQuery FORMAT is printf-like (DuckDB's format is fmt-like).
CREATE OR REPLACE MACRO format(fmt) AS printf(fmt),
  (fmt, a) AS printf(fmt, a),
  (fmt, a, b) AS printf(fmt, a, b),
  (fmt, a, b, c) AS printf(fmt, a, b, c),
  (fmt, a, b, c, d) AS printf(fmt, a, b, c, d),
  (fmt, a, b, c, d, e) AS printf(fmt, a, b, c, d, e),
  (fmt, a, b, c, d, e, f) AS printf(fmt, a, b, c, d, e, f),
  (fmt, a, b, c, d, e, f, g) AS printf(fmt, a, b, c, d, e, f, g),
  (fmt, a, b, c, d, e, f, g, h) AS printf(fmt, a, b, c, d, e, f, g, h);

-- JSON. JSON_VALUE and JSON_EXTRACT_SCALAR return the unquoted scalar and
-- NULL for objects and arrays.
CREATE OR REPLACE MACRO json_value(j) AS
    CASE WHEN json_type(j) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, '$') END,
  (j, path) AS
    CASE WHEN json_type(j, path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, path) END;
CREATE OR REPLACE MACRO json_extract_scalar(j) AS json_value(j),
  (j, path) AS json_value(j, path);
-- JSON_EXTRACT_ARRAY returns the elements' JSON text.
CREATE OR REPLACE MACRO json_extract_array(j) AS
    list_transform(CAST(CAST(j AS JSON) AS JSON[]), lambda x: CAST(x AS VARCHAR)),
  (j, path) AS
    list_transform(CAST(json_extract(j, path) AS JSON[]), lambda x: CAST(x AS VARCHAR));
CREATE OR REPLACE MACRO json_query(j, path) AS json_extract(j, path);
CREATE OR REPLACE MACRO to_json_string(x) AS CAST(to_json(x) AS VARCHAR);
CREATE OR REPLACE MACRO parse_json(s) AS json(s);
