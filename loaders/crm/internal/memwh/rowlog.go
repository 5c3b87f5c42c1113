package memwh

import (
	"context"
	"sync"

	"github.com/sam-attribution/sam/loaders/crm/record"
)

// RowLog is an in-memory crm.RowLog.
type RowLog struct {
	// Discard keeps no hashes (memory benchmarks: the real log lives in the
	// warehouse, not in the loader's heap).
	Discard bool

	mu sync.Mutex
	m  map[string]record.RowSet
}

// NewRowLog returns an empty log.
func NewRowLog() *RowLog { return &RowLog{m: map[string]record.RowSet{}} }

// Loaded returns a copy of the hashes recorded for source/object.
func (l *RowLog) Loaded(_ context.Context, source, object string) (record.RowSet, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := record.RowSet{}
	for h := range l.m[source+"/"+object] {
		out[h] = struct{}{}
	}
	return out, nil
}

// Record adds hashes.
func (l *RowLog) Record(_ context.Context, source, object, _ string, hashes []record.RowHash) error {
	if l.Discard {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.m[source+"/"+object]
	if set == nil {
		set = record.RowSet{}
		l.m[source+"/"+object] = set
	}
	for _, h := range hashes {
		set[h] = struct{}{}
	}
	return nil
}
