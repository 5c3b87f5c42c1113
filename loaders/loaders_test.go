package loaders_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// TestRejectsHoldNoPersonalData is issue 15 item 15: raw personal data lives
// only in the CRM tables, so a CRM row rejected for its amount keeps neither
// the email nor the phone number in load_rejects, in its raw text or its
// reason, while the reason still says what was wrong.
func TestRejectsHoldNoPersonalData(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, "", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rejects := []loaders.Reject{
		{
			Source: "file", Object: "leads.csv",
			Reason: `line 4: amount "1e30" is out of range (lead L-1004, alice.smith+crm@example.co.uk)`,
			Raw:    `L-1004,Alice Smith,alice.smith+crm@example.co.uk,+1 (415) 555-0134,2026-11-03T10:15:00Z,1e30,USD,123456789.1700000000`,
		},
		{
			Source: "hubspot", Object: "contacts",
			Reason: "phone 07700 900123 is not a lead",
			Raw:    `{"id":"51","properties":{"email":"BOB@Example.com","phone":"07700 900123","mobilephone":"4155550172","amount":"12500.50","createdate":"1762128000000"}}`,
		},
	}
	if err := loaders.WriteRejects(ctx, db, "run-1", rejects); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, "SELECT reason, raw FROM "+db.QualifiedName(loaders.RejectsTable)+" ORDER BY source")
	if err != nil {
		t.Fatal(err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range all {
		got = append(got, v[0].(string), v[1].(string))
	}
	if len(got) != 4 {
		t.Fatalf("load_rejects holds %q, want 2 rows", got)
	}
	text := strings.Join(got, "\n")
	for _, pd := range []string{"alice.smith", "example.co.uk", "555-0134", "415", "BOB@", "Example.com", "900123", "4155550172"} {
		if strings.Contains(text, pd) {
			t.Errorf("load_rejects contains personal data %q:\n%s", pd, text)
		}
	}
	// What was wrong, and what identifies the row, survives.
	for _, keep := range []string{`line 4: amount "1e30" is out of range (lead L-1004, `, "L-1004", "1e30", "2026-11-03T10:15:00Z", "123456789.1700000000", `"id":"51"`, "12500.50", "1762128000000", "is not a lead"} {
		if !strings.Contains(text, keep) {
			t.Errorf("load_rejects lost %q:\n%s", keep, text)
		}
	}
}
