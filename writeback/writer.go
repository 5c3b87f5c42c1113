package writeback

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
	"golang.org/x/time/rate"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/internal/retry"
	"github.com/sam-attribution/sam/warehouse"
)

// Modes (Destination.Mode).
const (
	ModeOff      = "off"
	ModeLocal    = "local"
	ModeSend     = "send"
	ModeValidate = "validate"
	ModeDryRun   = "dry-run"
)

// Destination says where and how fast the writer sends.
type Destination struct {
	// Mode is one of the Mode constants.
	Mode string
	// MeasurementID is the GA4 web stream's id, such as G-ABC123DEF4.
	MeasurementID string
	// APISecret is the Measurement Protocol api_secret of that stream.
	APISecret option.Secret
	// Endpoint is the Measurement Protocol base URL.
	Endpoint string
	// Concurrency is requests in flight at once; RatePerSecond requests
	// per second at most.
	Concurrency   int
	RatePerSecond int
}

// Validate reports the first invalid field. The modes that reach GA4
// (send, validate) need the whole destination; the others send nowhere or
// to Options.LocalEndpoint.
func (d Destination) Validate() error {
	err := func() error {
		switch d.Mode {
		case ModeOff:
			return nil
		case ModeLocal, ModeDryRun:
		case ModeSend, ModeValidate:
			if !measurementIDRE.MatchString(d.MeasurementID) {
				return option.Invalid("MeasurementID", d.MeasurementID, "is not a GA4 measurement id such as G-ABC123DEF4")
			}
			if d.APISecret == "" {
				return option.Invalid("APISecret", "", "is not set")
			}
			if u, err := url.Parse(d.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return option.Invalid("Endpoint", d.Endpoint, "is not an http(s) URL")
			}
		default:
			return option.Invalid("Mode", d.Mode, "is not one of %s", strings.Join([]string{ModeOff, ModeLocal, ModeSend, ModeValidate, ModeDryRun}, ", "))
		}
		if d.Concurrency <= 0 {
			return option.Invalid("Concurrency", fmt.Sprint(d.Concurrency), "is not positive")
		}
		if d.RatePerSecond <= 0 {
			return option.Invalid("RatePerSecond", fmt.Sprint(d.RatePerSecond), "is not positive")
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("writeback: %w", err)
	}
	return nil
}

// measurementIDRE is the shape of a GA4 web stream id: "G-" and capital
// letters or digits. An empty id would send to no property, and GA4 would
// still answer 2xx.
var measurementIDRE = regexp.MustCompile(`^G-[A-Z0-9]+$`)

// QueueTable is the model the writer reads.
const QueueTable = "writeback_queue"

// Options holds what the configuration does not: collaborators and tuning.
// The zero value is usable except in local mode, which needs LocalEndpoint.
type Options struct {
	Logger *slog.Logger
	// HTTPClient sends requests; nil uses a client with pooled connections
	// sized to the concurrency.
	HTTPClient *http.Client
	// Out receives the payloads in dry-run mode, one JSON object per line;
	// nil logs them instead.
	Out io.Writer
	// LocalEndpoint is the base URL of the local sink (ga4sink.Sink.URL)
	// used in local mode.
	LocalEndpoint string
	// QueueTable and SendLogTable override the table names (tests).
	QueueTable   string
	SendLogTable string
	// MaxAttempts per request (default 5); RetryBase and RetryMax bound the
	// exponential backoff (defaults 500ms and 30s); RequestTimeout bounds
	// one attempt (default 10s).
	MaxAttempts    int
	RetryBase      time.Duration
	RetryMax       time.Duration
	RequestTimeout time.Duration
	// LogGroupRows is how many outcome rows may wait for the next intent
	// write before they are written on their own (default: one chunk's
	// worth, IntentAhead × 25).
	LogGroupRows int
	// IntentAhead is how many requests get their intent rows in one
	// warehouse write before they are sent (default: rate/5 within
	// 2 × concurrency and 8 × concurrency, so 40 with the defaults). More means
	// fewer writes (BigQuery load jobs have a daily quota per table) and a
	// wider crash window (see the package doc).
	IntentAhead int
	// Now is the clock (tests); nil uses time.Now.
	Now func() time.Time
}

// Writer sends writeback_queue rows to GA4.
type Writer struct {
	wh   warehouse.Warehouse
	cfg  Destination
	opts Options
	log  *slog.Logger
}

// New returns a writer to cfg, which is expected to have passed Validate;
// Run checks what depends on Options.
func New(wh warehouse.Warehouse, cfg Destination, opts Options) *Writer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.QueueTable == "" {
		opts.QueueTable = QueueTable
	}
	if opts.SendLogTable == "" {
		opts.SendLogTable = SendLogTable
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 500 * time.Millisecond
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 30 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{wh: wh, cfg: cfg, opts: opts, log: opts.Logger.With("component", "writeback")}
}

// Refusal is an event the guard would not send.
type Refusal struct {
	Key    string
	LeadID string
	Reason string
}

// Report summarises a run.
type Report struct {
	RunID string
	Mode  string
	// Queued counts queue rows read; Skipped those not sent because the
	// send log already has them (a stale queue table) or they repeat a key.
	Queued  int
	Skipped int
	// Sent counts events GA4 (or the sink) acknowledged; Validated the
	// events the validation server checked; Printed the dry-run events.
	Sent      int
	Validated int
	Printed   int
	// Refused events failed the payload guard; they are not logged and are
	// reported again on every run until fixed upstream.
	Refused  int
	Refusals []Refusal
	// Failed events were definitely not recorded and will be retried by the
	// next run.
	Failed     int
	FailedKeys []string
	// Unknown lists keys of this run whose outcome is ambiguous.
	Unknown []string
	// CrashWindow lists every key with an unresolved intent, from this run
	// and earlier ones: not resent until released (see the package doc).
	CrashWindow []string
	// ValidationMessages collects what the validation server reported.
	ValidationMessages []ValidationMessage
	Requests           int
	Retries            int
	LogWrites          int
	Duration           time.Duration
}

// Run sends what the queue holds and returns what happened. The error is
// non-nil when the run could not do its job: the warehouse failed, the send
// log could not be written, validation found problems, or events failed.
func (w *Writer) Run(ctx context.Context, runID string) (Report, error) {
	start := w.opts.Now()
	rep := Report{RunID: runID, Mode: w.cfg.Mode}
	if w.cfg.Mode == ModeOff {
		w.log.InfoContext(ctx, "writeback off")
		return rep, nil
	}
	c, err := w.client()
	if err != nil {
		return rep, err
	}
	if err := ensureSendLog(ctx, w.wh, w.opts.SendLogTable); err != nil {
		return rep, err
	}
	w.log.InfoContext(ctx, "writeback starting", "mode", w.cfg.Mode, "run_id", runID)

	ahead := w.opts.IntentAhead
	if ahead <= 0 {
		// Enough requests to keep the senders busy for about 200ms at the
		// rate limit while the next chunk's intents are committed, within
		// 2 to 8 requests per sender.
		ahead = min(max(2*w.cfg.Concurrency, w.cfg.RatePerSecond/5), 8*w.cfg.Concurrency)
	}
	var logw *logWriter
	if w.logsSends() {
		group := w.opts.LogGroupRows
		if group <= 0 {
			group = ahead * MaxEventsPerRequest
		}
		logw = newLogWriter(w.wh, w.opts.SendLogTable, runID, group, w.opts.Now)
	}

	// A pipeline of three stages, so that reading the queue, committing
	// intents and sending overlap:
	//  1. read the queue (ordered by client), build and check each event,
	//     cut requests of one client and at most 25 events, and pass them on
	//     in chunks of `ahead` requests;
	//  2. commit the intents of a chunk in one write;
	//  3. hand the chunk's requests to the senders.
	// Channels of capacity one keep at most two chunks with committed
	// intents waiting to be sent.
	var mu sync.Mutex // guards rep from here on
	pctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	chunks := make(chan []request, 1)
	ready := make(chan []request, 1)
	var readErr, intentErr error
	go func() {
		defer close(chunks)
		readErr = w.produce(pctx, ahead, chunks, &rep, &mu)
	}()
	go func() {
		defer close(ready)
		for chunk := range chunks {
			if intentErr != nil || pctx.Err() != nil {
				continue // drain: these get no intent and stay queued
			}
			if logw != nil {
				var intents []logRow
				for _, rq := range chunk {
					intents = append(intents, statusRows(rq.rows, StatusIntent, "")...)
				}
				if err := logw.write(pctx, intents); err != nil {
					if pctx.Err() == nil {
						intentErr = err
					}
					stopReading()
					continue
				}
			}
			// Committed intents are always dispatched, so that a stopping
			// run records these requests as not sent.
			ready <- chunk
		}
	}()
	p := pool.New().WithMaxGoroutines(w.cfg.Concurrency).WithContext(ctx).WithCancelOnError().WithFirstError()
	// Every chunk that got its intents is dispatched, even when the run is
	// stopping: sendGroup then logs it "failed" rather than leaving it in
	// the crash window.
	for chunk := range ready {
		for _, rq := range chunk {
			p.Go(func(ctx context.Context) error {
				err := w.sendGroup(ctx, c, logw, rq, &rep, &mu)
				if err != nil {
					stopReading() // the pool stops too: read no further
				}
				return err
			})
		}
	}
	// ready is closed, so both stages are done.
	if errors.Is(readErr, context.Canceled) && pctx.Err() != nil {
		readErr = nil // the reader was stopped, not broken; the cause is reported
	}
	dispatchErr := errors.Join(intentErr, readErr)
	runErr := errors.Join(p.Wait(), dispatchErr)
	if logw != nil {
		if err := logw.close(); err != nil && runErr == nil {
			runErr = err
		}
		rep.LogWrites = logw.writes
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = ctx.Err()
	}

	// The crash window is read back from the log itself, so it includes
	// keys left by earlier, interrupted runs.
	if w.logsSends() {
		cw, err := crashWindow(context.WithoutCancel(ctx), w.wh, w.opts.SendLogTable)
		if err != nil {
			runErr = errors.Join(runErr, err)
		}
		rep.CrashWindow = cw
	}
	sort.Strings(rep.FailedKeys)
	sort.Strings(rep.Unknown)
	rep.Duration = w.opts.Now().Sub(start)

	w.log.InfoContext(ctx, "writeback done", "mode", w.cfg.Mode, "run_id", runID,
		"queued", rep.Queued, "sent", rep.Sent, "validated", rep.Validated, "printed", rep.Printed,
		"skipped", rep.Skipped, "refused", rep.Refused, "failed", rep.Failed,
		"unknown", len(rep.Unknown), "crash_window", len(rep.CrashWindow),
		"requests", rep.Requests, "retries", rep.Retries, "duration", rep.Duration)
	if len(rep.CrashWindow) > 0 {
		w.log.WarnContext(ctx, "events in the crash window are not resent until released",
			"count", len(rep.CrashWindow), "first_keys", rep.CrashWindow[:min(len(rep.CrashWindow), 20)])
	}
	if runErr != nil {
		return rep, fmt.Errorf("writeback run %s: %w", runID, runErr)
	}
	if len(rep.ValidationMessages) > 0 {
		return rep, fmt.Errorf("writeback run %s: the validation server reported %d problem(s), first: %s: %s (%s)",
			runID, len(rep.ValidationMessages), rep.ValidationMessages[0].FieldPath,
			rep.ValidationMessages[0].Description, rep.ValidationMessages[0].ValidationCode)
	}
	if len(rep.Unknown) > 0 {
		return rep, &UnknownOutcomeError{RunID: runID, Keys: rep.Unknown, Failed: rep.Failed}
	}
	if rep.Failed > 0 {
		return rep, fmt.Errorf("writeback run %s: %d event(s) failed and will be retried by the next run", runID, rep.Failed)
	}
	return rep, nil
}

// UnknownOutcomeError is a run in which requests may or may not have
// reached GA4. Their keys stay in the crash window, never resent, until an
// operator checks GA4 and releases the ones it does not have.
type UnknownOutcomeError struct {
	RunID  string
	Keys   []string // sorted
	Failed int      // events that failed as well, resent by the next run
}

func (e *UnknownOutcomeError) Error() string {
	msg := fmt.Sprintf("writeback run %s: %d event(s) have an unknown outcome (GA4 may or may not have recorded them; they are not resent): "+
		"check GA4 for their sam_event_key, then release the ones it lacks with `sam writeback --release KEY,...` (first: %s)",
		e.RunID, len(e.Keys), strings.Join(e.Keys[:min(len(e.Keys), 5)], ","))
	if e.Failed > 0 {
		msg += fmt.Sprintf("; %d more event(s) failed and will be retried by the next run", e.Failed)
	}
	return msg
}

// logsSends reports whether the mode records sends in the send log.
func (w *Writer) logsSends() bool {
	return w.cfg.Mode == ModeSend || w.cfg.Mode == ModeLocal
}

func (w *Writer) client() (*client, error) {
	endpoint := w.cfg.Endpoint
	path := collectPath
	switch w.cfg.Mode {
	case ModeSend, ModeDryRun:
	case ModeValidate:
		path = debugPath
	case ModeLocal:
		endpoint = w.opts.LocalEndpoint
		if endpoint == "" {
			return nil, errors.New("writeback: local mode needs the local sink's URL (Options.LocalEndpoint)")
		}
	default:
		return nil, fmt.Errorf("writeback: unknown mode %q", w.cfg.Mode)
	}
	if w.cfg.Concurrency <= 0 || w.cfg.RatePerSecond <= 0 {
		return nil, fmt.Errorf("writeback: concurrency (%d) and rate (%d) must be positive", w.cfg.Concurrency, w.cfg.RatePerSecond)
	}
	hc := w.opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = w.cfg.Concurrency
		hc = &http.Client{Transport: tr}
	}
	return &client{
		http:      hc,
		endpoint:  strings.TrimRight(endpoint, "/"),
		path:      path,
		measureID: w.cfg.MeasurementID,
		secret:    w.cfg.APISecret.Reveal(),
		limiter:   rate.NewLimiter(rate.Limit(w.cfg.RatePerSecond), w.cfg.Concurrency),
		retry:     retry.Policy{Attempts: w.opts.MaxAttempts, Base: w.opts.RetryBase, Cap: w.opts.RetryMax, Rand: retry.RandomSource()},
		timeout:   w.opts.RequestTimeout,
	}, nil
}

