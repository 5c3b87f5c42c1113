package config

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/sam-attribution/sam/warehouse"
)

var memoryLimitRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// maxThreads caps SAM_THREADS. Each DuckDB worker is an OS thread, and the
// Go runtime aborts the process beyond 10,000 threads
// (runtime/debug.SetMaxThreads); a thousand is more cores than any machine
// SAM runs on has, and far below that limit.
const maxThreads = 1024

// Warehouse selects and configures the warehouse engine.
type Warehouse struct {
	Engine      string `envconfig:"ENGINE" default:"duckdb" desc:"warehouse engine: duckdb (embedded) or bigquery"`
	DuckDBPath  string `envconfig:"DUCKDB_PATH" default:"./sam.duckdb" desc:"DuckDB database file (embedded engine)"`
	Threads     int    `envconfig:"THREADS" default:"0" desc:"DuckDB worker threads; 0 lets DuckDB choose"`
	MemoryLimit string `envconfig:"DUCKDB_MEMORY_LIMIT" desc:"DuckDB memory cap such as 4GB (it spills to disk beyond it); empty: 60% of the smaller of the container's cgroup memory limit and the machine's memory, at most 1.25GiB"`

	Project          string `envconfig:"BQ_PROJECT" desc:"Google Cloud project that runs BigQuery jobs and holds SAM's dataset"`
	Dataset          string `envconfig:"BQ_DATASET" default:"sam" desc:"BigQuery dataset for SAM's staging tables and models"`
	Location         string `envconfig:"BQ_LOCATION" default:"US" desc:"BigQuery location of SAM's dataset and jobs"`
	MaxBytesBilled   int64  `envconfig:"BQ_MAX_BYTES_BILLED" default:"1099511627776" desc:"cap on bytes billed per BigQuery query job (default 1 TiB)"`
	Endpoint         string `envconfig:"BQ_ENDPOINT" desc:"BigQuery REST endpoint override (tests, emulators); empty uses Google's"`
	CredentialsFile  string `envconfig:"BQ_CREDENTIALS_FILE" desc:"service-account key file; empty uses Application Default Credentials"`
	JobTimeoutSecond int    `envconfig:"BQ_JOB_TIMEOUT_SECONDS" default:"3600" desc:"longest a BigQuery job may run before SAM gives up on it"`
}

func (w Warehouse) validate() error {
	if err := oneOf("ENGINE", w.Engine, "duckdb", "bigquery"); err != nil {
		return err
	}
	if w.Threads < 0 {
		return bad("THREADS", "", "must not be negative")
	}
	if w.Threads > maxThreads {
		return bad("THREADS", fmt.Sprint(w.Threads), "must be at most %d", maxThreads)
	}
	if w.MemoryLimit != "" {
		m := memoryLimitRE.FindStringSubmatch(w.MemoryLimit)
		if m == nil {
			return bad("DUCKDB_MEMORY_LIMIT", w.MemoryLimit, "must be a size such as 4GB or 512MB")
		}
		if n, err := strconv.ParseFloat(m[1], 64); err != nil || n == 0 {
			return bad("DUCKDB_MEMORY_LIMIT", w.MemoryLimit, "must be greater than zero; DuckDB cannot open with no memory")
		}
	}
	if w.Engine == "duckdb" && w.DuckDBPath == "" {
		return bad("DUCKDB_PATH", "", "must be set for the duckdb engine")
	}
	if w.Engine == "bigquery" {
		if w.Project == "" {
			return bad("BQ_PROJECT", "", "must be set when SAM_ENGINE=bigquery")
		}
		if !warehouse.ValidProjectID(w.Project) {
			return bad("BQ_PROJECT", w.Project, "is not a valid project id")
		}
		if err := positive("BQ_JOB_TIMEOUT_SECONDS", w.JobTimeoutSecond); err != nil {
			return err
		}
		if w.MaxBytesBilled <= 0 {
			return bad("BQ_MAX_BYTES_BILLED", "", "must be greater than zero")
		}
		if w.CredentialsFile != "" {
			if err := checkFile("BQ_CREDENTIALS_FILE", w.CredentialsFile); err != nil {
				return err
			}
		}
	}
	if !warehouse.ValidIdentifier(w.Dataset) {
		return bad("BQ_DATASET", w.Dataset, "is not a valid dataset name")
	}
	return nil
}

// Transform configures the SQL model runner.
type Transform struct {
	ModelsDir   string `envconfig:"MODELS_DIR" desc:"directory of SQL models overriding the embedded ones (edit SQL without recompiling)"`
	Parallelism int    `envconfig:"TRANSFORM_PARALLELISM" default:"0" desc:"models built at once within one level of the graph; 0: the engine's choice (1 on DuckDB, whose every query already uses all its threads; 4 on BigQuery)"`
	// ChannelGroup names a group of the channel_groups seed; switching it
	// rebuilds the models whose channel rules change.
	ChannelGroup string `envconfig:"CHANNEL_GROUP" default:"default" desc:"channel group of sessions and spend: a channel_group of seeds/channel_groups.csv, e.g. default (GA4's default channel group) or ai_assistants"`
}

func (t Transform) validate() error {
	if t.ChannelGroup != "" && !warehouse.ValidIdentifier(t.ChannelGroup) {
		return bad("CHANNEL_GROUP", t.ChannelGroup, "is not a channel group name (letters, digits, _)")
	}
	if t.Parallelism < 0 {
		return bad("TRANSFORM_PARALLELISM", fmt.Sprint(t.Parallelism), "must not be negative (0: the engine's choice)")
	}
	return nil
}

// Log configures structured logging.
type Log struct {
	Format string `envconfig:"FORMAT" default:"auto" desc:"log format: auto (text on a terminal, JSON otherwise), json or text"`
	Level  string `envconfig:"LEVEL" default:"info" desc:"log level: debug, info, warn or error"`
}

func (l Log) validate() error {
	if err := oneOf("LOG_FORMAT", l.Format, "auto", "json", "text"); err != nil {
		return err
	}
	return oneOf("LOG_LEVEL", l.Level, "debug", "info", "warn", "error")
}
