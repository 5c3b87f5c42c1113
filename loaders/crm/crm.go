// Package crm owns loading CRM data into SAM's raw CRM tables: the Source
// interface every CRM client implements, and Sync, the engine that streams a
// source's records into raw_crm__leads, raw_crm__deals,
// raw_crm__deal_contacts, raw_crm__stage_history, raw_crm__touches,
// raw_crm__accounts, raw_crm__account_links and raw_crm__merges in bounded
// batches, sends bad records to load_rejects, and commits a per-stream
// cursor only after the batch it covers is durable.
//
// The sources live in subpackages: hubspot (CRM v3 objects and v4
// associations), salesforce (REST queryAll) and file (CSV/NDJSON export).
// They share the record vocabulary in crm/record. This package imports
// internal/option, loaders, warehouse, warehouse/systables and its own
// subpackages; nothing
// imports it but jobs and cmd.
//
// Use from a job:
//
//	src, err := crm.NewSource(crm.SourceOptions{Source: "file", File: file.Options{Dir: dir}}, httpClient, logger)
//	...
//	counts, err := crm.Sync(ctx, wh, src, crm.Options{RunID: runID, Logger: logger})
//
// Sync creates the raw tables when absent (all of them, whatever the source, so
// the staging models always have their inputs), and overlaps reading with
// writing: the source fetches the next page while the previous batch loads,
// holding at most two batches besides the one being read.
//
// Every raw row is one version of a record (source_system, is_deleted,
// modified_at, loaded_at, run_id, version_hash and the mapped fields). Sync is
// at-least-once: a crash between a batch's load and its cursor commit
// re-reads that batch on the next run, and an overlap window re-reads
// records modified just before the cursor; staging keeps the latest version
// per id, so repeats are harmless. A source whose CRM changes links without
// a new version (HubSpot associations) implements LinkRefresher: Sync hands
// it the links loaded (LinkLog) and it writes again only what changed.
package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// Source streams one CRM's records. Each stream (contacts, deals, Lead, ...)
// has its own cursor, an opaque string the source alone interprets.
type Source interface {
	// System names the CRM in source_system and in cursor keys.
	System() string
	// Streams lists the streams Sync reads, in order.
	Streams() []string
	// Read streams records modified since cursor ("" = everything) and calls
	// emit with each batch, in order, waiting for it to return before
	// reading on. A batch's Cursor is the resume point once the batch and
	// all before it are durable. The batch is only valid during emit.
	Read(ctx context.Context, stream, cursor string, emit func(context.Context, *record.Batch) error) error
}

// CursorStore keeps sync cursors. *loaders.Cursors implements it.
type CursorStore interface {
	Get(ctx context.Context, source, object string) (string, error)
	Save(ctx context.Context, source, object, cursor string) error
}

// RowLog keeps the rows loaded from each stream of a source that
// recognises its rows by content (see RowSkipper): each row's record and
// content hash. NewRowLog keeps them in the warehouse.
type RowLog interface {
	// Loaded returns what was recorded for source/object.
	Loaded(ctx context.Context, source, object string) (*record.LoadedRows, error)
	// Record adds the rows of the run runID that are now durable.
	Record(ctx context.Context, source, object, runID string, loaded []record.SourceRow) error
}

// RowSkipper is a Source whose rows carry no change marker SAM can trust
// (an export file rewritten by hand): it skips the rows whose record was
// last loaded with the same content, and names the rows it loads in
// Batch.SourceRows. A watermark alone would skip a row fixed in place, or
// every row after one dated 2099.
type RowSkipper interface {
	// ReadSkipping is Source.Read given the rows already loaded; loaded
	// is called at most once, and only when there is something to read.
	ReadSkipping(ctx context.Context, stream, cursor string, loaded func(context.Context) (*record.LoadedRows, error), emit func(context.Context, *record.Batch) error) error
}

// Options tune one Sync.
type Options struct {
	RunID  string
	Logger *slog.Logger
	// Cursors defaults to loaders.NewCursors(wh).
	Cursors CursorStore
	// RowLog defaults to NewRowLog(wh); only a RowSkipper uses it.
	RowLog RowLog
	// Links defaults to NewLinkLog(wh); only a LinkRefresher uses it.
	Links LinkLog
	// Streams restricts the sync to these streams; empty syncs all.
	Streams []string
	// Select, when set, picks the streams to sync from Streams (or the
	// source's list): a parallel task's share. An empty pick syncs none,
	// though the raw tables are still created.
	Select func(streams []string) []string
	// ProgressEvery is how often a stream's sync logs how far it got, as
	// batches are written (default 10 s): a first sync of a large CRM reads
	// for minutes at the API's rate.
	ProgressEvery time.Duration
}

