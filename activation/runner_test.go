package activation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fakeDest answers with a scripted status per key (accepted by default)
// and records every request it received.
type fakeDest struct {
	name     string
	dedup    time.Duration
	maxBatch int
	script   map[string]Status
	check    func(Event) Decision

	mu       sync.Mutex
	requests [][]string
}

func (f *fakeDest) Name() string               { return f.name }
func (f *fakeDest) DedupWindow() time.Duration { return f.dedup }
func (f *fakeDest) BatchKey(e Event) string    { return e.ClientKey }
func (f *fakeDest) MaxBatch() int              { return f.maxBatch }
func (f *fakeDest) Takes(s string) bool        { return s != StageLost }
func (f *fakeDest) Check(e Event, _ time.Time) Decision {
	if f.check != nil {
		return f.check(e)
	}
	return Decision{}
}
func (f *fakeDest) Send(_ context.Context, batch []Event) []Outcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	out := make([]Outcome, len(batch))
	for i, e := range batch {
		keys = append(keys, e.Key)
		out[i] = Outcome{Status: StatusAccepted}
		if s, ok := f.script[e.Key]; ok {
			out[i] = Outcome{Status: s, Detail: "scripted"}
		}
	}
	f.requests = append(f.requests, keys)
	return out
}

func (f *fakeDest) received() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, r := range f.requests {
		for _, k := range r {
			n[k]++
		}
	}
	return n
}

func events(n int, clients int) SliceEvents {
	var out SliceEvents
	for i := range n {
		out = append(out, Event{Key: fmt.Sprintf("k%03d", i), LeadID: fmt.Sprintf("L%d", i), Stage: StageSQL,
			EventAt: testNow.Add(-time.Hour), ClientKey: fmt.Sprintf("c%d", i*clients/n), Value: 10, Currency: "USD", ValueKind: ValuePredicted})
	}
	return out
}

func run(t *testing.T, l Ledger, ev EventSource, d ...Destination) Report {
	t.Helper()
	r := &Runner{Ledger: l, Events: ev, Destinations: d, Concurrency: 3, Now: func() time.Time { return testNow }}
	rep, err := r.Run(context.Background(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRunSendsEachKeyOnceAndBatchesByClient(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 4}
	ev := events(20, 3) // clients c0 (7 events), c1 (7), c2 (6)
	rep := run(t, l, ev, d)
	if got := rep.Destinations[0].Counts[StatusAccepted]; got != 20 {
		t.Fatalf("accepted %d, want 20", got)
	}
	for _, req := range d.requests {
		if len(req) > 4 {
			t.Errorf("request of %d events exceeds MaxBatch 4", len(req))
		}
	}
	if len(d.requests) != 6 { // 4+3, 4+3, 4+2
		t.Errorf("%d requests, want 6: %v", len(d.requests), d.requests)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("clean run reports %v", err)
	}
	rep = run(t, l, ev, d)
	if rep.Destinations[0].Done != 20 || rep.Destinations[0].Requests != 0 {
		t.Errorf("second run: done %d requests %d, want 20 and 0", rep.Destinations[0].Done, rep.Destinations[0].Requests)
	}
	for k, n := range d.received() {
		if n != 1 {
			t.Errorf("key %s received %d times", k, n)
		}
	}
}

func TestUnknownWithoutDedupIsNeverResentUntilReleased(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "ga4", maxBatch: 25, script: map[string]Status{"k001": StatusUnknown}}
	ev := events(3, 3)
	rep := run(t, l, ev, d)
	if got := rep.Destinations[0].CrashWindow; len(got) != 1 || got[0] != "k001" {
		t.Fatalf("crash window %v, want [k001]", got)
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "1 event(s) may or may not have arrived") || !strings.Contains(err.Error(), "sam writeback --release KEY,... --destination ga4") {
		t.Fatalf("Err() = %v, want the count and the release command", err)
	}
	delete(d.script, "k001")
	rep = run(t, l, ev, d)
	if d.received()["k001"] != 1 {
		t.Fatalf("an unknown key without dedup was re-sent: %d", d.received()["k001"])
	}
	if rep.Err() == nil {
		t.Fatal("a rerun with a key still in the crash window reports success")
	}
	r := &Runner{Ledger: l, Events: ev, Now: func() time.Time { return testNow }}
	if err := r.Release(context.Background(), "op", "ga4", []string{"k000"}); err == nil {
		t.Fatal("releasing a delivered key was accepted")
	}
	if err := r.Release(context.Background(), "op", "ga4", []string{"k001"}); err != nil {
		t.Fatal(err)
	}
	rep = run(t, l, ev, d)
	if d.received()["k001"] != 2 || rep.Err() != nil {
		t.Fatalf("after release: received %d, err %v; want 2 and nil", d.received()["k001"], rep.Err())
	}
}

func TestUnknownWithDedupIsResentWithTheSameKeyInsideTheWindow(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "meta", dedup: 48 * time.Hour, maxBatch: 10, script: map[string]Status{"k002": StatusUnknown}}
	ev := events(3, 1)
	run(t, l, ev, d)
	delete(d.script, "k002")
	rep := run(t, l, ev, d)
	if rep.Destinations[0].Resent != 1 || d.received()["k002"] != 2 {
		t.Fatalf("resent %d, received %d; want 1 and 2", rep.Destinations[0].Resent, d.received()["k002"])
	}
	if rep.Err() != nil {
		t.Fatalf("Err() = %v", rep.Err())
	}
	// Past the dedup window the key waits for an operator.
	l2 := &MemoryLedger{}
	d.script = map[string]Status{"k002": StatusUnknown}
	run(t, l2, ev, d)
	late := &Runner{Ledger: l2, Events: ev, Destinations: []Destination{d}, Now: func() time.Time { return testNow.Add(49 * time.Hour) }}
	rep, err := late.Run(context.Background(), "run2")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Destinations[0].CrashWindow) != 1 || rep.Destinations[0].Resent != 0 {
		t.Fatalf("past the dedup window: crash window %v, resent %d", rep.Destinations[0].CrashWindow, rep.Destinations[0].Resent)
	}
}

