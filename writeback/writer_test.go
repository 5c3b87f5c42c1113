package writeback

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// queueSchema is writeback_queue's shape, for hand-made queues in tests.
var queueSchema = warehouse.Schema{Columns: []warehouse.Column{
	{Name: "idempotency_key", Type: warehouse.String},
	{Name: "lead_id", Type: warehouse.String},
	{Name: "client_key", Type: warehouse.String},
	{Name: "event_name", Type: warehouse.String},
	{Name: "event_ts", Type: warehouse.Timestamp},
	{Name: "ga_session_id", Type: warehouse.Int64},
	{Name: "value", Type: warehouse.Numeric},
	{Name: "currency", Type: warehouse.String},
	{Name: "lead_stage", Type: warehouse.String},
	{Name: "reason", Type: warehouse.String},
}}

func key(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// queueRows makes n events spread over clients, evsPerClient each.
func queueRows(n, evsPerClient int, ts time.Time) [][]any {
	rows := make([][]any, n)
	for i := range n {
		c := i / evsPerClient
		ev, stage := EventQualifyLead, "mql"
		var value, currency any
		if i%3 == 2 {
			ev, stage, value, currency = EventCloseConvertLead, "won", "1250.50", "EUR"
		}
		rows[i] = []any{key(fmt.Sprint("ev", i)), fmt.Sprintf("L%06d", i), fmt.Sprintf("%d.%d", 1000000+c, 1700000000+c),
			ev, ts, nil, value, currency, stage, nil}
	}
	return rows
}

func openWH(t testing.TB) *duckdb.DB {
	t.Helper()
	wh, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "wh.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return wh
}

func loadQueue(t testing.TB, wh warehouse.Warehouse, rows [][]any) {
	t.Helper()
	if _, err := wh.Load(context.Background(), warehouse.LoadRequest{Table: QueueTable, Schema: queueSchema, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(rows)}); err != nil {
		t.Fatal(err)
	}
}

func testConfig(mode string) Destination {
	return Destination{Mode: mode, MeasurementID: "G-TEST123", APISecret: "sup3r-s3cret-value", Endpoint: "http://127.0.0.1:1",
		Concurrency: 4, RatePerSecond: 100000}
}

func startSink(t testing.TB) (*ga4sink.Sink, string) {
	t.Helper()
	s, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func fastOpts(logger *slog.Logger, endpoint string) Options {
	return Options{Logger: logger, LocalEndpoint: endpoint, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, Now: func() time.Time { return now }}
}

func logStatuses(t *testing.T, wh warehouse.Warehouse) map[string]int {
	t.Helper()
	rows, err := wh.Query(context.Background(), `SELECT status, count(*) FROM `+wh.QualifiedName(SendLogTable)+` GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range data {
		out[r[0].(string)] = int(r[1].(int64))
	}
	return out
}

func TestRunLocalIsIdempotentAcrossRuns(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	// 130 events: 4 clients of 30 and one of 10, so batching splits clients.
	loadQueue(t, wh, queueRows(130, 30, now.Add(-time.Hour)))
	sink, url := startSink(t)
	w := New(wh, testConfig(ModeLocal), fastOpts(nil, url))

	rep, err := w.Run(ctx, "run-1")
	if err != nil {
		t.Fatalf("run 1: %v", err)
	}
	if rep.Queued != 130 || rep.Sent != 130 || rep.Skipped != 0 || rep.Requests != 9 || len(rep.CrashWindow) != 0 {
		t.Fatalf("run 1 report = %+v, want 130 sent in 9 requests (25+5 per client of 30, one of 10)", rep)
	}
	st := sink.Stats()
	if st.Events != 130 || st.Keys != 130 || len(st.Duplicates) != 0 || st.Dropped != 0 {
		t.Fatalf("sink after run 1 = %+v", st)
	}
	for _, e := range sink.Events() {
		if e.Name == EventCloseConvertLead && (e.Params["value"] != 1250.5 || e.Params["currency"] != "EUR") {
			t.Fatalf("close_convert_lead params = %v", e.Params)
		}
		if e.TimestampMicros != now.Add(-time.Hour).UnixMicro() {
			t.Fatalf("timestamp_micros = %d, want the event time", e.TimestampMicros)
		}
	}

	// The queue table is stale (it still lists everything): the writer
	// consults the send log itself.
	rep, err = w.Run(ctx, "run-2")
	if err != nil {
		t.Fatalf("run 2: %v", err)
	}
	if rep.Sent != 0 || rep.Skipped != 130 || rep.Requests != 0 {
		t.Fatalf("run 2 report = %+v, want nothing sent, 130 skipped", rep)
	}
	if st := sink.Stats(); st.Events != 130 || len(st.Duplicates) != 0 {
		t.Fatalf("sink after run 2 = %+v, want still 130 events and no duplicates", st)
	}
	if got := logStatuses(t, wh); got[StatusIntent] != 130 || got[StatusSent] != 130 || len(got) != 2 {
		t.Errorf("send log statuses = %v, want 130 intent and 130 sent", got)
	}
}

func TestRunRetriesThenLogsFailedAndResendsNextRun(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	loadQueue(t, wh, queueRows(20, 20, now))
	sink, url := startSink(t)
	opts := fastOpts(nil, url)
	opts.MaxAttempts = 3
	w := New(wh, testConfig(ModeLocal), opts)

	// Only a 429 proves GA4 did not take the events (a 5xx is unknown; see
	// TestRunRecordsUnknownOutcomesAndFails).
	sink.InjectFailures(429, 2)
	rep, err := w.Run(ctx, "run-1")
	if err != nil || rep.Sent != 20 || rep.Retries != 2 {
		t.Fatalf("run 1: report %+v, err %v; want 20 sent after 2 retries", rep, err)
	}

	loadQueue(t, wh, queueRows(40, 20, now)) // 20 more events, one client
	sink.InjectFailures(429, 3)              // all attempts of the next request
	rep, err = w.Run(ctx, "run-2")
	if err == nil || rep.Failed != 20 || rep.Sent != 0 || len(rep.CrashWindow) != 0 {
		t.Fatalf("run 2: report %+v, err %v; want 20 failed (an error), none in the crash window", rep, err)
	}
	rep, err = w.Run(ctx, "run-3")
	if err != nil || rep.Sent != 20 || rep.Skipped != 20 {
		t.Fatalf("run 3: report %+v, err %v; want the 20 failed events sent", rep, err)
	}
	if st := sink.Stats(); st.Events != 40 || len(st.Duplicates) != 0 {
		t.Errorf("sink = %+v, want 40 events, no duplicates", st)
	}
}

func TestRunRecordsUnknownOutcomesAndFails(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	loadQueue(t, wh, queueRows(20, 20, now)) // one request
	sink, url := startSink(t)
	opts := fastOpts(nil, url)
	w := New(wh, testConfig(ModeLocal), opts)

	sink.InjectFailures(500, 1) // read, then failed: GA4 may have the events
	rep, err := w.Run(ctx, "run-1")
	var ue *UnknownOutcomeError
	if !errors.As(err, &ue) || len(ue.Keys) != 20 || len(rep.Unknown) != 20 || rep.Sent != 0 || rep.Failed != 0 {
		t.Fatalf("report %+v, err %v; want an UnknownOutcomeError for 20 events", rep, err)
	}
	for _, want := range []string{"20 event(s) have an unknown outcome", "sam writeback --release"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := logStatuses(t, wh); got[StatusUnknown] != 20 || got[StatusSent] != 0 || got[StatusFailed] != 0 {
		t.Errorf("send log statuses = %v, want 20 unknown", got)
	}
	if len(rep.CrashWindow) != 20 {
		t.Errorf("crash window = %d keys, want the 20 unknown", len(rep.CrashWindow))
	}
	rep, err = w.Run(ctx, "run-2")
	if err != nil || rep.Sent != 0 || rep.Requests != 0 {
		t.Fatalf("rerun: report %+v, err %v; want nothing resent", rep, err)
	}
	if n := sink.Stats().Injected; n != 1 {
		t.Errorf("the sink was sent %d requests, want the one", n)
	}
}

func TestRunCrashWindowIsReportedNotResentUntilReleased(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	rows := queueRows(3, 3, now)
	loadQueue(t, wh, rows)
	// A previous run committed intents for two keys and died.
	var intents []logRow
	for _, r := range rows[:2] {
		intents = append(intents, logRow{row: Row{Key: r[0].(string), LeadID: r[1].(string), ClientKey: r[2].(string), EventName: r[3].(string)}, status: StatusIntent})
	}
	if err := ensureSendLog(ctx, wh, SendLogTable); err != nil {
		t.Fatal(err)
	}
	l := newLogWriter(wh, SendLogTable, "crashed-run", 100, time.Now)
	if err := l.write(ctx, intents); err != nil {
		t.Fatal(err)
	}
	l.close()

	sink, url := startSink(t)
	w := New(wh, testConfig(ModeLocal), fastOpts(nil, url))
	rep, err := w.Run(ctx, "run-2")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{rows[0][0].(string), rows[1][0].(string)}
	if rep.Sent != 1 || rep.Skipped != 2 || fmt.Sprint(rep.CrashWindow) != fmt.Sprint(sorted(want)) {
		t.Fatalf("report = %+v, want 1 sent, 2 skipped, crash window %v", rep, sorted(want))
	}
	if err := w.Release(ctx, "op", []string{rows[2][0].(string)}); err == nil {
		t.Error("releasing a sent key succeeded; it must be refused")
	}
	if err := w.Release(ctx, "op", want[:1]); err != nil {
		t.Fatal(err)
	}
	rep, err = w.Run(ctx, "run-3")
	if err != nil || rep.Sent != 1 || fmt.Sprint(rep.CrashWindow) != fmt.Sprint(want[1:]) {
		t.Fatalf("after release: report %+v, err %v; want the released key sent, one left in the window", rep, err)
	}
	if sink.Count(want[0]) != 1 || sink.Count(want[1]) != 0 {
		t.Errorf("sink counts: released %d, held %d; want 1 and 0", sink.Count(want[0]), sink.Count(want[1]))
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRunBatchesOneClientAtMost25(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	// 60 events of client a and 3 of client b, interleaved in time.
	var rows [][]any
	for i := range 60 {
		ts := now.Add(time.Duration(i) * time.Minute)
		rows = append(rows, []any{key(fmt.Sprint("a", i)), "LA", "1.1", EventQualifyLead, ts, nil, nil, nil, "mql", nil})
		if i%20 == 0 {
			rows = append(rows, []any{key(fmt.Sprint("b", i)), "LB", "2.2", EventQualifyLead, ts, nil, nil, nil, "mql", nil})
		}
	}
	loadQueue(t, wh, rows)
	var out bytes.Buffer
	opts := fastOpts(nil, "")
	opts.Out = &out
	cfg := testConfig(ModeDryRun)
	cfg.Concurrency = 1 // payloads print in order
	if _, err := New(wh, cfg, opts).Run(ctx, "batch"); err != nil {
		t.Fatal(err)
	}
	sizes := map[string][]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var p Payload
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		sizes[p.ClientID] = append(sizes[p.ClientID], len(p.Events))
	}
	if fmt.Sprint(sizes["1.1"]) != "[25 25 10]" || fmt.Sprint(sizes["2.2"]) != "[3]" {
		t.Errorf("request sizes = %v, want 1.1:[25 25 10] 2.2:[3]", sizes)
	}
}

func TestRunDryRunSendsNothing(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	loadQueue(t, wh, queueRows(30, 30, now))
	sink, url := startSink(t)
	var out bytes.Buffer
	cfg := testConfig(ModeDryRun)
	cfg.Endpoint = url
	opts := fastOpts(nil, url)
	opts.Out = &out
	rep, err := New(wh, cfg, opts).Run(ctx, "dry")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if rep.Printed != 30 || len(lines) != 2 || rep.Sent != 0 {
		t.Fatalf("report %+v, %d payload lines; want 30 printed in 2 payloads", rep, len(lines))
	}
	var sizes []int
	for _, line := range lines {
		var p Payload
		if err := json.Unmarshal([]byte(line), &p); err != nil || p.ClientID == "" {
			t.Fatalf("payload = %s (%v)", line, err)
		}
		sizes = append(sizes, len(p.Events))
	}
	if sizes[0]+sizes[1] != 30 || max(sizes[0], sizes[1]) != 25 {
		t.Errorf("payload sizes = %v, want 25 and 5", sizes)
	}
	if st := sink.Stats(); st.Requests+st.DebugRequests != 0 {
		t.Errorf("sink saw %+v in dry-run", st)
	}
	if got := logStatuses(t, wh); len(got) != 0 {
		t.Errorf("dry-run wrote the send log: %v", got)
	}
}

func TestRunValidateFailsOnValidationMessages(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	loadQueue(t, wh, queueRows(3, 3, now))
	sink, url := startSink(t)
	cfg := testConfig(ModeValidate)
	cfg.Endpoint = url

	// What the guard and the local validation server accept passes.
	rep, err := New(wh, cfg, fastOpts(nil, url)).Run(ctx, "val")
	if err != nil || rep.Validated != 3 || len(rep.ValidationMessages) != 0 {
		t.Fatalf("valid queue: report %+v, err %v; want 3 validated", rep, err)
	}
	if st := sink.Stats(); st.DebugRequests != 1 || st.Events != 0 || st.Requests != 0 {
		t.Errorf("sink = %+v, want one debug request and nothing recorded", st)
	}

	// A validation server that finds something the guard did not.
	var paths []string
	var pmu sync.Mutex
	strict := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pmu.Lock()
		paths = append(paths, r.URL.Path)
		pmu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"validationMessages":[{"fieldPath":"events[0].params.lead_stage","description":"Value is not allowed.","validationCode":"VALUE_INVALID"}]}`)
	}))
	defer strict.Close()
	cfg.Endpoint = strict.URL
	rep, err = New(wh, cfg, fastOpts(nil, "")).Run(ctx, "val2")
	if err == nil || !strings.Contains(err.Error(), "VALUE_INVALID") {
		t.Fatalf("err = %v, want a validation failure naming VALUE_INVALID", err)
	}
	if len(rep.ValidationMessages) != 1 || rep.ValidationMessages[0].FieldPath != "events[0].params.lead_stage" {
		t.Errorf("messages = %+v", rep.ValidationMessages)
	}
	if fmt.Sprint(paths) != "[/debug/mp/collect]" {
		t.Errorf("validate mode posted to %v, want [/debug/mp/collect]", paths)
	}
	if got := logStatuses(t, wh); len(got) != 0 {
		t.Errorf("validate wrote the send log: %v", got)
	}
}

