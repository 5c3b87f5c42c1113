package simcore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixed = time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)

func newCore(t *testing.T, path string) *Core {
	t.Helper()
	c, err := New(Limit{}, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetClock(func() time.Time { return fixed })
	return c
}

func TestFaultPicks(t *testing.T) {
	pick := func(seed uint64) []int {
		c := newCore(t, "")
		c.InjectFraction(0.3, seed, Fault{Kind: TooManyRequests})
		var got []int
		for n := 1; n <= 50; n++ {
			if _, ok := c.nextRequest(); ok {
				got = append(got, n)
			}
		}
		return got
	}
	a, b := pick(7), pick(7)
	if fmt.Sprint(a) != fmt.Sprint(b) || len(a) < 5 || len(a) > 25 {
		t.Errorf("seed 7 picks %v and %v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(pick(8)) {
		t.Errorf("seeds 7 and 8 pick the same requests %v", a)
	}

	c := newCore(t, "")
	c.InjectNth(2, Fault{Kind: TimeoutAfterRead})
	if _, ok := c.nextRequest(); ok {
		t.Error("request 1 met a fault")
	}
	f, ok := c.nextRequest()
	want := Fault{Kind: TimeoutAfterRead, Delay: 30 * time.Second, Status: 500, RetryAfter: time.Second, RejectEvery: 2}
	if !ok || f != want {
		t.Errorf("request 2 met %+v, %v; want %+v", f, ok, want)
	}
	c.ClearFaults()
	c.InjectFraction(1, 1, Fault{Kind: PartialFailure})
	c.ClearFaults()
	if _, ok := c.nextRequest(); ok {
		t.Error("a fault survived ClearFaults")
	}
	if st := c.Stats(); st.Requests != 3 || st.Injected != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBucket(t *testing.T) {
	now := fixed
	reads := 0
	clock := func() time.Time { reads++; return now }
	b := NewBucket(Limit{Rate: 2, Burst: 2})
	var got []bool
	for range 3 {
		got = append(got, b.Allow(clock))
	}
	now = now.Add(500 * time.Millisecond) // one token back
	got = append(got, b.Allow(clock), b.Allow(clock))
	if fmt.Sprint(got) != "[true true false true false]" {
		t.Errorf("allowed %v", got)
	}
	var none Bucket
	reads = 0
	for range 100 {
		if !none.Allow(clock) {
			t.Fatal("the zero bucket refused")
		}
	}
	if reads != 0 {
		t.Errorf("the zero bucket read the clock %d times", reads)
	}
}

func TestUpdateCountsAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.ndjson")
	c := newCore(t, path)
	later := fixed.Add(time.Hour)
	c.Update(func(l *Ledger) {
		l.Record(Record{ReceivedAt: fixed, Key: "k", Effect: true})
		l.Record(Record{ReceivedAt: later, Key: "k", Effect: true})
		l.Record(Record{ReceivedAt: later, Key: "k", Reason: "deduplicated"})
		l.Record(Record{ReceivedAt: later, Effect: true})
		if k := l.Key("k"); k != (KeyStats{Received: 3, Effective: 2}) {
			t.Errorf("inside Update, k = %+v", k)
		}
	})
	// Written out before Update returns, not at Close.
	if b, err := os.ReadFile(path); err != nil || strings.Count(string(b), "\n") != 4 {
		t.Fatalf("file after Update: %v %q", err, b)
	}
	c.Close()

	again := newCore(t, path)
	st := again.Stats()
	if st.Events != 4 || st.Effects != 3 || st.Keyless != 1 || st.Keys != 1 ||
		fmt.Sprint(st.Duplicates, st.DoubleEffects) != "[k] [k]" {
		t.Errorf("reloaded stats = %+v", st)
	}
	again.Update(func(l *Ledger) {
		if at, ok := l.LastEffect("k"); !ok || !at.Equal(later) {
			t.Errorf("reloaded last effect of k = %v, %v; want %v", at, ok, later)
		}
		if _, ok := l.LastEffect(""); ok {
			t.Error("keyless events have a last effect")
		}
	})
}

func TestReload(t *testing.T) {
	line := `{"received_at":"2025-06-10T12:00:00Z","key":"k","effect":true}` + "\n"
	t.Run("torn last line is cut", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sim.ndjson")
		os.WriteFile(path, []byte(line+"\n"+line+`{"received_at":"2025`), 0o644)
		c := newCore(t, path)
		if k := c.Key("k"); k != (KeyStats{Received: 2, Effective: 2}) {
			t.Errorf("k = %+v", k)
		}
		c.Update(func(l *Ledger) { l.Record(Record{ReceivedAt: fixed, Key: "k"}) })
		b, _ := os.ReadFile(path)
		if n := strings.Count(string(b), "\n"); n != 4 || strings.Contains(string(b), `"2025{`) {
			t.Errorf("file = %q", b)
		}
	})
	t.Run("bad complete line is an error", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sim.ndjson")
		os.WriteFile(path, []byte(line+"not json\n"+line), 0o644)
		if _, err := New(Limit{}, path); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("err = %v", err)
		}
	})
}

