package config

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/sam-attribution/sam/warehouse"
)

var memoryLimitRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// memoryUnits are DuckDB's: KB is 1000 bytes, KiB 1024.
var memoryUnits = map[string]float64{
	"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// minMemoryLimit and maxMemoryLimit bound SAM_DUCKDB_MEMORY_LIMIT. DuckDB
// opens the file with any limit, then fails to allocate its first blocks
// with a few KiB (1KB), or once the limit overflows its byte count
// (99999999TB). 128 MiB is a floor, not a size that fits every load (the
// first load of the 60-day sample export fails at 256 MiB and runs at 512
// MiB); it stays below the default on a Cloud Run job's smallest memory
// (60% of 512 MiB). A pebibyte is more memory than any machine has.
const (
	minMemoryLimit = 128 << 20
	maxMemoryLimit = 1 << 50
)

// maxJobTimeoutSeconds caps SAM_BQ_JOB_TIMEOUT_SECONDS at BigQuery's own
// limit on a query job; seconds far beyond it overflow the time.Duration
// SAM waits with (18446744074 s wrapped to 290 ms).
const maxJobTimeoutSeconds = 6 * 60 * 60

// minBytesBilled is BigQuery's minimum charge per table a query reads:
// BigQuery refuses a query whose maximum_bytes_billed is below it.
const minBytesBilled = 10 << 20

// maxThreads caps SAM_THREADS. Each DuckDB worker is an OS thread, and the
// Go runtime aborts the process beyond 10,000 threads
// (runtime/debug.SetMaxThreads); a thousand is more cores than any machine
// SAM runs on has, and far below that limit.
const maxThreads = 1024

// Warehouse selects and configures the warehouse engine.
type Warehouse struct {
	Engine      string `envconfig:"ENGINE" default:"duckdb" desc:"warehouse engine: duckdb (embedded) or bigquery"`
	DuckDBPath  string `envconfig:"DUCKDB_PATH" default:"./sam.duckdb" desc:"DuckDB database file (embedded engine); folders missing above it are created"`
	Threads     int    `envconfig:"THREADS" default:"0" desc:"DuckDB worker threads; 0 lets DuckDB choose"`
	MemoryLimit string `envconfig:"DUCKDB_MEMORY_LIMIT" desc:"DuckDB memory cap such as 4GB, from 128MiB to 1PiB (most work spills to disk beyond it; what GA4 sessions keep in memory cannot: a full build goes a month at a time, about 300MiB at 10M events a year); empty: 60% of the smaller of the container's cgroup memory limit and the machine's memory, at most 1GiB"`

	Project          string `envconfig:"BQ_PROJECT" desc:"Google Cloud project that runs BigQuery jobs and holds SAM's dataset"`
	Dataset          string `envconfig:"BQ_DATASET" default:"sam" desc:"BigQuery dataset for SAM's staging tables and models"`
	Location         string `envconfig:"BQ_LOCATION" default:"US" desc:"BigQuery location of SAM's dataset and jobs"`
	MaxBytesBilled   int64  `envconfig:"BQ_MAX_BYTES_BILLED" default:"1099511627776" desc:"cap on bytes billed per BigQuery query job (default 1 TiB); at least 10485760, BigQuery's minimum charge"`
	Endpoint         string `envconfig:"BQ_ENDPOINT" desc:"BigQuery REST endpoint override (tests, emulators); empty uses Google's"`
	CredentialsFile  string `envconfig:"BQ_CREDENTIALS_FILE" desc:"service-account key file; empty uses Application Default Credentials"`
	JobTimeoutSecond int    `envconfig:"BQ_JOB_TIMEOUT_SECONDS" default:"3600" desc:"longest a BigQuery job may run before SAM gives up on it; at most 21600 (6 hours, BigQuery's own limit)"`
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
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return bad("DUCKDB_MEMORY_LIMIT", w.MemoryLimit, "must be a size such as 4GB or 512MB")
		}
		switch bytes := n * memoryUnits[m[2]]; {
		case bytes < minMemoryLimit:
			return bad("DUCKDB_MEMORY_LIMIT", w.MemoryLimit, "must be at least 128MiB: DuckDB cannot work in less")
		case bytes > maxMemoryLimit:
			return bad("DUCKDB_MEMORY_LIMIT", w.MemoryLimit, "must be at most 1PiB, more than any machine has; DuckDB's byte count overflows far beyond it")
		}
	}
	if w.Engine == "duckdb" {
		if w.DuckDBPath == "" {
			return bad("DUCKDB_PATH", "", "must be set for the duckdb engine")
		}
		if err := checkNewFile("DUCKDB_PATH", w.DuckDBPath); err != nil {
			return err
		}
	}
	if w.Engine == "bigquery" {
		if w.Project == "" {
			return bad("BQ_PROJECT", "", "must be set when SAM_ENGINE=bigquery")
		}
		if err := checkProjectID("BQ_PROJECT", w.Project); err != nil {
			return err
		}
		if err := positive("BQ_JOB_TIMEOUT_SECONDS", w.JobTimeoutSecond); err != nil {
			return err
		}
		if w.JobTimeoutSecond > maxJobTimeoutSeconds {
			return bad("BQ_JOB_TIMEOUT_SECONDS", fmt.Sprint(w.JobTimeoutSecond), "must be at most %d (6 hours, BigQuery's own limit on a query job)", maxJobTimeoutSeconds)
		}
		if w.MaxBytesBilled < minBytesBilled {
			return bad("BQ_MAX_BYTES_BILLED", fmt.Sprint(w.MaxBytesBilled), "must be at least %d (10 MB): BigQuery bills at least that much per table a query reads, and refuses every query under a lower cap", minBytesBilled)
		}
		if w.CredentialsFile != "" {
			if err := CheckFile("BQ_CREDENTIALS_FILE", w.CredentialsFile); err != nil {
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
