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
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sam-attribution/sam/activation"
	"github.com/sam-attribution/sam/internal/config"
	sqlmodels "github.com/sam-attribution/sam/sql"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/duckdb"
	"github.com/sam-attribution/sam/warehouse/systables"
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
var ErrLocked = errors.New("another run holds the schedule lock")

// AppOptions adjusts an App.
type AppOptions struct {
	// Payloads receives what dry-run writeback would send, one JSON object
	// per line; nil logs them instead.
	Payloads io.Writer
}

// App is an opened SAM: settings, logger, warehouse, models and the
// pipeline that runs stages over them.
type App struct {
	Settings *Settings
	Log      *slog.Logger
	WH       warehouse.Warehouse
	Project  *transform.Project
	// Activation is the last writeback stage's report, for the CLI's
	// activation table; nil until the stage ran.
	Activation *activation.Report
	opts       AppOptions
	pipeline   *Pipeline
}

// NewApp validates the models, then opens the warehouse. Model errors (an
// unknown ref, a cycle) fail here, before any load starts. s comes from
// Configure.
func NewApp(ctx context.Context, s *Settings, log *slog.Logger, opts AppOptions) (*App, error) {
	project, err := loadProject(s.ModelsDir)
	if err != nil {
		return nil, err
	}
	if err := checkChannelGroup(project, s.Vars); err != nil {
		return nil, &ConfigError{Err: err}
	}
	wh, err := OpenWarehouse(ctx, s.Warehouse, log)
	if err != nil {
		return nil, err
	}
	if err := checkExportDatasets(ctx, wh, s); err != nil {
		wh.Close()
		return nil, err
	}
	// SAM's own tables are created and migrated once, here; writes never
	// create them.
	if err := systables.New(wh).Ensure(ctx); err != nil {
		wh.Close()
		return nil, err
	}
	return &App{
		Settings: s, Log: log, WH: wh, Project: project, opts: opts,
		pipeline: &Pipeline{Ledger: NewLedger(wh), Logger: log, Redact: s.Redact, Advise: advise(wh)},
	}, nil
}

// readableDatasets is what an engine that reads other datasets checks of
// them (BigQuery: existence and location).
type readableDatasets interface {
	CheckReadableDataset(ctx context.Context, project, dataset string) error
}

// checkExportDatasets checks, before any work, the GA4 export datasets
// the BigQuery loader will read: one in another location than SAM's jobs
// would fail the load with BigQuery's "Not found".
func checkExportDatasets(ctx context.Context, wh warehouse.Warehouse, s *Settings) error {
	rd, ok := wh.(readableDatasets)
	if !ok || s.Warehouse.Engine != "bigquery" {
		return nil
	}
	for _, ds := range append([]string{s.GA4.ExportDataset}, s.GA4.ExportDatasets...) {
		if ds == "" {
			continue
		}
		if err := rd.CheckReadableDataset(ctx, s.GA4.ExportProject, ds); err != nil {
			return &ConfigError{Err: &config.VarError{Var: "GA4_EXPORT_DATASET", Value: ds, Reason: err.Error()}}
		}
	}
	return nil
}

