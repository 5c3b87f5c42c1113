package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
	"github.com/sam-attribution/sam/writeback"
)

// Stage names, as the ledger records them.
const (
	StageLoadGA4   = "load_ga4"
	StageLoadCRM   = "load_crm"
	StageLoadSpend = "load_spend"
	StageTransform = "transform"
	StageTest      = "test"
	StageWriteback = "writeback"
)

// ConfigError is a configuration problem found before any work started.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrLocked reports that another run holds the schedule lock.
var ErrLocked = errors.New("another run holds the lock")

// AppOptions adjusts an App.
type AppOptions struct {
	// Stdout receives human-readable results (the run summary table).
	Stdout io.Writer
	// Progress enables progress output for long stages (a person watches).
	Progress bool
}

// App is an opened SAM: configuration, logger, warehouse and models.
type App struct {
	Cfg     config.Config
	Log     *slog.Logger
	WH      warehouse.Warehouse
	Project *transform.Project
	opts    AppOptions
	redact  func(string) string
}

// NewApp validates the models, then opens the warehouse. Model errors (an
// unknown ref, a cycle) fail here, before any load starts.
func NewApp(ctx context.Context, cfg config.Config, log *slog.Logger, opts AppOptions) (*App, error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if _, err := readShard(os.LookupEnv); err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("config: %w", err)}
	}
	project, err := loadProject(cfg)
	if err != nil {
		return nil, err
	}
	wh, err := OpenWarehouse(ctx, cfg.Warehouse, log)
	if err != nil {
		return nil, err
	}
	// SAM's own tables are created and migrated once, here; writes never
	// create them.
	if err := systables.New(wh).Ensure(ctx); err != nil {
		wh.Close()
		return nil, err
	}
	return &App{
		Cfg: cfg, Log: log, WH: wh, Project: project, opts: opts,
		redact: Redactor(cfg.HubSpot.Token.Reveal(), cfg.Salesforce.AccessToken.Reveal(), cfg.Writeback.APISecret.Reveal()),
	}, nil
}

func loadProject(cfg config.Config) (*transform.Project, error) {
	if cfg.Transform.ModelsDir != "" {
		if st, err := os.Stat(cfg.Transform.ModelsDir); err != nil || !st.IsDir() {
			return nil, &ConfigError{Err: fmt.Errorf("config: SAM_MODELS_DIR=%q is not a directory", cfg.Transform.ModelsDir)}
		}
	}
	fsys := transform.ProjectFS(sqlmodels.FS, cfg.Transform.ModelsDir)
	p, err := transform.LoadProject(fsys)
	if err != nil {
		return nil, fmt.Errorf("load models: %w", err)
	}
	return p, nil
}

// Close releases the warehouse.
func (a *App) Close() error { return a.WH.Close() }

// Vars are the configuration values models read with {{ var "..." }}.
func Vars(cfg config.Config) transform.Vars {
	return transform.Vars{
		"attribution_window_days":   cfg.Attribution.WindowDays,
		"time_decay_half_life_days": cfg.Attribution.TimeDecayHalfLife,
		"reporting_currency":        cfg.Spend.ReportingCurrency,
		"ga4_lookback_days":         cfg.GA4.LookbackDays,
	}
}

func (a *App) runner(runID string) *transform.Runner {
	return &transform.Runner{
		WH:          a.WH,
		Project:     a.Project,
		Vars:        Vars(a.Cfg),
		Parallelism: a.Cfg.Transform.Parallelism,
		Logger:      a.Log,
		RunID:       runID,
	}
}

// Run runs the named stages (all when empty) as one ledger run.
func (a *App) Run(ctx context.Context, job string, only []string) error {
	stages, err := a.stages(only)
	if err != nil {
		return &ConfigError{Err: err}
	}
	runID := NewRunID(time.Now())
	p := &Pipeline{Ledger: NewLedger(a.WH), Stages: stages, Logger: a.Log, Redact: a.redact}
	a.Log.Info("run started", "run_id", runID, "job", job, "engine", a.Cfg.Warehouse.Engine, "stages", stageNames(stages))
	rep, err := p.Run(ctx, job, runID)
	a.printSummary(rep)
	if err == nil && job == "run" {
		if perr := a.printChannelTables(ctx); perr != nil {
			a.Log.Warn("could not print the channel table", "error", perr)
		}
	}
	return err
}

// LoadStageNames lists the load stages.
func (a *App) LoadStageNames() []string {
	return []string{StageLoadGA4, StageLoadCRM, StageLoadSpend}
}

