package crm_test

import (
	"context"
	"testing"
	"time"

	"github.com/sam-attribution/sam/loaders/crm"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// The warehouse RowLog keeps what each stream recorded, apart from the
// others, across batches, and a record's last load is the one that counts.
func TestRowLogInWarehouse(t *testing.T) {
	ctx := context.Background()
	db := openDuck(t)
	// A row recorded before rows named their record: a bare hash.
	legacy := record.SourceRow{Key: record.RowKey{9}, Hash: record.RowHash{9}}
	old := []any{"file", "leads", legacy.Hash.String(), "r0", time.Now().UTC().Add(-time.Hour)}
	if err := systables.New(db).Insert(ctx, systables.RowHashes(), [][]any{old}); err != nil {
		t.Fatal(err)
	}
	log := crm.NewRowLog(db)
	l1a := record.SourceRow{Key: record.RowKey{1}, Hash: record.RowHash{0xa}}
	l1b := record.SourceRow{Key: record.RowKey{1}, Hash: record.RowHash{0xb}}
	l2 := record.SourceRow{Key: record.RowKey{2}, Hash: record.RowHash{0xc}}
	d1 := record.SourceRow{Key: record.RowKey{3}, Hash: record.RowHash{0xd}}
	// Two batches of run r1, then r2 changes L1.
	for _, rec := range []struct {
		run  string
		rows []record.SourceRow
	}{{"r1", []record.SourceRow{l1a}}, {"r1", []record.SourceRow{l2}}, {"r2", []record.SourceRow{l1b}}} {
		if err := log.Record(ctx, "file", "leads", rec.run, rec.rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Record(ctx, "file", "deals", "r1", []record.SourceRow{d1}); err != nil {
		t.Fatal(err)
	}
	got, err := log.Loaded(ctx, "file", "leads")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		row  record.SourceRow
		want bool
	}{
		{"L1 as r2 loaded it", l1b, true},
		{"L1 as r1 loaded it, changed since", l1a, false},
		{"L2", l2, true},
		{"a deal's row", d1, false},
		{"the bare hash of an earlier SAM", legacy, true},
	} {
		if got.Loaded(c.row) != c.want {
			t.Errorf("%s: loaded = %v, want %v", c.name, !c.want, c.want)
		}
	}
}
