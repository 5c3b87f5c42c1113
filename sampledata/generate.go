// Package sampledata owns SAM's sample-data generator: a GA4 BigQuery
// export (events_YYYYMMDD NDJSON, optionally gzipped, with the dirt real
// exports carry), the matching CRM export (leads.csv, deals.csv,
// accounts.csv and offline_touches.csv, with the account story of
// accounts.go), ad spend CSVs and daily FX rates. Output is deterministic
// by seed: the same options give byte-identical files.
//
// The default data plants a scenario the end-to-end tests assert: Paid
// Social has the lowest cost per lead and the worst return; Paid Search
// costs more per lead and has the best return; most Display leads are bots.
// See scenario.go for the numbers.
//
// This package imports only the standard library.
package sampledata

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configures one generation.
type Options struct {
	// OutDir receives ga4/, crm/, spend/ and fx_rates.csv.
	OutDir string
	// Days is the number of export days (default 30).
	Days int
	// Seed makes the output reproducible.
	Seed int64
	// EventsPerDay is the target number of GA4 events on a weekday
	// (default 2000; weekends get about 60 %).
	EventsPerDay int
	// Gzip writes ga4/*.json.gz instead of .json.
	Gzip bool
	// End is the last export day (default: yesterday, UTC).
	End time.Time
	// Intraday also writes events_intraday_YYYYMMDD for the last day (its
	// events before 18:00 UTC), as the streaming export leaves it before
	// the daily table completes. A loader must prefer the daily table.
	Intraday bool
	// FirstExport writes each daily table as GA4 first exports it: without
	// the events that arrive late (about 0.5 %, marked by an
	// event_server_timestamp_offset of more than a day). Generating again
	// without it produces the re-export with those events added, which is
	// how tests model GA4 rewriting a daily table for up to 72 hours.
	FirstExport bool
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// ProgressEvery is how often a long generation logs the days written
	// (default 10 s): a year of 10M events takes a minute and a half.
	ProgressEvery time.Duration
}

// Summary reports what Generate wrote.
type Summary struct {
	Start, End time.Time
	// Events counts rows written to the daily tables, duplicates included.
	Events           int64
	Sessions         int64
	Users            int64
	CookielessEvents int64
	DuplicateEvents  int64
	// LateEvents counts late-arriving events (left out when FirstExport).
	LateEvents   int64
	LeadEvents   int64
	Leads        int64
	BotLeads     int64
	Deals        int64
	WonDeals     int64
	BadCRMRows   int64
	SpendRows    int64
	Files        []string
	BytesWritten int64
}

