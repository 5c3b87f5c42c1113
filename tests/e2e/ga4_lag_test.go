package e2e_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
)

// The CRM is fresher than GA4's daily export: a lead created today has
// its form session in tomorrow's export table. Before, such a lead was
// judged without it (a bot passed as a genuine lead and went to the ad
// platforms as a conversion; a genuine one was disqualified for want of an
// engaged session), and what was sent could not be taken back. Its events
// now wait until the export reaches the lead's creation.
func TestLeadsWaitForGA4ToReachTheirCreation(t *testing.T) {
	w := newWorkspace(t, 14)
	files, err := filepath.Glob(w.Path("data/ga4/events_*.json*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no export files: %v", err)
	}
	slices.Sort(files)
	last := files[len(files)-1]
	held := filepath.Join(t.TempDir(), filepath.Base(last))
	if err := os.Rename(last, held); err != nil {
		t.Fatal(err)
	}
	day := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(last), "events_"), filepath.Ext(last))
	day = day[:4] + "-" + day[4:6] + "-" + day[6:8]
	mustRun(t, w)
	db := w.Open()
	leads := samtest.QueryInt(t, db, `SELECT count(*) FROM fct_lead_revenue WHERE cast(created_at AS date) = DATE '`+day+`'`)
	early := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events e JOIN fct_lead_revenue l USING (lead_id) WHERE cast(l.created_at AS date) = DATE '`+day+`'`)
	db.Close()
	if leads == 0 {
		t.Fatalf("no lead was created on %s, the day held back", day)
	}
	if early != 0 {
		t.Errorf("%d activation events of the %d leads created on %s, before GA4's export of that day", early, leads, day)
	}
	if err := os.Rename(held, last); err != nil {
		t.Fatal(err)
	}
	mustRun(t, w)
	db = w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events e JOIN fct_lead_revenue l USING (lead_id) WHERE cast(l.created_at AS date) = DATE '`+day+`'`); n == 0 {
		t.Errorf("once the export of %s is loaded, its leads' events are still held", day)
	}
}
