package models_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/transform"
)

// zonedEvent is a page_view as a property in zone exports it: event_date
// is the property's local date, event_timestamp and ga_session_id are UTC.
func zonedEvent(zone *time.Location, client string, session, at time.Time) string {
	return fmt.Sprintf(`{"event_date":"%s","event_timestamp":"%d","event_name":"page_view","event_params":[{"key":"ga_session_id","value":{"int_value":"%d"}},{"key":"page_location","value":{"string_value":"https://www.acme-analytics.example/"}}],"user_pseudo_id":%q,"stream_id":"1","platform":"WEB","device":{"category":"desktop","web_info":{"hostname":"www.acme-analytics.example"}}}`,
		at.In(zone).Format("20060102"), at.UnixMicro(), session.Unix(), client)
}

// zonedSessions returns a week of export files of a property in zone, by
// name. Per local day: a session late in the evening, one early in the
// morning, and one that runs past midnight into the next day.
func zonedSessions(zone *time.Location) map[string][]string {
	local := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, zone) }
	days := map[string][]string{}
	add := func(client string, session time.Time, at ...time.Time) {
		for _, a := range at {
			name := "events_" + a.In(zone).Format("20060102") + ".json"
			days[name] = append(days[name], zonedEvent(zone, client, session, a))
		}
	}
	for d := 24; d <= 30; d++ {
		c := fmt.Sprint(d)
		add("1."+c, local(d, 22, 30), local(d, 22, 30), local(d, 22, 40))
		add("2."+c, local(d, 5, 0), local(d, 5, 0))
		add("3."+c, local(d, 23, 50), local(d, 23, 50), local(d+1, 0, 10))
	}
	return days
}

// A full build of stg_ga4__sessions in windows (full_build_window_days,
// here of one day, so every midnight is a window's end) publishes the rows
// one query over the whole export does, the sessions that run past a
// window's end included.
func TestSessionsBuiltInWindowsEqualOneQuery(t *testing.T) {
	ctx := context.Background()
	zone, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err) // no zone database
	}
	dir := t.TempDir()
	for name, lines := range zonedSessions(zone) {
		writeFile(t, dir, name, lines...)
	}
	const header = "full_build_window_days: 30\n"
	files := ga4Files(t)
	sessions := string(files["staging/stg_ga4__sessions.sql"].Data)
	if !strings.Contains(sessions, header) {
		t.Fatalf("stg_ga4__sessions.sql has no %q", header)
	}
	built := map[string][]string{}
	for _, window := range []string{"full_build_window_days: 1\n", ""} {
		files["staging/stg_ga4__sessions.sql"] = &fstest.MapFile{Data: []byte(strings.Replace(sessions, header, window, 1))}
		db := openDuck(t)
		if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: dir, LookbackDays: 3}, db, nil).Load(ctx, "full"); err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		r := &transform.Runner{WH: db, Project: loadProject(t, files), Vars: transform.Vars{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
			t.Fatalf("Build: %v", err)
		}
		if inWindows := strings.Contains(logs.String(), "full build in windows"); inWindows != (window != "") {
			t.Errorf("%q: built in windows %v", window, inWindows)
		}
		built[window] = queryStrings(t, db, "SELECT * FROM stg_ga4__sessions ORDER BY session_key")
	}
	windows, one := built["full_build_window_days: 1\n"], built[""]
	if len(one) != 21 {
		t.Fatalf("one query built %d sessions, want 21", len(one))
	}
	if strings.Join(windows, "\n") != strings.Join(one, "\n") {
		t.Errorf("in windows %d sessions:\n%s\none query %d:\n%s", len(windows), strings.Join(windows, "\n"), len(one), strings.Join(one, "\n"))
	}
}

