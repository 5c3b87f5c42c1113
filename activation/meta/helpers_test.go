package meta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/activation/identity"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/tests/metasim"
)

// testNow is the fixed clock of SAM and the simulator in tests.
var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const (
	testDataset = "1234567890"
	testToken   = "EAAB-secret-token-value"
	testLeadID  = "1234567890123456"
)

var testEmailHash = func() string {
	h, err := identity.HashMetaEmail("Jane.Doe@Example.com")
	if err != nil {
		panic(err)
	}
	return h
}()

// newSim starts the simulator on the fixed clock without a rate ceiling.
func newSim(t testing.TB) (*metasim.Server, *httptest.Server) {
	t.Helper()
	s, err := metasim.New("")
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(func() time.Time { return testNow })
	s.SetLimit(metasim.Limit{})
	s.AllowToken(testToken)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(func() { s.Close() }) // runs first: ends injected sleeps
	return s, srv
}

// waits records the retry waits instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func testOptions(base string) Options {
	return Options{
		AccessToken:       testToken,
		DatasetID:         testDataset,
		EventNames:        DefaultEventNames(),
		LeadEventSource:   "SAM Test CRM",
		BaseURL:           base,
		APIVersion:        "v25.0",
		RequestsPerSecond: 10000,
		Timeout:           2 * time.Second,
		Now:               func() time.Time { return testNow },
		Retry:             retry.Policy{Attempts: 4, Base: time.Millisecond, Cap: 10 * time.Second, Rand: retry.NewSource(1)},
	}
}

// newDest returns a destination on srv whose retry waits are recorded.
func newDest(t testing.TB, base string, mod func(*Options)) (*Destination, *waits) {
	t.Helper()
	o := testOptions(base)
	w := &waits{}
	o.Retry.Sleep = w.sleep
	if mod != nil {
		mod(&o)
	}
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d, w
}

// ev is a valid event of a Meta lead that reached stage an hour ago.
func ev(key, stage string) activation.Event {
	return activation.Event{
		Key: key, LeadID: "L-" + key, Stage: stage,
		EventAt: testNow.Add(-time.Hour), LeadAt: testNow.Add(-48 * time.Hour),
		Value: 120.5, Currency: "EUR", ValueKind: activation.ValuePredicted,
		MetaLeadID: testLeadID, EmailSHA256: testEmailHash,
		AdUserData: activation.ConsentGranted, AdPersonalization: activation.ConsentGranted,
	}
}

func evs(n int, stage string) []activation.Event {
	out := make([]activation.Event, n)
	for i := range out {
		out[i] = ev(fmt.Sprintf("k%04d", i), stage)
	}
	return out
}

// simKey is the simulator's dedup key of an event sent by d.
func simKey(d *Destination, e activation.Event) string {
	return testDataset + "/" + d.opts.EventNames[e.Stage] + "/" + eventID(e.Key)
}

// recorder is an http.RoundTripper that keeps every request body.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	url    string
	header http.Header
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{url: req.URL.String(), header: req.Header.Clone(), body: b})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func statuses(out []activation.Outcome) []activation.Status {
	s := make([]activation.Status, len(out))
	for i, o := range out {
		s[i] = o.Status
	}
	return s
}
