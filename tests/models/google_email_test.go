package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/activation/identity"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// The google_email macro (what stg_crm__leads hashes for Google Ads) and
// activation/identity's GoogleEmail follow the same published rules: both
// must give the hash Google publishes for its example, and agree on every
// other address, invalid ones included (NULL in SQL, an error in Go).
func TestGoogleEmailMacroGivesGooglesHashes(t *testing.T) {
	// Google's published example (the official data-manager-python client's
	// tests): alexz@example.com hashes to 509e93….
	const publishedHash = "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"
	inputs := []string{
		"alexz@example.com", "  AlexZ@Example.com ",
		"cloudy.sanfrancisco+shopping@gmail.com", "Jefferson.Loves.hiking@gmail.com",
		"jane.doe+news@googlemail.com", "jane.doe+news@example.com",
		"no-at-sign", "two@@example.com", "a b@example.com", "",
	}
	var values []string
	for _, in := range inputs {
		values = append(values, "("+duckdb.Dialect{}.StringLiteral(in)+")")
	}
	q := renderWithMacros(t, `SELECT e, {{ sha256_hex (macro "google_email" "e") }} FROM (VALUES `+strings.Join(values, ", ")+`) AS t(e)`)
	rows, err := openDuck(t).Query(context.Background(), q)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, q)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, r := range data {
		got[r[0].(string)] = r[1]
	}
	if got["alexz@example.com"] != publishedHash || got["  AlexZ@Example.com "] != publishedHash {
		t.Errorf("published example: %v and %v, want %s", got["alexz@example.com"], got["  AlexZ@Example.com "], publishedHash)
	}
	for _, in := range inputs {
		want, err := identity.HashGoogleEmail(in)
		var wantSQL any = want
		if err != nil {
			wantSQL = nil
		}
		if fmt.Sprint(got[in]) != fmt.Sprint(wantSQL) {
			t.Errorf("%q: SQL %v, Go %v (%v)", in, got[in], wantSQL, err)
		}
	}
}
