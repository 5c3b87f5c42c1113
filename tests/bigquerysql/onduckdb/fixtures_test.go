package onduckdb_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// project is the embedded models with every custom data test also a model
// (bigquerysql.WithDataTestsAsModels), rendered for DuckDB.
type project struct {
	p   *transform.Project
	sql map[string]string // model -> DuckDB SQL
	// schemas are the DuckDB schemas of every table a model may read: the
	// raw tables, the seeds and every model's output.
	schemas map[string]warehouse.Schema
}

// loadProject builds every model once on an empty in-memory database, which
// yields each table's DuckDB schema, and renders the models for DuckDB.
func loadProject(t *testing.T, ctx context.Context) *project {
	t.Helper()
	fsys, _, err := bigquerysql.WithDataTestsAsModels(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	p, err := transform.LoadProject(fsys)
	if err != nil {
		t.Fatalf("load models: %v", err)
	}
	db := openDB(t, ctx)
	cat, err := bigquerysql.BaseCatalog(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range cat.Tables() {
		name := tb.Path[len(tb.Path)-1]
		if tb.Path[1] != bigquerysql.Dataset || strings.HasPrefix(name, "seed_") {
			continue // the export's wildcard tables; seeds load with the build
		}
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: name, Schema: warehouse.Schema{Columns: tb.Columns}, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(nil)}); err != nil {
			t.Fatalf("create empty %s: %v", name, err)
		}
	}
	sel, err := transform.ParseSelection("")
	if err != nil {
		t.Fatal(err)
	}
	vars := transform.Vars(bigquerysql.Vars())
	r := &transform.Runner{WH: db, Project: p, Vars: vars, RunID: "schemas", Parallelism: 2}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build the models on an empty DuckDB: %v", err)
	}
	pr := &project{p: p, schemas: map[string]warehouse.Schema{}}
	pr.sql, err = p.Compile(duckdb.Dialect{}, db.QualifiedName, vars)
	if err != nil {
		t.Fatalf("compile for DuckDB: %v", err)
	}
	names := slices.Collect(func(yield func(string) bool) {
		for _, tb := range cat.Tables() {
			if !yield(tb.Path[len(tb.Path)-1]) {
				return
			}
		}
	})
	for name := range p.Models {
		names = append(names, name)
	}
	for _, name := range names {
		if strings.HasPrefix(name, bigquerysql.DataTestPrefix) || strings.HasPrefix(name, "events_") {
			continue
		}
		s, err := db.Describe(ctx, name)
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		pr.schemas[name] = s
	}
	return pr
}

func openDB(t *testing.T, ctx context.Context) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// reads lists the tables a model reads: its refs and sources.
func (pr *project) reads(model string) []string {
	m := pr.p.Models[model]
	out := append([]string(nil), m.Refs...)
	for _, src := range m.SourceRefs {
		s, n, _ := strings.Cut(src, ".")
		out = append(out, "raw_"+s+"__"+n)
	}
	return out
}

// fill creates each table in the fixture database with its DuckDB schema,
// holding the fixture's rows or none.
func (pr *project) fill(ctx context.Context, db *duckdb.DB, fx bigquerysql.Fixture, tables []string) error {
	for _, name := range tables {
		if _, err := db.Describe(ctx, name); err == nil {
			continue
		}
		schema, ok := pr.schemas[name]
		if !ok {
			return fmt.Errorf("no schema for table %s", name)
		}
		rows, err := bigquerysql.FixtureRows(schema.Columns, fx.Inputs[name])
		if err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		schema.PartitionColumn = ""
		if _, err := db.Load(ctx, warehouse.LoadRequest{Table: name, Schema: schema, Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(rows)}); err != nil {
			return fmt.Errorf("load input %s: %w", name, err)
		}
	}
	return nil
}

