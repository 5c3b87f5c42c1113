// Package e2e_test drives the real sam binary end to end on the embedded
// engine: generated sample data, a DuckDB file, the local GA4 sink. It builds
// the binary once per test run.
package e2e_test

import (
	"bytes"
	"context"
	"fmt"
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
	dir, err := os.MkdirTemp("", "sam-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	samBin = filepath.Join(dir, "sam")
	build := exec.Command("go", "build", "-o", samBin, "../../cmd/sam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sam:", err)
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
		"SAM_DUCKDB_PATH="+filepath.Join(w.dir, "sam.duckdb"),
		"SAM_GA4_EXPORT_DIR="+filepath.Join(w.dir, "data/ga4"),
		"SAM_CRM_DIR="+filepath.Join(w.dir, "data/crm"),
		"SAM_SPEND_DIR="+filepath.Join(w.dir, "data/spend"),
		"SAM_FX_RATES_FILE="+filepath.Join(w.dir, "data/fx_rates.csv"),
		"SAM_GA4_SINK_FILE="+filepath.Join(w.dir, "data/ga4sink.ndjson"),
		"SAM_LOG_FORMAT=json",
	)
	if days > 0 {
		w.mustSam("generate", "--out", filepath.Join(w.dir, "data"), "--days", fmt.Sprint(days), "--seed", "7")
	}
	return w
}

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

// open opens the workspace's DuckDB file (no sam process may hold it).
func (w *workspace) open() *duckdb.DB {
	w.t.Helper()
	db, err := duckdb.Open(context.Background(), filepath.Join(w.dir, "sam.duckdb"), duckdb.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

func (w *workspace) queryInt(db warehouse.Warehouse, q string) int64 {
	w.t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		w.t.Fatalf("%s: no row", q)
	}
	if err := rows.Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// runDependentColumns differ between two correct runs (load and build times,
// run ids), so checksums leave them out.
var runDependentColumns = map[string]bool{
	"loaded_at": true, "run_id": true, "built_at": true, "rejected_at": true, "recorded_at": true,
	"sent_at": true, "saved_at": true, "started_at": true, "ended_at": true, "generated_at": true,
}

// checksums returns a content hash per table for every table and view whose
// name matches one of prefixes, independent of row order.
func checksums(t *testing.T, db *duckdb.DB, prefixes ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	all, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range all {
		name := r[0].(string)
		match := false
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				match = true
			}
		}
		if !match || strings.Contains(name, "__sam_tmp") {
			continue
		}
		schema, err := db.Describe(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, c := range schema.Columns {
			if !runDependentColumns[c.Name] {
				cols = append(cols, `coalesce(CAST("`+c.Name+`" AS VARCHAR), '<null>')`)
			}
		}
		sort.Strings(cols)
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(r, '|' ORDER BY r)), '') FROM (SELECT concat_ws('~', %s) AS r FROM "%s")`,
			strings.Join(cols, ", "), name)
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
