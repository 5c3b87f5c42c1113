package ga4

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

func openDuck(t testing.TB) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), "", duckdb.Options{})
	if err != nil {
		t.Fatalf("duckdb.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	// SAM's own tables exist before any loader runs, as jobs makes sure.
	if err := systables.New(db).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func queryInt(t testing.TB, wh warehouse.Warehouse, q string) int64 {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil || len(data) != 1 {
		t.Fatalf("%s: %v (%d rows)", q, err, len(data))
	}
	var n int64
	if err := warehouse.ConvertAssign(&n, data[0][0]); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func queryStrings(t testing.TB, wh warehouse.Warehouse, q string) []string {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for _, r := range data {
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = warehouse.Format(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// row renders a small valid export row for day d.
func row(d time.Time, n int, name string) string {
	ts := d.Add(time.Duration(n) * time.Minute).UnixMicro()
	return fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"%s","event_params":[{"key":"ga_session_id","value":{"int_value":"%d"}}],"user_pseudo_id":"111.222","device":{"category":"desktop"}}`,
		d.Format("20060102"), ts, name, d.Unix())
}

func writeFile(t testing.TB, dir, name string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

var d1 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func TestFileLoadGeneratedExportIsIdempotent(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	sum, err := sampledata.Generate(ctx, sampledata.Options{OutDir: out, Days: 3, EventsPerDay: 300, Seed: 7, End: d1.AddDate(0, 0, 2), Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: filepath.Join(out, "ga4"), LookbackDays: 1}, db, nil)
	res, err := l.Load(ctx, "run1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.Counts.Read != sum.Events || res.Counts.Loaded != sum.Events || res.Counts.Rejected != 0 {
		t.Errorf("counts %+v, want %d read and loaded", res.Counts, sum.Events)
	}
	if len(res.Days) != 3 {
		t.Errorf("days loaded %v, want 3", res.Days)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != sum.Events {
		t.Errorf("raw rows %d, want %d", n, sum.Events)
	}
	// The nested export columns load as typed records.
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE session_traffic_source_last_click.cross_channel_campaign.default_channel_group IS NOT NULL AND device.web_info.hostname IS NOT NULL"); n == 0 {
		t.Error("no row has a typed session_traffic_source_last_click")
	}
	// A rerun with every file changed reloads only the lookback window,
	// and changes nothing.
	touchAll(t, filepath.Join(out, "ga4"), time.Now().Add(time.Minute))
	res2, err := l.Load(ctx, "run2")
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if len(res2.Days) != 2 || !res2.Days[0].Equal(d1.AddDate(0, 0, 1)) {
		t.Errorf("rerun loaded %v, want the last 2 days (newest − 1-day lookback)", res2.Days)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != sum.Events {
		t.Errorf("after rerun raw rows %d, want %d", n, sum.Events)
	}
	if got := queryStrings(t, db, "SELECT DISTINCT export_table FROM raw_ga4__events ORDER BY 1"); strings.Join(got, ",") != "events_20250301,events_20250302,events_20250303" {
		t.Errorf("export tables %v", got)
	}
}

func TestFileLoadRejectsBadLinesWithReasons(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301.json",
		row(d1, 1, "page_view"),
		`{"event_date":"20250301","event_timestamp":"17407`,
		`{"event_date":"20250301","event_name":"page_view"}`,
		`{"event_date":"March 1st","event_timestamp":"1740787200000000"}`,
		"",
		row(d1, 2, "session_start"),
	)
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir, LookbackDays: 3}, db, nil).Load(ctx, "run-rejects")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := loaders.Counts{Read: 5, Loaded: 2, Rejected: 3}
	if res.Counts.Read != want.Read || res.Counts.Loaded != want.Loaded || res.Counts.Rejected != want.Rejected {
		t.Errorf("counts %+v, want %+v (the blank line is not a row)", res.Counts, want)
	}
	got := queryStrings(t, db, "SELECT run_id, source, object, reason FROM load_rejects ORDER BY reason")
	wantRows := []string{
		`run-rejects|ga4|events_20250301|line 2: malformed JSON at byte 49: unterminated string`,
		`run-rejects|ga4|events_20250301|line 3: missing event_timestamp`,
		`run-rejects|ga4|events_20250301|line 4: bad event_date "March 1st": want YYYYMMDD`,
	}
	if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("rejects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
	}
	if raw := queryStrings(t, db, "SELECT raw FROM load_rejects WHERE reason LIKE 'line 3:%'"); len(raw) != 1 || raw[0] != `{"event_date":"20250301","event_name":"page_view"}` {
		t.Errorf("raw line not kept: %v", raw)
	}
}

func TestFileLoadPrefersDailyIgnoresFresh(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2 := d1.AddDate(0, 0, 1)
	writeFile(t, dir, "events_intraday_20250301.json", row(d1, 1, "page_view"))
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"), row(d1, 2, "page_view"), row(d1, 3, "scroll"))
	writeFile(t, dir, "events_fresh_20250301.json", row(d1, 9, "fresh"))
	writeFile(t, dir, "fresh_20250301.json", row(d1, 9, "fresh"))
	writeFile(t, dir, "events_intraday_20250302.json", row(d2, 1, "page_view"))
	writeFile(t, dir, "notes.txt", "not an export")
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 0}, db, nil)
	if _, err := l.Load(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, db, "SELECT export_date, export_table, count(*) FROM raw_ga4__events GROUP BY 1, 2 ORDER BY 1")
	if want := "2025-03-01|events_20250301|3,2025-03-02|events_intraday_20250302|1"; strings.Join(got, ",") != want {
		t.Errorf("loaded %v, want %s", got, want)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE event_name = 'fresh'"); n != 0 {
		t.Errorf("%d rows from fresh_ tables", n)
	}
	// The daily table for 2025-03-02 arrives: it replaces the intraday rows,
	// and 2025-03-01 (outside the 0-day lookback, loaded from its daily
	// table) is left alone.
	writeFile(t, dir, "events_20250302.json", row(d2, 1, "page_view"), row(d2, 2, "page_view"))
	res, err := l.Load(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Tables, ",") != "events_20250302" {
		t.Errorf("second load read %v, want events_20250302 only", res.Tables)
	}
	got = queryStrings(t, db, "SELECT export_date, export_table, count(*) FROM raw_ga4__events GROUP BY 1, 2 ORDER BY 1")
	if want := "2025-03-01|events_20250301|3,2025-03-02|events_20250302|2"; strings.Join(got, ",") != want {
		t.Errorf("after daily arrived %v, want %s", got, want)
	}
}

func TestFileLoadStartDate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	writeFile(t, dir, "events_20250302.json", row(d1.AddDate(0, 0, 1), 1, "page_view"))
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir, StartDate: "2025-03-02"}, db, nil).Load(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Tables, ",") != "events_20250302" {
		t.Errorf("loaded %v, want only events_20250302", res.Tables)
	}
}

