package zetasql_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/tools/zetasql/zetasqltest"
	"github.com/sam-attribution/sam/warehouse"
)

var env *zetasqltest.Env

func TestMain(m *testing.M) {
	env = zetasqltest.Start()
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// testCatalog holds a SAM table and a GA4-style wildcard table.
func testCatalog(t *testing.T) *zetasql.Catalog {
	t.Helper()
	c := zetasql.NewCatalog()
	must(t, c.Add(zetasql.Table{
		Path: []string{"my-proj", "sam", "leads"},
		Columns: []warehouse.Column{
			{Name: "lead_id", Type: warehouse.String},
			{Name: "created_at", Type: warehouse.Timestamp},
			{Name: "amount", Type: warehouse.Numeric},
		},
		Rows: [][]any{
			{"L1", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), "100.10"},
			{"L2", time.Date(2024, 3, 2, 11, 0, 0, 0, time.UTC), "0.05"},
			{"L3", nil, nil},
		},
	}))
	must(t, c.Add(zetasql.Table{
		Path: []string{"my-proj", "analytics_123", "events_*"},
		Columns: []warehouse.Column{
			{Name: "event_name", Type: warehouse.String},
			{Name: "event_params", Type: warehouse.Record, Repeated: true, Fields: []warehouse.Column{
				{Name: "key", Type: warehouse.String},
				{Name: "value", Type: warehouse.Record, Fields: []warehouse.Column{
					{Name: "string_value", Type: warehouse.String},
					{Name: "int_value", Type: warehouse.Int64},
				}},
			}},
		},
		PseudoColumns: []warehouse.Column{{Name: "_TABLE_SUFFIX", Type: warehouse.String}},
		Rows: [][]any{
			{"page_view", []any{map[string]any{"key": "ga_session_id", "value": map[string]any{"int_value": int64(7)}}}, "20240301"},
			{"page_view", []any{}, "20240302"},
			{"generate_lead", nil, "intraday_20240303"},
		},
	}))
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAnalyzeOutputColumns(t *testing.T) {
	c := env.Client(t)
	cols, err := c.Analyze(context.Background(), `
SELECT
  _TABLE_SUFFIX AS suffix,
  (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS ga_session_id,
  ARRAY_AGG(STRUCT(event_name AS name, 1.5 AS weight)) OVER () AS events,
  DATE '2024-01-01' AS d
FROM `+"`my-proj.analytics_123.events_*`"+`
WHERE _TABLE_SUFFIX BETWEEN '20240101' AND '20240131'`, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, col := range cols {
		got = append(got, col.Name+" "+zetasql.TypeString(col))
	}
	want := []string{
		"suffix STRING",
		"ga_session_id INT64",
		"events ARRAY<STRUCT<name STRING, weight FLOAT64>>",
		"d DATE",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("columns:\n got %q\nwant %q", got, want)
	}
}

func TestAnalyzeTablePathForms(t *testing.T) {
	c := env.Client(t)
	cat := testCatalog(t)
	for _, from := range []string{
		"`my-proj.sam.leads`",
		"`my-proj`.sam.leads",
		"my-proj.sam.leads",
	} {
		cols, err := c.Analyze(context.Background(), "SELECT * FROM "+from, cat)
		if err != nil {
			t.Errorf("FROM %s: %v", from, err)
			continue
		}
		if len(cols) != 3 {
			t.Errorf("FROM %s: %d columns, want 3", from, len(cols))
		}
	}
}

func TestAnalyzeWildcardStarOmitsPseudoColumn(t *testing.T) {
	c := env.Client(t)
	cols, err := c.Analyze(context.Background(), "SELECT * FROM `my-proj.analytics_123.events_*`", testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range cols {
		if strings.EqualFold(col.Name, "_TABLE_SUFFIX") {
			t.Fatalf("SELECT * returned the pseudo-column: %v", cols)
		}
	}
	if len(cols) != 2 {
		t.Fatalf("SELECT * returned %d columns, want 2", len(cols))
	}
}

func TestAnalyzeAcceptsBigQuerySyntax(t *testing.T) {
	c := env.Client(t)
	cat := testCatalog(t)
	for name, sql := range map[string]string{
		"qualify":        "SELECT lead_id FROM `my-proj.sam.leads` WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY created_at DESC) = 1",
		"except":         "SELECT * EXCEPT (amount) FROM `my-proj.sam.leads`",
		"safe_cast":      "SELECT SAFE_CAST(lead_id AS INT64) AS n, SAFE.PARSE_DATE('%Y%m%d', '20240101') AS d FROM `my-proj.sam.leads`",
		"countif":        "SELECT COUNTIF(amount > 0) AS n, LOGICAL_OR(amount IS NULL) AS any_null FROM `my-proj.sam.leads`",
		"date_functions": "SELECT DATE_TRUNC(DATE(created_at), MONTH) AS m, TIMESTAMP_DIFF(created_at, created_at, SECOND) AS s, DATE_DIFF(CURRENT_DATE(), DATE(created_at), DAY) AS dd FROM `my-proj.sam.leads`",
		"pivot":          "SELECT * FROM (SELECT lead_id, amount FROM `my-proj.sam.leads`) PIVOT (SUM(amount) FOR lead_id IN ('L1', 'L2'))",
		"string_agg":     "SELECT STRING_AGG(lead_id, ',' ORDER BY created_at LIMIT 2) AS ids FROM `my-proj.sam.leads`",
		"hash":           "SELECT TO_HEX(SHA256(lead_id)) AS h, TO_HEX(MD5(lead_id)) AS m FROM `my-proj.sam.leads`",
		"date_array":     "SELECT d FROM UNNEST(GENERATE_DATE_ARRAY('2024-01-01', '2024-01-31')) AS d",
		"offset":         "SELECT ARRAY_AGG(lead_id ORDER BY created_at)[SAFE_OFFSET(0)] AS first_id FROM `my-proj.sam.leads`",
		"create_table":   "CREATE OR REPLACE TABLE `my-proj.sam.x` PARTITION BY DATE(created_at) CLUSTER BY lead_id AS SELECT * FROM `my-proj.sam.leads`",
	} {
		if _, err := c.Analyze(context.Background(), sql, cat); err != nil {
			t.Errorf("%s: analyzer rejected valid BigQuery SQL: %v", name, err)
		}
	}
}

func TestAnalyzeRejectsNonBigQuerySQL(t *testing.T) {
	c := env.Client(t)
	cat := testCatalog(t)
	for _, tc := range []struct {
		name, sql, message string
		line, column       int
	}{
		{"duckdb function", "SELECT\n  list_filter([1, 2], x -> x > 1) AS l", "Function not found: list_filter", 2, 3},
		{"misspelled column", "SELECT lead_idd FROM `my-proj.sam.leads`", "Unrecognized name: lead_idd; Did you mean lead_id?", 1, 8},
		{"wrong argument type", "SELECT DATE_DIFF(lead_id, created_at, DAY) FROM `my-proj.sam.leads`", "No matching signature for function DATE_DIFF", 1, 8},
		{"duckdb try_cast", "SELECT TRY_CAST(lead_id AS INT64) FROM `my-proj.sam.leads`", "Unexpected function call argument alias found at TRY_CAST", 1, 25},
		{"bare array subscript", "SELECT [1, 2][0] AS x", "", 1, 0},
		{"nanosecond timestamp", "SELECT TIMESTAMP '2024-01-01 00:00:00.123456789' AS t", "", 1, 0},
		{"unknown table", "SELECT 1 FROM `my-proj.sam.nope`", "Table not found: `my-proj.sam.nope`", 1, 15},
		{"concat of mixed types", "SELECT CONCAT(lead_id, 1) FROM `my-proj.sam.leads`", "No matching signature for function CONCAT", 1, 8},
		{"array equality", "SELECT [1] = [1] AS same", "Equality is not defined for arguments of type ARRAY", 1, 8},
	} {
		_, err := c.Analyze(context.Background(), tc.sql, cat)
		var ae *zetasql.AnalysisError
		if !errors.As(err, &ae) {
			t.Errorf("%s: error = %v, want an *AnalysisError", tc.name, err)
			continue
		}
		if !strings.HasPrefix(ae.Message, tc.message) {
			t.Errorf("%s: message = %q, want prefix %q", tc.name, ae.Message, tc.message)
		}
		if ae.Line != tc.line || (tc.column != 0 && ae.Column != tc.column) {
			t.Errorf("%s: location = %d:%d, want %d:%d", tc.name, ae.Line, ae.Column, tc.line, tc.column)
		}
		if !strings.Contains(ae.Detail, "^") {
			t.Errorf("%s: detail has no caret: %q", tc.name, ae.Detail)
		}
	}
}

func TestEvaluateQuery(t *testing.T) {
	c := env.Client(t)
	res, err := c.EvaluateQuery(context.Background(), `
SELECT lead_id, DATE(created_at) AS day, amount * 2 AS doubled, amount IS NULL AS missing
FROM `+"`my-proj.sam.leads`"+`
ORDER BY lead_id`, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"L1", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), "200.2", false},
		{"L2", time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), "0.1", false},
		{"L3", nil, nil, true},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("rows:\n got %#v\nwant %#v", res.Rows, want)
	}
	if got := res.Columns[2].Type; got != warehouse.Numeric {
		t.Fatalf("doubled column type = %s, want NUMERIC", got)
	}
}

