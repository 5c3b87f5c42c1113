package systables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sam-attribution/sam/warehouse"
)

// Store creates, migrates and writes SAM's tables in one warehouse.
type Store struct {
	wh  warehouse.Warehouse
	now func() time.Time
}

// New returns a store over wh.
func New(wh warehouse.Warehouse) *Store { return &Store{wh: wh, now: time.Now} }

// Ensure brings the version table and every table of All up to Version:
// absent tables are created, columns a table lacks are added, and the
// version is recorded when it changed. It is idempotent and safe to run
// from parallel processes (DDL with IF NOT EXISTS), and a SAM older than
// the recorded version refuses to run rather than write rows that lack
// columns. Call it once per process, before any work.
func (s *Store) Ensure(ctx context.Context) error {
	if err := s.migrate(ctx, versionTable()); err != nil {
		return err
	}
	recorded, err := s.recordedVersion(ctx)
	if err != nil {
		return err
	}
	if recorded > Version {
		return fmt.Errorf("systables: SAM's tables are at schema version %d, newer than this SAM's %d: run a newer SAM", recorded, Version)
	}
	for _, t := range All() {
		if err := s.migrate(ctx, t); err != nil {
			return err
		}
	}
	if recorded == Version {
		return nil
	}
	return s.Insert(ctx, versionTable(), [][]any{{int64(Version), s.now().UTC()}})
}

// Create creates t when it is absent, with one DDL statement; opts are
// Exec options. It is for owners that make sure of their table once per
// run; Ensure does more.
func (s *Store) Create(ctx context.Context, t Table, opts ...any) error {
	ddl, err := s.wh.Dialect().CreateTable(s.wh.QualifiedName(t.Name), t.Schema)
	if err != nil {
		return fmt.Errorf("systables: create %s: %w", t.Name, err)
	}
	if _, err := s.wh.Exec(ctx, ddl, opts...); err != nil {
		return fmt.Errorf("systables: create %s: %w", t.Name, err)
	}
	return nil
}

// migrate creates t or adds the columns it lacks.
func (s *Store) migrate(ctx context.Context, t Table) error {
	have, err := s.wh.Describe(ctx, t.Name)
	if errors.Is(err, warehouse.ErrNotFound) {
		return s.Create(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("systables: describe %s: %w", t.Name, err)
	}
	q := s.wh.QualifiedName(t.Name)
	for _, c := range t.Schema.Columns {
		if _, ok := have.Column(c.Name); ok {
			continue
		}
		c.Required = false // existing rows have no value
		ddl, err := s.wh.Dialect().AddColumn(q, c)
		if err != nil {
			return fmt.Errorf("systables: migrate %s: %w", t.Name, err)
		}
		if _, err := s.wh.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("systables: migrate %s: add column %s: %w", t.Name, c.Name, err)
		}
	}
	return nil
}