func TestSkipsAreRecordedOncePerChange(t *testing.T) {
	l := &MemoryLedger{}
	status := StatusNoConsent
	d := &fakeDest{name: "x", maxBatch: 10, check: func(Event) Decision { return Skip(status, "no ads consent") }}
	ev := events(2, 1)
	run(t, l, ev, d)
	run(t, l, ev, d)
	if n := len(l.Entries()); n != 2 {
		t.Fatalf("%d ledger entries after two identical runs, want 2", n)
	}
	status = StatusExpiredWindow
	rep := run(t, l, ev, d)
	if n := len(l.Entries()); n != 4 || rep.Destinations[0].Counts[StatusExpiredWindow] != 2 {
		t.Fatalf("%d entries, counts %v", n, rep.Destinations[0].Counts)
	}
	if len(d.requests) != 0 {
		t.Fatal("skipped events were sent")
	}
}

func TestGuardRefusesFreeTextAndUnhashedIdentifiers(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 10}
	ev := SliceEvents{
		{Key: "a", Stage: StageDisqualified, Reason: "spoke to jane doe", ClientKey: "c"},
		{Key: "b", Stage: StageSQL, EmailSHA256: "jane@example.com", ClientKey: "c"},
		{Key: "c", Stage: StageWon, Value: 100, ClientKey: "c"},
		{Key: "d", Stage: StageDisqualified, Reason: "no_budget", ClientKey: "c"},
	}
	rep := run(t, l, ev, d)
	if rep.Destinations[0].Counts[StatusRejected] != 3 || d.received()["d"] != 1 || len(d.received()) != 1 {
		t.Fatalf("counts %v, received %v", rep.Destinations[0].Counts, d.received())
	}
}

func TestFailedIsSentAgainAndReported(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 10, script: map[string]Status{"k000": StatusFailed}}
	ev := events(1, 1)
	rep := run(t, l, ev, d)
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "1 event(s) failed") {
		t.Fatalf("Err() = %v", err)
	}
	delete(d.script, "k000")
	rep = run(t, l, ev, d)
	if d.received()["k000"] != 2 || rep.Err() != nil {
		t.Fatalf("received %d, err %v", d.received()["k000"], rep.Err())
	}
}

