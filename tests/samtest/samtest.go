// Package samtest is the harness the end-to-end suites (tests/e2e,
// tests/chaos, tests/security) share: it builds the real sam binary once per
// test binary, gives each test an isolated workspace (generated data, its own
// DuckDB file and GA4 sink file, no SAM_ variable of the developer's shell),
// and compares warehouses by content. It is imported only by tests.
package samtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// Main builds sam, runs the tests with the binary's path in *bin, removes
// the binary and returns the exit code for os.Exit. Use it from TestMain.
func Main(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "sam-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "sam")
	_, here, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", *bin, "./cmd/sam")
	build.Dir = filepath.Join(filepath.Dir(here), "..", "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sam:", err)
		return 1
	}
	return m.Run()
}

// Workspace is one isolated SAM installation.
type Workspace struct {
	T   testing.TB
	Bin string
	Dir string
	// Env is the environment sam runs with: the process's, less any SAM_
	// variable, plus the workspace's paths and JSON logs.
	Env []string
}

// New returns an empty workspace in a fresh temporary directory.
func New(t testing.TB, bin string) *Workspace {
	t.Helper()
	w := &Workspace{T: t, Bin: bin, Dir: t.TempDir()}
	w.Env = append(CleanEnv(),
		"SAM_DUCKDB_PATH="+w.Path("sam.duckdb"),
		"SAM_GA4_EXPORT_DIR="+w.Path("data/ga4"),
		"SAM_CRM_DIR="+w.Path("data/crm"),
		"SAM_SPEND_DIR="+w.Path("data/spend"),
		"SAM_FX_RATES_FILE="+w.Path("data/fx_rates.csv"),
		"SAM_GA4_SINK_FILE="+w.Path("data/ga4sink.ndjson"),
		"SAM_LOG_FORMAT=json",
	)
	return w
}

// Generate writes sample data into the workspace's data folder.
func (w *Workspace) Generate(days, eventsPerDay int, seed int64) {
	w.T.Helper()
	args := []string{"generate", "--out", w.Path("data"), "--days", fmt.Sprint(days), "--seed", fmt.Sprint(seed)}
	if eventsPerDay > 0 {
		args = append(args, "--events-per-day", fmt.Sprint(eventsPerDay))
	}
	w.MustRun(args...)
}

// Path is a path inside the workspace.
func (w *Workspace) Path(rel string) string { return filepath.Join(w.Dir, filepath.FromSlash(rel)) }

// CleanEnv is the process environment without SAM_ variables.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SAM_") {
			out = append(out, kv)
		}
	}
	return out
}

// Command prepares `sam args...` in the workspace.
func (w *Workspace) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.Bin, args...)
	cmd.Dir = w.Dir
	cmd.Env = w.Env
	return cmd
}

