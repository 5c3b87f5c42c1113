package activation

import (
	"context"
	"sync"
	"time"
)

// committer groups the ledger writes of concurrent senders into one
// Append: a sender hands over its entries and waits until they are
// durable, while the entries of every sender that arrived meanwhile ride
// along in the next write. This keeps one durable write per request out of
// the throughput without widening the crash window.
type committer struct {
	ledger Ledger
	now    func() time.Time
	off    bool // validate and dry-run modes record nothing

	mu      sync.Mutex
	waiting []commitReq
	writing bool
}

type commitReq struct {
	ctx     context.Context
	entries []Entry
	done    chan error
}

func newCommitter(l Ledger, now func() time.Time) *committer {
	return &committer{ledger: l, now: now}
}

// commit makes entries durable. The first caller to find no write under
// way becomes the writer for everyone waiting.
func (c *committer) commit(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 || c.off {
		return nil
	}
	req := commitReq{ctx: ctx, entries: entries, done: make(chan error, 1)}
	c.mu.Lock()
	c.waiting = append(c.waiting, req)
	if c.writing {
		c.mu.Unlock()
		return <-req.done
	}
	c.writing = true
	for len(c.waiting) > 0 {
		group := c.waiting
		c.waiting = nil
		c.mu.Unlock()
		c.write(group)
		c.mu.Lock()
	}
	c.writing = false
	c.mu.Unlock()
	return <-req.done
}

func (c *committer) write(group []commitReq) {
	var all []Entry
	ctx := context.WithoutCancel(group[0].ctx)
	at := c.now().UTC()
	for _, r := range group {
		for _, e := range r.entries {
			// One stamp per write, with the order of the write preserved
			// by the ledger (intent before outcome across writes).
			e.RecordedAt = at
			all = append(all, e)
		}
	}
	err := c.ledger.Append(ctx, all)
	for _, r := range group {
		r.done <- err
	}
}
