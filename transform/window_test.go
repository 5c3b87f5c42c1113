package transform

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// userVisits is built as stg_ga4__sessions is: a visit (here a user's
// events) belongs to the day it began, and may run into the next day, so
// the query reads a day around its window and keeps the visits that began
// in it.
const userVisits = `/*
materialized: incremental
partition_by: first_date
unique_key: [user_id]
full_build_window_days: 1
*/
with visits as (
  select user_id, min(event_date) as first_date, max(event_date) as last_date, count(*) as events
  from {{ ref "stg_events" }}
  where {{ incremental_filter "event_date" -1 }}
  group by user_id
)
select * from visits
{{- if is_incremental }}
where {{ incremental_filter "first_date" }}
{{- end }}
`

func TestAFullBuildInWindowsEqualsOneQuery(t *testing.T) {
	const q = "SELECT user_id, first_date, last_date, events FROM int_user_visits ORDER BY user_id"
	// u1's visit runs from 2024-01-01 into 2024-01-02, u3's from
	// 2024-01-03 into 2024-01-04: both cross a window's end.
	want := [][]string{
		{"u1", "2024-01-01", "2024-01-02", "2"},
		{"u2", "2024-01-01", "2024-01-01", "1"},
		{"u3", "2024-01-03", "2024-01-04", "2"},
	}
	var logs strings.Builder
	f := newFixture(t)
	f.fs["intermediate/int_user_visits.sql"] = &fstest.MapFile{Data: []byte(userVisits)}
	r := f.runner()
	r.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	plan, err := r.Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := plan.Item("int_user_visits"); !strings.Contains(strings.Join(it.Reasons, "; "), "in windows of 1 day of") {
		t.Errorf("the plan does not say the build is in windows: %v", it.Reasons)
	}
	if _, err := r.Build(f.ctx, Selection{}, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(q); !reflect.DeepEqual(got, want) {
		t.Errorf("in windows: %v, want %v", got, want)
	}
	// The inputs hold 2024-01-01 to 2024-01-04: four windows of one day,
	// open at both ends.
	if !strings.Contains(logs.String(), "windows=4 days=1 cuts=2024-01-02,2024-01-03,2024-01-04 rows=3") {
		t.Errorf("the log does not give the windows:\n%s", logs.String())
	}
	if st := f.state()["int_user_visits"]; st.Rows != 3 || st.Partitions != "all" {
		t.Errorf("state rows %d, partitions %q; want 3 and all", st.Rows, st.Partitions)
	}

	// The same model without windows: one query.
	f.edit("intermediate/int_user_visits.sql", "full_build_window_days: 1\n", "")
	if _, err := f.build("int_user_visits", BuildOptions{FullRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(q); !reflect.DeepEqual(got, want) {
		t.Errorf("one query: %v, want %v", got, want)
	}
}

func TestAWindowMustKeepItsRowsWithinIt(t *testing.T) {
	f := newFixture(t)
	// Without the filter on first_date the second window publishes again
	// the visits of the first (u1, u2), and one of the third (u3).
	f.fs["intermediate/int_user_visits.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(userVisits, `where {{ incremental_filter "first_date" }}`, "", 1))}
	f.mustBuild("stg_events")
	f.exec("CREATE TABLE int_user_visits AS SELECT 'before' AS user_id")
	_, err := f.build("int_user_visits", BuildOptions{})
	const want = `full build window [2024-01-02, 2024-01-03) produced 3 row(s) outside it in first_date: bound the query with {{ incremental_filter "first_date" }} (full_build_window_days)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("build error = %v, want %q", err, want)
	}
	// Nothing was published and no copy is left behind.
	if got := f.rows("SELECT user_id FROM int_user_visits"); !reflect.DeepEqual(got, [][]string{{"before"}}) {
		t.Errorf("published %v", got)
	}
	if got := f.rows("SELECT COUNT(*) FROM duckdb_tables() WHERE table_name LIKE '%__sam_tmp'"); got[0][0] != "0" {
		t.Errorf("%s temporary tables left", got[0][0])
	}
}

func TestFullBuildWindowDaysNeedsPartitionedIncremental(t *testing.T) {
	for _, header := range []string{
		"materialized: table\nfull_build_window_days: 30\n",
		"materialized: incremental\npartition_by: d\nincremental_strategy: merge\nunique_key: [k]\nfull_build_window_days: 30\n",
		"materialized: incremental\npartition_by: d\nfull_build_window_days: -1\n",
	} {
		fsys := fstest.MapFS{"staging/m.sql": {Data: []byte("/*\n" + header + "*/\nselect 1 as k, current_date as d\n")}}
		if _, err := LoadProject(fsys); err == nil || !strings.Contains(err.Error(), "full_build_window_days") {
			t.Errorf("%s: LoadProject error = %v", header, err)
		}
	}
}

func TestIncrementalFilterWidensBothBoundsOfAWindow(t *testing.T) {
	d := duckdb.Dialect{}
	for _, tc := range []struct {
		env  renderEnv
		tmpl string
		want string
	}{
		{renderEnv{}, `{{ incremental_filter "d" -1 }}`, "TRUE"},
		{renderEnv{since: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)}, `{{ incremental_filter "d" -1 }}`, "d >= DATE '2024-01-04'"},
		{renderEnv{since: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), until: time.Date(2024, 2, 4, 0, 0, 0, 0, time.UTC)}, `{{ incremental_filter "d" }}`, "d >= DATE '2024-01-05' AND d < DATE '2024-02-04'"},
		{renderEnv{since: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), until: time.Date(2024, 2, 4, 0, 0, 0, 0, time.UTC)}, `{{ incremental_filter "d" -1 }}`, "d >= DATE '2024-01-04' AND d < DATE '2024-02-05'"},
		{renderEnv{until: time.Date(2024, 2, 4, 0, 0, 0, 0, time.UTC)}, `{{ incremental_filter "d" -1 }}{{ if is_incremental }} incremental{{ end }}`, "d < DATE '2024-02-05' incremental"},
	} {
		tc.env.dialect, tc.env.qualify = d, d.QuoteIdent
		got, err := render("m.sql", tc.tmpl, &macroSet{}, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("%s since %v until %v = %q, %v; want %q", tc.tmpl, tc.env.since, tc.env.until, got, err, tc.want)
		}
	}
	if _, err := render("m.sql", `{{ incremental_filter "d" 1 }}`, &macroSet{}, renderEnv{dialect: d, qualify: d.QuoteIdent}); err == nil || !strings.Contains(err.Error(), "widens the window") {
		t.Errorf("a positive offset: %v", err)
	}
}

// firstRows keeps a first row per key, as stg_ga4__sessions does per
// session; DuckDB cannot spill these aggregate states. Each key's rows lie
// on one day.
const firstRows = `/*
materialized: incremental
partition_by: d
full_build_window_days: 1
*/
select k, min(d) as d, arg_min_null(struct_pack(v := v), -i) as first
from {{ ref "stg_rows" }}
where {{ incremental_filter "d" }}
group by k
`

// A full build that runs out of memory as one query fits in windows.
func TestAFullBuildInWindowsFitsWhereOneQueryDoesNot(t *testing.T) {
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 1, MemoryLimit: "64MiB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	fsys := fstest.MapFS{
		"staging/stg_rows.sql": {Data: []byte("/*\nmaterialized: table\npartition_by: d\n*/\n" +
			"select i, i % 200000 as k, DATE '2024-01-01' + CAST(i % 200000 // 20000 AS INTEGER) as d, repeat('x', 100) || i as v from range(2000000) as r(i)\n")},
		"marts/firsts.sql": {Data: []byte(firstRows)},
	}
	r := &Runner{WH: wh, Project: mustLoad(t, fsys), Vars: testVars}
	if _, err := r.Build(ctx, Selection{}, BuildOptions{}); err != nil {
		t.Fatalf("in windows: %v", err)
	}
	got, err := wh.Query(ctx, "SELECT COUNT(*), COUNT(DISTINCT d) FROM firsts")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := warehouse.CollectRows(got)
	if err != nil || warehouse.Format(rows[0][0]) != "200000" || warehouse.Format(rows[0][1]) != "10" {
		t.Errorf("firsts: %v, %v; want 100000 keys over 10 days", rows, err)
	}

	fsys["marts/firsts.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(firstRows, "full_build_window_days: 1\n", "", 1))}
	sel, err := ParseSelection("firsts")
	if err != nil {
		t.Fatal(err)
	}
	r = &Runner{WH: wh, Project: mustLoad(t, fsys), Vars: testVars}
	if _, err := r.Build(ctx, sel, BuildOptions{FullRefresh: true}); !errors.Is(err, duckdb.ErrOutOfMemory) {
		t.Errorf("one query: %v, want DuckDB out of memory", err)
	}
}

// Copies of a key in two windows are removed as in one query.
func TestAFullBuildInWindowsDeduplicates(t *testing.T) {
	f := newFixture(t)
	f.edit("staging/stg_events.sql", "unique_key: [event_id]\n", "")
	f.exec(`INSERT INTO raw_app__events VALUES ('e3', DATE '2024-01-03', 'u1', 'email', 50.0)`)
	const model = `/*
materialized: incremental
partition_by: event_date
unique_key: [event_id]
deduplicate_by: amount desc
full_build_window_days: 1
*/
select event_id, event_date, amount from {{ ref "stg_events" }}
where {{ incremental_filter "event_date" }}
`
	f.fs["intermediate/int_event_amounts.sql"] = &fstest.MapFile{Data: []byte(model)}
	f.mustBuild("")
	want := [][]string{{"e1", "2024-01-01", "10"}, {"e2", "2024-01-01", "20"}, {"e3", "2024-01-03", "50"}, {"e4", "2024-01-03", "1"}, {"e5", "2024-01-04", "2"}}
	q := "SELECT event_id, event_date, amount FROM int_event_amounts ORDER BY event_id"
	if got := f.rows(q); !reflect.DeepEqual(got, want) {
		t.Errorf("in windows: %v, want %v", got, want)
	}
	if st := f.state()["int_event_amounts"]; st.Rows != 5 {
		t.Errorf("state rows %d, want 5", st.Rows)
	}
	if cols := f.rows("SELECT column_name FROM duckdb_columns() WHERE table_name = 'int_event_amounts' ORDER BY column_index"); len(cols) != 3 {
		t.Errorf("columns %v, want the model's three", cols)
	}
}
