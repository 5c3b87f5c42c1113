package transform

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var testVars = Vars{"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD"}

// TestCompileGolden renders the compile project for both dialects and
// compares with testdata/golden/<dialect>/<model>.sql.
func TestCompileGolden(t *testing.T) {
	p := mustLoad(t, os.DirFS("testdata/compile"))
	qualify := map[warehouse.Dialect]func(string) string{
		bigquery.Dialect{}: func(n string) string { return "`my-project.sam." + n + "`" },
		duckdb.Dialect{}:   nil, // the dialect's quoted bare name
	}
	for _, d := range []warehouse.Dialect{bigquery.Dialect{}, duckdb.Dialect{}} {
		out, err := p.Compile(d, qualify[d], testVars)
		if err != nil {
			t.Fatalf("Compile(%s): %v", d.Name(), err)
		}
		if len(out) != 2 {
			t.Fatalf("Compile(%s) rendered %d models, want 2", d.Name(), len(out))
		}
		for name, sql := range out {
			golden := filepath.Join("testdata", "golden", d.Name(), name+".sql")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(sql+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCompileGolden -update)", err)
			}
			if sql+"\n" != string(want) {
				t.Errorf("%s %s differs from %s:\n%s", d.Name(), name, golden, sql)
			}
		}
	}
}

func TestCompileErrorsNameFileAndLine(t *testing.T) {
	p := mustLoad(t, os.DirFS("testdata/compile"))
	_, err := p.Compile(duckdb.Dialect{}, nil, Vars{"reporting_currency": "USD"})
	if err == nil || !strings.Contains(err.Error(), "marts/fct_sample.sql:11") || !strings.Contains(err.Error(), `var "attribution_window_days" is not set`) {
		t.Errorf("error = %v, want it to name marts/fct_sample.sql:11 and the missing var", err)
	}
}

func TestHelpers(t *testing.T) {
	tests := []struct {
		d    warehouse.Dialect
		tmpl string
		want string
	}{
		{bigquery.Dialect{}, `{{ event_param "ga_session_id" "int" }}`, "(SELECT value.int_value FROM UNNEST(event_params) WHERE key = 'ga_session_id')"},
		{duckdb.Dialect{}, `{{ event_param "ga_session_id" "int" }}`, "(event_params[list_position(list_transform(event_params, p -> p.key), 'ga_session_id')].value.int_value)"},
		{duckdb.Dialect{}, `{{ first_row_by "c > 0" "ts, k" "v" "w" }}`, `arg_min_null(struct_pack("v" := v, "w" := w), row(ts, k)) FILTER (WHERE c > 0)`},
		{bigquery.Dialect{}, `{{ first_row_by "c > 0" "ts, k" "v" "w" }}`, "ARRAY_AGG(IF(c > 0, STRUCT(v AS `v`, w AS `w`), NULL) IGNORE NULLS ORDER BY ts, k LIMIT 1)[SAFE_OFFSET(0)]"},
		{bigquery.Dialect{}, `{{ first_row_by "c > 0" (time_hex_order "ts" "k") "v" }}`, "ARRAY_AGG(IF(c > 0, STRUCT(v AS `v`), NULL) IGNORE NULLS ORDER BY ts, k LIMIT 1)[SAFE_OFFSET(0)]"},
		{duckdb.Dialect{}, `{{ first_row_by "c > 0" (time_hex_order "ts" "k") "v" }}`, `arg_min_null(struct_pack("v" := v), ((CAST(least(greatest(epoch_us(ts), 0), 4503599627370495) AS UHUGEINT) << 76) | (CAST(CAST('0x' || substr(k, 1, 16) AS UBIGINT) AS UHUGEINT) << 12) | CAST(CAST('0x' || substr(k, 17, 3) AS UBIGINT) AS UHUGEINT))) FILTER (WHERE c > 0)`},
		{bigquery.Dialect{}, `{{ date_trunc "d" "month" }}`, "DATE_TRUNC(d, MONTH)"},
		{bigquery.Dialect{}, `{{ date_trunc "d" "WEEK" }}`, "DATE_TRUNC(d, WEEK(MONDAY))"},
		{duckdb.Dialect{}, `{{ safe_cast "x" "INT64" }}`, "TRY_CAST(x AS BIGINT)"},
		{bigquery.Dialect{}, `{{ var "s" }}`, `'it\'s'`},
		{duckdb.Dialect{}, `{{ var "s" }}`, `'it''s'`},
		{duckdb.Dialect{}, `{{ var "f" }}`, "7.0"},
		{duckdb.Dialect{}, `{{ var "b" }}`, "TRUE"},
		{duckdb.Dialect{}, `{{ incremental_filter "d" }}`, "TRUE"},
		{duckdb.Dialect{}, `{{ if is_incremental }}x{{ else }}y{{ end }}`, "y"},
	}
	vars := Vars{"s": "it's", "f": 7.0, "b": true}
	for _, tt := range tests {
		got, err := render("t.sql", tt.tmpl, nil, renderEnv{dialect: tt.d, vars: vars, qualify: func(s string) string { return s }})
		if err != nil {
			t.Errorf("%s %s: %v", tt.d.Name(), tt.tmpl, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.d.Name(), tt.tmpl, got, tt.want)
		}
	}
	for _, bad := range []string{`{{ date_trunc "d" "fortnight" }}`, `{{ safe_cast "x" "INT" }}`, `{{ event_param "k" "blob" }}`, `{{ var "nope" }}`, `{{ incremental_filter "a; drop" }}`} {
		if _, err := render("t.sql", bad, nil, renderEnv{dialect: duckdb.Dialect{}, vars: vars}); err == nil {
			t.Errorf("%s rendered, want an error", bad)
		}
	}
}

