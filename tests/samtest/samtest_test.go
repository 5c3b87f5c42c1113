package samtest

import (
	"context"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/warehouse/duckdb"
)

func TestSameRowsWithin(t *testing.T) {
	open := func(rows string) *duckdb.DB {
		t.Helper()
		db, err := duckdb.Open(context.Background(), "", duckdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec(context.Background(), "CREATE TABLE m AS SELECT * FROM (VALUES "+rows+") AS v(channel, leads, cost)"); err != nil {
			t.Fatal(err)
		}
		return db
	}
	// 20.768780935 rounds to 10 significant digits either way with its last
	// bits: the case `sam checksum` cannot tell from a real difference.
	base := open("('Display', 2, 20.768780935::DOUBLE), ('Email', 1, NULL::DOUBLE)")
	for _, tt := range []struct {
		name, rows string
		same       bool
		why        string
	}{
		{"last bits of a double", "('Email', 1, NULL::DOUBLE), ('Display', 2, 20.768780935000004::DOUBLE)", true, ""},
		{"a double beyond the tolerance", "('Display', 2, 20.7688::DOUBLE), ('Email', 1, NULL::DOUBLE)", false, "doubles"},
		{"a NULL against a value", "('Display', 2, 20.768780935::DOUBLE), ('Email', 1, 0::DOUBLE)", false, "doubles"},
		{"another column", "('Display', 3, 20.768780935::DOUBLE), ('Email', 1, NULL::DOUBLE)", false, "rows"},
		{"a row missing", "('Display', 2, 20.768780935::DOUBLE)", false, "rows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			same, why := SameRowsWithin(t, base, open(tt.rows), "m", 1e-9)
			if same != tt.same || !strings.Contains(why, tt.why) {
				t.Errorf("same %v (%q), want %v naming %q", same, why, tt.same, tt.why)
			}
		})
	}
}
