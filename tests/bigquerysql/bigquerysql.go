// Package bigquerysql checks SAM's SQL as BigQuery would read it, offline:
// every model's BigQuery rendition is analyzed with the GoogleSQL analyzer
// (tools/zetasql) in dependency order, against a catalog built from the
// real schemas — the GA4 export (as the wildcard table events_* with its
// _TABLE_SUFFIX pseudo-column), the tables the loaders write, the seeds, and
// each model's output as the analyzer derives it from the model's SQL.
// Model fixtures (input rows → expected rows) are evaluated with ZetaSQL's
// reference implementation.
//
// Beyond the model bodies, Recorder captures the statements SAM sends to
// BigQuery so the tests can analyze them too: a Recorder is a
// warehouse.Warehouse in BigQuery's dialect that runs nothing and answers
// reads with plausible values, so the real transform runner (a full build,
// then an incremental one), the GA4 export loader, the scheduler's lock and
// the GA4 writer walk their BigQuery code paths on it — DDL, incremental
// DELETE + INSERT transactions, state table writes, data tests as the runner
// wraps them, copy scripts, lease scripts. The BigQuery engine's own
// partition replacement script and the DELETE that empties partitions a
// load has no rows for are captured from a fake BigQuery API (tests/bqfake).
//
// The package holds the catalog, the checker, the mutations, the fixture
// format and the recorder; the tests next to it run them over the embedded
// models (transform.LoadProject + Compile for BigQuery), the custom data
// tests, the runner's and loaders' statements, the BI contract of the stable
// outputs, and hand-rendered models in testdata that test the checker
// itself. It imports tools/zetasql, the schema definitions of the tables
// models read (loaders, loaders/ga4, loaders/crm/record, loaders/spend,
// writeback) and warehouse; only tests import it. Fixtures
// (testdata/fixtures/*.json) are engine-neutral: the subpackage onduckdb runs
// the same files on DuckDB with LoadFixtures, FixtureRows and
// Fixture.Compare.
//
// Dependencies between models are read from the rendered SQL itself: a
// model depends on every other model whose qualified name it mentions. That
// keeps the checker independent of the transform runner's internals and
// checks exactly the text BigQuery would receive.
package bigquerysql

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/ga4"
	"github.com/sam-attribution/sam/loaders/spend"
	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// The names the checked SQL is rendered with. The project contains a dash,
// as real project ids often do, so quoting mistakes show.
const (
	Project    = "sam-proj"
	Dataset    = "sam"
	GA4Dataset = "analytics_123456"
)

// Vars returns the configuration values checked models are compiled with
// (a transform.Vars): the defaults, except the reporting currency, which the
// fixtures fix to EUR. Both engines' fixture tests use them.
func Vars() map[string]any {
	return map[string]any{
		"attribution_window_days":   90,
		"time_decay_half_life_days": 7.0,
		"reporting_currency":        "EUR",
		"ga4_lookback_days":         3,
		"prediction_maturity_days":  180,
		"prediction_prior_strength": 20.0,
	}
}

// Qualify renders a table of SAM's dataset as BigQuery SQL names it; it is
// the qualify function models are compiled with.
func Qualify(table string) string { return "`" + Project + "." + Dataset + "." + table + "`" }

// TablePath is a SAM table's catalog path.
func TablePath(table string) []string { return []string{Project, Dataset, table} }

// BaseCatalog returns the tables that exist before any model runs: the GA4
// export's daily and intraday wildcard tables, every table the loaders
// write, and the seeds found under seeds/ in models (one seed_<name> table
// per CSV file; columns are STRING unless seeds/<name>.yml types them under
// columns:, as the transform runner loads them).
func BaseCatalog(models fs.FS) (*zetasql.Catalog, error) {
	cat := zetasql.NewCatalog()
	export := ga4.ExportColumns()
	suffix := []warehouse.Column{{Name: "_TABLE_SUFFIX", Type: warehouse.String}}
	for _, name := range []string{"events_*", "events_intraday_*"} {
		if err := cat.Add(zetasql.Table{Path: []string{Project, GA4Dataset, name}, Columns: export, PseudoColumns: suffix}); err != nil {
			return nil, err
		}
	}
	raw := []struct {
		name   string
		schema warehouse.Schema
	}{
		{ga4.RawTable, ga4.RawSchema()},
		{record.LeadsTable, record.LeadsSchema},
		{record.DealsTable, record.DealsSchema},
		{record.DealContactsTable, record.DealContactsSchema},
		{record.StageHistoryTable, record.StageHistorySchema},
		{record.TouchesTable, record.TouchesSchema},
		{record.AccountsTable, record.AccountsSchema},
		{record.AccountLinksTable, record.AccountLinksSchema},
		{record.MergesTable, record.MergesSchema},
		{spend.SpendTable, spend.SpendSchema},
		{spend.FXTable, spend.FXSchema},
		{loaders.RejectsTable, loaders.RejectsSchema},
		{systables.SendLogTable, systables.SendLog().Schema},
	}
	for _, r := range raw {
		if err := cat.Add(zetasql.Table{Path: TablePath(r.name), Columns: r.schema.Columns}); err != nil {
			return nil, err
		}
	}
	seeds, err := seedTables(models)
	if err != nil {
		return nil, err
	}
	for _, t := range seeds {
		if err := cat.Add(t); err != nil {
			return nil, err
		}
	}
	return cat, nil
}