// Source kinds SourceOptions.Source selects.
const (
	SourceFile       = "file"
	SourceHubSpot    = "hubspot"
	SourceSalesforce = "salesforce"
)

// SourceOptions choose a source and configure it; only the chosen source's
// options are read.
type SourceOptions struct {
	Source     string
	File       file.Options
	HubSpot    hubspot.Options
	Salesforce salesforce.Options
}

// Validate checks the chosen source's options. Errors from a source's
// Validate keep their option.FieldError.
func (o SourceOptions) Validate() error {
	switch o.Source {
	case SourceFile:
		return o.File.Validate()
	case SourceHubSpot:
		return o.HubSpot.Validate()
	case SourceSalesforce:
		return o.Salesforce.Validate()
	}
	return fmt.Errorf("crm: %w", option.Invalid("Source", o.Source, "is not one of %s, %s, %s", SourceFile, SourceHubSpot, SourceSalesforce))
}

// NewSource returns the source o.Source selects. httpClient carries
// timeouts and transport settings for the API sources (nil uses a client
// with a 60 s timeout); it and logger replace the ones in the source's
// options.
func NewSource(o SourceOptions, httpClient *http.Client, logger *slog.Logger) (Source, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	switch o.Source {
	case SourceHubSpot:
		o.HubSpot.HTTPClient, o.HubSpot.Logger = httpClient, logger
		return hubspot.NewSource(o.HubSpot)
	case SourceSalesforce:
		o.Salesforce.HTTPClient, o.Salesforce.Logger = httpClient, logger
		return salesforce.NewSource(o.Salesforce)
	}
	o.File.Logger = logger
	return file.New(o.File)
}