func (s *Store) recordedVersion(ctx context.Context) (int64, error) {
	rows, err := s.wh.Query(ctx, "SELECT MAX(version) FROM "+s.wh.QualifiedName(VersionTable))
	if err != nil {
		return 0, fmt.Errorf("systables: read schema version: %w", err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return 0, fmt.Errorf("systables: read schema version: %w", err)
	}
	var v int64
	if len(data) == 1 && len(data[0]) == 1 && data[0][0] != nil {
		if err := warehouse.ConvertAssign(&v, data[0][0]); err != nil {
			return 0, fmt.Errorf("systables: read schema version: %w", err)
		}
	}
	return v, nil
}

// Statement size bounds for one INSERT: well under BigQuery's limits on a
// query's length and request size ("Quotas and limits"), and small enough
// that a failed chunk is cheap to retry.
const (
	maxRowsPerInsert  = 500
	maxBytesPerInsert = 1 << 20
)

// Insert appends rows (positional, matching t's columns): through the
// engine's appender where appends are cheap (Features.CheapAppends), else
// with INSERT statements, several rows each and chunked to stay under
// statement size limits. opts are Exec options (labels); a job id, if given, is suffixed
// per chunk. Chunks commit one by one.
func (s *Store) Insert(ctx context.Context, t Table, rows [][]any, opts ...any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.wh.Dialect().Features().CheapAppends {
		// Binding thousands of arguments costs more than the write itself
		// on such engines (DuckDB binds each by name); the appender does not.
		o := warehouse.CollectOptions(opts)
		if _, err := s.wh.Load(ctx, warehouse.LoadRequest{Table: t.Name, Schema: t.Schema, Mode: warehouse.Append,
			Rows: warehouse.NewSliceRows(rows), JobID: o.JobID, Labels: o.Labels}); err != nil {
			return fmt.Errorf("systables: insert %d rows into %s: %w", len(rows), t.Name, err)
		}
		return nil
	}
	q := s.wh.QualifiedName(t.Name)
	for start, chunk := 0, 0; start < len(rows); chunk++ {
		end, size := start, 0
		for end < len(rows) && end-start < maxRowsPerInsert && (end == start || size < maxBytesPerInsert) {
			size += approxSize(rows[end])
			end++
		}
		sql, args, err := InsertSQL(s.wh.Dialect(), q, t, rows[start:end])
		if err != nil {
			return err
		}
		args = append(args, chunkOptions(opts, chunk)...)
		if _, err := s.wh.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("systables: insert %d rows into %s: %w", end-start, t.Name, err)
		}
		start = end
	}
	return nil
}

// chunkOptions keeps each chunk's job id distinct, so a retried run does
// not mistake one chunk for another.
func chunkOptions(opts []any, chunk int) []any {
	if chunk == 0 {
		return opts
	}
	o := warehouse.CollectOptions(opts)
	out := append([]any(nil), opts...)
	if o.JobID != "" {
		out = append(out, warehouse.WithJobID(fmt.Sprintf("%s_%d", o.JobID, chunk)))
	}
	return out
}

func approxSize(row []any) int {
	n := 0
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += len(x)
		case []byte:
			n += len(x)
		default:
			n += 16
		}
	}
	return n
}

// InsertSQL renders one INSERT of rows into q (t's qualified name) in
// dialect d and its arguments, for callers that run it inside their own
// transaction.
func InsertSQL(d warehouse.Dialect, q string, t Table, rows [][]any) (string, []any, error) {
	if len(rows) == 0 {
		return "", nil, fmt.Errorf("systables: insert into %s: no rows", t.Name)
	}
	cols := make([]string, len(t.Schema.Columns))
	for i, c := range t.Schema.Columns {
		cols[i] = c.Name
		if reserved(c.Name) {
			cols[i] = d.QuoteIdent(c.Name)
		}
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + q + " (" + strings.Join(cols, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if len(r) != len(cols) {
			return "", nil, fmt.Errorf("systables: insert into %s: row %d has %d values for %d columns", t.Name, i+1, len(r), len(cols))
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
		for j, v := range r {
			if v == nil {
				// BigQuery types every parameter: say what the NULL is.
				v = warehouse.Null{Type: t.Schema.Columns[j].Type}
			}
			args = append(args, v)
		}
	}
	return b.String(), args, nil
}

// reservedWords are GoogleSQL's reserved keywords, which a column name
// must be quoted to use (the ledger's "rows"). Other names stay bare, as
// people write them.
const reservedWords = `ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST
COLLATE CONTAINS CREATE CROSS CUBE CURRENT DEFAULT DEFINE DESC DISTINCT ELSE END ENUM ESCAPE
EXCEPT EXCLUDE EXISTS EXTRACT FALSE FETCH FOLLOWING FOR FROM FULL GROUP GROUPING GROUPS HASH
HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LIKE LIMIT LOOKUP MERGE
NATURAL NEW NO NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION PRECEDING PROTO QUALIFY RANGE
RECURSIVE RESPECT RIGHT ROLLUP ROWS SELECT SET SOME STRUCT TABLESAMPLE THEN TO TREAT TRUE
UNBOUNDED UNION UNNEST USING WHEN WHERE WINDOW WITH WITHIN`

func reserved(name string) bool {
	return slices.Contains(strings.Fields(reservedWords), strings.ToUpper(name))
}
