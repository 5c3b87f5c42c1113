package duckdb

import (
	"errors"
	"fmt"
	"testing"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

// After a fatal or an internal error DuckDB invalidates the database and
// answers every later statement with "FATAL Error: database has been
// invalidated"; the engine says so with warehouse.ErrUnusable, keeping
// DuckDB's message. (A 10M-event transform on DuckDB 1.4.3 hit an internal
// error in a hash aggregate and then failed 35 more models one by one.) A
// statement out of the memory limit matches ErrOutOfMemory, for the caller
// to say which setting raises the limit.
func TestErrorsSayWhatFailed(t *testing.T) {
	for _, tc := range []struct {
		err                   error
		unusable, outOfMemory bool
	}{
		{&duckdbdrv.Error{Type: duckdbdrv.ErrorTypeInternal, Msg: "INTERNAL Error: Attempted to dereference unique_ptr that is NULL!"}, true, false},
		{fmt.Errorf("duckdb: exec: %w", &duckdbdrv.Error{Type: duckdbdrv.ErrorTypeFatal, Msg: "FATAL Error: database has been invalidated"}), true, false},
		{fmt.Errorf("duckdb: exec: %w", &duckdbdrv.Error{Type: duckdbdrv.ErrorTypeCatalog, Msg: "Catalog Error: Table with name x does not exist!"}), false, false},
		{fmt.Errorf("duckdb: exec: %w", &duckdbdrv.Error{Type: duckdbdrv.ErrorTypeOutOfMemory, Msg: "Out of Memory Error: failed to allocate"}), false, true},
		{errors.New("duckdb: exec: the statement has more ? placeholders than the 0 arguments given"), false, false},
	} {
		got := classify(tc.err)
		if errors.Is(got, warehouse.ErrUnusable) != tc.unusable {
			t.Errorf("%v: unusable = %v, want %v", tc.err, !tc.unusable, tc.unusable)
		}
		if errors.Is(got, ErrOutOfMemory) != tc.outOfMemory {
			t.Errorf("%v: out of memory = %v, want %v", tc.err, !tc.outOfMemory, tc.outOfMemory)
		}
		if got.Error() != tc.err.Error() {
			t.Errorf("message changed: %q, want %q", got, tc.err)
		}
		var de *duckdbdrv.Error
		if errors.As(tc.err, &de) && !errors.As(got, &de) {
			t.Errorf("%v: DuckDB's error no longer reachable", tc.err)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}
