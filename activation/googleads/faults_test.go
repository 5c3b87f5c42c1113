package googleads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/googleadssim"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// recorder wraps a transport and hands each request and its body to fn.
func recorder(next http.RoundTripper, fn func(*http.Request, []byte)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		fn(r, body)
		return next.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func batchOf(n int) []activation.Event {
	var b []activation.Event
	for i := range n {
		b = append(b, ev(i, Stages[i%len(Stages)]))
	}
	return b
}

// noDoubleEffect checks the simulator's per-key counts: every key of the
// batch took effect exactly once when want says so, and no key took effect
// twice; repeats of the same key are allowed (Google dedups on it).
func noDoubleEffect(t *testing.T, sim *googleadssim.Server, batch []activation.Event, effective int) {
	t.Helper()
	st := sim.Stats()
	if len(st.DoubleEffects) > 0 {
		t.Errorf("double effects: %v", st.DoubleEffects)
	}
	for _, e := range batch {
		if k := sim.Key(simKey(e)); k.Effective != effective {
			t.Errorf("%s: %+v, want %d effect", e.Key, k, effective)
		}
	}
}

func TestFaultMatrix(t *testing.T) {
	cases := []struct {
		name     string
		fault    googleadssim.Fault
		every    bool // every request, not only the first
		want     activation.Status
		effect   int
		received int // per key; 0 means do not check
	}{
		{"reset after read", googleadssim.Fault{Kind: googleadssim.ResetAfterRead}, false, activation.StatusAccepted, 1, 2},
		{"timeout after read", googleadssim.Fault{Kind: googleadssim.TimeoutAfterRead, Delay: 400 * time.Millisecond}, false, activation.StatusAccepted, 1, 0},
		{"5xx after read", googleadssim.Fault{Kind: googleadssim.ServerErrorAfterRead, Status: 503}, false, activation.StatusAccepted, 1, 2},
		{"429 with Retry-After", googleadssim.Fault{Kind: googleadssim.TooManyRequests, RetryAfter: time.Second}, false, activation.StatusAccepted, 1, 1},
		{"partial failure", googleadssim.Fault{Kind: googleadssim.PartialFailure, RejectEvery: 2}, false, activation.StatusAccepted, 1, 0},
		{"reset on every attempt", googleadssim.Fault{Kind: googleadssim.ResetAfterRead}, true, activation.StatusUnknown, 1, 4},
		{"5xx on every attempt", googleadssim.Fault{Kind: googleadssim.ServerErrorAfterRead}, true, activation.StatusUnknown, 1, 4},
		{"429 on every attempt", googleadssim.Fault{Kind: googleadssim.TooManyRequests, RetryAfter: time.Millisecond}, true, activation.StatusFailed, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, srv := newSim(t)
			if c.every {
				sim.InjectFraction(1, 1, c.fault)
			} else {
				sim.InjectNth(1, c.fault)
			}
			var waits []time.Duration
			d := newDest(t, srv, func(o *Options) {
				o.RequestTimeout = 150 * time.Millisecond
				o.Retry.OnRetry = func(_ int, w time.Duration, _ error) { waits = append(waits, w) }
			})
			batch := batchOf(6)
			out := d.Send(context.Background(), batch)
			wantAll(t, out, c.want)
			if c.fault.Kind == googleadssim.TimeoutAfterRead {
				// The slow first request is processed after the client gave
				// up; wait for it before counting.
				deadline := time.Now().Add(5 * time.Second)
				for sim.Key(simKey(batch[0])).Received < 2 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			noDoubleEffect(t, sim, batch, c.effect)
			for _, e := range batch {
				if k := sim.Key(simKey(e)); c.received > 0 && k.Received != c.received {
					t.Errorf("%s received %d times, want %d", e.Key, k.Received, c.received)
				}
			}
			if c.name == "429 with Retry-After" && (len(waits) != 1 || waits[0] < time.Second) {
				t.Errorf("waits %v: Retry-After not honoured", waits)
			}
			for _, o := range out {
				if strings.Contains(o.Detail, "test-token") {
					t.Errorf("detail leaks the token: %q", o.Detail)
				}
			}
		})
	}
}

// A partial failure that is permanent for one event: the re-sent halves
// tell which one, and only it is rejected.
func TestPartialFailureIsAttributed(t *testing.T) {
	sim, srv := newSim(t)
	sim.MaxEventAge = 30 * 24 * time.Hour // stricter than SAM's window
	d := newDest(t, srv, nil)
	batch := batchOf(4)
	for i := range batch {
		batch[i].Stage = activation.StageSQL
	}
	batch[2].EventAt = now.Add(-40 * 24 * time.Hour)
	batch[2].ClickAt = batch[2].EventAt.Add(-time.Hour)
	out := d.Send(context.Background(), batch)
	want := []activation.Status{activation.StatusAccepted, activation.StatusAccepted, activation.StatusRejected, activation.StatusAccepted}
	for i := range out {
		if out[i].Status != want[i] {
			t.Errorf("event %d: %+v, want %s", i, out[i], want[i])
		}
	}
	if !strings.Contains(out[2].Detail, "PROCESSING_ERROR_REASON_EVENT_TOO_OLD") {
		t.Errorf("detail %q", out[2].Detail)
	}
	if len(sim.Stats().DoubleEffects) > 0 {
		t.Errorf("double effects %v", sim.Stats().DoubleEffects)
	}

	// Without a budget to resolve it the group is "sent", with the counts.
	sim2, srv2 := newSim(t)
	sim2.MaxEventAge = 30 * 24 * time.Hour
	d2 := newDest(t, srv2, func(o *Options) { o.MaxResolveRequests = -1 })
	out = d2.Send(context.Background(), batch)
	wantAll(t, out, activation.StatusSent)
	if !strings.Contains(out[0].Detail, "partial success: 1 of 4 not recorded (PROCESSING_ERROR_REASON_EVENT_TOO_OLD x1)") {
		t.Errorf("detail %q", out[0].Detail)
	}
}

// Fast fail: one event Google refuses fails the whole request and is named;
// it is rejected and the others go again at once.
func TestFastFailRejectsOnlyTheNamedEvent(t *testing.T) {
	sim, srv := newSim(t)
	d := newDest(t, srv, nil)
	batch := batchOf(3)
	// The simulator's clock is behind SAM's: the newest event is in its
	// future (EVENT_TIME_INVALID).
	batch[1].EventAt = now.Add(-time.Minute)
	sim.SetClock(func() time.Time { return now.Add(-2 * time.Minute) })
	for i := range batch {
		if i != 1 {
			batch[i].EventAt = now.Add(-time.Hour)
		}
	}
	out := d.Send(context.Background(), batch)
	if got := statuses(out); got[0] != activation.StatusAccepted || got[1] != activation.StatusRejected || got[2] != activation.StatusAccepted {
		t.Fatalf("outcomes %v (%v)", got, out)
	}
	if out[1].Detail != "google ads refused the event: EVENT_TIME_INVALID at event_timestamp" {
		t.Errorf("detail %q", out[1].Detail)
	}
	if st := sim.Stats(); st.Rejected != 1 || st.Effects != 2 {
		t.Errorf("stats %+v", st)
	}
}

// The runner re-sends unknown keys on the next run (Google dedups), and
// however the faults fall no key takes effect twice.
func TestRunnerWithFaults(t *testing.T) {
	sim, srv := newSim(t)
	sim.InjectFraction(0.5, 42, googleadssim.Fault{Kind: googleadssim.ResetAfterRead})
	d := newDest(t, srv, func(o *Options) {
		o.MaxBatch = 5
		o.Retry.Attempts = 2
	})
	var evs activation.SliceEvents
	for i := range 40 {
		evs = append(evs, ev(i, Stages[i%len(Stages)]))
	}
	led := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: led, Events: evs, Destinations: []activation.Destination{d}, Concurrency: 3, Now: func() time.Time { return now }}
	var mu sync.Mutex
	for run := range 3 {
		rep, err := r.Run(context.Background(), "run")
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		t.Logf("run %d: %v resent %d", run, rep.Destinations[0].Counts, rep.Destinations[0].Resent)
		mu.Unlock()
		if run == 1 {
			sim.ClearFaults()
		}
	}
	states, _ := led.States(context.Background(), Name)
	for _, e := range evs {
		if st := states[e.Key]; st.Last != activation.StatusAccepted || st.Open {
			t.Errorf("%s: %+v", e.Key, st)
		}
	}
	noDoubleEffect(t, sim, evs, 1)
}

