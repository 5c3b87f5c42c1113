package activation_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// eventsTable is a one-event activation_events; extra adds columns.
func eventsTable(extra string) string {
	return `CREATE OR REPLACE TABLE activation_events AS SELECT
  'k1' AS event_key, 'L9' AS lead_id, 'won' AS stage, TIMESTAMP '2026-12-01 10:00:00' AS event_at,
  TIMESTAMP '2026-11-01 10:00:00' AS lead_created_at, 1200.0 AS value, 'USD' AS currency, 'actual' AS value_kind,
  CAST(NULL AS VARCHAR) AS reason, '123.456' AS client_key, CAST(NULL AS BIGINT) AS ga_session_id,
  CAST(NULL AS TIMESTAMP) AS last_session_at, CAST(NULL AS VARCHAR) AS gclid, CAST(NULL AS TIMESTAMP) AS click_at,
  CAST(NULL AS VARCHAR) AS meta_lead_id, CAST(NULL AS VARCHAR) AS li_fat_id, CAST(NULL AS VARCHAR) AS email_sha256,
  CAST(NULL AS VARCHAR) AS email_sha256_google, 'granted' AS ad_consent, CAST(NULL AS VARCHAR) AS gbraid,
  CAST(NULL AS VARCHAR) AS wbraid` + extra
}

// The runner reads the leads merged into each event's lead from
// activation_events.former_lead_ids. A table built before that column was
// added (the hourly writeback job before the first transform after an
// upgrade) is still read, without them, instead of failing every run.
func TestEventsReadFormerLeadsAndTheTableBeforeThem(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	read := func() []activation.Event {
		t.Helper()
		var out []activation.Event
		if err := (activation.WarehouseEvents{WH: db}).ForEach(ctx, func(e activation.Event) error {
			out = append(out, e)
			return nil
		}); err != nil {
			t.Fatalf("read activation_events: %v", err)
		}
		return out
	}
	if _, err := db.Exec(ctx, eventsTable(", 'L2,L7' AS former_lead_ids")); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 1 || !slices.Equal(got[0].FormerLeadIDs, []string{"L2", "L7"}) {
		t.Errorf("events %+v, want one with former leads L2 and L7", got)
	}
	if _, err := db.Exec(ctx, eventsTable("")); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 1 || got[0].LeadID != "L9" || len(got[0].FormerLeadIDs) != 0 {
		t.Errorf("events of the table before former_lead_ids %+v, want one, of L9, without former leads", got)
	}
}
