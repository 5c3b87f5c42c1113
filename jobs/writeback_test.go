package jobs

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/scheduler"
)

// The daily run's last stage and the hourly writeback job overlapped on one
// ledger: each runner read the ledger before either sent, and both sent
// every pending event, a second conversion at GA4 and LinkedIn. One
// writeback delivers at a time: a second one finds the lease held and
// sends nothing, and a writeback gives its lease up when it ends, even
// when it fails.
func TestOneWritebackDeliversAtATime(t *testing.T) {
	cfg := defaults(t)
	dir := t.TempDir()
	cfg.Warehouse.DuckDBPath = filepath.Join(dir, "sam.duckdb")
	cfg.Writeback.SinkFile = filepath.Join(dir, "ga4sink.ndjson")
	s, err := Configure(cfg, Task{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(t.Context(), s, slog.New(slog.DiscardHandler), AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()

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
