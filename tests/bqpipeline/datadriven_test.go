package bqpipeline

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// dataDriven are the tables the data-driven attribution models build: the
// counted paths (SQL) and the Go models over them.
var dataDriven = []string{"int_visitor_paths", "int_attribution_paths", "int_markov_removal_effects", "int_shapley_path_credits", "int_shapley_touch_credits"}

// dataDrivenInputs stand in for the models int_attribution_paths reads,
// each with the columns it uses.
var dataDrivenInputs = []struct {
	model, table string
	derived      string // columns the stand-in adds to the fixture's
	schema       warehouse.Schema
	rows         [][]any
}{
	{"intermediate/int_lead_touchpoints.sql", "touchpoints", "", schemaOf("lead_id", "position:int", "channel", "source", "medium", "campaign"), [][]any{
		{"L1", int64(1), "Paid Search", "google", "cpc", "Brand"},
		{"L1", int64(2), "Email", "newsletter", "email", "Spring>Sale"},
		{"L2", int64(1), "Paid Social", "facebook", "paid_social", "Retarget 100%"},
		{"L2", int64(2), "Paid Search", "google", "cpc", " brand"},
		{"L3", int64(1), "Organic Search", "google", "organic", nil},
		{"L4", int64(1), "Paid Search", "google", "cpc", "Generic"},
		{"L4", int64(2), "Paid Search", "google", "cpc", "generic"},
		{"L4", int64(3), "Direct", "(direct)", "(none)", nil},
		{"L5", int64(1), "Email", "newsletter", "email", "Spring>Sale"},
		{"L6", int64(1), "Paid Social", "facebook", "paid_social", "Retarget+100%"},
		{"L6", int64(2), "Organic Search", "google", "organic", "(not set)"},
	}},
	{"intermediate/int_lead_stages.sql", "stages", "", schemaOf("lead_id", "sql_at:ts", "opportunity_at:ts", "won_at:ts"), [][]any{
		{"L1", day(3), day(5), day(9)},
		{"L2", day(4), nil, nil},
		{"L3", nil, nil, nil},
		{"L4", day(2), day(6), day(8)},
		{"L5", nil, nil, nil},
		{"L6", nil, day(7), nil},
	}},
	{"intermediate/int_lead_identity.sql", "identity", "", schemaOf("lead_id", "client_key"), [][]any{
		{"L1", "c1"}, {"L2", "c2"}, {"L3", nil},
	}},
	{"staging/stg_ga4__sessions.sql", "sessions", ", cast(session_start_ts as date) as session_date", schemaOf("session_key", "client_key", "session_start_ts:ts", "channel", "source", "medium", "campaign"), [][]any{
		{"s1", "c1", day(1), "Paid Search", "google", "cpc", "Brand"}, // a lead's client: not a visitor journey
		{"v1a", "v1", day(1), "Paid Search", "google", "cpc", "brand"},
		{"v1b", "v1", day(2), "Paid Social", "facebook", "paid_social", "Retarget 100%"},
		{"v2a", "v2", day(1), "Organic Search", "google", "organic", nil},
		{"v2b", "v2", day(1), "Direct", nil, nil, nil},
		{"v3a", "v3", day(2), "Paid Search", "google", "cpc", "Generic"},
		{"v4a", "v4", day(1), "Email", "newsletter", "email", "Spring>Sale"},
		{"v4b", "v4", day(2), "Paid Search", "google", "cpc", "Brand"},
		{"v4c", "v4", day(3), "Paid Search", "google", "cpc", "Brand"},
		{"v5a", "v5", day(4), nil, "example.com", "referral", nil},
		{"v6a", nil, day(4), "Direct", nil, nil, nil},
	}},
}

func day(n int) time.Time { return time.Date(2024, 3, n, 12, 0, 0, 0, time.UTC) }