// A property outside UTC dates its export tables in its own zone. Before,
// stg_ga4__sessions partitioned sessions by their UTC start date but read
// events by their local date, and its guard against sessions begun before
// the window compared with UTC midnight: a daily run dropped New York's
// late-evening sessions and Tokyo's early-morning ones, and the
// ga4_sessions_cover_session_events test then failed every run.
func TestSessionsOfAPropertyOutsideUTCSurviveDailyRuns(t *testing.T) {
	for _, tz := range []string{"America/New_York", "Asia/Tokyo"} {
		t.Run(tz, func(t *testing.T) {
			ctx := context.Background()
			zone, err := time.LoadLocation(tz)
			if err != nil {
				t.Skip(err) // no zone database
			}
			days := zonedSessions(zone)
			load := func(t *testing.T, dir string, names []string) {
				t.Helper()
				for _, n := range names {
					writeFile(t, dir, n, days[n]...)
				}
			}
			var names []string
			for n := range days {
				names = append(names, n)
			}
			slices.Sort(names)

			daily, full := t.TempDir(), t.TempDir()
			dailyDB, fullDB := openDuck(t), openDuck(t)
			p := ga4Project(t)
			// Daily: the first days, then each next day, as a scheduled job.
			load(t, daily, names[:4])
			for i := 4; i <= len(names); i++ {
				if i > 4 {
					load(t, daily, names[i-1:i])
				}
				if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: daily, LookbackDays: 3}, dailyDB, nil).Load(ctx, fmt.Sprint("daily-", i)); err != nil {
					t.Fatal(err)
				}
				build(t, dailyDB, p)
			}
			load(t, full, names)
			if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: full, LookbackDays: 3}, fullDB, nil).Load(ctx, "full"); err != nil {
				t.Fatal(err)
			}
			build(t, fullDB, p)

			q := `SELECT session_key, session_start_ts, session_end_ts, event_count FROM stg_ga4__sessions ORDER BY session_key`
			got, want := queryStrings(t, dailyDB, q), queryStrings(t, fullDB, q)
			if len(want) != 21 {
				t.Fatalf("the full build has %d sessions, want 21", len(want))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("daily runs built %d sessions:\n%s\nthe full build %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
		})
	}
}

// An export day that arrives late, after later days were built (an export
// that failed and was re-run, a backfill), is loaded into raw by the next
// run. Before, GA4 staging rebuilt only its own lookback, so that day's
// events never reached stg_ga4__events or the sessions, and the run
// reported success.
func TestALateExportDayReachesStaging(t *testing.T) {
	ctx := context.Background()
	zone := time.UTC
	days := map[string][]string{}
	for d := 20; d <= 30; d++ {
		for i, h := range []int{9, 14} {
			at := time.Date(2026, 11, d, h, 0, 0, 0, zone)
			c := fmt.Sprintf("%d.%d", d, i)
			name := "events_" + at.Format("20060102") + ".json"
			days[name] = append(days[name], zonedEvent(zone, c, at, at), zonedEvent(zone, c, at, at.Add(time.Minute)))
		}
	}
	late := "events_20261122.json"
	daily, full := t.TempDir(), t.TempDir()
	for n, lines := range days {
		writeFile(t, full, n, lines...)
		if n != late {
			writeFile(t, daily, n, lines...)
		}
	}
	dailyDB, fullDB := openDuck(t), openDuck(t)
	p := ga4Project(t)
	for i, step := range []string{"before", "late day"} {
		if i == 1 {
			writeFile(t, daily, late, days[late]...)
		}
		if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: daily, LookbackDays: 3}, dailyDB, nil).Load(ctx, step); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// From the late day, not from every day the first load wrote
			// (minutes before the last build).
			plan, err := (&transform.Runner{WH: dailyDB, Project: p, Vars: transform.Vars{}}).Plan(ctx, transform.Selection{}, transform.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range plan.Items {
				if it.Model == "stg_ga4__events" && it.Since.Format(time.DateOnly) != "2026-11-22" {
					t.Errorf("stg_ga4__events rebuilds from %s (%s), want 2026-11-22", it.Since.Format(time.DateOnly), strings.Join(it.Reasons, "; "))
				}
			}
		}
		build(t, dailyDB, p)
	}
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: full, LookbackDays: 3}, fullDB, nil).Load(ctx, "full"); err != nil {
		t.Fatal(err)
	}
	build(t, fullDB, p)
	for _, q := range []string{
		`SELECT event_date, count(*) FROM stg_ga4__events GROUP BY 1 ORDER BY 1`,
		`SELECT session_date, count(*) FROM stg_ga4__sessions GROUP BY 1 ORDER BY 1`,
	} {
		if got, want := queryStrings(t, dailyDB, q), queryStrings(t, fullDB, q); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s\nafter the late day: %v\nfull build:         %v", q, got, want)
		}
	}
}
