package bigquerysql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/tests/bigquerysql"
	"github.com/sam-attribution/sam/tools/zetasql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
)

// newestPartition is the newest partition incremental models have built in
// the recorded incremental run; the run replaces partitions from it minus
// the model's lookback_days.
var newestPartition = time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)

// TestIncrementalModels analyzes the incremental rendition of every
// incremental model ({{ is_incremental }} true, incremental_filter with a
// date) and checks it yields the same columns as the full build, since the
// runner inserts its rows into the table the full build created.
func TestIncrementalModels(t *testing.T) {
	c := env.Client(t)
	ms := samModels(t)
	full, cat := check(t, c, ms)
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	since := newestPartition.AddDate(0, 0, -3)
	inc, err := p.CompileIncremental(bigquery.Dialect{}, bigquerysql.Qualify, checkVars, since)
	if err != nil {
		t.Fatalf("compile incremental renditions: %v", err)
	}
	if len(inc) == 0 {
		t.Fatal("no incremental models")
	}
	results, err := bigquerysql.Check(context.Background(), c, cat.Clone(), inc, ms.files)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("incremental rendition: %v", r.Err)
			continue
		}
		if !strings.Contains(inc[r.Model], "DATE '"+since.Format(time.DateOnly)+"'") {
			t.Errorf("%s: incremental rendition does not filter on the window start %s", ms.files[r.Model], since.Format(time.DateOnly))
		}
		if got, want := columnTypes(r.Columns), columnTypes(full[r.Model].Columns); !reflect.DeepEqual(got, want) {
			t.Errorf("%s (model %s): the incremental rendition's columns differ from the full build's, so its rows cannot be inserted into the table:\n incremental %v\n full        %v",
				ms.files[r.Model], r.Model, got, want)
		}
	}
	t.Logf("%d incremental models analyzed", len(results))

	// Each mutant breaks an incremental rendition; the analyzer must reject
	// it naming the model's file.
	for _, mu := range mutants {
		for _, name := range bigquerysql.Sorted(inc) {
			broken, wantMsg, ok := mu.apply(inc[name])
			if !ok {
				continue
			}
			res, err := bigquerysql.Check(context.Background(), c, cat.Clone(), map[string]string{name: broken}, ms.files)
			if err != nil {
				t.Fatal(err)
			}
			var me *bigquerysql.Error
			if !errors.As(res[0].Err, &me) || !strings.Contains(me.Message, wantMsg) || !strings.Contains(res[0].Err.Error(), ms.files[name]) || me.Line == 0 {
				t.Errorf("incremental rendition of %s with a %s: %v, want the analyzer to reject it naming %s, %q and a position", name, mu.name, res[0].Err, ms.files[name], wantMsg)
			}
		}
	}
}

func columnTypes(cols []warehouse.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name + " " + zetasql.TypeString(c)
	}
	return out
}