// seedTables reads the header of every seeds/*.csv file and the column
// types of its .yml file.
func seedTables(models fs.FS) ([]zetasql.Table, error) {
	files, err := fs.Glob(models, "seeds/*.csv")
	if err != nil {
		return nil, fmt.Errorf("list seeds: %w", err)
	}
	var out []zetasql.Table
	for _, f := range files {
		data, err := fs.ReadFile(models, f)
		if err != nil {
			return nil, fmt.Errorf("read seed: %w", err)
		}
		header, err := csv.NewReader(bytes.NewReader(data)).Read()
		if err != nil {
			return nil, fmt.Errorf("seed %s header: %w", f, err)
		}
		types, err := seedTypes(models, strings.TrimSuffix(f, ".csv")+".yml")
		if err != nil {
			return nil, err
		}
		t := zetasql.Table{Path: TablePath("seed_" + strings.TrimSuffix(path.Base(f), ".csv"))}
		for _, h := range header {
			name := strings.TrimSpace(h)
			typ := warehouse.String
			if ty, ok := types[name]; ok {
				typ = warehouse.Type(strings.ToUpper(ty))
			}
			t.Columns = append(t.Columns, warehouse.Column{Name: name, Type: typ})
		}
		out = append(out, t)
	}
	return out, nil
}