func (a *App) stages(only []string) ([]Stage, error) {
	all := []Stage{
		{Name: StageLoadGA4, Func: a.loadGA4},
		{Name: StageLoadCRM, Func: a.loadCRM},
		{Name: StageLoadSpend, Func: a.loadSpend},
		{Name: StageTransform, Func: a.transformStage},
		{Name: StageTest, Func: a.testStage},
		{Name: StageWriteback, Func: a.writebackStage},
	}
	if len(only) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, s := range only {
		want[s] = true
	}
	var out []Stage
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for s := range want {
			unknown = append(unknown, s)
		}
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown stage(s) %s (stages: %s)", strings.Join(unknown, ", "), strings.Join(stageNames(all), ", "))
	}
	return out, nil
}

func stageNames(st []Stage) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Name
	}
	return out
}

// prepareSources creates the tables models read that no loader writes: the
// writeback send log exists before the first event is sent, because
// writeback_queue excludes what it already holds.
func (a *App) prepareSources(ctx context.Context) error {
	if err := writeback.EnsureSendLog(ctx, a.WH); err != nil {
		return fmt.Errorf("prepare the writeback send log: %w", err)
	}
	return nil
}

func (a *App) transformStage(ctx context.Context, run *Run) (StageResult, error) {
	if err := a.prepareSources(ctx); err != nil {
		return StageResult{}, err
	}
	rep, err := a.runner(run.ID).Build(ctx, transform.Selection{}, transform.BuildOptions{})
	return transformResult(rep), err
}

func (a *App) testStage(ctx context.Context, run *Run) (StageResult, error) {
	rep, err := a.runner(run.ID).Test(ctx, transform.Selection{})
	return testResult(rep), err
}

// Transform builds the selected models as a ledger run of one stage.
func (a *App) Transform(ctx context.Context, sel string, fullRefresh bool) error {
	selection, err := transform.ParseSelection(sel)
	if err != nil {
		return &ConfigError{Err: err}
	}
	stage := Stage{Name: StageTransform, Func: func(ctx context.Context, run *Run) (StageResult, error) {
		if err := a.prepareSources(ctx); err != nil {
			return StageResult{}, err
		}
		rep, err := a.runner(run.ID).Build(ctx, selection, transform.BuildOptions{FullRefresh: fullRefresh})
		return transformResult(rep), err
	}}
	p := &Pipeline{Ledger: NewLedger(a.WH), Stages: []Stage{stage}, Logger: a.Log, Redact: a.redact}
	rep, err := p.Run(ctx, "transform", NewRunID(time.Now()))
	a.printSummary(rep)
	return err
}

// Test runs the data tests as a ledger run of one stage.
func (a *App) Test(ctx context.Context, sel string) error {
	selection, err := transform.ParseSelection(sel)
	if err != nil {
		return &ConfigError{Err: err}
	}
	stage := Stage{Name: StageTest, Func: func(ctx context.Context, run *Run) (StageResult, error) {
		rep, err := a.runner(run.ID).Test(ctx, selection)
		return testResult(rep), err
	}}
	p := &Pipeline{Ledger: NewLedger(a.WH), Stages: []Stage{stage}, Logger: a.Log, Redact: a.redact}
	rep, err := p.Run(ctx, "test", NewRunID(time.Now()))
	a.printSummary(rep)
	return err
}

// Plan prints what a transform would rebuild.
func (a *App) Plan(ctx context.Context, w io.Writer, sel string, fullRefresh bool) error {
	selection, err := transform.ParseSelection(sel)
	if err != nil {
		return &ConfigError{Err: err}
	}
	plan, err := a.runner("plan").Plan(ctx, selection, transform.BuildOptions{FullRefresh: fullRefresh})
	if err != nil {
		return err
	}
	return WritePlan(w, plan)
}

// ParseDialect returns the dialect of the engine named s (duckdb, bigquery),
// for rendering SQL without opening a warehouse.
func ParseDialect(s string) (warehouse.Dialect, error) {
	for _, d := range []warehouse.Dialect{duckdb.Dialect{}, bigquery.Dialect{}} {
		if d.Name() == s {
			return d, nil
		}
	}
	return nil, fmt.Errorf("unknown dialect %q (want duckdb or bigquery)", s)
}

// Compile renders every model in dialect d, into outDir (NAME.sql) or w.
func Compile(cfg config.Config, d warehouse.Dialect, outDir string, w io.Writer) error {
	p, err := loadProject(cfg)
	if err != nil {
		return err
	}
	project := cfg.Warehouse.Project
	if project == "" {
		project = "your-project"
	}
	qualify := func(t string) string { return d.QualifiedName(project, cfg.Warehouse.Dataset, t) }
	rendered, err := p.Compile(d, qualify, Vars(cfg))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	if outDir == "" {
		for _, n := range names {
			fmt.Fprintf(w, "-- %s\n%s\n\n", n, strings.TrimSpace(rendered[n]))
		}
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(outDir, n+".sql"), []byte(rendered[n]), 0o644); err != nil {
			return fmt.Errorf("compile: %w", err)
		}
	}
	fmt.Fprintf(w, "wrote %d models to %s\n", len(names), outDir)
	return nil
}

var _ fs.FS = sqlmodels.FS
