package ga4

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/loaders"
	"github.com/sam-attribution/sam/warehouse"
)

// Options configure a GA4 loader.
type Options struct {
	// ExportProject and ExportDataset locate the BigQuery export
	// (BigQueryLoader); an empty ExportProject means SAM's own project.
	ExportProject string
	ExportDataset string
	// ExportDir holds the export files (FileLoader), or one sub-folder of
	// them per GA4 property named by the property id.
	ExportDir string
	// ExportDirs are further export folders, one per property (named by
	// the folder) or holding property sub-folders (FileLoader).
	ExportDirs []string
	// ExportDatasets are further export datasets, one per property
	// (BigQueryLoader); analytics_<property id> gives the property id.
	ExportDatasets []string
	// LookbackDays are the days before the last loaded day that are
	// reloaded, since GA4 rewrites daily tables for up to 72 hours. The
	// FileLoader reloads only those whose files changed since their load.
	LookbackDays int
	// StartDate (YYYY-MM-DD) is the first day loaded into an empty
	// warehouse; empty loads everything present.
	StartDate string
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	var err error
	switch {
	case o.LookbackDays < 0:
		err = option.Invalid("LookbackDays", fmt.Sprint(o.LookbackDays), "is negative")
	case o.ExportDataset != "" && !warehouse.ValidIdentifier(o.ExportDataset):
		err = option.Invalid("ExportDataset", o.ExportDataset, "is not a dataset name")
	case o.ExportProject != "" && !warehouse.ValidProjectID(o.ExportProject):
		err = option.Invalid("ExportProject", o.ExportProject, "is not a project id")
	}
	for _, ds := range o.ExportDatasets {
		if err == nil && !warehouse.ValidIdentifier(ds) {
			err = option.Invalid("ExportDatasets", ds, "is not a dataset name")
		}
	}
	if err == nil && len(o.ExportDatasets) > 0 {
		// Several datasets are tagged with the property their name carries;
		// checked here so that a caller refuses them before any work.
		_, err = exportSources(o.exportDatasets())
	}
	if err == nil && o.StartDate != "" {
		if _, perr := time.Parse(time.DateOnly, o.StartDate); perr != nil {
			err = option.Invalid("StartDate", o.StartDate, "is not a date YYYY-MM-DD")
		}
	}
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	return nil
}

// exportDirs lists the export folders.
func (o Options) exportDirs() []string {
	var out []string
	if o.ExportDir != "" {
		out = append(out, o.ExportDir)
	}
	return append(out, o.ExportDirs...)
}

// exportDatasets lists the export datasets.
func (o Options) exportDatasets() []string {
	var out []string
	if o.ExportDataset != "" {
		out = append(out, o.ExportDataset)
	}
	return append(out, o.ExportDatasets...)
}

// Loader loads the GA4 export into raw_ga4__events. runID tags rejects and
// job ids so a run's work can be traced and retried.
type Loader interface {
	Load(ctx context.Context, runID string) (Result, error)
}

// Result reports one load.
type Result struct {
	// Counts: Read = Loaded + Rejected over the lines read (file loader) or
	// rows copied (BigQuery loader).
	Counts loaders.Counts
	// Days are the export days whose partitions were replaced.
	Days []time.Time
	// Tables are the export tables read, e.g. events_20240101.
	Tables []string
	// Skipped lists the export files that were not loaded, with the
	// reason: misnamed, named for a future day, a second copy of a table,
	// or damaged (which also has a row in load_rejects). Each was logged
	// as a warning.
	Skipped []SkippedFile
	// BytesProcessed is what BigQuery billed for the copy (0 for files).
	BytesProcessed int64
	JobID          string
}

// loadedDays reads which export days raw_ga4__events holds and from which
// table, so a rerun knows what is new and where an intraday table was
// loaded for a day whose daily table has since arrived.
//
// On BigQuery a GROUP BY over the whole table would bill a scan of every
// row on every run, so the days come from INFORMATION_SCHEMA.PARTITIONS
// (metadata) and only the recent partitions, where intraday tables can
// still be waiting for their daily table, are read.
func loadedDays(ctx context.Context, wh warehouse.Warehouse) (map[time.Time]string, error) {
	schema, err := wh.Describe(ctx, RawTable)
	if err != nil {
		if errors.Is(err, warehouse.ErrNotFound) {
			return map[time.Time]string{}, nil
		}
		return nil, fmt.Errorf("ga4: describe %s: %w", RawTable, err)
	}
	if err := addPropertyColumn(ctx, wh, schema); err != nil {
		return nil, err
	}
	out := map[time.Time]string{}
	where := ""
	if pq := wh.Dialect().PartitionIDsQuery(wh.QualifiedName(RawTable)); pq != "" {
		var newest time.Time
		if err := partitionDays(ctx, wh, pq, func(d time.Time) {
			out[d] = "events_" + d.Format("20060102")
			if d.After(newest) {
				newest = d
			}
		}); err != nil {
			return nil, err
		}
		if len(out) == 0 {
			return out, nil
		}
		where = " WHERE export_date >= " + wh.Dialect().DateLiteral(newest.AddDate(0, 0, -recentDays))
	}
	// MIN picks events_YYYYMMDD over events_intraday_YYYYMMDD should both
	// ever be present for one day.
	q := fmt.Sprintf("SELECT export_date, MIN(export_table) FROM %s%s GROUP BY export_date", wh.QualifiedName(RawTable), where)
	rows, err := wh.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ga4: read loaded days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d time.Time
		var table string
		if err := rows.Scan(&d, &table); err != nil {
			return nil, fmt.Errorf("ga4: read loaded days: %w", err)
		}
		out[day(d)] = table
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ga4: read loaded days: %w", err)
	}
	return out, nil
}