// TestModelFixtures runs every fixture whose model is one of SAM's on
// DuckDB: the model's DuckDB rendition over the fixture's input rows (every
// other table it reads empty) must give the expected rows, and the data
// tests the fixture names must return no rows over that result.
func TestModelFixtures(t *testing.T) {
	ctx := context.Background()
	fixtures, err := bigquerysql.LoadFixtures(os.DirFS("../testdata"), "fixtures")
	if err != nil {
		t.Fatal(err)
	}
	pr := loadProject(t, ctx)
	ran := 0
	for _, fx := range fixtures {
		if _, ok := pr.sql[fx.Model]; !ok || strings.HasPrefix(fx.Model, bigquerysql.DataTestPrefix) {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(path.Base(fx.File), ".json"), func(t *testing.T) {
			runFixture(t, ctx, pr, fx)
		})
	}
	if ran == 0 {
		t.Fatal("no fixture names one of the models")
	}
	t.Run("a wrong expectation is reported", func(t *testing.T) {
		i := slices.IndexFunc(fixtures, func(f bigquerysql.Fixture) bool { return f.Model == "stg_fx__rates" })
		if i < 0 {
			t.Fatal("no stg_fx__rates fixture")
		}
		fx := fixtures[i]
		fx.Expected = slices.Clone(fx.Expected)
		fx.Expected[0] = maps.Clone(fx.Expected[0])
		fx.Expected[0]["rate"] = "42"
		_, cols, rows := evaluate(t, ctx, pr, fx)
		diff, err := fx.Compare(cols, rows)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(diff, "rate=42") {
			t.Fatalf("a wrong expected rate was not reported; diff:\n%s", diff)
		}
	})
}

// evaluate runs fx's model on DuckDB over fx's inputs and returns the
// database (holding the result as the model's table) and the result.
func evaluate(t *testing.T, ctx context.Context, pr *project, fx bigquerysql.Fixture) (*duckdb.DB, []warehouse.Column, [][]any) {
	t.Helper()
	db := openDB(t, ctx)
	for name := range fx.Inputs {
		if !slices.Contains(pr.reads(fx.Model), name) {
			t.Fatalf("fixture %s: input %s is not read by model %s (it reads %v)", fx.File, name, fx.Model, pr.reads(fx.Model))
		}
	}
	if err := pr.fill(ctx, db, fx, pr.reads(fx.Model)); err != nil {
		t.Fatalf("fixture %s: %v", fx.File, err)
	}
	// The result becomes the model's table, so data tests read it.
	q := db.QualifiedName(fx.Model)
	if _, err := db.Exec(ctx, "CREATE TABLE "+q+" AS "+pr.sql[fx.Model]+"\n"); err != nil {
		t.Fatalf("fixture %s (%s): model %s on DuckDB: %v", fx.File, fx.Description, fx.Model, err)
	}
	cols, rows := query(t, ctx, db, "SELECT * FROM "+q)
	return db, cols, rows
}

func runFixture(t *testing.T, ctx context.Context, pr *project, fx bigquerysql.Fixture) {
	db, cols, rows := evaluate(t, ctx, pr, fx)
	diff, err := fx.Compare(cols, rows)
	if err != nil {
		t.Fatalf("fixture %s: %v", fx.File, err)
	}
	if diff != "" {
		t.Errorf("fixture %s (%s): model %s on DuckDB: %s", fx.File, fx.Description, fx.Model, diff)
	}
	for _, dt := range fx.DataTests {
		name := bigquerysql.DataTestPrefix + dt
		sql, ok := pr.sql[name]
		if !ok {
			t.Errorf("fixture %s: data test %s not found under sql/tests", fx.File, dt)
			continue
		}
		if err := pr.fill(ctx, db, fx, pr.reads(name)); err != nil {
			t.Fatalf("fixture %s: data test %s: %v", fx.File, dt, err)
		}
		_, out := query(t, ctx, db, sql)
		if len(out) > 0 {
			t.Errorf("fixture %s: data test %s failed on model %s's DuckDB result: %d offending rows, first %v", fx.File, dt, fx.Model, len(out), out[0])
		}
	}
}

func query(t *testing.T, ctx context.Context, db *duckdb.DB, sql string) ([]warehouse.Column, [][]any) {
	t.Helper()
	rows, err := db.Query(ctx, sql)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, sql)
	}
	cols := rows.Columns()
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	return cols, data
}
