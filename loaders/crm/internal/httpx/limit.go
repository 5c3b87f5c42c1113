// Package httpx owns the rate limiter the CRM API clients share: a
// rolling-window limiter that never lets the server see more than N
// requests in any window, however long each request takes. Retries are
// internal/retry's; DefaultRetry is the CRM clients' policy. It imports
// only the standard library and internal/retry.
//
// golang.org/x/time/rate (the writer's limiter) is a token bucket: it
// spaces the moments requests leave, but a server counts the moments they
// arrive, and a request is somewhere between leaving and its answer. N
// requests in flight and N more sent a window later can all arrive within
// one window of the server's. Window frees a slot only a window after its
// answer, which no token bucket can express, so HubSpot's rolling
// ten-second limit is never exceeded.
package httpx

import (
	"context"
	"sync"
	"time"

	"github.com/sam-attribution/sam/internal/retry"
)

// DefaultRetry is how the CRM clients retry by default: every GET or
// search may be repeated, so up to 12 attempts, waits from 500ms to 30s.
func DefaultRetry() retry.Policy {
	return retry.Policy{Attempts: 12, Base: 500 * time.Millisecond, Cap: 30 * time.Second}
}

// Window limits requests to N per rolling window W, as the server counts
// them. A slot is taken when a request starts and becomes free again W after
// the response has arrived: the server saw the request somewhere between the
// two, so two requests N apart are always received at least W apart, whatever
// the latency. A request that got no answer (cancelled, timed out, its
// connection lost) may still reach the server after the client gave up, so
// its slot is free only 2W later: a request still on its way a window
// after its client stopped waiting is not expected.
type Window struct {
	n      int
	w      time.Duration
	mu     sync.Mutex
	free   []time.Time // when each slot may be reused; zero = now
	inUse  []bool
	change chan struct{} // closed and replaced when a slot is released
}

// NewWindow returns a limiter of n requests per rolling w.
func NewWindow(n int, w time.Duration) *Window {
	if n < 1 {
		n = 1
	}
	return &Window{n: n, w: w, free: make([]time.Time, n), inUse: make([]bool, n), change: make(chan struct{})}
}

// Ceiling is the most requests per second the limiter allows.
func (l *Window) Ceiling() float64 { return float64(l.n) / l.w.Seconds() }

// Acquire waits for a slot. The caller must call the returned release
// when the response has arrived (answered), or the request ended without
// one.
func (l *Window) Acquire(ctx context.Context) (release func(answered bool), err error) {
	for {
		l.mu.Lock()
		now := time.Now()
		best := -1
		var earliest time.Time
		for i := range l.free {
			if l.inUse[i] {
				continue
			}
			if best < 0 || l.free[i].Before(earliest) {
				best, earliest = i, l.free[i]
			}
		}
		if best >= 0 && !earliest.After(now) {
			l.inUse[best] = true
			l.mu.Unlock()
			var once sync.Once
			return func(answered bool) { once.Do(func() { l.release(best, answered) }) }, nil
		}
		changed := l.change
		l.mu.Unlock()

		var timer <-chan time.Time
		var t *time.Timer
		if best >= 0 {
			t = time.NewTimer(earliest.Sub(now))
			timer = t.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-changed:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

func (l *Window) release(i int, answered bool) {
	hold := l.w
	if !answered {
		hold = 2 * l.w
	}
	l.mu.Lock()
	l.inUse[i] = false
	l.free[i] = time.Now().Add(hold)
	close(l.change)
	l.change = make(chan struct{})
	l.mu.Unlock()
}

// Acquire takes a slot from every limiter, in order, and returns one release
// for all of them.
func Acquire(ctx context.Context, ls ...*Window) (func(answered bool), error) {
	var rels []func(bool)
	releaseAll := func(answered bool) {
		for _, r := range rels {
			r(answered)
		}
	}
	for _, l := range ls {
		if l == nil {
			continue
		}
		r, err := l.Acquire(ctx)
		if err != nil {
			releaseAll(true) // nothing was sent
			return nil, err
		}
		rels = append(rels, r)
	}
	return releaseAll, nil
}
