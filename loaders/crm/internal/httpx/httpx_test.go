package httpx

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestWindowHoldsSlotsForAWindowAfterRelease(t *testing.T) {
	l := NewWindow(2, time.Hour)
	ctx := context.Background()
	r1, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("third acquire with both slots in flight: err = %v, want to wait", err)
	}
	r1()
	r1() // releasing twice is harmless
	if _, err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire right after a release: err = %v, want to wait out the window", err)
	}
}

func TestWindowReusesSlotAfterWindow(t *testing.T) {
	l := NewWindow(1, 0) // a zero window frees a slot at release
	r, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
	if _, err := l.Acquire(context.Background()); err != nil {
		t.Fatalf("acquire after the window: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0.25", 250 * time.Millisecond}, {"junk", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
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

func TestDelayBoundsAndRetryAfterFloor(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second, Attempts: 5}
	for attempt := 1; attempt <= 10; attempt++ {
		ceil := min(b.Base<<(attempt-1), b.Max)
		for range 50 {
			if d := b.Delay(attempt, 0); d < 0 || d > ceil {
				t.Fatalf("attempt %d delay %v outside [0, %v]", attempt, d, ceil)
			}
		}
	}
	if d := b.Delay(1, 5*time.Second); d < 5*time.Second || d > 5500*time.Millisecond {
		t.Errorf("delay with Retry-After 5s = %v, want 5s plus at most 10%% jitter", d)
	}
}

func TestDoStopsOnPermanentErrorsAndGivesUp(t *testing.T) {
	b := Backoff{Base: time.Microsecond, Max: time.Microsecond, Attempts: 3}
	perm := errors.New("bad request")
	calls := 0
	err := Do(context.Background(), b, func(context.Context) error { calls++; return perm }, nil)
	if !errors.Is(err, perm) || calls != 1 {
		t.Errorf("permanent error: %d calls, err %v", calls, err)
	}
	calls = 0
	err = Do(context.Background(), b, func(context.Context) error { calls++; return Retryable(errors.New("503"), 0) }, nil)
	if err == nil || calls != 3 {
		t.Errorf("retryable error: %d calls (want 3), err %v", calls, err)
	}
	calls = 0
	err = Do(context.Background(), b, func(context.Context) error {
		if calls++; calls < 3 {
			return Retryable(errors.New("429"), 0)
		}
		return nil
	}, nil)
	if err != nil || calls != 3 {
		t.Errorf("recovering op: %d calls, err %v", calls, err)
	}
}