func TestEvaluateWildcardTable(t *testing.T) {
	c := env.Client(t)
	res, err := c.EvaluateQuery(context.Background(), `
SELECT _TABLE_SUFFIX AS suffix, event_name,
  (SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id') AS sid,
  ARRAY_LENGTH(event_params) AS n
FROM `+"`my-proj.analytics_123.events_*`"+`
WHERE _TABLE_SUFFIX NOT LIKE 'intraday%'
ORDER BY suffix`, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"20240301", "page_view", int64(7), int64(1)},
		{"20240302", "page_view", nil, int64(0)},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Fatalf("rows:\n got %#v\nwant %#v", res.Rows, want)
	}
}

func TestEvaluateRuntimeError(t *testing.T) {
	c := env.Client(t)
	_, err := c.EvaluateQuery(context.Background(), "SELECT 1 / 0 AS x", zetasql.NewCatalog())
	if err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("1/0 error = %v, want division by zero", err)
	}
}

func TestStartMissingBinary(t *testing.T) {
	_, err := zetasql.Start(context.Background(), filepath.Join(t.TempDir(), "remote_server"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Start with a missing binary = %v, want fs.ErrNotExist", err)
	}
}

func TestStartBinaryThatExits(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "remote_server")
	must(t, os.WriteFile(bin, []byte("#!/bin/sh\necho cannot bind >&2\nexit 3\n"), 0o755))
	_, err := zetasql.Start(context.Background(), bin, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("Start with a failing binary = %v, want its output in the error", err)
	}
}

