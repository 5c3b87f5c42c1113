package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/sam-attribution/sam/warehouse"
)

var memoryLimitRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Options configures the engine.
type Options struct {
	// Threads caps DuckDB's worker threads; 0 lets DuckDB choose.
	Threads int
	// MemoryLimit caps DuckDB's memory, in DuckDB's notation ("4GB");
	// empty computes a default from the container's cgroup limit or the
	// machine's memory (see defaultMemoryPercent). Beyond it DuckDB spills
	// to temporary files instead of growing.
	MemoryLimit string
	// SystemFS is the root filesystem the cgroup limit and /proc/meminfo
	// are read from, for tests; nil reads the real ones.
	SystemFS fs.FS
	// Logger receives the engine's structured logs; nil discards them.
	Logger *slog.Logger
}

// DB is an embedded DuckDB warehouse. It implements warehouse.Warehouse and
// is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string // "" when in memory
	// catalog is the database's catalog name, which qualifies main-schema
	// names past temporary tables of the same name.
	catalog string
	log     *slog.Logger
	mem     MemoryLimit
	// spill is DuckDB's temp_directory; removed on Close when spillOwned,
	// else removed only if empty.
	spill      string
	spillOwned bool

	// loadSeq numbers the staging tables of concurrent loads.
	loadSeq atomic.Uint64

	// Loads into one table run one at a time: DuckDB fails concurrent
	// transactions that create or replace the same table with a write-write
	// conflict. Loads into different tables run in parallel.
	locksMu    sync.Mutex
	tableLocks map[string]*sync.Mutex

	closeOnce sync.Once
	closeErr  error
}

var _ warehouse.Warehouse = (*DB)(nil)

// privateMode is the permission of the database file and its WAL: they hold
// CRM data, so only the owner may read them.
const privateMode fs.FileMode = 0o600

// Open opens (creating if needed) the DuckDB database at path, or an
// in-memory database when path is empty, and installs the BigQuery
// compatibility macros.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("duckdb: threads must not be negative, got %d", opts.Threads)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("duckdb: resolve %s: %w", path, err)
		}
		path = abs
		created, err := createPrivate(ctx, path)
		if err != nil {
			return nil, err
		}
		if !created {
			warnIfShared(ctx, logger, path)
		}
	}
	params := url.Values{}
	if opts.Threads > 0 {
		params.Set("threads", strconv.Itoa(opts.Threads))
	}
	mem := MemoryLimit{Setting: opts.MemoryLimit, Source: MemoryFromOption}
	if opts.MemoryLimit != "" {
		if !memoryLimitRE.MatchString(opts.MemoryLimit) {
			return nil, fmt.Errorf("duckdb: memory limit %q is not a size like 4GB or 512MB", opts.MemoryLimit)
		}
	} else {
		sys := opts.SystemFS
		if sys == nil {
			sys = os.DirFS("/")
		}
		var err error
		if mem, err = defaultMemoryLimit(sys); err != nil {
			return nil, err
		}
	}
	if mem.Setting != "" {
		params.Set("memory_limit", mem.Setting)
	}
	spill, spillOwned, err := spillDir(path)
	if err != nil {
		return nil, err
	}
	params.Set("temp_directory", spill)
	// Without it DuckDB may stream and spill a large INSERT … SELECT instead
	// of materialising it in order; no model relies on row order (ordered
	// aggregates say ORDER BY, and reads that care sort).
	params.Set("preserve_insertion_order", "false")
	// jemalloc returns what DuckDB's threads free only once a task has
	// allocated allocator_flush_threshold (128 MiB by default) or a purge
	// runs; a lower threshold and its background purging threads
	// (duckdb.org, "jemalloc": allocator_background_threads) kept the 10M
	// transform's peak RSS at 1,776–1,830 MiB in eight runs, where the
	// defaults peaked at 1,830–2,387 MiB in seven (stg_ga4__sessions).
	params.Set("allocator_flush_threshold", "32MiB")
	params.Set("allocator_background_threads", "true")
	dsn := path + "?" + params.Encode()
	connector, err := duckdbdrv.NewConnector(dsn, initConn)
	if err != nil {
		removeSpill(spill, spillOwned)
		return nil, fmt.Errorf("duckdb: open %s: %w", displayPath(path), err)
	}
	db := &DB{db: sql.OpenDB(connector), path: path, log: logger, mem: mem, spill: spill, spillOwned: spillOwned, tableLocks: map[string]*sync.Mutex{}}
	// Connections carry per-session settings and are cheap to keep; keeping
	// them spares the init statements on every checkout.
	db.db.SetMaxIdleConns(16)
	if err := db.installMacros(ctx); err != nil {
		db.db.Close()
		removeSpill(spill, spillOwned)
		return nil, err
	}
	if err := db.protectFiles(); err != nil {
		db.db.Close()
		removeSpill(spill, spillOwned)
		return nil, err
	}
	if err := db.db.QueryRowContext(ctx, "SELECT current_database()").Scan(&db.catalog); err != nil {
		db.db.Close()
		removeSpill(spill, spillOwned)
		return nil, fmt.Errorf("duckdb: open %s: %w", displayPath(path), err)
	}
	logger.DebugContext(ctx, "duckdb opened", "path", displayPath(path), "threads", opts.Threads,
		"memory_limit", mem.String(), "memory_limit_from", mem.Source, "spill_dir", spill)
	return db, nil
}

