package ga4

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/internal/retry"
)

func testClient(url, secret string) (*client, *[]time.Duration) {
	var waits []time.Duration
	return &client{
		http: http.DefaultClient, endpoint: url, path: collectPath, measureID: "G-TEST", secret: secret,
		limiter: rate.NewLimiter(rate.Inf, 1),
		retry: retry.Policy{Attempts: 5, Base: 100 * time.Millisecond, Cap: time.Second, Rand: retry.NewSource(1),
			Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }},
		timeout: 5 * time.Second,
	}, &waits
}

// statusServer answers the given statuses in turn, then 204.
func statusServer(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.WriteHeader(statuses[i])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// checkWaits asserts decorrelated jitter: every wait within [base, cap]
// and at most three times the one before.
func checkWaits(t *testing.T, waits []time.Duration, base, cap time.Duration) {
	t.Helper()
	prev := base
	for i, d := range waits {
		if d < base || d > cap || d > 3*prev {
			t.Errorf("wait %d = %v after %v, want within [%v, min(%v, 3×previous)]", i+1, d, prev, base, cap)
		}
		prev = d
	}
}

func TestPostRetries429WithBackoff(t *testing.T) {
	srv, calls := statusServer(t, 429, 429, 429)
	c, waits := testClient(srv.URL, "s3cr3t")
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeSent || res.attempts != 4 || calls.Load() != 4 {
		t.Fatalf("outcome %v after %d attempts (%d calls), want sent after 4", res.outcome, res.attempts, calls.Load())
	}
	if len(*waits) != 3 {
		t.Fatalf("waits = %v, want 3", *waits)
	}
	checkWaits(t, *waits, 100*time.Millisecond, time.Second)
}

func TestPost429HonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, waits := testClient(srv.URL, "s3cr3t")
	c.retry.Cap = 30 * time.Second
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeSent || len(*waits) != 1 || (*waits)[0] < time.Second {
		t.Fatalf("outcome %v, waits %v; want sent after waiting at least the Retry-After of 1s", res.outcome, *waits)
	}
}

func TestPostGivesUpAsFailedAfterMaxAttempts(t *testing.T) {
	srv, calls := statusServer(t, 429, 429, 429, 429, 429, 429)
	c, waits := testClient(srv.URL, "s3cr3t")
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeFailed || calls.Load() != 5 || len(*waits) != 4 {
		t.Fatalf("outcome %v, %d calls, %d waits; want failed after 5 calls and 4 waits", res.outcome, calls.Load(), len(*waits))
	}
	checkWaits(t, *waits, 100*time.Millisecond, time.Second)
	if !strings.Contains(res.err.Error(), "HTTP 429") || strings.Contains(res.err.Error(), "s3cr3t") {
		t.Errorf("err = %v, want HTTP 429 without the secret", res.err)
	}
}

func TestPostDoesNotRetry4xx(t *testing.T) {
	srv, calls := statusServer(t, 400)
	c, _ := testClient(srv.URL, "s3cr3t")
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeFailed || calls.Load() != 1 {
		t.Fatalf("outcome %v after %d calls, want failed after 1", res.outcome, calls.Load())
	}
}

func TestPostTimeoutIsUnknownAndNotRetried(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
	}))
	defer srv.Close()
	defer close(block)
	c, waits := testClient(srv.URL, "s3cr3t")
	c.timeout = 20 * time.Millisecond
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeUnknown || res.attempts != 1 || len(*waits) != 0 {
		t.Fatalf("outcome %v after %d attempts, want unknown after 1", res.outcome, res.attempts)
	}
	if strings.Contains(res.err.Error(), "s3cr3t") || !strings.Contains(res.err.Error(), "api_secret=REDACTED") {
		t.Errorf("err = %q, want the redacted URL", res.err)
	}
}

func TestRedactRemovesSecretFromURLErrors(t *testing.T) {
	c, _ := testClient("http://127.0.0.1:1", "top/secret+value")
	_, err := http.Get(c.target()) // nothing listens on port 1
	if err == nil {
		t.Skip("something listens on 127.0.0.1:1")
	}
	red := c.redact(err)
	for _, s := range []string{"top/secret+value", "top%2Fsecret%2Bvalue"} {
		if strings.Contains(red.Error(), s) {
			t.Errorf("redacted error %q still holds %q", red, s)
		}
	}
	if !errors.Is(red, err.(interface{ Unwrap() error }).Unwrap()) {
		t.Errorf("redacted error lost its cause: %v", red)
	}
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeFailed {
		t.Errorf("refused connection: outcome %v, want failed (nothing was sent)", res.outcome)
	}
}

