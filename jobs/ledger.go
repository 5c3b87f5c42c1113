package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// LedgerTable records every stage of every run.
const LedgerTable = systables.LedgerTable

// Stage statuses recorded in the ledger.
const (
	StatusRunning     = "running"
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
	StatusSkipped     = "skipped"
)

// LedgerSchema is append-only: a stage writes a "running" row when it starts
// and a final row when it ends; the latest row per (run_id, stage) is its
// state. A run killed outright leaves its stage "running", which `sam runs`
// shows as such. systables declares it.
var LedgerSchema = systables.Ledger().Schema

// Entry is one ledger row.
type Entry struct {
	RunID          string
	Job            string
	Stage          string
	Status         string
	StartedAt      time.Time
	EndedAt        time.Time // zero while running
	Rows           int64
	BytesProcessed int64
	BytesBilled    int64
	Detail         string
	Error          string
}

// Ledger reads and writes the run ledger. Its table comes from the
// systables store, which jobs sets up when the process starts.
type Ledger struct {
	wh    warehouse.Warehouse
	store *systables.Store
}

// NewLedger returns a ledger in wh.
func NewLedger(wh warehouse.Warehouse) *Ledger { return &Ledger{wh: wh, store: systables.New(wh)} }

// Record appends e.
func (l *Ledger) Record(ctx context.Context, e Entry) error {
	var ended any
	if !e.EndedAt.IsZero() {
		ended = e.EndedAt.UTC()
	}
	var errText any
	if e.Error != "" {
		errText = e.Error
	}
	row := []any{e.RunID, e.Job, e.Stage, e.Status, e.StartedAt.UTC(), ended,
		e.Rows, e.BytesProcessed, e.BytesBilled, e.Detail, errText, time.Now().UTC()}
	if err := l.store.Insert(ctx, systables.Ledger(), [][]any{row}); err != nil {
		return fmt.Errorf("record ledger entry %s/%s: %w", e.RunID, e.Stage, err)
	}
	return nil
}

// Recent returns the latest state of every stage of the last n runs, newest
// run first.
func (l *Ledger) Recent(ctx context.Context, n int) ([]Entry, error) {
	if _, err := l.wh.Describe(ctx, LedgerTable); err != nil {
		if errors.Is(err, warehouse.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	t := l.wh.QualifiedName(LedgerTable)
	q := fmt.Sprintf(`
WITH latest AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY run_id, stage ORDER BY recorded_at DESC) AS rn
  FROM %[1]s
), runs AS (
  SELECT run_id, MIN(started_at) AS run_started
  FROM %[1]s
  GROUP BY run_id
  ORDER BY run_started DESC
  LIMIT %[2]d
)
SELECT l.run_id, l.job, l.stage, l.status, l.started_at, l.ended_at,
       l.rows, l.bytes_processed, l.bytes_billed, l.detail, l.error
FROM latest l JOIN runs r ON l.run_id = r.run_id
WHERE l.rn = 1
ORDER BY r.run_started DESC, l.started_at, l.stage`, t, n)
	rows, err := l.wh.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("read ledger: %w", err)
		}
		e := Entry{
			RunID: str(v[0]), Job: str(v[1]), Stage: str(v[2]), Status: str(v[3]),
			StartedAt: ts(v[4]), EndedAt: ts(v[5]),
			Rows: i64(v[6]), BytesProcessed: i64(v[7]), BytesBilled: i64(v[8]),
			Detail: str(v[9]), Error: str(v[10]),
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return warehouse.Format(v)
}

func ts(v any) time.Time {
	t, _ := v.(time.Time)
	return t
}

func i64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}
