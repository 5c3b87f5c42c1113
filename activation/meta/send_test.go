package meta

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/metasim"
)

// The simulator's fault matrix. For each fault: the outcome, and the
// per-key counts, which may show the same key repeated (Meta deduplicates
// it) but never a second business effect.
func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		name     string
		inject   func(*metasim.Server)
		opt      func(*Options)
		want     activation.Status
		received int // per key
		effects  int // per key
		detail   string
		check    func(t *testing.T, w []time.Duration)
		prime    bool // send one event first, emptying a ceiling's bucket
	}{
		{
			name:   "reset after read",
			inject: func(s *metasim.Server) { s.InjectNth(1, metasim.Fault{Kind: metasim.ResetAfterRead}) },
			want:   activation.StatusAccepted, received: 2, effects: 1,
		},
		{
			name: "timeout after read",
			inject: func(s *metasim.Server) {
				s.InjectNth(1, metasim.Fault{Kind: metasim.TimeoutAfterRead, Delay: 300 * time.Millisecond})
			},
			opt:  func(o *Options) { o.Timeout = 50 * time.Millisecond },
			want: activation.StatusAccepted, received: 2, effects: 1,
		},
		{
			name:   "5xx after read",
			inject: func(s *metasim.Server) { s.InjectNth(1, metasim.Fault{Kind: metasim.ServerErrorAfterRead}) },
			want:   activation.StatusAccepted, received: 2, effects: 1,
		},
		{
			name: "503 after read",
			inject: func(s *metasim.Server) {
				s.InjectNth(1, metasim.Fault{Kind: metasim.ServerErrorAfterRead, Status: 503})
			},
			want: activation.StatusAccepted, received: 2, effects: 1,
		},
		{
			name: "429 with Retry-After",
			inject: func(s *metasim.Server) {
				s.InjectNth(1, metasim.Fault{Kind: metasim.TooManyRequests, RetryAfter: 3 * time.Second})
			},
			want: activation.StatusAccepted, received: 1, effects: 1,
			check: func(t *testing.T, w []time.Duration) {
				if len(w) != 1 || w[0] < 3*time.Second {
					t.Errorf("waits %v, want one of at least the 3s Retry-After", w)
				}
			},
		},
		{
			name:   "partial failure rejects the batch, halves go through",
			inject: func(s *metasim.Server) { s.InjectNth(1, metasim.Fault{Kind: metasim.PartialFailure}) },
			want:   activation.StatusAccepted, received: 1, effects: 1,
		},
		{
			name:   "throttled by the ceiling (code 4, no Retry-After)",
			inject: func(s *metasim.Server) { s.SetLimit(metasim.Limit{Rate: 0.001, Burst: 1}) },
			prime:  true, // the simulator's clock stands still: its bucket never refills
			want:   activation.StatusFailed, received: 0, effects: 0,
			detail: "Graph error code 4",
		},
		{
			name:   "5xx every time",
			inject: func(s *metasim.Server) { s.InjectFraction(1, 7, metasim.Fault{Kind: metasim.ServerErrorAfterRead}) },
			want:   activation.StatusUnknown, received: 4, effects: 1,
			detail: "HTTP 500, Graph error code 1",
		},
		{
			name:   "429 every time",
			inject: func(s *metasim.Server) { s.InjectFraction(1, 7, metasim.Fault{Kind: metasim.TooManyRequests}) },
			want:   activation.StatusFailed, received: 0, effects: 0,
			detail: "rate limited (attempt 4 of 4)",
		},
		{
			name: "5xx after read, then 429 every time",
			inject: func(s *metasim.Server) {
				s.InjectNth(1, metasim.Fault{Kind: metasim.ServerErrorAfterRead})
				s.InjectFraction(1, 7, metasim.Fault{Kind: metasim.TooManyRequests})
			},
			want: activation.StatusUnknown, received: 1, effects: 1,
			detail: "after an attempt that may have been processed",
		},
		{
			name:   "partial failure every time",
			inject: func(s *metasim.Server) { s.InjectFraction(1, 7, metasim.Fault{Kind: metasim.PartialFailure}) },
			want:   activation.StatusRejected, received: 0, effects: 0,
			detail: "invalid parameter",
		},
		{
			name: "test event code",
			opt:  func(o *Options) { o.TestEventCode = "TEST4242" },
			want: activation.StatusAccepted, received: 1, effects: 0,
			detail: "no business effect",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, srv := newSim(t)
			if c.inject != nil {
				c.inject(s)
			}
			d, w := newDest(t, srv.URL, c.opt)
			if c.prime {
				d.Send(context.Background(), []activation.Event{ev("prime", activation.StageLead)})
			}
			batch := evs(4, activation.StageMQL)
			out := d.Send(context.Background(), batch)
			for i, o := range out {
				if o.Status != c.want || !strings.Contains(o.Detail, c.detail) {
					t.Errorf("event %d: outcome %+v, want %s with %q", i, o, c.want, c.detail)
				}
				if strings.Contains(o.Detail, testToken) || strings.Contains(o.Detail, testLeadID) {
					t.Errorf("detail leaks: %q", o.Detail)
				}
			}
			// A delayed original is processed after its retry: wait for it.
			deadline := time.Now().Add(3 * time.Second)
			for c.received > 1 && s.Key(simKey(d, batch[0])).Received < c.received && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			for _, e := range batch {
				k := s.Key(simKey(d, e))
				if k.Received != c.received || k.Effective != c.effects {
					t.Errorf("key %s: %+v, want received %d, effective %d", e.Key, k, c.received, c.effects)
				}
			}
			if st := s.Stats(); len(st.DoubleEffects) != 0 {
				t.Errorf("double effects: %v", st.DoubleEffects)
			}
			if c.check != nil {
				c.check(t, w.all())
			}
		})
	}
}

