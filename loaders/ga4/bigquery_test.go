package ga4

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// fakeBQ answers the loader's metadata queries the way BigQuery would and
// records the script it is asked to run.
type fakeBQ struct {
	tables  []string          // export dataset's table names
	loaded  map[string]string // export_date → export_table already in raw
	columns []string          // top-level columns of the newest export table
	scripts []string
	jobIDs  []string
	// recentFrom is the lower bound of the last scan of raw_ga4__events.
	recentFrom string
}

func (f *fakeBQ) Dialect() warehouse.Dialect { return bigquery.Dialect{} }
func (f *fakeBQ) QualifiedName(t string) string {
	return "`sam-prod.sam." + t + "`"
}
func (f *fakeBQ) Exec(_ context.Context, q string, opts ...any) (warehouse.Result, error) {
	f.scripts = append(f.scripts, q)
	f.jobIDs = append(f.jobIDs, warehouse.CollectOptions(opts).JobID)
	return warehouse.Result{BytesProcessed: 123456789}, nil
}
func (f *fakeBQ) Query(_ context.Context, q string, _ ...any) (warehouse.Rows, error) {
	var rows [][]any
	switch {
	case strings.Contains(q, "INFORMATION_SCHEMA.TABLES"):
		for _, t := range f.tables {
			rows = append(rows, []any{t})
		}
	case strings.Contains(q, "INFORMATION_SCHEMA.COLUMNS"):
		for _, c := range f.columns {
			rows = append(rows, []any{c})
		}
	case strings.Contains(q, "INFORMATION_SCHEMA.PARTITIONS"):
		if !strings.Contains(q, "`sam-prod.sam`.INFORMATION_SCHEMA.PARTITIONS WHERE table_name = 'raw_ga4__events'") {
			return nil, fmt.Errorf("unexpected partitions query %s", q)
		}
		for d := range f.loaded {
			day, _ := time.Parse(time.DateOnly, d)
			rows = append(rows, []any{day.Format("20060102")})
		}
		rows = append(rows, []any{"__NULL__"})
	case strings.Contains(q, "GROUP BY export_date"):
		// Only recent partitions may be scanned.
		m := regexp.MustCompile(`WHERE export_date >= DATE '([0-9-]+)'`).FindStringSubmatch(q)
		if m == nil {
			return nil, fmt.Errorf("unbounded scan of raw_ga4__events: %s", q)
		}
		f.recentFrom = m[1]
		for d, t := range f.loaded {
			if d >= m[1] {
				day, _ := time.Parse(time.DateOnly, d)
				rows = append(rows, []any{day, t})
			}
		}
	case strings.Contains(q, "COUNT(*)"):
		rows = [][]any{{int64(4242)}}
	}
	return &sliceRows{rows: rows, i: -1}, nil
}
func (f *fakeBQ) Load(context.Context, warehouse.LoadRequest) (warehouse.LoadResult, error) {
	return warehouse.LoadResult{}, nil
}
func (f *fakeBQ) Describe(context.Context, string) (warehouse.Schema, error) {
	if f.loaded == nil {
		return warehouse.Schema{}, warehouse.ErrNotFound
	}
	return RawSchema(), nil
}
func (f *fakeBQ) DryRun(context.Context, string) (warehouse.Estimate, error) {
	return warehouse.Estimate{}, nil
}
func (f *fakeBQ) Close() error { return nil }

type sliceRows struct {
	rows [][]any
	i    int
}

func (r *sliceRows) Columns() []warehouse.Column { return nil }
func (r *sliceRows) Next() bool                  { r.i++; return r.i < len(r.rows) }
func (r *sliceRows) Scan(dest ...any) error {
	for i, d := range dest {
		if err := warehouse.ConvertAssign(d, r.rows[r.i][i]); err != nil {
			return err
		}
	}
	return nil
}
func (r *sliceRows) Values() ([]any, error) { return r.rows[r.i], nil }
func (r *sliceRows) Err() error             { return nil }
func (r *sliceRows) Close() error           { return nil }

func exportTables(from, to time.Time, prefix string) []string {
	var out []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, prefix+d.Format("20060102"))
	}
	return out
}