// Run runs `sam args...` to completion (five minutes at most).
func (w *Workspace) Run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := w.Command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// MustRun runs `sam args...` and fails the test if it fails.
func (w *Workspace) MustRun(args ...string) string {
	w.T.Helper()
	out, errOut, err := w.Run(args...)
	if err != nil {
		w.T.Fatalf("sam %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, Tail(errOut, 4000))
	}
	return out
}

// Open opens the workspace's DuckDB file; no sam process may hold it.
func (w *Workspace) Open() *duckdb.DB {
	w.T.Helper()
	db, err := duckdb.Open(context.Background(), w.Path("sam.duckdb"), duckdb.Options{})
	if err != nil {
		w.T.Fatal(err)
	}
	return db
}

// Tail keeps the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// QueryStrings returns the first column of every row of q, formatted.
func QueryStrings(t testing.TB, db warehouse.Warehouse, q string) []string {
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

// QueryInt returns the single integer q selects.
func QueryInt(t testing.TB, db warehouse.Warehouse, q string) int64 {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil || len(all) != 1 {
		t.Fatalf("%s: want one row: %v", q, err)
	}
	var n int64
	if err := warehouse.ConvertAssign(&n, all[0][0]); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// RunDependentColumns differ between two correct runs (load and build
// times, run ids), so content comparisons leave them out.
var RunDependentColumns = map[string]bool{
	"loaded_at": true, "run_id": true, "built_at": true, "rejected_at": true, "recorded_at": true,
	"sent_at": true, "saved_at": true, "started_at": true, "ended_at": true, "generated_at": true,
}

// RowText is the SQL that renders each row of table name as one text,
// run-dependent columns left out and the rest in a fixed order.
//
// FLOAT64 values are rendered to 10 significant digits: a sum of doubles
// depends on the order of its terms, and a table rebuilt after a crash may
// hold its rows in another physical order than a clean run's, so the last
// bits of such sums differ between two equally correct runs. NUMERIC, the
// type of money, is exact and compared in full.
func RowText(t testing.TB, db *duckdb.DB, name string) string {
	t.Helper()
	schema, err := db.Describe(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range schema.Columns {
		switch {
		case RunDependentColumns[c.Name]:
		case c.Type == warehouse.Float64 && !c.Repeated:
			cols = append(cols, `coalesce(printf('%.10g', "`+c.Name+`" + 0.0), '<null>')`)
		default:
			cols = append(cols, `coalesce(CAST("`+c.Name+`" AS VARCHAR), '<null>')`)
		}
	}
	sort.Strings(cols)
	return fmt.Sprintf(`SELECT concat_ws('~', %s) AS r FROM "%s"`, strings.Join(cols, ", "), name)
}

// RowDiff describes how table name differs between two warehouses: up to
// limit rows found only in a, and only in b.
func RowDiff(t testing.TB, a, b *duckdb.DB, name string, limit int) string {
	t.Helper()
	count := func(db *duckdb.DB) map[string]int {
		m := map[string]int{}
		for _, r := range QueryStrings(t, db, RowText(t, db, name)) {
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
	return fmt.Sprintf("  first only (%d): %s\n  second only (%d): %s", len(onlyA), strings.Join(onlyA[:min(limit, len(onlyA))], "\n    "),
		len(onlyB), strings.Join(onlyB[:min(limit, len(onlyB))], "\n    "))
}

// SameRowsWithin reports whether table name holds the same rows in a and b
// when FLOAT64 values may differ by the relative tolerance rel, and describes
// the first difference otherwise. Two equally correct builds can sum doubles
// in different orders; `sam checksum` rounds them to 10 significant digits,
// so it differs when such a value lies on a rounding boundary.
func SameRowsWithin(t testing.TB, a, b *duckdb.DB, name string, rel float64) (bool, string) {
	t.Helper()
	ra, rb := rowsByKey(t, a, name), rowsByKey(t, b, name)
	keys := make([]string, 0, len(ra)+len(rb))
	for k := range ra {
		keys = append(keys, k)
	}
	for k := range rb {
		if _, ok := ra[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		va, vb := ra[k], rb[k]
		if len(va) != len(vb) {
			return false, fmt.Sprintf("%d rows %s in the first, %d in the second", len(va), k, len(vb))
		}
		for i := range va {
			for j := range va[i] {
				if !within(va[i][j], vb[i][j], rel) {
					return false, fmt.Sprintf("row %s: doubles %v in the first, %v in the second", k, va[i], vb[i])
				}
			}
		}
	}
	return true, ""
}

// rowsByKey reads every row of table name: the text of its other columns
// (in name order) to the doubles of its FLOAT64 columns, NULL as NaN, in a
// stable order.
func rowsByKey(t testing.TB, db *duckdb.DB, name string) map[string][][]float64 {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT * FROM "`+name+`"`)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	defer rows.Close()
	cols := rows.Columns()
	order := warehouse.NameOrder(cols)
	out := map[string][][]float64{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		var key strings.Builder
		var doubles []float64
		for _, i := range order {
			if cols[i].Type == warehouse.Float64 && !cols[i].Repeated {
				f, ok := vals[i].(float64)
				if !ok {
					f = math.NaN()
				}
				doubles = append(doubles, f)
				continue
			}
			fmt.Fprintf(&key, "%s=%v~", cols[i].Name, vals[i])
		}
		out[key.String()] = append(out[key.String()], doubles)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	for _, v := range out {
		sort.Slice(v, func(x, y int) bool { return slices.Compare(v[x], v[y]) < 0 })
	}
	return out
}

// within reports whether x and y differ by at most rel of the larger (NaN,
// a NULL, only equals NaN).
func within(x, y, rel float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return math.Abs(x-y) <= rel*math.Max(math.Abs(x), math.Abs(y))
}

// Checksums returns a content hash, independent of row order, for every
// table and view whose name starts with one of prefixes.
func Checksums(t testing.TB, db *duckdb.DB, prefixes ...string) map[string]string {
	t.Helper()
	names := QueryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name`)
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
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM (%s)`, RowText(t, db, name))
		rs, err := db.Query(context.Background(), q)
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

// SinkCounts reads the local GA4 sink's NDJSON file and counts each
// idempotency key it holds. A torn last line (the sink's process was killed
// mid-write) is not an event and is left out.
func SinkCounts(t testing.TB, path string) map[string]int {
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

// Seed is the seed of a test's random choices: SAM_TEST_SEED when set (to
// replay a failure), else the clock. It is logged either way, so a failing
// run always says how to replay it.
func Seed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv("SAM_TEST_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SAM_TEST_SEED=%q: want an unsigned integer", s)
		}
		t.Logf("SAM_TEST_SEED=%d (from the environment)", n)
		return n
	}
	n := uint64(time.Now().UnixNano())
	t.Logf("SAM_TEST_SEED=%d (replay with it set)", n)
	return n
}
