package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

func testLedger(t *testing.T) *Ledger {
	t.Helper()
	db, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := systables.New(db).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return NewLedger(db)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func stage(name string, rows int64, err error) Stage {
	return Stage{Name: name, Func: func(context.Context, *Run) (StageResult, error) {
		return StageResult{Rows: rows, Detail: name + " detail"}, err
	}}
}

func statuses(t *testing.T, l *Ledger, runID string) map[string]Entry {
	t.Helper()
	entries, err := l.Recent(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Entry{}
	for _, e := range entries {
		if e.RunID == runID {
			out[e.Stage] = e
		}
	}
	return out
}

func TestPipelineRecordsEveryStage(t *testing.T) {
	l := testLedger(t)
	p := &Pipeline{Ledger: l, Logger: quiet()}
	rep, err := p.Run(context.Background(), "run", "run-ok", []Stage{
		stage("load", 10, nil), stage("transform", 5, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stages) != 2 || rep.Stages[1].Status != StatusSucceeded {
		t.Fatalf("report %+v", rep)
	}
	got := statuses(t, l, "run-ok")
	if got["load"].Status != StatusSucceeded || got["load"].Rows != 10 || got["transform"].Rows != 5 {
		t.Fatalf("ledger %+v", got)
	}
	if got["load"].EndedAt.IsZero() || got["load"].Detail != "load detail" {
		t.Fatalf("ledger entry lacks end or detail: %+v", got["load"])
	}
}

func TestPipelineStopsAtFailureAndSkipsTheRest(t *testing.T) {
	l := testLedger(t)
	p := &Pipeline{Ledger: l, Logger: quiet()}
	_, err := p.Run(context.Background(), "run", "run-fail", []Stage{
		stage("load", 1, nil), stage("transform", 0, errors.New("model x failed")), stage("writeback", 0, nil),
	})
	if err == nil || !strings.Contains(err.Error(), "stage transform: model x failed") {
		t.Fatalf("want the failing stage named, got %v", err)
	}
	got := statuses(t, l, "run-fail")
	if got["load"].Status != StatusSucceeded || got["transform"].Status != StatusFailed || got["writeback"].Status != StatusSkipped {
		t.Fatalf("ledger %+v", got)
	}
	if got["transform"].Error == "" {
		t.Fatal("failed stage must record its error")
	}
}

// TestStageRunsDespiteFailuresItAccepts: a stage whose Despite accepts the
// failures so far runs; one that does not, or has none, is skipped; the run
// returns the first failure.
func TestStageRunsDespiteFailuresItAccepts(t *testing.T) {
	l := testLedger(t)
	p := &Pipeline{Ledger: l, Logger: quiet()}
	mart := errors.New("model dashboard failed")
	var seen []error
	accept := func(failures []error) bool { seen = failures; return errors.Is(failures[0], mart) }
	refuse := func([]error) bool { return false }
	tests, writeback, report := stage("test", 3, errors.New("test failed")), stage("writeback", 2, nil), stage("report", 1, nil)
	tests.Despite, writeback.Despite, report.Despite = accept, accept, refuse
	_, err := p.Run(context.Background(), "run", "run-despite", []Stage{
		stage("transform", 0, mart), tests, writeback, report, stage("after", 0, nil),
	})
	if !errors.Is(err, mart) {
		t.Fatalf("run error %v, want the first failure", err)
	}
	got := statuses(t, l, "run-despite")
	for st, want := range map[string]string{"transform": StatusFailed, "test": StatusFailed, "writeback": StatusSucceeded,
		"report": StatusSkipped, "after": StatusSkipped} {
		if got[st].Status != want {
			t.Errorf("stage %s: %s, want %s", st, got[st].Status, want)
		}
	}
	if len(seen) != 2 {
		t.Errorf("writeback's Despite saw %d failures, want both before it", len(seen))
	}
}

func TestCancelledRunIsRecordedAsInterrupted(t *testing.T) {
	l := testLedger(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{Ledger: l, Logger: quiet()}
	_, err := p.Run(ctx, "run", "run-term", []Stage{{Name: "load", Func: func(ctx context.Context, _ *Run) (StageResult, error) {
		cancel() // SIGTERM arrives mid-stage
		<-ctx.Done()
		return StageResult{}, ctx.Err()
	}}, stage("transform", 0, nil)})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("want ErrInterrupted, got %v", err)
	}
	got := statuses(t, l, "run-term")
	if got["load"].Status != StatusInterrupted || got["transform"].Status != StatusSkipped {
		t.Fatalf("ledger %+v", got)
	}
}

func TestSecretsNeverReachTheLedger(t *testing.T) {
	l := testLedger(t)
	secret := "mp-secret/with+chars"
	p := &Pipeline{Ledger: l, Logger: quiet(), Redact: Redactor(secret)}
	_, err := p.Run(context.Background(), "run", "run-secret", []Stage{
		stage("writeback", 0, errors.New(`Post "https://example/mp/collect?api_secret=mp-secret%2Fwith%2Bchars": timeout; token mp-secret/with+chars`)),
	})
	if err == nil || strings.Contains(err.Error(), "mp-secret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
	got := statuses(t, l, "run-secret")
	if strings.Contains(got["writeback"].Error, "mp-secret") || !strings.Contains(got["writeback"].Error, "[redacted]") {
		t.Fatalf("ledger error not redacted: %q", got["writeback"].Error)
	}
}

func TestRunIDsSortByTime(t *testing.T) {
	a := NewRunID(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewRunID(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	if !(a < b) || a == NewRunID(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("run ids %s %s must sort by time and be unique", a, b)
	}
}