// A click younger than six hours is refused as too recent: the conversion
// did not take effect and is sent again by a later run. Before, it was
// rejected, and a lead created within six hours of its click lost its
// conversion for good.
func TestTooRecentClickIsSentAgainLater(t *testing.T) {
	sim, srv := newSim(t)
	d := newDest(t, srv, nil)
	batch := batchOf(2)
	sim.SetClick(batch[0].Gclid, now.Add(-time.Hour))
	out := d.Send(context.Background(), batch)
	if out[0].Status != activation.StatusFailed || !strings.Contains(out[0].Detail, "TOO_RECENT_CLICK") {
		t.Errorf("event 0: %+v, want failed naming TOO_RECENT_CLICK", out[0])
	}
	if out[1].Status != activation.StatusAccepted {
		t.Errorf("event 1: %+v, want accepted", out[1])
	}
	later := now.Add(6 * time.Hour)
	sim.SetClock(func() time.Time { return later })
	if out := d.Send(context.Background(), batch[:1]); out[0].Status != activation.StatusAccepted {
		t.Errorf("six hours later: %+v, want accepted", out[0])
	}
	noDoubleEffect(t, sim, batch, 1)
}

// A conversion of the same gclid and time already recorded under another
// transactionId is there: Google took it before. Before, SAM recorded it
// as rejected, and coverage reported a delivered conversion as refused.
func TestDuplicateGclidIsAlreadyRecorded(t *testing.T) {
	_, srv := newSim(t)
	d := newDest(t, srv, nil)
	first := batchOf(1)
	if out := d.Send(context.Background(), first); out[0].Status != activation.StatusAccepted {
		t.Fatalf("first: %+v", out[0])
	}
	again := first[0]
	again.Key = fmt.Sprintf("%032x", 0xdef000)
	out := d.Send(context.Background(), []activation.Event{again})
	if out[0].Status != activation.StatusAccepted || !strings.Contains(out[0].Detail, "already recorded") {
		t.Errorf("same gclid and time again: %+v, want accepted as already recorded", out[0])
	}
}
