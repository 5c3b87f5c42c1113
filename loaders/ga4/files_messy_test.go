package ga4

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders"
)

// Messy export folders, as people make them (issue 15, item 6).

func gzipLines(t testing.TB, lines ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeBytes(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// logTo returns a logger that writes text lines into b.
func logTo(b *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// warnLine returns the WARN log line that names file, or "".
func warnLine(log, file string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, file) {
			return l
		}
	}
	return ""
}

func skippedNames(res Result) map[string]string {
	m := map[string]string{}
	for _, s := range res.Skipped {
		m[s.File] = s.Reason
	}
	return m
}

func TestFileLoadAcceptsShardedAndCaseVariantNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	june20 := time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
	nov20 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	nov21 := nov20.AddDate(0, 0, 1)
	// bq extract with a wildcard URI writes one table as numbered shards.
	writeFile(t, dir, "events_20240620_000000000000.json", row(june20, 1, "page_view"), row(june20, 2, "page_view"))
	writeFile(t, dir, "events_20240620_000000000001.json", row(june20, 3, "scroll"))
	writeFile(t, dir, "events_20261120.JSON", row(nov20, 1, "page_view"))
	writeBytes(t, dir, "events_20261121.json.GZ", gzipLines(t, row(nov21, 1, "page_view"), row(nov21, 2, "scroll")))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 1000}, db, logTo(&logs))
	l.now = func() time.Time { return nov21.Add(30 * time.Hour) }
	res, err := l.Load(ctx, "names")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20240620,events_20261120,events_20261121" {
		t.Errorf("tables %s, want the sharded day once and both case variants", got)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped %v", res.Skipped)
	}
	want := "2024-06-20|events_20240620|3,2026-11-20|events_20261120|1,2026-11-21|events_20261121|2"
	got := queryStrings(t, db, "SELECT export_date, export_table, count(*) FROM raw_ga4__events GROUP BY 1, 2 ORDER BY 1")
	if strings.Join(got, ",") != want {
		t.Errorf("loaded %v, want %s", got, want)
	}
	// A rerun replaces the sharded day with both shards again, not one.
	if _, err := l.Load(ctx, "names2"); err != nil {
		t.Fatal(err)
	}
	got = queryStrings(t, db, "SELECT export_date, export_table, count(*) FROM raw_ga4__events GROUP BY 1, 2 ORDER BY 1")
	if strings.Join(got, ",") != want {
		t.Errorf("after a rerun %v, want %s", got, want)
	}
}

func TestFileLoadWarnsAboutMisnamedFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	nov22 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	writeFile(t, dir, "events_20261121.json", row(nov22.AddDate(0, 0, -1), 1, "page_view"))
	writeFile(t, dir, "events_2026-11-22.json", row(nov22, 1, "page_view"))
	writeBytes(t, dir, "events_20261123.json.gzip", gzipLines(t, row(nov22.AddDate(0, 0, 1), 1, "page_view")))
	writeFile(t, dir, "events_20261131.json", row(nov22, 1, "page_view"))
	writeFile(t, dir, "fresh_20261121.json", row(nov22, 9, "fresh"))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs))
	l.now = func() time.Time { return nov22.AddDate(0, 0, 3) }
	res, err := l.Load(ctx, "misnamed")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20261121" {
		t.Errorf("tables %s", got)
	}
	skipped := skippedNames(res)
	for file, why := range map[string]string{
		"events_2026-11-22.json":    "events_20261122.json",
		"events_20261123.json.gzip": ".json.gz",
		"events_20261131.json":      "not a calendar day",
	} {
		if !strings.Contains(skipped[file], why) {
			t.Errorf("skipped[%s] = %q, want a reason mentioning %q", file, skipped[file], why)
		}
		if warnLine(logs.String(), file) == "" {
			t.Errorf("no WARN line names %s:\n%s", file, logs.String())
		}
	}
	if len(res.Skipped) != 3 {
		t.Errorf("skipped %v, want the 3 misnamed files (the fresh table is skipped on purpose)", res.Skipped)
	}
}

