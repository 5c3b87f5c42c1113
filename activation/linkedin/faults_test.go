package linkedin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/tests/linkedinsim"
)

func threeEvents(prefix string) []activation.Event {
	return []activation.Event{ev(prefix+"0", activation.StageSQL), ev(prefix+"1", activation.StageSQL), ev(prefix+"2", activation.StageSQL)}
}

// waitReceived polls until the simulator has received a key n times (a
// request that timed out on the client is processed later on the server).
func waitReceived(t *testing.T, sim *linkedinsim.Server, k string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for sim.Key(k).Received < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFaultMatrix runs the simulator's faults against Send: every key takes
// effect at most once (repeats are the same key, deduplicated), and the
// outcomes say what is known.
func TestFaultMatrix(t *testing.T) {
	type want struct {
		status   []activation.Status
		received []int
		effect   []int
		detail   string // in every non-accepted outcome
	}
	acc := activation.StatusAccepted
	unk := activation.StatusUnknown
	fail := activation.StatusFailed
	cases := []struct {
		name   string
		faults map[int]linkedinsim.Fault
		mod    func(*Options)
		want   want
	}{
		{"reset after read, then answered", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.ResetAfterRead}}, nil,
			want{[]activation.Status{acc, acc, acc}, []int{2, 2, 2}, []int{1, 1, 1}, ""}},
		{"reset after read every time", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.ResetAfterRead}, 2: {Kind: linkedinsim.ResetAfterRead}, 3: {Kind: linkedinsim.ResetAfterRead}, 4: {Kind: linkedinsim.ResetAfterRead}}, nil,
			want{[]activation.Status{unk, unk, unk}, []int{4, 4, 4}, []int{1, 1, 1}, "may have arrived"}},
		{"timeout after read, then answered", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.TimeoutAfterRead, Delay: 400 * time.Millisecond}},
			func(o *Options) { o.Timeout = 100 * time.Millisecond },
			want{[]activation.Status{acc, acc, acc}, []int{2, 2, 2}, []int{1, 1, 1}, ""}},
		{"timeout after read every time", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.TimeoutAfterRead, Delay: 300 * time.Millisecond}, 2: {Kind: linkedinsim.TimeoutAfterRead, Delay: 300 * time.Millisecond}},
			func(o *Options) { o.Timeout, o.Retry.Attempts = 100*time.Millisecond, 2 },
			want{[]activation.Status{unk, unk, unk}, []int{2, 2, 2}, []int{1, 1, 1}, "no answer within 100ms"}},
		{"5xx after read, then answered", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.ServerErrorAfterRead, Status: 503}}, nil,
			want{[]activation.Status{acc, acc, acc}, []int{2, 2, 2}, []int{1, 1, 1}, ""}},
		{"5xx after read every time", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.ServerErrorAfterRead}, 2: {Kind: linkedinsim.ServerErrorAfterRead}},
			func(o *Options) { o.Retry.Attempts = 2 },
			want{[]activation.Status{unk, unk, unk}, []int{2, 2, 2}, []int{1, 1, 1}, "may have arrived: HTTP 500"}},
		{"429 with Retry-After, then answered", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.TooManyRequests, RetryAfter: 3 * time.Second}}, nil,
			want{[]activation.Status{acc, acc, acc}, []int{1, 1, 1}, []int{1, 1, 1}, ""}},
		{"429 every time", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.TooManyRequests}, 2: {Kind: linkedinsim.TooManyRequests}},
			func(o *Options) { o.Retry.Attempts = 2 },
			want{[]activation.Status{fail, fail, fail}, []int{0, 0, 0}, []int{0, 0, 0}, "HTTP 429 TOO_MANY_REQUESTS"}},
		{"reset, then 429 every time", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.ResetAfterRead}, 2: {Kind: linkedinsim.TooManyRequests}},
			func(o *Options) { o.Retry.Attempts = 2 },
			want{[]activation.Status{unk, unk, unk}, []int{1, 1, 1}, []int{1, 1, 1}, "429"}},
		{"partial failure, retried", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.PartialFailure, RejectEvery: 2}}, nil,
			want{[]activation.Status{acc, acc, acc}, []int{2, 1, 2}, []int{1, 1, 1}, ""}},
		{"partial failure, no retries left", map[int]linkedinsim.Fault{1: {Kind: linkedinsim.PartialFailure, RejectEvery: 2}},
			func(o *Options) { o.Retry.Attempts = 1 },
			want{[]activation.Status{unk, acc, unk}, []int{1, 1, 1}, []int{0, 1, 0}, "element 500 INTERNAL_SERVER_ERROR"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.mod)
			for n, f := range c.faults {
				h.sim.InjectNth(n, f)
			}
			batch := threeEvents("f")
			out := h.send(batch...)
			for i, e := range batch {
				k := key(urnSQL, e.Key)
				waitReceived(t, h.sim, k, c.want.received[i])
				if out[i].Status != c.want.status[i] {
					t.Errorf("event %d: %+v, want %s", i, out[i], c.want.status[i])
				}
				if out[i].Status != acc && !strings.Contains(out[i].Detail, c.want.detail) {
					t.Errorf("event %d: detail %q lacks %q", i, out[i].Detail, c.want.detail)
				}
				if strings.Contains(out[i].Detail, token) {
					t.Errorf("event %d: detail shows the token", i)
				}
				if got := h.sim.Key(k); got.Received != c.want.received[i] || got.Effective != c.want.effect[i] {
					t.Errorf("event %d: simulator %+v, want received %d effective %d", i, got, c.want.received[i], c.want.effect[i])
				}
			}
			h.noDoubleEffect(t)
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.InjectNth(1, linkedinsim.Fault{Kind: linkedinsim.TooManyRequests, RetryAfter: 7 * time.Second})
	if o := h.send(ev("k", activation.StageSQL))[0]; o.Status != activation.StatusAccepted {
		t.Fatalf("%+v", o)
	}
	if len(h.waits) != 1 || h.waits[0] < 7*time.Second {
		t.Errorf("waits %v, want one of at least 7s", h.waits)
	}
}