// TestPostNeverResendsARequestTheServerMayHaveRead covers the servers that
// made GA4 count events two to five times: each reads the whole body and
// then fails in a way that leaves the client unsure whether the events
// were recorded. Measurement Protocol does not deduplicate, so the client
// must send once and report the outcome as unknown.
func TestPostNeverResendsARequestTheServerMayHaveRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
	}{
		{"reset after reading", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
				tc.SetLinger(0) // close with RST
			}
			conn.Close()
		}},
		{"answer after the client's timeout", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(150 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
		}},
		{"500 after reading", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					t.Errorf("read body: %v", err)
				}
				seen.Add(1)
				tc.handle(w, r)
			}))
			defer srv.Close()
			c, _ := testClient(srv.URL, "s3cr3t")
			c.timeout = 50 * time.Millisecond
			res := c.post(context.Background(), []byte(`{"client_id":"1.2","events":[]}`))
			if n := seen.Load(); n != 1 {
				t.Errorf("the server received the request %d times, want once", n)
			}
			if res.outcome != outcomeUnknown {
				t.Errorf("outcome = %v (err %v), want unknown", res.outcome, res.err)
			}
		})
	}
}

// heldServer reads each request, says it arrived, and answers 204 once
// release is closed.
func heldServer(t *testing.T) (srv *httptest.Server, arrived <-chan struct{}, release chan<- struct{}) {
	in, out := make(chan struct{}, 1), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		in <- struct{}{}
		select {
		case <-out:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv, in, out
}

// A run stopped (SIGTERM; Cloud Run kills the task 10 s later) while a
// request is at GA4 lets that request finish within the stop grace, so its
// events are known to be sent instead of waiting in the crash window.
func TestPostStoppedInFlightFinishesWithinTheGrace(t *testing.T) {
	srv, arrived, release := heldServer(t)
	c, waits := testClient(srv.URL, "s3cr3t")
	c.grace = time.Minute
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		<-arrived
		stop()
		close(release)
	}()
	res := c.post(ctx, []byte(`{}`))
	if res.outcome != outcomeSent || res.attempts != 1 || len(*waits) != 0 {
		t.Fatalf("outcome %v after %d attempts (err %v), want sent after 1", res.outcome, res.attempts, res.err)
	}
}

// A request still unanswered when the grace ends is cut: its outcome is
// unknown, and the stopped run makes no other attempt.
func TestPostStoppedInFlightBeyondTheGraceIsUnknown(t *testing.T) {
	srv, arrived, release := heldServer(t)
	defer close(release)
	c, waits := testClient(srv.URL, "s3cr3t")
	c.grace = 20 * time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		<-arrived
		stop()
	}()
	res := c.post(ctx, []byte(`{}`))
	if res.outcome != outcomeUnknown || res.attempts != 1 || len(*waits) != 0 {
		t.Fatalf("outcome %v after %d attempts (err %v), want unknown after 1", res.outcome, res.attempts, res.err)
	}
	if !errors.Is(res.err, context.Canceled) {
		t.Errorf("err = %v, want it to say the run stopped", res.err)
	}
}

// A stop during an attempt GA4 refused (429) ends the retries: the refused
// request is failed, to be sent by the next run.
func TestPostStoppedDuringARefusedAttemptIsNotRetried(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		stop()
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, _ := testClient(srv.URL, "s3cr3t")
	c.grace = time.Minute
	res := c.post(ctx, []byte(`{}`))
	if res.outcome != outcomeFailed || calls.Load() != 1 {
		t.Fatalf("outcome %v after %d calls (err %v), want failed after 1", res.outcome, calls.Load(), res.err)
	}
}

// An attempt the stopped run has not started yet is never sent: the error
// must say so (failed, sent next run), not leave it unknown. Go's transport
// returns on an ended context before asking for a connection, so the
// connection trace alone cannot tell.
func TestAttemptOfAStoppedRunIsNotSent(t *testing.T) {
	srv, calls := statusServer(t)
	c, _ := testClient(srv.URL, "s3cr3t")
	ctx, stop := context.WithCancel(context.Background())
	stop()
	_, _, _, err := c.once(ctx, []byte(`{}`))
	if err == nil || !notSent(err) {
		t.Errorf("err %v: want one that proves nothing was sent", err)
	}
	if calls.Load() != 0 {
		t.Errorf("the server received %d requests", calls.Load())
	}
}
