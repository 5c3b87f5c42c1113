package transform

import (
	"context"
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
