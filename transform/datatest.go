package transform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// maxShownRows is how many offending rows a failing test reports.
const maxShownRows = 10

// dataTest is one data test: a query that must return no rows.
type dataTest struct {
	name  string // e.g. not_null(stg_x.col) or tests/credits_sum_to_one
	file  string // where it is declared
	model string // the model a header test belongs to; "" for custom tests
	deps  []string
	// severity says whether offending rows fail the run or only warn.
	severity Severity
	// query renders the test for an engine.
	query func(env renderEnv) (string, error)
	// unbuilt lists the deps that have never been built (Test sets it):
	// the test is then an error without its SQL being run.
	unbuilt []string
}

// headerTests expands a model's header into its tests.
func headerTests(m *Model) []dataTest {
	if m.Kind != SQLModel {
		return nil
	}
	var out []dataTest
	add := func(name string, deps []string, q func(env renderEnv, t string) string) {
		out = append(out, dataTest{
			name: name, file: m.File, model: m.Name, deps: deps, severity: m.Config.Severity.orDefault(),
			query: func(env renderEnv) (string, error) { return q(env, env.qualify(m.Name)), nil },
		})
	}
	self := []string{m.Name}
	t := m.Config.Tests
	for _, col := range t.NotNull {
		add(fmt.Sprintf("not_null(%s.%s)", m.Name, col), self, func(_ renderEnv, q string) string {
			return fmt.Sprintf("SELECT * FROM %s WHERE %s IS NULL", q, col)
		})
	}
	for _, col := range t.Unique {
		add(fmt.Sprintf("unique(%s.%s)", m.Name, col), self, func(env renderEnv, q string) string {
			return env.dialect.RepeatedKeys(q, []string{col}, env.dialect.QuoteIdent(col)+" IS NOT NULL")
		})
	}
	combos := append([]stringList(nil), t.UniqueCombination...)
	if len(m.Config.UniqueKey) > 0 {
		combos = append(combos, m.Config.UniqueKey)
	}
	seen := map[string]bool{}
	// A column declared both unique and not null is a unique combination
	// of one column already; checking it again costs another GROUP BY
	// over every row (10M event keys).
	for _, col := range t.Unique {
		if slices.Contains(t.NotNull, col) {
			seen[col] = true
		}
	}
	for _, combo := range combos {
		cols := strings.Join(combo, ", ")
		if seen[cols] {
			continue
		}
		seen[cols] = true
		add(fmt.Sprintf("unique_combination(%s: %s)", m.Name, cols), self, func(env renderEnv, q string) string {
			return env.dialect.RepeatedKeys(q, combo, "")
		})
	}
	for _, col := range sortedKeys(t.AcceptedValues) {
		vals := t.AcceptedValues[col]
		add(fmt.Sprintf("accepted_values(%s.%s)", m.Name, col), self, func(env renderEnv, q string) string {
			lits := make([]string, len(vals))
			for i, v := range vals {
				// Compared as strings so that one list serves every column type.
				lits[i] = env.dialect.StringLiteral(fmt.Sprint(v))
			}
			return fmt.Sprintf("SELECT %[2]s, COUNT(*) AS n_rows FROM %[1]s WHERE %[2]s IS NOT NULL AND CAST(%[2]s AS STRING) NOT IN (%[3]s) GROUP BY %[2]s",
				q, col, strings.Join(lits, ", "))
		})
	}
	for _, col := range sortedKeys(t.Relationships) {
		target, tcol, _ := splitRelationship(t.Relationships[col])
		add(fmt.Sprintf("relationships(%s.%s -> %s.%s)", m.Name, col, target, tcol), []string{m.Name, target}, func(env renderEnv, q string) string {
			return fmt.Sprintf("SELECT c.%[2]s, COUNT(*) AS n_rows FROM %[1]s AS c WHERE c.%[2]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %[3]s AS p WHERE p.%[4]s = c.%[2]s) GROUP BY c.%[2]s",
				q, col, env.qualify(target), tcol)
		})
	}
	return out
}