func TestFileLoadRejectsTruncatedGzipAndLoadsTheRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2, d3 := d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	var lines []string
	for i := 0; i < 2000; i++ {
		lines = append(lines, row(d2, i, "page_view"))
	}
	full := gzipLines(t, lines...)
	writeBytes(t, dir, "events_20250302.json.gz", full[:len(full)/2])
	writeBytes(t, dir, "events_20250303.json.gz", gzipLines(t, row(d3, 1, "page_view"), row(d3, 2, "scroll")))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs))
	res, err := l.Load(ctx, "trunc")
	if err != nil {
		t.Fatalf("a truncated file stopped the load: %v", err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20250301,events_20250303" {
		t.Errorf("tables %s, want the two sound days", got)
	}
	got := queryStrings(t, db, "SELECT export_date, count(*) FROM raw_ga4__events GROUP BY 1 ORDER BY 1")
	if strings.Join(got, ",") != "2025-03-01|1,2025-03-03|2" {
		t.Errorf("loaded %v", got)
	}
	rj := queryStrings(t, db, "SELECT source, object, raw, reason FROM load_rejects WHERE run_id = 'trunc'")
	if len(rj) != 1 || !strings.HasPrefix(rj[0], "ga4|events_20250302.json.gz|events_20250302.json.gz|") || !strings.Contains(rj[0], "truncated") {
		t.Errorf("rejects %v, want the truncated file with its reason", rj)
	}
	wantCounts(t, res.Counts, 3, 1)
	if warnLine(logs.String(), "events_20250302.json.gz") == "" {
		t.Errorf("no WARN line names the truncated file:\n%s", logs.String())
	}
}

func TestFileLoadRejectsDamagedShardKeepsItsDay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301_000000000000.json", row(d1, 1, "page_view"))
	writeFile(t, dir, "events_20250301_000000000001.json", row(d1, 2, "page_view"))
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir}, db, nil)
	if _, err := l.Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	// A new copy of the day arrives with a damaged shard: the day keeps
	// what it had rather than lose a shard's rows.
	writeFile(t, dir, "events_20250301_000000000000.json", row(d1, 1, "page_view"), row(d1, 3, "page_view"))
	if err := os.Remove(filepath.Join(dir, "events_20250301_000000000001.json")); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "events_20250301_000000000001.json.gz", []byte("not gzip at all"))
	res, err := l.Load(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != 0 || res.Counts.Rejected != 1 {
		t.Errorf("result %+v, want no table loaded and one file rejected", res)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != 2 {
		t.Errorf("%d rows, want the 2 loaded before", n)
	}
	if got := queryStrings(t, db, "SELECT object FROM load_rejects WHERE run_id = 'second'"); strings.Join(got, ",") != "events_20250301_000000000001.json.gz" {
		t.Errorf("rejects %v", got)
	}
}

func TestFileLoadIgnoresFutureDays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for n := 0; n < 3; n++ {
		d := d1.AddDate(0, 0, n)
		writeFile(t, dir, "events_"+d.Format("20060102")+".json", row(d, 1, "page_view"))
	}
	writeFile(t, dir, "events_20991231.json", row(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), 1, "page_view"))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 1}, db, logTo(&logs))
	l.now = func() time.Time { return d1.AddDate(0, 0, 3).Add(9 * time.Hour) }
	res, err := l.Load(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20250301,events_20250302,events_20250303" {
		t.Errorf("first load %s, want the real days only", got)
	}
	if why := skippedNames(res)["events_20991231.json"]; !strings.Contains(why, "future") {
		t.Errorf("future file skipped with %q", why)
	}
	if warnLine(logs.String(), "events_20991231.json") == "" {
		t.Errorf("no WARN line names the future file:\n%s", logs.String())
	}
	// The lookback still reloads the newest real days, once their files
	// change (all of them here, the future one too).
	touchAll(t, dir, time.Now().Add(time.Minute))
	res, err = l.Load(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20250302,events_20250303" {
		t.Errorf("rerun loaded %s, want the 1-day lookback of the real days", got)
	}
}

