package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// Runner builds a Project in a warehouse.
type Runner struct {
	WH      warehouse.Warehouse
	Project *Project
	Vars    Vars
	// Parallelism bounds the models (and tests) run at once within one
	// level of the graph; 0 lets the engine decide (see parallelism).
	Parallelism int
	// Logger receives one line per model and test; nil discards.
	Logger *slog.Logger
	// RunID names the run in the state table, job ids and labels; empty
	// derives one from Now.
	RunID string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// GoModels are the computations materialized: go models name; nil
	// means BuiltinGoModels.
	GoModels map[string]GoModel
}

// BuildOptions adjusts a Build or Plan.
type BuildOptions struct {
	// FullRefresh rebuilds every selected model from scratch, incremental
	// models included, and reloads seeds.
	FullRefresh bool
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (r *Runner) parallelism() int {
	switch {
	case r.Parallelism > 0:
		return r.Parallelism
	case r.WH.Dialect().Features().InProcess:
		// One at a time: every DuckDB query already runs on all threads,
		// and models side by side add their memory beyond the limit (DuckDB
		// 1.4.5, 10M GA4 events, 1.2 GiB limit: peak RSS 1.82-2.34 GiB over
		// five builds at 4 or 2 at once, 1.76-1.81 GiB over five at 1, in
		// the same 69-82 s).
		return 1
	default:
		return 4 // remote jobs: their latency overlaps
	}
}

var runIDClean = regexp.MustCompile(`[^a-z0-9_-]+`)

func (r *Runner) runID() string {
	if r.RunID != "" {
		return r.RunID
	}
	return r.now().Format("20060102t150405")
}

// execOptions gives a write a deterministic BigQuery job id and labels (see
// jobID and labels). Each step of a model's build has its own step name, so
// no two statements of a run share an id.
func (r *Runner) execOptions(runID, model, version, step string) []any {
	return []any{
		warehouse.WithJobID(r.jobID(runID, model, version, step)),
		warehouse.WithLabels(r.labels(runID, model)),
	}
}

// jobID is sam_<run>_<model>_<version prefix>_<step>: a retried run finds
// the job it already started instead of running the statement twice.
func (r *Runner) jobID(runID, model, version, step string) string {
	if len(version) > 12 {
		version = version[:12]
	}
	id := runIDClean.ReplaceAllString(strings.ToLower(fmt.Sprintf("sam_%s_%s_%s_%s", runID, model, version, step)), "_")
	return id[:min(len(id), 1024)]
}

// labels make a run's jobs easy to find and bill (BigQuery label values:
// lower case, digits, _ and -, at most 63 characters).
func (r *Runner) labels(runID, model string) map[string]string {
	label := func(s string) string {
		s = runIDClean.ReplaceAllString(strings.ToLower(s), "_")
		return s[:min(len(s), 63)]
	}
	return map[string]string{"sam_model": label(model), "sam_run": label(runID)}
}

// Engines report positions in the statement; models and tests start on the
// statement's first line, so these are file lines.
var (
	duckLineRE = regexp.MustCompile(`LINE (\d+):`)
	bqLineRE   = regexp.MustCompile(`at \[(\d+):(\d+)\]`)
)

// withLine prefixes err with the file and, when the engine reports one, the
// line.
func withLine(file string, err error) error {
	msg := err.Error()
	if m := duckLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %w", file, m[1], err)
	}
	if m := bqLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s:%s: %w", file, m[1], m[2], err)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// Action is what a plan does with a model.
type Action string

const (
	ActionSkip        Action = "skip"        // up to date
	ActionBuild       Action = "build"       // full (re)build
	ActionIncremental Action = "incremental" // replace partitions from Since on
)

// PlanItem is one selected model in a Plan.
type PlanItem struct {
	Model        string
	File         string
	Materialized string // view, table, incremental or seed
	Level        int
	Action       Action
	Reasons      []string
	Version      string
	PrevVersion  string
	// Since is the first partition an incremental run replaces.
	Since time.Time
	// Estimate is the dry-run cost on engines that estimate (BigQuery).
	Estimate    warehouse.Estimate
	EstimateErr string
	// EstimateAfter lists the upstream models that do not exist yet: no
	// dry run can read them, so there is no estimate until they are built.
	EstimateAfter []string

	inputs           map[string]string
	definition       string
	sql              string // rendered with the engine's names, for the build
	prevMaterialized string
}

// Plan lists the selected models in build order with what a Build would do.
type Plan struct {
	RunID string
	// Dialect is the engine's dialect name (duckdb, bigquery).
	Dialect string
	Items   []PlanItem
}

// Rebuilds returns the names of the models the plan builds.
func (p *Plan) Rebuilds() []string {
	var out []string
	for _, it := range p.Items {
		if it.Action != ActionSkip {
			out = append(out, it.Model)
		}
	}
	return out
}

// Item returns the plan's entry for model.
func (p *Plan) Item(model string) (PlanItem, bool) {
	for _, it := range p.Items {
		if it.Model == model {
			return it, true
		}
	}
	return PlanItem{}, false
}

// Plan works out what Build would rebuild and why. It reads the state table
// and the sources' fingerprints and, on engines that estimate, dry-runs the
// queries; it writes nothing.
func (r *Runner) Plan(ctx context.Context, sel Selection, opts BuildOptions) (*Plan, error) {
	selected, err := sel.resolve(r.Project)
	if err != nil {
		return nil, err
	}
	var states map[string]State
	plan, err := r.plan(ctx, selected, opts, r.runID(), func(ctx context.Context) (map[string]State, error) {
		var err error
		states, err = LoadState(ctx, r.WH)
		return states, err
	})
	if err != nil {
		return nil, err
	}
	// Upstream models known to exist: those with a state, and those looked
	// up since (a table can exist without SAM's state).
	exists := map[string]bool{}
	for name := range states {
		exists[name] = true
	}
	for i := range plan.Items {
		it := &plan.Items[i]
		if it.Action == ActionSkip || it.Materialized == "seed" {
			continue
		}
		m := r.Project.Models[it.Model]
		if missing := it.missingSources(m); len(missing) > 0 {
			it.EstimateErr = notLoaded(missing)
			continue
		}
		for _, ref := range m.Refs {
			if _, seen := exists[ref]; !seen {
				_, err := r.WH.Describe(ctx, ref)
				// Any other error is the dry run's to report.
				exists[ref] = !errors.Is(err, warehouse.ErrNotFound)
			}
			if !exists[ref] {
				it.EstimateAfter = append(it.EstimateAfter, ref)
			}
		}
		if len(it.EstimateAfter) > 0 {
			continue
		}
		est, err := r.WH.DryRun(ctx, it.sql)
		if err != nil {
			// Information for the plan, not a reason to stop.
			it.EstimateErr = err.Error()
			continue
		}
		it.Estimate = est
	}
	return plan, nil
}

// plan decides every selected model's action from the newest recorded
// builds, which loadStates reads while the sources are fingerprinted: the
// two reads are independent, and a build waits for both.
func (r *Runner) plan(ctx context.Context, selected map[string]bool, opts BuildOptions, runID string, loadStates func(context.Context) (map[string]State, error)) (*Plan, error) {
	p := r.Project
	d := r.WH.Dialect()
	own, err := p.ownHashes(d, r.Vars, r.goModels())
	if err != nil {
		return nil, err
	}
	var (
		states   map[string]State
		stateErr error
		read     = make(chan struct{})
	)
	go func() {
		defer close(read)
		states, stateErr = loadStates(ctx)
	}()
	fingerprints, err := r.sourceFingerprints(ctx)
	<-read
	if stateErr != nil {
		return nil, stateErr
	}
	if err != nil {
		return nil, err
	}
	plan := &Plan{RunID: runID, Dialect: d.Name()}
	version := map[string]string{}  // what a downstream build depends on
	stamp := map[string]string{}    // the data a downstream build reads
	since := map[string]time.Time{} // where incremental models rebuild from
	for _, name := range p.order {
		m := p.Models[name]
		st, built := states[name]
		v, inputs := modelVersion(m, own[name], version, stamp, fingerprints)
		if !selected[name] {
			version[name], stamp[name] = unselectedStamp(m, st, built, v, inputs)
			continue
		}
		var upstream time.Time
		for _, ref := range m.Refs {
			if s := since[ref]; !s.IsZero() && (upstream.IsZero() || s.Before(upstream)) {
				upstream = s
			}
		}
		it, err := r.planItem(ctx, m, st, built, v, own[name], inputs, opts, upstream)
		if err != nil {
			return nil, err
		}
		if it.Action == ActionIncremental {
			since[name] = it.Since
		}
		version[name] = v
		stamp[name] = publishedStamp(m, it, st, v, inputs)
		plan.Items = append(plan.Items, it)
	}
	sort.Slice(plan.Items, func(i, j int) bool {
		a, b := plan.Items[i], plan.Items[j]
		return a.Level < b.Level || a.Level == b.Level && a.Model < b.Model
	})
	return plan, nil
}

// modelVersion hashes a model's own definition with its upstream versions
// and lists the stamps of the data it reads (models and raw tables).
func modelVersion(m *Model, own string, version, stamp, fingerprints map[string]string) (string, map[string]string) {
	parts := []string{own}
	inputs := map[string]string{}
	for _, ref := range m.Refs {
		parts = append(parts, ref+"="+version[ref])
		inputs[ref] = stamp[ref]
	}
	for _, src := range m.SourceRefs {
		s, n, _ := strings.Cut(src, ".")
		t := rawTable(s, n)
		inputs[t] = fingerprints[t]
	}
	return hashParts(parts...), inputs
}

// unselectedStamp is what downstream builds read from a model this run does
// not build: what is there.
func unselectedStamp(m *Model, st State, built bool, v string, inputs map[string]string) (version, stamp string) {
	switch {
	case built && m.Kind == SQLModel && m.Config.Materialized == View:
		return st.Version, State{Version: st.Version, Inputs: inputs}.stamp()
	case built:
		return st.Version, st.stamp()
	default:
		return v, "absent"
	}
}

// publishedStamp is the data downstream builds will read from a planned
// model.
func publishedStamp(m *Model, it PlanItem, st State, v string, inputs map[string]string) string {
	switch {
	case m.Kind == SQLModel && m.Config.Materialized == View:
		// A view shows its current inputs, built now or not.
		return State{Version: v, Inputs: inputs}.stamp()
	case it.Action == ActionSkip:
		// Unchanged: downstream read exactly what was built.
		return st.stamp()
	default:
		return State{Version: v, Inputs: inputs}.stamp()
	}
}

// planItem decides what to do with one selected model, then asks the
// warehouse what the decision needs (the incremental start, whether a
// skipped table still exists) and renders the SQL to run.
// upstream is the earliest partition an incremental model m refs rebuilds
// in this build (zero: none), which m rebuilds too.
func (r *Runner) planItem(ctx context.Context, m *Model, st State, built bool, v, own string, inputs map[string]string, opts BuildOptions, upstream time.Time) (PlanItem, error) {
	it := PlanItem{Model: m.Name, File: m.File, Materialized: string(m.Config.Materialized), Level: m.Level, Version: v, inputs: inputs, definition: own}
	if m.Kind == Seed {
		it.Materialized = "seed"
	}
	if built {
		it.PrevVersion, it.prevMaterialized = st.Version, st.Materialized
	}
	dec := decideRebuild(rebuildInput{
		model: m, materialized: it.Materialized, built: built, prev: st,
		version: v, definition: own, inputs: inputs, fullRefresh: opts.FullRefresh,
		isModel: func(name string) bool { _, ok := r.Project.Models[name]; return ok },
	})
	it.Action, it.Reasons = dec.action, dec.reasons
	if dec.action == ActionIncremental {
		since, ok, err := r.incrementalSince(ctx, m)
		if err != nil {
			return it, err
		}
		if !ok {
			it.Action, it.Reasons = ActionBuild, append(dec.reasons, "table empty or missing")
		} else {
			it.Since = since
			it.Reasons = append(dec.reasons, fmt.Sprintf("lookback %d day(s): partitions from %s", m.Config.Lookback(), since.Format(time.DateOnly)))
			loaded, err := r.earliestLoadedDay(ctx, m, st, built)
			if err != nil {
				return it, err
			}
			if !loaded.IsZero() && loaded.Before(it.Since) {
				it.Since = loaded
				it.Reasons = append(it.Reasons, fmt.Sprintf("days loaded since the last build: from %s", loaded.Format(time.DateOnly)))
			}
			if !upstream.IsZero() && upstream.Before(it.Since) {
				it.Since = upstream
				it.Reasons = append(it.Reasons, fmt.Sprintf("upstream rebuilt from %s", upstream.Format(time.DateOnly)))
			}
		}
	}
	if it.Action == ActionSkip {
		// Someone may have dropped it since; the state alone cannot tell.
		if _, err := r.WH.Describe(ctx, m.Name); errors.Is(err, warehouse.ErrNotFound) {
			it.Action, it.Reasons = ActionBuild, []string{"missing from the warehouse"}
		}
	}
	if it.Action == ActionBuild && buildsInWindows(m.Config, r.WH.Dialect()) {
		days := fmt.Sprintf("%d days", m.Config.FullBuildWindowDays)
		if m.Config.FullBuildWindowDays == 1 {
			days = "1 day"
		}
		it.Reasons = append(it.Reasons, "in windows of "+days+" of its inputs' partitions (full_build_window_days)")
	}
	if it.Action != ActionSkip && m.Kind == SQLModel {
		var err error
		it.sql, err = render(m.File, m.SQL, r.Project.macros, renderEnv{dialect: r.WH.Dialect(), qualify: r.WH.QualifiedName, vars: r.Vars, since: it.Since})
		if err != nil {
			return it, err
		}
	}
	return it, nil
}

// missingSources lists the raw tables m reads that do not exist.
func (it PlanItem) missingSources(m *Model) []string {
	var out []string
	for _, src := range m.SourceRefs {
		s, n, _ := strings.Cut(src, ".")
		if t := rawTable(s, n); it.inputs[t] == absentSource {
			out = append(out, t)
		}
	}
	return out
}

// notLoaded says that the missing source tables do not exist.
func notLoaded(missing []string) string {
	if len(missing) == 1 {
		return "source table " + missing[0] + " does not exist: nothing has loaded it yet"
	}
	return "source tables " + strings.Join(missing, ", ") + " do not exist: nothing has loaded them yet"
}

// rebuildInput is what the rebuild decision depends on, all of it known
// before the warehouse is asked anything beyond the state table.
type rebuildInput struct {
	model        *Model
	materialized string // as planned: view, table, incremental or seed
	built        bool
	prev         State
	version      string
	definition   string
	inputs       map[string]string
	fullRefresh  bool
	isModel      func(name string) bool
}

// rebuildDecision is the plan for one model. ActionIncremental means "replace
// recent partitions if the table has any": the caller asks the warehouse
// where they start.
type rebuildDecision struct {
	action  Action
	reasons []string
}

// decideRebuild is the rebuild rule, in order: a full refresh, a new model or
// a changed materialization rebuild; a changed version rebuilds and says
// whether its SQL, its upstream or the runner changed; tables rebuild and
// incremental models catch up when their inputs hold new data; views and
// seeds are their own definition and rebuild only on a version change.
func decideRebuild(in rebuildInput) rebuildDecision {
	m, st := in.model, in.prev
	switch {
	case in.fullRefresh:
		return rebuildDecision{ActionBuild, []string{"full refresh"}}
	case !in.built:
		return rebuildDecision{ActionBuild, []string{"new"}}
	case st.Materialized != in.materialized:
		return rebuildDecision{ActionBuild, []string{fmt.Sprintf("materialization changed from %s", st.Materialized)}}
	case st.Version != in.version:
		var reasons []string
		if st.Definition != in.definition {
			reasons = append(reasons, "SQL or config changed")
		}
		var upstream []string
		for _, name := range inputsChanged(st.Inputs, in.inputs) {
			if in.isModel(name) {
				upstream = append(upstream, name)
			}
		}
		if len(upstream) > 0 {
			reasons = append(reasons, "upstream changed: "+strings.Join(upstream, ", "))
		}
		if len(reasons) == 0 {
			reasons = []string{"runner version changed"}
		}
		return rebuildDecision{ActionBuild, reasons}
	case m.Config.Materialized != View && m.Kind != Seed:
		diff := inputsChanged(st.Inputs, in.inputs)
		if len(diff) == 0 {
			return rebuildDecision{ActionSkip, []string{"up to date"}}
		}
		reason := "new data in " + strings.Join(diff, ", ")
		if m.Config.Materialized == Table || m.Config.Materialized == Go {
			return rebuildDecision{ActionBuild, []string{reason}}
		}
		return rebuildDecision{ActionIncremental, []string{reason}}
	default:
		return rebuildDecision{ActionSkip, []string{"up to date"}}
	}
}

// inputsChanged names the inputs whose stamps differ.
func inputsChanged(old, cur map[string]string) []string {
	var out []string
	for k, v := range cur {
		if old[k] != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ownHashes hashes each model's own definition: rendered SQL (neutral
// names), config and dialect. Seeds hash their content.
func (p *Project) ownHashes(d warehouse.Dialect, vars Vars, goModels map[string]GoModel) (map[string]string, error) {
	out := make(map[string]string, len(p.Models))
	for _, name := range p.order {
		m := p.Models[name]
		if m.Kind == Seed {
			out[name] = hashParts(versionFormat, "seed", m.seed.hash)
			continue
		}
		sql, err := render(m.File, m.SQL, p.macros, renderEnv{dialect: d, qualify: versionQualify, vars: vars})
		if err != nil {
			return nil, err
		}
		parts := []string{versionFormat, d.Name(), sql, configKey(m.Config)}
		if m.Config.Materialized == Go {
			v, err := goModelVersion(m, goModels, vars)
			if err != nil {
				return nil, err
			}
			parts = append(parts, "go="+v)
		}
		out[name] = hashParts(parts...)
	}
	return out, nil
}

// incrementalSince returns the first partition an incremental run replaces:
// the newest built partition minus lookback_days. ok is false when the table
// has no partitions yet.
// earliestLoadedDay is the earliest day of m's loaded_days source loaded
// since m's last build, or zero. The last build's stamp of the source
// (fingerprint: row count and newest loaded_at, as the engine writes it)
// says what it read; rows stamped later are new.
func (r *Runner) earliestLoadedDay(ctx context.Context, m *Model, st State, built bool) (time.Time, error) {
	ld := m.Config.LoadedDays
	if ld == nil || !built {
		return time.Time{}, nil
	}
	_, seen, ok := strings.Cut(st.Inputs[ld.Source], ":")
	if !ok || seen == "" {
		// No stamp to go by (the source was absent or empty then): the
		// lookback alone, as before loaded_days.
		return time.Time{}, nil
	}
	ts, err := r.WH.Dialect().CastType("TIMESTAMP")
	if err != nil {
		return time.Time{}, err
	}
	q := fmt.Sprintf("SELECT MIN(%s) FROM %s WHERE %s > CAST(? AS %s)", ld.Day, r.WH.QualifiedName(ld.Source), ld.LoadedAt, ts)
	rows, err := r.WH.Query(ctx, q, seen, warehouse.WithLabels(r.labels(r.runID(), m.Name)))
	if err != nil {
		return time.Time{}, fmt.Errorf("model %s: days loaded since its last build: %w", m.Name, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return time.Time{}, fmt.Errorf("model %s: days loaded since its last build: %w", m.Name, err)
	}
	if len(data) == 0 || len(data[0]) == 0 || data[0][0] == nil {
		return time.Time{}, nil
	}
	day, ok := data[0][0].(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("model %s: loaded_days day %s is %T, want a DATE", m.Name, ld.Day, data[0][0])
	}
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC), nil
}

func (r *Runner) incrementalSince(ctx context.Context, m *Model) (time.Time, bool, error) {
	if _, err := r.WH.Describe(ctx, m.Name); errors.Is(err, warehouse.ErrNotFound) {
		return time.Time{}, false, nil
	}
	q := fmt.Sprintf("SELECT MAX(%s) FROM %s", m.Config.PartitionBy, r.WH.QualifiedName(m.Name))
	rows, err := r.WH.Query(ctx, q, warehouse.WithLabels(r.labels(r.runID(), m.Name)))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("model %s: newest partition: %w", m.Name, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("model %s: newest partition: %w", m.Name, err)
	}
	if len(data) == 0 || len(data[0]) == 0 || data[0][0] == nil {
		return time.Time{}, false, nil
	}
	newest, ok := data[0][0].(time.Time)
	if !ok {
		return time.Time{}, false, fmt.Errorf("model %s: partition_by %s is %T, want a DATE", m.Name, m.Config.PartitionBy, data[0][0])
	}
	day := time.Date(newest.Year(), newest.Month(), newest.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -m.Config.Lookback()), true, nil
}

// sourceFingerprints identifies the data in each source table, so tables
// rebuild when their inputs change and not otherwise. Unselected views pass
// their sources' data through, so every source is fingerprinted, not only
// those of the selected models.
func (r *Runner) sourceFingerprints(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, t := range sortedKeys(r.Project.Sources) {
		fp, err := r.fingerprint(ctx, t)
		if err != nil {
			return nil, err
		}
		out[t] = fp
	}
	return out, nil
}

// absentSource is the fingerprint of a source table that does not exist.
const absentSource = "absent"

func (r *Runner) fingerprint(ctx context.Context, table string) (string, error) {
	schema, err := r.WH.Describe(ctx, table)
	if errors.Is(err, warehouse.ErrNotFound) {
		return absentSource, nil
	}
	if err != nil {
		return "", fmt.Errorf("source %s: %w", table, err)
	}
	q := r.WH.QualifiedName(table)
	var sql string
	switch {
	case hasColumn(schema, "loaded_at"):
		// The loaders stamp every row they write, replaced partitions
		// included, so the count and the newest stamp change with any load;
		// reading one column keeps this cheap on both engines.
		sql = fmt.Sprintf("SELECT CONCAT(CAST(COUNT(*) AS STRING), ':', COALESCE(CAST(MAX(loaded_at) AS STRING), '')) FROM %s", q)
	default:
		// Without a load stamp, hash every row: it catches any change,
		// in-place updates too.
		sql = r.WH.Dialect().TableFingerprint(q)
	}
	rows, err := r.WH.Query(ctx, sql, warehouse.WithLabels(r.labels(r.runID(), table)))
	if err != nil {
		return "", fmt.Errorf("source %s: fingerprint: %w", table, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return "", fmt.Errorf("source %s: fingerprint: %w", table, err)
	}
	if len(data) != 1 {
		return "", fmt.Errorf("source %s: fingerprint: the query returned %d rows, want 1", table, len(data))
	}
	return warehouse.Format(data[0][0]), nil
}

func hasColumn(s warehouse.Schema, name string) bool {
	_, ok := s.Column(name)
	return ok
}

// ModelStatus is the outcome of one model in a Build.
type ModelStatus string

const (
	StatusBuilt          ModelStatus = "built"
	StatusSkipped        ModelStatus = "skipped"         // up to date
	StatusFailed         ModelStatus = "failed"          // its SQL failed
	StatusUpstreamFailed ModelStatus = "upstream_failed" // not built: an upstream failed
	StatusNotAttempted   ModelStatus = "not_attempted"   // not built: the warehouse could not be used again
)

// ModelResult is one model's outcome.
type ModelResult struct {
	Model      string
	File       string
	Action     Action
	Status     ModelStatus
	Reasons    []string
	Rows       int64
	Bytes      int64
	Partitions string
	Err        error
	Duration   time.Duration
	// Statements is the part of Duration the model's own query took (its
	// fill, windows and removal of copies); the rest is the runner's
	// bookkeeping: state, counts, the publish.
	Statements time.Duration
}

// BuildReport is the outcome of a Build.
type BuildReport struct {
	RunID    string
	Models   []ModelResult
	Tests    []TestResult
	Duration time.Duration
}

// Warned returns the warn-severity tests that returned rows: the run went
// on, and these are the rows to look at.
func (b *BuildReport) Warned() []TestResult { return warned(b.Tests) }

// Built returns the names of the models the build published.
func (b *BuildReport) Built() []string {
	var out []string
	for _, m := range b.Models {
		if m.Status == StatusBuilt {
			out = append(out, m.Model)
		}
	}
	return out
}

// RunError lists what failed in a Build or Test.
type RunError struct {
	Models []ModelResult
	Tests  []TestResult
	// TestsNotAttempted names the tests Test did not run once the warehouse
	// became unusable; Stopped says why.
	TestsNotAttempted []string
	Stopped           error
}

// Error lists every failure, one per line.
func (e *RunError) Error() string {
	var lines, skipped []string
	var why error
	for _, m := range e.Models {
		switch m.Status {
		case StatusNotAttempted:
			skipped, why = append(skipped, m.Model), m.Err
		case StatusUpstreamFailed:
			lines = append(lines, fmt.Sprintf("model %s: not built: %v", m.Model, m.Err))
		default:
			lines = append(lines, fmt.Sprintf("model %s: %v", m.Model, m.Err))
		}
	}
	for _, t := range e.Tests {
		lines = append(lines, t.String())
	}
	if len(skipped) > 0 {
		// One line: every such model has the same reason.
		lines = append(lines, fmt.Sprintf("not attempted (%v): %s", why, strings.Join(skipped, ", ")))
	}
	if len(e.TestsNotAttempted) > 0 {
		lines = append(lines, fmt.Sprintf("tests not attempted (%v): %s", e.Stopped, strings.Join(e.TestsNotAttempted, ", ")))
	}
	return fmt.Sprintf("transform: %d model(s) and %d test(s) failed:\n%s", len(e.Models)-len(skipped), len(e.Tests), strings.Join(lines, "\n"))
}

// Spares reports whether every failure in e leaves model and what it is
// built from sound: failed models that are neither; failed tests that read
// none of them nor any model built from model (a check of what is built
// from it, such as one that no email is bound for a destination, checks its
// rows too). A model built from it that fails to build (a report of what
// was sent) changes nothing in it. A failure it cannot place spares
// nothing: a model not attempted or a test not run (the warehouse stopped
// answering), a custom test that reads no model.
func (e *RunError) Spares(p *Project, model string) bool {
	if _, ok := p.Models[model]; !ok || e.Stopped != nil || len(e.TestsNotAttempted) > 0 {
		return false
	}
	inputs := map[string]bool{model: true}
	p.walk(model, func(m *Model) []string { return m.Refs }, inputs)
	checked := maps.Clone(inputs)
	p.walk(model, func(m *Model) []string { return p.downstream[m.Name] }, checked)
	for _, m := range e.Models {
		if m.Status == StatusNotAttempted || inputs[m.Model] {
			return false
		}
	}
	for _, t := range e.Tests {
		if checked[t.Model] || (t.Model == "" && len(t.Reads) == 0) || slices.ContainsFunc(t.Reads, func(r string) bool { return checked[r] }) {
			return false
		}
	}
	return true
}

// Unwrap exposes the models' and the tests' errors to errors.Is and
// errors.As.
func (e *RunError) Unwrap() []error {
	var out []error
	for _, m := range e.Models {
		if m.Err != nil {
			out = append(out, m.Err)
		}
	}
	for _, t := range e.Tests {
		if t.Err != nil {
			out = append(out, t.Err)
		}
	}
	if e.Stopped != nil {
		out = append(out, e.Stopped)
	}
	return out
}

// Build brings the selected models up to date: levels in order, models of a
// level in parallel, each model's data tests right after it. A model that
// fails is not published and its downstream models are not built;
// everything else completes. Build returns a *RunError listing failures.
func (r *Runner) Build(ctx context.Context, sel Selection, opts BuildOptions) (*BuildReport, error) {
	start := time.Now()
	selected, err := sel.resolve(r.Project)
	if err != nil {
		return nil, err
	}
	runID := r.runID()
	// One DDL statement per build, so a runner used alone works too.
	if err := systables.New(r.WH).Create(ctx, systables.ModelState(), r.execOptions(runID, "state", "ddl", "create")...); err != nil {
		return nil, fmt.Errorf("creating %s: %w", StateTable, err)
	}
	var states map[string]State
	plan, err := r.plan(ctx, selected, opts, runID, func(ctx context.Context) (map[string]State, error) {
		var err error
		states, err = readState(ctx, r.WH, warehouse.WithLabels(r.labels(runID, "state")))
		return states, err
	})
	if err != nil {
		return nil, err
	}
	run := &buildRun{
		r: r, runID: runID, selected: selected, states: states,
		env:       renderEnv{dialect: r.WH.Dialect(), qualify: r.WH.QualifiedName, vars: r.Vars},
		log:       r.logger().With("run_id", runID),
		report:    &BuildReport{RunID: runID},
		blocked:   map[string]string{},
		attempted: map[string]bool{},
		tests:     r.Project.allTests(),
	}
	run.testDone = make([]bool, len(run.tests))
	byLevel := map[int][]PlanItem{}
	maxLevel := -1
	for _, it := range plan.Items {
		byLevel[it.Level] = append(byLevel[it.Level], it)
		maxLevel = max(maxLevel, it.Level)
	}
	for level := 0; level <= maxLevel; level++ {
		if ctx.Err() != nil {
			// Stop between levels: whatever is published stays consistent.
			run.report.Duration = time.Since(start)
			return run.report, fmt.Errorf("transform: run %s stopped before level %d: %w", runID, level, context.Cause(ctx))
		}
		if err := run.stop.err(); err != nil {
			run.notAttempted(byLevel[level], err)
			continue
		}
		run.level(ctx, level, byLevel[level])
	}
	run.report.Duration = time.Since(start)
	// How much of the build the SQL itself took: on an engine that builds
	// one model at a time, the rest is the runner's (the bench's measure of
	// it on SAM's own models).
	var statements, tests time.Duration
	for _, m := range run.report.Models {
		statements += m.Statements
	}
	for _, t := range run.report.Tests {
		tests += t.Duration
	}
	run.log.Info("build done", "duration", run.report.Duration.Round(time.Millisecond),
		"model_statements", statements.Round(time.Millisecond), "data_tests", tests.Round(time.Millisecond))

	var failed RunError
	for _, m := range run.report.Models {
		if m.Status == StatusFailed || m.Status == StatusUpstreamFailed || m.Status == StatusNotAttempted {
			failed.Models = append(failed.Models, m)
		}
	}
	for _, t := range run.report.Tests {
		if t.Status.blocks() {
			failed.Tests = append(failed.Tests, t)
		}
	}
	if len(failed.Models)+len(failed.Tests) > 0 {
		return run.report, &failed
	}
	return run.report, nil
}

// buildRun is the state of one Build between levels. Only the goroutine
// running Build touches its maps; a level's workers write their own slots.
type buildRun struct {
	r        *Runner
	runID    string
	selected map[string]bool
	states   map[string]State // as the build found them: the models built before
	env      renderEnv
	log      *slog.Logger
	report   *BuildReport

	// blocked holds models whose downstream must not build (failed, not
	// built because of an upstream, or published with failing tests), with
	// the reason.
	blocked   map[string]string
	attempted map[string]bool // built in this run
	tests     []dataTest
	testDone  []bool
	stop      stop
}

// stop holds the first failure after which the warehouse refuses every
// statement (warehouse.ErrUnusable). From then on the build or the test
// stage attempts nothing: each statement would only fail the same way,
// burying the cause under one error per model and test.
type stop struct {
	mu    sync.Mutex
	cause string // "model X" or "test Y"
}

// echo records source as the cause when err is the first error to leave
// the warehouse unusable, and reports whether err only echoes an earlier
// one (the failure is then the warehouse's, not source's).
func (s *stop) echo(source string, err error) bool {
	if !errors.Is(err, warehouse.ErrUnusable) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cause == "" {
		s.cause = source
	}
	return s.cause != source
}

// err is the reason not to attempt anything more, or nil.
func (s *stop) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cause == "" {
		return nil
	}
	return fmt.Errorf("%w after %s failed; what was published before stays", warehouse.ErrUnusable, s.cause)
}

// notAttempted reports the models of items that would have been built as
// not attempted, for err.
func (run *buildRun) notAttempted(items []PlanItem, err error) {
	for _, it := range items {
		res := ModelResult{Model: it.Model, File: it.File, Action: it.Action, Reasons: it.Reasons, Status: StatusNotAttempted, Err: err}
		if it.Action == ActionSkip {
			res.Status, res.Err = StatusSkipped, nil
		} else {
			run.blocked[it.Model] = "was not built"
		}
		run.report.Models = append(run.report.Models, res)
	}
}

// level builds one level's models in parallel, then runs the tests that
// became due.
func (run *buildRun) level(ctx context.Context, level int, items []PlanItem) {
	r := run.r
	results := make([]ModelResult, len(items))
	testResults := make([][]TestResult, len(items))
	ownTests := run.ownTests(level, items)
	pl := pool.New().WithMaxGoroutines(r.parallelism())
	for i, it := range items {
		m := r.Project.Models[it.Model]
		results[i] = ModelResult{Model: it.Model, File: it.File, Action: it.Action, Reasons: it.Reasons}
		if it.Action == ActionSkip {
			results[i].Status = StatusSkipped
			continue
		}
		var bad []string
		for _, ref := range m.Refs {
			if why, ok := run.blocked[ref]; ok {
				bad = append(bad, ref+" "+why)
			}
		}
		if len(bad) > 0 {
			results[i].Status = StatusUpstreamFailed
			results[i].Err = fmt.Errorf("upstream %s", strings.Join(bad, ", "))
			continue
		}
		if missing := it.missingSources(m); len(missing) > 0 {
			// The engine's own error would name the table with a guess at
			// another one; this says what is wrong.
			results[i].Status, results[i].Err = StatusFailed, fmt.Errorf("%s: %s", m.File, notLoaded(missing))
			run.log.Error("model failed", "model", m.Name, "file", m.File, "err", results[i].Err)
			continue
		}
		pl.Go(func() {
			res := &results[i]
			if err := run.stop.err(); err != nil {
				res.Status, res.Err = StatusNotAttempted, err
				return
			}
			t0 := time.Now()
			out, err := r.buildModel(ctx, m, it, run.runID)
			res.Duration, res.Statements = time.Since(t0), out.Statements
			if run.stop.echo("model "+m.Name, err) {
				// Another model or test made the warehouse unusable first;
				// this failure is only its echo.
				res.Status, res.Err = StatusNotAttempted, run.stop.err()
				return
			}
			if err != nil {
				res.Status, res.Err = StatusFailed, err
				run.log.Error("model failed", "model", m.Name, "file", m.File, "err", err)
				return
			}
			res.Status, res.Rows, res.Bytes, res.Partitions = StatusBuilt, out.Rows, out.Bytes, out.Partitions
			run.log.Info("model built", "model", m.Name, "action", it.Action, "rows", out.Rows, "bytes", out.Bytes,
				"partitions", out.Partitions, "duration", res.Duration.Round(time.Millisecond), "statements", out.Statements.Round(time.Millisecond))
			for _, t := range ownTests[m.Name] {
				if tr, ok := r.attemptTest(ctx, run.env, t, run.runID, &run.stop); ok {
					testResults[i] = append(testResults[i], tr)
				}
			}
		})
	}
	pl.Wait()
	for _, res := range results {
		switch res.Status {
		case StatusFailed:
			run.blocked[res.Model] = "failed"
		case StatusUpstreamFailed, StatusNotAttempted:
			run.blocked[res.Model] = "was not built"
		case StatusBuilt:
			run.attempted[res.Model] = true
		}
	}
	run.report.Models = append(run.report.Models, results...)

	var tests []TestResult
	for _, trs := range testResults {
		tests = append(tests, trs...)
	}
	due, _ := r.runTests(ctx, run.env, run.dueTests(level), run.runID, &run.stop)
	tests = append(tests, due...)
	for _, tr := range tests {
		run.report.Tests = append(run.report.Tests, tr)
		if tr.Status.blocks() && tr.Model != "" {
			if _, ok := run.blocked[tr.Model]; !ok {
				run.blocked[tr.Model] = "failed its tests"
			}
		}
	}
}

// ownTests assigns to a model of this level the tests that read it and
// otherwise only settled models: they run right after it, while the rest of
// the level goes on.
func (run *buildRun) ownTests(level int, items []PlanItem) map[string][]dataTest {
	building := map[string]bool{}
	for _, it := range items {
		if it.Action != ActionSkip {
			building[it.Model] = true
		}
	}
	out := map[string][]dataTest{}
	for i, t := range run.tests {
		if run.testDone[i] || !run.settledAfter(t, level) {
			continue
		}
		var here []string
		for _, dep := range t.deps {
			if building[dep] {
				here = append(here, dep)
			}
		}
		if len(here) == 1 {
			out[here[0]] = append(out[here[0]], t)
			run.testDone[i] = true
		}
	}
	return out
}

// dueTests returns the tests not yet run whose models are settled now and
// of which at least one was built in this run, and marks them run.
func (run *buildRun) dueTests(level int) []dataTest {
	var due []dataTest
	for i, t := range run.tests {
		if run.testDone[i] || !run.settledAfter(t, level) {
			continue
		}
		for _, dep := range t.deps {
			if run.attempted[dep] {
				due = append(due, t)
				run.testDone[i] = true
				break
			}
		}
	}
	return due
}

// settledAfter reports whether every model t reads is usable once level is
// done: not blocked, not due in a later level, and built, by this build or
// an earlier one (a test of a model never built waits for it).
func (run *buildRun) settledAfter(t dataTest, level int) bool {
	for _, dep := range t.deps {
		if _, blocked := run.blocked[dep]; blocked {
			return false
		}
		if run.selected[dep] && run.r.Project.Models[dep].Level > level {
			return false
		}
		if _, built := run.states[dep]; !built && !run.selected[dep] {
			return false
		}
	}
	return true
}

// runTests runs tests in parallel until one leaves the warehouse unusable
// (s records it): the tests not started by then are returned by name, not
// run, and a result that only echoes that failure is dropped, so the cause
// is reported once.
func (r *Runner) runTests(ctx context.Context, env renderEnv, tests []dataTest, runID string, s *stop) (ran []TestResult, notAttempted []string) {
	results := make([]TestResult, len(tests))
	attempted := make([]bool, len(tests))
	pl := pool.New().WithMaxGoroutines(r.parallelism())
	for i, t := range tests {
		pl.Go(func() { results[i], attempted[i] = r.attemptTest(ctx, env, t, runID, s) })
	}
	pl.Wait()
	for i, t := range tests {
		if attempted[i] {
			ran = append(ran, results[i])
		} else {
			notAttempted = append(notAttempted, t.name)
		}
	}
	return ran, notAttempted
}

// attemptTest runs t unless s says the warehouse is unusable. It reports
// false, and no result, when t was not run or its failure only echoes the
// one that made the warehouse unusable.
func (r *Runner) attemptTest(ctx context.Context, env renderEnv, t dataTest, runID string, s *stop) (TestResult, bool) {
	if s.err() != nil {
		return TestResult{}, false
	}
	tr := r.runTest(ctx, env, t, runID)
	if s.echo("test "+t.name, tr.Err) {
		return TestResult{}, false
	}
	return tr, true
}

// configKey is the part of the config that shapes the built table. Tests,
// descriptions and lookback_days do not: changing them must not force a
// full rebuild.
func configKey(c Config) string {
	k := fmt.Sprintf("m=%s;p=%s;c=%s;u=%s;", c.Materialized, c.PartitionBy,
		strings.Join(c.ClusterBy, ","), strings.Join(c.UniqueKey, ","))
	// Appended only when set, so the versions of every other model stay.
	if c.IncrementalStrategy == StrategyMerge {
		k += "s=merge;"
	}
	if c.DeduplicateBy != "" {
		k += "d=" + c.DeduplicateBy + ";"
	}
	return k
}