// MemoryLimit reports the memory cap DuckDB runs with and its source.
func (db *DB) MemoryLimit() MemoryLimit { return db.mem }

// removeSpill removes a spill directory the engine created for an in-memory
// database, and the one next to a database file only when DuckDB left it
// empty.
func removeSpill(dir string, owned bool) {
	if owned {
		_ = os.RemoveAll(dir)
		return
	}
	_ = os.Remove(dir)
}

// initConn pins every session to UTC: BigQuery TIMESTAMPs are UTC, and
// conversions between TIMESTAMP and TIMESTAMPTZ (current_timestamp, offsets
// in loaded text) must not depend on the machine's zone.
func initConn(execer driver.ExecerContext) error {
	_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
	return err
}

// createPrivate creates a new database file with owner-only permissions and
// reports whether it did. An existing file keeps its mode: its owner may have
// made it read-only or shared it on purpose.
// DuckDB refuses an empty file and creates files honouring the umask, so a
// new database is first built in a private directory next to path and then
// renamed into place.
func createPrivate(ctx context.Context, path string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("duckdb: stat %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("duckdb: create database directory: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".sam-duckdb-init-")
	if err != nil {
		return false, fmt.Errorf("duckdb: create database %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "new.duckdb")
	c, err := duckdbdrv.NewConnector(tmp, nil)
	if err != nil {
		return false, fmt.Errorf("duckdb: create database %s: %w", path, err)
	}
	db := sql.OpenDB(c)
	_, err = db.ExecContext(ctx, "CHECKPOINT")
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("duckdb: create database %s: %w", path, err)
	}
	if err := os.Chmod(tmp, privateMode); err != nil {
		return false, fmt.Errorf("duckdb: create database %s: %w", path, err)
	}
	// Link rather than rename so that a database created meanwhile by
	// another process is never overwritten.
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("duckdb: create database %s: %w", path, err)
	}
	return true, nil
}

// warnIfShared warns when an existing database file can be read by users
// other than its owner: it holds raw CRM data.
func warnIfShared(ctx context.Context, logger *slog.Logger, path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o044 == 0 {
		return
	}
	logger.WarnContext(ctx, "the database file is readable by other users and holds raw CRM data; SAM keeps the mode you gave it",
		"path", path, "mode", fi.Mode().Perm().String())
}

// protectFiles restricts the WAL to the owner. DuckDB deletes the WAL at each
// checkpoint and recreates it on the next write with the process umask, so
// writers call this after every change. The database file itself is left
// alone: Open created it private, or its owner chose its mode.
func (db *DB) protectFiles() error {
	if db.path == "" {
		return nil
	}
	wal := db.path + ".wal"
	fi, err := os.Stat(wal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("duckdb: stat %s: %w", wal, err)
	}
	if fi.Mode().Perm() == privateMode {
		return nil
	}
	if err := os.Chmod(wal, privateMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("duckdb: restrict permissions of %s: %w", wal, err)
	}
	return nil
}

func displayPath(path string) string {
	if path == "" {
		return ":memory:"
	}
	return path
}

// SQLDB returns the underlying database/sql handle, for benchmarks that
// compare the engine with the raw driver. Statements run on it bypass the
// engine's script and transaction handling.
func (db *DB) SQLDB() *sql.DB { return db.db }

// Dialect implements warehouse.Warehouse.
func (db *DB) Dialect() warehouse.Dialect { return Dialect{} }

// QualifiedName implements warehouse.Warehouse: tables live in the main
// schema, so the quoted bare name is fully qualified.
func (db *DB) QualifiedName(table string) string { return quoteIdent(table) }

// Close checkpoints the database, so the file on disk is compact and needs
// no WAL replay, and releases it. Close is idempotent.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		if db.path != "" {
			if _, err := db.db.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
				errs = append(errs, fmt.Errorf("duckdb: checkpoint on close: %w", err))
			}
		}
		if err := db.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("duckdb: close: %w", err))
		}
		if err := db.protectFiles(); err != nil {
			errs = append(errs, err)
		}
		removeSpill(db.spill, db.spillOwned)
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// lockTable serialises loads into one table and returns the unlock.
func (db *DB) lockTable(table string) func() {
	key := strings.ToLower(table)
	db.locksMu.Lock()
	mu := db.tableLocks[key]
	if mu == nil {
		mu = new(sync.Mutex)
		db.tableLocks[key] = mu
	}
	db.locksMu.Unlock()
	mu.Lock()
	return mu.Unlock
}
