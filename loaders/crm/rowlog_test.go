package crm_test

import (
	"context"
	"testing"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// The warehouse RowLog keeps what each stream recorded, apart from the
// others, across batches.
func TestRowLogInWarehouse(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := systables.New(db).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	log := crm.NewRowLog(db)
	a, b, c := record.RowHash{1}, record.RowHash{2}, record.RowHash{3}
	for _, batch := range [][]record.RowHash{{a}, {b}} {
		if err := log.Record(ctx, "file", "leads", "r1", batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Record(ctx, "file", "deals", "r1", []record.RowHash{c}); err != nil {
		t.Fatal(err)
	}
	got, err := log.Loaded(ctx, "file", "leads")
	if err != nil {
		t.Fatal(err)
	}
	_, hasA := got[a]
	_, hasB := got[b]
	_, hasC := got[c]
	if len(got) != 2 || !hasA || !hasB || hasC {
		t.Errorf("leads hashes = %v, want a and b", got)
	}
}
