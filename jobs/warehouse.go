package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sam-attribution/sam/internal/config"
	"github.com/sam-attribution/sam/internal/option"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/duckdb"
)

// OpenWarehouse opens the configured engine.
func OpenWarehouse(ctx context.Context, cfg config.Warehouse, log *slog.Logger) (warehouse.Warehouse, error) {
	switch cfg.Engine {
	case "duckdb":
		db, err := duckdb.Open(ctx, cfg.DuckDBPath, duckdb.Options{Threads: cfg.Threads, MemoryLimit: cfg.MemoryLimit, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open DuckDB warehouse %s: %w", cfg.DuckDBPath, err)
		}
		log.InfoContext(ctx, memoryNote(db))
		return db, nil
	case "bigquery":
		db, err := bigquery.Open(ctx, bigquery.Options{
			Project:        cfg.Project,
			Dataset:        cfg.Dataset,
			Location:       cfg.Location,
			MaxBytesBilled: cfg.MaxBytesBilled,
			JobTimeout:     time.Duration(cfg.JobTimeoutSecond) * time.Second,
			Labels:         map[string]string{"app": "sam"},
			ClientOptions:  bigquery.ClientOptionsFor(cfg.Endpoint, cfg.CredentialsFile),
			Logger:         log,
		})
		if _, ok := option.Field(err); ok {
			// The dataset or the location does not fit: configuration.
			return nil, &ConfigError{Err: nameVariable(err, bigQueryVars)}
		}
		if err != nil {
			return nil, fmt.Errorf("open BigQuery warehouse %s.%s: %w", cfg.Project, cfg.Dataset, err)
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown engine %q", cfg.Engine)
}

// bigQueryVars name the variables behind bigquery.Options fields.
var bigQueryVars = map[string]string{"Dataset": "BQ_DATASET", "Location": "BQ_LOCATION"}

// memoryNote says how much memory DuckDB may use and where the figure came
// from, naming the variable when it was set. A capped default says so, with
// the memory it was capped from: otherwise a large machine's 1 GiB looks like
// a misread.
func memoryNote(db *duckdb.DB) string {
	m := db.MemoryLimit()
	from := strings.Replace(m.Source, duckdb.MemoryFromOption, "SAM_DUCKDB_MEMORY_LIMIT", 1)
	if m.Capped {
		return fmt.Sprintf("DuckDB memory limit %s (the default's ceiling, of %s from %s; SAM_DUCKDB_MEMORY_LIMIT raises it)",
			m, duckdb.MemoryLimit{Bytes: m.Available}, from)
	}
	return fmt.Sprintf("DuckDB memory limit %s (from %s)", m, from)
}

// advise is the pipeline's advice on the errors of wh's engine: on DuckDB,
// what sets the memory limit a stage ran out of.
func advise(wh warehouse.Warehouse) func(error) string {
	db, ok := wh.(*duckdb.DB)
	if !ok {
		return nil
	}
	return func(err error) string {
		if !errors.Is(err, duckdb.ErrOutOfMemory) {
			return ""
		}
		return outOfMemoryAdvice(db.MemoryLimit())
	}
}

// outOfMemoryAdvice replaces DuckDB's own advice on running out of memory
// (SET threads, SET memory_limit), which a SAM user cannot follow, with
// the setting behind the limit m. Past the limit DuckDB spills most work
// to disk; first-row aggregates (stg_ga4__sessions', a month of a full
// build at a time) it cannot.
func outOfMemoryAdvice(m duckdb.MemoryLimit) string {
	const why = "DuckDB ran out of its memory limit, %s: some of its work (aggregates that keep a first row, as stg_ga4__sessions' for each month of a full build) cannot spill to disk. "
	switch {
	case m.Source == duckdb.MemoryFromOption:
		return fmt.Sprintf(why+"To finish, raise SAM_DUCKDB_MEMORY_LIMIT.", m.String()+" from SAM_DUCKDB_MEMORY_LIMIT")
	case m.Capped:
		return fmt.Sprintf(why+"To finish, set SAM_DUCKDB_MEMORY_LIMIT above it, within the %s of the %s.",
			m.String()+" (the default's ceiling)", duckdb.MemoryLimit{Bytes: m.Available}, place(m.Source))
	case m.Source == duckdb.MemoryFromCgroup || m.Source == duckdb.MemoryFromMachine:
		return fmt.Sprintf(why+"To finish, give the %s more memory, or set SAM_DUCKDB_MEMORY_LIMIT higher, leaving room for the rest of the process.",
			fmt.Sprintf("%s (the default for the %s's %s)", m, place(m.Source), duckdb.MemoryLimit{Bytes: m.Available}), place(m.Source))
	}
	return fmt.Sprintf(why+"To finish, set SAM_DUCKDB_MEMORY_LIMIT higher.", m.String())
}

// place names where a default memory limit was read.
func place(source string) string {
	if source == duckdb.MemoryFromCgroup {
		return "container"
	}
	return "machine"
}

// MemoryNote is memoryNote for the app's warehouse, for the run summary;
// empty on engines without a local memory limit (BigQuery).
func (a *App) MemoryNote() string {
	if db, ok := a.WH.(*duckdb.DB); ok {
		return memoryNote(db)
	}
	return ""
}