// A day's throttle is not retried within the run.
func TestDayLimitIsNotRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.SetClock(time.Now)
	h.d.opts.Now = time.Now
	h.sim.SetLimit(linkedinsim.Limit{Rate: 0.001, Burst: 1})
	e := ev("a", activation.StageSQL)
	e.EventAt = time.Now().Add(-time.Hour)
	h.send(e)
	// The simulator says MINUTE: retried until the attempts run out.
	e.Key = "b"
	if o := h.send(e)[0]; o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "after 4 attempts") {
		t.Errorf("minute throttle: %+v", o)
	}
	// The same answer naming a DAY window is given up at once.
	a := answer{status: http.StatusTooManyRequests, body: errorBody{Status: 429, ServiceErrorCode: 101, Code: "TOO_MANY_REQUESTS", Message: "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."}}
	out := make([]activation.Outcome, 1)
	if _, err := h.d.settle(a, []int{0}, out, make([]bool, 1), make([]string, 1)); err == nil {
		t.Fatal("no error")
	} else if ok, _ := retryable(err); ok {
		t.Error("a day's throttle is retried")
	}
}

func TestElementRejectedAndWholeRequestRefused(t *testing.T) {
	t.Run("element 422", func(t *testing.T) {
		h := newHarness(t, nil)
		// The simulator's clock runs two days ahead: to it the first event
		// is 91 days old.
		h.sim.SetClock(func() time.Time { return testNow.Add(48 * time.Hour) })
		old, fresh := ev("old", activation.StageWon), ev("fresh", activation.StageWon)
		old.EventAt = testNow.Add(-89 * 24 * time.Hour)
		out := h.send(old, fresh)
		if out[0].Status != activation.StatusRejected || !strings.Contains(out[0].Detail, "element 422 UNPROCESSABLE_ENTITY: conversionHappenedAt is more than 90 days") {
			t.Errorf("old: %+v", out[0])
		}
		if out[1].Status != activation.StatusAccepted {
			t.Errorf("fresh: %+v", out[1])
		}
	})
	t.Run("401", func(t *testing.T) {
		h := newHarness(t, func(o *Options) {
			o.HTTPClient = &http.Client{Transport: stripAuth{o.HTTPClient.Transport}}
		})
		out := h.send(threeEvents("u")...)
		for _, o := range out {
			if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "refused: HTTP 401 INVALID_ACCESS_TOKEN") || strings.Contains(o.Detail, token) {
				t.Errorf("%+v", o)
			}
		}
		if h.sim.Stats().Events != 0 {
			t.Error("a refused request took effect")
		}
	})
	t.Run("403", func(t *testing.T) {
		// The member who authorized the token only views the ad account.
		// Before, the detail gave LinkedIn's message alone, which does not
		// say which of the two conditions failed.
		h := newHarness(t, nil)
		h.sim.Authorize(token, "VIEWER", "rw_conversions", "r_ads")
		for _, o := range h.send(threeEvents("p")...) {
			if o.Status != activation.StatusFailed || !strings.HasPrefix(o.Detail, "refused: HTTP 403 ACCESS_DENIED: Not enough permissions to access: conversionEvents.BATCH_CREATE.") ||
				!strings.HasSuffix(o.Detail, "; the token needs the scopes rw_conversions and r_ads, and the member who authorized it one of the roles ACCOUNT_BILLING_ADMIN, ACCOUNT_MANAGER, CAMPAIGN_MANAGER or CREATIVE_MANAGER on the ad account of the conversion rules (VIEWER is not enough): authorize SAM again as such a member, with those scopes") {
				t.Errorf("%+v", o)
			}
		}
		if n := len(h.rec.requests()); n != 1 {
			t.Errorf("%d requests, want the refused one made once", n)
		}
	})
	t.Run("no server", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.Retry.Attempts = 2 })
		h.srv.Close()
		for _, o := range h.send(threeEvents("n")...) {
			if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "not sent") {
				t.Errorf("%+v", o)
			}
		}
	})
	t.Run("stopped run", func(t *testing.T) {
		h := newHarness(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, o := range h.d.Send(ctx, threeEvents("c")) {
			if o.Status != activation.StatusFailed || !strings.Contains(o.Detail, "stopped") {
				t.Errorf("%+v", o)
			}
		}
	})
}