// sendGroup sends one request. It returns an error only when the run must
// stop (the send log failed); per-request failures go into the report.
func (w *Writer) sendGroup(ctx context.Context, c *client, logw *logWriter, rq request, rep *Report, mu *sync.Mutex) error {
	g := rq.rows
	if ctx.Err() != nil {
		// The run is stopping before this request was made: say so in the
		// log, so its intent does not count as the crash window.
		if logw != nil {
			logw.enqueue(statusRows(g, StatusFailed, "not sent: the run stopped"))
		}
		return nil
	}
	p := Payload{ClientID: g[0].ClientKey, Events: rq.events}
	if err := CheckPayload(p); err != nil {
		return fmt.Errorf("writeback: batching produced an invalid request for client %s: %w", p.ClientID, err)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("writeback: encode payload: %w", err)
	}
	if w.cfg.Mode == ModeDryRun {
		mu.Lock()
		defer mu.Unlock()
		rep.Printed += len(g)
		if w.opts.Out != nil {
			if _, err := fmt.Fprintf(w.opts.Out, "%s\n", body); err != nil {
				return fmt.Errorf("writeback: print payload: %w", err)
			}
		} else {
			w.log.InfoContext(ctx, "dry-run payload", "payload", json.RawMessage(body))
		}
		return nil
	}
	res := c.post(ctx, body) // its intent is committed (see Run)
	detail := ""
	if res.err != nil {
		detail = res.err.Error()
	}
	if logw != nil {
		status := map[outcome]string{outcomeSent: StatusSent, outcomeFailed: StatusFailed, outcomeUnknown: StatusUnknown}[res.outcome]
		logw.enqueue(statusRows(g, status, detail))
	}

	mu.Lock()
	defer mu.Unlock()
	rep.Requests++
	rep.Retries += res.attempts - 1
	switch res.outcome {
	case outcomeSent:
		if w.cfg.Mode == ModeValidate {
			rep.Validated += len(g)
			for _, m := range res.messages {
				rep.ValidationMessages = append(rep.ValidationMessages, m)
				w.log.ErrorContext(ctx, "validation message", "client_key", p.ClientID, "field", m.FieldPath,
					"code", m.ValidationCode, "description", m.Description, "lead_ids", leadIDs(g))
			}
		} else {
			rep.Sent += len(g)
		}
		w.log.DebugContext(ctx, "request done", "client_key", p.ClientID, "events", len(g), "attempts", res.attempts)
	case outcomeFailed:
		rep.Failed += len(g)
		for _, r := range g {
			rep.FailedKeys = append(rep.FailedKeys, r.Key)
		}
		w.log.ErrorContext(ctx, "request failed; events will be retried next run", "client_key", p.ClientID,
			"events", len(g), "attempts", res.attempts, "error", detail)
	case outcomeUnknown:
		for _, r := range g {
			rep.Unknown = append(rep.Unknown, r.Key)
		}
		w.log.ErrorContext(ctx, "request outcome unknown; events held in the crash window", "client_key", p.ClientID,
			"events", len(g), "attempts", res.attempts, "error", detail)
	}
	return nil
}

