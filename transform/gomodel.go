package transform

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/sam-attribution/sam/attribution"
	"github.com/sam-attribution/sam/warehouse"
)

// A GoModel computes a table in Go from the rows of a model's query, for
// arithmetic SQL cannot do well on both engines (a sparse linear solve).
// The heavy aggregation stays in the query; only its result travels.
type GoModel interface {
	// Version names the computation and every var it reads, with their
	// values: it is part of the model's version, so a new algorithm or a
	// changed setting rebuilds the model and everything downstream.
	Version(vars Vars) (string, error)
	// Schema is the table's schema, the same for every input: static
	// checks of downstream SQL read it.
	Schema() warehouse.Schema
	// Compute turns the query's rows into the table's schema and rows.
	// It must be deterministic: the same input gives the same table, bit
	// for bit, on every engine.
	Compute(ctx context.Context, in GoInput) (warehouse.Schema, [][]any, error)
}

// GoInput is what a GoModel computes from.
type GoInput struct {
	Columns []warehouse.Column
	Rows    [][]any
	Vars    Vars
}

func (r *Runner) goModels() map[string]GoModel {
	if r.GoModels != nil {
		return r.GoModels
	}
	return BuiltinGoModels()
}

func goModelVersion(m *Model, models map[string]GoModel, vars Vars) (string, error) {
	gm, ok := models[m.Config.GoModel]
	if !ok {
		return "", fmt.Errorf("%s: unknown go_model %q (known: %s)", m.File, m.Config.GoModel, strings.Join(goModelNames(models), ", "))
	}
	v, err := gm.Version(vars)
	if err != nil {
		return "", fmt.Errorf("%s: go_model %s: %w", m.File, m.Config.GoModel, err)
	}
	return m.Config.GoModel + "@" + v, nil
}

func goModelNames(models map[string]GoModel) []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// goModel reads the model's query, computes its table in Go and publishes
// it with a Replace load, then records the state row.
func (b *builder) goModel(ctx context.Context) (buildOutput, error) {
	gm, ok := b.r.goModels()[b.m.Config.GoModel]
	if !ok {
		return buildOutput{}, fmt.Errorf("unknown go_model %q", b.m.Config.GoModel)
	}
	rows, err := b.r.WH.Query(ctx, b.it.sql, warehouse.WithLabels(b.r.labels(b.runID, b.m.Name)))
	if err != nil {
		return buildOutput{}, &modelSQLError{err}
	}
	cols := rows.Columns()
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return buildOutput{}, &modelSQLError{err}
	}
	schema, out, err := gm.Compute(ctx, GoInput{Columns: cols, Rows: data, Vars: b.r.Vars})
	if err != nil {
		return buildOutput{}, fmt.Errorf("go_model %s: %w", b.m.Config.GoModel, err)
	}
	if drop := b.dropOther(false); drop != "" {
		if _, err := b.exec(ctx, "drop", drop); err != nil {
			return buildOutput{}, err
		}
	}
	return b.publishRows(ctx, schema, out)
}

// BuiltinGoModels returns the Go models SAM ships, by the name a model's
// go_model header gives:
//
//   - markov_removal_effects: attribution.RemovalEffects per stage.
//   - shapley_path_credits: attribution.Shapley per stage.
//   - shapley_touch_credits: the same credits keyed by the paths as read,
//     per state, so that a journey's touches find their share.
//
// Both read journey paths, one row per (stage, path): stage STRING, path
// STRING (states joined by " > ", each escaped by the path_state macro),
// journeys INT64, conversions INT64; and the vars markov_order (default 1),
// path_transform (unique) and min_path_journeys (0: no pooling), when set.
func BuiltinGoModels() map[string]GoModel {
	return map[string]GoModel{
		"markov_removal_effects": markovModel{},
		"shapley_path_credits":   shapleyModel{},
		"shapley_touch_credits":  shapleyTouchModel{},
	}
}

// pathSettings are the vars the path models read, with their defaults.
type pathSettings struct {
	order       int
	transform   attribution.Transform
	minJourneys int64
}

func readPathSettings(vars Vars) (pathSettings, error) {
	s := pathSettings{order: 1, transform: attribution.Unique}
	if v, ok := vars["markov_order"]; ok {
		n, err := toInt(v)
		if err != nil || n < 1 || n > attribution.MaxOrder {
			return s, fmt.Errorf("var markov_order = %v: want 1 to %d", v, attribution.MaxOrder)
		}
		s.order = int(n)
	}
	if v, ok := vars["path_transform"]; ok {
		t, err := attribution.ParseTransform(fmt.Sprint(v))
		if err != nil {
			return s, fmt.Errorf("var path_transform: %w", err)
		}
		s.transform = t
	}
	if v, ok := vars["min_path_journeys"]; ok {
		n, err := toInt(v)
		if err != nil || n < 0 {
			return s, fmt.Errorf("var min_path_journeys = %v: want a whole number, 0 or more", v)
		}
		s.minJourneys = n
	}
	return s, nil
}

