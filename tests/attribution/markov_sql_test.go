package attribution_test

import (
	"context"
	"io/fs"
	"math"
	"os"
	"testing"
	"testing/fstest"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
)

// withSQLMarkov is the project plus the first-order Markov that SAM once
// computed in SQL (a dense elimination, 32 states at most), kept under
// testdata/sqlmarkov as a cross-check of the Go model: its removal effects
// land in sql_markov_removal_effects.
func withSQLMarkov(t testing.TB) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	for _, fsys := range []fs.FS{sqlmodels.FS, os.DirFS("testdata/sqlmarkov")} {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, p)
			files[p] = &fstest.MapFile{Data: data}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// TestMarkovMatchesSQLOnSampleData: on the generated sample data, the Go
// model at order 1 (the default) gives the SQL elimination's removal
// effects to 1e-12.
func TestMarkovMatchesSQLOnSampleData(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: generates, loads and builds the sample data")
	}
	ctx := context.Background()
	wh := loadSampleData(t, 0)
	p, err := transform.LoadProject(withSQLMarkov(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &transform.Runner{WH: wh, Project: p, Vars: testVars}
	sel, err := transform.ParseSelection("+int_markov_removal_effects,+sql_markov_removal_effects")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(ctx, sel, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	rows := query(t, wh, `select s.stage, s.channel, s.conversion_probability, s.removed_probability, s.removal_effect,
			g.conversion_probability, g.removed_probability, g.removal_effect
		from sql_markov_removal_effects as s
		full join int_markov_removal_effects as g on g.stage = s.stage and g.touch_key = s.channel`)
	if len(rows) < 10 {
		t.Fatalf("only %d removal effects", len(rows))
	}
	for _, row := range rows {
		for i := 2; i < 5; i++ {
			a, _ := row[i].(float64)
			b, _ := row[i+3].(float64)
			if row[i] == nil || row[i+3] == nil || math.Abs(a-b) > 1e-12 {
				t.Errorf("%v %v: SQL %v, Go %v", row[0], row[1], row[2:5], row[5:8])
				break
			}
		}
	}
}
