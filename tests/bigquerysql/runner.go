package bigquerysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/bigquery"
	"github.com/sam-attribution/sam/warehouse/warehousetest"
)

// RunnerStatement is one statement the transform runner sent to a
// Recorder.
type RunnerStatement struct {
	// Model is the statement's sam_model label: the model being built, the
	// model a header data test checks, "state" for the state table's DDL,
	// or "" for reads that belong to no model (the state table, custom data
	// tests).
	Model string
	// Step is the build step the job id names (create, view, fill,
	// replace, state, drop, ...) for writes, or "read" for queries.
	Step string
	SQL  string
}

// Recorder is a warehouse.Warehouse in BigQuery's dialect that runs
// nothing: it records every statement a caller (the transform runner, a
// loader) sends, with the
// model and build step it belongs to, and answers the runner's reads (row
// counts, source fingerprints, the newest partition, the partitions an
// incremental run produced, data tests) with plausible values, so that a
// real Runner.Build walks every code path a BigQuery build takes and the
// statements can be analyzed offline. Tables are named as Qualify names
// them. It is safe for concurrent use, as the runner requires.
type Recorder struct {
	// Tables gives the columns Describe returns for each bare table name
	// (sources, seeds and models); the runner reads the temporary table
	// NAME__sam_tmp's columns, which Describe answers with NAME's. A table
	// not listed is reported as missing.
	Tables map[string][]warehouse.Column
	// State, when not nil, is the state table's content: the runner then
	// finds every listed model built, so an unchanged incremental model
	// takes the incremental path. Nil means the state table does not exist.
	State []StateRow
	// Newest is the newest built partition the runner finds in an
	// incremental model's table, and the partition its incremental query
	// returns rows for.
	Newest time.Time
	// Answer, when set, is asked first about every read: ok true makes
	// its columns and rows the result. It lets other statement issuers
	// (loaders) be driven through the recorder.
	Answer func(sql string) (columns []string, rows [][]any, ok bool)

	mu    sync.Mutex
	stmts []RunnerStatement
	loads []warehouse.LoadRequest
}

// StateRow is a row of the runner's state table, as Recorder returns it.
type StateRow struct {
	Model, Version, Materialized string
}

// stateTable is transform.StateTable; the recorder checks its reads by
// shape, not by importing the runner.
const stateTable = "sam_model_state"

// Statements returns what was recorded, in the order it was sent.
func (r *Recorder) Statements() []RunnerStatement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RunnerStatement(nil), r.stmts...)
}

// Loads returns the load requests (seeds) the runner made.
func (r *Recorder) Loads() []warehouse.LoadRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]warehouse.LoadRequest(nil), r.loads...)
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts, r.loads = nil, nil
}

// Dialect is BigQuery.
func (r *Recorder) Dialect() warehouse.Dialect { return bigquery.Dialect{} }

// QualifiedName is Qualify.
func (r *Recorder) QualifiedName(table string) string { return Qualify(table) }

// Close does nothing.
func (r *Recorder) Close() error { return nil }

// DryRun reports that it cannot estimate.
func (r *Recorder) DryRun(context.Context, string) (warehouse.Estimate, error) {
	return warehouse.Estimate{}, nil
}