func TestFileLoadFutureDayAlreadyLoadedKeepsTheLookback(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for n := 0; n < 3; n++ {
		d := d1.AddDate(0, 0, n)
		writeFile(t, dir, "events_"+d.Format("20060102")+".json", row(d, 1, "page_view"))
	}
	writeFile(t, dir, "events_20991231.json", row(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC), 1, "page_view"))
	db := openDuck(t)
	// An earlier load, with a clock past 2099, loaded the file.
	past := NewFileLoader(Options{ExportDir: dir, LookbackDays: 1}, db, nil)
	past.now = func() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := past.Load(ctx, "r0"); err != nil {
		t.Fatal(err)
	}
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 1}, db, nil)
	l.now = func() time.Time { return d1.AddDate(0, 0, 3) }
	res, err := l.Load(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Tables, ","); got != "events_20250302,events_20250303" {
		t.Errorf("loaded %s, want the lookback of the real days", got)
	}
}

func TestFileLoadRejectsEventsOfAnotherDate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2 := d1.AddDate(0, 0, 1)
	writeFile(t, dir, "events_20250302.json", row(d2, 1, "page_view"), row(d1, 2, "page_view"), row(d2.AddDate(0, 0, 1), 3, "page_view"))
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "dates")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Read != 3 || res.Counts.Loaded != 1 || res.Counts.Rejected != 2 {
		t.Errorf("counts %+v, want 1 loaded and 2 rejected", res.Counts)
	}
	got := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'dates' ORDER BY reason")
	want := []string{
		"events_20250302|line 2: event_date 20250301 is not the table's day 20250302",
		"events_20250302|line 3: event_date 20250303 is not the table's day 20250302",
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], want[0]) || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("rejects %v, want reasons starting %v", got, want)
	}
}

func TestFileLoadParquetShardsAndEventsOfAnotherDate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDuck(t)
	src := t.TempDir()
	writeFile(t, src, "events_20250301.json", row(d1, 1, "page_view"), row(d1, 2, "scroll"))
	if _, err := NewFileLoader(Options{ExportDir: src}, db, nil).Load(ctx, "seed"); err != nil {
		t.Fatal(err)
	}
	// Two shards of events_20250302: three rows of the day and one of 20250301.
	for i, sel := range []string{
		"SELECT * EXCLUDE (export_date, export_table, loaded_at) REPLACE ('20250302' AS event_date) FROM raw_ga4__events",
		"(SELECT * EXCLUDE (export_date, export_table, loaded_at) REPLACE ('20250302' AS event_date) FROM raw_ga4__events LIMIT 1) UNION ALL (SELECT * EXCLUDE (export_date, export_table, loaded_at) FROM raw_ga4__events LIMIT 1)",
	} {
		pq := filepath.Join(dir, "events_20250302_00000000000"+string(rune('0'+i))+".parquet")
		if _, err := db.Exec(ctx, "COPY ("+sel+") TO '"+pq+"' (FORMAT parquet)"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "pq")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Read != 4 || res.Counts.Loaded != 3 || res.Counts.Rejected != 1 || strings.Join(res.Tables, ",") != "events_20250302" {
		t.Errorf("result %+v, want one table, 3 loaded and 1 rejected", res)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE export_date = DATE '2025-03-02'"); n != 3 {
		t.Errorf("%d rows for 2025-03-02, want 3", n)
	}
	got := queryStrings(t, db, "SELECT reason, raw LIKE '%events_20250302_000000000001.parquet%' FROM load_rejects WHERE run_id = 'pq'")
	if len(got) != 1 || !strings.HasPrefix(got[0], "event_date 20250301 is not the table's day 20250302") || !strings.HasSuffix(got[0], "|true") {
		t.Errorf("rejects %v", got)
	}
}