func TestDisabledDestinationsAreRecordedForCoverage(t *testing.T) {
	l := &MemoryLedger{}
	r := &Runner{Ledger: l, Events: events(3, 1), Disabled: []Disabled{{Name: "linkedin", Stages: []string{StageSQL}}}, Now: func() time.Time { return testNow }}
	rep, err := r.Run(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Destinations[0].Counts[StatusDisabled] != 3 || len(l.Entries()) != 3 {
		t.Fatalf("counts %v entries %d", rep.Destinations[0].Counts, len(l.Entries()))
	}
	if _, err := r.Run(context.Background(), "r2"); err != nil {
		t.Fatal(err)
	}
	if len(l.Entries()) != 3 {
		t.Fatalf("disabled recorded again: %d entries", len(l.Entries()))
	}
}

func TestIntentIsDurableBeforeTheRequest(t *testing.T) {
	l := &MemoryLedger{}
	var sawIntent bool
	d := &probeDest{fakeDest: fakeDest{name: "x", maxBatch: 10}, before: func(batch []Event) {
		st, _ := l.States(context.Background(), "x")
		sawIntent = st[batch[0].Key].Open
	}}
	run(t, l, events(1, 1), d)
	if !sawIntent {
		t.Fatal("the request was made before its intent was in the ledger")
	}
}

type probeDest struct {
	fakeDest
	before func([]Event)
}

func (p *probeDest) Send(ctx context.Context, batch []Event) []Outcome {
	p.before(batch)
	return p.fakeDest.Send(ctx, batch)
}

// At any moment the keys a kill -9 would leave open are those of the
// requests in flight: Concurrency × MaxBatch at most.
func TestCrashWindowIsBoundedByRequestsInFlight(t *testing.T) {
	l := &MemoryLedger{}
	var mu sync.Mutex
	maxOpen := 0
	d := &probeDest{fakeDest: fakeDest{name: "ga4", maxBatch: 2}, before: func([]Event) {
		st, _ := l.States(context.Background(), "ga4")
		n := 0
		for _, s := range st {
			if s.Open {
				n++
			}
		}
		mu.Lock()
		maxOpen = max(maxOpen, n)
		mu.Unlock()
		time.Sleep(time.Millisecond)
	}}
	run(t, l, events(60, 30), d) // Concurrency 3
	if maxOpen > 3*2 {
		t.Fatalf("up to %d keys were open at once, want at most 6", maxOpen)
	}
	if maxOpen == 0 {
		t.Fatal("probe saw no open key")
	}
}

func TestStagesADestinationDoesNotTakeAreNotItsBusiness(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 10}
	ev := SliceEvents{{Key: "a", Stage: StageLost, ClientKey: "c"}, {Key: "b", Stage: StageWon, ClientKey: "c", Value: 5, Currency: "EUR"}}
	rep := run(t, l, ev, d)
	if rep.Destinations[0].Events != 1 || len(l.Entries()) != 2 || d.received()["a"] != 0 {
		t.Fatalf("events %d, entries %d, received %v", rep.Destinations[0].Events, len(l.Entries()), d.received())
	}
}

func TestUnknownOnADedupDestinationStillFailsTheRun(t *testing.T) {
	d := &fakeDest{name: "google_ads", dedup: 90 * 24 * time.Hour, maxBatch: 10, script: map[string]Status{"k000": StatusUnknown}}
	rep := run(t, &MemoryLedger{}, events(2, 1), d)
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "1 event(s) have an unknown outcome") || !strings.Contains(err.Error(), "next run sends them again") {
		t.Fatalf("Err() = %v", err)
	}
}

// Skips counted by the reader and outcomes counted by the collector must
// not race (go test -race).
func TestMixedSkipsAndSendsCountWithoutRacing(t *testing.T) {
	d := &fakeDest{name: "x", maxBatch: 1, check: func(e Event) Decision {
		if e.Key[len(e.Key)-1]%2 == 0 {
			return Skip(StatusNoConsent, "no consent")
		}
		return Decision{}
	}}
	rep := run(t, &MemoryLedger{}, events(200, 200), d)
	c := rep.Destinations[0].Counts
	if c[StatusNoConsent]+c[StatusAccepted] != 200 {
		t.Fatalf("counts %v", c)
	}
}

