package e2e_test

import (
	"bufio"
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunFromScratch is `make run` in miniature: sam run with no SAM_
// settings but paths, then the checks the issue asks for.
func TestRunFromScratch(t *testing.T) {
	w := newWorkspace(t, 21)
	out := w.mustSam("run")
	for _, want := range []string{"attribution model last_non_direct", "attribution model markov", "Paid Search", "Paid Social", "Display"} {
		if !strings.Contains(out, want) {
			t.Errorf("sam run output lacks %q:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(w.dir, "sam.duckdb")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("DuckDB file must exist and be readable by the owner only: %v %v", st, err)
	}

	db := w.open()
	for _, table := range []string{"stg_ga4__events", "stg_ga4__sessions", "stg_crm__leads", "fct_lead_revenue", "attribution_touchpoints", "channel_performance"} {
		if n := w.queryInt(db, `SELECT count(*) FROM "`+table+`"`); n == 0 {
			t.Errorf("%s is empty", table)
		}
	}
	stages := w.queryInt(db, `SELECT count(DISTINCT stage) FROM sam_run_ledger WHERE status = 'succeeded'`)
	if stages != 6 {
		t.Errorf("ledger: %d stages succeeded, want 6", stages)
	}
	sent := w.queryInt(db, `SELECT count(DISTINCT idempotency_key) FROM raw_writeback__send_log WHERE status = 'sent'`)
	queued := w.queryInt(db, `SELECT count(*) FROM writeback_queue`)
	db.Close()
	if sent == 0 {
		t.Fatal("the writer sent nothing")
	}
	if queued != 0 {
		t.Errorf("after the run the queue should be empty (everything sent), has %d", queued)
	}
	if got := sinkKeys(t, filepath.Join(w.dir, "data/ga4sink.ndjson")); got != int(sent) {
		t.Errorf("sink received %d events, send log says %d", got, sent)
	}

	// A second run finds nothing new to send.
	out = w.mustSam("run")
	if got := sinkKeys(t, filepath.Join(w.dir, "data/ga4sink.ndjson")); got != int(sent) {
		t.Errorf("second run sent again: sink has %d events, want %d", got, sent)
	}
	if !strings.Contains(out, "sent 0,") {
		t.Errorf("second run's writeback should send nothing:\n%s", out)
	}
}

// sinkKeys counts the lines the local sink persisted (one per event).
func sinkKeys(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("sink file: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return n
}

// TestKillDuringTransformLeavesNoHalfTables kills `sam transform` with
// SIGKILL at random moments, reruns it, and compares every model's content
// with a clean build.
func TestKillDuringTransformLeavesNoHalfTables(t *testing.T) {
	clean := newWorkspace(t, 10)
	clean.mustSam("run", "--stages", "load_ga4,load_crm,load_spend,transform")
	db := clean.open()
	want := checksums(t, db, "stg_", "int_", "fct_", "attribution_", "channel_", "seed_")
	db.Close()
	if len(want) < 10 {
		t.Fatalf("too few models to compare: %v", want)
	}

	w := newWorkspace(t, 10)
	w.mustSam("run", "--stages", "load_ga4,load_crm,load_spend")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := w.command(ctx, "transform", "--full-refresh")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(200+rng.Intn(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		cancel()
	}
	w.mustSam("transform")
	db = w.open()
	got := checksums(t, db, "stg_", "int_", "fct_", "attribution_", "channel_", "seed_")
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
