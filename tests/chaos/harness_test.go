// Package chaos_test kills the real sam binary with SIGKILL at random points
// of `sam run` on the embedded engine, reruns it, and checks that the
// warehouse ends where a clean run ends and that the local GA4 sink never
// received an event twice.
//
// The harness below follows tests/e2e: it builds the binary once per test
// run and gives every test isolated workspaces of generated data.
package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

var samBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sam-chaos-bin")
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

// Sizes of the generated data: small enough that one run takes seconds.
const (
	genDays         = 7
	genEventsPerDay = 600
	genSeed         = 7
)

// workspace is one isolated SAM installation: data, DuckDB file, sink file.
type workspace struct {
	t   *testing.T
	dir string
	env []string
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{t: t, dir: t.TempDir()}
	w.env = append(cleanEnv(),
		"SAM_DUCKDB_PATH="+w.path("sam.duckdb"),
		"SAM_GA4_EXPORT_DIR="+w.path("data/ga4"),
		"SAM_CRM_DIR="+w.path("data/crm"),
		"SAM_SPEND_DIR="+w.path("data/spend"),
		"SAM_FX_RATES_FILE="+w.path("data/fx_rates.csv"),
		"SAM_GA4_SINK_FILE="+w.path("data/ga4sink.ndjson"),
		"SAM_LOG_FORMAT=json",
	)
	w.mustSam("generate", "--out", w.path("data"), "--days", fmt.Sprint(genDays),
		"--events-per-day", fmt.Sprint(genEventsPerDay), "--seed", fmt.Sprint(genSeed))
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

func (w *workspace) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, samBin, args...)
	cmd.Dir = w.dir
	cmd.Env = w.env
	return cmd
}

func (w *workspace) sam(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := w.command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (w *workspace) mustSam(args ...string) string {
	w.t.Helper()
	out, errOut, err := w.sam(args...)
	if err != nil {
		w.t.Fatalf("sam %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, tail(errOut, 4000))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// logLine is the part of a JSON log line the chaos test steers by.
type logLine struct {
	Message string `json:"message"`
	Stage   string `json:"stage"`
}

// watch starts `sam args...` and calls onLine with every JSON log line of
// its stderr as it arrives; the returned wait function returns the exit
// error and the whole stderr.
func (w *workspace) watch(ctx context.Context, onLine func(logLine), args ...string) (cmd *exec.Cmd, wait func() (string, error)) {
	w.t.Helper()
	cmd = w.command(ctx, args...)
	cmd.Stdout = io.Discard
	pr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	var all bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			all.Write(sc.Bytes())
			all.WriteByte('\n')
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				onLine(l)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	return cmd, func() (string, error) {
		<-done // the pipe must be drained before Wait closes it
		err := cmd.Wait()
		return all.String(), err
	}
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

func queryStrings(t *testing.T, db warehouse.Warehouse, q string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([]string, 0, len(all))
	for _, r := range all {
		out = append(out, fmt.Sprint(r[0]))
	}
	return out
}

// runDependentColumns differ between two correct runs (load and build times,
// run ids), so checksums leave them out.
var runDependentColumns = map[string]bool{
	"loaded_at": true, "run_id": true, "built_at": true, "rejected_at": true, "recorded_at": true,
	"sent_at": true, "saved_at": true, "started_at": true, "ended_at": true, "generated_at": true,
}

// rowText is the SQL that renders each row of name as one text, run
// dependent columns left out and the rest in a fixed order.
//
// FLOAT64 values are rendered to 10 significant digits: a sum of doubles
// depends on the order of its terms, and the rows of a table rebuilt after
// a kill may sit in another physical order than a clean run's, so the last
// bits of such sums differ between two equally correct runs. (NUMERIC, the
// type of money, is exact and compared in full.)
func rowText(t *testing.T, db *duckdb.DB, name string) string {
	t.Helper()
	schema, err := db.Describe(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range schema.Columns {
		switch {
		case runDependentColumns[c.Name]:
		case c.Type == warehouse.Float64 && !c.Repeated:
			cols = append(cols, `coalesce(printf('%.10g', "`+c.Name+`" + 0.0), '<null>')`)
		default:
			cols = append(cols, `coalesce(CAST("`+c.Name+`" AS VARCHAR), '<null>')`)
		}
	}
	sort.Strings(cols)
	return fmt.Sprintf(`SELECT concat_ws('~', %s) AS r FROM "%s"`, strings.Join(cols, ", "), name)
}

// rowDiff describes how table name differs between two warehouses: rows
// only in a, rows only in b (at most limit of each).
func rowDiff(t *testing.T, a, b *duckdb.DB, name string, limit int) string {
	t.Helper()
	count := func(db *duckdb.DB) map[string]int {
		m := map[string]int{}
		for _, r := range queryStrings(t, db, rowText(t, db, name)) {
			m[r]++
		}
		return m
	}
	ra, rb := count(a), count(b)
	var onlyA, onlyB []string
	for r, n := range ra {
		if rb[r] < n {
			onlyA = append(onlyA, r)
		}
	}
	for r, n := range rb {
		if ra[r] < n {
			onlyB = append(onlyB, r)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return fmt.Sprintf("  clean only (%d): %s\n  after kill only (%d): %s", len(onlyA), strings.Join(onlyA[:min(limit, len(onlyA))], "\n    "),
		len(onlyB), strings.Join(onlyB[:min(limit, len(onlyB))], "\n    "))
}

// checksums returns a content hash per table for every table and view whose
// name matches one of prefixes, independent of row order.
func checksums(t *testing.T, db *duckdb.DB, prefixes ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	names := queryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name`)
	out := map[string]string{}
	for _, name := range names {
		match := false
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				match = true
			}
		}
		if !match || strings.Contains(name, "__sam_tmp") {
			continue
		}
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM (%s)`, rowText(t, db, name))
		rs, err := db.Query(ctx, q)
		if err != nil {
			t.Fatalf("checksum %s: %v", name, err)
		}
		v, err := warehouse.CollectRows(rs)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = fmt.Sprintf("%v:%v", v[0][0], v[0][1])
	}
	return out
}

// sinkCounts reads the local GA4 sink's NDJSON file and counts every
// idempotency key it holds. A torn last line (the sink's process was killed
// mid-write) is not an event and is left out.
func sinkCounts(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct {
			Key    string         `json:"key"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			if i == len(lines)-1 {
				continue // torn last line, no newline yet
			}
			t.Fatalf("sink file line %d: %v", i+1, err)
		}
		key := rec.Key
		if key == "" {
			key, _ = rec.Params["sam_event_key"].(string)
		}
		if key == "" {
			t.Fatalf("sink file line %d has no idempotency key: %s", i+1, line)
		}
		counts[key]++
	}
	return counts
}
