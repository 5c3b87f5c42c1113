package bigquerysql_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/tools/zetasql/zetasqltest"
)

var env *zetasqltest.Env

func TestMain(m *testing.M) {
	env = zetasqltest.Start()
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// modelSet is a set of rendered models and where they came from.
type modelSet struct {
	fsys  fs.FS             // the sql/ layout: seeds and model files
	sql   map[string]string // model name -> BigQuery SQL
	files map[string]string // model name -> file under fsys
}

// testdataModels is a small graph for the checker's own tests: two of SAM's
// staging models, stg_fx__rates and stg_spend__daily (with the seeds and
// macros they use), and testdata/models/marts/spend_by_month.sql, a mart
// written for these tests that reads stg_spend__daily. Files are named as in
// the models tree, without the sql/ prefix.
func testdataModels(t *testing.T) modelSet {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if p != "staging/stg_fx__rates.sql" && p != "staging/stg_spend__daily.sql" && !strings.HasPrefix(p, "seeds/") && !strings.HasPrefix(p, "macros/") {
			return nil
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		if err != nil {
			return err
		}
		fsys[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const mart = "marts/spend_by_month.sql"
	b, err := os.ReadFile(filepath.Join("testdata", "models", mart))
	if err != nil {
		t.Fatal(err)
	}
	fsys[mart] = &fstest.MapFile{Data: b}
	ms := compile(t, fsys, nil)
	ms.files = map[string]string{}
	for _, f := range []string{"staging/stg_fx__rates.sql", "staging/stg_spend__daily.sql", mart} {
		ms.files[strings.TrimSuffix(path.Base(f), ".sql")] = f
	}
	return ms
}

// check analyzes ms and returns the results by model.
func check(t *testing.T, c *zetasql.Client, ms modelSet) (map[string]bigquerysql.Result, *zetasql.Catalog) {
	t.Helper()
	cat, err := bigquerysql.BaseCatalog(ms.fsys)
	if err != nil {
		t.Fatal(err)
	}
	results, err := bigquerysql.Check(context.Background(), c, cat, ms.sql, ms.files)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bigquerysql.Result{}
	for _, r := range results {
		out[r.Model] = r
	}
	return out, cat
}

// reportResults fails t for every model the analyzer rejected.
func reportResults(t *testing.T, results map[string]bigquerysql.Result) {
	t.Helper()
	for _, name := range bigquerysql.Sorted(results) {
		r := results[name]
		switch {
		case r.Err != nil:
			t.Errorf("%v", r.Err)
		case r.BlockedBy != "":
			t.Logf("model %s not checked: it reads %s, which failed", name, r.BlockedBy)
		}
	}
}

func TestTestdataModelsAnalyze(t *testing.T) {
	c := env.Client(t)
	results, _ := check(t, c, testdataModels(t))
	reportResults(t, results)
	r := results["spend_by_month"]
	var got []string
	for _, col := range r.Columns {
		got = append(got, col.Name+" "+zetasql.TypeString(col))
	}
	want := []string{"month DATE", "channel STRING", "cost NUMERIC", "rows_without_rate INT64", "days_covered INT64"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("spend_by_month columns derived through two upstream models:\n got %q\nwant %q", got, want)
	}
}

func TestOrder(t *testing.T) {
	models := map[string]string{
		"c": "select * from " + bigquerysql.Qualify("b") + " join " + bigquerysql.Qualify("a") + " using (x)",
		"b": "select * from " + bigquerysql.Qualify("a"),
		"a": "select 1 as x from " + bigquerysql.Qualify("raw_a"),
		// A model whose name is a prefix of another must not match it.
		"a2": "select * from " + bigquerysql.Qualify("a_long"),
	}
	order, deps, err := bigquerysql.Order(models)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "a2", "b", "c"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(deps["c"], want) {
		t.Fatalf("deps[c] = %v, want %v", deps["c"], want)
	}
	if len(deps["a2"]) != 0 {
		t.Fatalf("deps[a2] = %v, want none", deps["a2"])
	}
}

func TestOrderCycle(t *testing.T) {
	_, _, err := bigquerysql.Order(map[string]string{
		"a": "select * from " + bigquerysql.Qualify("b"),
		"b": "select * from " + bigquerysql.Qualify("a"),
	})
	if err == nil || !strings.Contains(err.Error(), "cycle: a -> b -> a") {
		t.Fatalf("Order on a cycle = %v, want the cycle named", err)
	}
}

// mutant is a way to break a model the way a DuckDB-first author might.
type mutant struct {
	name string
	// apply returns the broken SQL and the text the analyzer's message must
	// contain, or ok=false when the model offers no place for this mutation.
	apply func(sql string) (mutated, wantMessage string, ok bool)
}

var mutants = []mutant{
	{"duckdb-only function", func(sql string) (string, string, bool) {
		m, _, ok := bigquerysql.InjectSelectItem(sql, "list_filter([1, 2, 3], x -> x > 1) as mutant_list")
		return m, "list_filter", ok
	}},
	{"duckdb-only strftime", func(sql string) (string, string, bool) {
		m, _, ok := bigquerysql.InjectSelectItem(sql, "strftime(current_timestamp(), '%Y-%m') as mutant_month")
		return m, "Function not found: strftime", ok
	}},
	{"wrong argument type", func(sql string) (string, string, bool) {
		m, _, ok := bigquerysql.InjectSelectItem(sql, "date_diff(current_date(), 42, day) as mutant_days")
		return m, "No matching signature for function DATE_DIFF", ok
	}},
	{"misspelled column", func(sql string) (string, string, bool) {
		m, _, bad, ok := bigquerysql.MisspellFirstColumn(sql)
		return m, "Unrecognized name: " + bad, ok
	}},
}

// runMutants breaks each model of ms in turn with every mutant and checks
// that the analyzer rejects it, naming the model, its file and the position.
// The models are analyzed once; each broken model is then checked alone
// against the catalog that baseline produced (its upstream outputs), so the
// cost grows with the number of models, not its square.
func runMutants(t *testing.T, c *zetasql.Client, ms modelSet) {
	t.Helper()
	baseline, cat := check(t, c, ms)
	for _, name := range bigquerysql.Sorted(baseline) {
		if r := baseline[name]; r.Err != nil || r.BlockedBy != "" {
			t.Fatalf("mutants need models that analyze cleanly; %s does not: %v", name, r.Err)
		}
	}
	order, _, err := bigquerysql.Order(ms.sql)
	if err != nil {
		t.Fatal(err)
	}
	for _, mu := range mutants {
		t.Run(mu.name, func(t *testing.T) {
			applied := 0
			for _, model := range order {
				mutated, wantMsg, ok := mu.apply(ms.sql[model])
				if !ok {
					continue
				}
				applied++
				results, err := bigquerysql.Check(context.Background(), c, cat.Clone(), map[string]string{model: mutated}, ms.files)
				if err != nil {
					t.Fatal(err)
				}
				r := results[0]
				var me *bigquerysql.Error
				if !errors.As(r.Err, &me) {
					t.Errorf("model %s with a %s: error = %v, want the analyzer to reject it", model, mu.name, r.Err)
					continue
				}
				msg := r.Err.Error()
				if me.Model != model || !strings.Contains(msg, "(model "+model+")") || !strings.Contains(msg, ms.files[model]) {
					t.Errorf("model %s with a %s: message does not name the model and its file:\n%s", model, mu.name, msg)
				}
				if !strings.Contains(me.Message, wantMsg) {
					t.Errorf("model %s with a %s: message %q does not mention %q", model, mu.name, me.Message, wantMsg)
				}
				if me.Line == 0 || me.Column == 0 {
					t.Errorf("model %s with a %s: no line:column in %q", model, mu.name, msg)
				}
			}
			if applied == 0 {
				t.Fatalf("no model offers a place for a %s", mu.name)
			}
			t.Logf("%d models broken with a %s, each rejected", applied, mu.name)
		})
	}
}

// TestCheckBlocksDownstream: a broken model fails alone, naming itself; the
// models that read it are reported as blocked, and the models it reads are
// unaffected.
func TestCheckBlocksDownstream(t *testing.T) {
	c := env.Client(t)
	ms := testdataModels(t)
	mutated, _, ok := bigquerysql.InjectSelectItem(ms.sql["stg_fx__rates"], "list_filter([1], x -> x > 0) as l")
	if !ok {
		t.Fatal("mutation did not apply")
	}
	ms.sql["stg_fx__rates"] = mutated
	results, _ := check(t, c, ms)
	var me *bigquerysql.Error
	if r := results["stg_fx__rates"]; !errors.As(r.Err, &me) || me.Model != "stg_fx__rates" || me.File != "staging/stg_fx__rates.sql" {
		t.Fatalf("stg_fx__rates: %+v, want an analyzer error naming it and its file", r)
	}
	for _, down := range []string{"stg_spend__daily", "spend_by_month"} {
		if r := results[down]; r.Err != nil || r.BlockedBy != "stg_fx__rates" {
			t.Errorf("%s: %+v, want blocked by stg_fx__rates without an error of its own", down, r)
		}
	}
	want := "staging/stg_fx__rates.sql:20:5 (model stg_fx__rates): BigQuery would reject it: Function not found: list_filter"
	if got, _, _ := strings.Cut(results["stg_fx__rates"].Err.Error(), "\n"); got != want {
		t.Errorf("first line of the failure:\n got %q\nwant %q", got, want)
	}
}

func TestTestdataMutants(t *testing.T) {
	c := env.Client(t)
	runMutants(t, c, testdataModels(t))
}

// runFixtures evaluates every fixture whose model is in ms.
func runFixtures(t *testing.T, c *zetasql.Client, ms modelSet, fixtures []bigquerysql.Fixture) int {
	t.Helper()
	results, cat := check(t, c, ms)
	ran := 0
	for _, fx := range fixtures {
		sql, ok := ms.sql[fx.Model]
		if !ok {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(fx.File[strings.LastIndex(fx.File, "/")+1:], ".json"), func(t *testing.T) {
			if r := results[fx.Model]; r.Err != nil || r.BlockedBy != "" {
				t.Fatalf("fixture %s: model %s does not analyze: %v %s", fx.File, fx.Model, r.Err, r.BlockedBy)
			}
			fcat, err := bigquerysql.FixtureCatalog(cat, fx)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.EvaluateQuery(context.Background(), sql, fcat)
			if err != nil {
				t.Fatalf("fixture %s (%s): evaluate model %s: %v", fx.File, fx.Description, fx.Model, err)
			}
			diff, err := fx.Compare(res.Columns, res.Rows)
			if err != nil {
				t.Fatalf("fixture %s: %v", fx.File, err)
			}
			if diff != "" {
				t.Errorf("fixture %s (%s): model %s: %s", fx.File, fx.Description, fx.Model, diff)
			}
			runDataTests(t, c, ms, fx, fcat, res)
		})
	}
	return ran
}

// runDataTests evaluates the fixture's data tests over the model's result
// (and the fixture's inputs); each must return zero rows.
func runDataTests(t *testing.T, c *zetasql.Client, ms modelSet, fx bigquerysql.Fixture, fcat *zetasql.Catalog, res *zetasql.Result) {
	t.Helper()
	if len(fx.DataTests) == 0 {
		return
	}
	tcat := fcat.Clone()
	if err := tcat.Replace(zetasql.Table{Path: bigquerysql.TablePath(fx.Model), Columns: res.Columns, Rows: res.Rows}); err != nil {
		t.Fatal(err)
	}
	for _, dt := range fx.DataTests {
		sql, ok := ms.sql[bigquerysql.DataTestPrefix+dt]
		if !ok {
			t.Errorf("fixture %s: data test %s is not among the compiled data tests", fx.File, dt)
			continue
		}
		out, err := c.EvaluateQuery(context.Background(), sql, tcat)
		if err != nil {
			t.Errorf("fixture %s: data test %s: %v", fx.File, dt, err)
			continue
		}
		if len(out.Rows) > 0 {
			t.Errorf("fixture %s: data test %s failed on model %s's result: %d offending rows, first %v", fx.File, dt, fx.Model, len(out.Rows), out.Rows[0])
		}
	}
}

func loadFixtures(t *testing.T) []bigquerysql.Fixture {
	t.Helper()
	fixtures, err := bigquerysql.LoadFixtures(os.DirFS("testdata"), "fixtures")
	if err != nil {
		t.Fatal(err)
	}
	return fixtures
}

func TestTestdataFixtures(t *testing.T) {
	c := env.Client(t)
	if n := runFixtures(t, c, testdataModels(t), loadFixtures(t)); n < 2 {
		t.Fatalf("%d fixtures ran against the testdata models, want at least 2", n)
	}
}

func TestFixtureDetectsWrongResult(t *testing.T) {
	c := env.Client(t)
	fixtures := loadFixtures(t)
	var fx bigquerysql.Fixture
	for _, f := range fixtures {
		if f.Model == "stg_fx__rates" {
			fx = f
		}
	}
	if fx.Model == "" {
		t.Fatal("no stg_fx__rates fixture")
	}
	ms := testdataModels(t)
	_, cat := check(t, c, ms)
	fcat, err := bigquerysql.FixtureCatalog(cat, fx)
	if err != nil {
		t.Fatal(err)
	}
	// The inverse rate computed the wrong way round.
	broken := strings.Replace(ms.sql["stg_fx__rates"], "1 / l.rate as rate", "l.rate as rate", 1)
	if broken == ms.sql["stg_fx__rates"] {
		t.Fatal("mutation did not apply")
	}
	res, err := c.EvaluateQuery(context.Background(), broken, fcat)
	if err != nil {
		t.Fatal(err)
	}
	diff, err := bigquerysql.CompareRows(res.Columns, res.Rows, fx.Expected)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, `from_currency="EUR" to_currency="USD" rate=0.8 is_inverse=true`) {
		t.Fatalf("a wrong inverse rate was not reported as a row difference; diff:\n%s", diff)
	}
}

func TestCheckRejectsUnstorableOutput(t *testing.T) {
	c := env.Client(t)
	ms := testdataModels(t)
	for _, tc := range []struct{ sql, want string }{
		{"select count(*) from " + bigquerysql.Qualify("stg_fx__rates"), "output column 1 has no name"},
		{"select rate, rate from " + bigquerysql.Qualify("stg_fx__rates"), "output column rate appears twice"},
	} {
		cat, err := bigquerysql.BaseCatalog(ms.fsys)
		if err != nil {
			t.Fatal(err)
		}
		models := map[string]string{"stg_fx__rates": ms.sql["stg_fx__rates"], "m": tc.sql}
		results, err := bigquerysql.Check(context.Background(), c, cat, models, map[string]string{"m": "marts/m.sql"})
		if err != nil {
			t.Fatal(err)
		}
		r := results[len(results)-1]
		if r.Model != "m" || r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) || !strings.Contains(r.Err.Error(), "marts/m.sql (model m)") {
			t.Errorf("%s: result %+v, want an error naming marts/m.sql and %q", tc.sql, r, tc.want)
		}
	}
}

func TestBaseCatalog(t *testing.T) {
	models := fstest.MapFS{
		"seeds/weights.csv": {Data: []byte("channel,weight\nDirect,1\n")},
		"seeds/weights.yml": {Data: []byte("columns:\n  weight: int64\n")},
	}
	cat, err := bigquerysql.BaseCatalog(models)
	if err != nil {
		t.Fatal(err)
	}
	seed, ok := cat.Table("sam-proj.sam.seed_weights")
	if !ok {
		t.Fatal("seed_weights not in the catalog")
	}
	var got []string
	for _, c := range seed.Columns {
		got = append(got, c.Name+" "+string(c.Type))
	}
	if want := []string{"channel STRING", "weight INT64"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("seed columns = %v, want %v", got, want)
	}
	export, ok := cat.Table("sam-proj.analytics_123456.events_*")
	if !ok || len(export.PseudoColumns) != 1 || export.PseudoColumns[0].Name != "_TABLE_SUFFIX" {
		t.Fatalf("GA4 export wildcard table: %+v, want one with the _TABLE_SUFFIX pseudo-column", export)
	}
	for _, raw := range []string{"raw_ga4__events", "raw_crm__leads", "raw_crm__deals", "raw_crm__deal_contacts", "raw_crm__stage_history", "raw_spend__daily", "raw_fx__rates", "load_rejects"} {
		if _, ok := cat.Table("sam-proj.sam." + raw); !ok {
			t.Errorf("%s not in the catalog", raw)
		}
	}
}
