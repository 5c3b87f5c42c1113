// Package duckdb is SAM's embedded warehouse engine: a warehouse.Warehouse
// over a DuckDB database file (or an in-memory database), used on a fresh
// machine, in the demo, in tests and for local development.
//
// It owns the DuckDB connection pool, the translation between warehouse
// types and DuckDB types, loading (appender for Go rows, read_json for
// NDJSON), the BigQuery compatibility layer installed on open
// (macros.sql) and DuckDB's SQL dialect (Dialect, usable without a
// database). It imports the warehouse package and the DuckDB driver
// (github.com/duckdb/duckdb-go/v2, which needs cgo) and nothing else of SAM.
//
// # Storage
//
// Tables live in the main schema of the database file; QualifiedName
// returns the double-quoted bare name. A file the engine creates gets mode
// 0600; an existing file keeps its mode (a warning when others can read it).
// DuckDB recreates its WAL with the process umask after each checkpoint, so
// the engine narrows the WAL to 0600 after every write (run SAM with umask
// 077 to close that window). Every session runs with TimeZone UTC. Close
// checkpoints, leaving a compact file and no WAL.
//
// # Memory
//
// Without Options.MemoryLimit, DuckDB's memory_limit is 60 % of the smaller
// of the container's cgroup memory limit (v2 memory.max, else v1
// memory.limit_in_bytes; "max" means none) and physical memory
// (/proc/meminfo), at most 1 GiB, leaving the rest to the Go heap and the
// OS: every stage then stays under 2 GiB of RSS on any machine. Sessions run
// with preserve_insertion_order off, so large INSERT … SELECTs stream and
// spill rather than being materialised in order, and with jemalloc
// returning freed memory sooner (allocator_flush_threshold 32 MiB and
// allocator_background_threads on). DB.MemoryLimit
// reports the limit and its source. Beyond it DuckDB spills to
// temp_directory: "<file>.tmp" next to the database (created 0700, removed
// on Close when empty) or, in memory, a private directory under os.TempDir
// removed on Close.
//
// # Values
//
// Rows.Values returns nil, string, int64, float64, bool, time.Time (UTC;
// DATE as midnight UTC), []byte, []any for LIST and map[string]any for
// STRUCT. DECIMAL (NUMERIC) is returned as float64, which is exact to about
// 15 significant digits; compare money in SQL when more is needed. HUGEINT
// (DuckDB's type for SUM over BIGINT) is returned as int64 when it fits.
// UUID, TIME and ENUM are strings; INTERVAL is a string in BigQuery's
// canonical form "Y-M D H:M:S[.F]"; JSON is its text; MAP is []any of
// map[string]any{"key": k, "value": v}, as BigQuery exports maps.
//
// Warehouse types map to DuckDB as STRING→VARCHAR, INT64→BIGINT,
// FLOAT64→DOUBLE, NUMERIC→DECIMAL(38,9), BOOL→BOOLEAN, TIMESTAMP→TIMESTAMP
// (naive, UTC), DATE→DATE, JSON→JSON, BYTES→BLOB, RECORD→STRUCT(...) and
// Repeated→LIST. Describe maps them back, including nested types, and
// reports the partition column of tables loaded with one.
//
// # Scripts and concurrency
//
// Exec runs one statement or a script on one dedicated connection. If a
// statement fails, any open transaction is rolled back before the connection
// returns to the pool; a script that leaves a transaction open is rolled
// back and reported. Loads run in one transaction each; loads into the same
// table are serialised in-process because DuckDB reports concurrent
// creation or replacement of one table as a write-write conflict, and an
// NDJSON load that still meets a conflict (say with a model rebuild) is
// retried from its spooled file.
//
// # BigQuery compatibility
//
// See README.md in this folder for the list of macros and type aliases and
// the BigQuery behaviours that cannot be reproduced.
package duckdb