func TestValidateAndDryRunRecordNothing(t *testing.T) {
	for _, mode := range []string{ModeValidate, ModeDryRun} {
		l := &MemoryLedger{}
		d := &previewDest{fakeDest: fakeDest{name: "x", maxBatch: 2}}
		var out strings.Builder
		r := &Runner{Ledger: l, Events: events(3, 1), Destinations: []Destination{d}, Mode: mode, Out: &out, Now: func() time.Time { return testNow }}
		rep, err := r.Run(context.Background(), "v")
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Entries()) != 0 {
			t.Errorf("%s: %d ledger entries, want none", mode, len(l.Entries()))
		}
		switch mode {
		case ModeDryRun:
			if len(d.received()) != 0 || rep.Destinations[0].Previewed != 3 || strings.Count(out.String(), "\n") != 2 {
				t.Errorf("dry run: received %v, previewed %d, out %q", d.received(), rep.Destinations[0].Previewed, out.String())
			}
		case ModeValidate:
			if len(d.received()) != 3 || rep.Err() != nil {
				t.Errorf("validate: received %v, err %v", d.received(), rep.Err())
			}
		}
	}
}

type previewDest struct{ fakeDest }

func (p *previewDest) Preview(w io.Writer, batch []Event, _ time.Time) error {
	_, err := fmt.Fprintf(w, "%d events\n", len(batch))
	return err
}

func TestDecide(t *testing.T) {
	ga4 := &fakeDest{name: "ga4", maxBatch: 25}
	ads := &fakeDest{name: "google_ads", dedup: 48 * time.Hour, maxBatch: 25}
	consentless := &fakeDest{name: "meta", dedup: 48 * time.Hour, maxBatch: 25, check: func(Event) Decision { return Skip(StatusNoConsent, "no consent") }}
	ok := Event{Key: "k", Stage: StageSQL, ClientKey: "c"}
	freeText := Event{Key: "k", Stage: StageDisqualified, Reason: "called Jane", ClientKey: "c"}
	recent, old := testNow.Add(-time.Hour), testNow.Add(-72*time.Hour)
	cases := []struct {
		name string
		e    Event
		st   KeyState
		d    Destination
		want verdict
	}{
		{"new key is sent", ok, KeyState{}, ga4, verdict{step: stepSend}},
		{"delivered key is done", ok, KeyState{Last: StatusSent}, ga4, verdict{step: stepDone}},
		{"refused key is done", ok, KeyState{Last: StatusRejected}, ads, verdict{step: stepDone}},
		{"failed key is sent again", ok, KeyState{Last: StatusFailed}, ga4, verdict{step: stepSend}},
		{"open key without dedup waits", ok, KeyState{Open: true, LastIntent: recent}, ga4, verdict{step: stepCrashWindow}},
		{"open key with dedup is re-sent inside the window", ok, KeyState{Open: true, LastIntent: recent}, ads, verdict{step: stepSend, resend: true}},
		{"open key with dedup waits past the window", ok, KeyState{Open: true, LastIntent: old}, ads, verdict{step: stepCrashWindow}},
		{"released key is sent", ok, KeyState{Last: StatusReleased}, ga4, verdict{step: stepSend}},
		{"guard before the destination", freeText, KeyState{}, consentless, verdict{step: stepSkip, record: true,
			decision: Skip(StatusRejected, "guard: reason is not in the fixed vocabulary")}},
		{"a new skip is recorded", ok, KeyState{}, consentless, verdict{step: stepSkip, record: true, decision: Skip(StatusNoConsent, "no consent")}},
		{"the same skip again is not", ok, KeyState{Last: StatusNoConsent, LastDetail: "no consent"}, consentless,
			verdict{step: stepSkip, decision: Skip(StatusNoConsent, "no consent")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decide(c.e, c.st, c.d, testNow); got != c.want {
				t.Errorf("decide = %+v, want %+v", got, c.want)
			}
		})
	}
}

// pooledDest is a destination with an HTTP connection pool: it records
// when the runner closes its idle connections and whether it sent after.
type pooledDest struct {
	fakeDest
	closes, sendsAfterClose int
}

func (p *pooledDest) CloseIdleConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closes++
}

