// Package crm owns loading CRM data into SAM's raw CRM tables: the Source
// interface every CRM client implements, and Sync, the engine that streams a
// source's records into raw_crm__leads, raw_crm__deals,
// raw_crm__deal_contacts and raw_crm__stage_history in bounded batches,
// sends bad records to load_rejects, and commits a per-stream cursor only
// after the batch it covers is durable.
//
// The sources live in subpackages: hubspot (CRM v3 objects and v4
// associations), salesforce (REST queryAll) and file (CSV/NDJSON export).
// They share the record vocabulary in crm/record. This package imports
// config, loaders, warehouse and its own subpackages; nothing imports it but
// jobs and cmd.
//
// Use from a job:
//
//	src, err := crm.NewSource(cfg, httpClient, logger)
//	...
//	counts, err := crm.Sync(ctx, wh, src, crm.Options{RunID: runID, Logger: logger})
//
// Sync creates the raw tables when absent (all four, whatever the source, so
// the staging models always have their inputs), and overlaps reading with
// writing: the source fetches the next page while the previous batch loads,
// holding at most two batches besides the one being read.
//
// Every raw row is one version of a record (source_system, is_deleted,
// modified_at, loaded_at, run_id and the mapped fields). Sync is
// at-least-once: a crash between a batch's load and its cursor commit
// re-reads that batch on the next run, and an overlap window re-reads
// records modified just before the cursor; staging keeps the latest version
// per id, so repeats are harmless.
package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/loaders/crm/file"
	"github.com/sam-attribution/sam/loaders/crm/hubspot"
	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/loaders/crm/salesforce"
	"github.com/sam-attribution/sam/warehouse"
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

// Options tune one Sync.
type Options struct {
	RunID  string
	Logger *slog.Logger
	// Cursors defaults to loaders.NewCursors(wh).
	Cursors CursorStore
	// Streams restricts the sync to these streams; empty syncs all.
	Streams []string
}

// NewSource returns the source cfg.CRM.Source selects. httpClient carries
// timeouts and transport settings for the API sources; nil uses a client
// with a 60 s timeout.
func NewSource(cfg config.Config, httpClient *http.Client, logger *slog.Logger) (Source, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	switch cfg.CRM.Source {
	case "file":
		return file.New(cfg.CRM, logger)
	case "hubspot":
		return hubspot.NewSource(cfg.HubSpot, cfg.CRM, hubspot.Options{HTTPClient: httpClient, Logger: logger, UserIDProperty: cfg.HubSpot.UserIDProperty})
	case "salesforce":
		// Single-currency orgs have no CurrencyIsoCode field: their amounts
		// are in the reporting currency.
		return salesforce.NewSource(cfg.Salesforce, cfg.CRM, salesforce.Options{
			HTTPClient: httpClient, Logger: logger, DefaultCurrency: cfg.Spend.ReportingCurrency,
			CurrencyField: cfg.Salesforce.CurrencyField, UserIDField: cfg.Salesforce.UserIDField,
		})
	}
	return nil, fmt.Errorf("crm: unknown source %q (SAM_CRM_SOURCE wants file, hubspot or salesforce)", cfg.CRM.Source)
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
	streams := opts.Streams
	if len(streams) == 0 {
		streams = src.Streams()
	}
	var total loaders.Counts
	if err := ensureTables(ctx, wh); err != nil {
		return total, err
	}
	for _, stream := range streams {
		c, err := syncStream(ctx, wh, src, stream, cursors, opts.RunID, log)
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
func syncStream(ctx context.Context, wh warehouse.Warehouse, src Source, stream string, cursors CursorStore, runID string, log *slog.Logger) (loaders.Counts, error) {
	sys := src.System()
	var counts loaders.Counts
	cur, err := cursors.Get(ctx, sys, stream)
	if err != nil {
		return counts, fmt.Errorf("crm %s/%s: %w", sys, stream, err)
	}
	log.Info("crm sync start", "source", sys, "stream", stream, "cursor", cur)
	start := time.Now()

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
	readErr := src.Read(ctx, stream, cur, emit)
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
		Rejects:      append([]loaders.Reject(nil), b.Rejects...),
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
	{loaders.RejectsTable, loaders.RejectsSchema},
}

func ensureTables(ctx context.Context, wh warehouse.Warehouse) error {
	for _, t := range rawTables {
		_, err := wh.Describe(ctx, t.name)
		if err == nil {
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
	if err := loaders.WriteRejects(ctx, wh, runID, b.Rejects); err != nil {
		return c, err
	}
	// A snapshot association is part of its deal's record, not a record
	// read on its own; everything else is one source record per row.
	c.Loaded = int64(len(b.Leads) + len(b.Deals) + len(b.Stages))
	for i := range b.DealContacts {
		if !b.DealContacts[i].Snapshot {
			c.Loaded++
		}
	}
	c.Rejected = int64(len(b.Rejects))
	c.Read = c.Loaded + c.Rejected
	return c, nil
}
