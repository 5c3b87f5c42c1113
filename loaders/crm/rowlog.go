package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sam-attribution/sam/loaders/crm/record"
	"github.com/sam-attribution/sam/warehouse"
	"github.com/sam-attribution/sam/warehouse/systables"
)

// NewRowLog returns a RowLog kept in the load_row_hashes system table.
func NewRowLog(wh warehouse.Warehouse) RowLog { return whRowLog{wh: wh} }

type whRowLog struct{ wh warehouse.Warehouse }

// Loaded reads the rows in the order they were recorded: a record's last
// load is the one that counts.
func (l whRowLog) Loaded(ctx context.Context, source, object string) (*record.LoadedRows, error) {
	q := "SELECT hashes, run_id FROM " + l.wh.QualifiedName(systables.RowHashesTable) + " WHERE source = ? AND object = ? ORDER BY recorded_at"
	rows, err := l.wh.Query(ctx, q, source, object)
	if err != nil {
		return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
	}
	data, err := warehouse.CollectRows(rows)
	if err != nil {
		return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
	}
	loaded := record.NewLoadedRows()
	var keyed []record.SourceRow
	for _, r := range data {
		s, _ := r[0].(string)
		runID, _ := r[1].(string)
		keyed = keyed[:0]
		for _, f := range strings.Fields(s) {
			row, hasKey, err := record.ParseSourceRow(f)
			if err != nil {
				return nil, fmt.Errorf("read loaded row hashes of %s/%s: %w", source, object, err)
			}
			if hasKey {
				keyed = append(keyed, row)
			} else {
				loaded.AddUnkeyed(row.Hash)
			}
		}
		loaded.Add(runID, keyed)
	}
	return loaded, nil
}

// Record writes one row per batch: a DML statement per row would cost
// BigQuery a job each.
func (l whRowLog) Record(ctx context.Context, source, object, runID string, loaded []record.SourceRow) error {
	var b strings.Builder
	b.Grow(len(loaded) * 50)
	for i, r := range loaded {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.String())
	}
	row := []any{source, object, b.String(), runID, time.Now().UTC()}
	if err := systables.New(l.wh).Insert(ctx, systables.RowHashes(), [][]any{row}); err != nil {
		return fmt.Errorf("record %d loaded rows of %s/%s: %w", len(loaded), source, object, err)
	}
	return nil
}
