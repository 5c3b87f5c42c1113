package models_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/jobs"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// subset returns the files of the embedded models that keep says to keep.
func subset(t testing.TB, keep func(file string) bool) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !keep(p) {
			return err
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// renderWithMacros renders tmpl for DuckDB as a model of a project holding
// the embedded macros (and the channel groups they render from), so a test
// runs exactly the SQL a macro gives models.
func renderWithMacros(t testing.TB, tmpl string) string {
	t.Helper()
	fsys := subset(t, func(file string) bool {
		return strings.HasPrefix(file, "macros/") || strings.HasPrefix(file, "seeds/channel_groups.")
	})
	fsys["marts/probe.sql"] = &fstest.MapFile{Data: []byte(tmpl)}
	p, err := transform.LoadProject(fsys)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Compile(duckdb.Dialect{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out["probe"]
}

func openDuck(t testing.TB) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), "", duckdb.Options{})
	if err != nil {
		t.Fatalf("duckdb.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func query(t testing.TB, wh warehouse.Warehouse, q string) [][]any {
	t.Helper()
	rows, err := wh.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return data
}

func queryInt(t testing.TB, wh warehouse.Warehouse, q string) int64 {
	t.Helper()
	data := query(t, wh, q)
	if len(data) != 1 {
		t.Fatalf("%s: %d rows, want 1", q, len(data))
	}
	var n int64
	if err := warehouse.ConvertAssign(&n, data[0][0]); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// queryStrings returns each row's values formatted and joined with "|".
func queryStrings(t testing.TB, wh warehouse.Warehouse, q string) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, wh, q) {
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = warehouse.Format(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// wholeProject returns a runner of every model of the project on wh, with
// the default configuration's variables, after creating SAM's own tables.
func wholeProject(t testing.TB, ctx context.Context, wh warehouse.Warehouse) *transform.Runner {
	t.Helper()
	if err := systables.New(wh).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := transform.LoadProject(subset(t, func(string) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return &transform.Runner{WH: wh, Project: p, Vars: jobs.Vars(cfg)}
}
