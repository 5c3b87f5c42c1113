package retry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fixed draws its numbers from a list, in turn, as fractions of the range.
type fixed struct {
	fracs []float64
	i     int
}

func (f *fixed) Int64N(n int64) int64 {
	v := int64(f.fracs[f.i%len(f.fracs)] * float64(n-1))
	f.i++
	return v
}

func TestBackoffIsDecorrelatedJitter(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Cap: 2 * time.Second}
	// The top of every range: min(cap, 3 × previous), from base.
	p.Rand = &fixed{fracs: []float64{1}}
	b := p.Backoff()
	for i, want := range []time.Duration{300, 900, 2000, 2000} {
		if got := b.Next(); got != want*time.Millisecond {
			t.Errorf("wait %d at the top of its range = %v, want %v", i+1, got, want*time.Millisecond)
		}
	}
	// The bottom is always base.
	p.Rand = &fixed{fracs: []float64{0}}
	b = p.Backoff()
	for range 5 {
		if got := b.Next(); got != p.Base {
			t.Fatalf("wait at the bottom of its range = %v, want base %v", got, p.Base)
		}
	}
	// Halfway: each range depends on the wait drawn before it.
	p.Rand = &fixed{fracs: []float64{0.5}}
	b = p.Backoff()
	prev := p.Base
	for range 6 {
		got := b.Next()
		want := min(p.Base+(min(3*prev, p.Cap)-p.Base)/2, p.Cap)
		if d := got - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("after %v: wait %v, want about %v", prev, got, want)
		}
		prev = got
	}
}

func TestBackoffStaysWithinBaseAndCap(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Cap: 500 * time.Millisecond, Rand: NewSource(42)}
	b := p.Backoff()
	prev := p.Base
	for range 1000 {
		d := b.Next()
		if d < p.Base || d > p.Cap || d > 3*prev {
			t.Fatalf("wait %v after %v outside [base %v, min(cap %v, 3×previous)]", d, prev, p.Base, p.Cap)
		}
		prev = d
	}
}

func TestSameSeedSameWaits(t *testing.T) {
	a, b := Policy{Base: time.Millisecond, Cap: time.Second, Rand: NewSource(7)}.Backoff(), Policy{Base: time.Millisecond, Cap: time.Second, Rand: NewSource(7)}.Backoff()
	for range 20 {
		if x, y := a.Next(), b.Next(); x != y {
			t.Fatalf("same seed, different waits: %v and %v", x, y)
		}
	}
}

func recorder(p Policy) (Policy, *[]time.Duration) {
	var waits []time.Duration
	p.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return p, &waits
}

