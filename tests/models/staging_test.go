package models_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
)

// d1 is the first day of the generated exports.
var d1 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func writeFile(t testing.TB, dir, name string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ga4Project is the GA4 part of the embedded SQL project: the stg_ga4__
// models, the macros, the GA4 seeds and the ga4_ data tests, so these tests
// do not depend on the rest of the graph.
func ga4Project(t testing.TB) *transform.Project {
	t.Helper()
	return loadProject(t, ga4Files(t))
}

func ga4Files(t testing.TB) fstest.MapFS {
	t.Helper()
	return subset(t, func(p string) bool {
		return strings.HasPrefix(p, "staging/stg_ga4__") || strings.HasPrefix(p, "seeds/ga4_") || strings.HasPrefix(p, "seeds/channel_groups.") ||
			strings.HasPrefix(p, "tests/ga4_") || strings.HasPrefix(p, "macros/")
	})
}

func loadProject(t testing.TB, m fstest.MapFS) *transform.Project {
	t.Helper()
	p, err := transform.LoadProject(m)
	if err != nil {
		t.Fatalf("LoadProject: %v", err)
	}
	return p
}

func build(t testing.TB, wh warehouse.Warehouse, p *transform.Project) {
	t.Helper()
	r := &transform.Runner{WH: wh, Project: p, Vars: transform.Vars{}}
	if _, err := r.Build(context.Background(), transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatalf("Build: %v", err)
	}
}

// holdBack splits a day file into its first export (without n events that
// arrive late) and the full re-export. It holds back events that occur
// once in the file, are not cookieless pings, and are not session starts.
func holdBack(t testing.TB, full []byte, n int) (first []byte, held []string) {
	t.Helper()
	count := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(full))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		count[sc.Text()]++
	}
	var keep []string
	for _, l := range lines {
		if len(held) < n && count[l] == 1 && strings.Contains(l, `"event_name":"page_view"`) && !strings.Contains(l, `"user_pseudo_id":null`) {
			held = append(held, l)
			continue
		}
		keep = append(keep, l)
	}
	if len(held) != n {
		t.Fatalf("found only %d events to hold back", len(held))
	}
	return []byte(strings.Join(keep, "\n") + "\n"), held
}

