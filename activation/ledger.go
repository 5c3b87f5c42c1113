package activation

import (
	"context"
	"time"
)

// Entry is one ledger row.
type Entry struct {
	Destination string
	Key         string
	LeadID      string
	Stage       string
	EventName   string
	ClientKey   string
	Status      Status
	Detail      string
	Value       float64
	Currency    string
	ValueKind   string
	EventAt     time.Time
	RunID       string
	RecordedAt  time.Time
}

// Ledger stores entries. Append returns once the entries are durable.
type Ledger interface {
	// States returns the folded state of every key recorded for destination.
	States(ctx context.Context, destination string) (map[string]KeyState, error)
	Append(ctx context.Context, entries []Entry) error
}

// KeyState is a key's history folded into what the runner decides on.
type KeyState struct {
	// Last is the newest status other than intent.
	Last Status
	// LastDetail goes with Last (skip statuses are re-recorded only when
	// status or detail change).
	LastDetail string
	// Open is true while an intent has no outcome that settles it: the
	// request may have reached the destination (a crash between intent and
	// outcome, or an unknown outcome) and no operator has released it.
	Open bool
	// LastIntent is when the newest intent was recorded.
	LastIntent time.Time
	// LeadID and Stage are the key's lead and stage event.
	LeadID, Stage string
}

// mayHaveReached reports whether the key's event took, or may have taken,
// effect at the destination.
func (s KeyState) mayHaveReached() bool {
	return s.Open || s.Last == StatusSent || s.Last == StatusAccepted
}

// Done reports whether the key needs nothing more.
func (s KeyState) Done() bool { return s.Last.done() }

// Fold applies one entry (entries arrive in recording order).
func (s KeyState) Fold(e Entry) KeyState {
	if s.LeadID == "" {
		s.LeadID, s.Stage = e.LeadID, e.Stage
	}
	switch e.Status {
	case StatusIntent:
		s.Open, s.LastIntent = true, e.RecordedAt
		return s
	case StatusUnknown:
		s.Open = true
	case StatusReleased, StatusFailed, StatusSent, StatusAccepted, StatusRejected:
		s.Open = false
	}
	s.Last, s.LastDetail = e.Status, e.Detail
	return s
}
