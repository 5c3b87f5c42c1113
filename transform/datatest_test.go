package transform

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sam-attribution/sam/warehouse"
)

// A one-column unique_key whose column is declared unique and not null is
// already checked by those two tests; checking it a third time cost a
// second GROUP BY over 10M event keys at once with the first.
func TestUniqueKeyImpliedByUniqueAndNotNullIsNotCheckedTwice(t *testing.T) {
	p, err := LoadProject(fstest.MapFS{
		"staging/both.sql":        {Data: []byte("/*\nmaterialized: table\nunique_key: [k]\ntests:\n  not_null: [k]\n  unique: [k]\n*/\nselect 1 as k")},
		"staging/unique_only.sql": {Data: []byte("/*\nmaterialized: table\nunique_key: [k]\ntests:\n  unique: [k]\n*/\nselect 1 as k")},
		"staging/pair.sql":        {Data: []byte("/*\nmaterialized: table\nunique_key: [k, j]\ntests:\n  not_null: [k, j]\n  unique: [k]\n*/\nselect 1 as k, 2 as j")},
	})
	if err != nil {
		t.Fatal(err)
	}
	names := func(model string) []string {
		var out []string
		for _, dt := range headerTests(p.Models[model]) {
			out = append(out, dt.name)
		}
		return out
	}
	if got, want := names("both"), []string{"not_null(both.k)", "unique(both.k)"}; !slices.Equal(got, want) {
		t.Errorf("both: tests %q, want %q", got, want)
	}
	// unique ignores NULLs, the key's check does not: it stays.
	if got := names("unique_only"); !slices.Contains(got, "unique_combination(unique_only: k)") {
		t.Errorf("unique_only: tests %q lack the key's check", got)
	}
	if got := names("pair"); !slices.Contains(got, "unique_combination(pair: k, j)") {
		t.Errorf("pair: tests %q lack the key's check", got)
	}
}

// TestTestAfterBuildSkipsWhatTheBuildRan: after a Build, the tests it ran
// have checked the data as it is, so TestAfter runs only the others: none
// after a build that built everything, all of them after one that built
// nothing.
func TestTestAfterBuildSkipsWhatTheBuildRan(t *testing.T) {
	f := newFixture(t)
	rep := f.mustBuild("")
	all, err := f.runner().Test(f.ctx, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tests) != len(all.Tests) {
		t.Fatalf("the first build ran %d tests, Test runs %d", len(rep.Tests), len(all.Tests))
	}
	trep, err := f.runner().TestAfter(f.ctx, Selection{}, rep)
	if err != nil || len(trep.Tests) != 0 || trep.AlreadyRun != len(all.Tests) {
		t.Errorf("after a full build: ran %d, already run %d (err %v), want 0 and %d", len(trep.Tests), trep.AlreadyRun, err, len(all.Tests))
	}
	rep = f.mustBuild("")
	if len(rep.Built()) != 0 {
		t.Fatalf("second build built %v", rep.Built())
	}
	trep, err = f.runner().TestAfter(f.ctx, Selection{}, rep)
	if err != nil || len(trep.Tests) != len(all.Tests) || trep.AlreadyRun != 0 {
		t.Errorf("after a build of nothing: ran %d, already run %d (err %v), want %d and 0", len(trep.Tests), trep.AlreadyRun, err, len(all.Tests))
	}
}

// Test stops like Build once a test leaves the warehouse unusable: nothing
// is sent after, the test that broke it carries the cause, and the tests
// left are named once, as not attempted, instead of one error each.
func TestTestStopsWhenTheWarehouseBecomesUnusable(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	r := f.runner()
	r.Parallelism = 1
	wh := &brokenWH{Warehouse: f.wh, at: "COUNT(*) OVER ()"} // the first data test's query
	r.WH = wh
	rep, err := r.Test(f.ctx, Selection{})
	if !errors.Is(err, warehouse.ErrUnusable) {
		t.Fatalf("Test error = %v, want one wrapping warehouse.ErrUnusable", err)
	}
	if len(wh.after) != 0 {
		t.Errorf("%d statements sent after the warehouse became unusable, first: %.80q", len(wh.after), wh.after[0])
	}
	if len(rep.Tests) != 1 || rep.Tests[0].Status != TestError {
		t.Fatalf("tests = %+v, want only the one that broke the warehouse, as an error", rep.Tests)
	}
	all, _ := f.runner().Test(f.ctx, Selection{})
	if got, want := len(rep.NotAttempted), len(all.Tests)-1; got != want || want == 0 {
		t.Errorf("%d tests not attempted, want %d", got, want)
	}
	msg := err.Error()
	if strings.Count(msg, "unique_ptr") != 1 || strings.Contains(msg, "invalidated") || !strings.Contains(msg, "not attempted") {
		t.Errorf("Test error names the cause %d times, a later failure, or not what was left:\n%s", strings.Count(msg, "unique_ptr"), msg)
	}
}

// Testing a warehouse where nothing is built yet is one error that says
// so, not one engine error per test.
func TestTestBeforeAnyBuildSaysNothingIsBuilt(t *testing.T) {
	f := newFixture(t)
	rep, err := f.runner().Test(f.ctx, Selection{})
	if !errors.Is(err, ErrNothingBuilt) {
		t.Fatalf("error = %v, want ErrNothingBuilt", err)
	}
	if rep != nil && len(rep.Tests) > 0 {
		t.Errorf("ran %d tests on a warehouse with no model built", len(rep.Tests))
	}
}

// The tests of a model that was never built error with that reason, and
// their SQL is not run; the tests of built models run as usual.
func TestTestsOfAModelNeverBuiltSayItIsNotBuilt(t *testing.T) {
	f := newFixture(t)
	f.edit("intermediate/int_daily.sql", "  count(*) as events,", "  count(*) as events,\n  no_such_column as x,")
	if _, err := f.build("", BuildOptions{}); err == nil {
		t.Fatal("the broken model built")
	}
	rep, err := f.runner().Test(f.ctx, Selection{})
	if err == nil {
		t.Fatal("tests of a model never built passed")
	}
	got := map[string]string{}
	for _, tr := range rep.Tests {
		got[tr.Name] = string(tr.Status)
		if tr.Model == "int_daily" && (tr.Err == nil || tr.Err.Error() != "model int_daily is not built") {
			t.Errorf("%s: err %v, want \"model int_daily is not built\"", tr.Name, tr.Err)
		}
	}
	if got["unique_combination(int_daily: event_date, channel)"] != string(TestError) {
		t.Errorf("tests %v: want int_daily's test in error", got)
	}
	for name, st := range got {
		if strings.HasPrefix(name, "not_null(stg_events.") && st != string(TestPass) {
			t.Errorf("%s: %s, want pass (stg_events is built)", name, st)
		}
	}
}