// seedTypes reads the columns: map of a seed's optional .yml file.
func seedTypes(models fs.FS, file string) (map[string]string, error) {
	data, err := fs.ReadFile(models, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read seed config: %w", err)
	}
	var cfg struct {
		Columns map[string]string `yaml:"columns"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("seed config %s: %w", file, err)
	}
	return cfg.Columns, nil
}

// Order returns the model names in dependency order (a model after every
// model it reads; ties broken by name) and each model's dependencies. A
// dependency is another model's qualified name (Qualify) in the SQL. A cycle
// is an error naming its models.
func Order(models map[string]string) (order []string, deps map[string][]string, err error) {
	deps = make(map[string][]string, len(models))
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, m := range names {
			if m != n && strings.Contains(models[n], Qualify(m)) {
				deps[n] = append(deps[n], m)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(names))
	var visit func(n string, stack []string) error
	visit = func(n string, stack []string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("models form a cycle: %s", strings.Join(append(stack, n), " -> "))
		}
		state[n] = visiting
		for _, d := range deps[n] {
			if err := visit(d, append(stack, n)); err != nil {
				return err
			}
		}
		state[n] = done
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, nil, err
		}
	}
	return order, deps, nil
}

// Result is the outcome of checking one model.
type Result struct {
	Model string
	// Columns are the model's output columns, when it analyzed cleanly.
	Columns []warehouse.Column
	// Err is the analyzer's verdict (an *Error) or a failure to ask it.
	Err error
	// BlockedBy names an upstream model that failed; the model was not
	// analyzed because its input table is unknown.
	BlockedBy string
}

// Error is a model the analyzer rejected. Line and column are positions in
// the rendered SQL; the transform runner keeps the header comment when it
// renders, so they are the model file's lines as long as the template
// helpers on the lines above render on one line each.
type Error struct {
	Model string
	// File is the model's file under sql/ (e.g. staging/stg_x.sql), when known.
	File string
	*zetasql.AnalysisError
}

func (e *Error) Error() string {
	where := e.Model
	if e.File != "" {
		where = e.File
		if e.Line > 0 {
			where += fmt.Sprintf(":%d:%d", e.Line, e.Column)
		}
		where += " (model " + e.Model + ")"
	} else if e.Line > 0 {
		where += fmt.Sprintf(" at %d:%d", e.Line, e.Column)
	}
	return fmt.Sprintf("%s: BigQuery would reject it: %s\n%s", where, e.Message, e.Detail)
}

func (e *Error) Unwrap() error { return e.AnalysisError }

// Check analyzes every model in dependency order against cat, adding each
// model's output (as the analyzer derived it) to cat before its dependents
// are analyzed. files maps model names to their file paths for messages
// (may be nil). The results come in dependency order; a model downstream of
// a failure is reported as blocked, not analyzed.
func Check(ctx context.Context, c *zetasql.Client, cat *zetasql.Catalog, models map[string]string, files map[string]string) ([]Result, error) {
	order, deps, err := Order(models)
	if err != nil {
		return nil, err
	}
	failed := map[string]string{} // model -> the failed model that blocks it (itself when it failed)
	var results []Result
	for _, name := range order {
		r := Result{Model: name}
		for _, d := range deps[name] {
			if root, ok := failed[d]; ok {
				r.BlockedBy = root
				break
			}
		}
		if r.BlockedBy != "" {
			failed[name] = r.BlockedBy
			results = append(results, r)
			continue
		}
		cols, err := c.Analyze(ctx, models[name], cat)
		var ae *zetasql.AnalysisError
		switch {
		case errors.As(err, &ae):
			r.Err = &Error{Model: name, File: files[name], AnalysisError: ae}
		case err != nil:
			r.Err = fmt.Errorf("model %s: %w", name, err)
		case len(cols) == 0:
			r.Err = fmt.Errorf("model %s: not a query (a model's body must be one SELECT statement)", name)
		default:
			if err := checkOutput(cols); err != nil {
				r.Err = fmt.Errorf("%s (model %s): BigQuery cannot store its result: %w", fileOr(files[name], name), name, err)
				break
			}
			r.Columns = cols
			err = cat.Replace(zetasql.Table{Path: TablePath(name), Columns: cols})
			if err != nil {
				r.Err = fmt.Errorf("model %s output: %w", name, err)
			}
		}
		if r.Err != nil {
			failed[name] = name
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, nil
}

// checkOutput rejects results BigQuery cannot materialize as a table or
// view with stable column names: unnamed columns (BigQuery would invent
// f0_, which BI tools then depend on) and duplicate names.
func checkOutput(cols []warehouse.Column) error {
	seen := map[string]bool{}
	for i, c := range cols {
		if strings.HasPrefix(c.Name, "$") || c.Name == "" {
			return fmt.Errorf("output column %d has no name; give the expression an alias", i+1)
		}
		k := strings.ToLower(c.Name)
		if seen[k] {
			return fmt.Errorf("output column %s appears twice", c.Name)
		}
		seen[k] = true
	}
	return nil
}

func fileOr(file, name string) string {
	if file != "" {
		return file
	}
	return name
}

// ModelFiles maps each model name to its .sql file in fsys (the layout of
// sql/: staging/, intermediate/, marts/).
func ModelFiles(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	for _, dir := range []string{"staging", "intermediate", "marts"} {
		files, err := fs.Glob(fsys, dir+"/*.sql")
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		for _, f := range files {
			out[strings.TrimSuffix(path.Base(f), ".sql")] = f
		}
	}
	return out, nil
}

// Sorted returns the keys of m in order.
func Sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DataTestPrefix prefixes the model names WithDataTestsAsModels gives the
// custom data tests.
const DataTestPrefix = "datatest__"

// WithDataTestsAsModels returns a copy of a models tree (the layout of sql/)
// in which every custom data test tests/NAME.sql is also a model
// marts/datatest__NAME.sql, so that the transform runner renders it with the
// same helpers (data tests use ref and source only) and the checker analyzes
// it after the models it reads. files maps each such model to its original
// file, tests/NAME.sql.
func WithDataTestsAsModels(models fs.FS) (fs.FS, map[string]string, error) {
	out := fstest.MapFS{}
	files := map[string]string{}
	err := fs.WalkDir(models, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(models, p)
		if err != nil {
			return err
		}
		if dir, base := path.Split(p); dir == "tests/" && strings.HasSuffix(base, ".sql") {
			name := DataTestPrefix + strings.TrimSuffix(base, ".sql")
			out["marts/"+name+".sql"] = &fstest.MapFile{Data: data}
			files[name] = p
			return nil
		}
		out[p] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("copy models: %w", err)
	}
	return out, files, nil
}
