// Package warehouse owns the small interface every SAM component uses to talk
// to a warehouse engine, in the spirit of database/sql: execute a statement,
// query typed rows, load a stream of rows or NDJSON into a table, describe a
// table, and estimate a query's cost. Engines live in subpackages
// (warehouse/duckdb, warehouse/bigquery) and import this package; this package
// imports no engine.
//
// Table names passed to the interface are bare names inside SAM's dataset
// (for example "stg_ga4__events"); each engine qualifies them (DuckDB: the
// main schema of the database file; BigQuery: project.dataset). Callers that
// need the qualified form for SQL text ask the engine's QualifiedName.
//
// Whatever SQL text differs between engines is asked of the engine's
// Dialect (dialect.go), so no package above this one branches on the engine.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"time"
)

// ErrNotFound reports that a table does not exist.
var ErrNotFound = errors.New("table not found")

// ErrUnusable marks an error after which the engine refuses every further
// statement of this process (DuckDB invalidates a database after a fatal
// or internal error; what was committed before stays in the file). Work
// that is left should stop rather than fail statement by statement.
var ErrUnusable = errors.New("the warehouse cannot be used again in this process")

// Warehouse is the interface SAM's loaders, transform runner and jobs use.
// Implementations are safe for concurrent use.
type Warehouse interface {
	// Dialect is the SQL dialect statements must be written in.
	Dialect() Dialect
	// QualifiedName returns the quoted, fully qualified name of a table in
	// SAM's dataset, ready to paste into SQL.
	QualifiedName(table string) string
	// Exec runs one statement or, on engines that support it, a script.
	// args are the values of the positional ? placeholders (see Args).
	Exec(ctx context.Context, sql string, args ...any) (Result, error)
	// Query runs a query and returns its rows. The caller must Close them.
	// args are as for Exec.
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	// Load writes rows into a table, creating it from req.Schema when absent.
	Load(ctx context.Context, req LoadRequest) (LoadResult, error)
	// Describe returns a table's schema, or an error wrapping ErrNotFound.
	Describe(ctx context.Context, table string) (Schema, error)
	// DryRun estimates the bytes a query would process. Engines that cannot
	// estimate return Estimate{Supported: false}.
	DryRun(ctx context.Context, sql string) (Estimate, error)
	// Close releases the engine's resources.
	Close() error
}

// Result summarises a statement.
type Result struct {
	RowsAffected   int64
	BytesProcessed int64
	BytesBilled    int64
	JobID          string
}

// Estimate is a dry-run cost estimate.
type Estimate struct {
	Supported      bool
	BytesProcessed int64
}

// ExecOption adjusts one Exec or Query call.
type ExecOption func(*ExecOptions)

// ExecOptions collects the options engines honour. Engines ignore what they
// cannot use (DuckDB has no labels or job ids).
type ExecOptions struct {
	// JobID, when set, makes a retried statement recognisable: BigQuery
	// treats a second insert of the same job id as a duplicate and SAM then
	// waits for the existing job instead of running the statement twice.
	JobID  string
	Labels map[string]string
}

// WithJobID sets a deterministic job id.
func WithJobID(id string) ExecOption { return func(o *ExecOptions) { o.JobID = id } }

// WithLabels attaches labels (BigQuery job labels).
func WithLabels(l map[string]string) ExecOption {
	return func(o *ExecOptions) {
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		for k, v := range l {
			o.Labels[k] = v
		}
	}
}

// Args separates what a caller passed to Exec or Query: ExecOption values
// (WithJobID, WithLabels) anywhere among args configure the call, as pgx
// takes its query options among the arguments; every other value binds to
// the next positional ? placeholder, in order, across a whole script.
// Placeholder values are nil, Null, string, int, int64, float64, bool,
// time.Time (a TIMESTAMP) and []byte; a DATE is better written as a DATE
// literal from the Dialect. Engines call Args; callers need not.
func Args(args []any) (params []any, o ExecOptions) {
	for _, a := range args {
		if f, ok := a.(ExecOption); ok {
			f(&o)
			continue
		}
		params = append(params, a)
	}
	return params, o
}

// Null is a typed NULL argument. Where a bare nil has no type (BigQuery
// types every query parameter), it says what the NULL is.
type Null struct{ Type Type }

// CollectOptions applies the ExecOption values among args in order and
// ignores the rest (see Args).
func CollectOptions(args []any) ExecOptions {
	_, o := Args(args)
	return o
}

// Rows is a forward-only cursor over a query result, shaped like
// database/sql.Rows. Scan converts values into *string, *int64, *int,
// *float64, *bool, *time.Time, *[]byte, *any, and the sql.Null* types.
type Rows interface {
	Columns() []Column
	Next() bool
	Scan(dest ...any) error
	// Values returns the current row as engine-neutral Go values:
	// nil, string, int64, float64, bool, time.Time, []byte, []any (arrays),
	// map[string]any (structs).
	Values() ([]any, error)
	Err() error
	Close() error
}