// recordRuns builds every model through the real transform runner on a
// Recorder twice: a full build on an empty dataset, then a run that finds
// every model built at its current version and new data in every source,
// so incremental models replace their newest partitions, and every view and
// table built as the other kind, so they are dropped and rebuilt. cat must hold
// every model's output (as check leaves it).
func recordRuns(t *testing.T, p *transform.Project, cat *zetasql.Catalog) []bigquerysql.RunnerStatement {
	t.Helper()
	ctx := context.Background()
	tables := map[string][]warehouse.Column{}
	for _, tb := range cat.Tables() {
		if len(tb.Path) == 3 && tb.Path[0] == bigquerysql.Project && tb.Path[1] == bigquerysql.Dataset {
			tables[tb.Path[2]] = tb.Columns
		}
	}
	rec := &bigquerysql.Recorder{Tables: tables, Newest: newestPartition}
	now := func() time.Time { return newestPartition.Add(36 * time.Hour) }
	sel, err := transform.ParseSelection("")
	if err != nil {
		t.Fatal(err)
	}
	full := &transform.Runner{WH: rec, Project: p, Vars: checkVars, RunID: "full", Now: now, Parallelism: 1}
	if _, err := full.Build(ctx, sel, transform.BuildOptions{FullRefresh: true}); err != nil {
		t.Fatalf("full build on the recorder: %v", err)
	}
	plan, err := full.Plan(ctx, sel, transform.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range plan.Items {
		// Views and tables were built as the other kind, so the runner
		// drops the old object first.
		mat := it.Materialized
		switch mat {
		case string(transform.View):
			mat = string(transform.Table)
		case string(transform.Table):
			mat = string(transform.View)
		}
		rec.State = append(rec.State, bigquerysql.StateRow{Model: it.Model, Version: it.Version, Materialized: mat})
	}
	incr := &transform.Runner{WH: rec, Project: p, Vars: checkVars, RunID: "incr", Now: now, Parallelism: 1}
	rep, err := incr.Build(ctx, sel, transform.BuildOptions{})
	if err != nil {
		t.Fatalf("incremental build on the recorder: %v", err)
	}
	for _, m := range rep.Models {
		if mod := p.Models[m.Model]; mod.Kind == transform.SQLModel && mod.Config.Materialized == transform.Incremental && m.Action != transform.ActionIncremental {
			t.Fatalf("model %s: the second run did %s (%v), want an incremental run", m.Model, m.Action, m.Reasons)
		}
	}
	return rec.Statements()
}

// TestRunnerStatements analyzes every statement the transform runner sends
// to BigQuery for every model — CREATE OR REPLACE TABLE ... PARTITION BY
// ... CLUSTER BY ... AS, CREATE OR REPLACE VIEW, the temporary table an
// incremental run fills, its DELETE + INSERT transaction, the state table's
// DDL, writes and reads, source fingerprints, and the data tests generated
// from model headers and the custom tests, as the runner wraps them. A
// statement the analyzer rejects fails naming the model's file, the build
// step, the analyzer's message and the line:column in the statement.
func TestRunnerStatements(t *testing.T) {
	c := env.Client(t)
	ctx := context.Background()
	fsys, testFiles, err := bigquerysql.WithDataTestsAsModels(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	ms := compile(t, fsys, testFiles)
	results, cat := check(t, c, ms)
	for _, r := range results {
		if r.Err != nil || r.BlockedBy != "" {
			t.Fatalf("model %s does not analyze, so the runner's statements cannot be checked (TestModels reports why)", r.Model)
		}
	}
	p, err := transform.LoadProject(sqlmodels.FS)
	if err != nil {
		t.Fatal(err)
	}
	stmts := recordRuns(t, p, cat)

	acat, err := runnerCatalog(cat, stmts)
	if err != nil {
		t.Fatal(err)
	}
	byModel := bigquerysql.StatementsByModel(stmts)
	var all []bigquerysql.RunnerStatement
	for _, model := range bigquerysql.Sorted(byModel) {
		all = append(all, byModel[model]...)
	}
	// The service analyzes concurrent calls in parallel; a few at once
	// shorten the test on a machine with spare cores.
	type outcome struct {
		stmts []zetasql.Statement
		err   error
	}
	outcomes := make([]outcome, len(all))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for i := range next {
				outcomes[i].stmts, outcomes[i].err = c.AnalyzeScript(ctx, all[i].SQL, acat)
			}
		})
	}
	for i := range all {
		next <- i
	}
	close(next)
	wg.Wait()
	kinds := map[string]map[string][]string{} // model -> step -> statement kinds
	analyzed := len(all)
	for i, s := range all {
		if err := outcomes[i].err; err != nil {
			t.Errorf("%s", describeFailure(p, ms, s, err))
			continue
		}
		var ks []string
		for _, st := range outcomes[i].stmts {
			ks = append(ks, st.Kind)
		}
		if kinds[s.Model] == nil {
			kinds[s.Model] = map[string][]string{}
		}
		kinds[s.Model][s.Step] = ks
	}
	t.Logf("%d distinct runner statements analyzed", analyzed)
	runnerMutants(t, c, p, ms, acat, byModel)

	// The runner took every publishing path: each model's statements are
	// the kinds its materialization needs.
	for _, name := range bigquerysql.Sorted(p.Models) {
		m := p.Models[name]
		if m.Kind != transform.SQLModel {
			continue
		}
		var want map[string][]string
		switch m.Config.Materialized {
		case transform.View:
			want = map[string][]string{"view": {"create_view"}, "state": {"insert"}, "drop": {"drop"}}
		case transform.Table:
			want = map[string][]string{"create": {"create_table_as_select"}, "state": {"insert"}, "drop": {"drop"}}
		case transform.Incremental:
			want = map[string][]string{
				"create":  {"create_table_as_select"},
				"fill":    {"create_table_as_select"},
				"replace": {"begin", "delete", "insert", "insert", "commit"},
				"cleanup": {"drop"},
			}
		}
		for step, w := range want {
			if got, ok := kinds[name][step]; ok && !reflect.DeepEqual(got, w) {
				t.Errorf("model %s, step %s: statement kinds %v, want %v", name, step, got, w)
			} else if !ok && !t.Failed() {
				t.Errorf("model %s: the runner issued no %s statement (steps seen: %v)", name, step, bigquerysql.Sorted(kinds[name]))
			}
		}
	}
}

// stateColumnRE reads one column of the state table's CREATE TABLE.
var stateColumnRE = regexp.MustCompile(`(?i)^\s*([a-z_][a-z0-9_]*)\s+([a-z0-9]+)(\s+NOT NULL)?\s*$`)