// schemaOf builds a schema from name[:int|:ts] specs; the rest are STRING.
func schemaOf(specs ...string) warehouse.Schema {
	var s warehouse.Schema
	for _, spec := range specs {
		name, kind, _ := strings.Cut(spec, ":")
		typ := warehouse.String
		switch kind {
		case "int":
			typ = warehouse.Int64
		case "ts":
			typ = warehouse.Timestamp
		}
		s.Columns = append(s.Columns, warehouse.Column{Name: name, Type: typ})
	}
	return s
}

// dataDrivenProject is int_attribution_paths and the Go models over it, from
// sql/, with stand-ins reading raw_fixture__* tables for its inputs.
func dataDrivenProject(t *testing.T) *transform.Project {
	t.Helper()
	mfs := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasPrefix(p, "macros/") && !slices.Contains(dataDriven, strings.TrimSuffix(strings.TrimPrefix(p, "intermediate/"), ".sql")) {
			return nil
		}
		b, err := fs.ReadFile(sqlmodels.FS, p)
		mfs[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range dataDrivenInputs {
		mfs[in.model] = &fstest.MapFile{Data: []byte(`select *` + in.derived + ` from {{ source "fixture" "` + in.table + `" }}`)}
	}
	p, err := transform.LoadProject(mfs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// buildDataDriven loads the inputs into wh, builds the project and returns
// every data-driven table as sorted lines of typed values.
func buildDataDriven(t *testing.T, wh warehouse.Warehouse, vars transform.Vars) map[string][]string {
	t.Helper()
	ctx := context.Background()
	for _, in := range dataDrivenInputs {
		_, err := wh.Load(ctx, warehouse.LoadRequest{Table: "raw_fixture__" + in.table, Schema: in.schema,
			Mode: warehouse.Replace, Rows: warehouse.NewSliceRows(in.rows)})
		if err != nil {
			t.Fatalf("load %s: %v", in.table, err)
		}
	}
	r := &transform.Runner{WH: wh, Project: dataDrivenProject(t), Vars: vars}
	if _, err := r.Build(ctx, transform.Selection{}, transform.BuildOptions{}); err != nil {
		t.Fatalf("build: %v", err)
	}
	out := map[string][]string{}
	for _, table := range dataDriven {
		rows, err := wh.Query(ctx, "SELECT * FROM "+wh.QualifiedName(table))
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols := rows.Columns()
		data, err := warehouse.CollectRows(rows)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for _, row := range data {
			var b strings.Builder
			for i, v := range row {
				// %v prints a float64 in its shortest exact form: equal
				// lines mean equal bits.
				fmt.Fprintf(&b, "%s=%T:%v;", cols[i].Name, v, v)
			}
			out[table] = append(out[table], b.String())
		}
		slices.Sort(out[table])
	}
	return out
}

// TestDataDrivenParity builds the data-driven attribution tables from the
// same inputs on DuckDB and on BigQuery (the fake, evaluating with
// ZetaSQL) and requires the same rows, value for value (issue 16,
// acceptance 4).
func TestDataDrivenParity(t *testing.T) {
	base := transform.Vars{"attribution_window_days": 90, "time_decay_half_life_days": 7.0, "reporting_currency": "USD"}
	cases := []struct {
		name string
		vars transform.Vars
	}{
		{"defaults", base},
		{"campaign grain, order 2, exposure, pooled", transform.Vars{"markov_grain": "campaign", "markov_order": 2,
			"path_transform": "exposure", "min_path_journeys": 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := transform.Vars{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range c.vars {
				vars[k] = v
			}
			duck, err := duckdb.Open(context.Background(), "", duckdb.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { duck.Close() })
			bq, _ := openBigQuery(t)

			want := buildDataDriven(t, duck, vars)
			got := buildDataDriven(t, bq, vars)
			for _, table := range dataDriven {
				if len(want[table]) == 0 {
					t.Errorf("%s is empty on DuckDB", table)
				}
				if !slices.Equal(got[table], want[table]) {
					t.Errorf("%s differs between the engines:\nDuckDB:\n%s\nBigQuery:\n%s", table,
						strings.Join(want[table], "\n"), strings.Join(got[table], "\n"))
				}
			}
		})
	}
}