func TestAnalyzeScript(t *testing.T) {
	c := env.Client(t)
	script := "-- copy a day of the export\n" +
		"CREATE TABLE IF NOT EXISTS `my-proj.sam.raw` (event_name STRING, export_date DATE)\nPARTITION BY export_date;\n\n" +
		"BEGIN TRANSACTION;\n" +
		"DELETE FROM `my-proj.sam.leads` WHERE DATE(created_at) IN (DATE '2024-03-01');\n" +
		"INSERT INTO `my-proj.sam.leads` (lead_id, created_at)\n" +
		"SELECT event_name, TIMESTAMP(PARSE_DATE('%Y%m%d', RIGHT(_TABLE_SUFFIX, 8)))\n" +
		"FROM `my-proj.analytics_123.events_*`\nWHERE _TABLE_SUFFIX IN ('20240301', 'intraday_20240302');\n" +
		"COMMIT TRANSACTION;\n-- done\n"
	stmts, err := c.AnalyzeScript(context.Background(), script, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range stmts {
		kinds = append(kinds, s.Kind)
	}
	if want := []string{"create_table", "begin", "delete", "insert", "commit"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("statement kinds = %v, want %v", kinds, want)
	}
}

func TestAnalyzeScriptErrorPosition(t *testing.T) {
	c := env.Client(t)
	script := "BEGIN TRANSACTION;\nDELETE FROM `my-proj.sam.leads` WHERE TRUE;\nINSERT INTO `my-proj.sam.leads` (lead_id)\nSELECT nope FROM `my-proj.sam.leads`;\nCOMMIT TRANSACTION;\n"
	stmts, err := c.AnalyzeScript(context.Background(), script, testCatalog(t))
	var ae *zetasql.AnalysisError
	if !errors.As(err, &ae) || ae.Line != 4 || ae.Column != 8 || !strings.HasPrefix(ae.Message, "Unrecognized name: nope") {
		t.Fatalf("error = %v, want 4:8: Unrecognized name: nope", err)
	}
	if len(stmts) != 2 {
		t.Fatalf("%d statements analyzed before the error, want 2", len(stmts))
	}
}