func leadIDs(g []Row) []string {
	out := make([]string, len(g))
	for i, r := range g {
		out[i] = r.LeadID
	}
	return out
}

// request is one Measurement Protocol request: rows of one client and
// their events.
type request struct {
	rows   []Row
	events []Event
}

// produce reads the queue, leaving out keys the send log blocks (the model
// does the same, but a table-materialised queue may predate this run's log)
// and repeated keys, refuses what the guard refuses, and sends requests in
// chunks of ahead to out. Rows arrive ordered by client, so a client's
// requests are cut as its rows stream by.
func (w *Writer) produce(ctx context.Context, ahead int, out chan<- []request, rep *Report, mu *sync.Mutex) error {
	q := w.wh.QualifiedName(w.opts.QueueTable)
	query := `SELECT q.idempotency_key, q.lead_id, q.client_key, q.event_name, q.event_ts, q.ga_session_id,
       CAST(q.value AS STRING) AS value, q.currency, q.lead_stage, q.reason,
       b.idempotency_key IS NOT NULL AS blocked
FROM ` + q + ` AS q
LEFT JOIN (` + blockedSQL(w.wh.QualifiedName(w.opts.SendLogTable)) + `) AS b
  ON b.idempotency_key = q.idempotency_key
ORDER BY q.client_key, q.event_ts, q.idempotency_key`
	rows, err := w.wh.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("writeback: read %s: %w", w.opts.QueueTable, err)
	}
	defer rows.Close()

	now := w.opts.Now()
	seen := map[string]bool{}
	var (
		chunk []request
		cur   request
	)
	emit := func(last bool) error {
		if len(cur.rows) > 0 {
			chunk = append(chunk, cur)
			cur = request{}
		}
		if len(chunk) >= ahead || last && len(chunk) > 0 {
			select {
			case out <- chunk:
			case <-ctx.Done():
				return ctx.Err()
			}
			chunk = nil
		}
		return nil
	}
	for rows.Next() {
		var (
			r                                      Row
			lead, client                           sql.NullString
			sid                                    sql.NullInt64
			value, currency, stage, reason, evName sql.NullString
			ts                                     sql.NullTime
			blocked                                bool
		)
		if err := rows.Scan(&r.Key, &lead, &client, &evName, &ts, &sid, &value, &currency, &stage, &reason, &blocked); err != nil {
			return fmt.Errorf("writeback: read %s: %w", w.opts.QueueTable, err)
		}
		mu.Lock()
		rep.Queued++
		if blocked || seen[r.Key] {
			rep.Skipped++
			mu.Unlock()
			continue
		}
		mu.Unlock()
		seen[r.Key] = true
		r.LeadID, r.ClientKey, r.EventName = lead.String, client.String, evName.String
		r.EventTS = ts.Time
		r.GASessionID = sid.Int64
		r.Value, r.Currency, r.LeadStage, r.Reason = value.String, currency.String, stage.String, reason.String

		e, err := BuildEvent(r, now)
		if err == nil {
			err = CheckEvent(r.LeadID, e)
		}
		if err == nil {
			if err = CheckPayload(Payload{ClientID: r.ClientKey, Events: []Event{e}}); err != nil {
				err = fmt.Errorf("lead %s: %w", r.LeadID, err)
			}
		}
		if err != nil {
			mu.Lock()
			rep.Refused++
			rep.Refusals = append(rep.Refusals, Refusal{Key: r.Key, LeadID: r.LeadID, Reason: err.Error()})
			mu.Unlock()
			w.log.WarnContext(ctx, "event refused", "lead_id", r.LeadID, "event", r.EventName, "key", r.Key, "reason", err.Error())
			continue
		}
		if len(cur.rows) > 0 && (cur.rows[0].ClientKey != r.ClientKey || len(cur.rows) >= MaxEventsPerRequest) {
			if err := emit(false); err != nil {
				return err
			}
		}
		cur.rows = append(cur.rows, r)
		cur.events = append(cur.events, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("writeback: read %s: %w", w.opts.QueueTable, err)
	}
	return emit(true)
}

// Release clears keys from the crash window after an operator has checked
// that GA4 does not have them, so the next run sends them. Keys not in the
// crash window are refused: releasing a sent key would send it twice.
func (w *Writer) Release(ctx context.Context, runID string, keys []string) error {
	if err := ensureSendLog(ctx, w.wh, w.opts.SendLogTable); err != nil {
		return err
	}
	open, err := crashWindow(ctx, w.wh, w.opts.SendLogTable)
	if err != nil {
		return err
	}
	inWindow := make(map[string]bool, len(open))
	for _, k := range open {
		inWindow[k] = true
	}
	var rows []logRow
	for _, k := range keys {
		if !inWindow[k] {
			return fmt.Errorf("writeback: key %s is not in the crash window; refusing to release it", k)
		}
		rows = append(rows, logRow{row: Row{Key: k}, status: StatusReleased, detail: "released by operator"})
	}
	if len(rows) == 0 {
		return nil
	}
	l := newLogWriter(w.wh, w.opts.SendLogTable, runID, len(rows), w.opts.Now)
	err = l.write(ctx, rows)
	return errors.Join(err, l.close())
}