// A copy interrupted before it wrote anything leaves a file of no bytes.
// GA4 creates no daily table for a day without events, so such a file is
// damaged, not a day to empty: before, reloading it replaced a day of 1,205
// events with none, logged as an ordinary loaded day.
func TestFileLoadRejectsAnEmptyExportFileKeepsItsDay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"), row(d1, 2, "scroll"))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs))
	if _, err := l.Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "events_20250301.json", nil)
	writeBytes(t, dir, "events_20250302.json.gz", gzipLines(t)[:0]) // an empty .gz file as well
	res, err := l.Load(ctx, "second")
	if err != nil {
		t.Fatalf("an empty file stopped the load: %v", err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE export_date = DATE '2025-03-01'"); n != 2 {
		t.Errorf("the day holds %d rows, want the 2 loaded before", n)
	}
	rj := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'second' ORDER BY object")
	if len(rj) != 2 || !strings.HasPrefix(rj[0], "events_20250301.json|empty") || !strings.HasPrefix(rj[1], "events_20250302.json.gz|") {
		t.Errorf("rejects %v, want both empty files with the reason", rj)
	}
	if len(res.Tables) != 0 || res.Counts.Read != res.Counts.Loaded+res.Counts.Rejected || res.Counts.Rejected != 2 {
		t.Errorf("result %+v, want no table loaded and two files rejected", res)
	}
	if warnLine(logs.String(), "events_20250301.json") == "" {
		t.Errorf("no WARN line names the empty file:\n%s", logs.String())
	}
}

// An empty shard beside shards with events is what a wildcard extract may
// write; the day loads from the others.
func TestFileLoadAcceptsAnEmptyShardBesideOthers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301_000000000000.json", row(d1, 1, "page_view"))
	writeBytes(t, dir, "events_20250301_000000000001.json", nil)
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Loaded != 1 || res.Counts.Rejected != 0 || len(res.Tables) != 1 {
		t.Errorf("result %+v, want the day's one event loaded", res)
	}
}

// A copy cut off mid-line leaves a last line that is not whole JSON and
// has no newline after it. Before, the lines before it replaced the day
// (36 of 1,204 events in the case that showed it) and the cut line was one
// reject among them.
func TestFileLoadRejectsAFileCutMidLineKeepsItsDay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2 := d1.AddDate(0, 0, 1)
	full := []string{row(d1, 1, "page_view"), row(d1, 2, "scroll"), row(d1, 3, "click")}
	writeFile(t, dir, "events_20250301.json", full...)
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs))
	if _, err := l.Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	cut := strings.Join(full, "\n")
	writeBytes(t, dir, "events_20250301.json", []byte(cut[:len(cut)-40]))
	// A whole last line without its newline is not a cut: it loads.
	writeBytes(t, dir, "events_20250302.json", []byte(row(d2, 1, "page_view")+"\n"+row(d2, 2, "scroll")))
	res, err := l.Load(ctx, "second")
	if err != nil {
		t.Fatalf("a cut file stopped the load: %v", err)
	}
	got := queryStrings(t, db, "SELECT export_date, count(*) FROM raw_ga4__events GROUP BY 1 ORDER BY 1")
	if strings.Join(got, ",") != "2025-03-01|3,2025-03-02|2" {
		t.Errorf("loaded %v, want the cut day as it was and the other day whole", got)
	}
	rj := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'second'")
	if len(rj) != 1 || !strings.HasPrefix(rj[0], "events_20250301.json|truncated") || !strings.Contains(rj[0], "line 3") {
		t.Errorf("rejects %v, want the cut file, naming its last line", rj)
	}
	wantCounts(t, res.Counts, 2, 1)
	if warnLine(logs.String(), "events_20250301.json") == "" {
		t.Errorf("no WARN line names the cut file:\n%s", logs.String())
	}
}

