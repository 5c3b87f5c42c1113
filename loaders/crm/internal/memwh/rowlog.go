package memwh

import (
	"context"
	"sync"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// RowLog is an in-memory crm.RowLog.
type RowLog struct {
	// Discard keeps no rows (memory benchmarks: the real log lives in the
	// warehouse, not in the loader's heap).
	Discard bool

	mu sync.Mutex
	m  map[string][]recorded
}

type recorded struct {
	runID string
	rows  []record.SourceRow
}

// NewRowLog returns an empty log.
func NewRowLog() *RowLog { return &RowLog{m: map[string][]recorded{}} }

// Loaded returns what was recorded for source/object, in the order it was.
func (l *RowLog) Loaded(_ context.Context, source, object string) (*record.LoadedRows, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := record.NewLoadedRows()
	for _, r := range l.m[source+"/"+object] {
		out.Add(r.runID, r.rows)
	}
	return out, nil
}

// Record adds rows.
func (l *RowLog) Record(_ context.Context, source, object, runID string, rows []record.SourceRow) error {
	if l.Discard {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := source + "/" + object
	l.m[k] = append(l.m[k], recorded{runID: runID, rows: append([]record.SourceRow(nil), rows...)})
	return nil
}