func TestDoStopsOnRefusedErrorsAndGivesUp(t *testing.T) {
	p, waits := recorder(Policy{Attempts: 3, Base: time.Millisecond, Cap: time.Millisecond, Rand: NewSource(1)})
	perm := errors.New("bad request")
	calls := 0
	err := Do(context.Background(), p, func(context.Context) error { calls++; return perm })
	if !errors.Is(err, perm) || calls != 1 || len(*waits) != 0 {
		t.Errorf("unmarked error: %d calls, %d waits, err %v; want 1 call, no wait", calls, len(*waits), err)
	}
	calls = 0
	cause := errors.New("503")
	err = Do(context.Background(), p, func(context.Context) error { calls++; return Mark(cause, 0) })
	if !errors.Is(err, cause) || calls != 3 || len(*waits) != 2 || err.Error() != "503 (attempt 3 of 3)" {
		t.Errorf("marked error: %d calls, %d waits (want 3 and 2), err %v", calls, len(*waits), err)
	}
	calls = 0
	err = Do(context.Background(), p, func(context.Context) error {
		if calls++; calls < 3 {
			return Mark(errors.New("429"), 0)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("recovering call: %d calls, err %v", calls, err)
	}
}

func TestDoHonoursRetryAfterUpToTheCap(t *testing.T) {
	p, waits := recorder(Policy{Attempts: 3, Base: time.Millisecond, Cap: 10 * time.Second, Rand: &fixed{fracs: []float64{0}}})
	afters := []time.Duration{5 * time.Second, time.Hour}
	calls := 0
	_ = Do(context.Background(), p, func(context.Context) error {
		calls++
		if calls > len(afters) {
			return nil
		}
		return Mark(errors.New("429"), afters[calls-1])
	})
	if len(*waits) != 2 || (*waits)[0] != 5*time.Second || (*waits)[1] != 10*time.Second {
		t.Errorf("waits = %v, want [5s 10s]: Retry-After, then capped", *waits)
	}
}

func TestDoUsesThePredicate(t *testing.T) {
	p, _ := recorder(Policy{Attempts: 5, Base: time.Millisecond, Cap: time.Millisecond, Rand: NewSource(1)})
	safe := errors.New("refused")
	p.Retryable = func(err error) (bool, time.Duration) { return errors.Is(err, safe), 0 }
	calls := 0
	err := Do(context.Background(), p, func(context.Context) error {
		if calls++; calls < 3 {
			return safe
		}
		return errors.New("reset after the body was read")
	})
	if calls != 3 || err == nil || errors.Is(err, safe) {
		t.Errorf("%d calls, err %v; want 3 calls ending on the unsafe error", calls, err)
	}
}

func TestDoEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Attempts: 10, Base: time.Hour, Cap: time.Hour, Rand: NewSource(1)}
	calls := 0
	start := time.Now()
	err := Do(ctx, p, func(context.Context) error {
		calls++
		cancel()
		return Mark(errors.New("503"), 0)
	})
	if calls != 1 || !errors.Is(err, context.Canceled) || time.Since(start) > time.Minute {
		t.Errorf("%d calls, err %v; want one call and the context's error", calls, err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := Wait(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want canceled", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0.25", 250 * time.Millisecond}, {"junk", 0}, {"-5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-90 * time.Second).Format(http.TimeFormat), 0},
		{"99999999999999999999", 1 << 62},
	} {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		if got := RetryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestInFlightOutlivesTheStopByTheGrace(t *testing.T) {
	run, stop := context.WithCancel(context.Background())
	attempt, cancel := InFlight(run, time.Hour, 20*time.Millisecond)
	defer cancel()
	stop()
	if err := attempt.Err(); err != nil {
		t.Fatalf("the attempt ended with the run: %v", err)
	}
	<-attempt.Done()
	if !errors.Is(attempt.Err(), context.Canceled) || !strings.Contains(context.Cause(attempt).Error(), "did not finish within 20ms") {
		t.Errorf("err %v, cause %v", attempt.Err(), context.Cause(attempt))
	}
}

func TestInFlightEndsAtItsTimeout(t *testing.T) {
	attempt, cancel := InFlight(context.Background(), 10*time.Millisecond, time.Hour)
	defer cancel()
	<-attempt.Done()
	if !errors.Is(attempt.Err(), context.DeadlineExceeded) {
		t.Errorf("err %v, want the deadline", attempt.Err())
	}
}

func TestInFlightOfAStoppedRunHasEnded(t *testing.T) {
	run, stop := context.WithCancelCause(context.Background())
	stop(errors.New("SIGTERM"))
	attempt, cancel := InFlight(run, time.Hour, time.Hour)
	defer cancel()
	if attempt.Err() == nil || context.Cause(attempt).Error() != "SIGTERM" {
		t.Errorf("err %v, cause %v: an attempt must not start once the run is stopped", attempt.Err(), context.Cause(attempt))
	}
}

func TestInFlightCancelEndsIt(t *testing.T) {
	attempt, cancel := InFlight(context.Background(), time.Hour, time.Hour)
	cancel()
	cancel() // a second call does nothing
	if attempt.Err() == nil {
		t.Error("the attempt did not end with its cancel")
	}
}
