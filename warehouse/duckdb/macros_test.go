package duckdb

import (
	"math"
	"reflect"
	"regexp"
	"testing"
	"time"
)

func ts(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestMacros checks each BigQuery function against the result BigQuery's
// documentation gives for the same call (mostly its own examples).
func TestMacros(t *testing.T) {
	db := openMem(t)
	cases := []struct {
		sql  string
		want any
	}{
		// Types.
		{"SELECT CAST('12' AS INT64)", int64(12)},
		{"SELECT CAST(1.5 AS FLOAT64)", 1.5},
		{"SELECT CAST('ab' AS BYTES)", []byte("ab")},
		{"SELECT CAST(1 AS STRING)", "1"},
		{"SELECT CAST('true' AS BOOL)", true},
		// Epoch conversions.
		{"SELECT TIMESTAMP_MICROS(1230219000000000)", ts("2008-12-25 15:30:00")},
		{"SELECT TIMESTAMP_MILLIS(1230219000000)", ts("2008-12-25 15:30:00")},
		{"SELECT TIMESTAMP_SECONDS(1230219000)", ts("2008-12-25 15:30:00")},
		{"SELECT UNIX_MICROS(TIMESTAMP '2008-12-25 15:30:00+00')", int64(1230219000000000)},
		{"SELECT UNIX_MILLIS(TIMESTAMP '2008-12-25 15:30:00.0019')", int64(1230219000001)},
		{"SELECT UNIX_SECONDS(TIMESTAMP '2008-12-25 15:30:00.9')", int64(1230219000)},
		{"SELECT UNIX_SECONDS(TIMESTAMP '1969-12-31 23:59:59.5')", int64(-1)},
		{"SELECT UNIX_DATE(DATE '2008-12-25')", int64(14238)},
		{"SELECT DATE_FROM_UNIX_DATE(14238)", day("2008-12-25")},
		// Parsing and formatting.
		{"SELECT PARSE_DATE('%Y%m%d', '20081225')", day("2008-12-25")},
		{"SELECT PARSE_DATE('%Y-%m-%d', '2008-12-25')", day("2008-12-25")},
		{"SELECT PARSE_DATETIME('%Y-%m-%d %H:%M:%S', '1998-10-18 13:45:55')", ts("1998-10-18 13:45:55")},
		{"SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2008-12-25 07:30:00')", ts("2008-12-25 07:30:00")},
		{"SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S%z', '2008-12-25 07:30:00+0200')", ts("2008-12-25 05:30:00")},
		{"SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2008-12-25 07:30:00', 'America/Los_Angeles')", ts("2008-12-25 15:30:00")},
		{"SELECT FORMAT_DATE('%b-%d-%Y', DATE '2008-12-25')", "Dec-25-2008"},
		{"SELECT FORMAT_DATE('%Y%m', DATE '2008-12-25')", "200812"},
		{"SELECT FORMAT_DATE('%F', DATE '2008-12-25')", "2008-12-25"},
		{"SELECT FORMAT_DATETIME('%D %R', DATETIME '2008-12-25 15:30:00')", "12/25/08 15:30"},
		{"SELECT FORMAT_TIMESTAMP('%F %T %Z', TIMESTAMP '2008-12-25 15:30:00')", "2008-12-25 15:30:00 UTC"},
		{"SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6S', TIMESTAMP '2008-12-25 15:30:00.123456')", "2008-12-25T15:30:00.123456"},
		{"SELECT FORMAT_TIMESTAMP('%H:%M:%E3S', TIMESTAMP '2008-12-25 15:30:00.123456')", "15:30:00.123"},
		// Arithmetic with intervals.
		{"SELECT TIMESTAMP_ADD(TIMESTAMP '2008-12-25 15:30:00', INTERVAL 10 MINUTE)", ts("2008-12-25 15:40:00")},
		{"SELECT TIMESTAMP_SUB(TIMESTAMP '2008-12-25 15:30:00', INTERVAL 10 MINUTE)", ts("2008-12-25 15:20:00")},
		{"SELECT DATETIME_ADD(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE)", ts("2008-12-25 15:40:00")},
		{"SELECT DATETIME_SUB(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE)", ts("2008-12-25 15:20:00")},
		{"SELECT DATE_ADD(DATE '2008-12-25', INTERVAL 5 DAY)", day("2008-12-30")},
		{"SELECT DATE_SUB(DATE '2008-12-25', INTERVAL 5 DAY)", day("2008-12-20")},
		{"SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH)", day("2024-02-29")},
		{"SELECT typeof(DATE_ADD(DATE '2008-12-25', INTERVAL 5 DAY))", "DATE"},
		{"SELECT date_sub('day', DATE '2024-01-01', DATE '2024-01-10')", int64(9)},
		{"SELECT GENERATE_DATE_ARRAY('2016-10-05', '2016-10-08')", []any{day("2016-10-05"), day("2016-10-06"), day("2016-10-07"), day("2016-10-08")}},
		{"SELECT GENERATE_DATE_ARRAY('2016-10-05', '2016-10-09', INTERVAL 2 DAY)", []any{day("2016-10-05"), day("2016-10-07"), day("2016-10-09")}},
		{"SELECT GENERATE_DATE_ARRAY('2016-01-01', '2016-03-01', INTERVAL 1 MONTH)", []any{day("2016-01-01"), day("2016-02-01"), day("2016-03-01")}},
		{"SELECT GENERATE_TIMESTAMP_ARRAY('2016-10-05 00:00:00', '2016-10-07 00:00:00', INTERVAL 1 DAY)",
			[]any{ts("2016-10-05 00:00:00"), ts("2016-10-06 00:00:00"), ts("2016-10-07 00:00:00")}},
		{"SELECT GENERATE_ARRAY(1, 5)", []any{int64(1), int64(2), int64(3), int64(4), int64(5)}},
		{"SELECT GENERATE_ARRAY(0, 10, 3)", []any{int64(0), int64(3), int64(6), int64(9)}},
		{"SELECT typeof(CURRENT_TIMESTAMP())", "TIMESTAMP"},
		{"SELECT DATETIME(TIMESTAMPTZ '2008-12-25 15:30:00+02')", ts("2008-12-25 13:30:00")},
		{"SELECT typeof(CURRENT_DATETIME())", "TIMESTAMP"},
		{"SELECT CURRENT_TIMESTAMP() - CAST(current_timestamp AS TIMESTAMP) < INTERVAL 1 MINUTE", true},
		// Arithmetic.
		{"SELECT SAFE_DIVIDE(20, 4)", 5.0},
		{"SELECT SAFE_DIVIDE(0, 20)", 0.0},
		{"SELECT SAFE_DIVIDE(10, 0)", nil},
		{"SELECT SAFE_DIVIDE(NULL, 4)", nil},
		{"SELECT IEEE_DIVIDE(20.0, 4.0)", 5.0},
		{"SELECT IEEE_DIVIDE(25.0, 0.0)", math.Inf(1)},
		{"SELECT IEEE_DIVIDE(-25.0, 0.0)", math.Inf(-1)},
		{"SELECT IS_NAN(IEEE_DIVIDE(0.0, 0.0))", true},
		{"SELECT IS_INF(IEEE_DIVIDE(1, 0))", true},
		{"SELECT DIV(20, 4)", int64(5)},
		{"SELECT DIV(12, -7)", int64(-1)},
		{"SELECT DIV(-12, 7)", int64(-1)},
		{"SELECT LOG(100, 10)", 2.0},
		{"SELECT round(LOG(exp(2)), 12)", 2.0},
		{"SELECT GREATEST(3, 5, 1)", int64(5)},
		{"SELECT GREATEST(1, NULL)", nil},
		{"SELECT LEAST(3, 5, 1, 4)", int64(1)},
		{"SELECT LEAST(3, NULL)", nil},
		{"SELECT GREATEST(1, 2, 3, 4, 5, 6, 7, 8)", int64(8)},
		{"SELECT LEAST(1, 2, 3, 4, 5, 6, 7, NULL)", nil},
		// Aggregates.
		{"SELECT COUNTIF(x < 0) FROM unnest([5, -2, 3, 6, -10, -7, 4, 0]) AS t(x)", int64(3)},
		{"SELECT LOGICAL_OR(x) FROM unnest([false, true, NULL]) AS t(x)", true},
		{"SELECT LOGICAL_AND(x) FROM unnest([false, true, NULL]) AS t(x)", false},
		{"SELECT LOGICAL_AND(x) FROM unnest([true, NULL]) AS t(x)", true},
		{"SELECT max(o) FROM (SELECT LOGICAL_OR(x) OVER (ORDER BY i) AS o FROM unnest([false, true]) WITH ORDINALITY AS t(x, i))", true},
		{"SELECT PERCENTILE_CONT(x, 0.5) OVER () FROM unnest([0, 3, NULL, 1, 2]) AS t(x) LIMIT 1", 1.5},
		{"SELECT PERCENTILE_DISC(x, 0.5) OVER () FROM unnest([0, 3, NULL, 1, 2]) AS t(x) LIMIT 1", int64(1)},
		{"SELECT RAND() BETWEEN 0 AND 1", true},
		// Regular expressions.
		{`SELECT REGEXP_CONTAINS('foo@example.com', '@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+')`, true},
		{`SELECT REGEXP_CONTAINS('www.example.net', '@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+')`, false},
		{"SELECT REGEXP_EXTRACT('foo@example.com', '^[a-zA-Z0-9_.+-]+')", "foo"},
		{"SELECT REGEXP_EXTRACT('foo@example.com', '^([a-zA-Z0-9_.+-]+)@')", "foo"},
		{"SELECT REGEXP_EXTRACT('https://x.com/?gclid=abc&y=1', 'gclid=([^&]+)')", "abc"},
		{"SELECT REGEXP_EXTRACT('https://x.com/', 'gclid=([^&]+)')", nil},
		{"SELECT REGEXP_EXTRACT('ab', '(?:a)b')", "ab"},
		{"SELECT REGEXP_EXTRACT('www.example.co', '([^.]+)[.][^.]+$')", "example"},
		{"SELECT REGEXP_EXTRACT('https://Example.com:8080/x', '^[a-zA-Z]+://([^/?#:]+)')", "Example.com"},
		{`SELECT REGEXP_EXTRACT('a(b)c', '\(b\)')`, "(b)"},
		{"SELECT REGEXP_EXTRACT('a(b', '[(]b')", "(b"},
		{"SELECT REGEXP_EXTRACT('a]b', '[]x]b')", "]b"},
		{"SELECT REGEXP_EXTRACT('key=v1', '(?P<name>[a-z]+)=')", "key"},
		{"SELECT REGEXP_EXTRACT_ALL('Try `func(x)` or `func(y)`', '`(.+?)`')", []any{"func(x)", "func(y)"}},
		{"SELECT REGEXP_EXTRACT_ALL('a1b22', '[0-9]+')", []any{"1", "22"}},
		{"SELECT REGEXP_EXTRACT('cats&dogs&rabbits', '\\w+&', 1, 2)", "dogs&"},
		{"SELECT REGEXP_EXTRACT('cats&dogs&rabbits', '\\w+&', 2, 3)", nil},
		{"SELECT REGEXP_EXTRACT('cats&dogs&rabbits', '\\w+&', 6)", "dogs&"},
		{"SELECT REGEXP_EXTRACT('cats&dogs', '([a-z]+)&', 1, 1)", "cats"},
		{"SELECT REGEXP_SUBSTR('Hello Helloo and Hellooo', 'H?ello+', 14)", "Hellooo"},
		{"SELECT REGEXP_EXTRACT('Hello Helloo and Hellooo', 'H?ello+', 1, 2)", "Helloo"},
		{`SELECT REGEXP_REPLACE('# Heading', '^# ([a-zA-Z0-9\s]+$)', '<h1>\1</h1>')`, "<h1>Heading</h1>"},
		{"SELECT REGEXP_REPLACE('aaa', 'a', 'b')", "bbb"},
		// Strings, bytes, JSON.
		{"SELECT SPLIT('b,c,d')", []any{"b", "c", "d"}},
		{"SELECT SPLIT('a b c', ' ')", []any{"a", "b", "c"}},
		{`SELECT TO_HEX('\x00\x01\x02\x03\xAA\xEE\xEF\xFF'::BLOB)`, "00010203aaeeefff"},
		{"SELECT TO_HEX(CAST('foobar' AS BYTES))", "666f6f626172"},
		{"SELECT BYTE_LENGTH('абвгд')", int64(10)},
		{"SELECT CHAR_LENGTH('абвгд')", int64(5)},
		{"SELECT CONTAINS_SUBSTR('the blue house', 'Blue house')", true},
		{"SELECT CONTAINS_SUBSTR('the red house', 'blue')", false},
		{"SELECT CONCAT('T.P.', ' ', 'Bar')", "T.P. Bar"},
		{"SELECT CONCAT('a', NULL, 'c')", nil},
		{"SELECT CONCAT('a', 1)", "a1"},
		{"SELECT CONCAT('solo')", "solo"},
		{"SELECT FORMAT('plain')", "plain"},
		{"SELECT FORMAT('%d%d%d%d%d%d%d%d', 1, 2, 3, 4, 5, 6, 7, 8)", "12345678"},
		{"SELECT FORMAT('%d', 10)", "10"},
		{"SELECT FORMAT('-%s-', 'abcd efg')", "-abcd efg-"},
		{"SELECT FORMAT('%s/%s', 'a', 'b')", "a/b"},
		{`SELECT JSON_EXTRACT_SCALAR('{"name": "Jakob", "age": "6"}', '$.age')`, "6"},
		{`SELECT JSON_VALUE('{"name": "Jakob", "age": "6"}', '$.name')`, "Jakob"},
		{`SELECT JSON_VALUE('{"a": {"b": 1}}', '$.a')`, nil},
		{`SELECT JSON_VALUE('"x"')`, "x"},
		{`SELECT JSON_EXTRACT_SCALAR('{"a": [1, 2]}', '$.a')`, nil},
		{`SELECT JSON_EXTRACT_ARRAY('{"fruits": ["apples", "oranges"]}', '$.fruits')`, []any{`"apples"`, `"oranges"`}},
		{`SELECT JSON_QUERY('{"class": {"students": [{"name": "Jane"}]}}', '$.class')`, `{"students":[{"name":"Jane"}]}`},
		{"SELECT TO_JSON_STRING({'id': 1, 'coordinates': [10, 20]})", `{"id":1,"coordinates":[10,20]}`},
		{`SELECT PARSE_JSON('{"a": 1}')`, `{"a":1}`},
	}
	for _, c := range cases {
		got := queryOne(t, db, c.sql)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.sql, got, c.want)
		}
	}
}

