package activation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc/pool"
)

// EventSource yields the events to deliver, ordered by client key, event
// time and key (so GA4's per-client batches form as events stream by).
type EventSource interface {
	ForEach(ctx context.Context, fn func(Event) error) error
}

// Runner drives destinations through the ledger.
type Runner struct {
	Ledger Ledger
	Events EventSource
	// Destinations are the enabled destinations; Disabled are the ones
	// that are not configured, recorded as such for coverage.
	Destinations []Destination
	Disabled     []Disabled
	// Concurrency is how many requests per destination are in flight at
	// once: the crash window's bound (default 8).
	Concurrency int
	// Mode is ModeSend (the default), ModeValidate or ModeDryRun. Validate
	// sends to the destinations' validation or test endpoints (they are
	// built in that mode) and dry-run previews payloads without sending;
	// neither writes the ledger, so nothing they touch counts as delivered.
	Mode string
	// Out receives dry-run payloads, one per line.
	Out io.Writer
	Now func() time.Time
	// Logger receives what the runner logs, by destination; the caller's
	// logger carries the run's id (jobs' does), so the runner does not add it.
	Logger *slog.Logger
	// ProgressEvery is how often a delivery still under way logs how far
	// it got (default 10 s). A first run over a year of leads sends for
	// minutes at the GA4 rate limit, and for hours on BigQuery, where
	// every ledger write is a DML job.
	ProgressEvery time.Duration
}

// Runner modes.
const (
	ModeSend     = "send"
	ModeValidate = "validate"
	ModeDryRun   = "dry-run"
)

// Previewer is a destination that can render a batch's request body for a
// dry run.
type Previewer interface {
	Preview(w io.Writer, batch []Event, now time.Time) error
}

// Disabled names a destination that is not configured and the stages it
// would take.
type Disabled struct {
	Name   string
	Stages []string
}

// DestinationReport is one destination's part of a run.
type DestinationReport struct {
	Destination string
	Events      int
	// Counts holds this run's decision or outcome per event, skips
	// included; Done counts events finished by earlier runs.
	Counts map[Status]int
	Done   int
	Resent int // open keys re-sent under the destination's dedup
	// Previewed counts events a dry run printed.
	Previewed int
	Requests  int
	// Unknown lists this run's keys whose outcome is unknown; CrashWindow
	// every key still open and not safe to re-send, from any run.
	Unknown     []string
	CrashWindow []string
	// NotAttempted counts events this run did not send because the
	// destination failed failedInARowToStop requests in a row; they keep
	// no ledger entry and the next run sends them. LastFailure is then
	// the detail of the last failed or unknown outcome before the runner
	// gave up: a token the platform refuses reads otherwise like an
	// outage.
	NotAttempted int
	LastFailure  string
	Duration     time.Duration
	// Dedups says whether the destination deduplicates on the event key;
	// Validated that the run only validated (nothing was recorded).
	Dedups    bool
	Validated bool
}

// Report is a whole run.
type Report struct {
	RunID        string
	Destinations []DestinationReport
}