func TestStagingReExportAddsLateEventsOnce(t *testing.T) {
	ctx := context.Background()
	gen := t.TempDir()
	if _, err := sampledata.Generate(ctx, sampledata.Options{OutDir: gen, Days: 3, EventsPerDay: 400, Seed: 11, End: d1.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	dayD := "events_20250302.json"
	full, err := os.ReadFile(filepath.Join(gen, "ga4", dayD))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := holdBack(t, full, 3)
	export := t.TempDir()
	for _, name := range []string{"events_20250301.json", "events_20250303.json"} {
		b, err := os.ReadFile(filepath.Join(gen, "ga4", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, export, name, strings.TrimSuffix(string(b), "\n"))
	}
	writeFile(t, export, dayD, strings.TrimSuffix(string(first), "\n"))

	db := openDuck(t)
	p := ga4Project(t)
	l := ga4.NewFileLoader(ga4.Options{ExportDir: export, LookbackDays: 3}, db, nil)
	step := func(name string) (dayEvents, total int64) {
		t.Helper()
		if _, err := l.Load(ctx, name); err != nil {
			t.Fatalf("%s: Load: %v", name, err)
		}
		build(t, db, p)
		if dups := queryInt(t, db, "SELECT count(*) - count(DISTINCT event_key) FROM stg_ga4__events"); dups != 0 {
			t.Fatalf("%s: %d duplicate events in staging", name, dups)
		}
		return queryInt(t, db, "SELECT count(*) FROM stg_ga4__events WHERE event_date = DATE '2025-03-02'"),
			queryInt(t, db, "SELECT count(*) FROM stg_ga4__events")
	}
	day1, total1 := step("first-export")
	// Raw holds duplicated export rows; staging holds each event once.
	rawRows := queryInt(t, db, "SELECT count(*) FROM raw_ga4__events")
	if total1 >= rawRows {
		t.Errorf("staging has %d events from %d raw rows: the export's duplicates were not removed", total1, rawRows)
	}

	writeFile(t, export, dayD, strings.TrimSuffix(string(full), "\n"))
	day2, total2 := step("re-export")
	if day2 != day1+3 || total2 != total1+3 {
		t.Errorf("after the re-export day D has %d events (was %d), total %d (was %d): want exactly 3 more", day2, day1, total2, total1)
	}

	day3, total3 := step("same-files-again")
	if day3 != day2 || total3 != total2 {
		t.Errorf("loading the same files again changed staging: day D %d → %d, total %d → %d", day2, day3, total2, total3)
	}
}

func TestStagingCookielessAndSessions(t *testing.T) {
	ctx := context.Background()
	gen := t.TempDir()
	sum, err := sampledata.Generate(ctx, sampledata.Options{OutDir: gen, Days: 4, EventsPerDay: 600, Seed: 5, End: d1.AddDate(0, 0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	db := openDuck(t)
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: filepath.Join(gen, "ga4")}, db, nil).Load(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	build(t, db, ga4Project(t))

	// Cookieless pings: counted per day, never keyed. The export's
	// duplicates are counted once.
	cookieless := queryInt(t, db, "SELECT sum(cookieless_events) FROM stg_ga4__cookieless_daily")
	staged := queryInt(t, db, "SELECT count(*) FROM stg_ga4__events WHERE is_cookieless")
	if cookieless == 0 || cookieless != staged || cookieless > sum.CookielessEvents {
		t.Errorf("cookieless daily total %d, staged %d, generated %d", cookieless, staged, sum.CookielessEvents)
	}
	if days := queryInt(t, db, "SELECT count(DISTINCT event_date) FROM stg_ga4__cookieless_daily"); days != 4 {
		t.Errorf("cookieless pings counted on %d days, want 4", days)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM stg_ga4__events WHERE is_cookieless AND (client_key IS NOT NULL OR session_key IS NOT NULL)"); n != 0 {
		t.Errorf("%d cookieless events have a client or session key", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM stg_ga4__lead_submissions WHERE is_cookieless AND client_key IS NULL"); n == 0 {
		t.Error("no cookieless lead submission kept (they should be counted, unlinked)")
	}

	// Sessions: the generator's planted channels come out of GA4's rules,
	// both where the export has session_traffic_source_last_click and where
	// it does not (the first third of the days).
	got := queryStrings(t, db, `SELECT channel, source, medium FROM stg_ga4__sessions GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	want := []string{
		"Direct|(direct)|(none)",
		"Display|criteo|display",
		"Email|newsletter|email",
		"Organic Search|bing|organic",
		"Organic Search|google|organic",
		"Paid Search|google|cpc",
		"Paid Social|facebook|paid_social",
		"Paid Social|linkedin|paid_social",
		"Referral|g2.com|referral",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("session channels:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := queryInt(t, db, "SELECT count(*) FROM stg_ga4__sessions WHERE export_channel_group IS NOT NULL AND channel != export_channel_group"); n != 0 {
		t.Errorf("%d sessions disagree with the export's own channel group", n)
	}
	if n := queryInt(t, db, "SELECT count(*) FROM stg_ga4__sessions WHERE channel = 'Paid Search' AND gclid IS NULL"); n != 0 {
		t.Errorf("%d Paid Search sessions without a gclid", n)
	}
	// Bots land and submit within seconds, without engaging.
	if n := queryInt(t, db, `SELECT count(*) FROM stg_ga4__lead_submissions AS l JOIN stg_ga4__sessions AS s ON s.session_key = l.session_key
		WHERE s.channel = 'Display' AND NOT s.is_engaged AND l.submitted_at < s.session_start_ts + INTERVAL 10 SECOND`); n == 0 {
		t.Error("no bot-like Display submissions")
	}
}