// unescapeState undoes the path_state macro: % and > are written %25
// and %3E so that " > " separates states whatever their names hold.
var unescapeState = strings.NewReplacer("%3E", ">", "%25", "%")

// escapeState is the path_state macro in Go.
var escapeState = strings.NewReplacer("%", "%25", ">", "%3E")

// readPaths groups the input rows by stage, in stage order.
func readPaths(in GoInput) ([]string, map[string][]attribution.Path, error) {
	want := []string{"stage", "path", "journeys", "conversions"}
	if len(in.Rows) == 0 {
		return nil, nil, nil // nothing to compute; some engines describe no columns then
	}
	if len(in.Columns) != len(want) {
		return nil, nil, fmt.Errorf("input has %d columns, want %s", len(in.Columns), strings.Join(want, ", "))
	}
	for i, c := range in.Columns {
		if c.Name != want[i] {
			return nil, nil, fmt.Errorf("input column %d is %s, want %s", i+1, c.Name, want[i])
		}
	}
	byStage := map[string][]attribution.Path{}
	for _, row := range in.Rows {
		stage, _ := row[0].(string)
		text, _ := row[1].(string)
		journeys, err := toInt(row[2])
		if err != nil {
			return nil, nil, fmt.Errorf("journeys: %w", err)
		}
		conversions, err := toInt(row[3])
		if err != nil {
			return nil, nil, fmt.Errorf("conversions: %w", err)
		}
		if conversions < 0 || conversions > journeys {
			return nil, nil, fmt.Errorf("stage %s path %q: %d conversions of %d journeys", stage, text, conversions, journeys)
		}
		var states []string
		if text != "" {
			states = strings.Split(text, " > ")
			for i, s := range states {
				states[i] = unescapeState.Replace(s)
			}
		}
		byStage[stage] = append(byStage[stage], attribution.Path{States: states, Journeys: journeys, Conversions: conversions})
	}
	stages := make([]string, 0, len(byStage))
	for s := range byStage {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	return stages, byStage, nil
}

// stagePaths is what the data-driven models compute over: a stage, the
// counted paths as SQL counted them (raw), and the same paths after the
// transform and pooling, with the state each raw state was pooled into.
type stagePaths struct {
	stage  string
	raw    []attribution.Path
	paths  []attribution.Path
	pooled map[string]string
}

// eachStage reads the path settings and the counted paths and calls fn per
// stage with the prepared paths, in stage order.
func eachStage(ctx context.Context, in GoInput, fn func(pathSettings, stagePaths) error) error {
	s, err := readPathSettings(in.Vars)
	if err != nil {
		return err
	}
	stages, byStage, err := readPaths(in)
	if err != nil {
		return err
	}
	for _, stage := range stages {
		if err := ctx.Err(); err != nil {
			return err
		}
		paths, pooled := attribution.Prepare(byStage[stage], s.transform, s.minJourneys)
		if err := fn(s, stagePaths{stage: stage, raw: byStage[stage], paths: paths, pooled: pooled}); err != nil {
			return err
		}
	}
	return nil
}

// pathText joins a path's states as int_attribution_paths writes them.
func pathText(states []string) string {
	escaped := make([]string, len(states))
	for i, st := range states {
		escaped[i] = escapeState.Replace(st)
	}
	return strings.Join(escaped, " > ")
}

// pathVersion is the version of a model that depends on the path settings
// only.
func pathVersion(vars Vars) (string, error) {
	s, err := readPathSettings(vars)
	return fmt.Sprintf("1;transform=%s;min=%d", s.transform, s.minJourneys), err
}

type markovModel struct{}

func (markovModel) Version(vars Vars) (string, error) {
	s, err := readPathSettings(vars)
	return fmt.Sprintf("1;order=%d;transform=%s;min=%d", s.order, s.transform, s.minJourneys), err
}

func (markovModel) Schema() warehouse.Schema {
	return warehouse.Schema{Columns: []warehouse.Column{
		{Name: "stage", Type: warehouse.String},
		{Name: "channel", Type: warehouse.String},
		{Name: "touch_key", Type: warehouse.String},
		{Name: "markov_order", Type: warehouse.Int64},
		{Name: "conversion_probability", Type: warehouse.Float64},
		{Name: "removed_probability", Type: warehouse.Float64},
		{Name: "removal_effect", Type: warehouse.Float64},
	}}
}

func (m markovModel) Compute(ctx context.Context, in GoInput) (warehouse.Schema, [][]any, error) {
	var out [][]any
	err := eachStage(ctx, in, func(s pathSettings, sp stagePaths) error {
		effects, err := attribution.RemovalEffects(sp.paths, s.order)
		if err != nil {
			return fmt.Errorf("stage %s: %w", sp.stage, err)
		}
		byChannel := make(map[string]attribution.Effect, len(effects))
		for _, e := range effects {
			byChannel[e.Channel] = e
		}
		keys := make([]string, 0, len(sp.pooled))
		for k := range sp.pooled {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// One row per state as touches carry it, with the effect of the
		// state it was pooled into.
		for _, k := range keys {
			e, ok := byChannel[sp.pooled[k]]
			if !ok {
				continue
			}
			out = append(out, []any{sp.stage, e.Channel, k, int64(s.order), e.ConversionProbability, e.RemovedProbability, e.RemovalEffect})
		}
		return nil
	})
	return m.Schema(), out, err
}

type shapleyModel struct{}

func (shapleyModel) Version(vars Vars) (string, error) { return pathVersion(vars) }

func (shapleyModel) Schema() warehouse.Schema {
	return warehouse.Schema{Columns: []warehouse.Column{
		{Name: "stage", Type: warehouse.String},
		{Name: "path", Type: warehouse.String},
		{Name: "channel", Type: warehouse.String},
		{Name: "journeys", Type: warehouse.Int64},
		{Name: "conversions", Type: warehouse.Int64},
		{Name: "credit", Type: warehouse.Float64},
		{Name: "attributed_conversions", Type: warehouse.Float64},
	}}
}

func (m shapleyModel) Compute(ctx context.Context, in GoInput) (warehouse.Schema, [][]any, error) {
	var out [][]any
	err := eachStage(ctx, in, func(_ pathSettings, sp stagePaths) error {
		for _, pc := range attribution.Shapley(sp.paths) {
			text := pathText(pc.Path.States)
			for _, c := range pc.Credits {
				out = append(out, []any{sp.stage, text, c.Channel, pc.Path.Journeys, pc.Path.Conversions, c.Credit, c.Credit * float64(pc.Path.Conversions)})
			}
		}
		return nil
	})
	return m.Schema(), out, err
}

// shapleyTouchModel publishes shapley_path_credits for the paths as SQL
// counted them, before the path transform and pooling: one row per (stage,
// path, touch_key) of every path whose prepared path converted, with the
// credit of the state touch_key became (channel). A journey's SQL can
// rebuild its own path and join its touches on it; the touches pooled into
// one channel share its credit.
type shapleyTouchModel struct{}

func (shapleyTouchModel) Version(vars Vars) (string, error) { return pathVersion(vars) }

func (shapleyTouchModel) Schema() warehouse.Schema {
	return warehouse.Schema{Columns: []warehouse.Column{
		{Name: "stage", Type: warehouse.String},
		{Name: "path", Type: warehouse.String},
		{Name: "touch_key", Type: warehouse.String},
		{Name: "channel", Type: warehouse.String},
		{Name: "credit", Type: warehouse.Float64},
	}}
}

func (m shapleyTouchModel) Compute(ctx context.Context, in GoInput) (warehouse.Schema, [][]any, error) {
	var out [][]any
	err := eachStage(ctx, in, func(s pathSettings, sp stagePaths) error {
		credits := map[string]map[string]float64{}
		for _, pc := range attribution.Shapley(sp.paths) {
			byChannel := make(map[string]float64, len(pc.Credits))
			for _, c := range pc.Credits {
				byChannel[c.Channel] = c.Credit
			}
			credits[strings.Join(pc.Path.States, "\x00")] = byChannel
		}
		for _, p := range sp.raw {
			states := make([]string, len(p.States))
			for i, st := range p.States {
				states[i] = sp.pooled[st]
			}
			byChannel, ok := credits[strings.Join(s.transform.Apply(states), "\x00")]
			if !ok {
				continue
			}
			text := pathText(p.States)
			seen := map[string]bool{}
			for _, st := range p.States {
				if seen[st] {
					continue
				}
				seen[st] = true
				out = append(out, []any{sp.stage, text, st, sp.pooled[st], byChannel[sp.pooled[st]]})
			}
		}
		return nil
	})
	return m.Schema(), out, err
}