// One event Meta refuses (here a future event_time, which Check would have
// caught) is isolated by halving the batch: it alone is rejected.
func TestInvalidEventIsIsolated(t *testing.T) {
	s, srv := newSim(t)
	d, _ := newDest(t, srv.URL, nil)
	batch := evs(7, activation.StageSQL)
	batch[4].EventAt = testNow.Add(time.Hour)
	out := d.Send(context.Background(), batch)
	for i, o := range out {
		want := activation.StatusAccepted
		if i == 4 {
			want = activation.StatusRejected
		}
		if o.Status != want {
			t.Errorf("event %d: %+v, want %s", i, o, want)
		}
		if k := s.Key(simKey(d, batch[i])); i != 4 && k != (metasim.KeyStats{Received: 1, Effective: 1}) {
			t.Errorf("event %d: key %+v", i, k)
		}
	}
	if st := s.Stats(); st.Effects != 6 || st.Rejected < 3 {
		t.Errorf("stats %+v", st)
	}
}

// A refused token is a definite failure and is not retried.
func TestRefusedTokenFailsWithoutRetry(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Error validating access token: EAAB-secret-token-value","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC123"}}`)
	}))
	defer srv.Close()
	d, _ := newDest(t, srv.URL, nil)
	out := d.Send(context.Background(), evs(2, activation.StageLead))
	for _, o := range out {
		if o.Status != activation.StatusFailed || o.Detail != "meta: HTTP 400, Graph error code 190 subcode 463, fbtrace_id AbC123: access token or permission refused" {
			t.Errorf("outcome %+v", o)
		}
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

// A request that never left (connection refused) failed, after retries.
func TestUnreachableFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	d, w := newDest(t, base, nil)
	out := d.Send(context.Background(), evs(2, activation.StageLead))
	for _, o := range out {
		if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "request not sent") || strings.Contains(o.Detail, base) {
			t.Errorf("outcome %+v", o)
		}
	}
	if len(w.all()) != 3 {
		t.Errorf("waits %v, want 3 retries", w.all())
	}
}

