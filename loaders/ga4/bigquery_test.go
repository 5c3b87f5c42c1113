package ga4

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// fakeBQ answers the loader's metadata queries the way BigQuery would and
// records the script it is asked to run.
type fakeBQ struct {
	tables []string // export dataset's table names
	// datasets, when set, holds each export dataset's tables and columns
	// instead of tables and columns.
	datasets map[string]fakeDataset
	loaded   map[string]string // export_date → export_table already in raw
	columns  []string          // top-level columns of the newest export table
	scripts  []string
	jobIDs   []string
	// recentFrom is the lower bound of the last scan of raw_ga4__events.
	recentFrom string
	// written counts the writes to an export table since its creation:
	// its INFORMATION_SCHEMA.PARTITIONS row has 100 rows and a
	// last_modified_time that many microseconds after the epoch.
	written map[string]int64
	// metaReads lists the tables of each read of export metadata, which
	// fails with metaErr when set.
	metaReads []string
	metaErr   error
	cursors   map[string]string // source/object → last saved cursor
}

func (f *fakeBQ) Dialect() warehouse.Dialect { return bigquery.Dialect{} }
func (f *fakeBQ) QualifiedName(t string) string {
	return "`sam-prod.sam." + t + "`"
}
func (f *fakeBQ) Exec(_ context.Context, q string, opts ...any) (warehouse.Result, error) {
	if strings.HasPrefix(q, "INSERT INTO "+f.QualifiedName(loaders.CursorsTable)) {
		if f.cursors == nil {
			f.cursors = map[string]string{}
		}
		f.cursors[fmt.Sprint(opts[0], "/", opts[1])] = fmt.Sprint(opts[2])
		return warehouse.Result{}, nil
	}
	f.scripts = append(f.scripts, q)
	f.jobIDs = append(f.jobIDs, warehouse.CollectOptions(opts).JobID)
	return warehouse.Result{BytesProcessed: 123456789}, nil
}
func (f *fakeBQ) Query(_ context.Context, q string, args ...any) (warehouse.Rows, error) {
	var rows [][]any
	switch {
	case strings.Contains(q, "INFORMATION_SCHEMA.TABLES"):
		tables := f.tables
		if f.datasets != nil {
			tables = f.datasets[datasetOf(q)].tables
		}
		for _, t := range tables {
			rows = append(rows, []any{t})
		}
	case strings.Contains(q, "INFORMATION_SCHEMA.COLUMNS"):
		columns := f.columns
		if f.datasets != nil {
			columns = f.datasets[datasetOf(q)].columns
		}
		for _, c := range columns {
			rows = append(rows, []any{c})
		}
	case strings.Contains(q, "INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN"):
		if f.metaErr != nil {
			return nil, f.metaErr
		}
		names := regexp.MustCompile(`'(events_[a-z_]*[0-9]{8})'`).FindAllStringSubmatch(q, -1)
		var read []string
		for _, m := range names {
			read = append(read, m[1])
			if slices.Contains(f.tables, m[1]) {
				rows = append(rows, []any{m[1], int64(100), 1 + f.written[m[1]]})
			}
		}
		f.metaReads = append(f.metaReads, strings.Join(read, " "))
	case strings.Contains(q, "SELECT cursor FROM"):
		if c, ok := f.cursors[fmt.Sprint(args[0], "/", args[1])]; ok {
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

type fakeDataset struct{ tables, columns []string }

// datasetOf returns the dataset of an INFORMATION_SCHEMA query.
func datasetOf(q string) string {
	m := regexp.MustCompile("FROM `[^.`]+\\.([^`]+)`\\.INFORMATION_SCHEMA").FindStringSubmatch(q)
	if m == nil {
		return ""
	}
	return m[1]
}

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
	// recognised by BigQuery. (A copy whose answer was lost recorded
	// nothing.)
	f.cursors = nil
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

func TestBigQueryCopiesSeveralDatasetsTaggedWithTheirProperty(t *testing.T) {
	ctx := context.Background()
	var all, noPublisher []string
	for _, c := range ExportColumns() {
		all = append(all, c.Name)
		if c.Name != "publisher" {
			noPublisher = append(noPublisher, c.Name)
		}
	}
	// Property 222 is still on its intraday table for 03-30 and has not
	// started 03-31; its export predates the publisher column.
	f := &fakeBQ{datasets: map[string]fakeDataset{
		"analytics_111": {tables: []string{"events_20250329", "events_20250330", "events_intraday_20250330", "events_intraday_20250331"}, columns: all},
		"analytics_222": {tables: []string{"events_20250329", "events_intraday_20250330", "events_fresh_20250330"}, columns: noPublisher},
	}}
	l, err := NewBigQueryLoader(Options{ExportDataset: "analytics_111", ExportDatasets: []string{"analytics_222"}}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return time.Date(2025, 3, 31, 15, 0, 0, 0, time.UTC) }
	res, err := l.Load(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	script := f.scripts[0]
	selects := strings.Split(script, "UNION ALL\n")
	if len(selects) != 2 {
		t.Fatalf("%d SELECTs, want one per dataset:\n%s", len(selects), script)
	}
	one, two := selects[0], selects[1]
	for _, want := range []string{
		"'111' AS property_id",
		"FROM `sam-prod.analytics_111.events_*`",
		"WHERE (_TABLE_SUFFIX BETWEEN '20250329' AND '20250331' OR _TABLE_SUFFIX BETWEEN 'intraday_20250329' AND 'intraday_20250331')\n  AND _TABLE_SUFFIX IN ('20250329', '20250330', 'intraday_20250331')",
		// 03-30 is tagged with the intraday table property 222 still
		// has, so the day reloads when 222's daily table comes.
		"IF(_TABLE_SUFFIX IN ('20250330'), CONCAT('events_intraday_', _TABLE_SUFFIX), CONCAT('events_', _TABLE_SUFFIX)) AS export_table",
		// a record the export has, rebuilt by field name
		"  IF(`publisher` IS NULL, NULL, STRUCT(`publisher`.`ad_revenue_in_usd` AS `ad_revenue_in_usd`",
		"ARRAY(SELECT AS STRUCT e0.`key` AS `key`, IF(e0.`value` IS NULL, NULL, STRUCT(e0.`value`.`string_value` AS `string_value`",
	} {
		if !strings.Contains(one, want) {
			t.Errorf("property 111's SELECT lacks %q:\n%s", want, one)
		}
	}
	for _, want := range []string{
		"'222' AS property_id",
		"FROM `sam-prod.analytics_222.events_*`",
		"WHERE (_TABLE_SUFFIX BETWEEN '20250329' AND '20250330' OR _TABLE_SUFFIX BETWEEN 'intraday_20250329' AND 'intraday_20250330')\n  AND _TABLE_SUFFIX IN ('20250329', 'intraday_20250330');",
		"CONCAT('events_', _TABLE_SUFFIX) AS export_table",
		"AS publisher,\n",
	} {
		if !strings.Contains(two, want) {
			t.Errorf("property 222's SELECT lacks %q:\n%s", want, two)
		}
	}
	if !strings.Contains(script, "WHERE export_date IN (DATE '2025-03-29', DATE '2025-03-30', DATE '2025-03-31');") {
		t.Errorf("script does not replace the three days:\n%s", script)
	}
	if strings.Contains(script, "fresh") && !strings.Contains(script, "fresh_ tables are never read") {
		t.Error("script reads a fresh table")
	}
	if got := strings.Join(res.Tables, " "); got != "events_20250329 events_intraday_20250330 events_intraday_20250331" {
		t.Errorf("tables %s", got)
	}

	// Once 222's daily table for 03-30 arrives, the day is reloaded even
	// outside the lookback window.
	f.loaded = map[string]string{"2025-03-29": "events_20250329", "2025-03-30": "events_intraday_20250330", "2025-03-31": "events_intraday_20250331"}
	ds := f.datasets["analytics_222"]
	ds.tables = append(ds.tables, "events_20250330")
	f.datasets["analytics_222"] = ds
	if _, err := l.Load(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.scripts[1], "WHERE export_date IN (DATE '2025-03-30', DATE '2025-03-31');") {
		t.Errorf("03-30 not reloaded with 222's daily table:\n%s", f.scripts[1])
	}
	if strings.Contains(f.scripts[1], "CONCAT('events_intraday_'") {
		t.Errorf("a daily table is still tagged intraday:\n%s", f.scripts[1])
	}
}

func TestBigQueryLoaderNeedsAPropertyPerDataset(t *testing.T) {
	f := &fakeBQ{}
	for _, cfg := range []Options{
		{ExportDataset: "analytics_1", ExportDatasets: []string{"my_copy"}},
		{ExportDataset: "analytics_1", ExportDatasets: []string{"analytics_1"}},
	} {
		if _, err := NewBigQueryLoader(cfg, f, nil); err == nil {
			t.Errorf("NewBigQueryLoader(%+v) accepted datasets that do not name one property each", cfg)
		}
	}
	// One dataset is the unnamed property, whatever its name.
	if _, err := NewBigQueryLoader(Options{ExportDataset: "my_copy"}, f, nil); err != nil {
		t.Error(err)
	}
}

// Every run copied the whole lookback again from the export, changed or
// not: bytes billed, and days of staging rebuilt. A daily table whose row
// count and last write are as they were at its load is now skipped; one
// GA4 wrote to again, or emptied from raw_ga4__events, is copied, and an
// intraday table always is.
func TestBigQueryLoadSkipsTablesUnchangedSinceTheirLoad(t *testing.T) {
	f, l := loadedButTheLast(t, time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC), 3)
	load := func(run string) string {
		t.Helper()
		return strings.Join(f.load(t, l, run).Tables, " ")
	}
	if got := load("r1"); got != "events_20250326 events_20250327 events_20250328 events_20250329 events_20250330" {
		t.Fatalf("first load copied %q", got)
	}
	if got := strings.Join(f.metaReads, "; "); got != "events_20250326 events_20250327 events_20250328 events_20250329 events_20250330" {
		t.Errorf("export metadata read for %q, want the chosen days'", got)
	}
	if got := load("r2"); got != "" {
		t.Errorf("a load with no export table changed copied %s", got)
	}
	if len(f.scripts) != 1 {
		t.Errorf("%d copy scripts after the second load, want the first only", len(f.scripts))
	}

	f.written["events_20250328"]++ // GA4 wrote late events to the day
	if got := load("r3"); got != "events_20250328" {
		t.Errorf("after GA4 wrote to 03-28, the load copied %q, want only that day", got)
	}
	if got := load("r4"); got != "" {
		t.Errorf("the load after copied %s", got)
	}

	delete(f.loaded, "2025-03-29") // the day is gone from raw_ga4__events
	f.tables = append(f.tables, "events_intraday_20250331")
	if got := load("r5"); got != "events_20250329 events_intraday_20250331" {
		t.Errorf("with 03-29 gone from the raw table and an intraday table for 03-31, the load copied %q", got)
	}
	if got := load("r6"); got != "events_intraday_20250331" {
		t.Errorf("an unchanged intraday table is copied every load; got %q", got)
	}

	// Metadata that cannot be read skips nothing, and stops nothing.
	f.metaErr = errors.New("Access Denied: Table analytics_1.INFORMATION_SCHEMA.PARTITIONS")
	if got := load("r7"); got != "events_20250328 events_20250329 events_20250330 events_intraday_20250331" {
		t.Errorf("without the export tables' metadata, the load copied %q, want the whole lookback", got)
	}
}

// A lookback of hundreds of days is fingerprinted whole, its metadata
// read in parts of at most 500 tables (the view answers at most 1,000 a
// query), and skipped whole when nothing changed.
func TestBigQueryLongLookbackIsSkippedWhole(t *testing.T) {
	first := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	f, l := loadedButTheLast(t, first, first.AddDate(0, 0, 699), 600)
	for _, run := range []string{"r1", "r2"} {
		res := f.load(t, l, run)
		switch {
		case run == "r1" && len(res.Tables) != 602:
			t.Fatalf("the first load copied %d days, want the newest loaded day, the 600 before it and the new day", len(res.Tables))
		case run == "r2" && len(res.Tables) != 0:
			t.Errorf("with nothing written to, the second load copied %d days", len(res.Tables))
		}
	}
	var sizes []int
	for _, r := range f.metaReads {
		sizes = append(sizes, len(strings.Fields(r)))
	}
	if fmt.Sprint(sizes) != "[500 102 500 101]" {
		t.Errorf("metadata read for %v tables a query, want parts of at most 500", sizes)
	}
}

// loadedButTheLast returns a fake whose export holds a daily table for
// each day from first to last, all but the last in raw_ga4__events, and a
// loader with lookback days whose clock is the day after last, 15:00.
func loadedButTheLast(t *testing.T, first, last time.Time, lookback int) (*fakeBQ, *BigQueryLoader) {
	t.Helper()
	f := &fakeBQ{loaded: map[string]string{}, columns: []string{"event_date"}, written: map[string]int64{}}
	f.tables = exportTables(first, last, "events_")
	for d := first; d.Before(last); d = d.AddDate(0, 0, 1) {
		f.loaded[d.Format(time.DateOnly)] = "events_" + d.Format("20060102")
	}
	l, err := NewBigQueryLoader(Options{ExportDataset: "analytics_1", LookbackDays: lookback}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return last.Add(39 * time.Hour) }
	return f, l
}

// load runs l and records in f what it copied, as raw_ga4__events would
// hold it.
func (f *fakeBQ) load(t *testing.T, l *BigQueryLoader, run string) Result {
	t.Helper()
	res, err := l.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range res.Days {
		f.loaded[d.Format(time.DateOnly)] = res.Tables[i]
	}
	return res
}
