package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
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
	r1(true)
	r1(true) // releasing twice is harmless
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
	r(true)
	if _, err := l.Acquire(context.Background()); err != nil {
		t.Fatalf("acquire after the window: %v", err)
	}
}

// A request the client gave up on (cancelled, timed out) may still reach
// the server after the client released its slot: the server counts it
// when it arrives, not when the client stopped waiting. HubSpot's
// simulator saw its rolling limit exceeded once in TestCrashResume, whose
// crash cancels the requests in flight. Here the cancelled request is
// counted 100 ms after the client gave up; the next request on its slot
// must still arrive a window after it.
func TestAnUnansweredRequestHoldsItsSlotLonger(t *testing.T) {
	const window = 500 * time.Millisecond
	entered, gaveUp := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			close(entered)
			<-gaveUp
			time.Sleep(100 * time.Millisecond)
		}
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()

	l := NewWindow(1, window)
	ctx, cancel := context.WithCancel(t.Context())
	release, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-entered; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/late", nil)
	if _, err := srv.Client().Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("the first request: %v, want it cancelled", err)
	}
	release(false)
	close(gaveUp)

	release, err = l.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Get(srv.URL + "/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	release(true)

	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 2 {
		t.Fatalf("the server counted %d requests, want 2", len(arrivals))
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < window {
		t.Errorf("the server saw the two requests %v apart, within its %v window", gap.Round(time.Millisecond), window)
	}
}