func (p *pooledDest) Send(ctx context.Context, batch []Event) []Outcome {
	p.mu.Lock()
	if p.closes > 0 {
		p.sendsAfterClose++
	}
	p.mu.Unlock()
	return p.fakeDest.Send(ctx, batch)
}

// failingEvents fails the read of the events after none.
type failingEvents struct{}

func (failingEvents) ForEach(context.Context, func(Event) error) error {
	return errors.New("events table unreadable")
}

// The runner closes each destination's idle connections once it is done
// with it, failed or not: a connection left in the pool keeps a local
// server's graceful shutdown waiting (ga4 TestRunLeavesNoConnectionOpen).
func TestRunClosesEachDestinationsIdleConnections(t *testing.T) {
	a := &pooledDest{fakeDest: fakeDest{name: "a", maxBatch: 4}}
	b := &pooledDest{fakeDest: fakeDest{name: "b", maxBatch: 4}}
	run(t, &MemoryLedger{}, events(20, 5), a, b)
	for _, d := range []*pooledDest{a, b} {
		if d.closes != 1 || d.sendsAfterClose != 0 || len(d.requests) == 0 {
			t.Errorf("%s: %d requests, idle connections closed %d times, %d sends after, want some requests, 1 and 0",
				d.name, len(d.requests), d.closes, d.sendsAfterClose)
		}
	}
	c := &pooledDest{fakeDest: fakeDest{name: "c", maxBatch: 4}}
	r := &Runner{Ledger: &MemoryLedger{}, Events: failingEvents{}, Destinations: []Destination{c}, Now: func() time.Time { return testNow }}
	if _, err := r.Run(context.Background(), "run2"); err == nil {
		t.Fatal("a run whose events cannot be read succeeded")
	}
	if c.closes != 1 {
		t.Errorf("after a failed delivery the idle connections were closed %d times, want 1", c.closes)
	}
}

// countingLedger counts Appends and the entries of each.
type countingLedger struct {
	MemoryLedger
	mu     sync.Mutex
	writes [][]Status
}

func (c *countingLedger) Append(ctx context.Context, entries []Entry) error {
	var st []Status
	for _, e := range entries {
		st = append(st, e.Status)
	}
	c.mu.Lock()
	c.writes = append(c.writes, st)
	c.mu.Unlock()
	return c.MemoryLedger.Append(ctx, entries)
}

// A request's outcomes and the next request's intents share one ledger
// write when the next batch is waiting: on BigQuery each write is a DML job
// of a second or two, and one sender's requests used to wait for two.
func TestOutcomesAndTheNextIntentsShareOneWrite(t *testing.T) {
	l := &countingLedger{}
	d := &probeDest{fakeDest: fakeDest{name: "x", maxBatch: 1}, before: func([]Event) { time.Sleep(time.Millisecond) }}
	r := &Runner{Ledger: l, Events: events(10, 10), Destinations: []Destination{d}, Concurrency: 1, Now: func() time.Time { return testNow }}
	if _, err := r.Run(context.Background(), "run1"); err != nil {
		t.Fatal(err)
	}
	want := [][]Status{{StatusIntent}}
	for range 9 {
		want = append(want, []Status{StatusAccepted, StatusIntent})
	}
	want = append(want, []Status{StatusAccepted})
	if fmt.Sprint(l.writes) != fmt.Sprint(want) {
		t.Errorf("ledger writes %v, want %v", l.writes, want)
	}
}

