package writeback

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// SendLogTable is the send log, named as a raw source so the
// writeback_queue model reads it with {{ source "writeback" "send_log" }}.
const SendLogTable = systables.SendLogTable

// Send log statuses.
const (
	StatusIntent   = "intent"   // committed before the request
	StatusSent     = "sent"     // 2xx
	StatusFailed   = "failed"   // definitely not recorded; eligible again
	StatusUnknown  = "unknown"  // the last attempt's outcome is ambiguous
	StatusReleased = "released" // an operator cleared an ambiguous key
)

// SendLogSchema is the send log's schema (declared in systables).
var SendLogSchema = systables.SendLog().Schema

// blockedSQL selects the keys that must not be sent: sent once, or with an
// intent that no "failed" or "released" row balances (the crash window and
// unknown outcomes). The writeback_queue model applies the same rule.
func blockedSQL(logTable string) string {
	return `SELECT idempotency_key,
       SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS n_sent
FROM ` + logTable + `
GROUP BY idempotency_key
HAVING SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) > 0
    OR SUM(CASE WHEN status = 'intent' THEN 1 WHEN status IN ('failed', 'released') THEN -1 ELSE 0 END) > 0`
}

// EnsureSendLog creates the send log table when it is absent. The
// writeback_queue model reads it, and engines that bind a view's tables when
// the view is created (DuckDB) need it before the model is first built, so
// the pipeline calls this before transforming; Run calls it too.
func EnsureSendLog(ctx context.Context, wh warehouse.Warehouse) error {
	return ensureSendLog(ctx, wh, SendLogTable)
}

// ensureSendLog creates the table when it is absent, through the systables
// store (the table's name is configurable).
func ensureSendLog(ctx context.Context, wh warehouse.Warehouse, table string) error {
	if err := systables.New(wh).Create(ctx, systables.SendLog().Named(table)); err != nil {
		return fmt.Errorf("writeback: create send log %s: %w", table, err)
	}
	return nil
}

// crashWindow lists keys whose outcome is unknown: intent committed and no
// outcome row, or an "unknown" outcome, not released since.
func crashWindow(ctx context.Context, wh warehouse.Warehouse, table string) ([]string, error) {
	rows, err := wh.Query(ctx, `SELECT idempotency_key FROM (`+blockedSQL(wh.QualifiedName(table))+`) b
WHERE n_sent = 0 ORDER BY idempotency_key`)
	if err != nil {
		return nil, fmt.Errorf("writeback: read the crash window from %s: %w", table, err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("writeback: read the crash window: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("writeback: read the crash window: %w", err)
	}
	return keys, nil
}

// logRow is one send log row.
type logRow struct {
	row    Row
	status string
	detail string
}

// logWriter appends send log rows. Intent rows are written synchronously
// (the request waits for them); outcome rows are buffered and ride along
// with the next intent write, or are written once LogGroupRows of them are
// pending, so a run makes few warehouse writes (each BigQuery load is a job
// with a daily quota) while the outcomes still reach the log promptly.
type logWriter struct {
	wh      warehouse.Warehouse
	table   string
	runID   string
	maxRows int
	now     func() time.Time

	mu      sync.Mutex // guards pending
	pending []logRow

	commitMu sync.Mutex // guards err, writes, rowCount
	err      error      // first failed write
	writes   int
	rowCount int
}

func newLogWriter(wh warehouse.Warehouse, table, runID string, maxRows int, now func() time.Time) *logWriter {
	return &logWriter{wh: wh, table: table, runID: runID, maxRows: max(1, maxRows), now: now}
}

// write commits rows, with any pending outcome rows, and returns once they
// are durable.
func (l *logWriter) write(ctx context.Context, rows []logRow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	all := append(l.pending, rows...)
	l.pending = nil
	l.mu.Unlock()
	return l.commit(all)
}

// enqueue buffers outcome rows; a full buffer is written at once. A failed
// write is kept for close to report.
func (l *logWriter) enqueue(rows []logRow) {
	l.mu.Lock()
	l.pending = append(l.pending, rows...)
	var full []logRow
	if len(l.pending) >= l.maxRows {
		full, l.pending = l.pending, nil
	}
	l.mu.Unlock()
	if full != nil {
		l.commit(full)
	}
}

// close writes what is pending and returns the first write error.
func (l *logWriter) close() error {
	l.mu.Lock()
	rest := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(rest) > 0 {
		l.commit(rest)
	}
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	return l.err
}

func (l *logWriter) commit(rows []logRow) error {
	if len(rows) == 0 {
		return nil
	}
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	if l.err != nil {
		// After one failed write the log can no longer vouch for anything:
		// refuse further intents so nothing more is sent.
		return fmt.Errorf("send log unavailable after an earlier failure: %w", l.err)
	}
	at := l.now().UTC()
	data := make([][]any, len(rows))
	for i, lr := range rows {
		var detail any
		if lr.detail != "" {
			detail = lr.detail
		}
		data[i] = []any{lr.row.Key, lr.row.LeadID, lr.row.EventName, lr.row.ClientKey, at, l.runID, lr.status, detail}
	}
	// The run's context may be ending; what was sent must still be
	// recorded, so the write gets its own deadline instead.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := systables.New(l.wh).Insert(ctx, systables.SendLog().Named(l.table), data)
	l.writes++
	l.rowCount += len(data)
	if err != nil {
		l.err = fmt.Errorf("writeback: append %d rows to %s: %w", len(data), l.table, err)
		return l.err
	}
	return nil
}

func statusRows(rows []Row, status, detail string) []logRow {
	out := make([]logRow, len(rows))
	for i, r := range rows {
		out[i] = logRow{row: r, status: status, detail: truncate(detail, 500)}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
