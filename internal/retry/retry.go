// Package retry owns how SAM retries a failed call: a bounded number of
// attempts, waits drawn by decorrelated jitter, a server's Retry-After
// honoured up to a cap, waits that end with the context, and a predicate,
// chosen by the caller, that decides which failures are safe to try again;
// and how long an attempt already under way may finish once its run is
// stopped (InFlight).
// Whether a failure is safe is the caller's knowledge (a GET may be
// repeated, a POST that may have reached a server without deduplication may
// not), so this package never guesses it.
//
// It imports only the standard library; loaders, the writer and the
// warehouse engines import it.
package retry

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy bounds the retries of one call.
type Policy struct {
	// Attempts is how many times the call is made in all, the first
	// included; less than one means one.
	Attempts int
	// Base is the shortest wait and the seed of the jitter; Cap the
	// longest wait, a server's Retry-After included.
	Base, Cap time.Duration
	// Rand draws the jitter. Nil uses a source seeded from crypto/rand.
	Rand Source
	// Sleep waits between attempts; nil is Wait. Tests replace it to
	// record the waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Retryable decides whether a failure is safe to try again and how
	// long the server asked to be left alone. Nil retries only errors
	// marked with Mark.
	Retryable func(err error) (retry bool, after time.Duration)
	// OnRetry, if set, is told about each retry before its wait.
	OnRetry func(attempt int, wait time.Duration, err error)
}

// Source is a source of random numbers; *math/rand/v2.Rand is one, but
// it is not safe for concurrent use: NewSource's is.
type Source interface {
	Int64N(n int64) int64
}

type lockedSource struct {
	mu sync.Mutex
	r  *mrand.Rand
}

func (s *lockedSource) Int64N(n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Int64N(n)
}

// NewSource returns a source, safe for concurrent use, that draws the same
// numbers for the same seed.
func NewSource(seed uint64) Source {
	return &lockedSource{r: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// RandomSource returns a source seeded from crypto/rand, so that clients
// started at the same moment do not retry in step.
func RandomSource() Source {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return NewSource(binary.LittleEndian.Uint64(b[:]))
}

// Backoff draws successive waits by decorrelated jitter, as defined in the
// AWS Architecture Blog's "Exponential Backoff And Jitter" (2015): each
// wait is min(Cap, a uniform draw between Base and three times the
// previous wait), the first drawn as if the previous were Base. Waits grow
// about as fast as plain exponential backoff but stay spread out.
type Backoff struct {
	base, cap, prev time.Duration
	rand            Source
}

// Backoff starts a sequence of waits under p.
func (p Policy) Backoff() *Backoff {
	p = p.normal()
	return &Backoff{base: p.Base, cap: p.Cap, prev: p.Base, rand: p.Rand}
}

// Next returns the next wait.
func (b *Backoff) Next() time.Duration {
	hi := min(3*b.prev, b.cap)
	d := b.base
	if hi > b.base {
		d += time.Duration(b.rand.Int64N(int64(hi-b.base) + 1))
	}
	b.prev = d
	return d
}

func (p Policy) normal() Policy {
	if p.Attempts < 1 {
		p.Attempts = 1
	}
	if p.Base <= 0 {
		p.Base = time.Millisecond
	}
	if p.Cap < p.Base {
		p.Cap = p.Base
	}
	if p.Rand == nil {
		p.Rand = RandomSource()
	}
	if p.Sleep == nil {
		p.Sleep = Wait
	}
	if p.Retryable == nil {
		p.Retryable = Marked
	}
	return p
}

// Do calls op until it succeeds, fails in a way p.Retryable refuses, the
// attempts run out, or ctx ends. The error is op's last, which says how
// many attempts were made when there was more than one.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	p = p.normal()
	b := p.Backoff()
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return err
			}
			return fmt.Errorf("%w (after: %w)", cerr, err)
		}
		retry, after := p.Retryable(err)
		if !retry || attempt >= p.Attempts {
			if attempt > 1 {
				return fmt.Errorf("%w (attempt %d of %d)", err, attempt, p.Attempts)
			}
			return err
		}
		wait := max(b.Next(), min(after, p.Cap))
		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, err)
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (while retrying: %w)", serr, err)
		}
	}
}

// Wait waits for d or until ctx ends, whichever is first, and returns
// ctx's error in the second case.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Error marks a failure as safe to retry; After is how long the server
// asked to wait (its Retry-After), or zero.
type Error struct {
	Err   error
	After time.Duration
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Mark marks err as safe to retry after at least after.
func Mark(err error, after time.Duration) error { return &Error{Err: err, After: after} }

// Marked is the default predicate: errors marked with Mark are retried.
func Marked(err error) (bool, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return true, e.After
	}
	return false, 0
}

// RetryAfter reads a Retry-After header, delta-seconds or an HTTP-date
// (RFC 9110 section 10.2.3), relative to now. It is zero when absent,
// unreadable or in the past; the caller's Policy.Cap bounds it.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	// Fractions are not in the RFC; some servers send them anyway.
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case s <= 0:
			return 0
		case s > float64(1<<62)/float64(time.Second):
			return 1 << 62 // longer than any cap
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TransientStatus reports whether an HTTP status says a later attempt may
// succeed: 408, 429 and 5xx. Only a request that may be repeated without
// harm should be retried on it.
func TransientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// DefaultStopGrace is how long a request already under way may finish
// after the run is told to stop. Cloud Run stops a container with SIGTERM
// and sends SIGKILL 10 s later (its container runtime contract, "instance
// shutdown"; a job's task is stopped so at its timeout or a cancel); the
// other half is left for writing the outcome down.
const DefaultStopGrace = 5 * time.Second

// InFlight returns the context for one attempt that is about to be made:
// it ends timeout after it starts, or grace after ctx ends, whichever
// comes first, and when the returned cancel is called. Cutting a POST the
// server may already have read leaves its outcome unknown; letting it
// finish within the grace makes it known. Whether to start an attempt at
// all is still ctx's to say: an ended ctx gives an ended context.
func InFlight(ctx context.Context, timeout, grace time.Duration) (context.Context, context.CancelFunc) {
	detached, cancelCause := context.WithCancelCause(context.WithoutCancel(ctx))
	attempt, cancelTimeout := context.WithTimeout(detached, timeout)
	if ctx.Err() != nil {
		cancelCause(context.Cause(ctx))
		return attempt, func() { cancelTimeout() }
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			cancelCause(fmt.Errorf("%w, and the request under way did not finish within %v", context.Cause(ctx), grace))
		}
	}()
	return attempt, sync.OnceFunc(func() {
		close(done)
		cancelTimeout()
		cancelCause(context.Canceled)
	})
}