func loadProject(modelsDir string) (*transform.Project, error) {
	if modelsDir != "" {
		if st, err := os.Stat(modelsDir); err != nil || !st.IsDir() {
			return nil, &ConfigError{Err: fmt.Errorf("config: SAM_MODELS_DIR=%q is not a directory", modelsDir)}
		}
	}
	fsys := transform.ProjectFS(sqlmodels.FS, modelsDir)
	p, err := transform.LoadProject(fsys)
	if errors.Is(err, transform.ErrNoModels) && modelsDir != "" {
		return nil, &ConfigError{Err: fmt.Errorf("config: SAM_MODELS_DIR=%q: %w", modelsDir, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("load models: %w", err)
	}
	return p, nil
}

// checkChannelGroup makes sure the channel group the models will classify
// sessions and spend by has rules in the project's channel_groups seed,
// which SAM_MODELS_DIR may replace: the models cannot build without them.
func checkChannelGroup(p *transform.Project, vars transform.Vars) error {
	group, _ := vars["channel_group"].(string)
	rows, ok := p.SeedRows("channel_groups")
	if !ok {
		return nil // a project of its own, without SAM's channel grouping
	}
	var groups []string
	for _, r := range rows {
		if r["channel_group"] == group {
			return nil
		}
		if !slices.Contains(groups, r["channel_group"]) {
			groups = append(groups, r["channel_group"])
		}
	}
	slices.Sort(groups)
	return fmt.Errorf("config: SAM_CHANNEL_GROUP=%q: seeds/channel_groups.csv has no rules for it; its groups are %s", group, strings.Join(groups, ", "))
}

// Close releases the warehouse.
func (a *App) Close() error { return a.WH.Close() }

// Vars are the configuration values models read with {{ var "..." }}.
func Vars(cfg config.Config) transform.Vars {
	group := cfg.Transform.ChannelGroup
	if group == "" {
		group = "default"
	}
	return transform.Vars{
		"attribution_window_days":   cfg.Attribution.WindowDays,
		"time_decay_half_life_days": cfg.Attribution.TimeDecayHalfLife,
		"prediction_maturity_days":  cfg.Attribution.PredictionMaturityDays,
		"prediction_prior_strength": cfg.Attribution.PredictionPriorStrength,
		"reporting_currency":        cfg.Spend.ReportingCurrency,
		"ga4_lookback_days":         cfg.GA4.LookbackDays,
		"markov_order":              cfg.Attribution.MarkovOrder,
		"path_transform":            cfg.Attribution.PathTransform,
		"min_path_journeys":         cfg.Attribution.MinPathJourneys,
		"markov_grain":              cfg.Attribution.MarkovGrain,
		"channel_group":             group,
	}
}

func (a *App) runner(runID string) *transform.Runner {
	return &transform.Runner{
		WH:          a.WH,
		Project:     a.Project,
		Vars:        a.Settings.Vars,
		Parallelism: a.Settings.Parallelism,
		Logger:      a.Log,
		RunID:       runID,
	}
}

// Run runs the named stages (all when empty) as one ledger run and reports
// each stage's outcome.
func (a *App) Run(ctx context.Context, job string, only []string) (Report, error) {
	stages, err := a.stages(only)
	if err != nil {
		return Report{}, &ConfigError{Err: err}
	}
	return a.run(ctx, job, stages)
}

func (a *App) run(ctx context.Context, job string, stages []Stage) (Report, error) {
	runID := NewRunID(time.Now())
	a.Log.Info("run started", "run_id", runID, "job", job, "engine", a.Settings.Warehouse.Engine, "stages", stageNames(stages))
	return a.pipeline.Run(ctx, job, runID, stages)
}

// selection parses sel and checks it against the project: a selection that
// names an unknown model is a usage error, refused before a run starts.
func (a *App) selection(sel string) (transform.Selection, error) {
	selection, err := transform.ParseSelection(sel)
	if err == nil {
		err = selection.Check(a.Project)
	}
	if err != nil {
		return transform.Selection{}, &ConfigError{Err: err}
	}
	return selection, nil
}

// Transform builds the selected models as a ledger run of one stage.
func (a *App) Transform(ctx context.Context, sel string, fullRefresh bool) (Report, error) {
	selection, err := a.selection(sel)
	if err != nil {
		return Report{}, err
	}
	return a.run(ctx, "transform", []Stage{{Name: StageTransform, Func: a.transformStage(selection, fullRefresh, nil)}})
}

// Test runs the data tests as a ledger run of one stage.
func (a *App) Test(ctx context.Context, sel string) (Report, error) {
	selection, err := a.selection(sel)
	if err != nil {
		return Report{}, err
	}
	return a.run(ctx, "test", []Stage{{Name: StageTest, Func: a.testStage(selection, nil)}})
}

// Plan returns what a transform would rebuild.
func (a *App) Plan(ctx context.Context, sel string, fullRefresh bool) (*transform.Plan, error) {
	selection, err := a.selection(sel)
	if err != nil {
		return nil, err
	}
	return a.runner("plan").Plan(ctx, selection, transform.BuildOptions{FullRefresh: fullRefresh})
}

// Checksums digests the named tables (every mart when none are named), in
// order: an incremental build and a full refresh of the same inputs must
// agree on them.
func (a *App) Checksums(ctx context.Context, tables []string) ([]transform.TableChecksum, error) {
	if len(tables) == 0 {
		tables = a.Project.MartNames()
	}
	out := make([]transform.TableChecksum, 0, len(tables))
	for _, t := range tables {
		if _, err := a.WH.Describe(ctx, t); errors.Is(err, warehouse.ErrNotFound) {
			return nil, fmt.Errorf("checksum %s: %s is not built: %w", t, t, err)
		}
		c, err := transform.Checksum(ctx, a.WH, t)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
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
	p, err := loadProject(cfg.Transform.ModelsDir)
	if err != nil {
		return err
	}
	vars := Vars(cfg)
	if err := checkChannelGroup(p, vars); err != nil {
		return &ConfigError{Err: err}
	}
	project := cfg.Warehouse.Project
	if project == "" {
		project = "your-project"
	}
	qualify := func(t string) string { return d.QualifiedName(project, cfg.Warehouse.Dataset, t) }
	rendered, err := p.Compile(d, qualify, vars)
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
