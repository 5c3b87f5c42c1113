package transform

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// dirFS copies a testdata project into a MapFS that tests can edit.
func dirFS(t testing.TB, dir string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, p))
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustLoad(t testing.TB, fsys fs.FS) *Project {
	t.Helper()
	p, err := LoadProject(fsys)
	if err != nil {
		t.Fatalf("LoadProject: %v", err)
	}
	return p
}

func TestLoadProjectGraph(t *testing.T) {
	p := mustLoad(t, os.DirFS("testdata/basic"))
	want := [][]string{
		{"seed_channels", "stg_events"},
		{"int_daily"},
		{"fct_channel"},
		{"rpt_channel"},
	}
	if got := p.Levels(); !reflect.DeepEqual(got, want) {
		t.Errorf("levels = %v, want %v", got, want)
	}
	if got := p.Models["fct_channel"].Refs; !reflect.DeepEqual(got, []string{"int_daily", "seed_channels"}) {
		t.Errorf("fct_channel refs = %v", got)
	}
	if got := p.Models["stg_events"].SourceRefs; !reflect.DeepEqual(got, []string{"app.events"}) {
		t.Errorf("stg_events sources = %v", got)
	}
	if src, ok := p.Sources["raw_app__events"]; !ok || src.Source != "app" || src.Name != "events" {
		t.Errorf("sources = %v", p.Sources)
	}
	if got := p.Downstream("int_daily"); !reflect.DeepEqual(got, []string{"fct_channel"}) {
		t.Errorf("downstream of int_daily = %v", got)
	}
	stg := p.Models["stg_events"].Config
	if stg.Materialized != Incremental || stg.PartitionBy != "event_date" || stg.Lookback() != 1 {
		t.Errorf("stg_events config = %+v", stg)
	}
	seed := p.Models["seed_channels"]
	if seed.Kind != Seed || len(seed.seed.rows) != 3 || seed.seed.rows[0][1] != int64(1) || seed.seed.rows[2][2] != nil {
		t.Errorf("seed = %+v rows %v", seed, seed.seed.rows)
	}
	if len(p.Tests) != 1 || !reflect.DeepEqual(p.Tests[0].Refs, []string{"stg_events"}) {
		t.Errorf("custom tests = %+v", p.Tests)
	}
}

func TestRefsInEveryBranchCount(t *testing.T) {
	fsys := fstest.MapFS{
		"staging/a.sql": {Data: []byte("select 1 as x")},
		"staging/b.sql": {Data: []byte("select 2 as x")},
		"marts/c.sql": {Data: []byte(`select * from {{ ref "a" }}
{{ if is_incremental }}union all select * from {{ ref "b" }}{{ end }}`)},
	}
	p := mustLoad(t, fsys)
	if got := p.Models["c"].Refs; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("refs = %v, want [a b]", got)
	}
}

func TestLoadProjectErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{
			name: "unknown ref",
			files: map[string]string{
				"staging/stg_a.sql": "select 1 as x",
				"marts/fct_b.sql":   "/*\nmaterialized: table\n*/\nselect *\nfrom {{ ref \"stg_aa\" }}",
			},
			want: []string{"marts/fct_b.sql:5:", `unknown ref "stg_aa"`, `did you mean "stg_a"`},
		},
		{
			name: "cycle",
			files: map[string]string{
				"staging/a.sql":      `select * from {{ ref "c" }}`,
				"intermediate/b.sql": `select * from {{ ref "a" }}`,
				"marts/c.sql":        `select * from {{ ref "b" }}`,
			},
			want: []string{"intermediate/b.sql:1:17: ref cycle: a -> c -> b -> a"},
		},
		{
			name:  "self ref",
			files: map[string]string{"staging/a.sql": "select *\nfrom {{ ref \"a\" }}"},
			want:  []string{"staging/a.sql:2:", "refs itself"},
		},
		{
			name:  "bad yaml",
			files: map[string]string{"staging/a.sql": "-- note\n/*\nmaterialized: table\nlookback_days: three\n*/\nselect 1"},
			want:  []string{"staging/a.sql:4: bad header YAML", "three"},
		},
		{
			name:  "yaml syntax",
			files: map[string]string{"staging/a.sql": "/*\nmaterialized: table\npartition_by: [oops\n*/\nselect 1"},
			want:  []string{"staging/a.sql:", "bad header YAML"},
		},
		{
			name:  "unknown header key",
			files: map[string]string{"staging/a.sql": "/*\nmaterialized: table\npartiton_by: d\n*/\nselect 1"},
			want:  []string{"staging/a.sql:3: bad header YAML", "partiton_by"},
		},
		{
			name:  "bad materialization",
			files: map[string]string{"staging/a.sql": "/*\nmaterialized: snapshot\n*/\nselect 1"},
			want:  []string{"staging/a.sql:2:", `materialized "snapshot"`},
		},
		{
			name:  "incremental without partition",
			files: map[string]string{"staging/a.sql": "/*\nmaterialized: incremental\n*/\nselect 1"},
			want:  []string{"staging/a.sql", "partition_by"},
		},
		{
			name:  "unknown test",
			files: map[string]string{"staging/a.sql": "/*\ntests:\n  not_nul: [x]\n*/\nselect 1 as x"},
			want:  []string{"staging/a.sql:3:", "unknown test not_nul"},
		},
		{
			name:  "template syntax",
			files: map[string]string{"staging/a.sql": "select 1\nfrom {{ ref \"b\" }\n"},
			want:  []string{"staging/a.sql:2"},
		},
		{
			name:  "unknown helper",
			files: map[string]string{"staging/a.sql": "select\n\n{{ reff \"b\" }}"},
			want:  []string{"staging/a.sql:3", `function "reff" not defined`},
		},
		{
			name:  "ref needs a literal",
			files: map[string]string{"staging/a.sql": `select {{ ref (var "x") }}`},
			want:  []string{"staging/a.sql:1:", "ref takes string literals"},
		},
		{
			name: "relationship to unknown model",
			files: map[string]string{
				"staging/a.sql": "/*\ntests:\n  relationships: {x: nope.x}\n*/\nselect 1 as x",
			},
			want: []string{"staging/a.sql", `unknown model "nope"`},
		},
		{
			name: "duplicate model",
			files: map[string]string{
				"staging/a.sql":      "select 1",
				"intermediate/a.sql": "select 2",
			},
			want: []string{"intermediate/a.sql: model a is already defined in staging/a.sql"},
		},
		{
			name:  "reserved name",
			files: map[string]string{"staging/raw_ga4__events.sql": "select 1"},
			want:  []string{"staging/raw_ga4__events.sql: model names must not start with raw_"},
		},
		{
			name:  "bad seed cell",
			files: map[string]string{"seeds/s.csv": "a,n\nx,1\ny,two\n", "seeds/s.yml": "columns: {n: INT64}\n"},
			want:  []string{"seeds/s.csv:3: column n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, src := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(src)}
			}
			_, err := LoadProject(fsys)
			if err == nil {
				t.Fatal("LoadProject succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseSelection(t *testing.T) {
	p := mustLoad(t, os.DirFS("testdata/basic"))
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{"fct_channel", "int_daily", "rpt_channel", "seed_channels", "stg_events"}},
		{"int_daily", []string{"int_daily"}},
		{"int_daily+", []string{"fct_channel", "int_daily", "rpt_channel"}},
		{"+int_daily", []string{"int_daily", "stg_events"}},
		{"+fct_channel", []string{"fct_channel", "int_daily", "seed_channels", "stg_events"}},
		{"+int_daily+", []string{"fct_channel", "int_daily", "rpt_channel", "stg_events"}},
		{"seed_channels, rpt_channel", []string{"rpt_channel", "seed_channels"}},
	}
	for _, tt := range tests {
		sel, err := ParseSelection(tt.in)
		if err != nil {
			t.Fatalf("ParseSelection(%q): %v", tt.in, err)
		}
		got, err := sel.resolve(p)
		if err != nil {
			t.Fatalf("resolve(%q): %v", tt.in, err)
		}
		if names := sortedKeys(got); !reflect.DeepEqual(names, tt.want) {
			t.Errorf("%q selects %v, want %v", tt.in, names, tt.want)
		}
	}
	for _, bad := range []string{"a b", "++x", "x,,y", "+"} {
		if _, err := ParseSelection(bad); err == nil {
			t.Errorf("ParseSelection(%q) succeeded, want an error", bad)
		}
	}
	sel, _ := ParseSelection("int_dialy+")
	if _, err := sel.resolve(p); err == nil || !strings.Contains(err.Error(), `unknown model int_dialy (did you mean "int_daily"?)`) {
		t.Errorf("unknown model error = %v", err)
	}
}

func TestProjectFS(t *testing.T) {
	embedded := fstest.MapFS{"staging/a.sql": {Data: []byte("select 1")}}
	if got := ProjectFS(embedded, ""); !reflect.DeepEqual(got, fs.FS(embedded)) {
		t.Error("ProjectFS without override did not return the embedded FS")
	}
	p := mustLoad(t, ProjectFS(embedded, "testdata/basic"))
	if _, ok := p.Models["a"]; ok {
		t.Error("override directory was merged with the embedded models")
	}
	if _, ok := p.Models["fct_channel"]; !ok {
		t.Error("override directory's models missing")
	}
	if _, err := LoadProject(ProjectFS(embedded, "testdata/no-such-dir")); err == nil || !strings.Contains(err.Error(), "no models found") {
		t.Errorf("LoadProject of a missing directory: %v, want an error", err)
	}
}