func (r *Recorder) record(step, sql string, opts []any) {
	o := warehouse.CollectOptions(opts)
	model := o.Labels["sam_model"]
	if step == "" {
		step = jobStep(o.JobID, o.Labels["sam_run"], model)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Arguments are bound as literals, so the analyzer sees the statement
	// BigQuery runs.
	r.stmts = append(r.stmts, RunnerStatement{Model: model, Step: step, SQL: warehousetest.Bind(r.Dialect(), sql, opts)})
}

// jobStep reads the step out of a job id sam_<run>_<model>_<version>_<step>.
func jobStep(id, run, model string) string {
	rest, ok := strings.CutPrefix(id, "sam_"+run+"_"+model+"_")
	if !ok {
		return id
	}
	if _, step, ok := strings.Cut(rest, "_"); ok {
		return step
	}
	return rest
}

// Exec records a write.
func (r *Recorder) Exec(_ context.Context, sql string, opts ...any) (warehouse.Result, error) {
	r.record("", sql, opts)
	return warehouse.Result{}, nil
}

// Load records a load request.
func (r *Recorder) Load(_ context.Context, req warehouse.LoadRequest) (warehouse.LoadResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loads = append(r.loads, req)
	return warehouse.LoadResult{}, nil
}

// Describe returns a table's columns from Tables; the state table exists
// when State is set.
func (r *Recorder) Describe(_ context.Context, table string) (warehouse.Schema, error) {
	if table == stateTable {
		if r.State == nil {
			return warehouse.Schema{}, fmt.Errorf("%s: %w", table, warehouse.ErrNotFound)
		}
		return warehouse.Schema{Columns: []warehouse.Column{{Name: "model", Type: warehouse.String}}}, nil
	}
	cols, ok := r.Tables[strings.TrimSuffix(table, "__sam_tmp")]
	if !ok {
		return warehouse.Schema{}, fmt.Errorf("%s: %w", table, warehouse.ErrNotFound)
	}
	return warehouse.Schema{Columns: cols}, nil
}

// Query records a read and answers it by its shape.
func (r *Recorder) Query(_ context.Context, sql string, opts ...any) (warehouse.Rows, error) {
	r.record("read", sql, opts)
	if r.Answer != nil {
		if cols, rows, ok := r.Answer(sql); ok {
			return newRows(cols, rows), nil
		}
	}
	day := r.Newest
	if day.IsZero() {
		day = time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	}
	switch {
	case strings.HasPrefix(sql, "SELECT COUNT(*) FROM"):
		return newRows([]string{"n"}, [][]any{{int64(1)}}), nil
	case strings.HasPrefix(sql, "SELECT CONCAT("):
		// A fingerprint no recorded state matches: every source has new data.
		return newRows([]string{"fingerprint"}, [][]any{{"1:new"}}), nil
	case strings.HasPrefix(sql, "SELECT MAX("):
		return newRows([]string{"newest"}, [][]any{{day}}), nil
	case strings.HasPrefix(sql, "SELECT model, version"):
		var rows [][]any
		for _, s := range r.State {
			rows = append(rows, []any{s.Model, s.Version, s.Materialized, day, int64(1), int64(0), "earlier", nil, nil, nil})
		}
		return newRows([]string{"model", "version", "materialized", "built_at", "row_count", "bytes_processed", "run_id", "inputs", "partitions_built", "definition"}, rows), nil
	case strings.Contains(sql, ", COUNT(*) FROM ") && strings.Contains(sql, " GROUP BY "):
		// The partitions an incremental run produced.
		return newRows([]string{"partition", "n"}, [][]any{{day, int64(1)}}), nil
	}
	// Data tests and anything else: no rows.
	return newRows(nil, nil), nil
}

// memRows is a warehouse.Rows over values in memory.
type memRows struct {
	cols []warehouse.Column
	rows [][]any
	i    int
}

func newRows(names []string, rows [][]any) *memRows {
	cols := make([]warehouse.Column, len(names))
	for i, n := range names {
		cols[i] = warehouse.Column{Name: n}
	}
	return &memRows{cols: cols, rows: rows}
}

func (m *memRows) Columns() []warehouse.Column { return m.cols }
func (m *memRows) Next() bool                  { m.i++; return m.i <= len(m.rows) }
func (m *memRows) Err() error                  { return nil }
func (m *memRows) Close() error                { return nil }

func (m *memRows) Values() ([]any, error) {
	if m.i < 1 || m.i > len(m.rows) {
		return nil, errors.New("no current row: call Next first")
	}
	return m.rows[m.i-1], nil
}

func (m *memRows) Scan(dest ...any) error {
	row, err := m.Values()
	if err != nil {
		return err
	}
	if len(dest) != len(row) {
		return fmt.Errorf("scan: %d destinations for %d columns", len(dest), len(row))
	}
	for i, d := range dest {
		if err := warehouse.ConvertAssign(d, row[i]); err != nil {
			return fmt.Errorf("scan column %d: %w", i+1, err)
		}
	}
	return nil
}

// StatementsByModel groups statements by model, each model's in the order
// sent, dropping exact repeats (a second run reissues the same tests).
func StatementsByModel(stmts []RunnerStatement) map[string][]RunnerStatement {
	out := map[string][]RunnerStatement{}
	seen := map[string]bool{}
	for _, s := range stmts {
		k := s.Model + "\x00" + s.SQL
		if seen[k] {
			continue
		}
		seen[k] = true
		out[s.Model] = append(out[s.Model], s)
	}
	return out
}
