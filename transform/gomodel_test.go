package transform

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sam-attribution/sam/warehouse"
)

// doubler is a Go model that doubles its input's x, by a var's factor.
type doubler struct{}

func (doubler) Version(vars Vars) (string, error) {
	f, _ := toInt(vars["factor"])
	return "1;factor=" + warehouse.Format(f), nil
}

func (doubler) Schema() warehouse.Schema {
	return warehouse.Schema{Columns: []warehouse.Column{{Name: "y", Type: warehouse.Int64}}}
}

func (d doubler) Compute(_ context.Context, in GoInput) (warehouse.Schema, [][]any, error) {
	f, _ := toInt(in.Vars["factor"])
	var out [][]any
	for _, r := range in.Rows {
		x, err := toInt(r[0])
		if err != nil {
			return d.Schema(), nil, err
		}
		out = append(out, []any{x * f})
	}
	return d.Schema(), out, nil
}

func TestGoModel(t *testing.T) {
	f := newFixture(t)
	f.fs = fstest.MapFS{
		"staging/a.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect 1 as x union all select 2")},
		"intermediate/b.sql": {Data: []byte(`/*
materialized: go
go_model: doubler
tests:
  not_null: [y]
*/
select x from {{ ref "a" }}`)},
		"marts/c.sql": {Data: []byte("/*\nmaterialized: table\n*/\nselect sum(y) as total from {{ ref \"b\" }}")},
	}
	build := func(factor int) *BuildReport {
		t.Helper()
		r := f.runner()
		r.GoModels = map[string]GoModel{"doubler": doubler{}}
		r.Vars = Vars{"factor": factor}
		rep, err := r.Build(f.ctx, Selection{}, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	build(2)
	if got := f.rows("SELECT total FROM c"); got[0][0] != "6" {
		t.Errorf("c = %v, want 6", got)
	}
	if got := sorted(build(2).Built()); len(got) != 0 {
		t.Errorf("unchanged rebuild built %v", got)
	}
	// A var the Go model reads is part of its version.
	if got := sorted(build(3).Built()); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("factor change built %v, want b and c", got)
	}
	if got := f.rows("SELECT total FROM c"); got[0][0] != "9" {
		t.Errorf("c = %v, want 9", got)
	}

	r := f.runner()
	r.GoModels = map[string]GoModel{}
	if _, err := r.Plan(f.ctx, Selection{}, BuildOptions{}); err == nil || !strings.Contains(err.Error(), `unknown go_model "doubler"`) {
		t.Errorf("plan without the Go model: %v", err)
	}
}

func TestGoModelHeader(t *testing.T) {
	for _, src := range []string{
		"/*\nmaterialized: go\n*/\nselect 1",
		"/*\nmaterialized: table\ngo_model: x\n*/\nselect 1",
		"/*\nmaterialized: go\ngo_model: x\npartition_by: d\n*/\nselect 1",
	} {
		if _, err := parseHeader("m.sql", src); err == nil {
			t.Errorf("%q: accepted", src)
		}
	}
}

// TestShapleyTouchCredits keys the credits of prepared paths by the paths as
// counted. With exposure and min_path_journeys 2: "A > A > B" and "A > B"
// become A > B (2 journeys, 1 conversion: P = 1/2), "C>1 > B" becomes
// Other > B (P = 1), B stays B (P = 1/2). On A > B, A earns max(1/2 − P(B),
// 0) = 0 and B 1/2 − P(A) = 1/2: B gets 1. On Other > B, Other earns 1 −
// 1/2 and B 1 − 0: 1/3 and 2/3.
func TestShapleyTouchCredits(t *testing.T) {
	in := GoInput{
		Columns: []warehouse.Column{{Name: "stage"}, {Name: "path"}, {Name: "journeys"}, {Name: "conversions"}},
		Rows: [][]any{
			{"lead", "A > A > B", int64(1), int64(1)},
			{"lead", "A > B", int64(1), int64(0)},
			{"lead", "B", int64(2), int64(1)},
			{"lead", "C%3E1 > B", int64(1), int64(1)},
			{"lead", "A", int64(1), int64(0)}, // converts nowhere: no rows
		},
		Vars: Vars{"path_transform": "exposure", "min_path_journeys": 2},
	}
	_, rows, err := BuiltinGoModels()["shapley_touch_credits"].Compute(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"A > A > B|A|A": 0, "A > A > B|B|B": 1,
		"A > B|A|A": 0, "A > B|B|B": 1,
		"B|B|B":               1,
		"C%3E1 > B|C>1|Other": 1.0 / 3, "C%3E1 > B|B|B": 2.0 / 3,
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v, want %d", rows, len(want))
	}
	for _, r := range rows {
		key := fmt.Sprintf("%v|%v|%v", r[1], r[2], r[3])
		w, ok := want[key]
		if !ok || r[0] != "lead" || math.Abs(r[4].(float64)-w) > 1e-12 {
			t.Errorf("row %v: want credit %v (known: %v)", r, w, ok)
		}
	}
}
