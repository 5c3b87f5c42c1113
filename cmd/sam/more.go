package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sam-attribution/sam/internal/logging"
	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/report"
	"github.com/sam-attribution/sam/sampledata"
	"github.com/sam-attribution/sam/scheduler"
)

func cmdGenerate(ctx context.Context, e *env) error {
	fs := e.flags("generate")
	out := fs.String("out", "./data", "directory to write ga4/, crm/, spend/ and fx_rates.csv into")
	days := fs.Int("days", 60, "days of GA4 export to generate")
	seed := fs.Int64("seed", 42, "random seed (same seed, same files)")
	perDay := fs.Int("events-per-day", 0, "GA4 events per day (0: the generator's default)")
	gz := fs.Bool("gzip", false, "gzip the GA4 export files")
	intraday := fs.Bool("intraday", false, "also write events_intraday_YYYYMMDD for the last day")
	firstExport := fs.Bool("first-export", false, "write each day as GA4 first exports it, without the events that arrive late")
	if err := e.parse(fs); err != nil {
		return err
	}
	if *days <= 0 {
		return usagef("--days must be positive")
	}
	if *perDay < 0 {
		return usagef("--events-per-day must not be negative")
	}
	log, err := logging.New(e.stderr, logging.Options{Format: os.Getenv("SAM_LOG_FORMAT"), Level: "info"})
	if err != nil {
		return &jobs.ConfigError{Err: err}
	}
	sum, err := sampledata.Generate(ctx, sampledata.Options{
		OutDir: *out, Days: *days, Seed: *seed, EventsPerDay: *perDay, Gzip: *gz, Logger: log,
		Intraday: *intraday, FirstExport: *firstExport,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "generated %s to %s in %s: %d GA4 events (%d sessions, %d users, %d cookieless, %d duplicates, %d late), %d form submissions, %d leads (%d bots), %d deals (%d won), %d spend rows, %d bad CRM rows planted, %d files, %.1f MB\n",
		sum.Start.Format("2006-01-02"), sum.End.Format("2006-01-02"), *out,
		sum.Events, sum.Sessions, sum.Users, sum.CookielessEvents, sum.DuplicateEvents, sum.LateEvents,
		sum.LeadEvents, sum.Leads, sum.BotLeads, sum.Deals, sum.WonDeals, sum.SpendRows, sum.BadCRMRows,
		len(sum.Files), float64(sum.BytesWritten)/1e6)
	return nil
}

func cmdReport(ctx context.Context, e *env) error {
	fs := e.flags("report")
	out := fs.String("out", "report.html", "HTML file to write")
	model := fs.String("model", "last_non_direct", "attribution model of the headline charts")
	if err := e.parse(fs); err != nil {
		return err
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	path, err := writeReport(ctx, app, *out, *model)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "report written to %s\n", path)
	return nil
}

func writeReport(ctx context.Context, app *jobs.App, out, model string) (string, error) {
	data, err := report.Load(ctx, app.WH, app.Cfg.ReportingCurrency)
	if err != nil {
		return "", err
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := report.Render(f, data, report.Options{FocusModel: model}); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("write report: %w", err)
	}
	abs, _ := filepath.Abs(out)
	return abs, nil
}

func cmdSchedule(ctx context.Context, e *env) error {
	fs := e.flags("schedule")
	tz := fs.String("tz", "UTC", "time zone of the cron expression")
	ttl := fs.Duration("lock-ttl", 10*time.Minute, "lease of the run lock; a dead holder frees it after this long")
	if err := e.parse(fs); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef(`schedule needs one cron expression, e.g. sam schedule "0 6 * * *"`)
	}
	sched, err := scheduler.ParseCron(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usagef("--tz: %v", err)
	}
	if *ttl < 30*time.Second {
		return usagef("--lock-ttl must be at least 30s")
	}
	app, err := e.open(ctx, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	host, _ := os.Hostname()
	loop := &scheduler.Loop{
		Schedule: sched,
		Location: loc,
		Lock:     &scheduler.Lock{WH: app.WH, Name: "sam-run", Holder: fmt.Sprintf("%s-%d", host, os.Getpid()), TTL: *ttl},
		Work:     func(ctx context.Context) error { return app.Run(ctx, "schedule", nil) },
		Logger:   app.Log,
	}
	err = loop.Serve(ctx)
	if errors.Is(err, context.Canceled) {
		app.Log.Info("schedule stopped")
		return nil
	}
	return err
}
