package bigquerysql_test

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/sam-attribution/sam/tools/zetasql"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// checkVars are the values models are compiled with (bigquerysql.Vars).
var checkVars = transform.Vars(bigquerysql.Vars())

// samModels compiles the embedded models for BigQuery.
func samModels(t *testing.T) modelSet {
	t.Helper()
	return compile(t, sqlmodels.FS, nil)
}

// compile loads and renders a models tree for BigQuery. files overrides the
// file reported for some models.
func compile(t *testing.T, fsys fs.FS, files map[string]string) modelSet {
	t.Helper()
	p, err := transform.LoadProject(fsys)
	if err != nil {
		t.Fatalf("load models: %v", err)
	}
	compiled, err := p.Compile(bigquery.Dialect{}, bigquerysql.Qualify, checkVars)
	if err != nil {
		t.Fatalf("compile models for BigQuery: %v", err)
	}
	ms := modelSet{fsys: fsys, sql: compiled, files: map[string]string{}}
	for name, m := range p.Models {
		if m.Config.Materialized == transform.Go {
			compiled[name] = goModelStandIn(t, m)
		}
		f := m.File
		if o, ok := files[name]; ok {
			f = o
		}
		ms.files[name] = "sql/" + f
	}
	return ms
}

// TestModels analyzes every model's BigQuery rendition in dependency order;
// a model BigQuery would reject fails with its file, the analyzer's message
// and the line:column.
func TestModels(t *testing.T) {
	c := env.Client(t)
	ms := samModels(t)
	if len(ms.sql) == 0 {
		t.Fatal("no models compiled")
	}
	results, _ := check(t, c, ms)
	reportResults(t, results)
	t.Logf("%d models analyzed", len(results))
}

// TestSourcesInCatalog: every raw table a model or data test reads has a
// schema in the checker's catalog, taken from the package that writes it.
func TestSourcesInCatalog(t *testing.T) {
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatalf("load models: %v", err)
	}
	cat := baseCatalog(t)
	for _, name := range bigquerysql.Sorted(p.Sources) {
		src := p.Sources[name]
		if _, ok := cat.Table(strings.Join(bigquerysql.TablePath(src.Table), ".")); !ok {
			t.Errorf("{{ source %q %q }} reads %s, which has no schema in bigquerysql.BaseCatalog; add the writing package's schema there", src.Source, src.Name, src.Table)
		}
	}
}

// TestDataTests analyzes every custom data test (sql/tests/*.sql) after the
// models it reads.
func TestDataTests(t *testing.T) {
	c := env.Client(t)
	fsys, files, err := bigquerysql.WithDataTestsAsModels(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no data tests under sql/tests")
	}
	results, _ := check(t, c, compile(t, fsys, files))
	for _, name := range bigquerysql.Sorted(files) {
		r := results[name]
		switch {
		case r.Err != nil:
			t.Errorf("data test %v", r.Err)
		case r.BlockedBy != "":
			t.Logf("data test %s not checked: it reads %s, which failed (TestModels reports why)", files[name], r.BlockedBy)
		}
	}
	t.Logf("%d data tests analyzed", len(files))
}

// TestModelMutants breaks every real model in turn with each mutant and
// checks the failure names that model.
func TestModelMutants(t *testing.T) {
	c := env.Client(t)
	ms := samModels(t)
	results, _ := check(t, c, ms)
	for _, r := range results {
		if r.Err != nil || r.BlockedBy != "" {
			t.Fatalf("model %s does not analyze, so the mutants have no clean baseline to be told apart from (TestModels reports why)", r.Model)
		}
	}
	runMutants(t, c, ms)
}

// TestModelFixtures evaluates the fixtures whose model is one of SAM's, and
// the data tests they name over the result.
func TestModelFixtures(t *testing.T) {
	c := env.Client(t)
	fsys, files, err := bigquerysql.WithDataTestsAsModels(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	if n := runFixtures(t, c, compile(t, fsys, files), loadFixtures(t)); n == 0 {
		t.Fatal("no fixture names one of the models")
	}
}

// TestFixtureDataTestCatchesBrokenCredits: the data tests a fixture names
// really run over the model's result: credits that no longer sum to 1 make
// the invariant return rows.
func TestFixtureDataTestCatchesBrokenCredits(t *testing.T) {
	c := env.Client(t)
	fsys, files, err := bigquerysql.WithDataTestsAsModels(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	ms := compile(t, fsys, files)
	var fx bigquerysql.Fixture
	for _, f := range loadFixtures(t) {
		if strings.HasSuffix(f.File, "attribution_touchpoints__position_based.json") {
			fx = f
		}
	}
	if fx.Model == "" {
		t.Fatal("fixture attribution_touchpoints__position_based.json not found")
	}
	_, cat := check(t, c, ms)
	fcat, err := bigquerysql.FixtureCatalog(cat, fx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.EvaluateQuery(context.Background(), ms.sql[fx.Model], fcat)
	if err != nil {
		t.Fatal(err)
	}
	credit := slices.IndexFunc(res.Columns, func(c warehouse.Column) bool { return c.Name == "credit" })
	if credit < 0 || len(res.Rows) == 0 {
		t.Fatalf("no credit column or no rows in %v", res.Columns)
	}
	res.Rows[0][credit] = res.Rows[0][credit].(float64) + 0.25
	tcat := fcat.Clone()
	if err := tcat.Replace(zetasql.Table{Path: bigquerysql.TablePath(fx.Model), Columns: res.Columns, Rows: res.Rows}); err != nil {
		t.Fatal(err)
	}
	out, err := c.EvaluateQuery(context.Background(), ms.sql[bigquerysql.DataTestPrefix+"invariant_attribution_credits_sum_to_one"], tcat)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rows) != 1 {
		t.Fatalf("invariant_attribution_credits_sum_to_one returned %d rows over credits broken for one (lead, stage, model), want 1: %v", len(out.Rows), out.Rows)
	}
}

// goModelStandIn is a query with a Go model's output columns and no rows:
// what the checker analyzes in its place (its own SQL is only its input).
func goModelStandIn(t *testing.T, m *transform.Model) string {
	t.Helper()
	gm, ok := transform.BuiltinGoModels()[m.Config.GoModel]
	if !ok {
		t.Fatalf("%s: unknown go_model %s", m.File, m.Config.GoModel)
	}
	var cols []string
	for _, c := range gm.Schema().Columns {
		cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, c.Name))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM UNNEST([1]) AS x WHERE FALSE"
}