// TestHelpersOnDuckDB runs every helper's DuckDB rendering on GA4-shaped
// data and checks the values BigQuery documents for the same expressions.
func TestHelpersOnDuckDB(t *testing.T) {
	f := newFixture(t)
	// The struct type GA4's export has (the loader's DuckDB schema).
	f.exec(`CREATE TABLE raw_ga4__events (
  event_params STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE))[],
  user_properties STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE, set_timestamp_micros BIGINT))[],
  later_ts TIMESTAMP, earlier_ts TIMESTAMP, d DATE, bad_int VARCHAR, s VARCHAR)`)
	f.exec(`INSERT INTO raw_ga4__events VALUES (
  [{'key': 'ga_session_id', 'value': {'string_value': NULL, 'int_value': 42, 'float_value': NULL, 'double_value': NULL}},
   {'key': 'value', 'value': {'string_value': NULL, 'int_value': NULL, 'float_value': NULL, 'double_value': 2.5}},
   {'key': 'form_id', 'value': {'string_value': NULL, 'int_value': 7, 'float_value': NULL, 'double_value': NULL}}],
  [{'key': 'plan', 'value': {'string_value': 'pro', 'int_value': NULL, 'float_value': NULL, 'double_value': NULL, 'set_timestamp_micros': 1}}],
  TIMESTAMP '2024-01-03 12:00:00', TIMESTAMP '2024-01-01 00:00:00', DATE '2024-02-15', '12x', 'abc')`)
	tmpl := `select
  {{ event_param "ga_session_id" "int" }} as session_id,
  {{ event_param "value" "number" }} as value,
  {{ event_param "form_id" "text" }} as form_id,
  {{ event_param "missing" "string" }} as missing,
  {{ user_property "plan" "string" }} as plan,
  {{ days_between "later_ts" "earlier_ts" }} as days,
  {{ date_diff_days "d" "DATE '2024-02-01'" }} as whole_days,
  {{ date_trunc "d" "MONTH" }} as month,
  {{ date_trunc "d" "WEEK" }} as week,
  {{ safe_cast "bad_int" "INT64" }} as bad_int,
  {{ sha256_hex "s" }} as sha,
  {{ fingerprint "s" }} as md5
from {{ source "ga4" "events" }}`
	sql, err := render("t.sql", tmpl, nil, renderEnv{dialect: duckdb.Dialect{}, qualify: f.wh.QualifiedName})
	if err != nil {
		t.Fatal(err)
	}
	got := f.rows(sql)
	want := [][]string{{"42", "2.5", "7", "", "pro", "2.5", "14", "2024-02-01", "2024-02-12", "",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "900150983cd24fb0d6963f7d28e17f72"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("helpers on DuckDB = %v\nwant %v", got, want)
	}
}

// TestCompileIncremental renders the incremental branch of incremental
// models only, with the window's start date in incremental_filter.
func TestCompileIncremental(t *testing.T) {
	p := mustLoad(t, os.DirFS("testdata/compile"))
	qualify := func(n string) string { return "`my-project.sam." + n + "`" }
	since := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	out, err := p.CompileIncremental(bigquery.Dialect{}, qualify, testVars, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("CompileIncremental rendered %d models, want only the incremental stg_ga4_sample", len(out))
	}
	sql := out["stg_ga4_sample"]
	for _, want := range []string{"where export_date >= DATE '2024-03-05'", "and export_table not like 'events_intraday_%'"} {
		if !strings.Contains(sql, want) {
			t.Errorf("incremental rendition lacks %q:\n%s", want, sql)
		}
	}
	full, err := p.Compile(bigquery.Dialect{}, qualify, testVars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(full["stg_ga4_sample"], "events_intraday_") || !strings.Contains(full["stg_ga4_sample"], "where TRUE") {
		t.Errorf("full rendition took the incremental branch:\n%s", full["stg_ga4_sample"])
	}
	if _, err := p.CompileIncremental(bigquery.Dialect{}, qualify, testVars, time.Time{}); err == nil {
		t.Error("CompileIncremental without a start date succeeded, want an error")
	}
}
