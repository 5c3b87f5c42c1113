package transform

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sam-attribution/sam/warehouse/duckdb"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}

const windowMacros = `{{- /* comments outside the blocks are fine */ -}}
{{ define "in_window" -}}
{{ params "ts" "days" -}}
{{ .ts }} >= timestamp_sub(current_timestamp(), interval {{ .days }} day)
{{- end }}

{{ define "recent" -}}
{{ params "ts" -}}
{{ macro "in_window" .ts (var "attribution_window_days") }}
{{- end }}

{{ define "numbered" -}}
{{ params "prefix" -}}
{{- range $i := 3 }}{{ if $i }}, {{ end }}{{ $.prefix }}{{ $i }}{{ end }}
{{- end }}

{{ define "today" }}current_date(){{ end }}
`

func TestMacroRender(t *testing.T) {
	p := mustLoad(t, mapFS(map[string]string{
		"macros/window.sql": windowMacros,
		"staging/a.sql":     `select 1 as x from {{ source "app" "events" }} where {{ macro "in_window" "event_ts" 7 }}`,
		"marts/b.sql":       `select {{ macro "numbered" "col_" }}, {{ macro "today" }} as d from {{ ref "a" }} where {{ macro "recent" "b_ts" }}`,
		"tests/t.sql":       `select * from {{ ref "b" }} where not {{ macro "in_window" "b_ts" "1" }}`,
	}))
	out, err := p.Compile(duckdb.Dialect{}, nil, testVars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": `select 1 as x from "raw_app__events" where event_ts >= timestamp_sub(current_timestamp(), interval 7 day)`,
		"b": `select col_0, col_1, col_2, current_date() as d from "a" where b_ts >= timestamp_sub(current_timestamp(), interval 90 day)`,
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Compile =\n%q\nwant\n%q", out, want)
	}
	if got := p.Models["b"].Refs; !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("b refs %v, want [a]", got)
	}
	sql, err := customTest(p.Tests[0], p.macros).query(renderEnv{dialect: duckdb.Dialect{}, qualify: func(s string) string { return s }})
	if err != nil || sql != "select * from b where not b_ts >= timestamp_sub(current_timestamp(), interval 1 day)" {
		t.Errorf("custom test rendered %q, %v", sql, err)
	}
}

