package jobs

import (
	"context"
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
// the memory it was capped from: otherwise a large machine's 1.25 GiB looks like
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

// MemoryNote is memoryNote for the app's warehouse, for the run summary;
// empty on engines without a local memory limit (BigQuery).
func (a *App) MemoryNote() string {
	if db, ok := a.WH.(*duckdb.DB); ok {
		return memoryNote(db)
	}
	return ""
}