func TestRunRefusesPersonalData(t *testing.T) {
	ctx := context.Background()
	wh := openWH(t)
	rows := queueRows(2, 2, now)
	rows[1][3], rows[1][8], rows[1][9] = EventDisqualifyLead, "disqualified", "duplicate of ann@example.org"
	loadQueue(t, wh, rows)
	sink, url := startSink(t)
	rep, err := New(wh, testConfig(ModeLocal), fastOpts(nil, url)).Run(ctx, "pii")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 || rep.Refused != 1 || rep.Refusals[0].LeadID != "L000001" || !strings.Contains(rep.Refusals[0].Reason, "L000001") {
		t.Fatalf("report = %+v, want lead L000001 refused", rep)
	}
	for _, e := range sink.Events() {
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), "@") {
			t.Errorf("sink received personal data: %s", b)
		}
	}
}

// syncBuffer collects log output from concurrent senders.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSecretNeverInLogsErrorsOrLedger(t *testing.T) {
	ctx := context.Background()
	secret := testConfig(ModeSend).APISecret.Reveal()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var everything []string
	check := func(what string, rep Report, err error) {
		everything = append(everything, fmt.Sprintf("%s: %+v %#v", what, rep, rep))
		if err != nil {
			everything = append(everything, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}

	// Connection refused (net/http's error quotes the URL) in send mode.
	wh := openWH(t)
	loadQueue(t, wh, queueRows(5, 5, now))
	cfg := testConfig(ModeSend) // endpoint 127.0.0.1:1: nothing listens
	rep, err := New(wh, cfg, fastOpts(logger, "")).Run(ctx, "refused")
	if err == nil || rep.Failed != 5 {
		t.Fatalf("refused connection: report %+v, err %v; want 5 failed", rep, err)
	}
	check("refused", rep, err)

	// 5xx and a stalled server in local and validate modes.
	sink, url := startSink(t)
	sink.InjectFailures(503, 10)
	rep, err = New(wh, testConfig(ModeLocal), fastOpts(logger, url)).Run(ctx, "5xx")
	check("5xx", rep, err)
	cfg = testConfig(ModeValidate)
	cfg.Endpoint = url
	rows := queueRows(1, 1, now)
	rows[0][7] = nil
	loadQueue(t, wh, rows)
	rep, err = New(wh, cfg, fastOpts(logger, url)).Run(ctx, "validate")
	check("validate", rep, err)
	cfg.Mode = ModeDryRun
	rep, err = New(wh, cfg, fastOpts(logger, url)).Run(ctx, "dry")
	check("dry", rep, err)
	everything = append(everything, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg))

	// The ledger: every send log row.
	data, err := func() ([][]any, error) {
		r, err := wh.Query(ctx, "SELECT * FROM "+wh.QualifiedName(SendLogTable))
		if err != nil {
			return nil, err
		}
		return warehouse.CollectRows(r)
	}()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		t.Fatal("send log is empty; the test would prove nothing")
	}
	everything = append(everything, fmt.Sprint(data), logs.String())

	all := strings.Join(everything, "\n")
	if !strings.Contains(logs.String(), "api_secret=REDACTED") {
		t.Errorf("the logs never show a (redacted) request URL; the test would prove little:\n%s", logs.String())
	}
	if strings.Contains(all, secret) {
		i := strings.Index(all, secret)
		t.Fatalf("secret leaked: ...%s...", all[max(0, i-200):min(len(all), i+50)])
	}
}

