// Package simcore owns what every destination simulator under tests/
// shares: request numbering, fault injection, the rate ceiling, per-key
// dedup counts, the judged records and their NDJSON file, and the listener's
// life. A simulator embeds *Core in its Server, so the methods that tests
// and `sam run` call (InjectNth, SetLimit, Stats, Close, …) are the
// Server's own, and adds only what its vendor decides: how a request is
// judged and how "slow down" and "server error" are said.
//
// It imports only the standard library and internal/journal (its file), as
// the simulators do: they judge SAM's clients by the vendors' published
// contracts, so they must share no code with what they judge, and any test
// may import them without pulling in a dependency.
package simcore

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/journal"
)

// Record is one event as a simulator judged it, and one NDJSON line of its
// file.
type Record struct {
	ReceivedAt time.Time       `json:"received_at"`
	Key        string          `json:"key,omitempty"`
	Effect     bool            `json:"effect"`
	Reason     string          `json:"reason,omitempty"`
	Event      json.RawMessage `json:"event,omitempty"`
}

// KeyStats counts one dedup key: how often it arrived and how often it took
// business effect (was counted by the destination).
type KeyStats struct {
	Received  int `json:"received"`
	Effective int `json:"effective"`
}

// Stats summarises what a simulator has seen since it was created,
// including records reloaded from its file.
type Stats struct {
	Requests      int      `json:"requests"`       // ingestion requests read
	Rejected      int      `json:"rejected"`       // requests refused whole by validation
	Throttled     int      `json:"throttled"`      // requests refused by the rate ceiling
	Injected      int      `json:"injected"`       // requests that met an injected fault
	Events        int      `json:"events"`         // events in processed requests (per destination)
	Effects       int      `json:"effects"`        // events that took business effect
	Keyless       int      `json:"keyless"`        // events without a dedup key
	Keys          int      `json:"keys"`           // distinct dedup keys
	Duplicates    []string `json:"duplicates"`     // keys received more than once, sorted
	DoubleEffects []string `json:"double_effects"` // keys that took effect more than once, sorted
}

// Core is the shared part of a simulator. It is safe for concurrent use.
type Core struct {
	mu        sync.Mutex
	keys      map[string]KeyStats
	effectAt  map[string]time.Time // when each key last took effect
	records   []Record
	keepAll   bool
	stats     Stats
	nth       map[int]Fault
	fractions []fractionRule
	ceiling   Bucket
	now       func() time.Time
	journal   *journal.Journal // nil without a file
	srv       *http.Server
	ln        net.Listener
	serveErr  chan error
	stop      func() bool
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns a core with the rate ceiling lim. When path is not empty,
// the records of an earlier process are reloaded from the NDJSON file at
// path and new ones are appended to it.
func New(lim Limit, path string) (*Core, error) {
	c := &Core{keys: map[string]KeyStats{}, effectAt: map[string]time.Time{}, keepAll: true, nth: map[int]Fault{},
		ceiling: NewBucket(lim), now: time.Now, closing: make(chan struct{})}
	j, err := journal.Open(path, func(_ int, b []byte) error {
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		c.record(rec, false)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.journal = j
	return c, nil
}

// InjectNth makes the n-th ingestion request (counted from 1 since the
// simulator was created) meet fault f.
func (c *Core) InjectNth(n int, f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nth[n] = f.withDefaults()
}

// InjectFraction makes a deterministic fraction p of ingestion requests
// meet fault f: request n is chosen when a hash of (seed, n) falls below p,
// so the same seed picks the same request numbers in every run.
func (c *Core) InjectFraction(p float64, seed uint64, f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fractions = append(c.fractions, fractionRule{p: p, seed: seed, f: f.withDefaults()})
}

// ClearFaults removes every injected fault.
func (c *Core) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nth = map[int]Fault{}
	c.fractions = nil
}

// SetLimit replaces the rate ceiling.
func (c *Core) SetLimit(l Limit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ceiling = NewBucket(l)
}

// SetClock replaces the simulator's clock (windows, rate ceiling, dedup
// windows), for tests with fixed clocks.
func (c *Core) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// Now reads the simulator's clock.
func (c *Core) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

// KeepRecords says whether every judged event is kept in memory for
// Records (default true). Benchmarks turn it off; counts are always kept.
func (c *Core) KeepRecords(keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepAll = keep
}

// Key returns the counts of one dedup key.
func (c *Core) Key(k string) KeyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[k]
}

// Keys returns a copy of the per-key counts.
func (c *Core) Keys() map[string]KeyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]KeyStats, len(c.keys))
	for k, v := range c.keys {
		out[k] = v
	}
	return out
}

// Records returns a copy of the judged events in arrival order.
func (c *Core) Records() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.records...)
}

// Stats returns the current statistics.
func (c *Core) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Keys = len(c.keys)
	st.Duplicates, st.DoubleEffects = []string{}, []string{}
	for k, n := range c.keys {
		if n.Received > 1 {
			st.Duplicates = append(st.Duplicates, k)
		}
		if n.Effective > 1 {
			st.DoubleEffects = append(st.DoubleEffects, k)
		}
	}
	sort.Strings(st.Duplicates)
	sort.Strings(st.DoubleEffects)
	return st
}

// CountRejected counts a request that validation refused whole.
func (c *Core) CountRejected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Rejected++
}

// CountThrottled counts a request that a ceiling of the simulator's own
// (not the one SetLimit sets) refused.
func (c *Core) CountThrottled() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Throttled++
}

// Ledger is the book of judged events as Update lends it to a simulator;
// it is valid only during that call.
type Ledger struct {
	c *Core
}

// Key returns the counts of one dedup key so far.
func (l *Ledger) Key(k string) KeyStats {
	return l.c.keys[k]
}

// LastEffect returns when key last took effect (its record's ReceivedAt),
// for simulators whose dedup window runs from the last effect.
func (l *Ledger) LastEffect(k string) (time.Time, bool) {
	at, ok := l.c.effectAt[k]
	return at, ok
}

// Record counts one judged event and appends it to the file.
func (l *Ledger) Record(r Record) {
	l.c.record(r, true)
}

// Update runs fn with the ledger held, so that a simulator judges a whole
// request against the counts as they stand, then writes the file out: a
// simulator that lost what it acknowledged would make crash tests
// meaningless. State of the simulator's own that fn touches is guarded too.
func (c *Core) Update(fn func(*Ledger)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(&Ledger{c: c})
	c.journal.Flush()
}

// record counts one judged event and, when persist is set, appends it to
// the file; the caller holds mu (or is reloading).
func (c *Core) record(r Record, persist bool) {
	c.stats.Events++
	if r.Effect {
		c.stats.Effects++
	}
	if r.Key == "" {
		c.stats.Keyless++
	} else {
		ks := c.keys[r.Key]
		ks.Received++
		if r.Effect {
			ks.Effective++
			c.effectAt[r.Key] = r.ReceivedAt
		}
		c.keys[r.Key] = ks
	}
	if c.keepAll {
		c.records = append(c.records, r)
	}
	if persist {
		c.journal.Append(r)
	}
}