func TestMacroGenerateUUID(t *testing.T) {
	db := openMem(t)
	rows := queryRows(t, db, "SELECT GENERATE_UUID() FROM range(2)")
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, r := range rows {
		if s, ok := r[0].(string); !ok || !re.MatchString(s) {
			t.Errorf("GENERATE_UUID() = %#v, want a lower-case version 4 UUID string", r[0])
		}
	}
	if rows[0][0] == rows[1][0] {
		t.Error("GENERATE_UUID() repeated a value")
	}
}

func TestMacrosIdempotent(t *testing.T) {
	db := openMem(t)
	if got := queryOne(t, db, "SELECT sam_macros_version()"); got != macrosVersion() {
		t.Errorf("sam_macros_version() = %v, want %s", got, macrosVersion())
	}
	// A stale version is replaced; reinstalling over existing macros works.
	mustExec(t, db, "CREATE OR REPLACE MACRO sam_macros_version() AS 'old'; CREATE OR REPLACE MACRO safe_divide(a, b) AS 42")
	for range 2 {
		if err := db.installMacros(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := queryOne(t, db, "SELECT sam_macros_version()"); got != macrosVersion() {
		t.Errorf("sam_macros_version() after reinstall = %v", got)
	}
	if got := queryOne(t, db, "SELECT SAFE_DIVIDE(1, 0)"); got != nil {
		t.Errorf("SAFE_DIVIDE after reinstall = %v", got)
	}
}

// TestMacrosKeepSystemSQLWorking checks that the macros shadowing DuckDB
// built-ins (concat, format, log, split, ...) do not break DuckDB's own
// SQL-defined views and commands.
func TestMacrosKeepSystemSQLWorking(t *testing.T) {
	db := openMem(t)
	mustExec(t, db, "CREATE TABLE t (a VARCHAR PRIMARY KEY, b STRUCT(x BIGINT)[]); CREATE VIEW v AS SELECT a FROM t; INSERT INTO t VALUES ('k', [{'x': 1}])")
	for _, q := range []string{
		"SELECT count(*) FROM information_schema.tables",
		"SELECT count(*) FROM information_schema.columns",
		"SELECT count(*) FROM information_schema.table_constraints",
		"SELECT count(*) FROM information_schema.key_column_usage",
		"SELECT count(*) FROM information_schema.schemata",
		"SELECT count(*) FROM duckdb_constraints()",
		"SELECT count(*) FROM duckdb_indexes()",
		"SELECT count(*) FROM pg_catalog.pg_class",
		"SELECT count(*) FROM pg_catalog.pg_attribute",
		"SELECT count(*) FROM pg_catalog.pg_type",
		"SELECT count(*) FROM pg_catalog.pg_proc",
		"SELECT count(*) FROM pg_catalog.pg_views",
		"SELECT count(*) FROM (SHOW TABLES)",
		"SELECT count(*) FROM (DESCRIBE t)",
		"SELECT count(*) FROM (SUMMARIZE t)",
		"SELECT array_to_string(['a', 'b'], ',')",
		"SELECT count(*) FROM (FROM duckdb_functions())",
	} {
		queryRows(t, db, q)
	}
}
