package ga4

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The lookback reloads the days GA4 may have rewritten; a file that has
// not changed since its load says the same again, and reloading it cost
// the daily run most of its load and a day more of staging. Such a table
// is skipped; one rewritten, or added to, is loaded. A day no longer in
// raw_ga4__events is loaded whatever was recorded of its files.
func TestFileLoadSkipsTablesUnchangedSinceTheirLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	days := []time.Time{d1, d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)}
	for _, d := range days {
		writeFile(t, dir, "events_"+d.Format("20060102")+".json", row(d, 1, "page_view"))
	}
	db := openDuck(t)
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 2}, db, nil)
	l.now = func() time.Time { return d1.AddDate(0, 0, 3) }
	load := func(run string) string {
		t.Helper()
		res, err := l.Load(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(res.Tables, ",")
	}
	if got := load("r1"); got != "events_20250301,events_20250302,events_20250303" {
		t.Fatalf("first load: %s", got)
	}
	if got := load("r2"); got != "" {
		t.Errorf("a load with no file changed replaced %s", got)
	}

	// GA4 rewrote the second day: one more event. (The modification time
	// is set apart from the first write's, as a later export's would be.)
	d := days[1]
	writeFile(t, dir, "events_"+d.Format("20060102")+".json", row(d, 1, "page_view"), row(d, 2, "scroll"))
	touch(t, dir, "events_"+d.Format("20060102")+".json", time.Now().Add(time.Minute))
	if got := load("r3"); got != "events_20250302" {
		t.Errorf("after the second day's file changed, the load replaced %q, want only that day", got)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events"); n != 4 {
		t.Errorf("raw_ga4__events holds %d events, want 4", n)
	}
	if got := load("r4"); got != "" {
		t.Errorf("the load after replaced %s", got)
	}

	// A day emptied from the raw table is loaded again.
	if _, err := db.Exec(ctx, "DELETE FROM raw_ga4__events WHERE export_date = DATE '2025-03-03'"); err != nil {
		t.Fatal(err)
	}
	if got := load("r5"); got != "events_20250303" {
		t.Errorf("with the third day gone from the raw table, the load replaced %q, want that day", got)
	}
}

func touch(t *testing.T, dir, name string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(filepath.Join(dir, name), at, at); err != nil {
		t.Fatal(err)
	}
}

// touchAll sets the modification time of every file in dir, as a new
// export of each would.
func touchAll(t *testing.T, dir string, at time.Time) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		touch(t, dir, e.Name(), at)
	}
}

// A lookback longer than the two weeks the fingerprints were kept for
// reloaded its older days every run, changed or not: the fingerprints now
// cover the whole lookback.
func TestALongLookbackSkipsItsOlderDaysToo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const days = 25
	for i := range days {
		d := d1.AddDate(0, 0, i)
		writeFile(t, dir, "events_"+d.Format("20060102")+".json", row(d, 1, "page_view"))
	}
	l := NewFileLoader(Options{ExportDir: dir, LookbackDays: 21}, openDuck(t), nil)
	l.now = func() time.Time { return d1.AddDate(0, 0, days) }
	for _, run := range []string{"r1", "r2"} {
		res, err := l.Load(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if run == "r2" && len(res.Tables) > 0 {
			t.Errorf("with no file changed, the second load replaced %d days: %s", len(res.Tables), strings.Join(res.Tables, ","))
		}
	}
}