func TestFileLoadParquet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDuck(t)
	// Produce a Parquet export file with DuckDB from a loaded NDJSON day.
	src := t.TempDir()
	writeFile(t, src, "events_20250301.json", row(d1, 1, "page_view"), row(d1, 2, "scroll"))
	if _, err := NewFileLoader(Options{ExportDir: src}, db, nil).Load(ctx, "seed"); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "events_20250302.parquet")
	copySQL := fmt.Sprintf(`COPY (SELECT * EXCLUDE (export_date, export_table, loaded_at) REPLACE ('20250302' AS event_date) FROM raw_ga4__events
		UNION ALL SELECT * EXCLUDE (export_date, export_table, loaded_at) REPLACE ('bad' AS event_date) FROM raw_ga4__events LIMIT 3) TO '%s' (FORMAT parquet)`, pq)
	if _, err := db.Exec(ctx, copySQL); err != nil {
		t.Fatal(err)
	}
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "pq")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.Counts.Read != 3 || res.Counts.Loaded != 2 || res.Counts.Rejected != 1 {
		t.Errorf("counts %+v, want 3 read, 2 loaded, 1 rejected", res.Counts)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE export_table = 'events_20250302'"); n != 2 {
		t.Errorf("%d Parquet rows loaded, want 2", n)
	}
	if got := queryStrings(t, db, "SELECT reason FROM load_rejects WHERE run_id = 'pq'"); len(got) != 1 || got[0] != "bad event_date bad" {
		t.Errorf("rejects %v", got)
	}
}

func TestChooseDays(t *testing.T) {
	day := func(n int) time.Time { return d1.AddDate(0, 0, n) }
	avail := map[time.Time]exportTable{}
	for n := 0; n < 10; n++ {
		avail[day(n)] = exportTable{day: day(n), name: "events_" + day(n).Format("20060102")}
	}
	avail[day(10)] = exportTable{day: day(10), intraday: true, name: "events_intraday_" + day(10).Format("20060102")}
	loaded := map[time.Time]string{}
	for n := 0; n <= 7; n++ {
		if n == 2 {
			continue // a gap: never loaded
		}
		loaded[day(n)] = "events_" + day(n).Format("20060102")
	}
	loaded[day(1)] = "events_intraday_" + day(1).Format("20060102") // loaded before its daily table existed
	var got []string
	for _, tb := range chooseDays(avail, loaded, 3, time.Time{}) {
		got = append(got, tb.name)
	}
	want := "events_20250302,events_20250303,events_20250305,events_20250306,events_20250307,events_20250308,events_20250309,events_20250310,events_intraday_20250311"
	if strings.Join(got, ",") != want {
		t.Errorf("chooseDays = %v\nwant %s", got, want)
	}
}

func TestFileLoadLongLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	big := func(n int) string {
		return fmt.Sprintf(`{"event_date":"20250301","event_timestamp":"1740787200000000","event_name":"page_view","event_params":[{"key":"page_title","value":{"string_value":"%s"}}]}`, strings.Repeat("x", n))
	}
	// 1.5 MB spans the 1 MB read buffer and loads; 3 MB exceeds maxLine.
	writeFile(t, dir, "events_20250301.json", big(1_500_000), big(3_000_000), row(d1, 1, "scroll"))
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir}, db, nil)
	l.maxLine = 2 << 20
	res, err := l.Load(ctx, "long")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Read != 3 || res.Counts.Loaded != 2 || res.Counts.Rejected != 1 {
		t.Errorf("counts %+v, want 3 read, 2 loaded, 1 rejected", res.Counts)
	}
	// load_rejects keeps 64 KiB of it and an ellipsis, as of any loader's line.
	if got := queryStrings(t, db, "SELECT reason, length(raw) FROM load_rejects"); len(got) != 1 || got[0] != "line 2: line longer than 2097152 bytes|65537" {
		t.Errorf("rejects %v", got)
	}
	if n := queryInt(t, db, "SELECT max(length(event_params[1].value.string_value)) FROM raw_ga4__events"); n != 1_500_000 {
		t.Errorf("long line loaded with a %d-byte title", n)
	}
}

func TestFileLoadBatchIsAtomic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	// A file that cannot be opened (here a dangling link) fails the batch; a
	// damaged one is a reject (TestFileLoadRejectsTruncatedGzipAndLoadsTheRest).
	if err := os.Symlink(filepath.Join(t.TempDir(), "gone"), filepath.Join(dir, "events_20250302.json.gz")); err != nil {
		t.Fatal(err)
	}
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir}, db, nil)
	if _, err := l.Load(ctx, "broken"); err == nil || !strings.Contains(err.Error(), "events_20250302.json.gz") {
		t.Fatalf("Load over an unreadable file: err = %v, want one naming the file", err)
	}
	if _, err := db.Describe(ctx, RawTable); err == nil {
		if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != 0 {
			t.Errorf("a failed batch left %d rows behind", n)
		}
	}
	// One load per day gives the same result as one load for all days.
	writeFile(t, dir, "events_20250302.json.gz", "")
	if err := os.Remove(filepath.Join(dir, "events_20250302.json.gz")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "events_20250302.json", row(d1.AddDate(0, 0, 1), 1, "page_view"), row(d1.AddDate(0, 0, 1), 2, "page_view"))
	l.batchBytes = 1
	if got := len(l.batches(chooseDaysFor(t, l))); got != 2 {
		t.Errorf("%d batches with a 1-byte limit, want 2", got)
	}
	res, err := l.Load(ctx, "fixed")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Loaded != 3 || len(res.Tables) != 2 {
		t.Errorf("result %+v", res)
	}
}

func chooseDaysFor(t testing.TB, l *FileLoader) []exportTable {
	t.Helper()
	avail, _, err := l.scanDir()
	if err != nil {
		t.Fatal(err)
	}
	return chooseDays(avail, nil, 0, time.Time{})
}

func TestFileLoadRejectsInvalidUTF8Line(t *testing.T) {
	dir := t.TempDir()
	bad := strings.Replace(row(d1, 2, "page_view"), "page_view", "caf\xe9", 1)
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"), bad)
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(context.Background(), "utf8")
	if err != nil {
		t.Fatalf("one line with invalid UTF-8 failed the load: %v", err)
	}
	if res.Counts.Loaded != 1 || res.Counts.Rejected != 1 {
		t.Errorf("counts %+v, want 1 loaded, 1 rejected", res.Counts)
	}
	// The byte shows as the CRM and spend rejects show it: \xE9.
	got := queryStrings(t, db, `SELECT reason, contains(raw, 'caf\xE9') FROM load_rejects`)
	if len(got) != 1 || !strings.Contains(got[0], "invalid UTF-8") || !strings.HasSuffix(got[0], "|true") {
		t.Errorf("rejects %v", got)
	}
}