// TestMacroErrors: every mistake in a macro or a call is reported when the
// project loads (or, for what only rendering finds, when it renders), with
// the macro's file and line and the calling model's.
func TestMacroErrors(t *testing.T) {
	const model = "staging/a.sql"
	tests := []struct {
		name      string
		macroFile string // where macros goes, next to macros/m.sql's in_window
		macros    string
		model     string
		want      []string
	}{
		{
			name:  "unknown macro",
			model: "select\n  {{ macro \"in_windw\" \"ts\" \"1\" }}",
			want:  []string{"staging/a.sql:2:", `macro "in_windw" is not defined under macros/`, `did you mean "in_window"`},
		},
		{
			name:  "too few arguments",
			model: "select 1\nwhere {{ macro \"in_window\" \"ts\" }}",
			want:  []string{"staging/a.sql:2:", "macro in_window (macros/m.sql:2)", "takes 2 arguments (ts, days); the call passes 1"},
		},
		{
			name:  "name not a literal",
			model: `select {{ macro (var "m") "x" }}`,
			want:  []string{"staging/a.sql:1:", "macro takes the macro's name as a string literal"},
		},
		{
			name:  "params in a model",
			model: `select {{ params "x" }}`,
			want:  []string{"staging/a.sql:1:", `function "params" not defined`},
		},
		{
			name:  "model redefines a macro",
			model: `{{ define "in_window" }}x{{ end }}select 1`,
			want:  []string{"staging/a.sql:1:", "defines in_window, the name of the macro at macros/m.sql:2"},
		},
		{
			name:      "macro calls ref",
			macroFile: "macros/m.sql",
			macros:    "{{ define \"bad\" }}\nselect * from {{ ref \"b\" }}{{ end }}",
			want:      []string{"macros/m.sql:2:", "macro bad calls ref; pass the table as an argument"},
		},
		{
			name:      "macro reads an undeclared argument",
			macroFile: "macros/m.sql",
			macros:    "{{ define \"bad\" -}}\n{{ params \"x\" -}}\n{{ .x }} + {{ .y }}{{ end }}",
			want:      []string{"macros/m.sql:3:", "macro bad reads .y, which its params do not name (params: x)"},
		},
		{
			name:      "params not first",
			macroFile: "macros/m.sql",
			macros:    "{{ define \"bad\" -}}\nselect {{ params \"x\" }}{{ end }}",
			want:      []string{"macros/m.sql:2:", "params must be the first action of a macro"},
		},
		{
			name:      "text outside define",
			macroFile: "macros/m.sql",
			macros:    "{{ define \"a\" }}x{{ end }}\nselect 1\n",
			want:      []string{"macros/m.sql:1:", "a macro file holds only {{ define }} blocks"},
		},
		{
			name:      "parse error",
			macroFile: "macros/m.sql",
			macros:    "{{ define \"a\" }}\n{{ if }}{{ end }}",
			want:      []string{"macros/m.sql:2:", "missing value for if"},
		},
		{
			name:      "defined twice",
			macroFile: "macros/n.sql",
			macros:    "{{ define \"in_window\" }}x{{ end }}",
			want:      []string{"macro in_window is already defined at macros/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{
				"macros/m.sql": "{{ define \"in_window\" -}}\n{{ params \"ts\" \"days\" -}}\n{{ .ts }} > {{ .days }}{{ end }}",
				model:          "select 1",
			}
			if tt.macros != "" {
				files[tt.macroFile] = tt.macros
			}
			if tt.model != "" {
				files[model] = tt.model
			}
			_, err := LoadProject(mapFS(files))
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

// TestMacroRenderErrorNamesMacroAndModel: an error only rendering finds
// names the line in the macro and the line of the call in the model.
func TestMacroRenderErrorNamesMacroAndModel(t *testing.T) {
	p := mustLoad(t, mapFS(map[string]string{
		"macros/cast.sql": "{{ define \"as_int\" -}}\n{{ params \"x\" -}}\n{{ safe_cast .x \"INT\" }}\n{{- end }}",
		"marts/b.sql":     "select\n  {{ macro \"as_int\" \"y\" }} as y",
	}))
	_, err := p.Compile(duckdb.Dialect{}, nil, testVars)
	if err == nil {
		t.Fatal("Compile succeeded, want an error")
	}
	for _, w := range []string{"marts/b.sql:2:", "macros/cast.sql:3:", `safe_cast: unsupported type "INT"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	p = mustLoad(t, mapFS(map[string]string{
		"macros/loop.sql": "{{ define \"loop\" }}{{ macro \"loop\" }}{{ end }}",
		"marts/b.sql":     `select {{ macro "loop" }}`,
	}))
	if _, err := p.Compile(duckdb.Dialect{}, nil, testVars); err == nil || !strings.Contains(err.Error(), "does one call itself?") {
		t.Errorf("a macro calling itself: %v, want the recursion reported", err)
	}
	p = mustLoad(t, mapFS(map[string]string{
		"macros/m.sql": "{{ define \"m\" }}{{ params \"x\" }}{{ .x }}{{ end }}",
		"marts/b.sql":  `select {{ macro "m" 1.5 }}`,
	}))
	if _, err := p.Compile(duckdb.Dialect{}, nil, testVars); err == nil || !strings.Contains(err.Error(), "arguments are SQL expressions (strings) or integers") {
		t.Errorf("a float argument: %v, want it rejected", err)
	}
}

// TestMacroChangeRebuildsCallersOnly: a model's version is the hash of its
// rendered SQL, so moving SQL into a macro that renders the same text
// rebuilds nothing, and a macro change rebuilds the models whose rendering
// changes (and their downstream) and no other.
func TestMacroChangeRebuildsCallersOnly(t *testing.T) {
	f := newFixture(t)
	f.mustBuild("")
	f.fs["macros/amounts.sql"] = &fstest.MapFile{Data: []byte(`{{ define "normalised" }}{{ params "col" }}lower({{ .col }}){{ end }}
{{ define "total" }}{{ params "col" }}sum({{ .col }}){{ end }}
`)}
	f.edit("staging/stg_events.sql", "lower(channel) as channel", `{{ macro "normalised" "channel" }} as channel`)
	f.edit("intermediate/int_daily.sql", "sum(amount) as amount", `{{ macro "total" "amount" }} as amount`)
	plan, err := f.runner().Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Rebuilds(); len(got) != 0 {
		t.Fatalf("SQL moved into macros that render the same text: plan rebuilds %v, want nothing", got)
	}

	f.edit("macros/amounts.sql", "sum({{ .col }})", "sum({{ .col }}) * 2")
	plan, err = f.runner().Plan(f.ctx, Selection{}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"int_daily", "fct_channel", "rpt_channel"}
	if got := plan.Rebuilds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after changing macro total: plan rebuilds %v, want %v", got, want)
	}
	for _, it := range plan.Items {
		if it.Model == "int_daily" && !reflect.DeepEqual(it.Reasons, []string{"SQL or config changed"}) {
			t.Errorf("int_daily reasons = %v", it.Reasons)
		}
	}
	f.mustBuild("")
	if got := f.rows("SELECT amount FROM fct_channel WHERE channel = 'email'"); got[0][0] != "30" {
		t.Errorf("email amount = %v, want 30", got)
	}
}

// TestMacrosInModelsDir: a SAM_MODELS_DIR override brings its own macros.
func TestMacrosInModelsDir(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"macros/m.sql":  `{{ define "one" }}1{{ end }}`,
		"staging/a.sql": `select {{ macro "one" }} as x`,
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := mustLoad(t, ProjectFS(fstest.MapFS{}, dir))
	out, err := p.Compile(duckdb.Dialect{}, nil, testVars)
	if err != nil || out["a"] != "select 1 as x" {
		t.Errorf("Compile = %q, %v; want the override's macro rendered", out, err)
	}
}