// fake is a vendor that accepts every request and says which way it was
// answered.
type fake struct {
	mu          sync.Mutex
	processed   int
	rejectEvery int
}

func (f *fake) seen() (processed, rejectEvery int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.processed, f.rejectEvery
}

func (f *fake) vendor() Vendor {
	return Vendor{
		Process: func(r *http.Request, body []byte, rejectEvery int) (int, http.Header, any) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.processed++
			f.rejectEvery = rejectEvery
			return http.StatusOK, http.Header{"X-Fake": {"ok"}}, map[string]string{"body": string(body)}
		},
		Throttle: func(w http.ResponseWriter, injected bool) {
			WriteJSON(w, http.StatusTooManyRequests, map[string]bool{"injected": injected})
		},
		ServerError: func(w http.ResponseWriter, status int) {
			WriteJSON(w, status, map[string]string{"error": "fake"})
		},
	}
}

func TestServe(t *testing.T) {
	c := newCore(t, "")
	f := &fake{}
	v := f.vendor()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.Serve(w, r, v) }))
	defer srv.Close()
	post := func() (*http.Response, string, error) {
		resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader("hi"))
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, strings.TrimSpace(string(b)), err
	}
	var processed, rejectEvery int

	c.InjectNth(1, Fault{Kind: TooManyRequests, RetryAfter: 3 * time.Second})
	c.InjectNth(2, Fault{Kind: ServerErrorAfterRead, Status: 503})
	c.InjectNth(3, Fault{Kind: PartialFailure, RejectEvery: 4})
	c.InjectNth(4, Fault{Kind: ResetAfterRead})
	c.InjectNth(5, Fault{Kind: TimeoutAfterRead, Delay: time.Millisecond})

	resp, body, err := post()
	if processed, _ = f.seen(); err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || body != `{"injected":true}` || processed != 0 {
		t.Errorf("injected 429: %v %v %q processed %d", err, resp, body, processed)
	}
	resp, body, err = post()
	if processed, _ = f.seen(); err != nil || resp.StatusCode != 503 || body != `{"error":"fake"}` || processed != 1 {
		t.Errorf("server error after read: %v %v %q processed %d", err, resp, body, processed)
	}
	resp, body, err = post()
	if _, rejectEvery = f.seen(); err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Fake") != "ok" || body != `{"body":"hi"}` || rejectEvery != 4 {
		t.Errorf("partial failure: %v %v %q rejectEvery %d", err, resp, body, rejectEvery)
	}
	if _, _, err = post(); err == nil {
		t.Error("reset after read answered")
	}
	if processed, _ = f.seen(); processed != 3 {
		t.Errorf("reset after read: processed %d", processed)
	}
	resp, _, err = post()
	if processed, rejectEvery = f.seen(); err != nil || resp.StatusCode != 200 || processed != 4 || rejectEvery != 0 {
		t.Errorf("timeout after read: %v %v processed %d", err, resp, processed)
	}

	c.SetLimit(Limit{Rate: 1, Burst: 1})
	post()
	resp, body, err = post()
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || body != `{"injected":false}` {
		t.Errorf("ceiling: %v %v %q", err, resp, body)
	}
	if st := c.Stats(); st.Requests != 7 || st.Injected != 5 || st.Throttled != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCloseEndsInjectedSleep(t *testing.T) {
	c, err := New(Limit{}, "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{}
	if err := c.Listen(context.Background(), "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Serve(w, r, f.vendor())
	})); err != nil {
		t.Fatal(err)
	}
	c.InjectNth(1, Fault{Kind: TimeoutAfterRead, Delay: time.Hour})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(c.URL(), "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for c.Stats().Requests == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	<-done
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("close took %v", d)
	}
	if c.URL() == "" {
		t.Error("URL is empty after Listen")
	}
}

// A simulator honours only the tokens it was given, and a revoked one for
// good.
func TestTokens(t *testing.T) {
	var tk Tokens
	if got := tk.TokenState("t"); got != TokenUnknown {
		t.Errorf("a token never allowed: %v, want unknown", got)
	}
	if got := tk.TokenState(""); got != TokenMissing {
		t.Errorf("no token: %v, want missing", got)
	}
	tk.AllowToken("t")
	if got := tk.TokenState("t"); got != TokenValid {
		t.Errorf("an allowed token: %v, want valid", got)
	}
	tk.RevokeToken("t")
	tk.AllowToken("t")
	if got := tk.TokenState("t"); got != TokenRevoked {
		t.Errorf("a revoked token allowed again: %v, want revoked", got)
	}
	if got := tk.TokenState("u"); got != TokenUnknown {
		t.Errorf("another token: %v, want unknown", got)
	}
}
