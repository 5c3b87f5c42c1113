package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tests/samtest"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// TestMartsWithin is run.sh's second look at marts whose `sam checksum`
// differs between the daily run's warehouse (SAM_BENCH_DB_A, a copy) and
// the full refresh's (SAM_BENCH_DB_B): it prints, per mart named in
// SAM_BENCH_MARTS, "equal within 1e-9" when only doubles differ, by at most
// that relative amount (sums taken in another order; the checksum rounds
// to 10 significant digits, so a value on a rounding boundary flips it),
// or the first difference. It skips without the variables.
func TestMartsWithin(t *testing.T) {
	pathA, pathB, marts := os.Getenv("SAM_BENCH_DB_A"), os.Getenv("SAM_BENCH_DB_B"), os.Getenv("SAM_BENCH_MARTS")
	if pathA == "" || pathB == "" || marts == "" {
		t.Skip("SAM_BENCH_DB_A, SAM_BENCH_DB_B and SAM_BENCH_MARTS not set")
	}
	ctx := context.Background()
	a, err := duckdb.Open(ctx, pathA, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := duckdb.Open(ctx, pathB, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, m := range strings.Fields(strings.ReplaceAll(marts, ",", " ")) {
		if same, diff := samtest.SameRowsWithin(t, a, b, m, 1e-9); same {
			fmt.Printf("%s: equal within 1e-9\n", m)
		} else {
			fmt.Printf("%s: differ: %s\n", m, strings.Join(strings.Fields(diff), " "))
		}
	}
}
