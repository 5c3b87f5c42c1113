package e2e_test

import (
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/samtest"
)

// activation_coverage says what reached each destination. Before, it
// joined the ledger to today's activation_events: a won event already
// sent vanished from it once the CRM reopened the deal, and the value it
// showed was today's, not the one sent.
func TestCoverageKeepsWhatWasSentWithItsValue(t *testing.T) {
	w := newWorkspace(t, 22)
	mustRun(t, w)
	db := w.Open()
	leads := samtest.QueryStrings(t, db, `SELECT min(lead_id) FROM raw_writeback__send_log WHERE stage = 'won' AND status = 'sent'`)
	if len(leads) != 1 || leads[0] == "<nil>" {
		t.Fatal("no won event reached GA4")
	}
	lead := leads[0]
	// values in cents
	sentValue := samtest.QueryInt(t, db, `SELECT CAST(round(max(value) * 100) AS BIGINT) FROM raw_writeback__send_log WHERE stage = 'won' AND status = 'sent' AND lead_id = '`+lead+`'`)
	before := samtest.QueryInt(t, db, `SELECT CAST(round(sum(value) * 100) AS BIGINT) FROM activation_coverage WHERE destination = 'ga4' AND stage = 'won' AND status = 'sent'`)
	db.Close()
	// The deal is lost after all (the CRM reopened and lost it).
	now := time.Now().UTC().Format(time.RFC3339)
	editCSV(t, w.Path("data/crm/deals.csv"), func(col map[string]int, row []string) {
		if row[col["lead_id"]] == lead && row[col["is_won"]] == "true" {
			row[col["is_won"]], row[col["is_lost"]], row[col["stage"]] = "false", "true", "closedlost"
			row[col["updated_at"]] = now
		}
	})
	editCSV(t, w.Path("data/crm/leads.csv"), func(col map[string]int, row []string) {
		if row[col["lead_id"]] == lead {
			row[col["lost_at"]], row[col["won_at"]] = row[col["won_at"]], ""
			row[col["lifecycle_stage"]], row[col["updated_at"]] = "opportunity", now
		}
	})
	mustRun(t, w)
	db = w.Open()
	defer db.Close()
	if n := samtest.QueryInt(t, db, `SELECT count(*) FROM activation_events WHERE stage = 'won' AND lead_id = '`+lead+`'`); n != 0 {
		t.Fatalf("the reopened deal's won event is still in activation_events")
	}
	after := samtest.QueryInt(t, db, `SELECT CAST(round(sum(value) * 100) AS BIGINT) FROM activation_coverage WHERE destination = 'ga4' AND stage = 'won' AND status = 'sent'`)
	if after != before || sentValue <= 0 {
		t.Errorf("won value sent to GA4 in coverage (cents): %d before the deal reopened, %d after; the event was sent with %d", before, after, sentValue)
	}
}