type stripAuth struct{ next http.RoundTripper }

func (s stripAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Authorization")
	return s.next.RoundTrip(r)
}

// TestRunnerAgainstFaults drives the destination through the activation
// runner and its ledger while a third of the requests meet a fault: after
// a rerun every event is accepted once, and no key took effect twice.
func TestRunnerAgainstFaults(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBatch, o.Retry.Attempts = 7, 2 })
	var events activation.SliceEvents
	for i := range 60 {
		events = append(events, ev(fmt.Sprintf("r%02d", i), stages[i%len(stages)]))
	}
	kinds := []linkedinsim.FaultKind{linkedinsim.ResetAfterRead, linkedinsim.ServerErrorAfterRead, linkedinsim.TooManyRequests, linkedinsim.PartialFailure}
	for i, k := range kinds {
		h.sim.InjectFraction(0.1, uint64(i+1), linkedinsim.Fault{Kind: k})
	}
	l := &activation.MemoryLedger{}
	r := &activation.Runner{Ledger: l, Events: events, Destinations: []activation.Destination{h.d}, Concurrency: 3, Now: func() time.Time { return testNow }}
	for run := range 4 {
		if _, err := r.Run(context.Background(), fmt.Sprint("run", run)); err != nil {
			t.Fatal(err)
		}
	}
	h.sim.ClearFaults()
	rep, err := r.Run(context.Background(), "final")
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("after the reruns: %v", err)
	}
	states, _ := l.States(context.Background(), "linkedin")
	for _, e := range events {
		if st := states[e.Key]; st.Last != activation.StatusAccepted {
			t.Errorf("%s: %+v", e.Key, st)
		}
		if got := h.sim.Key(key(h.d.urns[e.Stage], e.Key)); got.Effective != 1 {
			t.Errorf("%s: simulator %+v", e.Key, got)
		}
	}
	h.noDoubleEffect(t)
	if st := h.sim.Stats(); st.Injected == 0 {
		t.Error("no fault was injected")
	}
}
