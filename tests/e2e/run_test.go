package e2e_test

import (
	"context"
	"math/rand"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/tests/samtest"
)

// TestRunFromScratch is `make run` in miniature: sam run with no SAM_
// settings but paths, then the checks the issue asks for.
func TestRunFromScratch(t *testing.T) {
	w := newWorkspace(t, 21)
	out := w.MustRun("run")
	for _, want := range []string{"attribution model last_non_direct", "attribution model markov", "Paid Search", "Paid Social", "Display"} {
		if !strings.Contains(out, want) {
			t.Errorf("sam run output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(w.Path("sam.duckdb")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("DuckDB file must exist and be readable by the owner only: %v %v", st, err)
	}

	db := w.Open()
	for _, table := range []string{"stg_ga4__events", "stg_ga4__sessions", "stg_crm__leads", "fct_lead_revenue", "attribution_touchpoints", "channel_performance"} {
		if n := samtest.QueryInt(t, db, `SELECT count(*) FROM "`+table+`"`); n == 0 {
			t.Errorf("%s is empty", table)
		}
	}
	stages := samtest.QueryInt(t, db, `SELECT count(DISTINCT stage) FROM sam_run_ledger WHERE status = 'succeeded'`)
	if stages != 6 {
		t.Errorf("ledger: %d stages succeeded, want 6", stages)
	}
	// The transform stage ran every data test on the models it built; the
	// test stage does not run them a second time.
	testDetail := `SELECT detail FROM sam_run_ledger WHERE stage = 'test' AND status = 'succeeded' ORDER BY ended_at`
	if got := samtest.QueryStrings(t, db, testDetail); len(got) != 1 || !strings.HasPrefix(got[0], "tests passed 0 of 0; ") || !strings.HasSuffix(got[0], " more ran in the transform stage") {
		t.Errorf("test stage: %q, want no test run twice", got)
	}
	sent := samtest.QueryInt(t, db, `SELECT count(DISTINCT idempotency_key) FROM raw_writeback__send_log WHERE status = 'sent'`)
	queued := samtest.QueryInt(t, db, `SELECT count(*) FROM writeback_queue`)
	db.Close()
	if sent == 0 {
		t.Fatal("the writer sent nothing")
	}
	if queued != 0 {
		t.Errorf("after the run the queue should be empty (everything sent), has %d", queued)
	}
	if got := sinkKeys(t, w.Path("data/ga4sink.ndjson")); got != int(sent) {
		t.Errorf("sink received %d events, send log says %d", got, sent)
	}

	// A second run finds nothing new to send.
	out = w.MustRun("run")
	if got := sinkKeys(t, w.Path("data/ga4sink.ndjson")); got != int(sent) {
		t.Errorf("second run sent again: sink has %d events, want %d", got, sent)
	}
	if !strings.Contains(out, "sent 0,") {
		t.Errorf("second run's writeback should send nothing:\n%s", out)
	}
}

// sinkKeys counts the events the local sink persisted, failing on any key
// received twice.
func sinkKeys(t *testing.T, path string) int {
	t.Helper()
	counts := samtest.SinkCounts(t, path)
	for k, n := range counts {
		if n > 1 {
			t.Errorf("sink received %s %d times", k, n)
		}
	}
	return len(counts)
}

// TestKillDuringTransformLeavesNoHalfTables kills `sam transform` with
// SIGKILL at random moments, reruns it, and compares every model's content
// with a clean build.
func TestKillDuringTransformLeavesNoHalfTables(t *testing.T) {
	clean := newWorkspace(t, 10)
	clean.MustRun("run", "--stages", "load_ga4,load_crm,load_spend,transform")
	db := clean.Open()
	want := samtest.Checksums(t, db, "stg_", "int_", "fct_", "attribution_", "channel_", "seed_")
	db.Close()
	if len(want) < 10 {
		t.Fatalf("too few models to compare: %v", want)
	}

	w := newWorkspace(t, 10)
	w.MustRun("run", "--stages", "load_ga4,load_crm,load_spend")
	rng := rand.New(rand.NewSource(int64(samtest.Seed(t)))) // when each kill lands
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := w.Command(ctx, "transform", "--full-refresh")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(200+rng.Intn(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		cancel()
	}
	w.MustRun("transform")
	db = w.Open()
	got := samtest.Checksums(t, db, "stg_", "int_", "fct_", "attribution_", "channel_", "seed_")
	db.Close()
	for name, sum := range want {
		if got[name] != sum {
			t.Errorf("%s: after kill -9 and rerun %s, clean run %s", name, got[name], sum)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s exists after the crash but not in a clean run", name)
		}
	}
}