// addPropertyColumn adds property_id to a raw table created before it
// existed; its rows keep NULL, the unnamed property.
func addPropertyColumn(ctx context.Context, wh warehouse.Warehouse, schema warehouse.Schema) error {
	for _, c := range schema.Columns {
		if c.Name == propertyColumn.Name {
			return nil
		}
	}
	ddl, err := wh.Dialect().AddColumn(wh.QualifiedName(RawTable), propertyColumn)
	if err != nil {
		return fmt.Errorf("ga4: %w", err)
	}
	if _, err := wh.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("ga4: add property_id to %s: %w", RawTable, err)
	}
	return nil
}

// recentDays is how far back, from the newest loaded day, the BigQuery
// loader reads which table each day came from. Intraday tables are
// replaced by their daily table within a day or two.
const recentDays = 14

// partitionDays lists the non-empty day partitions of raw_ga4__events with
// q, the dialect's metadata query (PartitionIDsQuery).
func partitionDays(ctx context.Context, wh warehouse.Warehouse, q string, fn func(time.Time)) error {
	rows, err := wh.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("ga4: read loaded partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("ga4: read loaded partitions: %w", err)
		}
		if d, ok := parseDay([]byte(id)); ok { // skips __NULL__ and __UNPARTITIONED__
			fn(d)
		}
	}
	return rows.Err()
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// exportTable is one export table (or file) for one day.
type exportTable struct {
	day      time.Time
	intraday bool
	name     string       // events_YYYYMMDD or events_intraday_YYYYMMDD
	files    []exportFile // file loader only: the file, or its shards
}

// tablesToLoad reads what raw_ga4__events already holds and chooses, among
// the available export tables of this loader's shard, the ones to load.
// Loaded days after latest (when set) do not count as the newest loaded
// day: a day loaded from a file named for the future would otherwise move
// the lookback window past every real day.
// It also returns the loaded days, by the table each came from.
func tablesToLoad(ctx context.Context, wh warehouse.Warehouse, cfg Options, shard Shard, available map[time.Time]exportTable, latest time.Time) ([]exportTable, map[time.Time]string, error) {
	loaded, err := loadedDays(ctx, wh)
	if err != nil {
		return nil, nil, err
	}
	if !latest.IsZero() {
		for d := range loaded {
			if d.After(latest) {
				delete(loaded, d)
			}
		}
	}
	shard.restrict(available, loaded)
	var start time.Time
	if cfg.StartDate != "" {
		if start, err = time.Parse(time.DateOnly, cfg.StartDate); err != nil {
			return nil, nil, fmt.Errorf("ga4: start date: %w", err)
		}
	}
	return chooseDays(available, loaded, cfg.LookbackDays, start), loaded, nil
}

// chooseDays picks the tables to load: for each day, the daily table when
// present, else the intraday one; and of those days, the ones at or after
// the newest loaded day minus lookback, days never loaded, and days loaded
// from an intraday table that now have a daily one. On an empty warehouse,
// every day from start (when set) on.
func chooseDays(available map[time.Time]exportTable, loaded map[time.Time]string, lookback int, start time.Time) []exportTable {
	var newest time.Time
	for d := range loaded {
		if d.After(newest) {
			newest = d
		}
	}
	from := newest.AddDate(0, 0, -lookback)
	var out []exportTable
	for d, t := range available {
		prev, ok := loaded[d]
		switch {
		case len(loaded) == 0:
			if !start.IsZero() && d.Before(start) {
				continue
			}
		case !ok, !d.Before(from):
		case !t.intraday && prev != t.name:
		default:
			continue
		}
		out = append(out, t)
	}
	sortTables(out)
	return out
}

func sortTables(ts []exportTable) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].day.Before(ts[j-1].day); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// Shard is one task's share of the export days when a Cloud Run job runs
// the GA4 load as several parallel tasks. Days are owned by their number
// (days since 1970) modulo Count, so every day has exactly one owner.
type Shard struct {
	Index, Count int
}

func (s Shard) owns(d time.Time) bool {
	if s.Count <= 1 {
		return true
	}
	return int(day(d).Unix()/86400)%s.Count == s.Index
}

// restrict keeps only the owned days of both maps. A task then judges "new"
// and "within the lookback" by its own days alone, which no other task
// writes, so what it chooses does not depend on how far the other tasks
// got: no day is loaded twice and none is skipped. (Its lookback reaches at
// most Count-1 days further back than a single task's would.)
func (s Shard) restrict(available map[time.Time]exportTable, loaded map[time.Time]string) {
	if s.Count <= 1 {
		return
	}
	for d := range available {
		if !s.owns(d) {
			delete(available, d)
		}
	}
	for d := range loaded {
		if !s.owns(d) {
			delete(loaded, d)
		}
	}
}
