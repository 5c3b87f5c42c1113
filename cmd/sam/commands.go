package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/internal/logging"
	"github.com/sam-attribution/sam/internal/progress"
	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/report"
	"github.com/sam-attribution/sam/transform"
	"github.com/sam-attribution/sam/warehouse"
)

type env struct {
	args   []string
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env) error
}

func commands() map[string]command {
	return map[string]command{
		"run":       {"run the pipeline: load → transform → test → writeback", cmdRun},
		"load":      {"run only the load stages", cmdLoad},
		"transform": {"build models [--select MODEL+] [--full-refresh]", cmdTransform},
		"plan":      {"show what `sam transform` would rebuild (and, on BigQuery, the bytes)", cmdPlan},
		"compile":   {"render every model: --dialect bigquery|duckdb [--out DIR]", cmdCompile},
		"test":      {"run the data tests", cmdTest},
		"writeback": {"send queued lead events to GA4 [--validate] [--dry-run]", cmdWriteback},
		"checksum":  {"print a row-order-independent checksum of each mart (or of the tables named): [TABLE...]", cmdChecksum},
		"query":     {"run a SQL query: [--format table|csv|json] SQL", cmdQuery},
		"runs":      {"show recent runs from the ledger", cmdRuns},
		"generate":  {"write synthetic GA4 export, CRM and spend files: --out DIR --days N --seed S", cmdGenerate},
		"report":    {"write the HTML report, or its data: [--out FILE] [--model M] [--from YYYY-MM] [--to YYYY-MM] [--format html|json|csv]", cmdReport},
		"schedule":  {"run the pipeline on a cron schedule, one run at a time: CRON", cmdSchedule},
		"config":    {"print the configuration reference (every SAM_ variable)", cmdConfig},
		"version":   {"print the version", cmdVersion},
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sam COMMAND [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%s\n", n, cmds[n].summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nConfiguration comes from SAM_* environment variables; `sam config` lists them.")
}

func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("sam "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func (e *env) parse(fs *flag.FlagSet) error {
	if err := fs.Parse(e.args); err != nil {
		return usageError{err}
	}
	return nil
}

// open reads and validates the configuration, builds the logger and opens
// the warehouse: the order guarantees bad configuration fails before any
// work starts. override adjusts the configuration (flags) before it is
// validated, once.
func (e *env) open(ctx context.Context, override func(*config.Config)) (*jobs.App, error) {
	return e.openFor(ctx, nil, override)
}

// openFor is open for a command that runs stages: the folders they read
// are checked before the warehouse opens.
func (e *env) openFor(ctx context.Context, stages []string, override func(*config.Config)) (*jobs.App, error) {
	cfg, err := config.Read()
	if err != nil {
		return nil, &jobs.ConfigError{Err: err}
	}
	if override != nil {
		override(&cfg)
	}
	// Cloud Run tells each task its share in the environment; it is read
	// here, once.
	task, err := jobs.TaskFromEnv(os.LookupEnv)
	if err != nil {
		return nil, &jobs.ConfigError{Err: fmt.Errorf("config: %w", err)}
	}
	settings, err := jobs.Configure(cfg, task)
	if err != nil {
		return nil, err
	}
	if err := settings.CheckInputs(stages); err != nil {
		return nil, err
	}
	log, err := logging.New(e.stderr, logging.Options{Format: cfg.Log.Format, Level: cfg.Log.Level})
	if err != nil {
		return nil, &jobs.ConfigError{Err: err}
	}
	// Whatever reaches a log passes the redactor: a vendor may echo a
	// token back in its own error text.
	log = slog.New(logging.Redact(log.Handler(), settings.Redact))
	// A person at a terminal sees one live progress line for long stages;
	// JSON logs keep every record.
	if logging.IsTerminal(e.stderr) && cfg.Log.Format != "json" {
		log = slog.New(progress.New(log.Handler(), e.stderr))
	}
	return jobs.NewApp(ctx, settings, log, jobs.AppOptions{Payloads: e.stdout})
}

// withApp opens SAM, runs f and closes it again.
func (e *env) withApp(ctx context.Context, override func(*config.Config), f func(*jobs.App) error) error {
	app, err := e.open(ctx, override)
	if err != nil {
		return err
	}
	defer app.Close()
	return f(app)
}

// runReport prints the summary table of the stages a run reports and
// passes its error on.
func (e *env) runReport(rep jobs.Report, err error) error {
	if rep.RunID != "" {
		printSummary(e.stdout, rep)
	}
	return err
}

func cmdRun(ctx context.Context, e *env) error {
	fs := e.flags("run")
	only := fs.String("stages", "", "comma-separated stages to run (default: all)")
	if err := e.parse(fs); err != nil {
		return err
	}
	stages := splitList(*only)
	app, err := e.openFor(ctx, orAll(stages), nil)
	if err != nil {
		return err
	}
	defer app.Close()
	runErr := e.runReport(app.Run(ctx, "run", stages))
	if n := app.MemoryNote(); n != "" {
		fmt.Fprintln(e.stdout, n)
	}
	if runErr == nil {
		// `sam run` ends with what SAM is for: return per channel, and
		// how much of it reached the algorithms.
		// The headline is the report's: the same sentences, from the same
		// rules, as the top of the page.
		data, err := report.Load(ctx, app.WH, app.Settings.ReportingCurrency)
		switch {
		case errors.Is(err, warehouse.ErrNotFound):
			// A run of the load stages on a new warehouse has no marts to show.
		case err != nil:
			app.Log.Warn("could not read the channel table", "error", err)
		default:
			if err := printChannelTables(e.stdout, data); err != nil {
				app.Log.Warn("could not print the channel table", "error", err)
			} else if err := report.WriteHeadline(e.stdout, data, "last_non_direct"); err != nil {
				app.Log.Warn("could not print the headline", "error", err)
			}
		}
	}
	e.printActivation(ctx, app)
	return runErr
}

// printActivation prints the activation tables when the writeback stage ran
// (also when it failed: they say what is in doubt), unless the run was
// interrupted.
func (e *env) printActivation(ctx context.Context, app *jobs.App) {
	if app.Activation == nil || ctx.Err() != nil {
		// An interrupted run has seconds left before SIGKILL; the stage
		// summary already says what the run sent and what is in doubt.
		return
	}
	if err := printActivationTables(ctx, e.stdout, app.WH, app.Settings.ReportingCurrency); err != nil {
		app.Log.Warn("could not print the activation tables", "error", err)
	}
}

func orAll(stages []string) []string {
	if len(stages) == 0 {
		return jobs.StageNames()
	}
	return stages
}

func cmdLoad(ctx context.Context, e *env) error {
	fs := e.flags("load")
	if err := e.parse(fs); err != nil {
		return err
	}
	stages := []string{jobs.StageLoadGA4, jobs.StageLoadCRM, jobs.StageLoadSpend}
	app, err := e.openFor(ctx, stages, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	return e.runReport(app.Run(ctx, "load", stages))
}

func cmdTransform(ctx context.Context, e *env) error {
	fs := e.flags("transform")
	sel := fs.String("select", "", "models to build: MODEL, MODEL+ (and downstream), +MODEL (and upstream), comma-separated")
	full := fs.Bool("full-refresh", false, "rebuild every selected model from scratch")
	if err := e.parse(fs); err != nil {
		return err
	}
	return e.withApp(ctx, nil, func(app *jobs.App) error { return e.runReport(app.Transform(ctx, *sel, *full)) })
}

func cmdPlan(ctx context.Context, e *env) error {
	fs := e.flags("plan")
	sel := fs.String("select", "", "models to plan (same syntax as transform)")
	full := fs.Bool("full-refresh", false, "plan a full rebuild")
	if err := e.parse(fs); err != nil {
		return err
	}
	return e.withApp(ctx, nil, func(app *jobs.App) error {
		plan, err := app.Plan(ctx, *sel, *full)
		if err != nil {
			return err
		}
		return writePlan(e.stdout, plan)
	})
}

func cmdChecksum(ctx context.Context, e *env) error {
	fs := e.flags("checksum")
	if err := e.parse(fs); err != nil {
		return err
	}
	return e.withApp(ctx, nil, func(app *jobs.App) error {
		sums, err := app.Checksums(ctx, fs.Args())
		if errors.Is(err, warehouse.ErrNotFound) {
			return fmt.Errorf("%w (the marts are built by `sam transform` or `sam run`)", err)
		}
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tROWS\tCHECKSUM")
		for _, c := range sums {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", c.Table, c.Rows, c.Sum)
		}
		return tw.Flush()
	})
}

func cmdCompile(ctx context.Context, e *env) error {
	fs := e.flags("compile")
	dialect := fs.String("dialect", "duckdb", "bigquery or duckdb")
	out := fs.String("out", "", "directory to write NAME.sql files into (default: print)")
	if err := e.parse(fs); err != nil {
		return err
	}
	d, err := jobs.ParseDialect(*dialect)
	if err != nil {
		return usageError{err}
	}
	cfg, err := config.Load()
	if err != nil {
		return &jobs.ConfigError{Err: err}
	}
	return jobs.Compile(cfg, d, *out, e.stdout)
}

func cmdTest(ctx context.Context, e *env) error {
	fs := e.flags("test")
	sel := fs.String("select", "", "models whose tests to run")
	if err := e.parse(fs); err != nil {
		return err
	}
	return e.withApp(ctx, nil, func(app *jobs.App) error {
		err := e.runReport(app.Test(ctx, *sel))
		if errors.Is(err, transform.ErrNothingBuilt) {
			return fmt.Errorf("%w (`sam transform` or `sam run` builds them)", err)
		}
		return err
	})
}

// releasable are the destinations with a crash window (sam writeback
// --release --destination).
var releasable = []string{"ga4", "google_ads", "meta", "linkedin"}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func cmdWriteback(ctx context.Context, e *env) error {
	fs := e.flags("writeback")
	validate := fs.Bool("validate", false, "send to the debug endpoint and fail on any validation message")
	dry := fs.Bool("dry-run", false, "print the payloads; send nothing")
	release := fs.String("release", "", "comma-separated crash-window keys to release for resending, after checking at the destination that they did not arrive")
	destination := fs.String("destination", "ga4", "the destination whose keys --release clears: ga4, google_ads, meta or linkedin")
	if err := e.parse(fs); err != nil {
		return err
	}
	if !slices.Contains(releasable, *destination) {
		return usagef("--destination %q: want one of %s", *destination, strings.Join(releasable, ", "))
	}
	if *release == "" && flagSet(fs, "destination") {
		return usagef("--destination names whose keys --release clears; it goes with --release")
	}
	if *release != "" {
		return e.withApp(ctx, nil, func(app *jobs.App) error {
			keys := splitList(*release)
			if err := app.ReleaseCrashWindow(ctx, *destination, keys); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "released %d %s keys; the next writeback sends them\n", len(keys), *destination)
			return nil
		})
	}
	if *validate && *dry {
		return usagef("--validate and --dry-run exclude each other")
	}
	app, err := e.open(ctx, func(c *config.Config) {
		switch {
		case *validate:
			c.Writeback.Mode = "validate"
		case *dry:
			c.Writeback.Mode = "dry-run"
		}
	})
	if err != nil {
		return err
	}
	defer app.Close()
	err = e.runReport(app.Run(ctx, "writeback", []string{jobs.StageWriteback}))
	if !*dry && !*validate {
		e.printActivation(ctx, app)
	}
	return err
}

func cmdQuery(ctx context.Context, e *env) error {
	fs := e.flags("query")
	format := fs.String("format", "table", "table, csv or json")
	if err := e.parse(fs); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("query needs the SQL text as an argument")
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return usagef("unknown --format %q (want table, csv or json)", *format)
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	rows, err := app.WH.Query(ctx, strings.Join(fs.Args(), " "))
	if err != nil {
		return err
	}
	return writeRows(e.stdout, rows, *format)
}

func writeRows(w io.Writer, rows warehouse.Rows, format string) error {
	defer rows.Close()
	cols := rows.Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(names); err != nil {
			return err
		}
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				return err
			}
			rec := formatValues(v)
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "json":
		enc := json.NewEncoder(w)
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				return err
			}
			obj := make(map[string]any, len(v))
			for i := range v {
				obj[names[i]] = jsonValue(v[i])
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(names, "\t"))
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				return err
			}
			rec := formatValues(v)
			fmt.Fprintln(tw, strings.Join(rec, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return rows.Err()
}

func formatValues(v []any) []string {
	rec := make([]string, len(v))
	for i := range v {
		rec[i] = warehouse.Format(v[i])
	}
	return rec
}

func jsonValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return warehouse.Format(t)
	}
	return v
}

func cmdRuns(ctx context.Context, e *env) error {
	fs := e.flags("runs")
	n := fs.Int("n", 10, "how many runs")
	if err := e.parse(fs); err != nil {
		return err
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	entries, err := jobs.NewLedger(app.WH).Recent(ctx, *n)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(e.stdout, "no runs recorded yet")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tJOB\tSTAGE\tSTATUS\tSTARTED\tDURATION\tROWS\tBYTES BILLED\tERROR")
	for _, en := range entries {
		dur := ""
		if !en.EndedAt.IsZero() {
			dur = en.EndedAt.Sub(en.StartedAt).Round(time.Millisecond).String()
		}
		errText := en.Error
		if len(errText) > 80 {
			errText = errText[:77] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", en.RunID, en.Job, en.Stage, en.Status,
			en.StartedAt.UTC().Format(time.RFC3339), dur, en.Rows, humanBytes(en.BytesBilled), errText)
	}
	return tw.Flush()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func cmdConfig(ctx context.Context, e *env) error {
	if err := e.parse(e.flags("config")); err != nil {
		return err
	}
	return config.Usage(e.stdout)
}

func cmdVersion(ctx context.Context, e *env) error {
	fmt.Fprintf(e.stdout, "sam %s\n", version)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