// Err is non-nil when any outcome is unknown or failed, or keys wait in a
// crash window: the run must not look successful. It names the counts and
// the command that releases or re-sends them.
func (r Report) Err() error {
	var problems []string
	for _, d := range r.Destinations {
		if n := len(d.CrashWindow); n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d event(s) may or may not have arrived and are not re-sent; check them at the destination, then `sam writeback --release KEY,... --destination %s` sends the ones that did not arrive", d.Destination, n, d.Destination))
		}
		if n := len(d.Unknown); n > 0 && d.Dedups {
			problems = append(problems, fmt.Sprintf("%s: %d event(s) have an unknown outcome; the destination deduplicates on their keys, so the next run sends them again", d.Destination, n))
		}
		if n := d.Counts[StatusRejected]; n > 0 && d.Validated {
			problems = append(problems, fmt.Sprintf("%s: %d event(s) failed validation", d.Destination, n))
		}
		if n := d.Counts[StatusFailed]; n > 0 && !d.Validated {
			problems = append(problems, fmt.Sprintf("%s: %d event(s) failed and are sent again by the next run", d.Destination, n))
		}
		if n := d.NotAttempted; n > 0 {
			p := fmt.Sprintf("%s: given up for this run after %d requests in a row failed or got no answer; %d event(s) wait for the next run", d.Destination, failedInARowToStop, n)
			if d.LastFailure != "" {
				p += "; the last failure: " + d.LastFailure
			}
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("activation run %s: %s", r.RunID, strings.Join(problems, "; "))
}

// committer writes the ledger, except in validate and dry-run modes,
// which record nothing.
func (r *Runner) committer() *committer {
	c := newCommitter(r.Ledger, r.Now)
	c.off = r.Mode == ModeValidate || r.Mode == ModeDryRun
	return c
}

func (r *Runner) defaults() {
	if r.Concurrency <= 0 {
		r.Concurrency = 8
	}
	if r.Mode == "" {
		r.Mode = ModeSend
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.ProgressEvery <= 0 {
		r.ProgressEvery = 10 * time.Second
	}
}

// Run delivers the events to every enabled destination and records the
// disabled ones. An error means the run could not do its job (the ledger
// or the event source failed); outcomes are in the report, and Report.Err
// says whether they need attention.
func (r *Runner) Run(ctx context.Context, runID string) (Report, error) {
	r.defaults()
	rep := Report{RunID: runID}
	for _, dis := range r.Disabled {
		dr, err := r.recordDisabled(ctx, runID, dis)
		rep.Destinations = append(rep.Destinations, dr)
		if err != nil {
			return rep, err
		}
	}
	for _, d := range r.Destinations {
		dr, err := r.deliver(ctx, runID, d)
		if c, ok := d.(idleCloser); ok {
			c.CloseIdleConnections()
		}
		rep.Destinations = append(rep.Destinations, dr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// idleCloser is a destination that keeps connections open between
// requests. The runner closes them when it is done with the destination:
// Go's HTTP client may dial a spare connection while the others are busy
// and never use it, and net/http's graceful Shutdown counts a connection
// that has sent no request as busy for 5 s, which held the writeback
// stage's in-process GA4 sink (and so the stage) for up to that long.
type idleCloser interface{ CloseIdleConnections() }

func entryFor(d string, e Event, s Status, detail, runID string) Entry {
	return Entry{Destination: d, Key: e.Key, LeadID: e.LeadID, Stage: e.Stage, ClientKey: e.ClientKey, Status: s, Detail: detail,
		Value: e.Value, Currency: e.Currency, ValueKind: e.ValueKind, EventAt: e.EventAt, RunID: runID}
}

// recordDisabled records every event a disabled destination would have
// had, once per change, so coverage shows what it misses.
func (r *Runner) recordDisabled(ctx context.Context, runID string, dis Disabled) (DestinationReport, error) {
	start := r.Now()
	name := dis.Name
	dr := DestinationReport{Destination: name, Counts: map[Status]int{}}
	states, err := r.Ledger.States(ctx, name)
	if err != nil {
		return dr, fmt.Errorf("activation: %s: read the ledger: %w", name, err)
	}
	w := r.committer()
	var pending []Entry
	err = r.Events.ForEach(ctx, func(e Event) error {
		if !slices.Contains(dis.Stages, e.Stage) {
			return nil
		}
		dr.Events++
		st := states[e.Key]
		if st.Done() || st.Open {
			dr.Done++
			return nil
		}
		dr.Counts[StatusDisabled]++
		if st.Last != StatusDisabled {
			pending = append(pending, entryFor(name, e, StatusDisabled, "destination not configured", runID))
		}
		if len(pending) >= 1000 {
			err := w.commit(ctx, pending)
			pending = nil
			return err
		}
		return nil
	})
	if err == nil {
		err = w.commit(ctx, pending)
	}
	dr.Duration = r.Now().Sub(start)
	if err != nil {
		return dr, fmt.Errorf("activation: %s: %w", name, err)
	}
	return dr, nil
}

// deliver runs one destination: decide per event, record skips, and send
// the rest through concurrent senders, each of which commits its intent
// before and its outcome after its request.
func (r *Runner) deliver(ctx context.Context, runID string, d Destination) (DestinationReport, error) {
	start := r.Now()
	name := d.Name()
	dr := DestinationReport{Destination: name, Counts: map[Status]int{}, Dedups: d.DedupWindow() > 0, Validated: r.Mode == ModeValidate}
	log := r.Logger.With("destination", name)
	states, err := r.Ledger.States(ctx, name)
	if err != nil {
		return dr, fmt.Errorf("activation: %s: read the ledger: %w", name, err)
	}
	w := r.committer()
	// Says once, if the run is stopped here, why it does not end at once.
	stopSaid := context.AfterFunc(ctx, func() {
		log.Warn("run stopping: no new request starts; the ones under way may finish within the destination's stop grace, and their outcomes are recorded")
	})
	defer stopSaid()

	batches := make(chan []Event)
	results := make(chan senderResult, r.Concurrency)
	brk := &breaker{onTrip: func() {
		log.Warn(fmt.Sprintf("destination failing: %d requests in a row failed or got no answer; no more are sent this run, and the rest of its events wait for the next run", failedInARowToStop))
	}}
	senders := pool.New().WithContext(ctx).WithMaxGoroutines(r.Concurrency)
	for range r.Concurrency {
		senders.Go(func(ctx context.Context) error {
			return r.sender(ctx, runID, d, w, brk, batches, results)
		})
	}
	// Outcomes are counted by the collector, decisions by the reader: two
	// reports, merged at the end.
	collected := make(chan DestinationReport)
	var read atomic.Int64 // the destination's events read so far, for the progress log
	go func() { collected <- collect(results, d, log, progress{every: r.ProgressEvery, read: &read}) }()

	now := r.Now()
	reached := reachedStages(states)
	b := &batcher{out: batches, max: d.MaxBatch()}
	skips := map[Status]int{}
	var pending []Entry // skip entries: not crash-critical, written in groups
	readErr := r.Events.ForEach(ctx, func(e Event) error {
		if !d.Takes(e.Stage) {
			return nil
		}
		dr.Events++
		read.Store(int64(dr.Events))
		st := decide(e, states[e.Key], d, now)
		if other := reached.otherKey(e); st.step == stepSend && other != "" {
			dec := Decision{Status: StatusAlreadyDelivered, Reason: "the lead's stage reached it under key " + other + " (its stage time changed since)"}
			st = verdict{step: stepSkip, decision: dec, record: dec.Status != states[e.Key].Last || dec.Reason != states[e.Key].LastDetail}
		}
		switch st.step {
		case stepDone:
			dr.Done++
		case stepCrashWindow:
			dr.CrashWindow = append(dr.CrashWindow, e.Key)
		case stepSkip:
			skips[st.decision.Status]++
			if st.record {
				pending = append(pending, entryFor(name, e, st.decision.Status, st.decision.Reason, runID))
			}
			if len(pending) >= 1000 {
				err := w.commit(ctx, pending)
				pending = nil
				return err
			}
		case stepSend:
			if st.resend {
				dr.Resent++
			}
			return b.add(ctx, d.BatchKey(e), e)
		}
		return nil
	})
	if readErr == nil {
		readErr = b.flush(ctx)
	}
	close(batches)
	sendErr := senders.Wait()
	close(results)
	sent := <-collected
	dr.Requests, dr.Previewed, dr.Unknown = sent.Requests, sent.Previewed, sent.Unknown
	dr.NotAttempted = brk.skipped()
	if dr.NotAttempted > 0 {
		dr.LastFailure = brk.lastFailure()
	}
	for _, m := range []map[Status]int{sent.Counts, skips} {
		for st, n := range m {
			dr.Counts[st] += n
		}
	}
	skipErr := w.commit(context.WithoutCancel(ctx), pending)
	// Keys this run left unknown join the crash window unless the
	// destination deduplicates (then the next run re-sends them).
	if d.DedupWindow() <= 0 {
		dr.CrashWindow = append(dr.CrashWindow, dr.Unknown...)
	}
	sort.Strings(dr.Unknown)
	sort.Strings(dr.CrashWindow)
	dr.Duration = r.Now().Sub(start)
	log.Info("destination done", "events", dr.Events, "requests", dr.Requests, "already_done", dr.Done,
		"resent", dr.Resent, "counts", fmt.Sprint(dr.Counts), "crash_window", len(dr.CrashWindow), "duration", dr.Duration)
	if err := errors.Join(readErr, sendErr, skipErr); err != nil {
		return dr, fmt.Errorf("activation: %s: %w", name, err)
	}
	return dr, nil
}

// step is what the runner does with one event.
type step int

const (
	stepDone        step = iota // delivered (or refused for good) by an earlier run
	stepCrashWindow             // may have arrived; not safe to send again
	stepSkip                    // not sent: a window, identifier, consent or the guard
	stepSend
)

// verdict is decide's answer: the step, and for a skip the decision and
// whether it is news to the ledger; for a send whether it repeats a
// request whose outcome is unknown (safe under the destination's dedup).
type verdict struct {
	step     step
	decision Decision
	record   bool
	resend   bool
}

// decide is the runner's rule for one event of a destination, given the
// key's history: done keys are left alone; an open key is re-sent only
// while the destination deduplicates on it, else it waits in the crash
// window; otherwise the payload guard and then the destination's checks
// decide, and a skip is recorded only when it differs from the last one.
func decide(e Event, st KeyState, d Destination, now time.Time) verdict {
	if st.Done() {
		return verdict{step: stepDone}
	}
	resend := false
	if st.Open {
		if d.DedupWindow() <= 0 || now.Sub(st.LastIntent) >= d.DedupWindow() {
			return verdict{step: stepCrashWindow}
		}
		resend = true
	}
	dec := guard(e)
	if dec.Send() {
		dec = d.Check(e, now)
	}
	if !dec.Send() {
		return verdict{step: stepSkip, decision: dec, record: dec.Status != st.Last || dec.Reason != st.LastDetail}
	}
	return verdict{step: stepSend, resend: resend}
}

// stageKeys lists, per lead and stage event, the keys that took or may
// have taken effect at a destination.
type stageKeys map[[2]string][]string

func reachedStages(states map[string]KeyState) stageKeys {
	out := stageKeys{}
	for key, st := range states {
		if st.LeadID != "" && st.mayHaveReached() {
			ls := [2]string{st.LeadID, st.Stage}
			out[ls] = append(out[ls], key)
		}
	}
	for _, keys := range out {
		sort.Strings(keys)
	}
	return out
}

// otherKey returns a key other than e's under which e's lead, or a lead
// merged into it, reached the destination at e's stage, or "".
func (s stageKeys) otherKey(e Event) string {
	for _, lead := range append([]string{e.LeadID}, e.FormerLeadIDs...) {
		for _, k := range s[[2]string{lead, e.Stage}] {
			if k != e.Key {
				return k
			}
		}
	}
	return ""
}

// batcher cuts events into requests: events arrive ordered by client key,
// so a batch whose key is behind us will not grow and is sent at once.
type batcher struct {
	out    chan<- []Event
	max    int
	cur    []Event
	curKey string
}

func (b *batcher) add(ctx context.Context, key string, e Event) error {
	if key != b.curKey || len(b.cur) >= b.max {
		if err := b.flush(ctx); err != nil {
			return err
		}
		b.curKey = key
	}
	b.cur = append(b.cur, e)
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.cur) == 0 {
		return nil
	}
	batch := b.cur
	b.cur = nil
	select {
	case b.out <- batch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// progress is how often collect logs how far a delivery got, and the
// reader's count of the destination's events read so far.
type progress struct {
	every time.Duration
	read  *atomic.Int64
}

func (p progress) log(log *slog.Logger, dr DestinationReport, answered int, elapsed time.Duration) {
	attrs := []any{"events_read", p.read.Load(), "requests_answered", dr.Requests, "events_answered", answered,
		"requests_per_second", math.Round(float64(dr.Requests)/elapsed.Seconds()*10) / 10, "elapsed", elapsed.Round(time.Second)}
	if dr.Previewed > 0 {
		attrs = append(attrs, "events_previewed", dr.Previewed)
	}
	log.Info("delivering", attrs...)
}

// collect counts the senders' outcomes until results closes, logging what
// needs attention, and every p.every how far the delivery got: a person
// watching a long first run sees it move, or stall.
func collect(results <-chan senderResult, d Destination, log *slog.Logger, p progress) DestinationReport {
	dr := DestinationReport{Counts: map[Status]int{}}
	start := time.Now()
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	answered := 0
	for {
		select {
		case res, ok := <-results:
			if !ok {
				return dr
			}
			answered += tally(&dr, res, d, log)
		case <-tick.C:
			p.log(log, dr, answered, time.Since(start))
		}
	}
}

// tally adds one request's outcomes (or a dry run's preview) to dr and
// returns the events it answered.
func tally(dr *DestinationReport, res senderResult, d Destination, log *slog.Logger) int {
	if res.outcomes == nil {
		dr.Previewed += len(res.batch)
		return 0
	}
	dr.Requests++
	for i, o := range res.outcomes {
		dr.Counts[o.Status]++
		switch o.Status {
		case StatusUnknown:
			dr.Unknown = append(dr.Unknown, res.batch[i].Key)
			what := "not re-sent until released"
			if d.DedupWindow() > 0 {
				what = "re-sent with the same key by the next run"
			}
			log.Error("event outcome unknown: "+what, "key", res.batch[i].Key, "lead_id", res.batch[i].LeadID, "detail", o.Detail)
		case StatusFailed:
			log.Warn("event failed; sent again next run", "key", res.batch[i].Key, "detail", o.Detail)
		}
	}
	return len(res.outcomes)
}

type senderResult struct {
	batch    []Event
	outcomes []Outcome
}

// sender takes batches until there are none: intent, request, outcome.
// When the next batch is already waiting as a request ends, the request's
// outcomes and the next one's intents go into the ledger in one write: on
// BigQuery each write is a DML job of a second or two, and a request then
// waits for one instead of two. Nothing is sent before its intent is
// durable, and a sender holds at most one request's keys open, so the crash
// window is what it was.
func (r *Runner) sender(ctx context.Context, runID string, d Destination, w *committer, brk *breaker, batches <-chan []Event, results chan<- senderResult) error {
	var done *settled // the last request's outcomes, not yet written
	// record writes done's outcomes, with extra entries if any, and then
	// reports them. The outcome is written even when the run is stopping:
	// it is what keeps the crash window to the requests in flight.
	record := func(extra []Entry) error {
		if done == nil {
			if err := w.commit(ctx, extra); err != nil {
				return fmt.Errorf("commit intents: %w", err)
			}
			return nil
		}
		if err := w.commit(context.WithoutCancel(ctx), append(done.entries, extra...)); err != nil {
			if len(extra) > 0 {
				return fmt.Errorf("commit outcomes and intents: %w", err)
			}
			return fmt.Errorf("commit outcomes: %w", err)
		}
		results <- done.result
		done = nil
		return nil
	}
	for batch := range batches {
		for batch != nil {
			if ctx.Err() != nil {
				break // drain: no intent was written, the events stay queued
			}
			if brk.isOpen() {
				brk.skip(len(batch)) // drain, as above: the next run sends them
				break
			}
			if r.Mode == ModeDryRun {
				if err := r.preview(d, batch, results); err != nil {
					return err
				}
				break
			}
			var err error
			if done, err = r.send(ctx, runID, d, record, batch); err != nil {
				return err
			}
			brk.observe(done.result.outcomes)
			// The next batch, if one is waiting: its intents ride along
			// with these outcomes.
			select {
			case next, ok := <-batches:
				batch = next
				if !ok {
					batch = nil
				}
			default:
				batch = nil
			}
		}
		if err := record(nil); err != nil {
			return err
		}
	}
	return record(nil)
}

// failedInARowToStop is how many requests in a row, each with all its
// attempts failed or its outcome unknown, make the runner give a
// destination up for the rest of a run. A destination that is down or
// unreachable would otherwise cost every remaining request all its attempts
// and waits (GA4: five attempts, up to 30 s apart): hours of a first run's
// job timeout. Events not attempted keep no ledger entry, so the next run
// sends them.
const failedInARowToStop = 16

// breaker counts a destination's failed requests in a row, in the order
// they end, across its senders.
type breaker struct {
	onTrip func()

	mu      sync.Mutex
	inARow  int
	open    bool
	dropped int    // events not attempted once open
	last    string // the detail of the last failed or unknown outcome observed
}

// observe takes a request's outcomes: all failed or unknown (a server that
// hangs: each such request joins the crash window) extends the run of
// failures; any answer (accepted, rejected) ends it.
func (b *breaker) observe(outcomes []Outcome) {
	failed := len(outcomes) > 0
	for _, o := range outcomes {
		failed = failed && (o.Status == StatusFailed || o.Status == StatusUnknown)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return
	}
	if !failed {
		b.inARow = 0
		return
	}
	if d := outcomes[len(outcomes)-1].Detail; d != "" {
		b.last = d
	}
	if b.inARow++; b.inARow >= failedInARowToStop {
		b.open = true
		if b.onTrip != nil {
			b.onTrip()
		}
	}
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (b *breaker) skip(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropped += n
}

func (b *breaker) lastFailure() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func (b *breaker) skipped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// settled is a request's outcomes as ledger entries and as its result.
type settled struct {
	entries []Entry
	result  senderResult
}

// send makes one request: its intents are made durable first, by record
// (with the outcomes of the sender's previous request, if any).
func (r *Runner) send(ctx context.Context, runID string, d Destination, record func([]Entry) error, batch []Event) (*settled, error) {
	name := d.Name()
	intents := make([]Entry, len(batch))
	for i, e := range batch {
		intents[i] = entryFor(name, e, StatusIntent, "", runID)
	}
	if err := record(intents); err != nil {
		return nil, err
	}
	outcomes := d.Send(ctx, batch)
	if len(outcomes) != len(batch) {
		// A destination bug: say nothing definite about these events.
		outcomes = make([]Outcome, len(batch))
		for i := range outcomes {
			outcomes[i] = Outcome{Status: StatusUnknown, Detail: "destination returned no outcome for the event"}
		}
	}
	s := &settled{entries: make([]Entry, len(batch)), result: senderResult{batch: batch, outcomes: outcomes}}
	for i, e := range batch {
		s.entries[i] = entryFor(name, e, outcomes[i].Status, outcomes[i].Detail, runID)
	}
	return s, nil
}

// preview reports a dry run's batch, printing its payload when the
// destination can.
func (r *Runner) preview(d Destination, batch []Event, results chan<- senderResult) error {
	if p, ok := d.(Previewer); ok && r.Out != nil {
		if err := p.Preview(r.Out, batch, r.Now()); err != nil {
			return fmt.Errorf("preview: %w", err)
		}
	}
	results <- senderResult{batch: batch}
	return nil
}

// guard is what no destination may receive, whatever its own rules:
// reasons outside the fixed vocabulary (free text), hashed fields that are
// not SHA-256 hex, a value without a currency.
func guard(e Event) Decision {
	if !ValidReason(e.Reason) {
		return Skip(StatusRejected, "guard: reason is not in the fixed vocabulary")
	}
	for _, h := range []string{e.EmailSHA256, e.EmailSHA256Google} {
		if h != "" && !isSHA256Hex(h) {
			return Skip(StatusRejected, "guard: a hashed identifier is not SHA-256 hex")
		}
	}
	if e.Value < 0 {
		return Skip(StatusRejected, "guard: negative value")
	}
	if e.Value > 0 && len(e.Currency) != 3 {
		return Skip(StatusRejected, "guard: value without an ISO 4217 currency")
	}
	return Decision{}
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Release clears open keys of a destination after an operator has checked
// that the destination does not have them, so the next run sends them.
// Keys that are not open are refused: releasing a delivered key would send
// it twice.
func (r *Runner) Release(ctx context.Context, runID, destination string, keys []string) error {
	r.defaults()
	states, err := r.Ledger.States(ctx, destination)
	if err != nil {
		return fmt.Errorf("activation: %s: read the ledger: %w", destination, err)
	}
	var entries []Entry
	for _, k := range keys {
		if !states[k].Open {
			return fmt.Errorf("activation: %s: key %s is not in the crash window; refusing to release it", destination, k)
		}
		entries = append(entries, Entry{Destination: destination, Key: k, Status: StatusReleased, Detail: "released by operator", RunID: runID})
	}
	return newCommitter(r.Ledger, r.Now).commit(ctx, entries)
}
