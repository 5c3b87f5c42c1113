package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sam-attribution/sam/internal/logging"
	"github.com/sam-attribution/sam/jobs"
	"github.com/sam-attribution/sam/sampledata"
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
	if *days <= 0 || *days > sampledata.MaxDays {
		return usagef("--days must be 1 to %d", sampledata.MaxDays)
	}
	if *perDay < 0 || *perDay > 0 && *perDay < sampledata.MinEventsPerDay {
		return usagef("--events-per-day must be 0 (the generator's default) or at least %d", sampledata.MinEventsPerDay)
	}
	log, err := logging.New(e.stderr, logging.Options{Format: os.Getenv("SAM_LOG_FORMAT"), Level: "info"})
	if err != nil {
		return &jobs.ConfigError{Err: err}
	}
	sum, err := sampledata.Generate(ctx, sampledata.Options{
		OutDir: *out, Days: *days, Seed: *seed, EventsPerDay: *perDay, Gzip: *gz, Logger: log,
		Intraday: *intraday, FirstExport: *firstExport,
	})
	if errors.Is(err, sampledata.ErrNotItsOwn) {
		return usageError{err}
	}
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
