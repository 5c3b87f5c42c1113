package transform

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// fakeBQ stands in for the BigQuery engine: it records statements and
// answers the few queries the runner asks (counts, fingerprints, partition
// lists, tests) with canned rows. It checks which statements the runner
// sends, not BigQuery's behaviour.
type fakeBQ struct {
	mu     sync.Mutex
	stmts  []string
	jobs   []string
	labels []map[string]string
	loads  []warehouse.LoadRequest
}

func (f *fakeBQ) Dialect() warehouse.Dialect    { return bigquery.Dialect{} }
func (f *fakeBQ) QualifiedName(t string) string { return "`proj.sam." + t + "`" }
func (f *fakeBQ) Close() error                  { return nil }
func (f *fakeBQ) DryRun(context.Context, string) (warehouse.Estimate, error) {
	return warehouse.Estimate{Supported: true, BytesProcessed: 1 << 20}, nil
}

func (f *fakeBQ) record(sql string, opts []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stmts = append(f.stmts, warehousetest.Bind(f.Dialect(), sql, opts))
	o := warehouse.CollectOptions(opts)
	f.jobs = append(f.jobs, o.JobID)
	f.labels = append(f.labels, o.Labels)
}

func (f *fakeBQ) Exec(_ context.Context, sql string, opts ...any) (warehouse.Result, error) {
	f.record(sql, opts)
	return warehouse.Result{BytesProcessed: 100}, nil
}

func (f *fakeBQ) Query(_ context.Context, sql string, opts ...any) (warehouse.Rows, error) {
	f.record(sql, opts)
	switch {
	case strings.HasPrefix(sql, "SELECT COUNT(*) FROM"):
		return &sliceRows{cols: []string{"n"}, rows: [][]any{{int64(7)}}}, nil
	case strings.HasPrefix(sql, "SELECT CONCAT("):
		return &sliceRows{cols: []string{"fp"}, rows: [][]any{{"5:2024-01-04"}}}, nil
	case strings.Contains(sql, "GROUP BY event_date ORDER BY event_date"):
		return &sliceRows{cols: []string{"event_date", "n"}, rows: [][]any{
			{time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), int64(2)},
			{time.Date(2024, 1, 4, 0, 0, 0, 0, time.UTC), int64(5)},
		}}, nil
	}
	return &sliceRows{cols: []string{"x", failuresColumn}}, nil // tests pass
}

func (f *fakeBQ) Load(_ context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads = append(f.loads, req)
	return warehouse.LoadResult{RowsLoaded: 3}, nil
}

func (f *fakeBQ) Describe(_ context.Context, table string) (warehouse.Schema, error) {
	switch {
	case table == StateTable:
		return warehouse.Schema{}, warehouse.ErrNotFound
	case strings.HasPrefix(table, "raw_"):
		return warehouse.Schema{Columns: []warehouse.Column{{Name: "event_id", Type: warehouse.String}, {Name: "loaded_at", Type: warehouse.Timestamp}}}, nil
	}
	return warehouse.Schema{Columns: []warehouse.Column{{Name: "event_id", Type: warehouse.String}, {Name: "event_date", Type: warehouse.Date}}}, nil
}

type sliceRows struct {
	cols []string
	rows [][]any
	i    int
}

