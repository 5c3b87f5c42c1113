// Package writeback_test holds the writer's end-to-end tests: a writer
// killed with SIGKILL in the middle of sending, then rerun, against the
// local GA4 sink and an embedded DuckDB file; and the writeback_queue model
// run on DuckDB.
package writeback_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/ga4sink"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/writeback"
)

// Environment of the child process.
const (
	envChild    = "SAM_WRITEBACK_CRASH_CHILD"
	envDB       = "SAM_WRITEBACK_CRASH_DB"
	envEndpoint = "SAM_WRITEBACK_CRASH_ENDPOINT"
)

const (
	crashEvents      = 2000
	crashConcurrency = 4
	killAtRequest    = 30 // of 80
	intentAhead      = 4
)

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

func key(i int) string {
	h := md5.Sum(fmt.Appendf(nil, "crash-%d", i))
	return hex.EncodeToString(h[:])
}

func writerConfig() writeback.Destination {
	return writeback.Destination{Mode: writeback.ModeLocal, MeasurementID: "G-CRASH", APISecret: "crash-secret",
		Concurrency: crashConcurrency, RatePerSecond: 100000, Endpoint: "http://127.0.0.1:1"}
}

// TestCrashChild is the process the crash test kills; it does nothing
// unless started by TestCrashThenRerun.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("child process of TestCrashThenRerun")
	}
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, os.Getenv(envDB), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := writeback.New(wh, writerConfig(), writeback.Options{LocalEndpoint: os.Getenv(envEndpoint), IntentAhead: intentAhead})
	rep, err := w.Run(ctx, "child")
	// Reaching this line means the kill came too late.
	t.Fatalf("child finished: %+v, %v", rep, err)
}

func TestCrashThenRerun(t *testing.T) {
	if os.Getenv(envChild) == "1" {
		t.Skip("in the child")
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "wh.duckdb")

	// The queue: 2000 events of 80 clients, 25 each, so 80 requests.
	wh, err := duckdb.Open(ctx, dbPath, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().Add(-time.Hour).UTC()
	rows := make([][]any, crashEvents)
	for i := range rows {
		c := i / 25
		rows[i] = []any{key(i), fmt.Sprintf("L%05d", i), fmt.Sprintf("%d.%d", 500000+c, 1700000000+c),
			writeback.EventQualifyLead, ts, nil, nil, nil, "sql", nil}
	}
	if _, err := wh.Load(ctx, warehouse.LoadRequest{Table: writeback.QueueTable, Schema: queueSchema, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(rows)}); err != nil {
		t.Fatal(err)
	}
	if err := wh.Close(); err != nil {
		t.Fatal(err)
	}

	sink, err := ga4sink.New("")
	if err != nil {
		t.Fatal(err)
	}
	// The sink kills the child the moment it has recorded request number
	// killAtRequest, before answering it: that request's events reached
	// "GA4" but the child never learns it. Other requests are in flight.
	var (
		requests atomic.Int64
		childPID atomic.Int64
		killOnce sync.Once
	)
	h := sink.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		h.ServeHTTP(w, r)
		if n == killAtRequest {
			killOnce.Do(func() { syscall.Kill(int(childPID.Load()), syscall.SIGKILL) })
		}
	}))
	defer srv.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"=1", envDB+"="+dbPath, envEndpoint+"="+srv.URL)
	out, err := startAndWait(cmd, &childPID)
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-send: %v\n%s", err, out)
	}
	afterKill := sink.Stats()
	if afterKill.Events == 0 || afterKill.Events >= crashEvents {
		t.Fatalf("sink has %d events after the kill; the kill did not land mid-send", afterKill.Events)
	}

	// Rerun in this process against the same warehouse file and sink.
	wh, err = duckdb.Open(ctx, dbPath, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	w := writeback.New(wh, writerConfig(), writeback.Options{LocalEndpoint: srv.URL, IntentAhead: intentAhead,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	rep, err := w.Run(ctx, "rerun")
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}

	st := sink.Stats()
	if len(st.Duplicates) != 0 {
		t.Fatalf("the sink received %d keys twice: %v", len(st.Duplicates), st.Duplicates)
	}
	inWindow := map[string]bool{}
	for _, k := range rep.CrashWindow {
		inWindow[k] = true
	}
	var delivered, lost int
	for i := range crashEvents {
		k := key(i)
		switch n := sink.Count(k); {
		case n == 1 && inWindow[k]:
			delivered++ // sent, but the child died before logging it
		case n == 1:
		case n == 0 && inWindow[k]:
			lost++ // intent logged, request never completed: reported
		default:
			t.Fatalf("key %s (event %d): received %d times and not in the crash window", k, i, n)
		}
	}
	// The window holds at least the request the sink answered too late and
	// at most three chunks of requests plus two chunks' worth of unwritten
	// outcomes (see the writeback package doc).
	if len(rep.CrashWindow) < 25 || len(rep.CrashWindow) > 5*intentAhead*25 {
		t.Errorf("crash window has %d keys", len(rep.CrashWindow))
	}
	if rep.Sent+afterKill.Events+lost != crashEvents {
		t.Errorf("accounting: rerun sent %d, child delivered %d (%d of them in the window), %d lost; want sum %d",
			rep.Sent, afterKill.Events, delivered, lost, crashEvents)
	}
	t.Logf("kill after request %d: child delivered %d events; crash window %d keys (%d delivered, %d never arrived); rerun sent %d, skipped %d",
		killAtRequest, afterKill.Events, len(rep.CrashWindow), delivered, lost, rep.Sent, rep.Skipped)

	// A third run sends nothing and still reports the window.
	rep3, err := w.Run(ctx, "third")
	if err != nil || rep3.Sent != 0 || len(rep3.CrashWindow) != len(rep.CrashWindow) {
		t.Errorf("third run: %+v, %v; want nothing sent and the same window", rep3, err)
	}
}

func startAndWait(cmd *exec.Cmd, pid *atomic.Int64) ([]byte, error) {
	var buf syncBuf
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid.Store(int64(cmd.Process.Pid))
	err := cmd.Wait()
	return buf.bytes(), err
}

type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b...)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
