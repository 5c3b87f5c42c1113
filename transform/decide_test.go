package transform

import (
	"reflect"
	"testing"
)

func TestDecideRebuild(t *testing.T) {
	table := &Model{Name: "t", Kind: SQLModel, Config: Config{Materialized: Table}}
	incr := &Model{Name: "i", Kind: SQLModel, Config: Config{Materialized: Incremental}}
	view := &Model{Name: "v", Kind: SQLModel, Config: Config{Materialized: View}}
	seed := &Model{Name: "seed_x", Kind: Seed}
	isModel := func(n string) bool { return n == "up" }
	prev := func(materialized string) State {
		return State{Version: "v1", Materialized: materialized, Definition: "def1",
			Inputs: map[string]string{"up": "s1", "raw_ga4__events": "f1"}}
	}
	same := map[string]string{"up": "s1", "raw_ga4__events": "f1"}
	newData := map[string]string{"up": "s1", "raw_ga4__events": "f2"}
	cases := []struct {
		name string
		in   rebuildInput
		want rebuildDecision
	}{
		{"full refresh wins over everything", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v1", definition: "def1", inputs: same, fullRefresh: true},
			rebuildDecision{ActionBuild, []string{"full refresh"}}},
		{"never built", rebuildInput{model: table, materialized: "table", version: "v1", definition: "def1", inputs: same},
			rebuildDecision{ActionBuild, []string{"new"}}},
		{"materialization changed", rebuildInput{model: table, materialized: "table", built: true, prev: prev("view"), version: "v1", definition: "def1", inputs: same},
			rebuildDecision{ActionBuild, []string{"materialization changed from view"}}},
		{"own SQL changed", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v2", definition: "def2", inputs: same},
			rebuildDecision{ActionBuild, []string{"SQL or config changed"}}},
		{"upstream model changed, raw tables are not named as upstream", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v2", definition: "def1",
			inputs: map[string]string{"up": "s2", "raw_ga4__events": "f2"}},
			rebuildDecision{ActionBuild, []string{"upstream changed: up"}}},
		{"version changed with nothing else: the runner", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v2", definition: "def1", inputs: same},
			rebuildDecision{ActionBuild, []string{"runner version changed"}}},
		{"table up to date", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v1", definition: "def1", inputs: same},
			rebuildDecision{ActionSkip, []string{"up to date"}}},
		{"table with new data rebuilds", rebuildInput{model: table, materialized: "table", built: true, prev: prev("table"), version: "v1", definition: "def1", inputs: newData},
			rebuildDecision{ActionBuild, []string{"new data in raw_ga4__events"}}},
		{"incremental with new data catches up", rebuildInput{model: incr, materialized: "incremental", built: true, prev: prev("incremental"), version: "v1", definition: "def1", inputs: newData},
			rebuildDecision{ActionIncremental, []string{"new data in raw_ga4__events"}}},
		{"a removed input counts as new data", rebuildInput{model: incr, materialized: "incremental", built: true, prev: prev("incremental"), version: "v1", definition: "def1", inputs: map[string]string{"up": "s1"}},
			rebuildDecision{ActionIncremental, []string{"new data in raw_ga4__events"}}},
		{"view with new data is live", rebuildInput{model: view, materialized: "view", built: true, prev: prev("view"), version: "v1", definition: "def1", inputs: newData},
			rebuildDecision{ActionSkip, []string{"up to date"}}},
		{"seed unchanged", rebuildInput{model: seed, materialized: "seed", built: true, prev: prev("seed"), version: "v1", definition: "def1", inputs: map[string]string{}},
			rebuildDecision{ActionSkip, []string{"up to date"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.isModel = isModel
			if got := decideRebuild(c.in); !reflect.DeepEqual(got, c.want) {
				t.Errorf("decideRebuild = %+v, want %+v", got, c.want)
			}
		})
	}
}