func (o *Options) defaults() error {
	if o.OutDir == "" {
		return errors.New("sampledata: OutDir is required")
	}
	if o.Days == 0 {
		o.Days = 30
	}
	if o.Days < 0 || o.Days > MaxDays {
		return fmt.Errorf("sampledata: Days %d out of range 1..%d", o.Days, MaxDays)
	}
	if o.EventsPerDay == 0 {
		o.EventsPerDay = 2000
	}
	if o.EventsPerDay < MinEventsPerDay {
		return fmt.Errorf("sampledata: EventsPerDay %d is below %d", o.EventsPerDay, MinEventsPerDay)
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().AddDate(0, 0, -1)
	}
	o.End = day(o.End)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	return nil
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Bounds of Options.Days and Options.EventsPerDay (when set).
const (
	MaxDays         = 3660
	MinEventsPerDay = 50
)

// ErrNotItsOwn is the refusal to generate into a folder whose input
// folders (ga4/, crm/, spend/, fx_rates.csv) hold a file an earlier
// Generate did not write.
var ErrNotItsOwn = errors.New("sampledata: the output folder holds input files sam generate did not write")

// manifestName is the file in the output folder that lists, one relative
// path a line, the files the last Generate wrote there.
const manifestName = ".sam-sample-files"

// Generate writes the sample data set and reports what it wrote. The output
// folder is where SAM's loaders read by default, so a file there that an
// earlier Generate did not write (a real CRM export) is never overwritten:
// Generate refuses and writes nothing. The files an earlier Generate wrote
// are removed first, so no day of an earlier set stays beside the new one.
func Generate(ctx context.Context, opts Options) (Summary, error) {
	if err := opts.defaults(); err != nil {
		return Summary{}, err
	}
	if err := removePrevious(opts.OutDir); err != nil {
		return Summary{}, err
	}
	g := newGenerator(opts)
	err := g.run(ctx)
	// Closed and listed even when generation stopped part-way, so that the
	// next Generate knows the files as its own.
	err = errors.Join(err, g.closeAll())
	return g.sum, errors.Join(err, writeManifest(opts.OutDir, g.sum.Files))
}

// writeManifest lists the files written, with their stamps, in out.
func writeManifest(out string, files []string) error {
	var manifest strings.Builder
	for _, rel := range files {
		st, err := os.Stat(filepath.Join(out, rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sampledata: %w", err)
		}
		fmt.Fprintf(&manifest, "%s\t%s\n", rel, fileStamp(st))
	}
	if err := os.WriteFile(filepath.Join(out, manifestName), []byte(manifest.String()), 0o644); err != nil {
		return fmt.Errorf("sampledata: %w", err)
	}
	return nil
}

// fileStamp identifies a file's version by size and modification time: a
// file replaced after Generate wrote it has another.
func fileStamp(st fs.FileInfo) string {
	return fmt.Sprintf("%d %d", st.Size(), st.ModTime().UnixNano())
}

// removePrevious removes the files the last Generate wrote into out, after
// making sure its input folders hold no other file, nor one of its own
// since replaced.
func removePrevious(out string) error {
	own := map[string]string{} // relative path: stamp
	b, err := os.ReadFile(filepath.Join(out, manifestName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sampledata: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rel, stamp, ok := strings.Cut(line, "\t"); ok {
			own[filepath.Clean(rel)] = stamp
		}
	}
	var foreign []string
	for _, input := range []string{"ga4", "crm", "spend", "fx_rates.csv"} {
		err := filepath.WalkDir(filepath.Join(out, input), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(out, path)
			if err != nil {
				return err
			}
			st, err := d.Info()
			if err != nil {
				return err
			}
			if own[rel] != fileStamp(st) {
				foreign = append(foreign, rel)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sampledata: %w", err)
		}
	}
	if len(foreign) > 0 {
		more := ""
		if len(foreign) > 3 {
			foreign, more = foreign[:3], fmt.Sprintf(" and %d more", len(foreign)-3)
		}
		return fmt.Errorf("%w: %s%s in %s; generate into another folder, or move them", ErrNotItsOwn, strings.Join(foreign, ", "), more, out)
	}
	for rel := range own {
		if err := os.Remove(filepath.Join(out, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sampledata: %w", err)
		}
	}
	return nil
}

// outFile is one output file: buffered, optionally gzipped, counted.
type outFile struct {
	path string
	f    *os.File
	gz   *gzip.Writer
	bw   *bufio.Writer
	n    *countWriter
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func createFile(path string, gz bool) (*outFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sampledata: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("sampledata: %w", err)
	}
	o := &outFile{path: path, f: f, n: &countWriter{w: f}}
	var w io.Writer = o.n
	if gz {
		// Speed over ratio: the generator must stream millions of events.
		o.gz, _ = gzip.NewWriterLevel(o.n, gzip.BestSpeed)
		w = o.gz
	}
	o.bw = bufio.NewWriterSize(w, 256<<10)
	return o, nil
}

func (o *outFile) Write(p []byte) (int, error) { return o.bw.Write(p) }

func (o *outFile) Close() error {
	err := o.bw.Flush()
	if o.gz != nil {
		if e := o.gz.Close(); err == nil {
			err = e
		}
	}
	if e := o.f.Close(); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("sampledata: write %s: %w", o.path, err)
	}
	return nil
}

// generator holds the state of one run. State that spans days (returning
// visitors, lead counters, the CRM writers) is bounded by the visitors still
// due to return, not by the size of the data set.
type generator struct {
	opts  Options
	rng   *rand.Rand
	start time.Time
	sum   Summary

	pending   map[int][]*visitor // day index → visitors returning that day
	counters  map[string]int     // per-channel new-visitor counters (lead quotas)
	outcomes  map[string]int     // per-quality lead counters (outcome quotas)
	nextLead  int
	nextDeal  int
	story     accountStory
	nextUser  int
	bundleSeq int64
	// produced counts events generated (each once, late ones included),
	// so the day's volume, and with it the random stream, does not depend
	// on FirstExport.
	produced int64

	leads, deals *outFile
	leadsCSV     *csvWriter
	dealsCSV     *csvWriter
	spendFile    *outFile
	spendMonth   string
	spendCSV     *csvWriter
	open         []*outFile

	// per-day output
	daily, intraday *outFile
	intradayCut     int64
	spend           map[spendKey]float64
	line            []byte
	schemaSwitch    int // first day index whose events carry session_traffic_source_last_click
	lastProgress    time.Time
}

func newGenerator(opts Options) *generator {
	return &generator{
		opts:         opts,
		rng:          rand.New(rand.NewPCG(uint64(opts.Seed), 0x5a17_da7a)),
		start:        opts.End.AddDate(0, 0, -(opts.Days - 1)),
		pending:      map[int][]*visitor{},
		counters:     map[string]int{},
		outcomes:     map[string]int{},
		line:         make([]byte, 0, 4096),
		schemaSwitch: opts.Days / 3,
		lastProgress: time.Now(),
	}
}

func (g *generator) create(rel string, gz bool) (*outFile, error) {
	f, err := createFile(filepath.Join(g.opts.OutDir, rel), gz)
	if err != nil {
		return nil, err
	}
	g.open = append(g.open, f)
	g.sum.Files = append(g.sum.Files, rel)
	return f, nil
}

func (g *generator) closeFile(f *outFile) error {
	for i, o := range g.open {
		if o == f {
			g.open = append(g.open[:i], g.open[i+1:]...)
			break
		}
	}
	err := f.Close()
	g.sum.BytesWritten += f.n.n
	return err
}

func (g *generator) closeAll() error {
	var first error
	for len(g.open) > 0 {
		if err := g.closeFile(g.open[0]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (g *generator) run(ctx context.Context) error {
	g.sum.Start, g.sum.End = g.start, g.opts.End
	var err error
	if g.leads, err = g.create("crm/leads.csv", false); err != nil {
		return err
	}
	if g.deals, err = g.create("crm/deals.csv", false); err != nil {
		return err
	}
	g.leadsCSV = newCSV(g.leads)
	g.dealsCSV = newCSV(g.deals)
	g.leadsCSV.row(leadHeader...)
	g.dealsCSV.row(dealHeader...)
	for d := 0; d < g.opts.Days; d++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := g.genDay(d); err != nil {
			return err
		}
	}
	if err := g.writeAccounts(); err != nil {
		return fmt.Errorf("sampledata: write accounts: %w", err)
	}
	if err := g.writeOfflineTouches(); err != nil {
		return fmt.Errorf("sampledata: write offline touches: %w", err)
	}
	if err := g.leadsCSV.err(); err != nil {
		return fmt.Errorf("sampledata: write leads: %w", err)
	}
	if err := g.dealsCSV.err(); err != nil {
		return fmt.Errorf("sampledata: write deals: %w", err)
	}
	if g.spendFile != nil {
		if err := g.closeFile(g.spendFile); err != nil {
			return err
		}
	}
	return g.writeFX()
}

func (g *generator) genDay(d int) error {
	date := g.start.AddDate(0, 0, d)
	ext := ".json"
	if g.opts.Gzip {
		ext = ".json.gz"
	}
	var err error
	if g.daily, err = g.create("ga4/events_"+date.Format("20060102")+ext, g.opts.Gzip); err != nil {
		return err
	}
	g.intraday = nil
	if g.opts.Intraday && d == g.opts.Days-1 {
		if g.intraday, err = g.create("ga4/events_intraday_"+date.Format("20060102")+ext, g.opts.Gzip); err != nil {
			return err
		}
		g.intradayCut = date.Add(18 * time.Hour).UnixMicro()
	}
	g.spend = map[spendKey]float64{}
	before := g.sum.Events
	if err := g.simulateDay(d, date); err != nil {
		return err
	}
	if err := g.flushSpend(date); err != nil {
		return err
	}
	if err := g.closeFile(g.daily); err != nil {
		return err
	}
	if g.intraday != nil {
		if err := g.closeFile(g.intraday); err != nil {
			return err
		}
	}
	g.opts.Logger.Debug("generated GA4 day", "date", date.Format(time.DateOnly), "events", g.sum.Events-before)
	if time.Since(g.lastProgress) >= g.opts.ProgressEvery {
		g.lastProgress = time.Now()
		g.opts.Logger.Info("generating sample data", "days_written", d+1, "days", g.opts.Days, "events", g.sum.Events)
	}
	return nil
}