// NameOrder returns the indexes of cols in the order of the columns' names,
// to read a row the same way whatever order its SELECT listed them in.
func NameOrder(cols []Column) []int {
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return cols[order[a]].Name < cols[order[b]].Name })
	return order
}

// LoadMode says what a load does to existing data.
type LoadMode int

const (
	// Append adds rows.
	Append LoadMode = iota
	// Replace replaces the whole table.
	Replace
	// ReplacePartitions replaces exactly the partitions listed in
	// LoadRequest.Partitions (values of Schema.PartitionColumn) and leaves
	// every other partition untouched. DuckDB replaces them all in one
	// transaction; BigQuery replaces each partition atomically (a load into
	// table$YYYYMMDD), and a rerun with the same job id finishes the rest.
	ReplacePartitions
)

func (m LoadMode) String() string {
	switch m {
	case Append:
		return "append"
	case Replace:
		return "replace"
	case ReplacePartitions:
		return "replace-partitions"
	}
	return fmt.Sprintf("LoadMode(%d)", int(m))
}

// LoadRequest describes one load. Exactly one of NDJSON and Rows is set.
type LoadRequest struct {
	Table  string
	Schema Schema
	Mode   LoadMode
	// Partitions lists the partition dates (UTC days) replaced by
	// ReplacePartitions. Loaded rows outside them are an error.
	Partitions []time.Time
	// NDJSON is newline-delimited JSON, one object per row, keys matching
	// Schema column names. INT64 values may arrive as JSON strings.
	NDJSON io.Reader
	// Rows streams rows positionally matching Schema.Columns.
	Rows RowSource
	// Files are local NDJSON files (gzipped when named .gz) the engine
	// reads itself, on engines with Features().LocalFiles: no copy passes
	// through the caller. Each file's Values give, as text, the columns of
	// Schema its lines do not hold; a column another file gives a value for
	// and this one does not is NULL.
	Files []LoadFile
	// BeforeCommit, when set, is called once the rows are in place and
	// before they are committed; an error rolls the load back and is
	// returned. A caller checking the rows while the engine loads them
	// decides here.
	BeforeCommit func() error
	// JobID makes a retried load recognisable (see ExecOptions.JobID).
	JobID  string
	Labels map[string]string
}

// LoadFile is one local file of a load and the values of the columns its
// lines lack.
type LoadFile struct {
	Path   string
	Values map[string]string
}

// RowSource yields rows one at a time; Next returns io.EOF after the last.
// Values follow the same Go types as Rows.Values.
type RowSource interface {
	Next(ctx context.Context) ([]any, error)
}

// SliceRows is a RowSource over rows held in memory (tests, small tables).
type SliceRows struct {
	rows [][]any
	i    int
}

// NewSliceRows returns a RowSource over rows.
func NewSliceRows(rows [][]any) *SliceRows { return &SliceRows{rows: rows} }

// Next implements RowSource.
func (s *SliceRows) Next(context.Context) ([]any, error) {
	if s.i >= len(s.rows) {
		return nil, io.EOF
	}
	r := s.rows[s.i]
	s.i++
	return r, nil
}

// LoadResult summarises a load.
type LoadResult struct {
	RowsLoaded int64
	Bytes      int64
	JobID      string
}

// Type is a column type, named as BigQuery names it; engines map it.
type Type string

const (
	String    Type = "STRING"
	Int64     Type = "INT64"
	Float64   Type = "FLOAT64"
	Numeric   Type = "NUMERIC"
	Bool      Type = "BOOL"
	Timestamp Type = "TIMESTAMP"
	Date      Type = "DATE"
	JSON      Type = "JSON"
	Bytes     Type = "BYTES"
	Record    Type = "RECORD"
)

// Column describes one column. Record columns list their Fields; Repeated
// marks an ARRAY.
type Column struct {
	Name     string
	Type     Type
	Repeated bool
	Required bool
	Fields   []Column
}

// Schema describes a table.
type Schema struct {
	Columns []Column
	// PartitionColumn is a DATE column the table is partitioned by (BigQuery
	// day partitioning), or empty.
	PartitionColumn string
	// ClusterBy lists clustering columns (BigQuery only).
	ClusterBy []string
}

// Column returns the named column.
func (s Schema) Column(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidIdentifier reports whether s is safe to use as an unquoted table,
// column or dataset name. Names from configuration must pass it, so they
// cannot inject SQL.
func ValidIdentifier(s string) bool { return len(s) <= 1024 && identRE.MatchString(s) }

// CheckIdentifier returns an error naming what when s is not a valid
// identifier.
func CheckIdentifier(what, s string) error {
	if !ValidIdentifier(s) {
		return fmt.Errorf("%s %q is not a valid identifier (letters, digits, underscore; not starting with a digit)", what, s)
	}
	return nil
}

var projectRE = regexp.MustCompile(`^[a-z][a-z0-9\-]{4,28}[a-z0-9]$|^[a-z0-9\-\.:]+$`)

// ValidProjectID reports whether s looks like a Google Cloud project id
// (including domain-scoped ids such as example.com:proj).
func ValidProjectID(s string) bool { return projectRE.MatchString(s) }