func TestBigQueryCopyIsBoundedToTheLookbackWindow(t *testing.T) {
	ctx := context.Background()
	today := time.Date(2025, 3, 31, 15, 0, 0, 0, time.UTC)
	// Two years of export, an intraday table for today, a fresh table, and
	// raw holding everything up to 2025-03-29 from daily tables.
	f := &fakeBQ{loaded: map[string]string{}}
	f.tables = exportTables(time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC), "events_")
	f.tables = append(f.tables, "events_intraday_20250330", "events_intraday_20250331", "events_fresh_20250330", "pseudonymous_users_20250330")
	for _, name := range exportTables(time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC), "events_") {
		d, _ := time.Parse("20060102", strings.TrimPrefix(name, "events_"))
		f.loaded[d.Format(time.DateOnly)] = name
	}
	f.loaded["2025-03-20"] = "events_intraday_20250320" // loaded before its daily table arrived
	for _, c := range ExportColumns() {
		if c.Name != "publisher" { // an older export without the publisher column
			f.columns = append(f.columns, c.Name)
		}
	}
	l, err := NewBigQueryLoader(Options{ExportDataset: "analytics_123456", LookbackDays: 3}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return today }
	res, err := l.Load(ctx, "run 7")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(f.scripts) != 1 {
		t.Fatalf("%d scripts run, want 1", len(f.scripts))
	}
	script := f.scripts[0]
	// The wildcard is read only through a constant list of table suffixes:
	// the lookback days (2025-03-26 .. 03-29 re-read), the new daily table
	// 03-30 (winning over its intraday table) and today's intraday table.
	wantIn := "AND _TABLE_SUFFIX IN ('20250320', '20250326', '20250327', '20250328', '20250329', '20250330', 'intraday_20250331')"
	if !strings.Contains(script, wantIn) {
		t.Errorf("script lacks the suffix list %s:\n%s", wantIn, script)
	}
	if want := "WHERE (_TABLE_SUFFIX BETWEEN '20250320' AND '20250331' OR _TABLE_SUFFIX BETWEEN 'intraday_20250320' AND 'intraday_20250331')"; !strings.Contains(script, want) {
		t.Errorf("script lacks the range bound %s", want)
	}
	if n := strings.Count(script, "FROM `sam-prod.analytics_123456.events_*`"); n != 1 {
		t.Errorf("the wildcard table is read %d times, want once", n)
	}
	if regexp.MustCompile(`'[a-z_]*fresh|'intraday_20250330'`).MatchString(script) {
		t.Error("script reads a fresh table or an intraday table that has a daily one")
	}
	for _, want := range []string{
		"BEGIN TRANSACTION;",
		"DELETE FROM `sam-prod.sam.raw_ga4__events`\nWHERE export_date IN (DATE '2025-03-20', DATE '2025-03-26', DATE '2025-03-27', DATE '2025-03-28', DATE '2025-03-29', DATE '2025-03-30', DATE '2025-03-31');",
		"CAST(NULL AS STRUCT<ad_revenue_in_usd FLOAT64, ad_format STRING, ad_source_name STRING, ad_unit_id STRING>) AS publisher",
		"PARTITION BY export_date",
		"COMMIT TRANSACTION;",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if strings.Index(script, "DELETE") > strings.Index(script, "INSERT") || strings.Index(script, "COMMIT") < strings.Index(script, "INSERT") {
		t.Error("DELETE and INSERT must both run inside the transaction, delete first")
	}
	if f.recentFrom != "2025-03-15" {
		t.Errorf("raw_ga4__events scanned from %s, want only the 14 days before the newest loaded day", f.recentFrom)
	}
	if res.BytesProcessed != 123456789 || res.Counts.Loaded != 4242 || len(res.Days) != 7 {
		t.Errorf("result %+v", res)
	}
	if !regexp.MustCompile(`^sam_ga4_run_7_[0-9a-f]{16}$`).MatchString(f.jobIDs[0]) {
		t.Errorf("job id %q is not deterministic-looking", f.jobIDs[0])
	}
	// The same state renders the same script and job id, so a retry is
	// recognised by BigQuery.
	if _, err := l.Load(ctx, "run 7"); err != nil {
		t.Fatal(err)
	}
	if f.scripts[1] != f.scripts[0] || f.jobIDs[1] != f.jobIDs[0] {
		t.Error("a retried load renders a different script or job id")
	}
}

func TestBigQueryLoaderValidatesIdentifiers(t *testing.T) {
	f := &fakeBQ{}
	for _, cfg := range []Options{
		{ExportDataset: ""},
		{ExportDataset: "analytics_1`; DROP TABLE x; --"},
		{ExportDataset: "analytics_1", ExportProject: "Bad Project!"},
	} {
		if _, err := NewBigQueryLoader(cfg, f, nil); err == nil {
			t.Errorf("NewBigQueryLoader(%+v) accepted an invalid identifier", cfg)
		}
	}
	l, err := NewBigQueryLoader(Options{ExportDataset: "analytics_1"}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.project != "sam-prod" {
		t.Errorf("export project defaults to %q, want SAM's project sam-prod", l.project)
	}
}

func TestBigQueryLoaderOnEmptyWarehouseHonoursStartDate(t *testing.T) {
	f := &fakeBQ{tables: exportTables(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC), "events_")}
	f.columns = []string{"event_date"}
	l, err := NewBigQueryLoader(Options{ExportDataset: "analytics_1", StartDate: "2025-03-29"}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC) }
	if _, err := l.Load(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.scripts[0], "AND _TABLE_SUFFIX IN ('20250329', '20250330');") {
		t.Errorf("initial load not bounded by the start date:\n%s", f.scripts[0])
	}
}
