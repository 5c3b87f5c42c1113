package activation

import (
	"context"
	"sync"
)

// MemoryLedger is a Ledger held in memory, for tests and dry runs.
type MemoryLedger struct {
	mu      sync.Mutex
	entries []Entry
	// FailAppend, when set, is returned by Append (tests of a broken ledger).
	FailAppend error
}

// States implements Ledger.
func (m *MemoryLedger) States(_ context.Context, destination string) (map[string]KeyState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]KeyState{}
	for _, e := range m.entries {
		if e.Destination == destination {
			out[e.Key] = out[e.Key].Fold(e)
		}
	}
	return out, nil
}

// Append implements Ledger.
func (m *MemoryLedger) Append(_ context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailAppend != nil {
		return m.FailAppend
	}
	m.entries = append(m.entries, entries...)
	return nil
}

// Entries returns a copy of everything appended.
func (m *MemoryLedger) Entries() []Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Entry(nil), m.entries...)
}

// SliceEvents is an EventSource over events held in memory, already in
// the order the runner expects.
type SliceEvents []Event

// ForEach implements EventSource.
func (s SliceEvents) ForEach(ctx context.Context, fn func(Event) error) error {
	for _, e := range s {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