// A damaged Parquet file is the file's fault, as a damaged gzip file is:
// it is rejected and the other days load. Before, an empty events_*.parquet
// stopped the stage on DuckDB's "too small to be a Parquet file", and the
// days after it were not loaded.
func TestFileLoadRejectsDamagedParquetAndLoadsTheRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDuck(t)
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"), row(d1, 2, "scroll"))
	if _, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "seed"); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.parquet")
	if _, err := db.Exec(ctx, "COPY (SELECT * EXCLUDE (export_date, export_table, loaded_at, property_id) FROM raw_ga4__events) TO '"+good+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The day loaded before, now arriving as a cut Parquet copy.
	if err := os.Remove(filepath.Join(dir, "events_20250301.json")); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "events_20250301.parquet", whole[:len(whole)-100])
	writeBytes(t, dir, "events_20250302.parquet", nil)
	notGA4 := filepath.Join(dir, "events_20250303.parquet")
	if _, err := db.Exec(ctx, "COPY (SELECT 1 AS id, 'x' AS name) TO '"+notGA4+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "events_20250304.json", row(d1.AddDate(0, 0, 3), 1, "page_view"))
	var logs bytes.Buffer
	res, err := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs)).Load(ctx, "pq")
	if err != nil {
		t.Fatalf("a damaged Parquet file stopped the load: %v", err)
	}
	got := queryStrings(t, db, "SELECT export_date, count(*) FROM raw_ga4__events GROUP BY 1 ORDER BY 1")
	if strings.Join(got, ",") != "2025-03-01|2,2025-03-04|1" {
		t.Errorf("loaded %v, want the first day as it was and the sound day", got)
	}
	rj := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'pq' ORDER BY object")
	want := []string{"events_20250301.parquet|truncated Parquet file", "events_20250302.parquet|not a Parquet file", "events_20250303.parquet|not a GA4 export"}
	if len(rj) != len(want) {
		t.Fatalf("rejects %v, want %v", rj, want)
	}
	for i := range want {
		if !strings.HasPrefix(rj[i], want[i]) {
			t.Errorf("reject %q, want it to start %q", rj[i], want[i])
		}
	}
	wantCounts(t, res.Counts, 1, 3)
	for _, f := range []string{"events_20250301.parquet", "events_20250302.parquet", "events_20250303.parquet"} {
		if warnLine(logs.String(), f) == "" {
			t.Errorf("no WARN line names %s:\n%s", f, logs.String())
		}
	}
}

// A gzipped export saved under a .json name: the day keeps what it held and
// the reason says what the file is. Before, it was called a truncated file,
// for a last "line" of compressed bytes.
func TestFileLoadNamesAGzipFileWithoutItsExtension(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir}, db, nil)
	if _, err := l.Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, "events_20250301.json", gzipLines(t, row(d1, 1, "page_view"), row(d1, 2, "scroll")))
	if _, err := l.Load(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	rj := queryStrings(t, db, "SELECT reason FROM load_rejects WHERE run_id = 'second'")
	if len(rj) != 1 || !strings.Contains(rj[0], "gzip file named .json") {
		t.Errorf("rejects %v, want the file named for what it is", rj)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != 1 {
		t.Errorf("%d rows, want the 1 loaded before", n)
	}
}

// A file whose every line is rejected is not that day's export (here, the
// day before's file copied under the wrong name): its day keeps what it
// held, and the file is one reject saying why. Before, its 2,006 lines
// were rejected one by one and its day, 1,205 events, was emptied.
func TestFileLoadKeepsADayWhoseFileHasNoLineToLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2 := d1.AddDate(0, 0, 1)
	writeFile(t, dir, "events_20250302.json", row(d2, 1, "page_view"), row(d2, 2, "scroll"))
	db := openDuck(t)
	var logs bytes.Buffer
	l := NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs))
	if _, err := l.Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	writeFile(t, dir, "events_20250302.json", row(d1, 5, "page_view"), row(d1, 6, "scroll"), row(d1, 7, "click"))
	res, err := l.Load(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, db, "SELECT export_date, count(*) FROM raw_ga4__events GROUP BY 1 ORDER BY 1")
	if strings.Join(got, ",") != "2025-03-01|1,2025-03-02|2" {
		t.Errorf("loaded %v, want the new day and the misnamed file's day as it was", got)
	}
	rj := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'second'")
	if len(rj) != 1 || !strings.HasPrefix(rj[0], "events_20250302.json|every one of its 3 lines") || !strings.Contains(rj[0], "event_date 20250301 is not the table's day 20250302") {
		t.Errorf("rejects %v, want the file, with its first line's reason", rj)
	}
	wantCounts(t, res.Counts, 1, 1)
	if warnLine(logs.String(), "events_20250302.json") == "" {
		t.Errorf("no WARN line names the file:\n%s", logs.String())
	}
}