// Sync reads every stream of src from its saved cursor and writes the
// records to the raw CRM tables. It returns the counts so far even on error;
// Read always equals Loaded + Rejected.
func Sync(ctx context.Context, wh warehouse.Warehouse, src Source, opts Options) (loaders.Counts, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cursors := opts.Cursors
	if cursors == nil {
		cursors = loaders.NewCursors(wh)
	}
	rowLog := opts.RowLog
	if rowLog == nil {
		rowLog = NewRowLog(wh)
	}
	links := opts.Links
	if links == nil {
		links = NewLinkLog(wh)
	}
	streams := opts.Streams
	if len(streams) == 0 {
		streams = src.Streams()
	}
	if opts.Select != nil {
		streams = opts.Select(streams)
	}
	every := opts.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	var total loaders.Counts
	if err := ensureTables(ctx, wh); err != nil {
		return total, err
	}
	for _, stream := range streams {
		c, err := syncStream(ctx, wh, src, stream, cursors, rowLog, links, opts.RunID, log, every)
		total.Add(c)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// syncStream reads one stream and writes its batches. Reading and writing
// overlap: the source fetches the next page while the previous batch loads
// (a BigQuery load takes seconds, an API page a fraction of that), with at
// most one finished batch waiting, so memory stays bounded. Batches are
// written, and their cursors saved, strictly in order.
func syncStream(ctx context.Context, wh warehouse.Warehouse, src Source, stream string, cursors CursorStore, rowLog RowLog, links LinkLog, runID string, log *slog.Logger, progressEvery time.Duration) (loaders.Counts, error) {
	sys := src.System()
	var counts loaders.Counts
	cur, err := cursors.Get(ctx, sys, stream)
	if err != nil {
		return counts, fmt.Errorf("crm %s/%s: %w", sys, stream, err)
	}
	log.Info("crm sync start", "source", sys, "stream", stream, "cursor", cur)
	start := time.Now()
	lastProgress := start

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan *record.Batch, 1)
	written := make(chan struct{})
	var writeErr error // owned by the writer until written is closed
	batches := 0
	go func() {
		defer close(written)
		for b := range queue {
			if writeErr != nil || ctx.Err() != nil {
				continue // drain; the reader is being stopped
			}
			c, err := writeBatch(ctx, wh, sys, stream, runID, b)
			counts.Add(c)
			if err == nil && len(b.SourceRows) > 0 {
				// After the rows (a crash in between reloads them: harmless)
				// and before the cursor.
				err = rowLog.Record(ctx, sys, stream, runID, b.SourceRows)
			}
			if err == nil && b.Cursor != "" {
				// Only now is the batch durable, so only now may the cursor move.
				err = cursors.Save(ctx, sys, stream, b.Cursor)
			}
			if err != nil {
				writeErr = err
				cancel(err)
				continue
			}
			batches++
			log.Debug("crm batch", "source", sys, "stream", stream, "records", b.Len(), "cursor", b.Cursor)
			if time.Since(lastProgress) >= progressEvery {
				lastProgress = time.Now()
				log.Info("crm sync progress", "source", sys, "stream", stream, "batches", batches,
					"read", counts.Read, "loaded", counts.Loaded, "rejected", counts.Rejected, "elapsed", time.Since(start).Round(time.Second))
			}
		}
	}()
	emit := func(ctx context.Context, b *record.Batch) error {
		// The source reuses its batch once emit returns; the writer gets a copy.
		cp := clone(b)
		select {
		case queue <- cp:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	var readErr error
	switch src := src.(type) {
	case RowSkipper:
		loaded := func(ctx context.Context) (*record.LoadedRows, error) { return rowLog.Loaded(ctx, sys, stream) }
		readErr = src.ReadSkipping(ctx, stream, cur, loaded, emit)
	case LinkRefresher:
		loaded := func(ctx context.Context, object string) (map[string][]string, error) {
			return links.Loaded(ctx, sys, object)
		}
		readErr = src.ReadRefreshing(ctx, stream, cur, loaded, emit)
	default:
		readErr = src.Read(ctx, stream, cur, emit)
	}
	close(queue)
	<-written
	switch {
	case writeErr != nil:
		return counts, fmt.Errorf("crm %s/%s after %d batches: %w", sys, stream, batches, writeErr)
	case readErr != nil:
		return counts, fmt.Errorf("crm %s/%s after %d batches: %w", sys, stream, batches, readErr)
	case ctx.Err() != nil:
		return counts, fmt.Errorf("crm %s/%s after %d batches: %w", sys, stream, batches, context.Cause(ctx))
	}
	log.Info("crm sync done", "source", sys, "stream", stream, "batches", batches,
		"read", counts.Read, "loaded", counts.Loaded, "rejected", counts.Rejected, "elapsed", time.Since(start).Round(time.Millisecond))
	return counts, nil
}

func clone(b *record.Batch) *record.Batch {
	return &record.Batch{
		Leads:        append([]record.Lead(nil), b.Leads...),
		Deals:        append([]record.Deal(nil), b.Deals...),
		DealContacts: append([]record.DealContact(nil), b.DealContacts...),
		Stages:       append([]record.StageChange(nil), b.Stages...),
		Touches:      append([]record.Touch(nil), b.Touches...),
		Accounts:     append([]record.Account(nil), b.Accounts...),
		AccountLinks: append([]record.AccountLink(nil), b.AccountLinks...),
		Merges:       append([]record.Merge(nil), b.Merges...),
		Rejects:      append([]loaders.Reject(nil), b.Rejects...),
		SourceRows:   append([]record.SourceRow(nil), b.SourceRows...),
		Cursor:       b.Cursor,
	}
}

// rawTables are the tables Sync writes; the staging models read all four
// whatever the source, so each exists even when a source never fills it
// (the file source has no stage history).
var rawTables = []struct {
	name   string
	schema warehouse.Schema
}{
	{record.LeadsTable, record.LeadsSchema},
	{record.DealsTable, record.DealsSchema},
	{record.DealContactsTable, record.DealContactsSchema},
	{record.StageHistoryTable, record.StageHistorySchema},
	{record.TouchesTable, record.TouchesSchema},
	{record.AccountsTable, record.AccountsSchema},
	{record.AccountLinksTable, record.AccountLinksSchema},
	{record.MergesTable, record.MergesSchema},
	{loaders.RejectsTable, loaders.RejectsSchema},
	{systables.RowHashesTable, systables.RowHashes().Schema},
}

// AddNewTables creates, empty, the raw CRM tables a warehouse lacks when it
// has loaded a CRM before, and adds the columns its tables lack: what a
// later SAM adds (raw_crm__merges, version_hash), which the staging models
// read before the next CRM load would add it. A warehouse that never loaded
// a CRM is left as it is: its models say so.
func AddNewTables(ctx context.Context, wh warehouse.Warehouse) error {
	if _, err := wh.Describe(ctx, record.LeadsTable); errors.Is(err, warehouse.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("crm: describe %s: %w", record.LeadsTable, err)
	}
	return ensureTables(ctx, wh)
}

func ensureTables(ctx context.Context, wh warehouse.Warehouse) error {
	for _, t := range rawTables {
		have, err := wh.Describe(ctx, t.name)
		if err == nil {
			if err := addColumns(ctx, wh, t.name, have, t.schema); err != nil {
				return err
			}
			continue
		}
		if !errors.Is(err, warehouse.ErrNotFound) {
			return fmt.Errorf("crm: describe %s: %w", t.name, err)
		}
		if _, err := wh.Load(ctx, warehouse.LoadRequest{Table: t.name, Schema: t.schema, Mode: warehouse.Append, Rows: warehouse.NewSliceRows(nil)}); err != nil {
			return fmt.Errorf("crm: create %s: %w", t.name, err)
		}
	}
	return nil
}

// addColumns adds to a table created by an earlier SAM the columns of want
// it lacks (version_hash); its rows keep NULL there.
func addColumns(ctx context.Context, wh warehouse.Warehouse, table string, have, want warehouse.Schema) error {
	for _, c := range want.Columns {
		if slices.ContainsFunc(have.Columns, func(h warehouse.Column) bool { return h.Name == c.Name }) {
			continue
		}
		ddl, err := wh.Dialect().AddColumn(wh.QualifiedName(table), c)
		if err != nil {
			return fmt.Errorf("crm: add %s to %s: %w", c.Name, table, err)
		}
		if _, err := wh.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("crm: add %s to %s: %w", c.Name, table, err)
		}
	}
	return nil
}

// writeBatch appends a batch's rows to the raw tables and its rejects to
// load_rejects.
func writeBatch(ctx context.Context, wh warehouse.Warehouse, sys, stream, runID string, b *record.Batch) (loaders.Counts, error) {
	var c loaders.Counts
	meta := record.Meta{System: sys, LoadedAt: time.Now().UTC(), RunID: runID}
	load := func(table string, schema warehouse.Schema, rows [][]any) error {
		if len(rows) == 0 {
			return nil
		}
		res, err := wh.Load(ctx, warehouse.LoadRequest{Table: table, Schema: schema, Mode: warehouse.Append, Rows: warehouse.NewSliceRows(rows)})
		if err != nil {
			return fmt.Errorf("load %d rows into %s: %w", len(rows), table, err)
		}
		c.Bytes += res.Bytes
		return nil
	}
	rows := make([][]any, 0, max(len(b.Leads), len(b.Deals), len(b.DealContacts), len(b.Stages)))
	for i := range b.Leads {
		rows = append(rows, b.Leads[i].Row(meta))
	}
	if err := load(record.LeadsTable, record.LeadsSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.Deals {
		rows = append(rows, b.Deals[i].Row(meta))
	}
	if err := load(record.DealsTable, record.DealsSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.DealContacts {
		rows = append(rows, b.DealContacts[i].Row(meta))
	}
	if err := load(record.DealContactsTable, record.DealContactsSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.Stages {
		rows = append(rows, b.Stages[i].Row(meta))
	}
	if err := load(record.StageHistoryTable, record.StageHistorySchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.Touches {
		rows = append(rows, b.Touches[i].Row(meta))
	}
	if err := load(record.TouchesTable, record.TouchesSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.Accounts {
		rows = append(rows, b.Accounts[i].Row(meta))
	}
	if err := load(record.AccountsTable, record.AccountsSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.AccountLinks {
		rows = append(rows, b.AccountLinks[i].Row(meta))
	}
	if err := load(record.AccountLinksTable, record.AccountLinksSchema, rows); err != nil {
		return c, err
	}
	rows = rows[:0]
	for i := range b.Merges {
		rows = append(rows, b.Merges[i].Row(meta))
	}
	if err := load(record.MergesTable, record.MergesSchema, rows); err != nil {
		return c, err
	}
	if err := loaders.WriteRejects(ctx, wh, runID, b.Rejects); err != nil {
		return c, err
	}
	// A snapshot association is part of its deal's record, not a record
	// read on its own, an account link is part of its account's, lead's or
	// deal's record, and a merge of the record it was merged into;
	// everything else is one source record per row.
	c.Loaded = int64(len(b.Leads) + len(b.Deals) + len(b.Stages) + len(b.Touches) + len(b.Accounts))
	for i := range b.DealContacts {
		if !b.DealContacts[i].Snapshot {
			c.Loaded++
		}
	}
	c.Rejected = int64(len(b.Rejects))
	c.Read = c.Loaded + c.Rejected
	return c, nil
}