func TestRunStoppedMidwayLogsUnsentAsFailed(t *testing.T) {
	wh := openWH(t)
	loadQueue(t, wh, queueRows(1000, 25, now)) // 40 requests
	sink, _ := startSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n sync.Mutex
	count := 0
	h := sink.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		n.Lock()
		count++
		if count == 10 {
			cancel() // as SIGTERM would
		}
		n.Unlock()
	}))
	defer srv.Close()
	cfg := testConfig(ModeLocal)
	opts := fastOpts(nil, srv.URL)
	opts.IntentAhead = 8
	rep, err := New(wh, cfg, opts).Run(ctx, "stopped")
	if err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	// Only requests in flight at the cancel can be in doubt.
	if len(rep.CrashWindow) > cfg.Concurrency*25 {
		t.Errorf("crash window %d keys, want at most the %d in flight", len(rep.CrashWindow), cfg.Concurrency*25)
	}
	rep2, err := New(wh, cfg, fastOpts(nil, srv.URL)).Run(context.Background(), "resume")
	if err != nil {
		t.Fatal(err)
	}
	st := sink.Stats()
	if len(st.Duplicates) != 0 || st.Events+missing(sink, rep2.CrashWindow) != 1000 {
		t.Errorf("after resuming: sink %d events, %d duplicates, window %d; want every event once or in the window",
			st.Events, len(st.Duplicates), len(rep2.CrashWindow))
	}
}

// missing counts window keys the sink never received.
func missing(s *ga4sink.Sink, window []string) int {
	n := 0
	for _, k := range window {
		if s.Count(k) == 0 {
			n++
		}
	}
	return n
}
