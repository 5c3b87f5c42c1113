package writeback

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func testClient(url, secret string) (*client, *[]time.Duration) {
	var waits []time.Duration
	return &client{
		http: http.DefaultClient, endpoint: url, path: collectPath, measureID: "G-TEST", secret: secret,
		limiter: rate.NewLimiter(rate.Inf, 1), attempts: 5, base: 100 * time.Millisecond, cap: time.Second,
		timeout: 5 * time.Second,
		sleep:   func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		jitter:  func(d time.Duration) time.Duration { return d },
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

func TestPostRetries5xxAnd429WithBackoff(t *testing.T) {
	srv, calls := statusServer(t, 500, 503, 429)
	c, waits := testClient(srv.URL, "s3cr3t")
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeSent || res.attempts != 4 || calls.Load() != 4 {
		t.Fatalf("outcome %v after %d attempts (%d calls), want sent after 4", res.outcome, res.attempts, calls.Load())
	}
	// Jitter is the identity here, so the waits are the exponential caps.
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	if len(*waits) != len(want) {
		t.Fatalf("waits = %v, want %v", *waits, want)
	}
	for i := range want {
		if (*waits)[i] != want[i] {
			t.Errorf("wait %d = %v, want %v", i, (*waits)[i], want[i])
		}
	}
}

func TestPostGivesUpAsFailedAfterMaxAttempts(t *testing.T) {
	srv, calls := statusServer(t, 503, 503, 503, 503, 503, 503)
	c, waits := testClient(srv.URL, "s3cr3t")
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeFailed || calls.Load() != 5 || len(*waits) != 4 {
		t.Fatalf("outcome %v, %d calls, %d waits; want failed after 5 calls and 4 waits", res.outcome, calls.Load(), len(*waits))
	}
	if (*waits)[3] != 800*time.Millisecond {
		t.Errorf("4th wait = %v, want 800ms", (*waits)[3])
	}
	if !strings.Contains(res.err.Error(), "HTTP 503") || strings.Contains(res.err.Error(), "s3cr3t") {
		t.Errorf("err = %v, want HTTP 503 without the secret", res.err)
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

func TestPostTimeoutIsRetriedAndUnknownWhenExhausted(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
	}))
	defer srv.Close()
	defer close(block)
	c, waits := testClient(srv.URL, "s3cr3t")
	c.attempts = 2
	c.timeout = 20 * time.Millisecond
	res := c.post(context.Background(), []byte(`{}`))
	if res.outcome != outcomeUnknown || res.attempts != 2 || len(*waits) != 1 {
		t.Fatalf("outcome %v after %d attempts, want unknown after 2", res.outcome, res.attempts)
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