// A destination that fails every request (down, or unreachable) is given
// up on for the run once enough requests in a row have failed: the rest of
// its events are not attempted, keep no ledger entry, and wait for the next
// run. Before, every request made all its attempts: against a closed port
// 63 events took 47 s, and a first run of 18,500 requests would have spent
// hours of its job's timeout on it.
func TestDestinationFailingEveryRequestIsGivenUpForTheRun(t *testing.T) {
	l := &MemoryLedger{}
	ev := events(400, 400) // 400 clients: a request each
	script := map[string]Status{}
	for _, e := range ev {
		script[e.Key] = StatusFailed
	}
	d := &fakeDest{name: "ga4", maxBatch: 25, script: script}
	r := &Runner{Ledger: l, Events: ev, Destinations: []Destination{d}, Concurrency: 3, Now: func() time.Time { return testNow }}
	rep, err := r.Run(context.Background(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	dr := rep.Destinations[0]
	if dr.Requests > failedInARowToStop+r.Concurrency || dr.NotAttempted != 400-dr.Requests {
		t.Errorf("%d requests and %d events not attempted; want at most %d requests and the rest not attempted", dr.Requests, dr.NotAttempted, failedInARowToStop+r.Concurrency)
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "in a row failed or got no answer") || !strings.Contains(err.Error(), fmt.Sprintf("%d event(s) wait for the next run", dr.NotAttempted)) {
		t.Errorf("Err() = %v, want the stop and the events left for the next run", err)
	}
	// A destination that answers again: the next run sends what was left.
	d.script = nil
	rep = run(t, l, ev, d)
	if got := rep.Destinations[0].Counts[StatusAccepted]; got != 400 {
		t.Errorf("next run accepted %d, want all 400", got)
	}
}

// refusingDest refuses every request whole, as a platform that no longer
// honours the destination's credentials does.
type refusingDest struct{ fakeDest }

func (d *refusingDest) Send(ctx context.Context, batch []Event) []Outcome {
	d.fakeDest.Send(ctx, batch)
	out := make([]Outcome, len(batch))
	for i := range out {
		out[i] = Outcome{Status: StatusFailed, Detail: "refused: HTTP 401 REVOKED_ACCESS_TOKEN"}
	}
	return out
}

// A destination given up for the run says why, with the last failure:
// "failed or got no answer" alone does not tell a revoked token, which
// needs someone to renew it, from an outage, which passes by itself.
func TestAGivenUpDestinationNamesItsLastFailure(t *testing.T) {
	d := &refusingDest{fakeDest{name: "linkedin", maxBatch: 25}}
	r := &Runner{Ledger: &MemoryLedger{}, Events: events(400, 400), Destinations: []Destination{d}, Concurrency: 2, Now: func() time.Time { return testNow }}
	rep, err := r.Run(context.Background(), "run1")
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "given up for this run") || !strings.Contains(err.Error(), "the last failure: refused: HTTP 401 REVOKED_ACCESS_TOKEN") {
		t.Errorf("Err() = %v, want the destination given up and its last failure named", err)
	}
}

// A failure among successes is not an outage: the run goes on.
func TestScatteredFailuresDoNotStopADestination(t *testing.T) {
	l := &MemoryLedger{}
	ev := events(200, 200)
	script := map[string]Status{}
	for i, e := range ev {
		if i%2 == 0 {
			script[e.Key] = StatusFailed
		}
	}
	d := &fakeDest{name: "ga4", maxBatch: 25, script: script}
	rep := run(t, l, ev, d)
	if dr := rep.Destinations[0]; dr.Requests != 200 || dr.NotAttempted != 0 {
		t.Errorf("%d requests, %d not attempted; want all 200 sent", dr.Requests, dr.NotAttempted)
	}
}

// A server that takes requests and never answers leaves each one unknown,
// and for GA4 in the crash window an operator must clear by hand: the
// runner stops adding to it once enough requests in a row got no answer.
func TestDestinationAnsweringNothingIsGivenUpForTheRun(t *testing.T) {
	l := &MemoryLedger{}
	ev := events(400, 400)
	script := map[string]Status{}
	for _, e := range ev {
		script[e.Key] = StatusUnknown
	}
	d := &fakeDest{name: "ga4", maxBatch: 25, script: script}
	rep := run(t, l, ev, d)
	dr := rep.Destinations[0]
	if len(dr.CrashWindow) > failedInARowToStop+3 || dr.NotAttempted != 400-dr.Requests {
		t.Errorf("crash window %d keys, %d not attempted; want at most %d in the window and the rest not attempted", len(dr.CrashWindow), dr.NotAttempted, failedInARowToStop+3)
	}
}

// A CRM that moves a stage's time gives the stage event a new key. Before,
// the new key was sent as a new event: a second MQL conversion for the same
// lead at Google Ads and LinkedIn, a second qualify_lead in GA4. A stage of
// a lead that reached the destination under another key now stays
// delivered; a stage whose earlier key did not reach it is still sent.
func TestAStageAlreadyDeliveredUnderAnotherKeyIsNotSentAgain(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 10, script: map[string]Status{"k001": StatusRejected}}
	ev := events(3, 3)
	run(t, l, ev, d)
	moved := SliceEvents{ev[0], ev[1], ev[2]}
	moved[0].Key, moved[0].EventAt = "k000-moved", ev[0].EventAt.Add(-time.Hour) // was accepted
	moved[1].Key = "k001-moved"                                                  // was rejected
	rep := run(t, l, moved, d)
	got := d.received()
	if got["k000-moved"] != 0 {
		t.Errorf("L0's sql stage was sent again under its new key")
	}
	if got["k001-moved"] != 1 {
		t.Errorf("L1's sql stage, rejected before, was not sent under its new key")
	}
	if n := rep.Destinations[0].Counts[StatusAlreadyDelivered]; n != 1 {
		t.Errorf("already delivered %d, want 1 (counts %v)", n, rep.Destinations[0].Counts)
	}
	var recorded bool
	for _, e := range l.Entries() {
		if e.Key == "k000-moved" && e.Status == StatusAlreadyDelivered && strings.Contains(e.Detail, "k000") {
			recorded = true
		}
	}
	if !recorded {
		t.Error("the ledger does not say which key delivered the stage")
	}
}

