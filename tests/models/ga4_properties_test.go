package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/ga4"
)

// TestTwoPropertiesStitchOnTheClientID loads two GA4 properties from
// property sub-folders. Client 100.1 visits both sites (cross-domain
// measurement shares the client id) with the same session id on each;
// 200.1 and 300.1 visit one site each. Sessions and property-scoped client
// keys never collide across properties, while client_key, the bare client
// id, links them: one journey where the ids match, two where they don't.
func TestTwoPropertiesStitchOnTheClientID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	props := map[string][]string{
		"111111": {aiEvent("100.1", s0, "https://www.google.com/", "", ""), aiEvent("200.1", s0+60, "", "", "")},
		"222222": {aiEvent("100.1", s0, "https://shop.example/", "", ""), aiEvent("300.1", s0+120, "", "", "")},
	}
	for p, lines := range props {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, p), "events_20250301.json", lines...)
	}
	db := openDuck(t)
	if _, err := ga4.NewFileLoader(ga4.Options{ExportDir: dir}, db, nil).Load(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	build(t, db, ga4Project(t))

	got := queryStrings(t, db, `SELECT property_id, client_key, property_client_key, session_key FROM stg_ga4__sessions ORDER BY session_key`)
	want := []string{
		"111111|100.1|111111:100.1|111111:100.1.1740823200",
		"111111|200.1|111111:200.1|111111:200.1.1740823260",
		"222222|100.1|222222:100.1|222222:100.1.1740823200",
		"222222|300.1|222222:300.1|222222:300.1.1740823320",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sessions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Journeys are keyed by client_key (int_attribution_paths, and the
	// lead intermediates through int_lead_identity).
	journeys := queryStrings(t, db, `SELECT client_key, count(*), count(DISTINCT property_id) FROM stg_ga4__sessions GROUP BY client_key ORDER BY client_key`)
	if got, want := strings.Join(journeys, " "), "100.1|2|2 200.1|1|1 300.1|1|1"; got != want {
		t.Errorf("journeys = %s, want %s", got, want)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM stg_ga4__events WHERE property_id IS NULL`); n != 0 {
		t.Errorf("%d events without property_id", n)
	}
	if n := queryInt(t, db, `SELECT count(DISTINCT event_key) FROM stg_ga4__events`); n != 4 {
		t.Errorf("%d distinct events, want 4: identical hits on two properties are two events", n)
	}
}
