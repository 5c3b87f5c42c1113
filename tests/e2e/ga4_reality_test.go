package e2e_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// TestGA4ExportDayAsGA4SeesIt is issue 15's acceptance 2: a handmade GA4
// export day with a Performance Max click, a Merchant Center free listing,
// a self-referral without device.web_info.hostname, an app session and a
// direct visit GA4 credits elsewhere goes through `sam run` with exit 0,
// and each session gets the channel GA4 gives it (the direct visit keeps
// Direct, with GA4's Organic Search beside it, and is reported as a
// warning rather than failing the run).
func TestGA4ExportDayAsGA4SeesIt(t *testing.T) {
	w := newWorkspace(t, 7)
	day, err := os.ReadFile("../models/testdata/ga4_reality/events_20250301.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Path("data/ga4/events_20250301.json"), day, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := w.Run("run")
	if err != nil {
		t.Fatalf("sam run: %v\n%s\n%s", err, samtest.Tail(stdout, 40), samtest.Tail(stderr, 40))
	}
	if !strings.Contains(stdout+stderr, "tests/ga4_sessions_channel_agrees_with_export") {
		t.Errorf("the channel disagreement is not reported:\n%s", samtest.Tail(stdout, 30))
	}
	db := w.Open()
	defer db.Close()
	got := samtest.QueryStrings(t, db, `SELECT client_key || ' ' || channel || ' ' || coalesce(export_channel_group, '-') || ' ' || cast(is_engaged as varchar)
		FROM stg_ga4__sessions WHERE session_date = DATE '2025-03-01' ORDER BY client_key`)
	want := []string{
		"1111111111.1740790000 Cross-network Cross-network true",
		"2222222222.1740791000 Organic Shopping Organic Shopping true",
		"3333333333.1740792000 Direct Direct true",
		"5555555555.1740794000 Direct Organic Search true",
		"6666666666.1740795000 Organic Search - true",
		"c8f1e2d3a4b5c6d7e8f9a0b1c2d3e4f5 Direct Direct true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sessions of the handmade day:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