// A CRM merge (HubSpot makes a new record with a new id) gives the merged
// person's stage events a new lead id, so new keys: a won deal, an MQL
// already sent under a merged-away id went out again, a second conversion
// at every platform. A stage delivered under any id merged into the lead
// stays delivered.
func TestAStageDeliveredUnderAMergedAwayLeadIsNotSentAgain(t *testing.T) {
	l := &MemoryLedger{}
	d := &fakeDest{name: "x", maxBatch: 10}
	ev := events(2, 2) // L0 and L1, each at the sql stage
	run(t, l, ev, d)
	merged := ev[0]
	merged.Key, merged.LeadID, merged.FormerLeadIDs = "k-merged", "L9", []string{ev[0].LeadID, ev[1].LeadID}
	rep := run(t, l, SliceEvents{merged}, d)
	if d.received()["k-merged"] != 0 {
		t.Error("the merged lead's sql stage, delivered under L0, was sent again")
	}
	if n := rep.Destinations[0].Counts[StatusAlreadyDelivered]; n != 1 {
		t.Errorf("already delivered %d, want 1 (counts %v)", n, rep.Destinations[0].Counts)
	}
}

// watchedLog is a log sink that closes seen once a line holding want is
// written.
type watchedLog struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchedLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(string(p), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchedLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// gatedDest holds its third request until gate closes, or 5 s pass.
type gatedDest struct {
	fakeDest
	gate  <-chan struct{}
	calls int
}

func (g *gatedDest) Send(ctx context.Context, batch []Event) []Outcome {
	g.mu.Lock()
	g.calls++
	n := g.calls
	g.mu.Unlock()
	if n == 3 {
		select {
		case <-g.gate:
		case <-time.After(5 * time.Second):
		}
	}
	return g.fakeDest.Send(ctx, batch)
}

// A delivery under way says how far it got: a first run over a year of
// leads sends for minutes, and for hours where ledger writes are slow.
func TestALongDeliveryLogsItsProgress(t *testing.T) {
	w := &watchedLog{want: "requests_answered=2 ", seen: make(chan struct{})}
	// Five clients of four events: five requests, one at a time; the third
	// waits until a progress line says two were answered.
	d := &gatedDest{fakeDest: fakeDest{name: "x", maxBatch: 4}, gate: w.seen}
	r := &Runner{Ledger: &MemoryLedger{}, Events: events(20, 5), Destinations: []Destination{d}, Concurrency: 1,
		Now: func() time.Time { return testNow }, ProgressEvery: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(w, nil))}
	if _, err := r.Run(context.Background(), "run1"); err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(w.String()) {
		if strings.Contains(l, "requests_answered=2 ") {
			line = l
			break
		}
	}
	for _, want := range []string{"msg=delivering destination=x ", "events_answered=8 ", "requests_per_second=", "elapsed="} {
		if !strings.Contains(line, want) {
			t.Fatalf("no progress line while the third request waited says %q: %q\nlog:\n%s", want, line, w.String())
		}
	}
}
