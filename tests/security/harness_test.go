// Package security_test checks what SAM promises about secrets, SQL
// identifiers from configuration, personal data and file permissions, by
// driving the real sam binary on the embedded engine.
//
// The harness below follows tests/e2e: it builds the binary once per test
// run and gives every test isolated workspaces of generated data.
package security_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

var samBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sam-security-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	samBin = filepath.Join(dir, "sam")
	build := exec.Command("go", "build", "-o", samBin, "../../cmd/sam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sam:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// workspace is one isolated SAM installation: data, DuckDB file, sink file.
type workspace struct {
	t   *testing.T
	dir string
	env []string
}

func newWorkspace(t *testing.T, days int) *workspace {
	t.Helper()
	w := &workspace{t: t, dir: t.TempDir()}
	w.env = append(cleanEnv(),
		"SAM_DUCKDB_PATH="+w.path("sam.duckdb"),
		"SAM_GA4_EXPORT_DIR="+w.path("data/ga4"),
		"SAM_CRM_DIR="+w.path("data/crm"),
		"SAM_SPEND_DIR="+w.path("data/spend"),
		"SAM_FX_RATES_FILE="+w.path("data/fx_rates.csv"),
		"SAM_GA4_SINK_FILE="+w.path("sink/ga4sink.ndjson"),
		"SAM_LOG_FORMAT=json",
	)
	if days > 0 {
		res := w.sam(nil, "generate", "--out", w.path("data"), "--days", fmt.Sprint(days), "--events-per-day", "600", "--seed", "11")
		if res.err != nil {
			t.Fatalf("sam generate: %v\n%s", res.err, res.stderr)
		}
	}
	return w
}

func (w *workspace) path(rel string) string { return filepath.Join(w.dir, filepath.FromSlash(rel)) }

// cleanEnv drops any SAM_ variable of the developer's shell.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAM_") {
			out = append(out, kv)
		}
	}
	return out
}

// result is one finished sam command.
type result struct {
	args           []string
	stdout, stderr string
	err            error
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("sam %s: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.err, tail(r.stdout, 3000), tail(r.stderr, 3000))
}

// sam runs the binary with the workspace's environment plus extra. A
// command still running after stopAfter (when set) gets SIGTERM, as a
// scheduler would send it, then is killed if it does not stop.
func (w *workspace) samStop(extra []string, stopAfter time.Duration, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if stopAfter > 0 {
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), stopAfter)
	}
	defer cancel()
	cmd := exec.CommandContext(ctx, samBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = w.dir
	cmd.Env = append(append([]string(nil), w.env...), extra...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{args: args, stdout: o.String(), stderr: e.String(), err: err}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}

func (w *workspace) sam(extra []string, args ...string) result {
	w.t.Helper()
	return w.samStop(extra, 0, args...)
}

func (w *workspace) mustSam(extra []string, args ...string) result {
	w.t.Helper()
	r := w.sam(extra, args...)
	if r.err != nil {
		w.t.Fatal(r)
	}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// open opens the workspace's DuckDB file (no sam process may hold it).
func (w *workspace) open() *duckdb.DB {
	w.t.Helper()
	db, err := duckdb.Open(context.Background(), w.path("sam.duckdb"), duckdb.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

func queryCount(t *testing.T, db warehouse.Warehouse, q string) int64 {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil || len(all) != 1 {
		t.Fatalf("%s: %v", q, err)
	}
	n, ok := all[0][0].(int64)
	if !ok {
		t.Fatalf("%s: got %T", q, all[0][0])
	}
	return n
}
