package jobs

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/scheduler"
	"github.com/sam-attribution/sam/warehouse"
)

// sharedWarehouse is a warehouse that several processes may work on at
// once, as BigQuery is: the embedded file under a dialect that does not
// say it admits one process.
type sharedWarehouse struct{ warehouse.Warehouse }

func (w sharedWarehouse) Dialect() warehouse.Dialect { return sharedDialect{w.Warehouse.Dialect()} }

type sharedDialect struct{ warehouse.Dialect }

func (d sharedDialect) Features() warehouse.Features {
	f := d.Dialect.Features()
	f.OneProcess = false
	return f
}

func writebackApp(t *testing.T) *App {
	t.Helper()
	return localApp(t, nil)
}

// localApp opens an App on the defaults, changed by change, with its DuckDB
// file and GA4 sink in a temporary folder; the test's end closes it.
func localApp(t *testing.T, change func(*config.Config)) *App {
	t.Helper()
	cfg := defaults(t)
	dir := t.TempDir()
	cfg.Warehouse.DuckDBPath = filepath.Join(dir, "sam.duckdb")
	cfg.Writeback.SinkFile = filepath.Join(dir, "ga4sink.ndjson")
	if change != nil {
		change(&cfg)
	}
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(t.Context(), s, slog.New(slog.DiscardHandler), AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app
}

// The daily run's last stage and the hourly writeback job overlapped on one
// BigQuery ledger: each runner read the ledger before either sent, and both
// sent every pending event, a second conversion at GA4 and LinkedIn. One
// writeback delivers at a time: a second one finds the lease held and
// sends nothing, and a writeback gives its lease up when it ends, even
// when it fails.
func TestOneWritebackDeliversAtATime(t *testing.T) {
	app := writebackApp(t)
	app.WH = sharedWarehouse{app.WH}

	other := &scheduler.Lock{WH: app.WH, Name: "writeback", Holder: "run-elsewhere", TTL: time.Hour}
	if err := other.Acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := app.Run(t.Context(), "writeback", []string{StageWriteback})
	if err != nil {
		t.Fatalf("a writeback that found another under way failed: %v", err)
	}
	if got := rep.Stages[0]; got.Status != StatusSucceeded || !strings.Contains(got.Result.Detail, "run-elsewhere is delivering") {
		t.Errorf("stage %+v, want it to succeed without sending, naming the run that holds the lease", got)
	}
	if app.Activation != nil {
		t.Error("the runner ran while another writeback held the lease")
	}
	if err := other.Release(t.Context()); err != nil {
		t.Fatal(err)
	}

	// No activation_events: this writeback fails, and must not keep the
	// lease from the next.
	if _, err := app.Run(t.Context(), "writeback", []string{StageWriteback}); err == nil {
		t.Fatal("a writeback without activation_events succeeded")
	}
	if err := other.Acquire(t.Context()); err != nil {
		t.Errorf("the failed writeback kept its lease: %v", err)
	}
}

// DuckDB admits one process to its file, so no writeback overlaps there.
// A lease there only kept a killed run's rerun from sending until it
// expired (the kill -9 chaos runs found the rerun's queue left full).
func TestAWritebackOnTheEmbeddedEngineIsNotHeldBackByAKilledRun(t *testing.T) {
	app := writebackApp(t)
	killed := &scheduler.Lock{WH: app.WH, Name: "writeback", Holder: "killed-run", TTL: time.Hour}
	if err := killed.Acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	// No activation_events: the runner runs, and fails on that.
	rep, err := app.Run(t.Context(), "writeback", []string{StageWriteback})
	if err == nil || strings.Contains(rep.Stages[0].Result.Detail, "skipped") {
		t.Fatalf("stage %+v, err %v: want the runner to have run", rep.Stages[0], err)
	}
}

// stoppedAfterLeaseWH is a shared warehouse on which the run is stopped
// (SIGTERM) just after the lease's INSERT committed, while the lock reads
// back who holds it.
type stoppedAfterLeaseWH struct{ sharedWarehouse }

func (w stoppedAfterLeaseWH) Query(ctx context.Context, sql string, args ...any) (warehouse.Rows, error) {
	if strings.HasPrefix(sql, "SELECT holder FROM") {
		return nil, context.Canceled
	}
	return w.sharedWarehouse.Query(ctx, sql, args...)
}

// TestSIGTERM in tests/bqpipeline (SAM_TEST_SEED=1796688270038093902)
// stopped a run as its lease was being taken: the lease stayed with the
// stopped run, and the retry skipped writeback as if another run were
// delivering, leaving the queue unsent for the lease's ten minutes.
func TestAWritebackStoppedWhileTakingItsLeaseGivesItUp(t *testing.T) {
	app := writebackApp(t)
	shared := sharedWarehouse{app.WH}
	app.WH = stoppedAfterLeaseWH{shared}
	if _, err := app.Run(t.Context(), "writeback", []string{StageWriteback}); err == nil {
		t.Fatal("the stopped writeback succeeded")
	}
	next := &scheduler.Lock{WH: shared, Name: "writeback", Holder: "next-run", TTL: time.Hour}
	if err := next.Acquire(t.Context()); err != nil {
		t.Errorf("the stopped writeback kept its lease: %v", err)
	}
}