// A stopped run sends nothing and says so.
func TestCancelledContext(t *testing.T) {
	s, srv := newSim(t)
	d, _ := newDest(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := d.Send(ctx, evs(2, activation.StageLead))
	for _, o := range out {
		if o.Status != activation.StatusFailed {
			t.Errorf("outcome %+v", o)
		}
	}
	if st := s.Stats(); st.Requests != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Through the runner, with a fraction of every fault: each run leaves
// unknown keys that the next run re-sends under Meta's dedup; in the end
// every key took effect exactly once.
func TestRunnerUnderFaults(t *testing.T) {
	s, srv := newSim(t)
	for i, f := range []metasim.Fault{
		{Kind: metasim.ResetAfterRead},
		{Kind: metasim.ServerErrorAfterRead},
		{Kind: metasim.TooManyRequests},
		{Kind: metasim.PartialFailure},
		{Kind: metasim.TimeoutAfterRead, Delay: 150 * time.Millisecond},
	} {
		s.InjectFraction(0.12, uint64(i+1), f)
	}
	d, _ := newDest(t, srv.URL, func(o *Options) {
		o.MaxBatch = 7
		o.Timeout = 50 * time.Millisecond
		o.Retry.Attempts = 2
	})
	var events activation.SliceEvents
	for i, e := range evs(300, "") {
		e.Stage = takenStages[i%len(takenStages)]
		events = append(events, e)
	}
	l := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: l, Events: events, Destinations: []activation.Destination{d}, Concurrency: 4, Now: func() time.Time { return testNow }}
	var open, unknown, resent int
	for run := 1; run <= 10; run++ {
		rep, err := r.Run(context.Background(), fmt.Sprintf("run%d", run))
		if err != nil {
			t.Fatal(err)
		}
		dr := rep.Destinations[0]
		unknown += len(dr.Unknown)
		resent += dr.Resent
		if len(dr.CrashWindow) != 0 {
			t.Fatalf("run %d: crash window %v for a dedup destination inside its window", run, dr.CrashWindow)
		}
		states, _ := l.States(context.Background(), "meta")
		open = 0
		for _, st := range states {
			if !st.Done() {
				open++
			}
		}
		if open == 0 && len(states) == len(events) {
			break
		}
	}
	if open != 0 {
		t.Fatalf("%d keys still open after 10 runs", open)
	}
	s.Close() // ends delayed originals
	st := s.Stats()
	if len(st.DoubleEffects) != 0 {
		t.Fatalf("double effects: %v", st.DoubleEffects)
	}
	states, _ := l.States(context.Background(), "meta")
	// An injected partial failure that lands on a request of one event
	// rejects that event for good, as Meta would; how often that happens
	// depends on how requests interleave, so a rejected key is fine as long
	// as it took no effect.
	for _, e := range events {
		k := s.Key(simKey(d, e))
		switch states[e.Key].Last {
		case activation.StatusAccepted:
			if k.Effective != 1 {
				t.Errorf("%s accepted: sim key %+v", e.Key, k)
			}
		case activation.StatusRejected:
			if k.Effective > 1 {
				t.Errorf("%s rejected: sim key %+v", e.Key, k)
			}
		default:
			t.Errorf("%s: %+v", e.Key, states[e.Key])
		}
	}
	if len(st.Duplicates) == 0 || st.Injected == 0 {
		t.Errorf("the faults were not exercised: %+v", st)
	}
	if unknown == 0 || resent < unknown || !slices.ContainsFunc(l.Entries(), func(e activation.Entry) bool { return e.Status == activation.StatusUnknown }) {
		t.Errorf("unknown outcomes %d, re-sent %d: the dedup re-send path was not exercised", unknown, resent)
	}
}

// Meta's business use case throttling says when access returns, in
// minutes; the retry waits that long (up to the policy's cap).
func TestBusinessUseCaseThrottleWait(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			w.Header().Set("X-Business-Use-Case-Usage", `{"1234":[{"type":"ads_management","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":2}]}`)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"message":"User request limit reached","type":"OAuthException","code":80004,"is_transient":true,"fbtrace_id":"X1"}}`)
			return
		}
		fmt.Fprint(w, `{"events_received":2,"messages":[],"fbtrace_id":"X2"}`)
	}))
	defer srv.Close()
	d, w := newDest(t, srv.URL, func(o *Options) { o.Retry.Cap = 10 * time.Minute })
	out := d.Send(context.Background(), evs(2, activation.StageLead))
	if got := statuses(out); got[0] != activation.StatusAccepted || got[1] != activation.StatusAccepted {
		t.Fatalf("outcomes %+v", out)
	}
	if ws := w.all(); len(ws) != 1 || ws[0] < 2*time.Minute {
		t.Errorf("waits %v, want one of at least 2 minutes", ws)
	}
}

// A 200 whose answer cannot be read, or counts other events than were
// sent, is not taken as acceptance.
func TestDoubtfulSuccess(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       activation.Status
		requests   int32
	}{
		{"unreadable, then fine", "", activation.StatusAccepted, 2},
		{"wrong count", `{"events_received":1}`, activation.StatusUnknown, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					fmt.Fprint(w, c.body)
					return
				}
				fmt.Fprint(w, `{"events_received":2}`)
			}))
			defer srv.Close()
			d, _ := newDest(t, srv.URL, nil)
			out := d.Send(context.Background(), evs(2, activation.StageWon))
			if out[0].Status != c.want || out[1].Status != c.want || n.Load() != c.requests {
				t.Errorf("outcomes %+v after %d requests", out, n.Load())
			}
		})
	}
}

// A dataset id that does not exist, or that the token may no longer reach,
// is refused for the whole request (Graph code 100, subcode 33). Before,
// SAM took it for an invalid event, split the batch down to single events
// (15 requests for 8 events) and rejected every one of them for good; a
// fixed dataset id could not bring them back. They are failed now: the
// next run sends them again.
func TestUnknownDatasetFailsTheBatchWithoutSplittingIt(t *testing.T) {
	sim, srv := newSim(t)
	sim.SetDatasets("another-dataset")
	d, _ := newDest(t, srv.URL, nil)
	out := d.Send(t.Context(), evs(8, "mql"))
	for i, o := range out {
		if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "subcode 33") {
			t.Errorf("event %d: %s %q, want failed naming subcode 33", i, o.Status, o.Detail)
		}
	}
	if n := sim.Stats().Requests; n != 1 {
		t.Errorf("%d requests, want 1: a refused dataset is not split", n)
	}
}