// runnerCatalog extends the models' catalog with the tables only the
// runner uses: every model's temporary table NAME__sam_tmp (its columns),
// and the state table, whose columns are read from the CREATE TABLE the
// runner sent, so its INSERTs and reads are checked against its own DDL.
func runnerCatalog(cat *zetasql.Catalog, stmts []bigquerysql.RunnerStatement) (*zetasql.Catalog, error) {
	out := cat.Clone()
	for _, tb := range cat.Tables() {
		if len(tb.Path) == 3 && tb.Path[1] == bigquerysql.Dataset {
			tmp := zetasql.Table{Path: bigquerysql.TablePath(tb.Path[2] + "__sam_tmp"), Columns: tb.Columns}
			if err := out.Replace(tmp); err != nil {
				return nil, err
			}
		}
	}
	prefix := "CREATE TABLE IF NOT EXISTS " + bigquerysql.Qualify(transform.StateTable)
	for _, s := range stmts {
		body, ok := strings.CutPrefix(s.SQL, prefix)
		if !ok {
			continue
		}
		body = strings.TrimSpace(body)
		if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
			return nil, fmt.Errorf("state table DDL not understood: %s", s.SQL)
		}
		var cols []warehouse.Column
		for _, def := range strings.Split(body[1:len(body)-1], ",") {
			m := stateColumnRE.FindStringSubmatch(def)
			if m == nil {
				return nil, fmt.Errorf("state table DDL: column %q not understood", def)
			}
			cols = append(cols, warehouse.Column{Name: m[1], Type: warehouse.Type(strings.ToUpper(m[2])), Required: m[3] != ""})
		}
		return out, out.Replace(zetasql.Table{Path: bigquerysql.TablePath(transform.StateTable), Columns: cols})
	}
	return nil, fmt.Errorf("the runner sent no CREATE TABLE for %s", transform.StateTable)
}

// describeFailure names the file a rejected runner statement comes from:
// the model's (its build steps and header tests), the custom data test's,
// or the runner's own for state-table statements.
func describeFailure(p *transform.Project, ms modelSet, s bigquerysql.RunnerStatement, err error) string {
	file := "transform runner (" + s.Model + ")"
	if m, ok := p.Models[s.Model]; ok {
		file = "sql/" + m.File + " (model " + s.Model + ")"
	} else {
		for name, f := range ms.files {
			if strings.HasPrefix(name, bigquerysql.DataTestPrefix) && strings.Contains(s.SQL, ms.sql[name]) {
				file = f + " (data test)"
			}
		}
	}
	var ae *zetasql.AnalysisError
	if !errors.As(err, &ae) {
		return fmt.Sprintf("%s, runner step %s: %v", file, s.Step, err)
	}
	return fmt.Sprintf("%s, runner step %s: BigQuery would reject the statement at %d:%d: %s\n%s\nstatement:\n%s",
		file, s.Step, ae.Line, ae.Column, ae.Message, ae.Detail, s.SQL)
}

// runnerMutants breaks the partitioning column in the statements an
// incremental model's build sends — the CREATE TABLE's PARTITION BY and the
// DELETE of the replaced window — and checks the analyzer rejects each,
// with a position and a message that names the model's file.
func runnerMutants(t *testing.T, c *zetasql.Client, p *transform.Project, ms modelSet, acat *zetasql.Catalog, byModel map[string][]bigquerysql.RunnerStatement) {
	t.Helper()
	mutated := 0
	for _, name := range bigquerysql.Sorted(byModel) {
		m, ok := p.Models[name]
		if !ok || m.Kind != transform.SQLModel || m.Config.Materialized != transform.Incremental {
			continue
		}
		for _, s := range byModel[name] {
			col := m.Config.PartitionBy
			var from string
			switch {
			case s.Step == "create":
				from = "PARTITION BY " + col
			case s.Step == "replace" && m.Config.IncrementalStrategy == transform.StrategyMerge:
				// A merge deletes the rows of the built keys: break the key.
				col = m.Config.UniqueKey[0]
				from = "= t.`" + col + "`"
			case s.Step == "replace":
				from = "WHERE " + col + " >= DATE"
			default:
				continue
			}
			broken := s
			broken.SQL = strings.Replace(s.SQL, from, strings.Replace(from, col, col+"_mutant", 1), 1)
			if broken.SQL == s.SQL {
				t.Errorf("model %s, step %s: %q not found in the statement", name, s.Step, from)
				continue
			}
			mutated++
			_, err := c.AnalyzeScript(context.Background(), broken.SQL, acat)
			var ae *zetasql.AnalysisError
			if !errors.As(err, &ae) {
				t.Errorf("model %s, step %s with partition column %s_mutant: error %v, want the analyzer to reject it", name, s.Step, col, err)
				continue
			}
			msg := describeFailure(p, ms, broken, err)
			if !strings.Contains(msg, "sql/"+m.File) || !strings.Contains(ae.Message, col+"_mutant") || ae.Line == 0 {
				t.Errorf("model %s, step %s: failure does not name the file, the column and a position:\n%s", name, s.Step, msg)
			}
			if s.Step == "replace" && ae.Line != 1 {
				// DELETE follows BEGIN TRANSACTION on the script's first line.
				t.Errorf("model %s: DELETE rejected at line %d of the replace script, want 1", name, ae.Line)
			}
		}
	}
	if mutated == 0 {
		t.Error("no incremental model's statements were mutated")
	}
}