// As for NDJSON: a Parquet file none of whose rows loads keeps its day.
func TestFileLoadKeepsADayWhoseParquetFileHasNoRowToLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDuck(t)
	d2 := d1.AddDate(0, 0, 1)
	writeFile(t, dir, "events_20250301.json", row(d1, 1, "page_view"))
	writeFile(t, dir, "events_20250302.json", row(d2, 1, "page_view"), row(d2, 2, "scroll"))
	if _, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	// The first day's rows, as a Parquet file named for the second day.
	if err := os.Remove(filepath.Join(dir, "events_20250302.json")); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "events_20250302.parquet")
	if _, err := db.Exec(ctx, "COPY (SELECT * EXCLUDE (export_date, export_table, loaded_at, property_id) FROM raw_ga4__events WHERE export_date = DATE '2025-03-01') TO '"+pq+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "pq"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events WHERE export_date = DATE '2025-03-02'"); n != 2 {
		t.Errorf("the day holds %d rows, want the 2 loaded before", n)
	}
	rj := queryStrings(t, db, "SELECT object, reason FROM load_rejects WHERE run_id = 'pq'")
	if len(rj) != 1 || !strings.HasPrefix(rj[0], "events_20250302.parquet|every one of its 1 rows") {
		t.Errorf("rejects %v, want the file", rj)
	}
}

// wantCounts checks a load's counts: the given files' or lines' loaded and
// rejected, and read = loaded + rejected.
func wantCounts(t *testing.T, c loaders.Counts, loaded, rejected int64) {
	t.Helper()
	if c.Read != c.Loaded+c.Rejected || c.Loaded != loaded || c.Rejected != rejected {
		t.Errorf("counts %+v, want %d loaded and %d rejected, read = loaded + rejected", c, loaded, rejected)
	}
}

// A file saved by a Windows editor starts with a UTF-8 byte order mark.
// RFC 8259 lets a parser ignore it, and it says nothing about the data;
// the first event of such a file went to load_rejects as malformed JSON.
// A mark anywhere else stays an error.
func TestFileLoadIgnoresAByteOrderMarkAtTheStartOfAFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d2 := d1.AddDate(0, 0, 1)
	const bom = "\xef\xbb\xbf"
	writeBytes(t, dir, "events_20250301.json", []byte(bom+row(d1, 1, "page_view")+"\n"+row(d1, 2, "scroll")+"\n"))
	writeBytes(t, dir, "events_20250302.json.gz", gzipLines(t, bom+row(d2, 1, "page_view"), bom+row(d2, 2, "scroll")))
	db := openDuck(t)
	res, err := NewFileLoader(Options{ExportDir: dir}, db, nil).Load(ctx, "bom")
	if err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, db, "SELECT export_date, event_name FROM raw_ga4__events ORDER BY 1, 2")
	if want := "2025-03-01|page_view,2025-03-01|scroll,2025-03-02|page_view"; strings.Join(got, ",") != want {
		t.Errorf("loaded %v, want %s", got, want)
	}
	wantCounts(t, res.Counts, 3, 1)

	// DuckDB refuses a file with a mark ("byte order mark (BOM) is not
	// supported"): such a file goes straight to the validated lines,
	// without a failed in-place load, its second read and its warning.
	dir = t.TempDir()
	writeBytes(t, dir, "events_20250301.json", []byte(bom+row(d1, 1, "page_view")+"\n"+row(d1, 2, "scroll")+"\n"))
	db = openDuck(t)
	var logs bytes.Buffer
	if res, err = NewFileLoader(Options{ExportDir: dir}, db, logTo(&logs)).Load(ctx, "bom in place"); err != nil {
		t.Fatal(err)
	}
	if w := warnLine(logs.String(), "events_20250301.json"); w != "" || strings.Contains(logs.String(), "could not read the export files as they are") {
		t.Errorf("the file went through a failed in-place load:\n%s", logs.String())
	}
	if got := queryStrings(t, db, "SELECT event_name FROM raw_ga4__events ORDER BY 1"); strings.Join(got, ",") != "page_view,scroll" {
		t.Errorf("loaded in place %v, want page_view,scroll", got)
	}
	wantCounts(t, res.Counts, 2, 0)
}