func (r *sliceRows) Columns() []warehouse.Column {
	out := make([]warehouse.Column, len(r.cols))
	for i, c := range r.cols {
		out[i] = warehouse.Column{Name: c}
	}
	return out
}
func (r *sliceRows) Next() bool             { r.i++; return r.i <= len(r.rows) }
func (r *sliceRows) Values() ([]any, error) { return r.rows[r.i-1], nil }
func (r *sliceRows) Err() error             { return nil }
func (r *sliceRows) Close() error           { return nil }
func (r *sliceRows) Scan(dest ...any) error {
	for i, d := range dest {
		if err := warehouse.ConvertAssign(d, r.rows[r.i-1][i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeBQ) find(t *testing.T, prefix string) string {
	t.Helper()
	for _, s := range f.stmts {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	t.Fatalf("no statement starts with %q; sent:\n%s", prefix, strings.Join(f.stmts, "\n---\n"))
	return ""
}

func TestBigQueryStatements(t *testing.T) {
	wh := &fakeBQ{}
	r := &Runner{WH: wh, Project: mustLoad(t, os.DirFS("testdata/basic")), Vars: testVars, RunID: "r1",
		Now: func() time.Time { return time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC) }}
	if _, err := r.Build(context.Background(), Selection{}, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{
		"CREATE TABLE IF NOT EXISTS `proj.sam.sam_model_state`",
		"CREATE OR REPLACE TABLE `proj.sam.stg_events` PARTITION BY event_date AS /*",
		"CREATE OR REPLACE TABLE `proj.sam.int_daily` PARTITION BY event_date AS /*",
		"CREATE OR REPLACE TABLE `proj.sam.fct_channel` CLUSTER BY channel AS /*",
		"CREATE OR REPLACE VIEW `proj.sam.rpt_channel` AS /*",
		"INSERT INTO `proj.sam.sam_model_state` (model, version, materialized, built_at, row_count, bytes_processed, run_id, inputs, partitions_built, definition) VALUES ('fct_channel', ",
	} {
		wh.find(t, prefix)
	}
	if s := wh.find(t, "CREATE OR REPLACE TABLE `proj.sam.stg_events`"); !strings.Contains(s, "from `proj.sam.raw_app__events`\nwhere TRUE") {
		t.Errorf("full build of stg_events is not unfiltered:\n%s", s)
	}
	if s := wh.find(t, "INSERT INTO `proj.sam.sam_model_state` (model, version, materialized, built_at, row_count, bytes_processed, run_id, inputs, partitions_built, definition) VALUES ('stg_events'"); !strings.Contains(s, "TIMESTAMP '2024-01-10 00:00:00.000000', 7, 100, 'r1', '{\"raw_app__events\":\"5:2024-01-04\"}', 'all'") {
		t.Errorf("state row = %s", s)
	}
	if len(wh.loads) != 1 || wh.loads[0].Table != "seed_channels" || wh.loads[0].Mode != warehouse.Replace || !strings.HasPrefix(wh.loads[0].JobID, "sam_r1_seed_channels_") {
		t.Errorf("seed loads = %+v", wh.loads)
	}
	// Writes have deterministic job ids; every statement has labels.
	for i, s := range wh.stmts {
		id := wh.jobs[i]
		if write := !strings.HasPrefix(s, "SELECT"); write && (id == "" || strings.ContainsAny(id, " .:")) {
			t.Errorf("write %d has job id %q: %.60s", i, id, s)
		}
		if wh.labels[i]["sam_run"] != "r1" {
			t.Errorf("statement %d has labels %v: %.60s", i, wh.labels[i], s)
		}
	}
}

func TestBigQueryIncrementalScript(t *testing.T) {
	wh := &fakeBQ{}
	p := mustLoad(t, os.DirFS("testdata/basic"))
	r := &Runner{WH: wh, Project: p, Vars: testVars, RunID: "r2", Now: func() time.Time { return time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC) }}
	since := time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)
	m := p.Models["stg_events"]
	sql, err := render(m.File, m.SQL, p.macros, renderEnv{dialect: bigquery.Dialect{}, qualify: wh.QualifiedName, vars: testVars, since: since})
	if err != nil {
		t.Fatal(err)
	}
	it := PlanItem{Model: m.Name, File: m.File, Materialized: "incremental", Action: ActionIncremental, Version: "abcdef0123456789", Since: since, sql: sql, prevMaterialized: "incremental"}
	out, err := r.buildModel(context.Background(), m, it, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows != 7 || out.Partitions != "2024-01-03,2024-01-04" {
		t.Errorf("output = %+v", out)
	}
	fill := wh.find(t, "CREATE OR REPLACE TABLE `proj.sam.stg_events__sam_tmp` OPTIONS (expiration_timestamp")
	if !strings.Contains(fill, "where event_date >= DATE '2024-01-03'") {
		t.Errorf("fill is not filtered:\n%s", fill)
	}
	script := wh.find(t, "BEGIN TRANSACTION;")
	want := "BEGIN TRANSACTION; DELETE FROM `proj.sam.stg_events` WHERE event_date >= DATE '2024-01-03';\n" +
		"INSERT INTO `proj.sam.stg_events` (`event_id`, `event_date`) SELECT `event_id`, `event_date` FROM `proj.sam.stg_events__sam_tmp`;\n" +
		"INSERT INTO `proj.sam.sam_model_state`"
	if !strings.HasPrefix(script, want) || !strings.HasSuffix(script, "'2024-01-03,2024-01-04', '');\nCOMMIT TRANSACTION") {
		t.Errorf("script =\n%s\nwant prefix\n%s", script, want)
	}
	wh.find(t, "DROP TABLE IF EXISTS `proj.sam.stg_events__sam_tmp`")
	if got := wh.jobs[len(wh.jobs)-2]; got != "sam_r2_stg_events_abcdef012345_replace" {
		t.Errorf("job id = %q", got)
	}
}

func TestPlanReportsDryRunBytes(t *testing.T) {
	wh := &fakeBQ{}
	r := &Runner{WH: wh, Project: mustLoad(t, os.DirFS("testdata/basic")), Vars: testVars, RunID: "p"}
	plan, err := r.Plan(context.Background(), Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	it, _ := plan.Item("fct_channel")
	if !it.Estimate.Supported || it.Estimate.BytesProcessed != 1<<20 {
		t.Errorf("estimate = %+v", it.Estimate)
	}
	if seed, _ := plan.Item("seed_channels"); seed.Estimate.Supported {
		t.Error("seeds are loaded, not queried: no estimate expected")
	}
	for _, s := range wh.stmts {
		if !strings.HasPrefix(s, "SELECT") {
			t.Errorf("Plan sent a write: %s", s)
		}
	}
}