func customTest(t *CustomTest, macros *macroSet) dataTest {
	return dataTest{
		name: "tests/" + t.Name, file: t.File, deps: t.Refs, severity: t.Severity.orDefault(),
		query: func(env renderEnv) (string, error) { return render(t.File, t.SQL, macros, env) },
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// allTests lists the project's tests: header tests in model order, then the
// custom tests.
func (p *Project) allTests() []dataTest {
	var out []dataTest
	for _, name := range p.order {
		out = append(out, headerTests(p.Models[name])...)
	}
	for _, t := range p.Tests {
		out = append(out, customTest(t, p.macros))
	}
	return out
}

// TestStatus is the outcome of one data test.
type TestStatus string

const (
	TestPass  TestStatus = "pass"
	TestFail  TestStatus = "fail"  // the test returned rows
	TestWarn  TestStatus = "warn"  // a warn-severity test returned rows; the run goes on
	TestError TestStatus = "error" // the test query itself failed
)

// blocks reports whether the outcome fails the run: a failing or broken
// test does, a passing or warning one does not.
func (s TestStatus) blocks() bool { return s == TestFail || s == TestError }

// TestResult is one test's outcome. A failing or warning test carries up to
// 10 offending rows.
type TestResult struct {
	Name  string
	File  string
	Model string // "" for custom tests
	// Reads are the models the test reads (a header test: its model).
	Reads    []string
	Severity Severity
	Status   TestStatus
	Failures int64 // rows the test returned
	Columns  []string
	Rows     [][]string // up to 10 offending rows, formatted
	Err      error
	Duration time.Duration
}

// String describes the outcome with the offending rows, one per line.
func (t TestResult) String() string {
	switch t.Status {
	case TestPass:
		return fmt.Sprintf("test %s: pass", t.Name)
	case TestError:
		return fmt.Sprintf("test %s (%s): %v", t.Name, t.File, t.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "test %s (%s): %d offending row(s)", t.Name, t.File, t.Failures)
	if t.Status == TestWarn {
		b.WriteString(" (severity warn)")
	}
	if len(t.Rows) > 0 {
		fmt.Fprintf(&b, "; first %d:\n  %s", len(t.Rows), strings.Join(t.Columns, " | "))
		for _, r := range t.Rows {
			b.WriteString("\n  " + strings.Join(r, " | "))
		}
	}
	return b.String()
}

// TestReport is the outcome of Runner.Test.
type TestReport struct {
	RunID string
	Tests []TestResult
	// AlreadyRun counts the selected tests TestAfter left out because the
	// build it followed had run them.
	AlreadyRun int
	// NotAttempted names the selected tests not run because an earlier one
	// left the warehouse unusable (warehouse.ErrUnusable).
	NotAttempted []string
	// UpstreamFailed names the selected tests TestAfter left out because
	// the build failed a model they read.
	UpstreamFailed []string
}

// Failed returns the tests that fail the run: failing and broken ones.
func (r *TestReport) Failed() []TestResult {
	var out []TestResult
	for _, t := range r.Tests {
		if t.Status.blocks() {
			out = append(out, t)
		}
	}
	return out
}

// Warned returns the warn-severity tests that returned rows.
func (r *TestReport) Warned() []TestResult { return warned(r.Tests) }

func warned(tests []TestResult) []TestResult {
	var out []TestResult
	for _, t := range tests {
		if t.Status == TestWarn {
			out = append(out, t)
		}
	}
	return out
}

// failuresColumn counts every offending row while only maxShownRows travel.
const failuresColumn = "sam_failures"

// runTest runs one test, logs and reports its outcome; it never returns an
// error because a broken test is a result, not a reason to stop the others.
func (r *Runner) runTest(ctx context.Context, env renderEnv, t dataTest, runID string) TestResult {
	res := r.evalTest(ctx, env, t, runID)
	args := []any{"run_id", runID, "test", t.name, "status", res.Status, "failures", res.Failures,
		"duration", res.Duration.Round(time.Millisecond)}
	lvl := slog.LevelInfo
	switch res.Status {
	case TestFail:
		lvl = slog.LevelError
	case TestError:
		lvl = slog.LevelError
		args = append(args, "err", res.Err)
	case TestWarn:
		// The run goes on, so the log line is where the rows are seen.
		lvl = slog.LevelWarn
		args = append(args, "rows", res.String())
	}
	r.logger().Log(ctx, lvl, "test", args...)
	return res
}

func (r *Runner) evalTest(ctx context.Context, env renderEnv, t dataTest, runID string) TestResult {
	start := time.Now()
	res := TestResult{Name: t.name, File: t.file, Model: t.model, Reads: t.deps, Severity: t.severity}
	done := func() TestResult { res.Duration = time.Since(start); return res }
	if len(t.unbuilt) > 0 {
		res.Status, res.Err = TestError, fmt.Errorf("model %s is not built", strings.Join(t.unbuilt, ", "))
		return done()
	}
	q, err := t.query(env)
	if err != nil {
		res.Status, res.Err = TestError, err
		return done()
	}
	// The test starts on the wrapper's first line, so engine line numbers
	// stay file line numbers for custom tests.
	wrapped := fmt.Sprintf("SELECT *, COUNT(*) OVER () AS %s FROM (%s\n) AS sam_test LIMIT %d", failuresColumn, q, maxShownRows)
	fail := func(err error) TestResult {
		if t.model == "" {
			err = withLine(t.file, err)
		} // header tests are generated SQL: an engine line means nothing in the file
		res.Status, res.Err = TestError, err
		return done()
	}
	rows, err := r.WH.Query(ctx, wrapped, warehouse.WithLabels(r.labels(runID, t.model)))
	if err != nil {
		return fail(err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return fail(err)
	}
	if len(data) == 0 {
		res.Status = TestPass
		return done()
	}
	res.Status = TestFail
	if t.severity == SeverityWarn {
		res.Status = TestWarn
	}
	cols := rows.Columns()
	for _, c := range cols[:len(cols)-1] {
		res.Columns = append(res.Columns, c.Name)
	}
	for _, row := range data {
		n, err := toInt(row[len(row)-1])
		if err == nil {
			res.Failures = n
		}
		var cells []string
		for _, v := range row[:len(row)-1] {
			if v == nil {
				cells = append(cells, "NULL")
				continue
			}
			cells = append(cells, warehouse.Format(v))
		}
		res.Rows = append(res.Rows, cells)
	}
	return done()
}

func toInt(v any) (int64, error) {
	var n int64
	err := warehouse.ConvertAssign(&n, v)
	return n, err
}

// ErrNothingBuilt is Test's error on a warehouse where no model is built
// yet.
var ErrNothingBuilt = errors.New("no model is built yet, so there is nothing to test")

// Test runs the data tests of the selected models, and the custom tests that
// reference any of them, against what is built now.
func (r *Runner) Test(ctx context.Context, sel Selection) (*TestReport, error) {
	return r.TestAfter(ctx, sel, nil)
}

// TestAfter is Test right after build (a Build of the same project, nil for
// none): the tests build ran read models that no step since has changed, so
// their results stand and only the other tests run. In a daily run they are
// nearly all of them, and at 10M events running them again cost a third of
// the run.
func (r *Runner) TestAfter(ctx context.Context, sel Selection, build *BuildReport) (*TestReport, error) {
	selected, err := sel.resolve(r.Project)
	if err != nil {
		return nil, err
	}
	ran, broken := map[string]bool{}, map[string]bool{}
	if build != nil {
		for _, t := range build.Tests {
			ran[t.Name] = true
		}
		for _, m := range build.Models {
			if m.Status == StatusFailed || m.Status == StatusUpstreamFailed || m.Status == StatusNotAttempted {
				broken[m.Model] = true
			}
		}
	}
	runID := r.runID()
	var tests []dataTest
	var unrun []string
	already := 0
	for _, t := range r.Project.allTests() {
		want := len(t.deps) == 0 && sel.All()
		for _, d := range t.deps {
			want = want || selected[d]
		}
		switch {
		case !want:
		case ran[t.name]:
			already++
		case slices.ContainsFunc(t.deps, func(d string) bool { return broken[d] }):
			// The build failed a model it reads: the table is missing or
			// stale, and the build's failure already fails the run.
			unrun = append(unrun, t.name)
		default:
			tests = append(tests, t)
		}
	}
	if len(tests) > 0 {
		states, err := LoadState(ctx, r.WH)
		if err != nil {
			return nil, err
		}
		if len(states) == 0 {
			return nil, ErrNothingBuilt
		}
		// A model never built is an error when selected; a test that also
		// reads one outside the selection waits for it, as in Build.
		waiting := func(t dataTest) bool {
			for _, d := range t.deps {
				if _, ok := states[d]; !ok && !selected[d] {
					return true
				}
			}
			return false
		}
		tests = slices.DeleteFunc(tests, waiting)
		for i, t := range tests {
			for _, d := range t.deps {
				if _, ok := states[d]; !ok {
					tests[i].unbuilt = append(tests[i].unbuilt, d)
				}
			}
		}
	}
	env := renderEnv{dialect: r.WH.Dialect(), qualify: r.WH.QualifiedName, vars: r.Vars}
	var s stop
	report := &TestReport{RunID: runID, AlreadyRun: already, UpstreamFailed: unrun}
	report.Tests, report.NotAttempted = r.runTests(ctx, env, tests, runID, &s)
	failed := report.Failed()
	if len(failed) > 0 || len(report.NotAttempted) > 0 {
		return report, &RunError{Tests: failed, TestsNotAttempted: report.NotAttempted, Stopped: s.err()}
	}
	return report, nil
}
